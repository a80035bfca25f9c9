// The Functions host storage account: timer locks (blob), the Flex Consumption deployment
// package container, the queues for later scale-out work and the ApiLogs / ProcessLogs tables.
// Shared-key access is off: the host and the app reach it with the managed identity only.

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
param hostStorageSku string = 'Standard_GRS'

@description('Blob container holding the Flex Consumption deployment package.')
param deploymentContainerName string

@description('Queues to create; each also gets its "-poison" twin, where the host moves messages that keep failing.')
param queueNames array

@description('Tables to create (the app also creates them when missing).')
param tableNames array

@description('Resource id of the Log Analytics workspace that receives the diagnostic logs.')
param logAnalyticsId string

resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: hostStorageSku
  }
  properties: {
    // checkov:skip=CKV_AZURE_35:The Flex Consumption app has no virtual network here, so the account must accept public traffic; every request needs an Entra token (shared keys are off)
    // checkov:skip=CKV_AZURE_59:Same reason as CKV_AZURE_35: public network access stays on, key-less and TLS 1.2 only
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
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
        queue: {
          enabled: true
          keyType: 'Account'
        }
        table: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource hostBlobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: hostStorage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: hostBlobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource hostQueueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: hostStorage
  name: 'default'
}

resource hostQueues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for queueName in queueNames: {
  parent: hostQueueService
  name: queueName
}]

resource hostPoisonQueues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for queueName in queueNames: {
  parent: hostQueueService
  name: '${queueName}-poison'
}]

resource hostTableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: hostStorage
  name: 'default'
}

resource hostTables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [for tableName in tableNames: {
  parent: hostTableService
  name: tableName
}]

var hostServiceLogs = [for category in ['StorageRead', 'StorageWrite', 'StorageDelete']: {
  category: category
  enabled: true
}]

var hostTransactionMetrics = [
  {
    category: 'Transaction'
    enabled: true
  }
]

resource hostAccountDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: hostStorage
  properties: {
    workspaceId: logAnalyticsId
    metrics: hostTransactionMetrics
  }
}

resource hostBlobDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: hostBlobService
  properties: {
    workspaceId: logAnalyticsId
    logs: hostServiceLogs
    metrics: hostTransactionMetrics
  }
}

resource hostQueueDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: hostQueueService
  properties: {
    workspaceId: logAnalyticsId
    logs: hostServiceLogs
    metrics: hostTransactionMetrics
  }
}

resource hostTableDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: hostTableService
  properties: {
    workspaceId: logAnalyticsId
    logs: hostServiceLogs
    metrics: hostTransactionMetrics
  }
}

output hostStorageName string = hostStorage.name
output hostStorageId string = hostStorage.id
output blobEndpoint string = hostStorage.properties.primaryEndpoints.blob
output queueEndpoint string = hostStorage.properties.primaryEndpoints.queue
output tableEndpoint string = hostStorage.properties.primaryEndpoints.table
