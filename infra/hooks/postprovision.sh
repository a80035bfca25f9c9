#!/usr/bin/env bash
# azd postprovision hook (azure.yaml): what Bicep cannot do, after every `azd provision` / `azd up`.
# Idempotent: run it again any time with `azd hooks run postprovision`.
#
#   1. Key Vault: creates JWT-SIGNING-KEY, LENDING-SIGNING-KEY and LENDING-WEBHOOK-KEY from
#      `openssl rand` when missing (never replaces one: tokens, QR signatures and the
#      distributors' webhook secrets depend on them); says which operator secrets are missing.
#   2. Exchange storage: creates each SFTP user's folder layout (a company: Deudas/Pending,
#      Deudas/Complete, Deudas/Rejected, Pagos; the bank: dispersiones/pendientes, respuestas,
#      reintentos), so that a local user lands in an existing home directory.
#   3. Azure SQL: the Function App's identity becomes a database user (db_datareader,
#      db_datawriter, db_ddladmin), then `python manage.py migrate` (infra/hooks/sql_access.py).
#
# Needs: az (logged in: `az login`, in CI azure/login), openssl, and python 3.11+ with the app's
# requirements and Microsoft ODBC Driver 18 for SQL Server (`make install` gives .venv; set
# PYTHON to use another interpreter). The principal running it gets the Key Vault and storage
# roles from infra/app/rbac.bicep and must be the SQL Entra admin or in the admin group.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"  # azd may start it with sh
set -euo pipefail
cd "$(dirname "$0")/../.."

die() { echo "postprovision: $*" >&2; exit 1; }
say() { echo "postprovision: $*"; }

for name in AZURE_TENANT_ID AZURE_SUBSCRIPTION_ID AZURE_RESOURCE_GROUP AZURE_FUNCTION_APP_NAME AZURE_KEY_VAULT_NAME \
  AZURE_EXCHANGE_STORAGE_ACCOUNT AZURE_EXCHANGE_CONTAINER; do
  [ -n "${!name:-}" ] || die "$name is not set: run through azd (azd provision, azd hooks run postprovision)"
done
command -v az >/dev/null 2>&1 || die "the Azure CLI (az) is missing"
command -v openssl >/dev/null 2>&1 || die "openssl is missing"
tenant=$(az account show --query tenantId --output tsv 2>/dev/null) \
  || die "az is not logged in: az login --tenant $AZURE_TENANT_ID (in CI: azure/login)"
[ "$tenant" = "$AZURE_TENANT_ID" ] || die "az is signed in to tenant $tenant, not $AZURE_TENANT_ID: az login --tenant $AZURE_TENANT_ID"

PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
"$PYTHON" -c 'import pyodbc, sqlalchemy, alembic' 2>/dev/null \
  || die "$PYTHON lacks the app's requirements: run make install (or pip install -r requirements.txt)"

# Role assignments made by this provisioning take a few minutes to reach the data planes.
retry() {
  local attempt=1
  until "$@"; do
    [ "$attempt" -lt 10 ] || return 1
    say "not allowed yet (role assignments propagate in a few minutes); retrying in 30 s" >&2
    attempt=$((attempt + 1))
    sleep "${POSTPROVISION_RETRY_SECONDS:-30}"
  done
}

# -- 1. Key Vault --------------------------------------------------------------------------------
vault=$AZURE_KEY_VAULT_NAME
created_secret=0

secret_state() {  # prints present / missing; fails on anything else (e.g. no role yet)
  local out
  if out=$(az keyvault secret show --vault-name "$vault" --name "$1" --query id --output tsv 2>&1); then
    echo present
  elif [[ $out == *SecretNotFound* ]]; then
    echo missing
  else
    echo "$out" >&2
    return 1
  fi
}

create_random_secret() {
  local name=$1 state file
  state=$(secret_state "$name") || return 1
  if [ "$state" = present ]; then
    say "$name: present, kept"
    return 0
  fi
  file=$(mktemp)
  chmod 600 "$file"
  # 48 random bytes, base64: 64 characters (the app needs 32 or more); never on a command line
  openssl rand -base64 48 | tr -d '\n' >"$file"
  if ! az keyvault secret set --vault-name "$vault" --name "$name" --file "$file" --encoding utf-8 \
    --output none; then
    rm -f "$file"
    return 1
  fi
  rm -f "$file"
  created_secret=1
  say "$name: created"
}

for name in JWT-SIGNING-KEY LENDING-SIGNING-KEY LENDING-WEBHOOK-KEY; do
  retry create_random_secret "$name" || die "cannot read or write $name in $vault"
done

operator_secrets=(MAMBU-API-KEY ACS-CONNECTION-STRING)
[ -z "${EXTERNAL_SFTP_URL:-}" ] || operator_secrets+=(SFTP-PRIVATE-KEY)
for name in "${operator_secrets[@]}"; do
  state=$(retry secret_state "$name") || die "cannot read $name in $vault"
  if [ "$state" = missing ]; then
    say "WARNING: $name is not in $vault yet; set it (README): az keyvault secret set --vault-name $vault --name $name --file <file>"
  fi
done

# -- 2. Exchange folders -------------------------------------------------------------------------
account=$AZURE_EXCHANGE_STORAGE_ACCOUNT
container=$AZURE_EXCHANGE_CONTAINER

make_directory() {
  local exists
  exists=$(az storage fs directory exists --account-name "$account" --file-system "$container" --name "$1" \
    --auth-mode login --query exists --output tsv) || return 1
  if [ "$exists" != true ]; then
    az storage fs directory create --account-name "$account" --file-system "$container" --name "$1" \
      --auth-mode login --output none || return 1
    say "created $container/$1"
  fi
}

IFS=',' read -r -a folders <<<"${AZURE_EXCHANGE_FOLDERS:-}"
for folder in ${folders[@]+"${folders[@]}"}; do
  case $folder in
    dispersiones) subfolders=(pendientes respuestas reintentos) ;;
    [0-9][0-9][0-9][0-9][0-9]) subfolders=(Deudas/Pending Deudas/Complete Deudas/Rejected Pagos) ;;
    *) die "SFTP user folder '$folder' is neither a 5-digit company code nor dispersiones" ;;
  esac
  for sub in "${subfolders[@]}"; do
    retry make_directory "$folder/$sub" || die "cannot create $container/$folder/$sub in $account"
  done
done

# -- 3. Azure SQL --------------------------------------------------------------------------------
"$PYTHON" infra/hooks/sql_access.py setup

if [ "$created_secret" = 1 ]; then
  # Key Vault references are resolved at start: restart so that the new keys are read now.
  az functionapp restart --subscription "$AZURE_SUBSCRIPTION_ID" --resource-group "$AZURE_RESOURCE_GROUP" \
    --name "$AZURE_FUNCTION_APP_NAME" --output none
  say "restarted $AZURE_FUNCTION_APP_NAME to read the new keys"
fi
say "done"
