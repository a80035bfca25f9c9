// Key Vault holding every secret the app reads (Azure RBAC authorization, soft delete and purge
// protection). No secret value is written here: the postprovision hook creates the random signing
// keys when they are missing, and the operator sets MAMBU-API-KEY, ACS-CONNECTION-STRING and,
// for an external sftp:// server, SFTP-PRIVATE-KEY (see README).

@description('Name of the key vault (3-24 letters, digits and hyphens).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region of the vault.')
param location string

@description('Tags applied to the vault.')
param tags object

@description('Whether the vault answers on its public endpoint. The Function App has no virtual network here and resolves its Key Vault references over it, so Disabled also needs private endpoints and VNet integration, which this template does not create.')
@allowed([
  'Enabled'
  'Disabled'
])
param vaultPublicNetworkAccess string = 'Enabled'

@description('Days a deleted secret can be recovered.')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 90

@description('Resource id of the Log Analytics workspace that receives the audit log.')
param logAnalyticsId string

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    // checkov:skip=CKV_AZURE_109:No virtual network here: the Function App resolves its Key Vault references from public addresses that are not fixed on Flex Consumption; every call needs an Entra token and an RBAC role
    // checkov:skip=CKV_AZURE_189:Same reason as CKV_AZURE_109 (publicNetworkAccess is a parameter for a deployment that adds private endpoints)
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: vaultPublicNetworkAccess
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource keyVaultDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: keyVault
  properties: {
    workspaceId: logAnalyticsId
    logs: [
      {
        category: 'AuditEvent'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

output keyVaultName string = keyVault.name
output keyVaultId string = keyVault.id
output keyVaultUri string = keyVault.properties.vaultUri
