"""infra/ (Bicep), azure.yaml and the deploy workflow, checked with real tools since nothing here can deploy.

Every .bicep file is parsed with pycep-parser and scanned with checkov, both from `.venv-iac`
(their dependencies conflict with the app's; `make test` creates it). Without it the tests skip
on a developer's machine and fail in CI (CI=true), so a missing install step cannot pass.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
IAC_PYTHON = ROOT / ".venv-iac" / "bin" / "python"
CHECKOV = ROOT / ".venv-iac" / "bin" / "checkov"

# Settings of local.settings.example.json that are never set in Azure, and why.
NOT_SET_IN_AZURE = {
    "FUNCTIONS_WORKER_RUNTIME": "Flex Consumption takes it from functionAppConfig.runtime and refuses the setting",
    "AzureWebJobsStorage": "identity-based instead: AzureWebJobsStorage__credential, __clientId, __*ServiceUri",
    "AzureWebJobsStorage__accountName": "AzureWebJobsStorage__*ServiceUri are set instead (right in every Azure cloud)",
    "LOG_STORAGE_CONNECTION": "identity-based instead: LOG_STORAGE__tableServiceUri, __credential, __clientId",
    "LOG_STORAGE__accountName": "LOG_STORAGE__tableServiceUri is set instead (right in every Azure cloud)",
    "SFTP_BLOB_CONNECTION": "identity-based instead: SFTP_BLOB__blobServiceUri, __credential, __clientId",
    "SFTP_BLOB__accountName": "SFTP_BLOB__blobServiceUri is set instead (right in every Azure cloud)",
    "SFTP_KNOWN_HOSTS": "a file; an external sftp:// server's key is pinned by SFTP_HOST_KEY or SFTP_HOST_FINGERPRINT",
    "SFTP_PRIVATE_KEY_PATH": "a file; the key itself is SFTP_PRIVATE_KEY, a Key Vault reference",
    "SFTP_PRIVATE_KEY_PASSPHRASE": "the key sits in Key Vault without a passphrase: Key Vault is its protection",
    "SFTP_PASSWORD": "SFTP by key only",
    "SMS_OUTBOX_PATH": "SMS_MODE is acs in Azure; the outbox is for development",
    "TELEMETRY_EXPORT_LOGS": "default true: with host.json telemetryMode OpenTelemetry the worker exports its own logs",
    "COLLECTIONS_RULES_FILE": "optional (empty: the built-in rules); appSettingOverrides can set it",
    "WEBSITE_INSTANCE_ID": "set by Azure on every instance",
    "WEBSITE_SITE_NAME": "set by Azure",
}
# App settings Flex Consumption refuses or ignores (Microsoft Learn, "Flex Consumption plan
# deprecations"), and AzureWebJobsFeatureFlags, which this app must not get.
REFUSED_ON_FLEX = (
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_WORKER_RUNTIME_VERSION",
    "FUNCTIONS_EXTENSION_VERSION",
    "FUNCTIONS_WORKER_PROCESS_COUNT",
    "FUNCTIONS_MAX_HTTP_CONCURRENCY",
    "FUNCTIONS_WORKER_DYNAMIC_CONCURRENCY_ENABLED",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_CONTENTSHARE",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT",
    "WEBSITE_NODE_DEFAULT_VERSION",
    "SCM_DO_BUILD_DURING_DEPLOYMENT",
    "ENABLE_ORYX_BUILD",
    "AzureWebJobsFeatureFlags",
)
KEY_VAULT_SECRETS = {
    "JWT_SIGNING_KEY": "JWT-SIGNING-KEY",
    "LENDING_SIGNING_KEY": "LENDING-SIGNING-KEY",
    "LENDING_WEBHOOK_KEY": "LENDING-WEBHOOK-KEY",
    "MAMBU_API_KEY": "MAMBU-API-KEY",
    "ACS_CONNECTION_STRING": "ACS-CONNECTION-STRING",
    "SFTP_PRIVATE_KEY": "SFTP-PRIVATE-KEY",
}
SECRET_NAME = re.compile(r"(?i)secret|password|passwd|connection_?string|access_?key|api_?key|signing_?key|sas|token")
SKIP_COMMENT = re.compile(r"checkov:skip=([A-Z0-9_]+):?(.*)")
CHECKOV_ENV = {
    # no call to Prisma Cloud (guidelines) or PyPI (update check): the scan is offline
    "BC_SKIP_MAPPING": "TRUE",
    "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",
}

PARSE = """
import json, sys
from pathlib import Path
from pycep import BicepParser
parser = BicepParser()
out = {}
for path in sys.argv[1:]:
    try:
        out[path] = {"tree": parser.parse(text=Path(path).read_text())}
    except Exception as exc:
        out[path] = {"error": f"{type(exc).__name__}: {exc}"}
