"""Collections management API over real HTTP on the local host, SQLite and PostgreSQL:
the spec's examples verbatim, auth and headers, agreement lookups, negotiation states in SQL,
and every call in ApiLogs with identity numbers masked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from adapters.table_log import API_LOGS, partition_key, read_partition
from domain.collections import BOGOTA
from domain.collections.headers import julian
from tests.conftest import ROOT, SIGNING_KEY, stop, temporary_database
from tests.e2e.test_local_host import start_host

DATA = Path(__file__).resolve().parents[1] / "testdata" / "collections"
SECRET = "collections-secret-value"
HEADERS = {
    "X-Invoker-Channel": "012", "X-Invoker-UserIPAddress": "10.5.43.214", "X-Invoker-ServerIPAddress": "192.168.169.197",
    "X-Invoker-UserMACAddress": "0E-A5-38-F7-C3-09", "Accept": "application/json", "client_id": "collector",
    "client_secret": SECRET,
}  # fmt: skip
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1" and not os.environ.get("CI")


@dataclass
class Host:
    base: str
    token: str
    url: str
    env: dict[str, str]

    def call(
        self, method: str, route: str, body: Any = None, token: str | None = None, **changes: Any
    ) -> httpx.Response:
        headers = {**HEADERS, "Authorization": f"Bearer {token or self.token}"}
        for name, value in changes.pop("headers", {}).items():
            if value is None:
                headers.pop(name, None)
            else:
                headers[name] = value
        content = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else None
        return httpx.request(method, f"{self.base}/collections-management/v1/{route}", content=content,
                             headers=headers, timeout=30, **changes)  # fmt: skip

    def manage(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True,
                              text=True)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout


def _token(base: str, client: str, secret: str) -> str:
    r = httpx.post(f"{base}/auth/token", headers={"client_id": client, "client_secret": secret})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def host(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, azurite: str) -> Iterator[Host]:
    tmp = tmp_path_factory.mktemp(f"collections-{request.param}")
    if request.param == "sqlite":
        yield from _host(tmp, f"sqlite:///{tmp / 'db.sqlite'}", azurite)
        return
    with temporary_database(request.getfixturevalue("pg_url")) as url:
        yield from _host(tmp, url, azurite)


def _host(tmp: Path, url: str, azurite: str) -> Iterator[Host]:
    env = {**os.environ, "SQL_URL": url, "SFTP_URL": f"file://{tmp / 'x'}", "LOG_STORAGE_CONNECTION": azurite,
           "AzureWebJobsStorage": azurite, "JWT_SIGNING_KEY": SIGNING_KEY}  # fmt: skip
    host = Host("", "", url, env)
    host.manage("migrate")
    host.manage("import-collections", str(ROOT / "data" / "collections-demo.json"))
    host.manage("create-client", "--id", "collector", "--secret", SECRET, "--scopes", "collections")
    host.manage("create-client", "--id", "bank-only", "--secret", SECRET, "--scopes", "yapago")
    proc, port, _ = start_host(tmp, env, "--workers", "2", "--no-timers")
    host.base = f"http://127.0.0.1:{port}/api"
    host.token = _token(host.base, "collector", SECRET)
    yield host
    stop(proc)


def golden(name: str, body: dict[str, Any]) -> None:
    path = DATA / "expected" / f"{name}.json"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(body, ensure_ascii=False, indent=2) + "\n")
    assert body == json.loads(path.read_text()), name


def today() -> str:
    return datetime.now(UTC).astimezone(BOGOTA).date().isoformat()


@pytest.mark.parametrize("name", ["bm-pppl", "bm-pdda", "bm-ppps", "bm-ppps-table", "otc-cntl", "ocr-pppl", "ocr-prerm", "otc-prerm",
                                  "default"])  # fmt: skip
def test_spec_examples_verbatim(host: Host, name: str) -> None:
    r = host.call("POST", "negotiations", (DATA / "negotiations" / f"{name}.json").read_bytes())
    body = r.json()
    if "collection" in body:
        assert r.status_code == 200 and body["collection"].pop("createdDt") == today()
    golden(f"negotiation-{name}", {"status": r.status_code, "body": body})


def test_agreement_matches_the_spec_example(host: Host) -> None:
    r = host.call("GET", "agreement/ics", params={"acctId": "5895180000053129617"})
    assert r.status_code == 200
    assert r.json() == json.loads((DATA / "agreement-ics.json").read_text())
    by_holder = host.call("GET", "agreement/ics", params={"govIssueIdentType": "CC", "identSerialNum": "79641257"})
    assert by_holder.json()["loanInfoCommon"]["acctId"] == "4570215061040388"


def test_unknown_account_is_00502(host: Host) -> None:
    r = host.call("GET", "agreement/ics", params={"acctId": "999999"})
    assert r.status_code == 404
    assert r.json() == {"responseType": {"value": "ER"}, "responseDetail": {
        "errorCode": "00502", "errorDesc": "CUENTA NO EXISTE.", "errorType": "DBA"}}  # fmt: skip
    missing = host.call("GET", "agreement/ics")
    assert missing.status_code == 400 and missing.json()["responseDetail"]["errorCode"] == "10002"
    engine = sa.create_engine(host.url)
    with engine.connect() as conn:
        last = conn.execute(sa.text("SELECT client_id, acct_id, found FROM collection_agreement_lookups"
                                    " WHERE acct_id = '999999' ORDER BY id DESC")).first()  # fmt: skip
    engine.dispose()
    assert last is not None and (last[0], bool(last[2])) == ("collector", False), "the lookup is audited"


def test_auth_and_headers(host: Host) -> None:
    body = json.loads((DATA / "negotiations" / "otc-cntl.json").read_text())
    cases = {
        "no token": host.call("POST", "negotiations", body, headers={"Authorization": None}),
        "wrong scope": host.call("POST", "negotiations", body, token=_token(host.base, "bank-only", SECRET),
                                 headers={"client_id": "bank-only"}),
        "other client_id": host.call("POST", "negotiations", body, headers={"client_id": "bank-only"}),
        "wrong secret": host.call("POST", "negotiations", body, headers={"client_secret": "not-the-secret"}),
        "no secret": host.call("POST", "negotiations", body, headers={"client_secret": None}),
        "no channel": host.call("POST", "negotiations", body, headers={"X-Invoker-Channel": None}),
        "bad mac": host.call("POST", "negotiations", body, headers={"X-Invoker-UserMACAddress": "zz"}),
        "not json": host.call("POST", "negotiations", b"{nope"),
    }  # fmt: skip
    got = {name: (r.status_code, r.json()["responseType"]["value"], r.json()["responseDetail"]["errorCode"])
           for name, r in cases.items()}  # fmt: skip
    assert got == {
        "no token": (401, "ER", "401"), "wrong scope": (403, "ER", "403"), "other client_id": (401, "ER", "401"),
        "wrong secret": (401, "ER", "401"), "no secret": (401, "ER", "401"), "no channel": (400, "ER", "10002"),
        "bad mac": (400, "ER", "10007"), "not json": (400, "ER", "10007"),
    }  # fmt: skip
    assert "X-Invoker-Channel" in cases["no channel"].json()["responseDetail"]["errorDesc"]
    assert SECRET not in cases["wrong secret"].text


def _marks(host: Host, account: str) -> list[tuple]:
    engine = sa.create_engine(host.url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT partial_pmt, state, reason, client_id FROM negotiation_marks WHERE acct_id = :a ORDER BY id"),
            {"a": account.ljust(20)}).all()  # fmt: skip
    engine.dispose()
    return [tuple(r) for r in rows]


def test_commitments_partial_then_one_total(host: Host) -> None:
    body = json.loads((DATA / "negotiations" / "bm-pdda.json").read_text())
    body["collection"]["startDt"] = body["collection"]["endDt"] = "2026-11-02"
    states = []
    for partial, amount in (("P", 100), ("P", 200), ("T", 300), ("P", 400), ("T", 500)):
        body["collection"]["partialPmt"] = partial
        body["collection"]["partyAcctRelRec"]["amt"] = amount
        states.append(host.call("POST", "negotiations", body).json()["collection"]["state"])
    assert states == ["Received", "Received", "Received", "Rejected", "Rejected"]
    body["collection"]["partialPmt"], body["collection"]["partyAcctRelRec"]["amt"] = "T", 300
    retry = host.call("POST", "negotiations", body).json()["collection"]
    assert (retry["state"], retry["desc"]) == ("Received", "successful transaction"), "a retry gets the first answer"
    marks = [m for m in _marks(host, "123456789") if m[0] is not None][-5:]
    assert [(m[0], m[1]) for m in marks] == [("P", "Received"), ("P", "Received"), ("T", "Received"),
                                             ("P", "Rejected"), ("T", "Rejected")]  # fmt: skip
    assert marks[-1][2].startswith("La negociacion ya tiene su compromiso total") and marks[0][3] == "collector"
    body["collection"]["startDt"] = body["collection"]["endDt"] = "2026-11-03"  # a new negotiation
    assert host.call("POST", "negotiations", body).json()["collection"]["state"] == "Received"


def test_unknown_account_mark_is_rejected_and_stored(host: Host) -> None:
    body = json.loads((DATA / "negotiations" / "otc-cntl.json").read_text())
    body["collection"]["partyAcctRelRec"]["acctId"] = "000111222"
    r = host.call("POST", "negotiations", body)
    assert r.status_code == 200 and r.json()["collection"]["state"] == "Rejected"
    assert r.json()["collection"]["desc"] == "CUENTA NO EXISTE."
    assert _marks(host, "000111222")[-1][1:3] == ("Rejected", "CUENTA NO EXISTE.")


def test_calls_are_logged_with_identities_masked(host: Host, azurite: str) -> None:
    body = json.loads((DATA / "negotiations" / "ocr-pppl.json").read_text())
    correlation = f"coll-log-{uuid.uuid4().hex[:12]}"
    host.call("POST", "negotiations", body, headers={"X-Correlation-Id": correlation})
    for _ in range(50):
        rows = read_partition(azurite, API_LOGS, partition_key("collections_negotiations", datetime.now(UTC)))
        mine = [r for r in rows if r.get("CallerCorrelationId") == correlation]
        if mine:
            break
        time.sleep(0.1)
    (row,) = mine
    assert row["Status"] == 200 and row["ClientId"] == "collector"
    assert "1234567890" not in row["Request"] and "identSerialNum" in row["Request"]


def test_openapi_is_served_and_checked_in(host: Host) -> None:
    served = httpx.get(f"{host.base}/collections-management/v1/openapi.json").json()
    assert served == json.loads((ROOT / "docs" / "collections-openapi.json").read_text())


def _keys(node: Any, prefix: str = "") -> set[str]:
    if isinstance(node, dict):
        return {f"{prefix}{k}" for k in node} | {p for k, v in node.items() for p in _keys(v, f"{prefix}{k}.")}
    if isinstance(node, list):
        return {p for v in node for p in _keys(v, f"{prefix}[].")}
    return set()


def test_profile_example_verbatim(host: Host) -> None:
    r = host.call("POST", "negotiations/profile", (DATA / "profile" / "request.json").read_bytes())
    assert r.status_code == 200
    golden("profile", r.json())
    spec = json.loads((DATA / "profile" / "spec-response.json").read_text())
    assert _keys(spec) <= _keys(r.json()), "every field of the spec's answer is there"
    assert r.json()["listValidation"][0]["collection"]["pmtCapacity"]["amt"] == 7500000
    engine = sa.create_engine(host.url)
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT action, disposable, capacity, client_id FROM collection_profiles WHERE trn_rq_uid = '28498521'"
            " ORDER BY id DESC")).first()  # fmt: skip
    engine.dispose()
    assert row is not None and row[0] == "Calculo PERFILAMIENTO" and row[2] == 7500000 and row[3] == "collector"


def test_profile_refusals(host: Host) -> None:
    body = json.loads((DATA / "profile" / "request.json").read_text())
    body["listValidation"][0]["offer"]["executionLine"] = None
    r = host.call("POST", "negotiations/profile", body)
    assert r.status_code == 400 and r.json()["responseDetail"] == {
        "errorCode": "10002", "errorType": "OTR",
        "errorDesc": "El objeto de Entrada es nulo: listValidation[0].offer.executionLine es obligatorio"}  # fmt: skip
    body["listValidation"][0]["offer"]["executionLine"] = "V"
    body["listValidation"][0]["unexpected"] = 1
    r = host.call("POST", "negotiations/profile", body)
    assert r.status_code == 400 and "listValidation[0].unexpected" in r.json()["responseDetail"]["errorDesc"]


@pytest.mark.parametrize("name", ["primer-momento", "recalculo-1-offer", "recalculo-more-offers"])
def test_policies_examples_verbatim(host: Host, name: str) -> None:
    r = host.call("POST", "negotiations/policies", (DATA / "policies" / f"{name}.json").read_bytes())
    assert r.status_code == 200, r.text
    golden(f"policies-{name}", r.json())
    spec = json.loads((DATA / "policies" / "spec-response.json").read_text())
    ours = r.json()["creditAnalysis"][0]["collection"]
    theirs = spec["creditAnalysis"][0]["collection"]
    assert set(theirs) <= set(ours), "every field of the spec's answer"
    if name.startswith("recalculo"):
        assert _keys(theirs) <= _keys(ours)
    sent = json.loads((DATA / "policies" / f"{name}.json").read_text())
    engine = sa.create_engine(host.url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT strategy_type, recalculated, viable, installment FROM collection_policy_decisions"
            " WHERE client_id = 'collector' ORDER BY id DESC")).all()[: len(sent["creditAnalysis"])]  # fmt: skip
    engine.dispose()
    assert sorted(r[0] for r in rows) == sorted(i["collection"]["strategyType"] for i in sent["creditAnalysis"])


def test_policies_recalculated_installment_over_http(host: Host) -> None:
    body = json.loads((DATA / "policies" / "recalculo-more-offers.json").read_text())
    first = body["creditAnalysis"][0]["collection"]
    r = host.call("POST", "negotiations/policies", body)
    assert r.json()["creditAnalysis"][0]["collection"]["curAmt"] == {"amt": 512107.00}
    assert r.text.count("512107.00") == 1, "an exact number, not a float or a string"
    assert first["curAmt"] == {"amt": 534329.0}, "what was sent"


def agent_headers(host: Host, number: int, **changes: str | None) -> dict[str, str | None]:
    """The collection check's headers for authorization number `number`, today in Bogota."""
    tx_id = f"APIF{julian(datetime.now(UTC).astimezone(BOGOTA).date())}32{number:010d}"
    headers: dict[str, str | None] = {
        "X-Invoker-Channel": "13", "X-Invoker-BranchId": "1108", "X-Invoker-TerminalId": "PDS-0001",
        "X-Invoker-UserIPAddress": "10.1.2.3", "X-Invoker-ServerIPAddress": "10.1.2.4",
        "X-Invoker-UserMACAddress": "00-00-00-00-00-00", "X-Invoker-ProcessDate": today(), "X-Invoker-TxId": tx_id,
        "X-Invoker-SessionKey": host.token[:30], "X-Invoker-Source": "18", "X-Invoker-Country": "CO",
        "X-Invoker-ProcessId": tx_id[-11:].rjust(12, "0"), "X-Invoker-subChannel": "07", "X-Invoker-User": "NEWCBSER",
        "X-Invoker-Action": "R", "X-Invoker-ModifierUser": "",  # "enviar espacios": HTTP trims them
    }  # fmt: skip
    headers.update(changes)
    return headers


