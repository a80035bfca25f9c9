"""YAPAGO against what a bank's integrator, a retrying switch and an attacker send (issue 13).

Over real HTTP on the local host, on SQLite and PostgreSQL: every caller mistake is a 4xx
with the field named, never a 5xx (which tells a bank to retry for ever); amounts follow one
strict grammar; the mapping tables' forms (zero-padded codes sent as numbers) are accepted.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.e2e.test_yapago_api import balances, host, pago, reversa  # noqa: F401 - the fixture
from tests.e2e.test_yapago_fuzz import token  # noqa: F401 - the in-process fixture
from tests.e2e.yapago_host import SHARED, YapagoHost, add_shared_id_company


def op() -> str:
    return f"H{uuid.uuid4().hex[:11]}"


def raw(host: YapagoHost, route: str, text: str) -> Any:  # noqa: F811
    return host.post(route, text.encode("utf-8"), **{"Content-Type": "application/json"})


class Raw(str):
    """A value written into the body as this JSON text (numbers json.dumps cannot write)."""


def send(host: YapagoHost, route: str, body: dict[str, Any]) -> Any:  # noqa: F811
    marks = {f"@RAW{i}@": value for i, value in enumerate(v for v in body.values() if isinstance(v, Raw))}
    plain = {k: (next(m for m, r in marks.items() if r is v) if isinstance(v, Raw) else v) for k, v in body.items()}
    text = json.dumps(plain)
    for mark, value in marks.items():
        text = text.replace(f'"{mark}"', value)
    return raw(host, route, text)


def partial(operation: str, amount: Any) -> dict[str, Any]:
    """A pago on the parcial service (any positive amount is taken): only the grammar decides."""
    return pago(operation, amount, idConsulta="A1B2C3", servicio="003", numeroDocumento="P-77")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"idCanal": "11"}, "idCanal"),
        ({"idCanal": 15}, "idCanal"),
        ({"idForma": "05"}, "idForma"),
        ({"servicio": "005"}, "servicio"),
        ({"moneda": 3}, "moneda"),
        ({"voucher": "ok\x00"}, "voucher"),
        ({"voucher": "line\nbreak"}, "voucher"),
        ({"referenciaDeuda": "\x1b[31m"}, "referenciaDeuda"),
        ({"numeroDocumento": "F001\x00"}, "numeroDocumento"),
        ({"idConsulta": "4785124\x7f"}, "idConsulta"),
        ({"extraField": "\x00"}, "extraField"),
        ({"idEmpresa": Raw("7" * 5001)}, "idEmpresa"),
        ({"extraField": Raw("9" * 5001)}, "extraField"),
        ({"idBanco": Raw("1" + "0" * 100 + ".5")}, "idBanco"),
        ({"fechaTxn": "29022027"}, "fechaTxn"),
    ],
)
def test_a_bad_value_is_400_naming_the_field(host: YapagoHost, changes: dict, field: str) -> None:  # noqa: F811
    for route, body in (("pago", pago(op(), **changes)), ("reversa", reversa(op(), **changes))):
        if route == "reversa" and set(changes) & {"idForma", "moneda", "voucher", "referenciaDeuda", "idConsulta"}:
            continue
        r = send(host, route, body)
        assert (r.status_code, r.json()["codResp"]) == (400, "11"), r.text
        assert field in r.json()["desResp"], r.text


def test_nul_and_lone_surrogates_never_reach_the_database(host: YapagoHost) -> None:  # noqa: F811
    """JSON escapes: \\u0000 (PostgreSQL refuses it in text) and \\ud800 (no UTF-8 for it)."""
    for escaped in ("\\u0000", "\\ud800", "\\udfff"):
        body = json.dumps(pago(op(), voucher="X")).replace('"voucher": "X"', f'"voucher": "a{escaped}"')
        r = raw(host, "pago", body)
        assert (r.status_code, r.json()["codResp"]) == (400, "11") and "voucher" in r.json()["desResp"], r.text
        consulta = json.dumps({"idConsulta": "4785124", "tipoConsulta": 0, "idEmpresa": "730", "idBanco": "1020",
                               "idCanal": "10", "note": "x"}).replace('"x"', f'"{escaped}"')  # fmt: skip
        r = raw(host, "consulta", consulta)
        assert (r.status_code, r.json()["codResp"]) == (400, "11") and "note" in r.json()["desResp"], r.text


@pytest.mark.parametrize(
    "text",
    [
        "[" * 1000 + "]" * 1000,
        '{"a":' * 1000 + "1" + "}" * 1000,
        json.dumps(pago("DEEP1"))[:-1] + ', "ignored": ' + "[" * 5000 + "]" * 5000 + "}",
        '{"importePagado": NaN}',
        '{"importePagado": Infinity}',
        '{"idEmpresa": "730", "idEmpresa": "731"}',
        '{"a": 1,}',
        "\ufeff{}",
        '"just a string"',
    ],
    ids=["deep-array", "deep-object", "deep-ignored-field", "nan", "infinity", "duplicate-key", "trailing-comma",
         "bom", "not-an-object"],
)
def test_a_bad_body_is_400_code_10(host: YapagoHost, text: str) -> None:  # noqa: F811
    for route in ("consulta", "pago", "reversa"):
        r = raw(host, route, text)
        assert (r.status_code, r.json()["codResp"]) == (400, "10"), r.text


def test_a_huge_body_is_refused_without_a_5xx(host: YapagoHost) -> None:  # noqa: F811
    body = json.dumps({**pago(op()), "padding": "x" * 200_000})
    r = raw(host, "pago", body)
    assert (r.status_code, r.json()["codResp"]) == (413, "13") and "bytes" in r.json()["desResp"]


@pytest.mark.parametrize(
    "amount",
    ["1_000", "١٠٠", "１００", "1e2", "1E2", "+5", " 5", "5.", ".5", "1.500", "0x10", "NaN", "Infinity", "-0.01", "0",
     "0.00", "1,000.00", "99999999999.00", "1" * 19, True, [], {}, Raw("1" * 5001), Raw("1" * 30 + ".5")],
)
def test_amount_grammar_refusals(host: YapagoHost, amount: Any) -> None:  # noqa: F811
    r = send(host, "pago", partial(op(), amount))
    assert (r.status_code, r.json()["codResp"]) == (400, "12"), (amount, r.text)


@pytest.mark.parametrize("text", ["1e2", "1E+2", "1.500", "10.001", "0.5e1", "-1", "-0.0"])
def test_amount_grammar_on_json_numbers(host: YapagoHost, text: str) -> None:  # noqa: F811
    body = json.dumps(partial(op(), "AMOUNT")).replace('"AMOUNT"', text)
    r = raw(host, "pago", body)
    assert (r.status_code, r.json()["codResp"]) == (400, "12"), (text, r.text)


@pytest.mark.parametrize(("text", "cents"), [("7", 700), ("7.5", 750), ("7.05", 705), ('"7.05"', 705),
                                             ('"0007.05"', 705), ('"7"', 700), ("0.01", 1)])  # fmt: skip
def test_amounts_accepted_exactly(host: YapagoHost, text: str, cents: int) -> None:  # noqa: F811
    operation = op()
    body = json.dumps(partial(operation, "AMOUNT")).replace('"AMOUNT"', text)
    r = raw(host, "pago", body)
    assert (r.status_code, r.json()["codResp"]) == (200, "00"), (text, r.text)
    import sqlalchemy as sa

    engine = sa.create_engine(host.env["SQL_URL"])
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT amount_cents FROM payments WHERE operation_number = :o"),
                              {"o": operation}).scalar_one()  # fmt: skip
    engine.dispose()
    assert stored == cents


def test_codes_sent_as_numbers_the_way_the_mapping_tables_write_them(host: YapagoHost) -> None:  # noqa: F811
    """servicio 1 is "001", idForma 1 is "01", idBanco 1020, idCanal 10, moneda 1, tipoConsulta 0."""
    found = host.post("consulta", {"idConsulta": 4785124, "tipoConsulta": 0, "idEmpresa": 730, "idBanco": 1020,
                                   "idCanal": 10, "servicio": 1})  # fmt: skip
    assert found.json()["codResp"] == "00" and {d["servicio"] for d in found.json()["deudas"]} == {"001"}
    body = partial(op(), 1.25)
    body.update(servicio=3, idForma=1, idBanco=1020, idCanal=80, moneda=1, idEmpresa=730, referenciaDeuda=12)
    r = host.post("pago", body)
    assert (r.status_code, r.json()["codResp"]) == (200, "00"), r.text


def test_a_pago_retried_with_new_transport_fields_is_the_same_payment(host: YapagoHost) -> None:  # noqa: F811
    operation = op()
    before = balances(host)["F001-00000002"]
    first = host.post("pago", pago(operation, "10.00"))
    assert first.json()["codResp"] == "00"
    for changes in ({"horaTxn": "180521"}, {"idCanal": "60"}):
        again = host.post("pago", pago(operation, "10.00", **changes))
        assert again.json() == first.json() and again.status_code == 200
    # a new fechaTxn is another operation (issue 29): the day after, with the same data and moments
    # later, it cannot be told from this one's retry: refused, never a 00 without its payment
    next_day = host.post("pago", pago(operation, "10.00", fechaTxn="23112026", horaTxn="000001"))
    assert (next_day.status_code, next_day.json()["codResp"]) == (409, "43")
    assert "22112026" in next_day.json()["desResp"] and "fechaTxn" in next_day.json()["desResp"]
    assert host.post("pago", pago(operation, "10.01")).json()["codResp"] == "40"
    assert host.post("pago", pago(operation, "10.00", idConsulta="14785124")).json()["codResp"] == "40"
    pending = balances(host)["F001-00000002"][0]
    assert int(before[0].replace(".", "")) - int(pending.replace(".", "")) == 1000, "taken once"
    undo = host.post("reversa", reversa(operation))
    assert undo.json()["codResp"] == "00"
    for changes in ({}, {"horaTxn": "190000"}, {"fechaTxn": "24112026", "idCanal": "99"}):
        assert host.post("reversa", reversa(operation, **changes)).json() == undo.json()
    assert balances(host)["F001-00000002"] == before
    for changes in ({}, {"horaTxn": "200000"}):
        late = host.post("pago", pago(operation, "10.00", **changes))
        assert (late.status_code, late.json()["codResp"]) == (409, "42")
    assert balances(host)["F001-00000002"] == before, "a late retry after the reversal takes nothing"


def test_every_code_of_the_catalogue_is_reachable(host: YapagoHost) -> None:  # noqa: F811
    """Each codResp but 99 (below) from a real request, with the HTTP status the catalogue gives it."""
    import httpx

    from domain.yapago import CODES

    consulta = {"idConsulta": "4785124", "tipoConsulta": 0, "idEmpresa": "730", "idBanco": "1020", "idCanal": "10"}
    paid = op()
    assert host.post("pago", pago(paid, "10.00")).json()["codResp"] == "00"
    reversed_op = op()
    assert host.post("pago", pago(reversed_op, "10.00")).json()["codResp"] == "00"
    assert host.post("reversa", reversa(reversed_op)).json()["codResp"] == "00"
    assert host.post("pago", pago(op(), 102.49, numeroDocumento="F001-00000001")).json()["codResp"] == "00"
    add_shared_id_company(host)  # two clients behind one DNI
    host.manage("create-client", "--id", "collections-only", "--secret", "collections-only-secret",
                "--scopes", "collections")  # fmt: skip
    other = httpx.post(f"{host.base}/auth/token", json={"client_id": "collections-only",
                                                        "client_secret": "collections-only-secret"})  # fmt: skip
    bound = httpx.post(f"{host.base}/yapago/autenticar", json={"client_id": "bank-1030",
                                                               "client_secret": "bank-1020-secret-value"})  # fmt: skip
    tries: dict[str, Any] = {
        "00": host.post("consulta", consulta),
        "10": raw(host, "consulta", "{"),
        "11": host.post("consulta", {**consulta, "idCanal": "11"}),
        "12": host.post("pago", pago(op(), "1.001")),
        "13": host.post("pago", {**pago(op()), "padding": "x" * 20_000}),
        "20": host.post("consulta", {**consulta, "idEmpresa": "732"}),
        "21": host.post("consulta", {**consulta, "idEmpresa": "731", "servicio": "002"}),
        "22": host.post("consulta", {**consulta, "idBanco": "9999"}),
        "23": httpx.post(f"{host.base}/yapago/consulta", json=consulta,
                         headers={"Authorization": f"Bearer {bound.json()['access_token']}"}),
        "30": host.post("consulta", {**consulta, "idConsulta": "55555555"}),
        "31": host.post("pago", pago(op(), numeroDocumento="NOPE-1")),
        "32": host.post("pago", pago(op(), 102.49, numeroDocumento="F001-00000001")),
        "33": host.post("pago", pago(op(), "9.99")),
        "34": host.post("pago", pago(op(), "9999.00")),
        "35": host.post("pago", pago(op(), moneda="2")),
        "36": host.post("consulta", {**consulta, "idEmpresa": str(SHARED), "idConsulta": "23456789"}),
        "40": host.post("pago", pago(paid, "10.01")),
        "41": host.post("reversa", reversa(op())),
        "42": host.post("pago", pago(reversed_op, "10.00")),
        "43": host.post("pago", pago(paid, "10.00", fechaTxn="23112026")),
        "90": httpx.post(f"{host.base}/yapago/consulta", json=consulta),
        "91": httpx.post(f"{host.base}/yapago/consulta", json=consulta,
                         headers={"Authorization": f"Bearer {other.json()['access_token']}"}),
    }  # fmt: skip
    status = {c.code: c.status for c in CODES}
    for code, answer in tries.items():
        assert (answer.json()["codResp"], answer.status_code) == (code, status[code]), (code, answer.text)
    assert set(tries) | {"99"} == set(status)


def test_99_is_kept_for_the_service_s_own_faults(token: str, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """A database that fails mid-call is the service's fault: 500, code 99, retry with the same number."""
    import sqlalchemy as sa

    from sql.yapago_repository import YapagoRepository
    from tests.e2e.calls import call

    def down(*args: Any, **kwargs: Any) -> None:
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("connection reset"))

    monkeypatch.setattr(YapagoRepository, "client_readings", down)  # a pago's first read of the debts
    answer = call("yapago_pago", "POST", headers={"Authorization": f"Bearer {token}"}, body=pago(op()))
    body = json.loads(answer.get_body())
    assert (answer.status_code, body["codResp"]) == (500, "99") and "numeroOperacion" in body["desResp"]
