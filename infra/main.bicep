// azd entry point (azd up / azd provision): creates the resource group and calls one module per
// concern under app/. Layout of Azure-Samples/functions-quickstart-python-http-azd, with plain
// resource declarations instead of Azure Verified Modules so that checkov (tests/infra) sees and
// checks every property; see README "Deploying to an Azure Function App".
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment (AZURE_ENV_NAME); with the subscription and the region it seeds every resource name.')
param environmentName string

@minLength(1)
@description('Azure region of every resource; one that offers Flex Consumption (az functionapp list-flexconsumption-locations).')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of the principal running azd (azd sets AZURE_PRINCIPAL_ID): it gets the roles the postprovision hook needs. Empty: none.')
param principalId string = ''

@description('Kind of that principal: User for a person, ServicePrincipal for CI.')
@allowed([
  'User'
  'ServicePrincipal'
])
param principalType string = 'User'

// -- the Function App ----------------------------------------------------------------------------

@description('Python version of the Function App.')
@allowed([
  '3.11'
  '3.12'
  '3.13'
])
param pythonVersion string = '3.11'

@description('Memory of each Flex Consumption instance, in MB.')
@allowed([
  512
  2048
  4096
])
param functionInstanceMemoryMB int = 2048

@description('Most instances the app scales out to; each holds its own SQL connection pool, so keep it within what the database takes.')
@minValue(1)
@maxValue(1000)
param functionMaximumInstanceCount int = 40

@description('PYTHON_THREADPOOL_THREAD_COUNT: threads running the synchronous functions in each Python worker (4: measured best on the local host, bench/RESULTS.md).')
@minValue(1)
@maxValue(32)
param pythonThreadpoolThreadCount int = 4

@description('MAMBU_BASE_URL: the Mambu API v2 base URL, https://TENANT.mambu.com. Required: there is no usable default.')
@minLength(12)
param mambuBaseUrl string

@description('SMS_FROM: the Azure Communication Services number that sends the OTP SMS, in E.164 (+51...). Required.')
@minLength(8)
param smsFrom string

@description('DEBT_LOADER_SCHEDULE (NCRONTAB, seconds first).')
param debtLoaderSchedule string = '0 */5 * * * *'

@description('PAYMENT_FILE_SCHEDULE (NCRONTAB, seconds first).')
param paymentFileSchedule string = '0 */15 * * * *'

@description('QR_EXPIRATION_SCHEDULE (NCRONTAB, seconds first).')
param qrExpirationSchedule string = '0 */1 * * * *'

@description('DISBURSEMENT_SCHEDULE (NCRONTAB, seconds first).')
param disbursementSchedule string = '0 */10 * * * *'

@description('DISBURSEMENT_RESPONSES_SCHEDULE (NCRONTAB, seconds first).')
param disbursementResponsesSchedule string = '0 */5 * * * *'

@description('DRAWDOWN_SCHEDULE (NCRONTAB, seconds first).')
param drawdownSchedule string = '0 * * * * *'

@description('WEBHOOK_SCHEDULE (NCRONTAB, seconds first).')
param webhookSchedule string = '*/30 * * * * *'

@description('Other app settings by name, e.g. {"TOKEN_LOCK_MINUTES": "30"}; they override the defaults of infra/app/function.bicep but never a connection or a secret. Never put a secret here.')
param appSettingOverrides object = {}

// -- storage -------------------------------------------------------------------------------------

