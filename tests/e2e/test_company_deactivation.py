"""A deactivated company stops collecting and nothing already taken is lost: banks are told it
does not collect (codResp 20) for consultas and new pagos, a retry of a pago made before still
gets its first answer, its payments can still be reversed and still reach it in a payment file,
and its new debt files stay in Pending/, named as a warning, until it is activated again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import bootstrap
from blueprints.debt_loader import dispatch_and_warn, run_loader
from blueprints.payment_files import run_generator
from domain.layouts.payments import PAYMENT
from fakes.demo_day import debt_file
from tests.e2e.calls import call, json_of
from usecases.companies import DEMO_CLIENT_SECRET, seed_demo, set_company_active
from usecases.console_day import lima_today

CONSULTA = {"idConsulta": "1000", "tipoConsulta": 0, "idEmpresa": "730", "idBanco": "1020", "idCanal": "10"}


def yapago(token: str, operation: str, body: dict[str, Any]) -> dict[str, Any]:
    return json_of(call(f"yapago_{operation}", "POST", headers={"Authorization": f"Bearer {token}"}, body=body))


def pago(op: str, debt: dict[str, Any], day: str) -> dict[str, Any]:
    return {"fechaTxn": day, "horaTxn": "091500", "idCanal": "10", "idForma": "01", "numeroOperacion": op,
            "idConsulta": "1000", "servicio": debt["servicio"], "numeroDocumento": debt["documento"],
            "importePagado": debt["deuda"], "moneda": debt["moneda"], "idEmpresa": "730", "idBanco": "1020"}  # fmt: skip


def deactivate(active: bool) -> None:
    assert set_company_active(bootstrap.unit_of_work, 730, active, bootstrap.utc_now())
    bootstrap.company_setups.cache_clear()  # the API sees it within SetupCache's 30 s; here at once


def test_a_deactivated_company_stops_collecting_and_loses_nothing(app_env: Path) -> None:
    seed_demo(bootstrap.unit_of_work, bootstrap.utc_now())
    day = lima_today(bootstrap.utc_now())
    store = bootstrap.file_store()
    name, data = debt_file(730, day, 3, bad_lines=False)
    store.write_atomic(f"00730/Deudas/Pending/{name}", data)
    assert [r.outcome for r in run_loader()] == ["PROCESADO"]
    token = json_of(call("auth_token", "POST", headers={"client_id": "demo-client",
                                                        "client_secret": DEMO_CLIENT_SECRET}))["access_token"]  # fmt: skip
    first, second = yapago(token, "consulta", CONSULTA)["deudas"][:2]
    fecha = f"{day:%d%m%Y}"
    paid = yapago(token, "pago", pago("D0000001", first, fecha))
    assert paid["codResp"] == "00"

    deactivate(False)
    refused = yapago(token, "consulta", CONSULTA)
    assert (refused["codResp"], refused["desResp"]) == ("20", "Empresa 730 dada de baja: ya no recauda")
    assert yapago(token, "pago", pago("D0000002", second, fecha))["codResp"] == "20"
    assert yapago(token, "pago", {**pago("D0000001", first, fecha), "horaTxn": "093000"}) == paid  # a retry
    reversal = {"idEmpresa": "730", "idBanco": "1020", "numeroOperacion": "D0000001", "fechaTxn": fecha,
                "horaTxn": "100000", "idCanal": "10", "servicio": first["servicio"],
                "numeroDocumento": first["documento"]}  # fmt: skip
    assert yapago(token, "reversa", reversal)["codResp"] == "00"
    files = run_generator(company=730, since=None, dry_run=False)
    assert [(f.payments, f.reversals) for f in files] == [(1, 1)]
    written = store.read_bytes(f"00730/Pagos/{files[0].file_name}")
    assert [PAYMENT.parse(line)[0]["estado"] for line in written.split(b"\r\n") if line] == ["P", "A"]

    later, again = debt_file(730, day, 2, bad_lines=False)
    later = later.replace("001.TXT", "002.TXT")
    store.write_atomic(f"00730/Deudas/Pending/{later}", again.replace(name.encode(), later.encode()))
    assert run_loader() == []
    counts, warnings = dispatch_and_warn()
    assert counts["Companies"] == 0
    assert [str(w) for w in warnings] == [f"00730/Deudas/Pending/{later}: company 730 is deactivated: its files are "
                                          "not loaded (manage.py activate-company)"]  # fmt: skip

    deactivate(True)
    assert [(r.file_name, r.outcome) for r in run_loader()] == [(later, "PROCESADO")]
    assert yapago(token, "consulta", CONSULTA)["codResp"] == "00"
