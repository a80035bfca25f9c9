// Log Analytics (every diagnostic setting and the SQL audit go there) and workspace-based
// Application Insights with local (instrumentation key) authentication disabled: the Function App
// sends telemetry with its identity (APPLICATIONINSIGHTS_AUTHENTICATION_STRING).

@description('Name of the Log Analytics workspace.')
param logAnalyticsName string

@description('Name of the Application Insights component.')
param applicationInsightsName string

@description('Azure region of both.')
param location string

@description('Tags applied to both.')
param tags object

@description('Days Log Analytics keeps logs (the SQL audit included).')
@minValue(30)
@maxValue(730)
param logRetentionInDays int

resource logAnalyticsWorkspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: logRetentionInDays
    features: {
      enableLogAccessUsingOnlyResourcePermissions: true
    }
  }
}

resource appInsightsComponent 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalyticsWorkspace.id
    DisableLocalAuth: true
  }
}

output logAnalyticsId string = logAnalyticsWorkspace.id
output appInsightsName string = appInsightsComponent.name