@description('Redundancy of the Functions host storage account.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param hostStorageSkuName string = 'Standard_GRS'

@description('Queue for debt files (DEBT_QUEUE): one message per company with pending files; a "-poison" twin is created too.')
param debtQueueName string = 'debt-files'

@description('Queue for payment files (PAYMENT_QUEUE): one message per company with records to file; a "-poison" twin too.')
param paymentQueueName string = 'payment-files'

// -- file exchange -------------------------------------------------------------------------------

@description('Redundancy of the SFTP exchange storage account.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param exchangeStorageSkuName string = 'Standard_GRS'

@description('Whether the SFTP endpoint is reachable from the internet (companies and the bank connect from their own networks).')
@allowed([
  'Enabled'
  'Disabled'
])
param exchangePublicNetworkAccess string = 'Enabled'

@description('One SFTP local user per company or bank folder: [{"name": "c00730", "folder": "00730", "publicKey": "ssh-ed25519 AAAA... comment"}]; folder is a 5-digit company code or dispersiones. Public keys are not secrets.')
param sftpUsers array = []

@description('Instead of the exchange storage account, an external SFTP server: sftp://user@host:port/root (its private key goes in Key Vault as SFTP-PRIVATE-KEY). Empty: blob://exchange.')
param externalSftpUrl string = ''

@description('External SFTP server only: its public host key, as ssh-keyscan prints it.')
param externalSftpHostKey string = ''

@description('External SFTP server only: its host key fingerprint (SHA256:...), an alternative to the host key.')
param externalSftpFingerprint string = ''

// -- SQL -----------------------------------------------------------------------------------------

@description('Entra admin of the SQL server: user principal name or group display name. A group holding the operators and the CI service principal lets both run the postprovision hook.')
param sqlAdminLogin string

@description('Object id of that Entra user or group.')
param sqlAdminObjectId string

@description('Kind of Entra principal the SQL admin is.')
@allowed([
  'User'
  'Group'
  'Application'
])
param sqlAdminPrincipalType string = 'User'

@description('Whether the SQL server answers on its public endpoint (Disabled needs private endpoints and VNet integration, not created here).')
@allowed([
  'Enabled'
  'Disabled'
])
param sqlPublicNetworkAccess string = 'Enabled'

@description('GP_S_Gen5: General Purpose serverless (pauses when idle, the default); GP_Gen5: provisioned.')
@allowed([
  'GP_S_Gen5'
  'GP_Gen5'
])
param sqlDatabaseSku string = 'GP_S_Gen5'

@description('vCores of the database (the most, for serverless).')
@allowed([
  1
  2
  4
  6
  8
  10
  12
  16
])
param sqlDatabaseVCores int = 2

@description('Serverless only: idle minutes before the database pauses (-1: never; the first call after a pause waits about a minute).')
@minValue(-1)
@maxValue(10080)
param sqlAutoPauseMinutes int = 60

@description('Where database backups are kept.')
@allowed([
  'Local'
  'Zone'
  'Geo'
  'GeoZone'
])
param sqlBackupRedundancy string = 'Geo'

@description('Addresses that receive Microsoft Defender for SQL alerts, besides the subscription admins.')
param sqlSecurityAlertEmails array = []

// -- Key Vault and monitoring --------------------------------------------------------------------

@description('Whether Key Vault answers on its public endpoint (Disabled needs private endpoints and VNet integration, not created here).')
@allowed([
  'Enabled'
  'Disabled'
])
param keyVaultPublicNetworkAccess string = 'Enabled'

@description('Days Log Analytics keeps logs, the SQL audit included.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 90

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var resourceTags = {
  'azd-env-name': environmentName
}
var apiAppName = '${abbrs.webSitesFunctions}api-${resourceToken}'
var packageContainerName = 'app-package-${take(apiAppName, 32)}-${take(resourceToken, 7)}'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: resourceTags
}

module identity './app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}api-${resourceToken}'
    location: location
    tags: resourceTags
  }
}

module monitoring './app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: resourceTags
    logRetentionInDays: logRetentionDays
  }
}

module storage './app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: resourceTags
    hostStorageSku: hostStorageSkuName
    deploymentContainerName: packageContainerName
    queueNames: [
      debtQueueName
      paymentQueueName
    ]
    tableNames: [
      'ApiLogs'
      'ProcessLogs'
    ]
    logAnalyticsId: monitoring.outputs.logAnalyticsId
  }
}

module exchange './app/sftp-storage.bicep' = {
  name: 'exchange'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}sftp${resourceToken}'
    location: location
    tags: resourceTags
    sftpStorageSku: exchangeStorageSkuName
    sftpPublicNetworkAccess: exchangePublicNetworkAccess
    exchangeContainerName: 'exchange'
    localUsers: sftpUsers
    logAnalyticsId: monitoring.outputs.logAnalyticsId
  }
}

module vault './app/keyvault.bicep' = {
  name: 'vault'
  scope: rg
  params: {
    name: '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: resourceTags
    vaultPublicNetworkAccess: keyVaultPublicNetworkAccess
    logAnalyticsId: monitoring.outputs.logAnalyticsId
  }
}

module database './app/sql.bicep' = {
  name: 'database'
  scope: rg
  params: {
    serverName: '${abbrs.sqlServers}${resourceToken}'
    databaseName: '${abbrs.sqlServersDatabases}${resourceToken}'
    location: location
    tags: resourceTags
    adminLogin: sqlAdminLogin
    adminObjectId: sqlAdminObjectId
    sqlAdminKind: sqlAdminPrincipalType
    serverPublicNetworkAccess: sqlPublicNetworkAccess
    databaseSku: sqlDatabaseSku
    databaseVCores: sqlDatabaseVCores
    databaseAutoPauseMinutes: sqlAutoPauseMinutes
    databaseBackupRedundancy: sqlBackupRedundancy
    sqlAlertEmails: sqlSecurityAlertEmails
    logAnalyticsId: monitoring.outputs.logAnalyticsId
  }
}

