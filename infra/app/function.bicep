// The Function App on a Flex Consumption plan (Linux, Python), run as the user-assigned identity,
// and every app setting it reads. Settings that Flex Consumption refuses or ignores are not set:
// FUNCTIONS_WORKER_RUNTIME and the Python version are functionAppConfig.runtime,
// FUNCTIONS_WORKER_PROCESS_COUNT is not valid there, the package comes from
// functionAppConfig.deployment (no WEBSITE_RUN_FROM_PACKAGE), and siteConfig.ftpsState is rejected
// (FTP does not exist on Flex Consumption; basic publishing credentials are off below).

@description('Name of the Flex Consumption plan.')
param planName string

@description('Name of the Function App.')
param name string

@description('Azure region of the plan and the app.')
param location string

@description('Tags applied to the plan and the app (the app also gets azd-service-name).')
param tags object

@description('Python version of the app.')
@allowed([
  '3.11'
  '3.12'
  '3.13'
])
param runtimeVersion string = '3.11'

@description('Memory of each instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Most instances the app scales out to (each holds its own SQL connection pool).')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('PYTHON_THREADPOOL_THREAD_COUNT: threads running the synchronous functions in each worker.')
@minValue(1)
@maxValue(32)
param threadCount int = 4

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Client id of that identity (not a secret: it names the identity, it does not authenticate it).')
param identityClientId string

@description('Name of the Application Insights component.')
param appInsightsComponentName string

@description('Name of the Functions host storage account.')
param hostStorageAccountName string

@description('Blob endpoint of the host storage account (https://<account>.blob.<suffix>/).')
param hostBlobEndpoint string

@description('Queue endpoint of the host storage account.')
param hostQueueEndpoint string

@description('Table endpoint of the host storage account.')
param hostTableEndpoint string

@description('Container of the host storage account holding the deployment package.')
param deploymentContainerName string

@description('URI of the key vault (https://<vault>.vault.azure.net/).')
param keyVaultUri string

@description('Fully qualified name of the SQL server.')
param sqlServerFqdn string

@description('Name of the SQL database.')
param sqlDatabaseName string

@description('Name of the SFTP exchange storage account.')
param sftpStorageAccountName string

@description('The exchange container of that account.')
param exchangeContainer string

@description('An external SFTP server (sftp://user@host:port/root) to use instead of the exchange storage account; empty: blob://<exchange container>.')
param sftpServerUrl string

@description('External SFTP server only: its public host key as ssh-keyscan prints it.')
param sftpServerHostKey string

@description('External SFTP server only: its key fingerprint as ssh-keygen -lf prints it (SHA256:...).')
param sftpServerFingerprint string

@description('Mambu API v2 base URL (https://TENANT.mambu.com).')
param mambuUrl string

@description('Sender of the OTP SMS (Azure Communication Services number, E.164).')
param smsSender string

@description('Storage queue for debt files (later scale-out work).')
param debtQueue string

@description('Storage queue for payment files (later scale-out work).')
param paymentQueue string

@description('The timers\' NCRONTAB schedules, by app setting name (DEBT_LOADER_SCHEDULE, ...).')
param timerSchedules object

@description('Other app settings, by name, over the defaults below (never a secret: secrets are Key Vault references).')
param extraAppSettings object

@description('Resource id of the Log Analytics workspace that receives the diagnostic logs.')
param logAnalyticsId string

resource functionAppInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsComponentName
}

resource flexPlan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    // checkov:skip=CKV_AZURE_225:Zone redundancy of a Flex Consumption plan is not offered in every region; the app keeps no state on its instances
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    // checkov:skip=CKV_AZURE_17:Clients authenticate with client credentials and JWTs (the specs); mutual TLS is not part of them
    // checkov:skip=CKV_AZURE_78:siteConfig.ftpsState is refused on Flex Consumption, which has no FTP endpoint; basic publishing credentials (ftp and scm) are disabled below
    // checkov:skip=CKV_AZURE_212:Flex Consumption scales from zero; always-ready instances would cost all day for APIs that can wait a cold start
    // checkov:skip=CKV_AZURE_213:A platform health probe every minute would keep an instance and the serverless database awake; /api/health is there for an external monitor
    // checkov:skip=CKV_AZURE_222:The APIs are public by design (banks and distributors call them); every route but health and ping needs a token
    serverFarmId: flexPlan.id
    httpsOnly: true
    publicNetworkAccess: 'Enabled'
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${hostBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: runtimeVersion
      }
    }
  }
}

// No FTP or basic-auth deployment: azd deploys with an Entra token.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

