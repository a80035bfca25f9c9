"""The payment file's DD record of a payment (estado P) or of its reversal (estado A).

Rendered once, when the payment or the reversal is booked, and kept in SQL: a file is then
its records joined in booking order, and a lost file comes back byte for byte even if this
code changes later (the record is the fact that was booked, not a view of it).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from domain.layouts.payments import PAYMENT
from domain.yapago import LIMA

PAID, REVERSED = "P", "A"
LINE_END = "\r\n"

_WRITE = PAYMENT.tuple_writer(
    ("codigo_cliente", "nombre_cliente", "codigo_producto", "numero_documento", "fecha_vencimiento", "fecha_pago",
     "hora_pago", "importe_pagado", "agencia", "numero_operacion", "canal_pago", "forma_pago", "fecha_contable",
     "estado"),
)  # fmt: skip


def lima_wall(moment: datetime) -> datetime:
    """Naive America/Lima wall time of a moment (a naive value is UTC, as SQLite returns it)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(LIMA).replace(tzinfo=None)


def payment_record(
    kind: str,
    *,
    client: str,
    name: str,
    service: str,
    document: str,
    due: date,
    at: datetime,
    cents: int,
    operation: str,
    channel: str,
    method: str,
    booked: date,
) -> str:
    """One 236-character record; `at` is the bank's transaction time (of the payment, or of the
    reversal for kind A), printed as America/Lima date and time; agencia is not in the API: zeros."""
    wall = lima_wall(at)
    clock = time(wall.hour, wall.minute, wall.second)
    return _WRITE(client, name, service, document, due, wall.date(), clock, cents, 0, operation, channel, method,
                  booked, kind)  # fmt: skip


def booked_day(value: date | None, booked_at: datetime) -> date:
    """The accounting date stored with the payment, or (rows from before it was stored) the Lima day it was booked."""
    return value if value is not None else lima_wall(booked_at).date()
