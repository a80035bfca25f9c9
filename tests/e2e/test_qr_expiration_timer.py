"""The registered qr_expiration timer expires a pending QR past its validity, and (issue 29) a
purchase abandoned at OTP #1 past its deadline, never an approved one, and logs its run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from azure.functions.timer import TimerRequest

import bootstrap
from adapters.table_log import PROCESS_LOGS, partition_key, read_partition
from sql.tables import lending_purchases
from tests.e2e.calls import function
from usecases.lending import register_order, save_customer, seed_lending_demo


def test_timer_expires_and_logs(app_env: Path, azurite: str) -> None:
    now = bootstrap.utc_now()
    seed_lending_demo(bootstrap.engine(), now)
    save_customer(bootstrap.engine(), "CUST-T", "+525500000099", now)
    register_order(bootstrap.engine(), "KOF", "T-1", "CUST-T", Decimal("10.00"), "Pedido", "kof", now)
    with bootstrap.engine().begin() as conn:
        order_ref = conn.execute(sa.text("SELECT id FROM lending_orders WHERE order_id = 'T-1'")).scalar()
        conn.execute(sa.insert(lending_purchases).values(
            id="p-timer-1", order_ref=order_ref, channel="KOF", customer_id="CUST-T", amount=Decimal("10.00"),
            amount_cents=1000, concept="Pedido", operation="COMPRA_LINEA_CREDITO", clabe="012180010000000015",
            state="QR_PENDING", valid_until=now - timedelta(seconds=1), payload="x", reason="QR issued",
            created_at=now, updated_at=now))  # fmt: skip
    abandoned = (("p-timer-otp1", "PENDING_OTP1"), ("p-timer-approved", "APPROVED"))
    for purchase, _ in abandoned:
        register_order(bootstrap.engine(), "KOF", purchase, "CUST-T", Decimal("10.00"), "Pedido", "kof", now)
    with bootstrap.engine().begin() as conn:
        for purchase, state in abandoned:
            ref = conn.execute(sa.text("SELECT id FROM lending_orders WHERE order_id = :o"), {"o": purchase}).scalar()
            conn.execute(sa.insert(lending_purchases).values(
                id=purchase, order_ref=ref, channel="KOF", customer_id="CUST-T", amount=Decimal("10.00"),
                amount_cents=1000, concept="Pedido", operation="COMPRA_LINEA_CREDITO", clabe="012180010000000015",
                state=state, expires_at=now - timedelta(seconds=1), reason="abandoned",
                created_at=now - timedelta(days=2), updated_at=now - timedelta(days=2)))  # fmt: skip
    function("qr_expiration").get_user_function()(TimerRequest())
    with bootstrap.engine().connect() as conn:
        states = dict(conn.execute(sa.text("SELECT id, state FROM lending_purchases")).all())
    assert states == {"p-timer-1": "EXPIRED", "p-timer-otp1": "EXPIRED", "p-timer-approved": "APPROVED"}
    bootstrap.log_sink().flush()
    runs = read_partition(azurite, PROCESS_LOGS, partition_key("qr_expiration", datetime.now(UTC)))
    assert runs and runs[0]["Expired"] == 2 and runs[0]["Outcome"] == "succeeded"