def test_collection_example_verbatim(host: Host) -> None:
    number = int(uuid.uuid4().int % 10**10)
    r = host.call("POST", "collection", (DATA / "collection" / "request.json").read_bytes(),
                  headers=agent_headers(host, number))  # fmt: skip
    assert r.status_code == 200, r.text
    body = r.json()
    approval = body["trn"].pop("approvalId")
    assert len(approval) == 20 and approval.startswith("Z") and approval.isalnum()
    spec = json.loads((DATA / "collection" / "spec-response.json").read_text())
    spec["trn"].pop("approvalId")
    assert body == spec, "the spec's success example, field for field"
    again = host.call("POST", "collection", (DATA / "collection" / "request.json").read_bytes(),
                      headers=agent_headers(host, number))  # fmt: skip
    assert again.json()["trn"]["approvalId"] == approval, "a repeated TxId is a retry: the first answer"
    other = host.call("POST", "collection", (DATA / "collection" / "request.json").read_bytes(),
                      headers=agent_headers(host, number + 1))  # fmt: skip
    assert other.json()["trn"]["approvalId"] != approval, "a new call, a new approval id"


def test_collection_fixed_amount_convenio(host: Host) -> None:
    body = json.loads((DATA / "collection" / "request.json").read_text())
    body["trn"].update({"refId": "15907356", "curAmt": {"amt": "0399200339917"}, "totalCurAmt": {"amt": 128350.5}})
    r = host.call("POST", "collection", body, headers=agent_headers(host, 7000000001))
    assert r.status_code == 200, r.text
    trn = r.json()["trn"]
    assert (trn["personName"]["fullName"], trn["flagUpdate"], trn["dueDt"], trn["acctId"]) == (
        "MARIA FERNANDA GOMEZ", "0", "2026-12-15", "83000109863")  # fmt: skip
    assert '"value": 128350.5' in r.text
    body["trn"]["totalCurAmt"] = {"amt": 1000}
    wrong = host.call("POST", "collection", body, headers=agent_headers(host, 7000000002))
    assert wrong.status_code == 400 and "trn.totalCurAmt.amt" in wrong.json()["responseDetail"]["errorDesc"]
    body["trn"].update({"totalCurAmt": {"amt": 0}, "flagAnotherAmt": "1"})
    other = host.call("POST", "collection", body, headers=agent_headers(host, 7000000003))
    assert other.status_code == 400 and "trn.flagAnotherAmt" in other.json()["responseDetail"]["errorDesc"]


