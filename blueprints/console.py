"""The operations console: server-rendered pages under /api/console/ for a client with the
`operator` scope (blueprints/console_session.py: the cookie, CSRF). What it shows is read by
usecases/console_day.py and usecases/reports.py, the same rows the operator commands print;
its two actions are the commands' too (replay-webhook, poison --requeue)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs, quote

import azure.functions as func

import bootstrap
from blueprints import console_pages as pages
from blueprints.common import Call, endpoint, source_address
from blueprints.console_html import CSP, join, page, tag
from blueprints.console_session import (
    LOGIN_COOKIE,
    LOGIN_NONCE_SECONDS,
    SESSION_COOKIE,
    ForgedForm,
    NotSignedIn,
    base_path,
    check_action,
    check_login_form,
    csrf_for,
    login_nonce,
    principal,
    set_cookie,
)  # fmt: skip
from blueprints.dependencies import check_all
from domain.auth import Principal
from usecases.clients import AuthFailure, issue_token

bp = func.Blueprint()
log = logging.getLogger("app.console")
FORM_BODY = 4096
PAGE_HEADERS = {"Content-Security-Policy": CSP, "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "same-origin", "Cache-Control": "no-store"}  # fmt: skip


def html(body: str, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(body, status_code=status, headers={**PAGE_HEADERS, **(headers or {})},
                             mimetype="text/html", charset="utf-8")  # fmt: skip


def redirect(location: str, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse("", status_code=303, headers={**PAGE_HEADERS, "Location": location, **(headers or {})})


def form_of(req: func.HttpRequest) -> dict[str, str]:
    raw = (req.get_body() or b"").decode("utf-8", "replace")
    return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}


def _day(req: func.HttpRequest) -> date:
    try:
        return date.fromisoformat(req.params.get("day", ""))
    except ValueError:
        from usecases.console_day import lima_today

        return lima_today(bootstrap.utc_now())


class Session:
    """A signed-in request: who, its CSRF value, and where the console lives."""

    def __init__(self, req: func.HttpRequest, call: Call, found: Principal, by_cookie: bool) -> None:
        self.req, self.call, self.principal, self.by_cookie = req, call, found, by_cookie
        self.base = base_path(req)
        self.csrf = csrf_for(found)

    def render(self, title: str, here: str, body: Any, status: int = 200) -> func.HttpResponse:
        return html(page(title, body, base=self.base, here=here, csrf=self.csrf, who=self.principal.client_id), status)


def signed_in(action: bool = False) -> Callable[[Callable[[Session], func.HttpResponse]],
                                                 Callable[[func.HttpRequest, Call], func.HttpResponse]]:  # fmt: skip
    """A console handler: the operator's session checked first (a page without one goes to the
    login form; an action without one is 401), the CSRF value of an action checked, and any
    failure answered as a page that quotes the correlation id."""

    def decorate(
        handler: Callable[[Session], func.HttpResponse],
    ) -> Callable[[func.HttpRequest, Call], func.HttpResponse]:
        def run(req: func.HttpRequest, call: Call) -> func.HttpResponse:
            base = base_path(req)
            try:
                found, by_cookie = principal(req)
            except NotSignedIn as exc:
                if action or not (exc.reason == "" or "expired" in exc.reason):
                    return html(page("Not signed in", _sign_in_again(exc.reason, base), base=base), 401)
                return redirect(f"{base}/login")
            call.principal = found
            session = Session(req, call, found, by_cookie)
            try:
                if action:
                    check_action(req, form_of(req), found, by_cookie)
                return handler(session)
            except ForgedForm as exc:
                return session.render("Refused", "", tag("p", str(exc), class_="error"), 403)
            except Exception:
                log.exception("console page %s failed (correlation id %s)", call.function, call.correlation_id)
                body = tag("p", f"This page failed; quote correlation id {call.correlation_id} to support.",
                                 class_="error")  # fmt: skip
                return session.render("Error", "", body, 500)

        run.__name__ = handler.__name__
        return run

    return decorate


def _sign_in_again(reason: str, base: str) -> Any:
    return join([tag("p", reason or "Sign in first.", class_="error"), tag("a", "Sign in", href=f"{base}/login")])


# -- sign in and out -----------------------------------------------------------------------------


def _login_page(req: func.HttpRequest, error: str | None = None, client_id: str = "",
                status: int = 200) -> func.HttpResponse:  # fmt: skip
    nonce, value = login_nonce()
    cookie = set_cookie(req, LOGIN_COOKIE, nonce, LOGIN_NONCE_SECONDS, path=f"{base_path(req)}/login")
    body = pages.login(value, base_path(req), client_id)
    return html(page("Sign in", body, base=base_path(req), error=error), status, {"Set-Cookie": cookie})


@bp.route(route="console/login", methods=["GET", "POST"], auth_level=func.AuthLevel.ANONYMOUS)
@endpoint(max_body=FORM_BODY)
def console_login(req: func.HttpRequest, call: Call) -> func.HttpResponse:
    """The sign-in form, and its answer: a session cookie holding an operator token."""
    if req.method.upper() == "GET":
        return _login_page(req)
    form = form_of(req)
    client_id = form.get("client_id", "").strip()[:64]
    try:
        check_login_form(req, form)
    except ForgedForm as exc:
        return _login_page(req, str(exc), client_id, 403)
    call.log_fields["ClientId"] = client_id
    try:
        issued = issue_token(bootstrap.unit_of_work, bootstrap.token_service(), client_id,
                             form.get("client_secret", ""), "operator", bootstrap.utc_now(), source_address(req),
                             bootstrap.guess_guard())  # fmt: skip
    except AuthFailure as exc:
        message = "this client may not use the console (it has no operator scope)" if exc.code == "invalid_scope" \
            else exc.message  # fmt: skip
        return _login_page(req, message, client_id, exc.status)
    cookie = set_cookie(req, SESSION_COOKIE, issued.access_token, issued.expires_in)
    return redirect(base_path(req), {"Set-Cookie": cookie})


@bp.route(route="console/logout", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@endpoint(max_body=FORM_BODY)
@signed_in(action=True)
def console_logout(session: Session) -> func.HttpResponse:
    """Ends the session in this browser (the cookie is cleared)."""
    return redirect(f"{session.base}/login", {"Set-Cookie": set_cookie(session.req, SESSION_COOKIE, "", 0)})


# -- pages ---------------------------------------------------------------------------------------


def _traffic(day: date) -> tuple[dict[str, dict[str, int]], bool]:
    """YAPAGO answers of the day by operation and codResp, from ApiLogs."""
    from usecases.console_day import day_bounds

    count_by = getattr(bootstrap.log_sink(), "count_by", None)
    if count_by is None:  # the standard logger: nothing to read back
        return {}, False
    start, end = day_bounds(day)
    counts, partial = count_by("ApiLogs", [f for f, _ in pages.OPERATIONS], start, end, "CodResp")
    return {name: dict(c) for name, c in counts.items()}, partial


def _parked() -> dict[str, list[Any]]:
    from settings import get_settings

    settings = get_settings()
    found: dict[str, list[Any]] = {}
    for queue in (settings.debt_queue, settings.payment_queue):
        try:
            found[queue] = bootstrap.work_queues().parked(queue)
        except Exception as exc:  # a queue never created has nothing parked
            if type(exc).__name__ != "ResourceNotFoundError":
                raise
            found[queue] = []
    return found


_seen_exchange: dict[Any, Any] = {}
EXCHANGE_REUSE = 60.0  # seconds: the exchange's root, and every company's Pending/ and Rejected/, listed


def _exchange(day: date) -> tuple[list[Any], list[Any]]:
    """What the loader will not read, and the files it set aside on `day`
    (usecases/exchange_warnings.py): listed at most once a minute per day shown."""
    import time

    from usecases.console_day import day_bounds
    from usecases.exchange_warnings import exchange_warnings, set_aside

    cached = _seen_exchange.get(day)
    if cached is not None and time.monotonic() - cached[0] < EXCHANGE_REUSE:
        return cached[1]
    engine, store = bootstrap.engine(), bootstrap.file_store()
    found = (exchange_warnings(engine, store), set_aside(engine, store, *day_bounds(day)))
    _seen_exchange.clear()
    _seen_exchange[day] = (time.monotonic(), found)
    return found


def _failed_webhooks() -> list[Any]:
    from usecases.webhooks import FAILED, list_webhooks

    return list_webhooks(bootstrap.engine(), FAILED, 100)


def _parked_webhooks() -> list[Any]:
    """Events whose channel had no usable webhook URL: not sent, waiting for an operator."""
    from usecases.webhooks import PARKED, list_webhooks

    return list_webhooks(bootstrap.engine(), PARKED, 100)


def _dispersions() -> list[Any]:
    from usecases.disbursements import in_flight

    return in_flight(bootstrap.engine(), bootstrap.utc_now(), limit=100)


@bp.route(route="console", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@endpoint()
@signed_in()
def console_overview(session: Session) -> func.HttpResponse:
    """The day at a glance: counts, what needs attention, pagos per hour, dependencies."""
    from usecases.alerts import count_open
    from usecases.console_day import companies_day, pagos_per_hour, purchases_by_state
    from usecases.webhooks import waiting_counts

    engine, day = bootstrap.engine(), _day(session.req)
    parked = _parked()
    hooks = waiting_counts(engine)  # counted whole, not just the 100 a list shows
    body = pages.overview(day, check_all(), companies_day(engine, day), pagos_per_hour(engine, day),
                          _traffic(day)[0], purchases_by_state(engine), len(_dispersions()), hooks["FAILED"],
                          sum(len(m) for m in parked.values()), session.base, len(_exchange(day)[0]),
                          parked_hooks=hooks["PARKED"], alerts=count_open(engine))  # fmt: skip
    return session.render(f"Overview of {day.isoformat()}", "", body)


@bp.route(route="console/billers", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@endpoint()
@signed_in()
def console_billers(session: Session) -> func.HttpResponse:
    """Per company: the day's debt files with their rejected lines, payment files, records waiting."""
    from settings import get_settings
    from usecases.console_day import companies_day

    day = _day(session.req)
    warnings, aside = _exchange(day)
    return session.render(f"Billers on {day.isoformat()}", "billers",
                          pages.billers(day, companies_day(bootstrap.engine(), day), session.base, warnings,
                                        aside, timedelta(hours=get_settings().payment_file_settlement_hours),
                                        bootstrap.utc_now()))  # fmt: skip


