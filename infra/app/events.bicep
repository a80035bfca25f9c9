// Blob-created events of the SFTP-enabled exchange, delivered to the debt_file_arrived function:
// a debt file is queued for loading seconds after a company's upload completes, instead of at
// the next debt_loader tick (which stays as the safety net, so a lost event only delays a file).

@description('Name of the Event Grid system topic of the exchange storage account.')
param name string

@description('Region of the storage account.')
param location string

@description('Tags for every resource.')
param tags object

@description('Resource id of the SFTP-enabled storage account.')
param storageAccountId string

@description('The exchange container (the blob:// store of SFTP_URL).')
param containerName string

@description('Resource id of the Function App.')
param functionAppId string

@description('Create the subscription. Event Grid checks the function when the subscription is created, so it must be deployed first: false on the first provision, true once `azd deploy` has run.')
param subscribe bool

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: name
  location: location
  tags: tags
  properties: {
    source: storageAccountId
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

resource debtFileArrived 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = if (subscribe) {
  parent: topic
  name: 'debt-file-arrived'
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${functionAppId}/functions/debt_file_arrived'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      subjectBeginsWith: '/blobServices/default/containers/${containerName}/blobs/'
      advancedFilters: [
        {
          operatorType: 'StringContains'
          key: 'subject'
          values: [
            '/Deudas/Pending/'
          ]
        }
        {
          // the completed file; SftpCreate is the empty file an upload starts with
          operatorType: 'StringIn'
          key: 'data.api'
          values: [
            'SftpCommit'
            'PutBlob'
            'PutBlockList'
            'FlushWithClose'
            'CopyBlob'
          ]
        }
      ]
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
  }
}

output systemTopicName string = topic.name
output subscribed bool = subscribe
