"""A day of activity for the demo (`manage.py seed-demo-day`, run by `make run`), so the console
has something to show: each actor does what its real counterpart would, through the app's own
code paths.

- The billers: company 730 and a second one, 731, each drop today's R debt file in Pending/
  (731's with two lines the loader rejects), and the loader runs. 731 also leaves a spreadsheet
  in Pending/, and a company 732 that is not registered here drops a file: warnings, not loads;
  730 uploads its file again, changed, under the same name: set aside in Rejected/.
- The bank: YAPAGO calls through the registered functions, as the host would hand them over
  (so ApiLogs has them): consultas, pagos spread over the morning, a reversa, a retry, and the
  refusals a bank meets (unknown company, a debt already paid, a malformed field).
- The payment-file timer writes the files; two more pagos then wait for the next one.
- Lending: approved purchases are dispatched to the bank, the bank answers some of them, and
  the webhook of one cannot be delivered (its receiver is not up yet), so it is FAILED after
  the give-up window and waits for an operator to replay it.

Safe to run again: today's files are loaded once, the pagos replay their first answers, and
the lending part runs only when there is no purchase yet."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import azure.functions as func
import sqlalchemy as sa

import bootstrap
from domain.layouts.debts import DETAIL, HEADER
from domain.yapago import LIMA

NAMES = (
    "ACOSTA RIOS MARIA", "BENITES PAZ JORGE", "CASTRO VEGA ANA", "DELGADO RUIZ LUIS", "ESPINOZA LEON ROSA",
    "FLORES MEZA CARLOS", "GUTIERREZ SOTO ELENA", "HUAMAN QUISPE PEDRO", "IBARRA LUNA SOFIA", "JIMENEZ TORRES RAUL",
)  # fmt: skip
COMPANIES = ((730, "EMPRESA DEMO SAC"), (731, "AGUA DEL VALLE SAC"))


def debt_file(company: int, day: date, clients: int, bad_lines: bool) -> tuple[str, bytes]:
    """Today's R file of a company: 2 documents per client, soles and dollars; with `bad_lines`,
    a client code with a symbol and a DNI that starts with 9 (each line rejected, the rest kept)."""
    name = f"D{company:05d}{day:%d%m%Y}001.TXT"
    lines, pen, usd = [], 0, 0
    for i in range(clients):
        for doc in range(2):
            usd_line = i % 4 == 3
            amount = 4_500 + 1_250 * ((i * 7 + doc) % 23)
            values = dict(tipo_actualizacion="N", codigo_cliente=f"{1000 + i:014d}", nombre_cliente=NAMES[i % 10],
                          codigo_producto="002" if usd_line else "001", num_documento=f"F001-{i * 10 + doc:08d}",
                          desc_documento="Recibo de agua" if company == 731 else "Factura",
                          fecha_vencimiento=day + timedelta(days=20), fecha_emision=day - timedelta(days=10),
                          deuda=amount, mora=0, gastos_adm=0, pago_minimo=amount, periodo=day.month, anio=day.year,
                          cuota=0, moneda_doc="2" if usd_line else "1", dni=f"{10_000_000 + i * 37:08d}")  # fmt: skip
            line = bytearray(DETAIL.format(values))
            if bad_lines and i == 2 and doc == 1:
                line[1:15] = b"0000000001#02 "
            if bad_lines and i == 5 and doc == 0:
                line[157:165] = b"90000005"
            lines.append(bytes(line))
            usd, pen = (usd + amount, pen) if usd_line else (usd, pen + amount)
    header = HEADER.format(dict(nombre_archivo=name, tipo_actualizacion="R", codigo_empresa=company,
                                fecha_transmision=day, hora_transmision=time(6, 30), numero_registros=len(lines),
                                importe_total_soles=pen, importe_total_dolares=usd, mac=0))  # fmt: skip
    return name, b"\r\n".join([header, *lines]) + b"\r\n"


def load_debt_files(day: date) -> list[Any]:
    from blueprints.debt_loader import run_loader
    from usecases.companies import create_company
    from usecases.load_debts import complete_folder, pending_folder, rejected_folder

    store = bootstrap.file_store()
    again = None
    for code, name in COMPANIES:
        if code != 730:
            accounts = [f"001:1020:191-0{code}001-0-01", f"002:1020:191-0{code}002-0-02"]
            create_company(bootstrap.unit_of_work, str(code), name, ["001:completa:PEN", "002:completa:USD"], accounts,
                           bootstrap.utc_now())  # fmt: skip
        for folder in (pending_folder(code), complete_folder(code), rejected_folder(code), f"{code:05d}/Pagos"):
            store.mkdir(folder)
        file_name, data = debt_file(code, day, 12 if code == 730 else 8, bad_lines=code == 731)
        done = {f.name for f in store.list(complete_folder(code))}
        if file_name not in done:
            store.write_atomic(f"{pending_folder(code)}/{file_name}", data)
            again = again or (f"{pending_folder(code)}/{file_name}", data.replace(b"ACOSTA", b"ACOSTO"))
    # what a biller gets wrong: a spreadsheet beside the debt file, a company not registered here
    store.write_atomic(f"{pending_folder(731)}/deudas-diciembre.xlsx", b"PK\x03\x04 not a debt file")
    store.write_atomic(f"{pending_folder(732)}/D00732{day:%d%m%Y}001.TXT", data)
    loaded = run_loader(None, None)
    if again is not None:  # the same name uploaded again, changed: set aside, never applied
        store.write_atomic(*again)
        loaded += run_loader(None, None)
    return loaded


class Bank:
    """Bank 1020 calling YAPAGO through the registered functions, with the demo client's token."""

    def __init__(self, secret: str) -> None:
        import function_app
        from local_host.registry import functions_of

        self.functions = {f.get_function_name(): f for f in functions_of(function_app.app)}
        answer = self.call("auth_token", {}, headers={"client_id": "demo-client", "client_secret": secret})
        self.token = answer["access_token"]

    def call(self, name: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
        target = self.functions[name]
        request = func.HttpRequest(
            method="POST", url=f"http://localhost/api/{target.get_trigger().route}", params={}, route_params={},
            headers=headers or {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            body=json.dumps(body).encode(),
        )  # fmt: skip
        return json.loads(target.get_user_function()(request).get_body())


def bank_day(day: date, secret: str, now: datetime) -> dict[str, int]:
    """Consultas and pagos spread from 08:00 (or midnight, early in the day) to now, Lima's time;
    a reversa, a retry with a new time and the refusals a bank meets."""
    bank = Bank(secret)
    local = now.astimezone(LIMA)
    opened = local.replace(hour=8 if local.hour >= 9 else 0, minute=0, second=0, microsecond=0)
    moments = [opened + (local - opened) * (i + 1) / 18 for i in range(17)]  # the day so far, in order
    counts = {"pagos": 0, "refusals": 0}
    fecha = f"{day:%d%m%Y}"
    for i in range(16):
        company, client = (730, 1000 + i % 12) if i % 3 else (731, 1000 + i % 8)
        found = bank.call("yapago_consulta", {"idConsulta": str(client), "tipoConsulta": 0, "idEmpresa": str(company),
                                              "idBanco": "1020", "idCanal": "10"})  # fmt: skip
        debts = found.get("deudas") or []
        if not debts:
            continue
        debt = debts[0]
        at = moments[i]
        pago = {"fechaTxn": fecha, "horaTxn": f"{at:%H%M%S}", "idCanal": "10", "idForma": "01",
                "numeroOperacion": f"{day:%m%d}{company}{i:04d}", "idConsulta": str(client),
                "servicio": debt["servicio"], "numeroDocumento": debt["documento"], "importePagado": debt["deuda"],
                "moneda": debt["moneda"], "idEmpresa": str(company), "idBanco": "1020",
                "voucher": f"V{i:05d}"}  # fmt: skip
        answer = bank.call("yapago_pago", pago)
        counts["pagos"] += answer.get("codResp") == "00"
        if i == 4:  # the bank retries with a new time: the first answer again
            bank.call("yapago_pago", {**pago, "horaTxn": f"{moments[i + 1]:%H%M%S}"})
            bank.call("yapago_pago", {**pago, "numeroOperacion": f"{day:%m%d}{company}9{i:03d}"})  # paid already: 32
        if i == 7:
            bank.call("yapago_reversa", {"idEmpresa": str(company), "idBanco": "1020", "idCanal": "10",
                                         "numeroOperacion": pago["numeroOperacion"], "fechaTxn": fecha,
                                         "horaTxn": f"{moments[i + 1]:%H%M%S}", "servicio": debt["servicio"],
                                         "numeroDocumento": debt["documento"]})  # fmt: skip
    refusals = [
        {"idConsulta": "1000", "tipoConsulta": 0, "idEmpresa": "999", "idBanco": "1020", "idCanal": "10"},  # 20
        {"idConsulta": "55555", "tipoConsulta": 0, "idEmpresa": "730", "idBanco": "1020", "idCanal": "10"},  # 30
        {"idConsulta": "1000", "tipoConsulta": 7, "idEmpresa": "730", "idBanco": "1020", "idCanal": "10"},  # 11
    ]
    for body in refusals:
        counts["refusals"] += bank.call("yapago_consulta", body).get("codResp") != "00"
    return counts


def payment_files_then_more_pagos(day: date, secret: str, now: datetime) -> int:
    """The payment-file timer's run, then two pagos that wait for its next one."""
    from blueprints.payment_files import run_generator

    run_generator(company=None, since=None, dry_run=False)
    bank = Bank(secret)
    waiting = 0
    for n, client in enumerate((1010, 1011)):
        found = bank.call("yapago_consulta", {"idConsulta": str(client), "tipoConsulta": 0, "idEmpresa": "730",
                                              "idBanco": "1020", "idCanal": "10"})  # fmt: skip
        for debt in (found.get("deudas") or [])[:1]:
            answer = bank.call("yapago_pago", {
                "fechaTxn": f"{day:%d%m%Y}", "horaTxn": f"{now.astimezone(LIMA):%H%M%S}", "idCanal": "10",
                "idForma": "01",
                "numeroOperacion": f"{day:%m%d}730L{n:03d}", "idConsulta": str(client), "servicio": debt["servicio"],
                "numeroDocumento": debt["documento"], "importePagado": debt["deuda"], "moneda": debt["moneda"],
                "idEmpresa": "730", "idBanco": "1020"})  # fmt: skip
            waiting += answer.get("codResp") == "00"
    return waiting


def lending_day(now: datetime) -> dict[str, int] | None:
    """Approved purchases dispatched; the bank answers all but one; the webhooks of the answered
    ones cannot reach their receiver, and are given up (FAILED) a day later by the retry policy."""
    from blueprints.disbursements import run_dispatch, run_responses
    from fakes.bank import respond
    from sql.tables import lending_channels, lending_purchases
    from usecases.lending import register_order
    from usecases.webhooks import deliver_webhooks

    engine = bootstrap.engine()
    with engine.connect() as conn:
        if conn.execute(sa.select(sa.func.count()).select_from(lending_purchases)).scalar():
            return None
    ids = []
    orders = (("KOF", "CUST-001", "1250.00"), ("KOF", "CUST-002", "480.50"), ("PRONTO", "CUST-001", "2300.00"),
              ("KOF", "CUST-001", "99.90"))  # fmt: skip
    for n, (channel, customer, amount) in enumerate(orders):
        order_id, purchase_id = f"DEMO-{now:%Y%m%d}-{n}", str(uuid.uuid4())
        register_order(engine, channel, order_id, customer, Decimal(amount), "Pedido demo", channel.lower(), now)
        with engine.begin() as conn:
            order_ref = conn.execute(sa.text("SELECT id FROM lending_orders WHERE order_id = :o"),
                                     {"o": order_id}).scalar()  # fmt: skip
            clabe = conn.execute(
                sa.select(lending_channels.c.clabe).where(lending_channels.c.channel == channel)
            ).scalar()
            conn.execute(sa.insert(lending_purchases).values(
                id=purchase_id, order_ref=order_ref, channel=channel, customer_id=customer, amount=Decimal(amount),
                amount_cents=int(Decimal(amount) * 100), concept="Pedido demo", operation="COMPRA_LINEA_CREDITO",
                clabe=clabe, state="APPROVED", reason="approved", created_at=now, updated_at=now))  # fmt: skip
        ids.append(purchase_id)
    run_dispatch()
    _, answered = respond(bootstrap.file_store(), now, {ids[1]: "03"}, {}, frozenset({ids[-1]}))
    run_responses()
    cfg = bootstrap.webhook_config()
    from adapters.webhook_http import HttpWebhookPoster

    later = now + cfg.policy.give_up_after + timedelta(minutes=1)
    deliver_webhooks(engine, HttpWebhookPoster(1.0), cfg, lambda: later)
    return {"purchases": len(ids), "answered": answered}


def seed_day(secret: str) -> dict[str, Any]:
    now = bootstrap.utc_now()
    day = now.astimezone(LIMA).date()
    loaded = load_debt_files(day)
    result: dict[str, Any] = {"debt_files": [(r.file_name, r.outcome, r.applied, r.rejected) for r in loaded]}
    result |= bank_day(day, secret, now)
    result["waiting"] = payment_files_then_more_pagos(day, secret, now)
    result["lending"] = lending_day(now)
    bootstrap.flush_logs()
    return result
