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
from domain.errors import DomainError
from domain.layouts.disbursements import RESPONSE
from domain.lending import LendingError
from domain.lending.clabe import make_clabe
from domain.lending.webhooks import RetryPolicy, body, channel_secret
from fakes.webhook_receiver import FakeReceiver
from sql.engine import create_engine
from sql.migrate import upgrade
from tests.conftest import free_port, serve_in_thread
from tests.integration.test_disbursement_dispatch import approved
from usecases.disbursement_responses import process_responses
from usecases.disbursements import dispatch_disbursements
from usecases.lending import save_channel, save_customer, seed_lending_demo
from usecases.webhooks import (
    WAITING,
    WebhookConfig,
    WebhookNotFound,
    WebhookRefused,
    channel_secrets,
    deliver_webhooks,
    end_secret_overlap,
    list_webhooks,
    replay_channel,
    replay_webhook,
    rotate_webhook_secret,
    waiting_counts,
    webhook_secret,
)

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
    app.secrets["KOF"] = channel_secret(KEY, "KOF", 1)
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
    rotated, version = webhook_secret(engine, KEY, "KOF", rotate=True, now=datetime.now(UTC), overlap=timedelta(0))
    assert version == 2 and rotated != secret
    done = deliver_webhooks(engine, HttpWebhookPoster(2.0), config(), Clock())
    assert {d.status for d in done} == {401} and not any(r["valid"] for r in app.received)


def test_a_rotated_secret_still_signs_during_the_overlap_then_stops(world: tuple) -> None:
    """Issue 29: a distributor still on the previous secret accepts every event during the
    overlap (two signatures), and only the new secret's after it; an event queued and tried
    before the rotation keeps its bytes and gets the new signatures at its next try."""
    engine, app, (ok, bad) = world
    clock, poster = Clock(), HttpWebhookPoster(2.0)
    old, new = channel_secret(KEY, "KOF", 1), channel_secret(KEY, "KOF", 2)
    day = WebhookConfig(master_key=KEY, policy=RetryPolicy(give_up_after=timedelta(hours=1)), timeout=2.0)
    app.status = 500
    (first,) = deliver_webhooks(engine, poster, day, clock, bad)  # tried before the rotation: 1 signature
    assert (first.state, first.status, app.received[-1]["signatures"]) == ("PENDING", 500, 1)
    app.status = 200
    rotated = rotate_webhook_secret(engine, KEY, "KOF", clock(), overlap=timedelta(seconds=60))
    assert (rotated.secret, rotated.previous_secret, rotated.versions.current, rotated.versions.previous) == (
        new, old, 2, 1)  # fmt: skip
    assert rotated.overlapping(clock()) and not rotated.overlapping(clock() + timedelta(seconds=61))

    (sent,) = deliver_webhooks(engine, poster, day, clock, ok)  # the receiver still checks with the old one
    assert (sent.state, app.received[-1]["valid"], app.received[-1]["signatures"]) == ("DELIVERED", True, 2)
    app.secrets["KOF"] = new  # a distributor already on the new secret accepts the same POSTs
    replay_webhook(engine, ok, clock())
    (again,) = deliver_webhooks(engine, poster, day, clock, ok)
    assert again.state == "DELIVERED" and app.received[-1]["valid"] and app.received[-1]["duplicate"]

    clock.offset += timedelta(seconds=90)  # past the overlap: the new secret alone signs
    app.secrets["KOF"] = old
    (refused,) = deliver_webhooks(engine, poster, day, clock, bad)
    assert (refused.state, refused.status, app.received[-1]["signatures"]) == ("PENDING", 401, 1)
    app.secrets["KOF"] = [old, new]  # a receiver holding both still accepts
    clock.offset += timedelta(seconds=65)  # its next try, 60 s later (the default policy's second delay)
    (late,) = deliver_webhooks(engine, poster, day, clock, bad)
    assert (late.state, app.received[-1]["valid"], app.received[-1]["signatures"]) == ("DELIVERED", True, 1)
    bodies = [r["body"] for r in app.received if r["eventId"] == bad]
    assert len(bodies) == 3 and all(b == bodies[0] for b in bodies)  # the bytes fixed at the first try