def test_collection_refusals(host: Host) -> None:
    body = json.loads((DATA / "collection" / "request.json").read_text())
    cases = {
        "unknown convenio": (dict(body, trn={**body["trn"], "refId": "999"}), {}),
        "unknown reference": (dict(body, trn={**body["trn"], "curAmt": {"amt": "100"}}), {}),
        "channel": (body, {"X-Invoker-Channel": "12"}),
        "yesterday": (body, {"X-Invoker-TxId": "APIF0001320000000001", "X-Invoker-ProcessId": "020000000001"}),
        "process id": (body, {"X-Invoker-ProcessId": "000000000001"}),
        "session key": (body, {"X-Invoker-SessionKey": "x" * 30}),
        "no terminal": (body, {"X-Invoker-TerminalId": None}),
        "no trnRqUID": (dict(body, trn={**body["trn"], "trnRqUID": ""}), {}),
        "bad hour": (dict(body, trn={**body["trn"], "transactionHour": "25:00:00"}), {}),
    }  # fmt: skip
    got = {}
    for n, (name, (payload, changes)) in enumerate(cases.items()):
        r = host.call("POST", "collection", payload, headers=agent_headers(host, 8000000000 + n, **changes))
        got[name] = (r.status_code, r.json()["responseDetail"]["errorCode"])
    assert got == {
        "unknown convenio": (404, "00502"), "unknown reference": (404, "00502"), "channel": (400, "10007"),
        "yesterday": (400, "10007"), "process id": (400, "10007"), "session key": (400, "10007"),
        "no terminal": (400, "10002"), "no trnRqUID": (400, "10002"), "bad hour": (400, "10007"),
    }  # fmt: skip


