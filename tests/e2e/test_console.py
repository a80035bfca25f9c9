"""The console's guard, called in-process as the host would: who may sign in, what the cookie
says, that every action needs the session's CSRF value from the console's own origin, that an
API token is no console session (and an operator token no API token), and that no input makes
a console route answer 5xx. The pages themselves are driven in Chromium in tests/browser/."""

from __future__ import annotations

import re
from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import azure.functions as func
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bootstrap
from sql.tables import lending_purchases, lending_webhooks
from tests.e2e.calls import call, function, json_of
from tests.integration.test_disbursement_dispatch import approved
from usecases.clients import CLIENT_STATUS, set_client_active
from usecases.companies import DEMO_CLIENT_SECRET, DEMO_OPERATOR_ID, DEMO_OPERATOR_SECRET, seed_demo
from usecases.lending import save_channel, seed_lending_demo

ORIGIN = "http://localhost"


def request(name: str, method: str = "GET", *, url: str | None = None, headers: dict[str, str] | None = None,
            body: bytes = b"", params: dict[str, str] | None = None,
            route_params: dict[str, str] | None = None) -> func.HttpResponse:  # fmt: skip
    """A console function called with a full URL (the host and scheme decide the cookie's Secure)."""
    target = function(name)
    route = target.get_trigger().route
    for key, value in (route_params or {}).items():
        route = route.replace("{" + key + "}", value)
    made = func.HttpRequest(method=method, url=url or f"{ORIGIN}/api/{route}", headers=headers or {},
                            params=params or {}, route_params=route_params or {}, body=body)  # fmt: skip
    return target.get_user_function()(made)


def cookie_of(answer: func.HttpResponse) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    jar.load(answer.headers.get("Set-Cookie", ""))
    return jar


def csrf_in(answer: func.HttpResponse) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', answer.get_body().decode())
    assert found, answer.get_body()[:500]
    return found.group(1)


def sign_in(client_id: str = DEMO_OPERATOR_ID, secret: str = DEMO_OPERATOR_SECRET,
            url: str | None = None) -> func.HttpResponse:  # fmt: skip
    form = request("console_login", url=url)
    nonce = cookie_of(form)["console_login"].value
    body = urlencode({"client_id": client_id, "client_secret": secret, "csrf": csrf_in(form)}).encode()
    return request("console_login", "POST", url=url, body=body, headers={
        "Cookie": f"console_login={nonce}", "Content-Type": "application/x-www-form-urlencoded",
        "Sec-Fetch-Site": "same-origin"})  # fmt: skip