print(json.dumps(out))
"""
LOAD_YAML = "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1])), default=str))"


@pytest.fixture(scope="session")
def iac_python() -> Path:
    """.venv-iac's interpreter: skipped without it locally, a failure in CI."""
    if not IAC_PYTHON.exists() or not CHECKOV.exists():
        message = f"{IAC_PYTHON.parent.parent} is missing: make .venv-iac/.installed (make test does it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return IAC_PYTHON


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


@pytest.fixture(scope="session")
def trees(iac_python: Path) -> dict[str, dict[str, Any]]:
    """Every .bicep file parsed by pycep-parser, by path relative to infra/."""
    paths = [str(path) for path in bicep_files()]
    done = subprocess.run([str(iac_python), "-c", PARSE, *paths], capture_output=True, text=True, check=True)
    parsed = json.loads(done.stdout)
    errors = {path: result["error"] for path, result in parsed.items() if "error" in result}
    assert errors == {}, f"pycep-parser cannot parse: {errors}"
    return {str(Path(path).relative_to(INFRA)): result["tree"] for path, result in parsed.items()}


def load_yaml(iac_python: Path, path: Path) -> Any:
    done = subprocess.run([str(iac_python), "-c", LOAD_YAML, str(path)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def example_settings() -> dict[str, str]:
    values = json.loads((ROOT / "local.settings.example.json").read_text())["Values"]
    return {name: value for name, value in values.items() if not name.startswith("_")}


def description(declaration: dict[str, Any]) -> str | None:
    for decorator in declaration.get("decorators") or []:
        if decorator["type"] == "description":
            return decorator["argument"]
    return None


def allowed(declaration: dict[str, Any]) -> list[Any] | None:
    for decorator in declaration.get("decorators") or []:
        if decorator["type"] == "allowed":
            return decorator["argument"]
    return None


def resources_of_type(tree: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in tree.get("resources", {}).items() if r["type"] == kind and not r["existing"]}


def app_settings(trees: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Every app setting the Function App module sets, by name (values as pycep renders them)."""
    function = trees["app/function.bicep"]["variables"]
    names = ("tunableSettings", "fixedSettings", "externalSftpSettings")
    settings = {key: value for name in names for key, value in function[name]["value"].items()}
    schedules = trees["main.bicep"]["modules"]["api"]["config"]["params"]["timerSchedules"]
    return {**settings, **schedules}


def camel(setting: str) -> str:
    first, *rest = setting.lower().split("_")
    return first + "".join(word.capitalize() for word in rest)


def run_checkov(folder: Path) -> dict[str, Any]:
    """checkov over one folder, offline; the bicep report."""
    done = subprocess.run(
        [str(CHECKOV), "--framework", "bicep", "-d", str(folder), "--compact", "--quiet", "-o", "json",
         "--skip-download"],
        capture_output=True, text=True, env={**os.environ, **CHECKOV_ENV}, cwd=ROOT, check=False, timeout=300,
    )
    assert done.stdout.strip(), f"checkov printed nothing (exit {done.returncode}): {done.stderr[-2000:]}"
    reports = json.loads(done.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    (report,) = [r for r in reports if r.get("check_type") == "bicep"]
    return report


def skip_comments() -> Counter[tuple[str, str]]:
    """(file, check id) of every inline checkov skip."""
    found: Counter[tuple[str, str]] = Counter()
    for path in bicep_files():
        for match in SKIP_COMMENT.finditer(path.read_text()):
            found[(str(path.relative_to(INFRA)), match.group(1))] += 1
    return found


# -- azure.yaml and the files azd reads --------------------------------------------------------------


def test_azure_yaml_names_one_python_function_service(iac_python: Path) -> None:
    config = load_yaml(iac_python, ROOT / "azure.yaml")
    assert list(config["services"]) == ["api"]
    service = config["services"]["api"]
    assert (service["host"], service["language"], service["project"]) == ("function", "python", ".")
    assert config["infra"] == {"provider": "bicep", "path": "infra", "module": "main"}
    hook = ROOT / config["hooks"]["postprovision"]["run"]
    assert hook.is_file() and os.access(hook, os.X_OK), f"{hook} must exist and be executable"


def test_every_bicep_file_parses(trees: dict[str, dict[str, Any]]) -> None:
    assert set(trees) == {str(path.relative_to(INFRA)) for path in bicep_files()}
    assert "main.bicep" in trees and len(trees) >= 8
    assert trees["main.bicep"]["globals"]["scope"]["value"] == "subscription"
    rg = trees["main.bicep"]["resources"]["rg"]
    assert rg["type"] == "Microsoft.Resources/resourceGroups"
    assert all(module["config"]["scope"] == "rg" for module in trees["main.bicep"]["modules"].values())


def test_modules_are_called_with_their_parameters(trees: dict[str, dict[str, Any]]) -> None:
    """What a compiler would catch: a module parameter misspelt, a required one missing, an unknown output."""
    main = trees["main.bicep"]
    text = (INFRA / "main.bicep").read_text()
    for symbol, module in main["modules"].items():
        file = str(Path(module["detail"]["path"]).as_posix()).removeprefix("./")
        declared = trees[file]["parameters"]
        passed = set(module["config"]["params"])
        required = {name for name, param in declared.items() if param.get("default") is None}
        assert passed <= set(declared), f"{symbol}: unknown parameters {passed - set(declared)}"
        assert required <= passed, f"{symbol}: missing parameters {required - passed}"
        used = set(re.findall(rf"\b{symbol}\.outputs\.(\w+)", text))
        assert used <= set(trees[file].get("outputs", {})), f"{symbol}: unknown outputs {used}"


def test_interpolations_name_declared_symbols(trees: dict[str, dict[str, Any]]) -> None:
    """Every `${name...}` starts with a symbol of its own file, a loop variable or a Bicep function."""
    functions = {"environment", "subscription", "tenant", "resourceGroup", "take", "toLower", "uniqueString"}
    for file, tree in trees.items():
        text = (INFRA / file).read_text()
        known = set(functions) | set(re.findall(r"\bfor (\w+) in\b", text))
        for section in ("parameters", "variables", "resources", "modules"):
            known |= set(tree.get(section, {}))
        used = set(re.findall(r"\$\{([A-Za-z_]\w*)", text))
        assert used <= known, f"{file}: undeclared {sorted(used - known)}"


def test_no_unused_parameter_or_variable() -> None:
    for path in bicep_files():
        text = path.read_text()
        for name in re.findall(r"^(?:param|var) (\w+)", text, re.MULTILINE):
            assert len(re.findall(rf"\b{name}\b", text)) > 1, f"{path.name}: {name} is never used"


def test_every_parameter_is_described(trees: dict[str, dict[str, Any]]) -> None:
    undescribed = [f"{file}: {name}" for file, tree in trees.items()
                   for name, param in tree.get("parameters", {}).items() if not description(param)]
    assert undescribed == []


def test_main_parameters_map_azd_values(trees: dict[str, dict[str, Any]]) -> None:
    """Every required parameter comes from the azd environment; nothing else is mapped."""
    params = trees["main.bicep"]["parameters"]
    mapped = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert set(mapped) <= set(params), f"not parameters of main.bicep: {set(mapped) - set(params)}"
    required = {name for name, param in params.items() if param.get("default") is None}
    assert required <= set(mapped), f"required but not mapped: {required - set(mapped)}"
    for name, entry in mapped.items():
        value = entry["value"]
        if isinstance(value, str):
            assert re.fullmatch(r"\$\{[A-Z_]+(:-[A-Za-z]+)?\}", value), f"{name}: use an azd value, not {value!r}"
    for user in mapped["sftpUsers"]["value"]:
        assert re.fullmatch(r"[a-z0-9]{3,64}", user["name"]), user
        assert re.fullmatch(r"\d{5}|dispersiones", user["folder"]), user
        assert re.match(r"(ssh-(ed25519|rsa)|ecdsa-sha2-nistp\d+) AAAA", user["publicKey"]), user


def test_no_output_carries_a_secret(trees: dict[str, dict[str, Any]]) -> None:
    for file, tree in trees.items():
        for name, output in tree.get("outputs", {}).items():
            assert not SECRET_NAME.search(name), f"{file}: output {name} is named like a secret"
            value = json.dumps(output["value"])
            assert not re.search(r"(?i)listKeys|listSecrets|connectionString|getSecret", value), f"{file}: {name}"


def test_secret_like_parameters_are_secure_without_default(trees: dict[str, dict[str, Any]]) -> None:
    for file, tree in trees.items():
        for name, param in tree.get("parameters", {}).items():
            if SECRET_NAME.search(name):
                kinds = {decorator["type"] for decorator in param["decorators"]}
                assert "secure" in kinds and param.get("default") is None, f"{file}: {name}"


def test_symbols_with_values_are_unique_across_files(trees: dict[str, dict[str, Any]]) -> None:
    """checkov's Bicep graph keys symbols by name alone, across files: a parameter default, variable,
    resource or module sharing its name with a symbol of another file is read from the wrong file."""
    declared: dict[str, list[tuple[str, bool]]] = {}
    for file, tree in trees.items():
        for name, param in tree.get("parameters", {}).items():
            declared.setdefault(name, []).append((file, param.get("default") is not None))
        for section in ("variables", "resources", "modules"):
            for name in tree.get(section, {}):
                declared.setdefault(name, []).append((file, True))
        for name in tree.get("outputs", {}):
            declared.setdefault(name, []).append((file, False))
    clashes = {name: places for name, places in declared.items()
               if len({file for file, _ in places}) > 1 and any(valued for _, valued in places)}
    assert clashes == {}


def test_names_come_from_abbreviations_and_the_token(trees: dict[str, dict[str, Any]]) -> None:
    main = trees["main.bicep"]
    abbreviations = json.loads((INFRA / "abbreviations.json").read_text())
    text = (INFRA / "main.bicep").read_text()
    unused = [key for key in abbreviations if f"abbrs.{key}" not in text]
    assert unused == []
    variables = {name: var["value"] for name, var in main["variables"].items()}
    names = {(module, key): params[key] for module, m in main["modules"].items()
             for key in ("name", "planName", "serverName", "databaseName", "logAnalyticsName",
                         "applicationInsightsName")
             if isinstance(params := m["config"]["params"], dict) and key in params}
    assert len(names) == 11
    for where, value in names.items():
        value = variables.get(value, value)
        assert value.startswith("${abbrs.") and "${resourceToken}" in value, f"{where}: {value}"
    assert main["resources"]["rg"]["config"]["name"] == "${abbrs.resourcesResourceGroups}${environmentName}"


# -- the Function App ------------------------------------------------------------------------------------


def test_function_app_is_flex_consumption_python_with_its_identity(trees: dict[str, dict[str, Any]]) -> None:
    tree = trees["app/function.bicep"]
    (plan,) = resources_of_type(tree, "Microsoft.Web/serverfarms").values()
    assert plan["config"]["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert plan["config"]["properties"]["reserved"] is True
    (site,) = resources_of_type(tree, "Microsoft.Web/sites").values()
    config = site["config"]
    assert config["kind"] == "functionapp,linux"
    assert config["identity"]["type"] == "UserAssigned"
    props = config["properties"]
    assert props["httpsOnly"] is True
    assert props["keyVaultReferenceIdentity"] == "identityId"
    assert props["siteConfig"]["minTlsVersion"] == "1.2"
    assert "ftpsState" not in props["siteConfig"], "Flex Consumption refuses siteConfig.ftpsState"
    flex = props["functionAppConfig"]
    assert flex["runtime"] == {"name": "python", "version": "runtimeVersion"}
    assert flex["deployment"]["storage"]["authentication"] == {
        "type": "UserAssignedIdentity", "userAssignedIdentityResourceId": "identityId"}
    assert flex["scaleAndConcurrency"] == {"maximumInstanceCount": "maximumInstanceCount",
                                           "instanceMemoryMB": "instanceMemoryMB"}
    for file, name in (("app/function.bicep", "runtimeVersion"), ("main.bicep", "pythonVersion")):
        param = trees[file]["parameters"][name]
        assert (param["default"], allowed(param)) == ("3.11", ["3.11", "3.12", "3.13"])
    policies = resources_of_type(tree, "Microsoft.Web/sites/basicPublishingCredentialsPolicies")
    assert {(p["config"]["name"], p["config"]["properties"]["allow"]) for p in policies.values()} == {
        ("ftp", False), ("scm", False)}


def test_every_documented_setting_is_set(trees: dict[str, dict[str, Any]]) -> None:
    """local.settings.example.json lists what the app reads: each is set in Azure, or listed above with why not."""
    settings = app_settings(trees)
    expected = set(example_settings()) - set(NOT_SET_IN_AZURE) - set(REFUSED_ON_FLEX)
    assert sorted(expected - set(settings)) == []
    assert sorted(set(settings) & (set(NOT_SET_IN_AZURE) | set(REFUSED_ON_FLEX))) == []


def test_connections_are_identity_based(trees: dict[str, dict[str, Any]]) -> None:
    settings = app_settings(trees)
    for prefix in ("AzureWebJobsStorage", "SQL", "SFTP_BLOB", "LOG_STORAGE"):
        assert settings[f"{prefix}__credential"] == "managedidentity"
        assert settings[f"{prefix}__clientId"] == "identityClientId"
    for service in ("blob", "queue", "table"):
        assert settings[f"AzureWebJobsStorage__{service}ServiceUri"] == f"host{service.capitalize()}Endpoint"
    storage_suffix = "${environment().suffixes.storage}"
    assert settings["SFTP_BLOB__blobServiceUri"] == f"https://${{sftpStorageAccountName}}.blob.{storage_suffix}"
    assert settings["LOG_STORAGE__tableServiceUri"] == f"https://${{hostStorageAccountName}}.table.{storage_suffix}"
    assert settings["SQL_URL"] == ("mssql+pyodbc://@${sqlServerFqdn}:1433/${sqlDatabaseName}"
                                   "?driver=ODBC+Driver+18+for+SQL+Server&Encrypt=yes")
    sftp = settings["SFTP_URL"]["operator"]["operands"]
    assert sftp["true_value"] == "blob://${exchangeContainer}"
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == "Authorization=AAD;ClientId=${identityClientId}"
    assert (settings["SMS_MODE"], settings["FUNCTIONS_REQUEST_BODY_SIZE_LIMIT"]) == ("acs", "1048576")
    assert (settings["DEBT_QUEUE"], settings["PAYMENT_QUEUE"]) == ("debtQueue", "paymentQueue")


def test_secrets_are_key_vault_references(trees: dict[str, dict[str, Any]]) -> None:
    settings = app_settings(trees)
    for setting, secret in KEY_VAULT_SECRETS.items():
        assert settings[setting] == f"@Microsoft.KeyVault(SecretUri=${{keyVaultUri}}secrets/{secret}/)"
    for name, value in settings.items():
        if isinstance(value, str) and name not in KEY_VAULT_SECRETS:
            assert "AccountKey=" not in value and "Password=" not in value, name


def test_tunable_defaults_are_the_example_defaults(trees: dict[str, dict[str, Any]]) -> None:
    tunables = trees["app/function.bicep"]["variables"]["tunableSettings"]["value"]
    example = example_settings()
    differ = {name: (value, example.get(name)) for name, value in tunables.items() if example.get(name) != value}
    assert differ == {}


def test_schedules_are_parameters_with_the_example_defaults(trees: dict[str, dict[str, Any]]) -> None:
    params = trees["main.bicep"]["parameters"]
    schedules = trees["main.bicep"]["modules"]["api"]["config"]["params"]["timerSchedules"]
    example = {name: value for name, value in example_settings().items() if name.endswith("_SCHEDULE")}
    assert len(example) >= 7 and set(schedules) == set(example)
    for setting, value in example.items():
        assert schedules[setting] == camel(setting)
        assert params[camel(setting)]["default"] == value, setting


def test_required_parameters_have_no_local_default(trees: dict[str, dict[str, Any]]) -> None:
    params = trees["main.bicep"]["parameters"]
    for name in ("mambuBaseUrl", "smsFrom", "sqlAdminLogin", "sqlAdminObjectId"):
        assert params[name].get("default") is None, f"{name} must be required"


# -- data planes --------------------------------------------------------------------------------------------


def test_storage_accounts_refuse_keys_and_anonymous_access(trees: dict[str, dict[str, Any]]) -> None:
    accounts = {name: r for file in ("app/storage.bicep", "app/sftp-storage.bicep")
                for name, r in resources_of_type(trees[file], "Microsoft.Storage/storageAccounts").items()}
    assert set(accounts) == {"hostStorage", "sftpStorage"}
    for name, account in accounts.items():
        props = account["config"]["properties"]
        assert props["allowSharedKeyAccess"] is False, name
        assert props["allowBlobPublicAccess"] is False, name
        assert props["minimumTlsVersion"] == "TLS1_2", name
        assert props["supportsHttpsTrafficOnly"] is True, name
    sftp = accounts["sftpStorage"]["config"]["properties"]
    assert sftp["isHnsEnabled"] is True and sftp["isSftpEnabled"] is True


def test_sftp_users_are_jailed_in_their_folder(trees: dict[str, dict[str, Any]]) -> None:
    tree = trees["app/sftp-storage.bicep"]
    assert tree["parameters"]["exchangeContainerName"]["default"] == "exchange"
    (users,) = resources_of_type(tree, "Microsoft.Storage/storageAccounts/localUsers").values()
    user = users["config"]["config"]
    props = user["properties"]
    assert props["homeDirectory"] == "${exchangeContainerName}/${user.folder}"
    assert props["permissionScopes"] == [{"service": "blob", "resourceName": "exchangeContainerName",
                                          "permissions": "rwdlc"}]
    assert (props["hasSshKey"], props["hasSshPassword"], props["hasSharedKey"]) == (True, False, False)


def test_queues_and_their_poison_twins(trees: dict[str, dict[str, Any]]) -> None:
    tree = trees["app/storage.bicep"]
    queues = resources_of_type(tree, "Microsoft.Storage/storageAccounts/queueServices/queues")
    assert {q["config"]["config"]["name"] for q in queues.values()} == {"queueName", "${queueName}-poison"}
    storage = trees["main.bicep"]["modules"]["storage"]["config"]["params"]
    assert storage["queueNames"] == ["debtQueueName", "paymentQueueName"]
    params = trees["main.bicep"]["parameters"]
    assert (params["debtQueueName"]["default"], params["paymentQueueName"]["default"]) == (
        "debt-files", "payment-files")


def test_the_identity_has_each_data_role(trees: dict[str, dict[str, Any]]) -> None:
    tree = trees["app/rbac.bicep"]
    roles = tree["variables"]["roles"]["value"]
    granted = set()
    for assignment in resources_of_type(tree, "Microsoft.Authorization/roleAssignments").values():
        config = assignment.get("config", {})
        config = config.get("config", config)  # conditional assignments nest their body
        props = config["properties"]
        role = json.dumps(props["roleDefinitionId"])
        (role_name,) = [name for name in roles if f"roles.{name}" in role or f'"{name}"' in role]
        granted.add((config["scope"], role_name, props["principalId"]))
    identity = "identityPrincipalId"
    assert {
        ("rbacHostStorage", "storageBlobDataOwner", identity),
        ("rbacHostStorage", "storageQueueDataContributor", identity),
        ("rbacHostStorage", "storageTableDataContributor", identity),
        ("rbacSftpStorage", "storageBlobDataContributor", identity),
        ("rbacKeyVault", "keyVaultSecretsUser", identity),
        ("rbacAppInsights", "monitoringMetricsPublisher", identity),
    } <= granted
    assert roles["storageBlobDataOwner"] == "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
    assert roles["keyVaultSecretsUser"] == "4633458b-17de-408a-b874-0445c86b69e6"
    assert roles["monitoringMetricsPublisher"] == "3913510d-42f4-4e42-8a64-420c390055eb"


def test_sql_is_entra_only(trees: dict[str, dict[str, Any]]) -> None:
    tree = trees["app/sql.bicep"]
    (server,) = resources_of_type(tree, "Microsoft.Sql/servers").values()
    props = server["config"]["properties"]
    assert props["administrators"]["azureADOnlyAuthentication"] is True
    assert props["minimalTlsVersion"] == "1.2"
    assert "administratorLoginPassword" not in props and "administratorLogin" not in props
    (rule,) = resources_of_type(tree, "Microsoft.Sql/servers/firewallRules").values()
    assert rule["config"]["properties"] == {"startIpAddress": "0.0.0.0", "endIpAddress": "0.0.0.0"}
    assert tree["parameters"]["databaseSku"]["default"] == "GP_S_Gen5"


def test_key_vault_and_application_insights(trees: dict[str, dict[str, Any]]) -> None:
    (vault,) = resources_of_type(trees["app/keyvault.bicep"], "Microsoft.KeyVault/vaults").values()
    props = vault["config"]["properties"]
    assert (props["enableRbacAuthorization"], props["enableSoftDelete"], props["enablePurgeProtection"]) == (
        True, True, True)
    assert "accessPolicies" not in props
    assert all("Microsoft.KeyVault/vaults/secrets" != r["type"] for t in trees.values()
               for r in t.get("resources", {}).values()), "no secret value is ever written by Bicep"
    (insights,) = resources_of_type(trees["app/monitoring.bicep"], "Microsoft.Insights/components").values()
    assert insights["config"]["properties"]["DisableLocalAuth"] is True


def test_diagnostic_settings_reach_log_analytics(trees: dict[str, dict[str, Any]]) -> None:
    wanted = {"app/function.bicep": "functionApp", "app/keyvault.bicep": "keyVault", "app/sql.bicep": "sqlDatabase",
              "app/storage.bicep": "hostStorage", "app/sftp-storage.bicep": "sftpStorage"}
    for file, target in wanted.items():
        settings = resources_of_type(trees[file], "Microsoft.Insights/diagnosticSettings").values()
        scopes = {s["config"]["scope"] for s in settings if s["config"]["properties"]["workspaceId"] == "logAnalyticsId"}
        assert target in scopes, f"{file}: no diagnostic setting on {target}"


# -- checkov ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def checkov_report(iac_python: Path) -> dict[str, Any]:
    return run_checkov(INFRA)


def test_checkov_finds_no_failed_check(checkov_report: dict[str, Any]) -> None:
    summary = checkov_report["summary"]
    failed = [(c["check_id"], c["file_path"], c["resource"]) for c in checkov_report["results"]["failed_checks"]]
    assert failed == [], f"checkov: {summary}"
    assert summary["parsing_errors"] == 0, "checkov skips a file it cannot parse: it must parse them all"
    assert summary["passed"] >= 30 and summary["resource_count"] >= 50, summary


def test_every_inline_skip_gives_its_reason() -> None:
    for path in bicep_files():
        for line in path.read_text().splitlines():
            if "checkov:skip" in line:
                match = SKIP_COMMENT.search(line)
                assert match and len(match.group(2).strip()) >= 20, f"{path.name}: a skip needs its reason: {line}"
                assert line.lstrip().startswith("// checkov:skip="), f"{path.name}: {line}"


def test_every_inline_skip_silences_a_real_failure(iac_python: Path, tmp_path: Path) -> None:
    """Without the skip comments, checkov fails exactly the checks they name, where they are."""
    bare = tmp_path / "infra"
    shutil.copytree(INFRA, bare)
    for path in bare.rglob("*.bicep"):
        kept = [line for line in path.read_text().splitlines(keepends=True) if "checkov:skip=" not in line]
        path.write_text("".join(kept))
    report = run_checkov(bare)
    failed = Counter((c["file_path"].lstrip("/"), c["check_id"]) for c in report["results"]["failed_checks"])
    assert failed == skip_comments()


# -- the deploy workflow --------------------------------------------------------------------------------------


def test_deploy_workflow(iac_python: Path) -> None:
    workflow = load_yaml(iac_python, ROOT / ".github" / "workflows" / "deploy.yml")
    triggers = workflow.get("on", workflow.get("true"))  # YAML 1.1 reads a bare `on` as true
    assert triggers["push"]["branches"] == ["main"] and "workflow_dispatch" in triggers
    test, deploy = workflow["jobs"]["test"], workflow["jobs"]["deploy"]
    postgres = test["services"]["postgres"]
    assert postgres["env"] == {"POSTGRES_HOST_AUTH_METHOD": "trust", "POSTGRES_DB": "test"}
    assert postgres["ports"] == ["5432:5432"]
    test_runs = " ".join(step.get("run", "") for step in test["steps"])
    assert "openssh-server" in test_runs and "CI=true bash .ci/run" in test_runs
    assert deploy["needs"] == "test" and deploy["environment"] == "production"
    assert deploy["permissions"] == {"id-token": "write", "contents": "read"}
    runs = " ".join(step.get("run", "") for step in deploy["steps"])
    assert "--federated-credential-provider github" in runs
    assert "azd provision --no-prompt" in runs and "azd deploy --no-prompt" in runs
    for name in ("AZURE_ENV_NAME", "AZURE_LOCATION", "AZURE_SUBSCRIPTION_ID", "AZURE_CLIENT_ID", "AZURE_TENANT_ID"):
        assert deploy["env"][name] == f"${{{{ vars.{name} }}}}"
    uses = [step["uses"] for job in workflow["jobs"].values() for step in job["steps"] if "uses" in step]
    unpinned = [use for use in uses if not re.search(r"@(v\d+\.\d+\.\d+|[0-9a-f]{40})$", use)]
    assert unpinned == [] and any(use.startswith("Azure/setup-azd@") for use in uses)
    assert "secrets." not in (ROOT / ".github" / "workflows" / "deploy.yml").read_text(), "OIDC: no secret"


def test_blob_events_reach_debt_file_arrived_only_for_complete_pending_files(trees: dict[str, dict[str, Any]]) -> None:
    """The exchange's BlobCreated events in Deudas/Pending/ go to the function the app registers
    (tests/e2e/test_debt_file_events.py), only when asked (the function must exist first)."""
    tree = trees["app/events.bicep"]
    topic = tree["resources"]["topic"]["config"]
    assert topic["properties"]["topicType"] == "Microsoft.Storage.StorageAccounts"
    subscription = tree["resources"]["debtFileArrived"]["config"]
    assert subscription["condition"] == "subscribe"
    properties = subscription["config"]["properties"]
    assert properties["destination"]["endpointType"] == "AzureFunction"
    assert properties["destination"]["properties"]["resourceId"].endswith("/functions/debt_file_arrived")
    filters = properties["filter"]
    assert filters["includedEventTypes"] == ["Microsoft.Storage.BlobCreated"]
    advanced = {f["key"]: f for f in filters["advancedFilters"]}
    assert advanced["subject"]["values"] == ["/Deudas/Pending/"]
    from blueprints.debt_loader import COMPLETE_APIS

    assert set(advanced["data.api"]["values"]) == COMPLETE_APIS, "the filter and the function agree"
    main = trees["main.bicep"]
    assert main["modules"]["events"]["config"]["params"]["subscribe"] == "debtFileEvents"
    assert main["parameters"]["debtFileEvents"]["default"] is False
