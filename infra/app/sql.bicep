// Azure SQL with Microsoft Entra authentication only: no SQL login or password exists. The admin
// is an Entra user or group (a group holding the operators and the deploying service principal
// lets both the postprovision hook and people run T-SQL); the Function App's identity becomes a
// database user in the postprovision hook, since Bicep cannot run T-SQL.

@description('Name of the logical SQL server.')
param serverName string

@description('Name of the database.')
param databaseName string

@description('Azure region of the server and the database.')
param location string

@description('Tags applied to the server and the database.')
param tags object

@description('Entra admin of the server: the user principal name or the group display name.')
param adminLogin string

@description('Object id of that Entra user or group.')
param adminObjectId string

@description('Kind of Entra principal the admin is.')
@allowed([
  'User'
  'Group'
  'Application'
])
param sqlAdminKind string = 'User'

@description('Whether the server answers on its public endpoint (the Function App has no virtual network here, so Disabled also needs private endpoints, which this template does not create).')
@allowed([
  'Enabled'
  'Disabled'
])
param serverPublicNetworkAccess string = 'Enabled'

@description('GP_S_Gen5: General Purpose serverless (pauses when idle); GP_Gen5: General Purpose provisioned.')
@allowed([
  'GP_S_Gen5'
  'GP_Gen5'
])
param databaseSku string = 'GP_S_Gen5'

@description('vCores (the most, for serverless).')
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
param databaseVCores int = 2

@description('Serverless only: minutes without activity before the database pauses (-1: never).')
@minValue(-1)
@maxValue(10080)
param databaseAutoPauseMinutes int = 60

@description('Where backups are kept.')
@allowed([
  'Local'
  'Zone'
  'Geo'
  'GeoZone'
])
param databaseBackupRedundancy string = 'Geo'

@description('Addresses that receive Microsoft Defender for SQL alerts, besides the subscription admins.')
param sqlAlertEmails array = []

@description('Zone-redundant database (extra cost; not offered in every region).')
param databaseZoneRedundant bool = false

@description('Resource id of the Log Analytics workspace that receives the audit and the diagnostic logs.')
param logAnalyticsId string

var databaseServerless = databaseSku == 'GP_S_Gen5'

resource sqlServer 'Microsoft.Sql/servers@2021-11-01' = {
  name: serverName
  location: location
  tags: tags
  properties: {
    // checkov:skip=CKV_AZURE_113:The Function App has no virtual network here and reaches SQL from Azure addresses (the AllowAllWindowsAzureIps rule); logins need an Entra token
    version: '12.0'
    minimalTlsVersion: '1.2'
    publicNetworkAccess: serverPublicNetworkAccess
    restrictOutboundNetworkAccess: 'Disabled'
    administrators: {
      administratorType: 'ActiveDirectory'
      azureADOnlyAuthentication: true
      login: adminLogin
      sid: adminObjectId
      principalType: sqlAdminKind
      tenantId: tenant().tenantId
    }
  }
}

resource allowAzureServices 'Microsoft.Sql/servers/firewallRules@2021-11-01' = {
  parent: sqlServer
  name: 'AllowAllWindowsAzureIps'
  properties: {
    startIpAddress: '0.0.0.0'
    endIpAddress: '0.0.0.0'
  }
}

resource sqlDatabase 'Microsoft.Sql/servers/databases@2021-11-01' = {
  parent: sqlServer
  name: databaseName
  location: location
  tags: tags
  sku: {
    name: databaseSku
    tier: 'GeneralPurpose'
    family: 'Gen5'
    capacity: databaseVCores
  }
  properties: {
    // checkov:skip=CKV_AZURE_26:databaseSecurityAlerts below sends to sqlAlertEmails and the subscription admins; checkov's ARM check looks for a nested ARM resources array, which Bicep never produces
    // checkov:skip=CKV_AZURE_27:Same as CKV_AZURE_26: emailAccountAdmins is true in databaseSecurityAlerts
    // checkov:skip=CKV_AZURE_229:Zone redundancy costs extra and is not offered for serverless in every region; it is the databaseZoneRedundant parameter
    collation: 'SQL_Latin1_General_CP1_CI_AS'
    requestedBackupStorageRedundancy: databaseBackupRedundancy
    autoPauseDelay: databaseServerless ? databaseAutoPauseMinutes : null
    minCapacity: databaseServerless ? json('0.5') : null
    zoneRedundant: databaseZoneRedundant
  }
}

