// The file exchange: an SFTP-enabled storage account (hierarchical namespace) with one container,
// `exchange`, and one SFTP local user per company or bank folder, jailed in `exchange/<folder>`
// with its SSH public key. The app reads the same files through the Blob API with its identity
// (SFTP_URL=blob://exchange); shared keys are off, so nothing but the identity and the local
// users' SSH keys gets in.

@description('Name of the storage account (3-24 lowercase letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region of the account.')
param location string

@description('Tags applied to the account.')
param tags object

@description('Redundancy of the account.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
  'Standard_RAGRS'
  'Standard_RAGZRS'
])
param sftpStorageSku string = 'Standard_GRS'

@description('Whether companies and the bank reach the SFTP endpoint from the internet (Disabled needs private endpoints, which this template does not create).')
@allowed([
  'Enabled'
  'Disabled'
])
param sftpPublicNetworkAccess string = 'Enabled'

@description('The exchange container; the app reads it as blob://<container>.')
param exchangeContainerName string = 'exchange'

@description('SFTP local users: [{"name": "c00730", "folder": "00730", "publicKey": "ssh-ed25519 AAAA... comment"}]. folder is a 5-digit company code or dispersiones (the bank); the user is jailed in <container>/<folder>.')
param localUsers array = []

@description('Resource id of the Log Analytics workspace that receives the diagnostic logs.')
param logAnalyticsId string

resource sftpStorage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: sftpStorageSku
  }
  properties: {
    // checkov:skip=CKV_AZURE_35:Companies and the bank connect to the SFTP endpoint from their own networks (addresses not known here); SFTP needs an SSH key, the Blob API an Entra token
    // checkov:skip=CKV_AZURE_59:Same reason as CKV_AZURE_35: the SFTP endpoint is public by design, key-only, TLS 1.2 for the Blob API
    accessTier: 'Hot'
    isHnsEnabled: true
    isSftpEnabled: true
    isLocalUserEnabled: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: sftpPublicNetworkAccess
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
        }
        file: {
          enabled: true
        }
      }
    }
  }
}

resource sftpBlobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: sftpStorage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 30
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 30
    }
  }
}

resource exchangeBlobContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: sftpBlobService
  name: exchangeContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource sftpLocalUsers 'Microsoft.Storage/storageAccounts/localUsers@2023-05-01' = [for user in localUsers: {
  parent: sftpStorage
  name: user.name
  properties: {
    homeDirectory: '${exchangeContainerName}/${user.folder}'
    permissionScopes: [
      {
        service: 'blob'
        resourceName: exchangeContainerName
        permissions: 'rwdlc'
      }
    ]
    sshAuthorizedKeys: [
      {
        description: 'SFTP key of ${user.name}'
        key: user.publicKey
      }
    ]
    hasSshKey: true
    hasSshPassword: false
    hasSharedKey: false
  }
  dependsOn: [
    exchangeBlobContainer
  ]
}]

resource sftpAccountDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: sftpStorage
  properties: {
    workspaceId: logAnalyticsId
    metrics: [
      {
        category: 'Transaction'
        enabled: true
      }
    ]
  }
}

resource sftpBlobDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: sftpBlobService
  properties: {
    workspaceId: logAnalyticsId
    logs: [for category in ['StorageRead', 'StorageWrite', 'StorageDelete']: {
      category: category
      enabled: true
    }]
    metrics: [
      {
        category: 'Transaction'
        enabled: true
      }
    ]
  }
}

output sftpStorageName string = sftpStorage.name
output sftpStorageId string = sftpStorage.id
output exchangeContainer string = exchangeBlobContainer.name
output sftpFolders array = [for user in localUsers: user.folder]