@bp.route(route="console/yapago", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@endpoint()
@signed_in()
def console_yapago(session: Session) -> func.HttpResponse:
    """The banks' calls of the day by operation and codResp, and pagos per hour."""
    from usecases.console_day import pagos_per_hour

    day = _day(session.req)
    traffic, partial = _traffic(day)
    body = pages.yapago(day, traffic, partial, pagos_per_hour(bootstrap.engine(), day), session.base)
    return session.render(f"YAPAGO on {day.isoformat()}", "yapago", body)


@bp.route(route="console/lending", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@endpoint()
@signed_in()
def console_lending(session: Session) -> func.HttpResponse:
    """Open alerts, purchases by state, dispersions waiting for the bank, failed and parked webhooks
    (with replay)."""
    from usecases.alerts import list_alerts
    from usecases.console_day import purchases_by_state
    from usecases.reports import purchase_rows
    from usecases.webhooks import find_webhook

    engine = bootstrap.engine()
    event_id = session.req.params.get("replayed")
    replayed = find_webhook(engine, event_id) if event_id else None
    body = pages.lending(purchases_by_state(engine), purchase_rows(engine, limit=20), _dispersions(),
                         _failed_webhooks(), session.csrf, session.base, replayed,
                         parked=_parked_webhooks(), alerts=list_alerts(engine))  # fmt: skip
    return session.render("Lending", "lending", body)


@bp.route(route="console/queues", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@endpoint()
@signed_in()
def console_queues(session: Session) -> func.HttpResponse:
    """Messages parked in the poison queues, with a requeue action."""
    parked = _parked()
    requeued = None
    queue, moved = session.req.params.get("requeued"), session.req.params.get("moved", "")
    if queue in parked and moved.isdigit():
        requeued = (queue, int(moved))
    return session.render("Queues", "queues", pages.queues(parked, session.csrf, session.base, requeued))


# -- actions -------------------------------------------------------------------------------------


@bp.route(route="console/webhooks/{event_id}/replay", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@endpoint(max_body=FORM_BODY)
@signed_in(action=True)
def console_replay_webhook(session: Session) -> func.HttpResponse:
    """Send a webhook event again now (same id and bytes), as `manage.py replay-webhook` does."""
    from blueprints.disbursements import run_webhooks
    from usecases.webhooks import WebhookNotFound, WebhookRefused, replay_webhook

    event_id = session.req.route_params.get("event_id", "")
    session.call.log_fields["EventId"] = event_id[:64]
    try:
        replay_webhook(bootstrap.engine(), event_id, bootstrap.utc_now())
    except WebhookNotFound as exc:
        return session.render("Not found", "lending", tag("p", str(exc), class_="error"), 404)
    except WebhookRefused as exc:  # its channel has no usable URL: replaying would only park it again
        return session.render("Not replayed", "lending", tag("p", exc.message, class_="error"), 409)
    run_webhooks(event_id)
    return redirect(f"{session.base}/lending?replayed={quote(event_id, safe='')}")


@bp.route(route="console/queues/{queue}/requeue", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@endpoint(max_body=FORM_BODY)
@signed_in(action=True)
def console_requeue(session: Session) -> func.HttpResponse:
    """Move a poison queue's messages back to their queue, as `manage.py poison --requeue` does."""
    from settings import get_settings

    queue = session.req.route_params.get("queue", "")
    settings = get_settings()
    if queue not in (settings.debt_queue, settings.payment_queue):
        return session.render("Not found", "queues", tag("p", "no such work queue", class_="error"), 404)
    moved = bootstrap.work_queues().requeue_poison(queue)
    session.call.log_fields["Requeued"] = moved
    return redirect(f"{session.base}/queues?requeued={quote(queue)}&moved={moved}")