// Server audit (every database, master included) to Log Analytics: the master database's
// diagnostic setting carries it. Written with the ARM "providers" form, as the master database is
// a system database that this template neither creates nor needs to name as a resource.
resource masterAuditDiagnostics 'Microsoft.Sql/servers/databases/providers/diagnosticSettings@2021-05-01-preview' = {
  name: '${sqlServer.name}/master/microsoft.insights/sql-audit-to-log-analytics'
  properties: {
    workspaceId: logAnalyticsId
    logs: [
      {
        category: 'SQLSecurityAuditEvents'
        enabled: true
      }
    ]
  }
}

resource serverAuditing 'Microsoft.Sql/servers/auditingSettings@2021-11-01' = {
  parent: sqlServer
  name: 'default'
  properties: {
    state: 'Enabled'
    isAzureMonitorTargetEnabled: true
    // applies to a storage target only; Log Analytics keeps the audit for its own retention
    retentionDays: 90
  }
  dependsOn: [
    masterAuditDiagnostics
  ]
}

// The server policy above already audits this database; its own policy only logs permission and
// role changes (a second, small stream through the database's diagnostic setting).
resource databaseAuditing 'Microsoft.Sql/servers/databases/auditingSettings@2021-11-01' = {
  parent: sqlDatabase
  name: 'default'
  properties: {
    state: 'Enabled'
    isAzureMonitorTargetEnabled: true
    auditActionsAndGroups: [
      'DATABASE_PERMISSION_CHANGE_GROUP'
      'DATABASE_PRINCIPAL_CHANGE_GROUP'
      'DATABASE_ROLE_MEMBER_CHANGE_GROUP'
    ]
  }
  dependsOn: [
    serverSecurityAlerts
  ]
}

// Microsoft Defender for SQL on the server (every database): alerts for every threat type. The
// policies go one after the other: SQL refuses concurrent changes to one server.
resource serverSecurityAlerts 'Microsoft.Sql/servers/securityAlertPolicies@2021-11-01' = {
  parent: sqlServer
  name: 'Default'
  properties: {
    state: 'Enabled'
    emailAccountAdmins: true
    emailAddresses: sqlAlertEmails
  }
  dependsOn: [
    serverAuditing
  ]
}

resource databaseSecurityAlerts 'Microsoft.Sql/servers/databases/securityAlertPolicies@2021-11-01' = {
  parent: sqlDatabase
  name: 'default'
  properties: {
    state: 'Enabled'
    emailAccountAdmins: true
    emailAddresses: sqlAlertEmails
  }
  dependsOn: [
    databaseAuditing
  ]
}

resource databaseDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: sqlDatabase
  properties: {
    workspaceId: logAnalyticsId
    logs: [for category in ['SQLSecurityAuditEvents', 'SQLInsights', 'AutomaticTuning', 'QueryStoreRuntimeStatistics', 'QueryStoreWaitStatistics', 'Errors', 'DatabaseWaitStatistics', 'Timeouts', 'Blocks', 'Deadlocks']: {
      category: category
      enabled: true
    }]
    metrics: [
      {
        category: 'Basic'
        enabled: true
      }
    ]
  }
}

output sqlServerName string = sqlServer.name
output sqlServerFqdn string = sqlServer.properties.fullyQualifiedDomainName
output sqlDatabaseName string = sqlDatabase.name