module rbac './app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    identityPrincipalId: identity.outputs.identityPrincipalId
    hostStorageAccountName: storage.outputs.hostStorageName
    sftpStorageAccountName: exchange.outputs.sftpStorageName
    keyVaultName: vault.outputs.keyVaultName
    appInsightsComponentName: monitoring.outputs.appInsightsName
    deployerPrincipalId: principalId
    deployerPrincipalType: principalType
  }
}

module api './app/function.bicep' = {
  name: 'api'
  scope: rg
  params: {
    planName: '${abbrs.webServerFarms}${resourceToken}'
    name: apiAppName
    location: location
    tags: resourceTags
    runtimeVersion: pythonVersion
    instanceMemoryMB: functionInstanceMemoryMB
    maximumInstanceCount: functionMaximumInstanceCount
    threadCount: pythonThreadpoolThreadCount
    identityId: identity.outputs.identityId
    identityClientId: identity.outputs.identityClientId
    appInsightsComponentName: monitoring.outputs.appInsightsName
    hostStorageAccountName: storage.outputs.hostStorageName
    hostBlobEndpoint: storage.outputs.blobEndpoint
    hostQueueEndpoint: storage.outputs.queueEndpoint
    hostTableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerName: packageContainerName
    keyVaultUri: vault.outputs.keyVaultUri
    sqlServerFqdn: database.outputs.sqlServerFqdn
    sqlDatabaseName: database.outputs.sqlDatabaseName
    sftpStorageAccountName: exchange.outputs.sftpStorageName
    exchangeContainer: exchange.outputs.exchangeContainer
    sftpServerUrl: externalSftpUrl
    sftpServerHostKey: externalSftpHostKey
    sftpServerFingerprint: externalSftpFingerprint
    mambuUrl: mambuBaseUrl
    smsSender: smsFrom
    debtQueue: debtQueueName
    paymentQueue: paymentQueueName
    timerSchedules: {
      DEBT_LOADER_SCHEDULE: debtLoaderSchedule
      PAYMENT_FILE_SCHEDULE: paymentFileSchedule
      QR_EXPIRATION_SCHEDULE: qrExpirationSchedule
      DISBURSEMENT_SCHEDULE: disbursementSchedule
      DISBURSEMENT_RESPONSES_SCHEDULE: disbursementResponsesSchedule
      DRAWDOWN_SCHEDULE: drawdownSchedule
      WEBHOOK_SCHEDULE: webhookSchedule
    }
    extraAppSettings: appSettingOverrides
    logAnalyticsId: monitoring.outputs.logAnalyticsId
  }
  dependsOn: [
    rbac
  ]
}

@description('Deliver the exchange\'s blob-created events in Deudas/Pending/ to debt_file_arrived. Event Grid checks the function when the subscription is created: leave false for the first `azd up`, then `azd env set DEBT_FILE_EVENTS true` and `azd provision`.')
param debtFileEvents bool = false

module events './app/events.bicep' = {
  name: 'events'
  scope: rg
  params: {
    name: '${abbrs.eventGridSystemTopics}exchange-${resourceToken}'
    location: location
    tags: resourceTags
    storageAccountId: exchange.outputs.sftpStorageId
    containerName: exchange.outputs.exchangeContainer
    functionAppId: api.outputs.functionAppId
    subscribe: debtFileEvents
  }
}

// What azd and the postprovision hook need; names and ids only, never a secret.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = api.outputs.functionAppName
output AZURE_FUNCTION_APP_URL string = 'https://${api.outputs.functionAppHostName}/api/'
output AZURE_FUNCTION_IDENTITY_NAME string = identity.outputs.identityName
output AZURE_FUNCTION_IDENTITY_CLIENT_ID string = identity.outputs.identityClientId
output AZURE_KEY_VAULT_NAME string = vault.outputs.keyVaultName
output AZURE_SQL_SERVER_NAME string = database.outputs.sqlServerName
output AZURE_SQL_SERVER_FQDN string = database.outputs.sqlServerFqdn
output AZURE_SQL_DATABASE_NAME string = database.outputs.sqlDatabaseName
output AZURE_EXCHANGE_STORAGE_ACCOUNT string = exchange.outputs.sftpStorageName
output AZURE_EXCHANGE_CONTAINER string = exchange.outputs.exchangeContainer
output AZURE_EXCHANGE_FOLDERS string = join(exchange.outputs.sftpFolders, ',')
output AZURE_EXCHANGE_EVENTS_TOPIC string = events.outputs.systemTopicName
