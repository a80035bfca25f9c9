// The Function App's user-assigned managed identity: every data plane (storage, SQL, Key Vault,
// Application Insights) is reached with it, so no connection string with a key exists anywhere.

@description('Name of the user-assigned managed identity.')
param name string

@description('Azure region of the identity.')
param location string

@description('Tags applied to the identity.')
param tags object

resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output identityId string = appIdentity.id
output identityName string = appIdentity.name
output identityClientId string = appIdentity.properties.clientId
output identityPrincipalId string = appIdentity.properties.principalId