def test_collection_checks_are_stored(host: Host) -> None:
    number = 9000000000 + int(uuid.uuid4().int % 10**8)
    r = host.call("POST", "collection", (DATA / "collection" / "request.json").read_bytes(),
                  headers=agent_headers(host, number, **{"X-Invoker-Action": "C"}))  # fmt: skip
    engine = sa.create_engine(host.url)
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT tx_id, action, ref_id, reference, client_id FROM collection_checks"
                                   " WHERE approval_id = :a"), {"a": r.json()["trn"]["approvalId"]}).one()  # fmt: skip
    engine.dispose()
    assert row[0].endswith(f"32{number:010d}") and tuple(row[1:]) == ("C", "123456", "99", "collector")


def test_unknown_paths_and_methods_over_http(host: Host) -> None:
    """Through the local host's router, as the Functions host routes: the literal routes win,
    anything else under the API is its 404/405 in the spec's shape (the hosts' own are empty)."""
    for method, route, status in (("DELETE", "negotiations", 405), ("GET", "collection", 405),
                                  ("GET", "negotiations/nothing", 404), ("POST", "NEGOTIATIONS/x", 404)):  # fmt: skip
        r = host.call(method, route)
        assert r.status_code == status, (method, route, r.text)
        detail = r.json()["responseDetail"]
        assert detail["errorCode"] == str(status) and r.json()["responseType"] == {"value": "ER"}
        if status == 405:
            assert r.headers["allow"] in ("POST", "GET")
    assert host.call("POST", "negotiations", {}).status_code == 400  # the real route still answers
