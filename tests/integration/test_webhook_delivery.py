"""Webhook outbox delivery against a real local HTTP receiver that checks signatures: signed
once, backed off while the receiver is down, slow or failing, given up and visible, replayed
with the same id and bytes, never posted twice at once by overlapping deliverers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from adapters.files.local import LocalFileStore
from adapters.webhook_http import HttpWebhookPoster
from domain.layouts.disbursements import RESPONSE
from domain.lending.webhooks import RetryPolicy, body, channel_secret
from fakes.webhook_receiver import FakeReceiver
from sql.engine import create_engine
from sql.migrate import upgrade
from tests.conftest import free_port, serve_in_thread
from tests.integration.test_disbursement_dispatch import approved
from usecases.disbursement_responses import process_responses
from usecases.disbursements import dispatch_disbursements
from usecases.lending import save_customer, seed_lending_demo
from usecases.webhooks import WebhookConfig, deliver_webhooks, list_webhooks, replay_webhook, webhook_secret

KEY = b"k" * 40
POLICY = RetryPolicy(base=timedelta(seconds=2), cap=timedelta(seconds=8), give_up_after=timedelta(seconds=30))


class Clock:
    """Real time plus an offset the test moves (the receiver checks the signed timestamp)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[str, FakeReceiver]]:
    app = FakeReceiver({"KOF": channel_secret(KEY, "KOF", 1)})
    with serve_in_thread(app) as url:
        yield url, app


@pytest.fixture
def world(empty_db_url: str, tmp_path: Path, receiver: tuple) -> Iterator[tuple[Engine, FakeReceiver, list[str]]]:
    """Two webhook events queued: one purchase disbursed, one failed."""
    url, app = receiver
    app.received.clear()
    app.seen.clear()
    app.status, app.delay = 200, 0.0
    upgrade(empty_db_url)
    engine = create_engine(empty_db_url)
    seed_lending_demo(engine, datetime.now(UTC))
    save_customer(engine, "CUST-001", "+525500000001", datetime.now(UTC))
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE lending_channels SET webhook_url = :u WHERE channel = 'KOF'"), {"u": f"{url}/hooks/KOF"}
        )
    ok, bad = approved(engine, "100.00"), approved(engine, "250.50")
    store = LocalFileStore(tmp_path / "x")
    dispatch_disbursements(engine, store, lambda: datetime.now(UTC))
    lines = [RESPONSE.format({"id_transaccion": p, "estatus": s, "codigo_motivo": c, "clave_rastreo": k,
                              "fecha_operacion": date(2026, 11, 22), "intento": 0})
             for p, s, c, k in ((ok, "P", "00", "BBVA000123"), (bad, "R", "03", ""))]  # fmt: skip
    store.write_atomic("dispersiones/respuestas/RESP_1.TXT", b"".join(x + b"\r\n" for x in lines))
    process_responses(engine, store, lambda: datetime.now(UTC), max_retries=3)
    yield engine, app, [f"{ok}.disbursed", f"{bad}.failed"]
    engine.dispose()


def config(timeout: float = 2.0) -> WebhookConfig:
    return WebhookConfig(master_key=KEY, policy=POLICY, timeout=timeout)


def states(engine: Engine) -> dict[str, tuple]:
    with engine.connect() as conn:
        return {r.event_id: (r.state, r.attempts) for r in conn.execute(sa.text("SELECT * FROM lending_webhooks"))}


def test_each_event_is_delivered_signed_once_and_replayed_with_the_same_bytes(world: tuple) -> None:
    engine, app, (ok, bad) = world
    clock = Clock()
    done = deliver_webhooks(engine, HttpWebhookPoster(2.0), config(), clock)
    assert {(d.event_id, d.state, d.status) for d in done} == {(ok, "DELIVERED", 200), (bad, "DELIVERED", 200)}
    assert all(r["valid"] and not r["duplicate"] for r in app.received) and len(app.received) == 2
    by_id = {r["eventId"]: r["body"] for r in app.received}
    assert by_id[ok] | {"occurredAt": None} == {
        "eventId": ok, "type": "disbursement.succeeded", "occurredAt": None, "transactionId": ok.split(".")[0],
        "orderId": by_id[ok]["orderId"], "channel": "KOF", "amount": "100.00", "currency": "MXN", "attempt": 0,
        "trackingKey": "BBVA000123", "reasonCode": None, "reason": None}  # fmt: skip
    assert (by_id[bad]["type"], by_id[bad]["amount"], by_id[bad]["reasonCode"], by_id[bad]["reason"]) == (
        "disbursement.failed", "250.50", "03", "Cuenta cancelada")  # fmt: skip
    assert by_id[ok]["occurredAt"].endswith("-06:00")  # America/Mexico_City
    assert deliver_webhooks(engine, HttpWebhookPoster(2.0), config(), clock) == []
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT body FROM lending_webhooks WHERE event_id = :e"), {"e": ok}).scalar()
    replay_webhook(engine, ok, clock())
    (again,) = deliver_webhooks(engine, HttpWebhookPoster(2.0), config(), clock)
    assert again.state == "DELIVERED" and app.received[-1]["eventId"] == ok and app.received[-1]["duplicate"]
    assert json.loads(stored) == app.received[-1]["body"] == by_id[ok]


