"""Revocation, lifetime and guessing (issue 14): a rotated, disabled or re-enabled client's old
tokens and old secret stop working within the status cache's bound; a token living longer
than the service issues is refused; wrong secrets are throttled per address, lock a client,
and cannot starve the APIs. In-process first, then over the real local host."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import pytest

import bootstrap
from tests.conftest import ROOT, SIGNING_KEY, stop
from tests.e2e.calls import call, json_of
from tests.e2e.test_local_host import start_host
from usecases.clients import CLIENT_STATUS, register_client, set_client_active

SECRET = "bank-secret-rotating-1"
NEW_SECRET = "bank-secret-rotating-2"


@pytest.fixture
def bank(app_env: Path) -> str:
    register_client(bootstrap.unit_of_work, "bank-rot", SECRET, "yapago,collections", bootstrap.utc_now())
    return "bank-rot"


def token(secret: str = SECRET, **headers: str) -> str:
    answer = call("auth_token", "POST", headers={"client_id": "bank-rot", "client_secret": secret, **headers})
    assert answer.status_code == 200, answer.get_body()
    return json_of(answer)["access_token"]


def me(access: str) -> tuple[int, dict]:
    answer = call("auth_me", "GET", headers={"Authorization": f"Bearer {access}"})
    return answer.status_code, json_of(answer)


def test_rotating_the_secret_revokes_the_tokens_before(bank: str) -> None:
    old = token()
    assert me(old)[0] == 200
    register_client(bootstrap.unit_of_work, bank, NEW_SECRET, "yapago,collections", bootstrap.utc_now())
    assert me(token(NEW_SECRET))[0] == 200, "a token newer than the cache is checked against SQL at once"
    CLIENT_STATUS.clear()  # the bound: the status cache's 10 s
    status, body = me(old)
    assert (status, body["error"]) == (401, "invalid_token") and "revoked" in body["message"]
    assert me(token(NEW_SECRET))[0] == 200
    refused = call("auth_token", "POST", headers={"client_id": bank, "client_secret": SECRET})
    assert refused.status_code == 401


def test_disable_then_enable_brings_no_token_back(bank: str) -> None:
    old = token()
    set_client_active(bootstrap.unit_of_work, bank, False, bootstrap.utc_now())
    set_client_active(bootstrap.unit_of_work, bank, True, bootstrap.utc_now())
    CLIENT_STATUS.clear()
    assert me(old)[0] == 401
    assert me(token())[0] == 200


def test_the_old_secret_stops_working_in_the_collections_headers(bank: str) -> None:
    headers = {"X-Invoker-Channel": "012", "X-Invoker-UserIPAddress": "10.5.43.214",
               "X-Invoker-ServerIPAddress": "192.168.169.197", "X-Invoker-UserMACAddress": "0E-A5-38-F7-C3-09",
               "Accept": "application/json"}  # fmt: skip

    def lookup(access: str, secret: str) -> int:
        answer = call("collections_agreement", "GET", params={"acctId": "5895180000053129617"},
                      headers={"Authorization": f"Bearer {access}", "client_id": bank, "client_secret": secret,
                               **headers})  # fmt: skip
        return answer.status_code

    assert lookup(token(), SECRET) in (200, 404), "accepted (and remembered)"
    register_client(bootstrap.unit_of_work, bank, NEW_SECRET, "yapago,collections", bootstrap.utc_now())
    CLIENT_STATUS.clear()
    fresh = token(NEW_SECRET)
    assert lookup(fresh, SECRET) == 401, "the remembered check of the old secret does not count"
    assert lookup(fresh, NEW_SECRET) in (200, 404)


@pytest.mark.parametrize("lifetime", [timedelta(days=365 * 30), timedelta(hours=2)])
def test_a_token_living_longer_than_issued_is_refused(bank: str, lifetime: timedelta) -> None:
    now = datetime.now(UTC)
    forged = jwt.encode({"iss": "asbanc-functions", "sub": bank, "scope": "yapago", "iat": int(now.timestamp()),
                         "exp": int((now + lifetime).timestamp()), "jti": "x", "ver": 1}, SIGNING_KEY,
                        algorithm="HS256")  # fmt: skip
    status, body = me(forged)
    assert (status, body["error"]) == (401, "invalid_token") and "lifetime" in body["message"]
    early = jwt.encode({"iss": "asbanc-functions", "sub": bank, "scope": "yapago",
                        "iat": int((now + timedelta(hours=1)).timestamp()),
                        "exp": int((now + timedelta(hours=1, minutes=30)).timestamp()), "jti": "y", "ver": 1},
                       SIGNING_KEY, algorithm="HS256")  # fmt: skip
    assert me(early)[0] == 401, "issued in the future"


def test_guesses_from_one_address_are_throttled(bank: str) -> None:
    statuses, retry = [], None
    for n in range(25):
        answer = call("auth_token", "POST", headers={"client_id": f"ghost-{n}", "client_secret": "wrong-secret-00",
                                                     "X-Forwarded-For": "203.0.113.9:5000"})  # fmt: skip
        statuses.append(answer.status_code)
        retry = answer.headers.get("Retry-After") or retry
    assert statuses[:20] == [401] * 20 and statuses[20:] == [429] * 5
    assert retry is not None and 1 <= int(retry) <= 60
    other = call("auth_token", "POST", headers={"client_id": bank, "client_secret": SECRET,
                                                 "X-Forwarded-For": "198.51.100.7:1234"})  # fmt: skip
    assert other.status_code == 200, "another address is not throttled"


def test_wrong_secrets_in_a_row_lock_the_client(bank: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(10):
        answer = call("auth_token", "POST", headers={"client_id": bank, "client_secret": "wrong-secret-00",
                                                     "X-Forwarded-For": f"192.0.2.{n}:1"})  # fmt: skip
        assert answer.status_code == 401
    locked = call("auth_token", "POST", headers={"client_id": bank, "client_secret": SECRET})
    assert locked.status_code == 429 and 800 <= int(locked.headers["Retry-After"]) <= 900
    later = datetime.now(UTC) + timedelta(minutes=16)
    monkeypatch.setattr(bootstrap, "utc_now", lambda: later)
    assert call("auth_token", "POST", headers={"client_id": bank, "client_secret": SECRET}).status_code == 200
    assert call("auth_token", "POST", headers={"client_id": bank, "client_secret": "wrong-secret-00"}).status_code == (
        401
    ), "a success starts the count again"


# -- over the real local host ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory, azurite: str) -> Iterator[tuple[str, dict[str, str]]]:
    work = tmp_path_factory.mktemp("credentials")
    env = {**os.environ, "SQL_URL": f"sqlite:///{work / 'app.db'}", "SFTP_URL": f"file://{work / 'x'}",
           "LOG_STORAGE_CONNECTION": azurite, "AzureWebJobsStorage": azurite, "JWT_SIGNING_KEY": SIGNING_KEY}  # fmt: skip
    for args in (["migrate"], ["create-client", "--id", "bank-host", "--secret", SECRET, "--scopes", "yapago"]):
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)
    proc, port, _ = start_host(work, env, "--workers", "2", "--no-timers")
    yield f"http://127.0.0.1:{port}/api", env
    stop(proc)


def test_rotation_reaches_every_worker_within_the_bound(host: tuple[str, dict[str, str]]) -> None:
    base, env = host
    old = httpx.post(f"{base}/auth/token", headers={"client_id": "bank-host", "client_secret": SECRET}).json()
    headers = {"Authorization": f"Bearer {old['access_token']}"}
    for _ in range(6):  # both workers have seen (and cached) the token
        assert httpx.get(f"{base}/auth/me", headers=headers).status_code == 200
    subprocess.run([sys.executable, "manage.py", "create-client", "--id", "bank-host", "--secret", NEW_SECRET,
                    "--scopes", "yapago"], cwd=ROOT, env=env, check=True, capture_output=True)  # fmt: skip
    rotated = time.monotonic()
    while True:
        codes = [httpx.get(f"{base}/auth/me", headers=headers).status_code for _ in range(4)]
        if codes == [401] * 4:
            break
        assert time.monotonic() - rotated < 12, codes
        time.sleep(0.2)
    assert time.monotonic() - rotated <= 11


def test_concurrent_guessing_does_not_starve_the_apis(host: tuple[str, dict[str, str]]) -> None:
    base, env = host
    subprocess.run([sys.executable, "manage.py", "create-client", "--id", "bank-host", "--secret", NEW_SECRET,
                    "--scopes", "yapago"], cwd=ROOT, env=env, check=True, capture_output=True)  # fmt: skip
    good = httpx.post(f"{base}/auth/token", headers={"client_id": "bank-host", "client_secret": NEW_SECRET})
    headers = {"Authorization": f"Bearer {good.json()['access_token']}"}

    def latencies(n: int) -> list[float]:
        found = []
        for _ in range(n):
            started = time.perf_counter()
            assert httpx.get(f"{base}/auth/me", headers=headers).status_code == 200
            found.append(time.perf_counter() - started)
        return found

    quiet = statistics.median(latencies(30))
    stop_at = time.monotonic() + 8
    outcomes: list[int] = []

    def guess(n: int) -> None:
        with httpx.Client() as client:
            while time.monotonic() < stop_at:
                answer = client.post(f"{base}/auth/token", headers={  # unknown ids: no lock, Argon2 all the same
                    "client_id": f"ghost-{n}", "client_secret": f"wrong-{n}-guess", "X-Forwarded-For": f"10.9.{n}.1"})
                outcomes.append(answer.status_code)

    guessers = [threading.Thread(target=guess, args=(n,)) for n in range(12)]
    for thread in guessers:
        thread.start()
    time.sleep(1)
    busy = statistics.median(latencies(30))
    for thread in guessers:
        thread.join()
    assert outcomes and set(outcomes) <= {401, 429}
    print(f"auth/me p50: {quiet * 1000:.1f} ms quiet, {busy * 1000:.1f} ms under 12 guessers; "
          f"{len(outcomes)} guesses, {outcomes.count(429)} answered 429")
    assert busy < max(0.25, 10 * quiet), (quiet, busy)


def test_a_hash_made_with_yesterdays_parameters_is_replaced_at_the_next_right_secret(bank: str) -> None:
    """Hashes stored with argon2's defaults (64 MiB, 3 passes, 4 lanes: before issue 18) keep
    working; the first right secret stores today's cheaper hash, without a new credential
    version (tokens already issued stay valid), and a wrong secret changes nothing."""
    import sqlalchemy as sa
    from argon2 import PasswordHasher

    from adapters.secrets import needs_rehash

    old_hash = PasswordHasher().hash(SECRET)
    with bootstrap.engine().begin() as conn:
        conn.execute(sa.text("UPDATE api_clients SET secret_hash = :h WHERE client_id = :c"), {"h": old_hash, "c": bank})
        version = conn.execute(sa.text("SELECT credential_version FROM api_clients WHERE client_id = :c"),
                               {"c": bank}).scalar()  # fmt: skip
    assert needs_rehash(old_hash)
    assert call("auth_token", "POST", headers={"client_id": bank, "client_secret": "wrong-secret-000"}).status_code == 401
    before = token()
    with bootstrap.engine().connect() as conn:
        stored, now_version = conn.execute(sa.text("SELECT secret_hash, credential_version FROM api_clients "
                                                   "WHERE client_id = :c"), {"c": bank}).one()  # fmt: skip
    assert stored != old_hash and not needs_rehash(stored) and now_version == version
    assert me(before)[0] == 200 and me(token())[0] == 200


def test_importing_the_app_hashes_nothing() -> None:
    """A cold worker imports function_app before its first call: no Argon2 work there."""
    code = ("import argon2\n"
            "def refuse(*a, **k):\n    raise SystemExit('hashed at import')\n"
            "argon2.PasswordHasher.hash = refuse\nargon2.PasswordHasher.verify = refuse\n"
            "import function_app\nprint('ok')")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-500:]


def test_the_unknown_client_check_costs_what_a_known_one_does() -> None:
    from argon2 import extract_parameters

    from adapters import secrets

    dummy = extract_parameters(secrets.DUMMY_HASH)
    assert (dummy.time_cost, dummy.memory_cost, dummy.parallelism) == (secrets.TIME_COST, secrets.MEMORY_KIB,
                                                                        secrets.LANES)  # fmt: skip
    assert not secrets.needs_rehash(secrets.DUMMY_HASH)