@pytest.fixture
def world(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LENDING_WEBHOOK_KEY", "k" * 40)
    monkeypatch.setenv("WEBHOOK_TIMEOUT_SECONDS", "1")
    bootstrap.reset()
    now = bootstrap.utc_now()
    seed_demo(bootstrap.unit_of_work, now)
    seed_lending_demo(bootstrap.engine(), now, "http://127.0.0.1:9")
    return app_env


def session(world: Path) -> tuple[str, str]:
    """A signed-in session: its cookie header and the CSRF value of its forms."""
    answer = sign_in()
    assert answer.status_code == 303, answer.get_body()
    token = cookie_of(answer)["console_session"].value
    page = request("console_lending", headers={"Cookie": f"console_session={token}"})
    assert page.status_code == 200
    return f"console_session={token}", csrf_in(page)


def failed_webhook() -> str:
    """A FAILED webhook event, as the retry policy leaves one after its give-up window."""
    purchase = approved(bootstrap.engine(), "10.00")
    now = bootstrap.utc_now()
    with bootstrap.engine().begin() as conn:
        conn.execute(sa.update(lending_purchases).where(lending_purchases.c.id == purchase).values(state="DISBURSED"))
        conn.execute(sa.insert(lending_webhooks).values(
            event_id=f"{purchase}.disbursed", channel="KOF", purchase_id=purchase, outcome="disbursed", attempt=0,
            occurred_at=now, state="FAILED", attempts=9, next_attempt_at=now, last_error="ConnectError",
            queued_at=now - timedelta(days=2), created_at=now))  # fmt: skip
    return f"{purchase}.disbursed"


def state_of(event_id: str) -> str:
    with bootstrap.engine().connect() as conn:
        return conn.execute(sa.select(lending_webhooks.c.state).where(lending_webhooks.c.event_id == event_id)).scalar()


def test_the_session_cookie(world: Path) -> None:
    local = cookie_of(sign_in())["console_session"]
    assert local["httponly"] and local["samesite"] == "Strict" and local["path"] == "/api/console"
    assert not local["secure"] and int(local["max-age"]) == 3600  # loopback over http: a browser would drop Secure
    remote = sign_in(url="https://ops.example.com/api/console/login")
    assert remote.status_code == 303 and remote.headers["Location"] == "/api/console"
    assert cookie_of(remote)["console_session"]["secure"]
    page = request("console_overview", headers={"Cookie": remote.headers["Set-Cookie"].split(";")[0]})
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "default-src 'none'" in page.headers["Content-Security-Policy"] and page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Cache-Control"] == "no-store"


def test_who_may_sign_in(world: Path) -> None:
    refused = sign_in("demo-client", DEMO_CLIENT_SECRET)
    assert refused.status_code == 400 and "no operator scope" in refused.get_body().decode()
    assert "Set-Cookie" not in refused.headers or "console_session" not in refused.headers["Set-Cookie"]
    wrong = sign_in(secret="not-the-operator-secret")
    assert wrong.status_code == 401 and "wrong secret" in wrong.get_body().decode()
    assert DEMO_OPERATOR_SECRET not in wrong.get_body().decode()
    forged = request("console_login", "POST", body=urlencode({"client_id": DEMO_OPERATOR_ID,
                     "client_secret": DEMO_OPERATOR_SECRET, "csrf": "0" * 64}).encode(),
                     headers={"Cookie": "console_login=guessed"})  # fmt: skip
    assert forged.status_code == 403 and "console_session" not in forged.headers.get("Set-Cookie", "")


def test_pages_and_actions_need_a_session(world: Path) -> None:
    page = request("console_billers")
    assert page.status_code == 303 and page.headers["Location"] == "/api/console/login"
    assert request("console_overview", headers={"Cookie": "console_session=not.a.token"}).status_code == 401
    event = failed_webhook()
    action = request("console_replay_webhook", "POST", route_params={"event_id": event})
    assert action.status_code == 401 and state_of(event) == "FAILED"


def test_every_action_needs_the_csrf_value_from_this_origin(world: Path) -> None:
    cookie, csrf = session(world)
    event = failed_webhook()

    def replay(form: dict[str, str], **headers: str) -> func.HttpResponse:
        return request("console_replay_webhook", "POST", route_params={"event_id": event},
                       body=urlencode(form).encode(), headers={"Cookie": cookie, **headers})  # fmt: skip

    assert replay({}).status_code == 403
    assert replay({"csrf": "0" * 64}).status_code == 403
    assert replay({"csrf": csrf}, **{"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert replay({"csrf": csrf}, Origin="https://evil.example").status_code == 403
    assert state_of(event) == "FAILED"
    done = replay({"csrf": csrf}, **{"Sec-Fetch-Site": "same-origin"})
    assert done.status_code == 303 and done.headers["Location"] == f"/api/console/lending?replayed={event}"
    assert state_of(event) == "PENDING"  # replayed: the receiver (nobody at :9) did not take it, so it is retried
    out = request("console_logout", "POST", body=urlencode({"csrf": csrf}).encode(), headers={"Cookie": cookie})
    assert out.status_code == 303 and cookie_of(out)["console_session"]["max-age"] == "0"


def test_parked_webhooks_are_counted_listed_and_replayed_once_the_url_works(world: Path) -> None:
    """Issue 29: an event whose channel has no URL is never sent quietly into the void: it is
    counted on the overview, listed on the lending page, and its Replay is refused (409, saying
    why) until the channel has a URL."""
    cookie, csrf = session(world)
    event = failed_webhook()
    cleared = save_channel(bootstrap.engine(), "KOF", None, None, None, bootstrap.utc_now(), clear_webhook=True)
    assert cleared.parked_now == 0 and cleared.waiting == {"FAILED": 1, "PARKED": 0}
    with bootstrap.engine().begin() as conn:
        conn.execute(sa.update(lending_webhooks).where(lending_webhooks.c.event_id == event).values(
            state="PARKED", attempts=0, last_error="channel KOF: no webhook URL"))  # fmt: skip
    overview = request("console_overview", headers={"Cookie": cookie}).get_body().decode()
    assert "<b>1</b><span>parked webhooks (no URL)</span>" in overview
    assert "<b>0</b><span>failed webhooks</span>" in overview
    assert "1 webhook(s) parked: their channel has no usable URL" in overview
    lending = request("console_lending", headers={"Cookie": cookie}).get_body().decode()
    parked = lending[lending.index("Parked webhooks"):]
    assert event in parked and "channel KOF: no webhook URL" in parked and f"webhooks/{event}/replay" in parked

    def replay() -> func.HttpResponse:
        return request("console_replay_webhook", "POST", route_params={"event_id": event},
                       body=urlencode({"csrf": csrf}).encode(),
                       headers={"Cookie": cookie, "Sec-Fetch-Site": "same-origin"})  # fmt: skip

    refused = replay()
    assert refused.status_code == 409 and "cannot receive events (no webhook URL)" in refused.get_body().decode()
    assert state_of(event) == "PARKED"
    save_channel(bootstrap.engine(), "KOF", None, None, "http://127.0.0.1:9/hooks/KOF", bootstrap.utc_now())
    assert replay().status_code == 303
    assert state_of(event) == "PENDING"  # sent (nobody answers at :9), then retried as any other


def test_an_api_token_is_no_session_and_an_operator_token_no_api_token(world: Path) -> None:
    api = json_of(call("auth_token", "POST", headers={"client_id": "demo-client", "client_secret": DEMO_CLIENT_SECRET}))
    refused = request("console_overview", headers={"Authorization": f"Bearer {api['access_token']}"})
    assert refused.status_code == 401 and "may not use the console" in refused.get_body().decode()
    operator = json_of(call("auth_token", "POST", headers={"client_id": DEMO_OPERATOR_ID,
                                                           "client_secret": DEMO_OPERATOR_SECRET}))  # fmt: skip
    assert operator["scope"] == "operator"
    bearer = {"Authorization": f"Bearer {operator['access_token']}"}
    assert request("console_yapago", headers=bearer).status_code == 200  # curl, without a cookie
    answer = call("yapago_consulta", "POST", headers=bearer, body={"idConsulta": "1", "tipoConsulta": 0,
                  "idEmpresa": "730", "idBanco": "1020", "idCanal": "10"})  # fmt: skip
    assert answer.status_code == 403 and json_of(answer)["codResp"] == "91"


def test_disabling_the_operator_ends_its_session(world: Path) -> None:
    cookie, _ = session(world)
    set_client_active(bootstrap.unit_of_work, DEMO_OPERATOR_ID, False, bootstrap.utc_now())
    CLIENT_STATUS.clear()
    assert request("console_overview", headers={"Cookie": cookie}).status_code == 401


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(["console_overview", "console_billers", "console_yapago", "console_lending", "console_queues",
                          "console_login", "console_replay_webhook", "console_requeue", "console_logout"]),
    day=st.text(max_size=30),
    junk=st.binary(max_size=300),
    cookie=st.text(max_size=80),
    signed=st.booleans(),
)  # fmt: skip
def test_no_input_makes_a_console_route_fail(world: Path, name: str, day: str, junk: bytes, cookie: str,
                                             signed: bool) -> None:  # fmt: skip
    method = "GET" if name in ("console_overview", "console_billers", "console_yapago", "console_lending",
                               "console_queues") else "POST"  # fmt: skip
    headers = {"Cookie": session(world)[0] if signed else cookie, "Sec-Fetch-Site": "same-origin"}
    answer = request(name, method, params={"day": day, "replayed": day}, body=junk, headers=headers,
                     route_params={"event_id": "x", "queue": day.replace("/", "") or "q"})  # fmt: skip
    assert answer.status_code < 500, answer.get_body()[:300]