def test_a_failing_receiver_is_retried_with_backoff_then_given_up_and_visible(world: tuple) -> None:
    engine, app, (ok, bad) = world
    clock, poster = Clock(), HttpWebhookPoster(2.0)
    app.status = 500
    first = deliver_webhooks(engine, poster, config(), clock)
    assert {(d.state, d.attempts, d.status) for d in first} == {("PENDING", 1, 500)}
    assert all(d.next_attempt_at - clock() > timedelta(seconds=1.5) for d in first)  # base 2 s
    assert deliver_webhooks(engine, poster, config(), clock) == []  # not due yet
    delays = []
    for _ in range(10):
        clock.offset += timedelta(seconds=9)
        for d in deliver_webhooks(engine, poster, config(), clock):
            delays.append((d.next_attempt_at - clock()).total_seconds() if d.next_attempt_at else None)
    assert states(engine) == {ok: ("FAILED", 4), bad: ("FAILED", 4)}  # 2, 4, 8, then past 30 s: given up
    assert [round(x) if x else x for x in delays[:6]] == [4, 4, 8, 8, None, None]
    failed = list_webhooks(engine, "FAILED")
    assert {(w.event_id, w.last_status) for w in failed} == {(ok, 500), (bad, 500)}
    app.status = 200
    replay_webhook(engine, bad, clock())
    (delivered,) = deliver_webhooks(engine, poster, config(), clock)
    assert (delivered.event_id, delivered.state) == (bad, "DELIVERED")
    assert {r["eventId"] for r in app.received} == {ok, bad}  # retries never change the id
    assert [r["duplicate"] for r in app.received if r["answered"] == 200] == [False]


def test_a_slow_or_absent_receiver_is_retried(world: tuple, receiver: tuple) -> None:
    engine, app, (ok, bad) = world
    clock = Clock()
    app.delay = 1.5
    slow = deliver_webhooks(engine, HttpWebhookPoster(0.3), config(timeout=0.3), clock)
    assert {(d.state, d.status) for d in slow} == {("PENDING", None)} and "no answer within" in slow[0].error
    app.delay = 0
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE lending_channels SET webhook_url = :u"), {"u": f"http://127.0.0.1:{free_port()}/x"}
        )
    clock.offset += timedelta(seconds=3)
    down = deliver_webhooks(engine, HttpWebhookPoster(1.0), config(), clock)
    assert {(d.state, d.attempts) for d in down} == {("PENDING", 2)} and "ConnectError" in down[0].error
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE lending_channels SET webhook_url = :u"), {"u": f"{receiver[0]}/hooks/KOF"})
    clock.offset += timedelta(seconds=5)
    assert {d.state for d in deliver_webhooks(engine, HttpWebhookPoster(1.0), config(), clock)} == {"DELIVERED"}
    valid = [r["eventId"] for r in app.received if r["answered"] == 200 and not r["duplicate"]]
    assert sorted(valid) == sorted([ok, bad])


def test_overlapping_deliverers_post_each_event_once(world: tuple) -> None:
    engine, app, ids = world
    app.delay = 0.3
    clock = Clock()
    threads = [threading.Thread(target=deliver_webhooks, args=(engine, HttpWebhookPoster(2.0), config(), clock))
               for _ in range(4)]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r["eventId"] for r in app.received) == sorted(ids)
    assert set(states(engine).values()) == {("DELIVERED", 1)}


def test_a_wrong_secret_is_refused_by_the_receiver_and_rotation_changes_it(world: tuple) -> None:
    engine, app, _ = world
    secret, version = webhook_secret(engine, KEY, "KOF")
    assert (secret, version) == (channel_secret(KEY, "KOF", 1), 1)
    rotated, version = webhook_secret(engine, KEY, "KOF", rotate=True)
    assert version == 2 and rotated != secret
    done = deliver_webhooks(engine, HttpWebhookPoster(2.0), config(), Clock())
    assert {d.status for d in done} == {401} and not any(r["valid"] for r in app.received)


def test_the_body_is_stable_json() -> None:
    event = {"event_id": "e.disbursed", "outcome": "disbursed", "occurred_at": datetime(2026, 11, 22, 18, tzinfo=UTC),
             "purchase_id": "p", "order_id": "O-1", "channel": "KOF", "amount": Decimal("1250.5"), "attempt": 1,
             "tracking_key": "T", "reason_code": "00"}  # fmt: skip
    assert body(event) == (b'{"eventId":"e.disbursed","type":"disbursement.succeeded",'
                           b'"occurredAt":"2026-11-22T12:00:00-06:00","transactionId":"p","orderId":"O-1",'
                           b'"channel":"KOF","amount":"1250.50","currency":"MXN","attempt":1,"trackingKey":"T",'
                           b'"reasonCode":null,"reason":null}')  # fmt: skip