def test_one_rotation_at_a_time_and_the_overlap_can_end_early(world: tuple) -> None:
    engine, _, _ = world
    now = datetime.now(UTC)
    rotate_webhook_secret(engine, KEY, "KOF", now, overlap=timedelta(hours=72))
    with pytest.raises(WebhookRefused, match="rotating already: version 1 still signs until"):
        rotate_webhook_secret(engine, KEY, "KOF", now + timedelta(hours=1))
    assert channel_secrets(engine, KEY, "KOF").versions.current == 2  # nothing changed
    ended, was_until = end_secret_overlap(engine, KEY, "KOF", now + timedelta(hours=2))
    assert was_until == now + timedelta(hours=72) and not ended.overlapping(now + timedelta(hours=2))
    assert ended.versions.signing(now + timedelta(hours=2)) == [2]
    with pytest.raises(WebhookRefused, match="no previous secret signing"):
        end_secret_overlap(engine, KEY, "KOF", now + timedelta(hours=3))
    third = rotate_webhook_secret(engine, KEY, "KOF", now + timedelta(hours=3), overlap=timedelta(0))
    assert (third.versions.current, third.versions.previous) == (3, 2)
    assert third.versions.signing(now + timedelta(hours=3)) == [3]  # overlap 0: the leaked one stops at once
    with pytest.raises(WebhookRefused, match="overlap must be 0 to 720 hours"):
        rotate_webhook_secret(engine, KEY, "KOF", now + timedelta(hours=4), overlap=timedelta(days=31))
    with pytest.raises(WebhookNotFound):
        rotate_webhook_secret(engine, KEY, "NOPE", now)


def test_removing_the_url_parks_the_channels_events_until_it_is_set_and_replayed(world: tuple, receiver: tuple) -> None:
    engine, app, (ok, bad) = world
    clock = Clock()
    cleared = save_channel(engine, "KOF", None, None, None, clock(), clear_webhook=True)
    assert cleared.changes == {"webhook_url": (f"{receiver[0]}/hooks/KOF", None)} and cleared.parked_now == 2
    assert cleared.waiting == {"FAILED": 0, "PARKED": 2} and cleared.webhook_url is None
    assert deliver_webhooks(engine, HttpWebhookPoster(2.0), config(), clock) == []  # parked: nothing due
    assert {(w.event_id, w.state) for w in list_webhooks(engine, WAITING)} == {(ok, "PARKED"), (bad, "PARKED")}
    with pytest.raises(WebhookRefused, match="channel KOF cannot receive events \\(no webhook URL\\)"):
        replay_webhook(engine, ok, clock())
    with pytest.raises(WebhookRefused):
        replay_channel(engine, "KOF", clock())
    assert app.received == []

    fixed = save_channel(engine, "KOF", None, None, f"{receiver[0]}/hooks/KOF", clock())
    assert fixed.changes == {"webhook_url": (None, f"{receiver[0]}/hooks/KOF")} and fixed.waiting["PARKED"] == 2
    assert replay_channel(engine, "KOF", clock()) == 2
    done = deliver_webhooks(engine, HttpWebhookPoster(2.0), config(), clock)
    assert {(d.event_id, d.state) for d in done} == {(ok, "DELIVERED"), (bad, "DELIVERED")}
    assert sorted(r["eventId"] for r in app.received if r["valid"]) == sorted([ok, bad])
    assert replay_channel(engine, "KOF", clock()) == 0  # nothing waits any more


@pytest.mark.parametrize("stored", [None, "not-a-url", "http://kof.example.com/hooks"])
def test_an_unusable_url_in_sql_parks_the_event_without_a_post(world: tuple, stored: str | None) -> None:
    """A row written before URLs were checked (or by hand) never gets a POST and never burns
    the give-up window: the event is parked at its turn, its tries unchanged."""
    engine, app, (ok, bad) = world
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE lending_channels SET webhook_url = :u WHERE channel = 'KOF'"), {"u": stored})
    done = deliver_webhooks(engine, HttpWebhookPoster(2.0), config(), Clock())
    assert {(d.state, d.attempts, d.status) for d in done} == {("PARKED", 0, None)}
    assert "channel KOF: " in done[0].error and "replay-webhook" in done[0].error
    assert states(engine) == {ok: ("PARKED", 0), bad: ("PARKED", 0)} and app.received == []
    assert {w.event_id for w in list_webhooks(engine, "PARKED")} == {ok, bad}
    assert waiting_counts(engine) == {"FAILED": 0, "PARKED": 2} and waiting_counts(engine, "PRONTO")["PARKED"] == 0


