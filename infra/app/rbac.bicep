// Role assignments: what the Function App's identity may do on each data plane, and what the
// deploying principal needs for the postprovision hook (create the random signing keys in Key
// Vault, create the exchange folders). Nothing broader than a data role on one resource.

@description('Principal id (object id) of the Function App\'s user-assigned identity.')
param identityPrincipalId string

@description('Name of the Functions host storage account.')
param hostStorageAccountName string

@description('Name of the SFTP exchange storage account.')
param sftpStorageAccountName string

@description('Name of the key vault.')
param keyVaultName string

@description('Name of the Application Insights component.')
param appInsightsComponentName string

@description('Object id of the principal running azd (a person or the CI service principal); empty: no role for it.')
param deployerPrincipalId string

@description('Kind of that principal.')
@allowed([
  'User'
  'ServicePrincipal'
])
param deployerPrincipalType string = 'User'

var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

resource rbacHostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: hostStorageAccountName
}

resource rbacSftpStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: sftpStorageAccountName
}

resource rbacKeyVault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource rbacAppInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsComponentName
}

// Host storage: blob (timer locks and the deployment package), queues, tables (host and logs).
resource hostBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(rbacHostStorage.id, identityPrincipalId, roles.storageBlobDataOwner)
  scope: rbacHostStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource hostQueueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(rbacHostStorage.id, identityPrincipalId, roles.storageQueueDataContributor)
  scope: rbacHostStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource hostTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(rbacHostStorage.id, identityPrincipalId, roles.storageTableDataContributor)
  scope: rbacHostStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The exchange files, through the Blob API.
resource sftpBlobContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(rbacSftpStorage.id, identityPrincipalId, roles.storageBlobDataContributor)
  scope: rbacSftpStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Key Vault references in the app settings.
resource vaultSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(rbacKeyVault.id, identityPrincipalId, roles.keyVaultSecretsUser)
  scope: rbacKeyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Telemetry with Entra authentication (local auth is off on Application Insights).
resource telemetryPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(rbacAppInsights.id, identityPrincipalId, roles.monitoringMetricsPublisher)
  scope: rbacAppInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The deployer, for the postprovision hook.
resource deployerSecretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  name: guid(rbacKeyVault.id, deployerPrincipalId, roles.keyVaultSecretsOfficer)
  scope: rbacKeyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
  }
}

resource deployerExchangeContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  name: guid(rbacSftpStorage.id, deployerPrincipalId, roles.storageBlobDataContributor)
  scope: rbacSftpStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
  }
}
