"""infra/hooks/postprovision.sh against a stand-in `az`: no Azure here, so the calls it makes are what is checked.

The stand-in keeps secrets and directories in a temporary folder and logs every call; the SQL
step (infra/hooks/sql_access.py, which needs a real server) is replaced by a logging PYTHON.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HOOK = ROOT / "infra" / "hooks" / "postprovision.sh"

FAKE_AZ = """#!{python}
import os, pathlib, sys
state = pathlib.Path(os.environ["FAKE_AZ_STATE"])
args = sys.argv[1:]
with (state / "calls").open("a") as log:
    log.write(" ".join(args) + "\\n")
def option(name):
    return args[args.index(name) + 1]
secrets = state / "secrets"
if args[:2] == ["account", "show"]:
    print("11111111-1111-1111-1111-111111111111")
    sys.exit(0)
if args[:3] == ["keyvault", "secret", "show"]:
    if (secrets / option("--name")).exists():
        print("https://vault/secrets/" + option("--name"))
        sys.exit(0)
    sys.exit(f"ERROR: (SecretNotFound) A secret with (name/id) {{option('--name')}} was not found in this key vault.")
if args[:3] == ["keyvault", "secret", "set"]:
    (secrets / option("--name")).write_text(pathlib.Path(option("--file")).read_text())
    sys.exit(0)
if args[:4] == ["storage", "fs", "directory", "exists"]:
    print("true" if (state / "dirs" / option("--name")).is_dir() else "false")
    sys.exit(0)
if args[:4] == ["storage", "fs", "directory", "create"]:
    (state / "dirs" / option("--name")).mkdir(parents=True)
    sys.exit(0)
if args[:2] == ["functionapp", "restart"]:
    sys.exit(0)
sys.exit("fake az: unexpected call " + " ".join(args))
"""
FAKE_PYTHON = """#!/usr/bin/env bash
[ "$1" = -c ] && exit 0
echo "python $*" >> "$FAKE_AZ_STATE/calls"
"""
FAKE_OPENSSL = f"""#!{sys.executable}
import base64, os, sys
assert sys.argv[1:] == ["rand", "-base64", "48"], sys.argv
print(base64.b64encode(os.urandom(48)).decode())
"""


@pytest.fixture
def azure(tmp_path: Path) -> Path:
    """A folder standing for the Azure side, with `az` (and `openssl` when missing) on PATH."""
    if shutil.which("bash") is None:
        pytest.skip("bash is missing")
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    for folder in (bin_dir, state / "secrets", state / "dirs"):
        folder.mkdir(parents=True)
    scripts = {"az": FAKE_AZ.format(python=sys.executable), "fake-python": FAKE_PYTHON}
    if shutil.which("openssl") is None:
        scripts["openssl"] = FAKE_OPENSSL
    for name, text in scripts.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    (state / "secrets" / "MAMBU-API-KEY").write_text("set by the operator")
    return tmp_path


def run_hook(azure: Path, folders: str = "00730,dispersiones",
             tenant: str = "11111111-1111-1111-1111-111111111111") -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{azure / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "FAKE_AZ_STATE": str(azure / "state"),
        "PYTHON": str(azure / "bin" / "fake-python"),
        "POSTPROVISION_RETRY_SECONDS": "0",
        "AZURE_TENANT_ID": tenant,
        "AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000000",
        "AZURE_RESOURCE_GROUP": "rg-test",
        "AZURE_FUNCTION_APP_NAME": "func-api-test",
        "AZURE_KEY_VAULT_NAME": "kv-test",
        "AZURE_EXCHANGE_STORAGE_ACCOUNT": "stsftptest",
        "AZURE_EXCHANGE_CONTAINER": "exchange",
        "AZURE_EXCHANGE_FOLDERS": folders,
    }
    env.pop("EXTERNAL_SFTP_URL", None)
    return subprocess.run(["bash", str(HOOK)], env=env, capture_output=True, text=True, timeout=60, check=False)


def calls(azure: Path) -> list[str]:
    path = azure / "state" / "calls"
    return path.read_text().splitlines() if path.exists() else []


def test_first_run_creates_keys_folders_and_the_database_user(azure: Path) -> None:
    done = run_hook(azure)
    assert done.returncode == 0, done.stderr
    secrets = azure / "state" / "secrets"
    for name in ("JWT-SIGNING-KEY", "LENDING-SIGNING-KEY", "LENDING-WEBHOOK-KEY"):
        assert len((secrets / name).read_text()) == 64, name  # 48 random bytes, base64
    assert (secrets / "MAMBU-API-KEY").read_text() == "set by the operator"
    assert "ACS-CONNECTION-STRING is not in kv-test yet" in done.stdout
    assert "MAMBU-API-KEY is not" not in done.stdout
    dirs = azure / "state" / "dirs"
    made = sorted(str(path.relative_to(dirs)) for path in dirs.rglob("*") if not any(path.iterdir()))
    assert made == ["00730/Deudas/Complete", "00730/Deudas/Pending", "00730/Deudas/Rejected", "00730/Pagos",
                    "dispersiones/pendientes", "dispersiones/reintentos", "dispersiones/respuestas"]
    log = calls(azure)
    assert "python infra/hooks/sql_access.py setup" in log
    assert any(call.startswith("functionapp restart") for call in log), "new keys are read after a restart"
    assert not any("secret set" in call and "--value" in call for call in log), "a secret never on a command line"


def test_second_run_changes_nothing(azure: Path) -> None:
    assert run_hook(azure).returncode == 0
    keys = {path.name: path.read_text() for path in (azure / "state" / "secrets").iterdir()}
    (azure / "state" / "calls").unlink()
    done = run_hook(azure)
    assert done.returncode == 0, done.stderr
    assert {path.name: path.read_text() for path in (azure / "state" / "secrets").iterdir()} == keys
    changes = [call for call in calls(azure) if " set " in f" {call} " or " create " in f" {call} "
               or call.startswith("functionapp restart")]
    assert changes == []
    assert "python infra/hooks/sql_access.py setup" in calls(azure), "the database step is idempotent itself"


def test_a_folder_that_is_no_company_or_bank_is_refused(azure: Path) -> None:
    done = run_hook(azure, folders="00730,../etc")
    assert done.returncode != 0
    assert "'../etc' is neither a 5-digit company code nor dispersiones" in done.stderr


def test_az_signed_in_to_another_tenant_is_refused(azure: Path) -> None:
    done = run_hook(azure, tenant="22222222-2222-2222-2222-222222222222")
    assert done.returncode != 0 and "az login --tenant 22222222-2222-2222-2222-222222222222" in done.stderr
    assert not (azure / "state" / "secrets" / "JWT-SIGNING-KEY").exists()


def test_without_azd_outputs_it_says_what_is_missing(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AZURE_")}
    done = subprocess.run(["bash", str(HOOK)], env=env, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode != 0 and "AZURE_TENANT_ID is not set" in done.stderr