def test_channel_setup_changes_only_what_is_given(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    engine = create_engine(empty_db_url)
    now = datetime.now(UTC)
    clabe, other = make_clabe("012", "180", "1000000001"), make_clabe("072", "180", "1000000002")
    made = save_channel(engine, "KOF", "KOF Mexico", clabe, "https://kof.example.com/hooks", now)
    assert made.created and made.changes == {"name": (None, "KOF Mexico"), "clabe": (None, clabe),
                                             "webhook_url": (None, "https://kof.example.com/hooks")}  # fmt: skip
    again = save_channel(engine, "KOF", None, None, None, now)  # create-channel again, nothing given
    assert (again.created, again.changes, again.webhook_url) == (False, {}, "https://kof.example.com/hooks")
    same = save_channel(engine, "KOF", "KOF Mexico", clabe, None, now)  # the old full command, minus --webhook
    assert same.changes == {} and same.webhook_url == "https://kof.example.com/hooks"
    moved = save_channel(engine, "KOF", None, other, None, now)
    assert moved.changes == {"clabe": (clabe, other)}
    refusals = [
        (lambda: save_channel(engine, "KOF", None, None, "not-a-url", now), "webhook URL refused: not an absolute"),
        (lambda: save_channel(engine, "KOF", None, None, "http://kof.example.com/x", now), "plain http outside"),
        (lambda: save_channel(engine, "KOF", None, None, "https://u:p@kof.example.com/", now), "user or password"),
        (lambda: save_channel(engine, "KOF", None, None, "https://kof.example.com/#x", now), "fragment"),
        (lambda: save_channel(engine, "KOF", None, None, "https://kof.example.com/" + "a" * 300, now), "longer than"),
        (lambda: save_channel(engine, "KOF", None, None, "https://x.mx/", now, clear_webhook=True), "not both"),
        (lambda: save_channel(engine, "KOF", "", None, None, now), "1 to 80 characters"),
        (lambda: save_channel(engine, "KOF", None, "012180000000000000", None, now), "CLABE"),
        (lambda: save_channel(engine, "OXXO", "Oxxo", None, None, now), "is new: give its --name and --clabe"),
        (lambda: save_channel(engine, "oxxo", "Oxxo", clabe, None, now), "2-10 capital letters"),
    ]  # fmt: skip
    for attempt, message in refusals:
        with pytest.raises((DomainError, LendingError), match=message):
            attempt()
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT channel, name, clabe, webhook_url FROM lending_channels")).all()
    assert [tuple(r) for r in rows] == [("KOF", "KOF Mexico", other, "https://kof.example.com/hooks")]
    local = save_channel(engine, "KOF", None, None, "http://127.0.0.1:8090/hooks/KOF", now)  # the local fake
    assert local.changes == {"webhook_url": ("https://kof.example.com/hooks", "http://127.0.0.1:8090/hooks/KOF")}
    engine.dispose()


def test_the_body_is_stable_json() -> None:
    event = {"event_id": "e.disbursed", "outcome": "disbursed", "occurred_at": datetime(2026, 11, 22, 18, tzinfo=UTC),
             "purchase_id": "p", "order_id": "O-1", "channel": "KOF", "amount": Decimal("1250.5"), "attempt": 1,
             "tracking_key": "T", "reason_code": "00"}  # fmt: skip
    assert body(event) == (b'{"eventId":"e.disbursed","type":"disbursement.succeeded",'
                           b'"occurredAt":"2026-11-22T12:00:00-06:00","transactionId":"p","orderId":"O-1",'
                           b'"channel":"KOF","amount":"1250.50","currency":"MXN","attempt":1,"trackingKey":"T",'
                           b'"reasonCode":null,"reason":null}')  # fmt: skip