// The tunable settings, with local.settings.example.json's defaults; extraAppSettings overrides them.
var tunableSettings = {
  SFTP_TIMEOUT_SECONDS: '15'
  SFTP_RETRIES: '3'
  LOG_TIMEOUT_SECONDS: '2'
  LOG_RETRY_AFTER_SECONDS: '30'
  JWT_ISSUER: 'asbanc-functions'
  JWT_TTL_SECONDS: '3600'
  DEBT_FILE_MAX_FUTURE_MINUTES: '10'
  DEBT_LOAD_WORKER: 'auto'
  PAYMENT_CUTOFF_HOUR: '20'
  PAYMENT_FILE_SETTLEMENT_HOURS: '72'
  YAPAGO_RETRY_WINDOW_MINUTES: '60'
  MAMBU_TIMEOUT_SECONDS: '5'
  LENDING_QR_VALIDITY_MINUTES: '15'
  LENDING_OTP_TTL_MINUTES: '5'
  LENDING_OTP_MAX_ATTEMPTS: '3'
  LENDING_OTP_ROUNDS_PER_ORDER: '5'
  LENDING_OTP_ROUNDS_PER_DAY: '12'
  LENDING_OTP_WRONG_PER_DAY: '6'
  DISBURSEMENT_MAX_RETRIES: '3'
  WEBHOOK_TIMEOUT_SECONDS: '10'
  WEBHOOK_RETRY_BASE_SECONDS: '30'
  WEBHOOK_RETRY_CAP_SECONDS: '3600'
  WEBHOOK_GIVE_UP_SECONDS: '86400'
  WEBHOOK_SECRET_OVERLAP_HOURS: '72'
  TOKEN_GUESSES_PER_SOURCE: '20'
  TOKEN_LOCK_AFTER: '10'
  TOKEN_LOCK_MINUTES: '15'
  SECRET_CHECKS_AT_ONCE: '1'
}

// What the deployment decides: identity-based connections, Key Vault references, the
// parameters. Applied last, so extraAppSettings cannot replace a connection or a secret.
var fixedSettings = {
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AzureWebJobsStorage__blobServiceUri: hostBlobEndpoint
  AzureWebJobsStorage__queueServiceUri: hostQueueEndpoint
  AzureWebJobsStorage__tableServiceUri: hostTableEndpoint
  APPLICATIONINSIGHTS_CONNECTION_STRING: functionAppInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${identityClientId}'
  FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: '1048576'
  PYTHON_THREADPOOL_THREAD_COUNT: string(threadCount)
  SQL_URL: 'mssql+pyodbc://@${sqlServerFqdn}:1433/${sqlDatabaseName}?driver=ODBC+Driver+18+for+SQL+Server&Encrypt=yes'
  SQL__credential: 'managedidentity'
  SQL__clientId: identityClientId
  SFTP_URL: empty(sftpServerUrl) ? 'blob://${exchangeContainer}' : sftpServerUrl
  SFTP_BLOB__blobServiceUri: 'https://${sftpStorageAccountName}.blob.${environment().suffixes.storage}'
  SFTP_BLOB__credential: 'managedidentity'
  SFTP_BLOB__clientId: identityClientId
  LOG_STORAGE__tableServiceUri: 'https://${hostStorageAccountName}.table.${environment().suffixes.storage}'
  LOG_STORAGE__credential: 'managedidentity'
  LOG_STORAGE__clientId: identityClientId
  JWT_SIGNING_KEY: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/JWT-SIGNING-KEY/)'
  LENDING_SIGNING_KEY: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/LENDING-SIGNING-KEY/)'
  LENDING_WEBHOOK_KEY: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/LENDING-WEBHOOK-KEY/)'
  MAMBU_API_KEY: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/MAMBU-API-KEY/)'
  ACS_CONNECTION_STRING: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/ACS-CONNECTION-STRING/)'
  MAMBU_BASE_URL: mambuUrl
  SMS_MODE: 'acs'
  SMS_FROM: smsSender
  DEBT_QUEUE: debtQueue
  PAYMENT_QUEUE: paymentQueue
}

// Only with an external sftp:// server: its key from Key Vault, its host key pinned.
var externalSftpSettings = {
  SFTP_PRIVATE_KEY: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/SFTP-PRIVATE-KEY/)'
  SFTP_HOST_KEY: sftpServerHostKey
  SFTP_HOST_FINGERPRINT: sftpServerFingerprint
}

resource functionAppSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  // checkov:skip=CKV_AZURE_13:Every function checks its own Bearer token or client credentials (blueprints/common.py); App Service authentication would stand in front of the banks' client-credentials flow
  // checkov:skip=CKV_AZURE_222:The APIs are public by design (banks and distributors call them); every route but health and ping needs a token
  // checkov:skip=CKV_AZURE_63:App Service HTTP logs do not exist on Flex Consumption; requests go to Application Insights and FunctionAppLogs to Log Analytics
  // checkov:skip=CKV_AZURE_65:Same as CKV_AZURE_63: no App Service detailed error pages on Flex Consumption; errors are JSON with a correlation id
  // checkov:skip=CKV_AZURE_66:Same as CKV_AZURE_63: no failed request tracing on Flex Consumption
  // checkov:skip=CKV_AZURE_80:A Python app: no .NET Framework
  // checkov:skip=CKV_AZURE_88:Flex Consumption has no Azure Files content share; the package lives in a blob container
  parent: functionApp
  name: 'appsettings'
  properties: union(tunableSettings, extraAppSettings, timerSchedules, fixedSettings, empty(sftpServerUrl) ? {} : externalSftpSettings)
}

resource functionAppDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: functionApp
  properties: {
    workspaceId: logAnalyticsId
    logs: [
      {
        category: 'FunctionAppLogs'
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

output functionAppName string = functionApp.name
output functionAppId string = functionApp.id
output functionAppHostName string = functionApp.properties.defaultHostName
