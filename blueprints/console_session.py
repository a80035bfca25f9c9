"""Who is using the console, and whether a form really came from it.

A session is the `operator` token the token service issues, kept in a cookie the page's script
could not read (there is none anyway): HttpOnly, SameSite=Strict, Path=/api/console, Secure
unless the host is the loopback (a browser refuses Secure cookies over plain http). The token's
own expiry ends the session, and disabling the client or rotating its secret ends it at once,
as for any token. A caller with `Authorization: Bearer` (curl) is served without a cookie.

Every form carries a CSRF value: for the login form, an HMAC of a random nonce also set as a
short-lived cookie; once signed in, an HMAC of the token's id. Both are keyed with the JWT
signing key, so neither can be made without it. A POST from another origin (Origin or
Sec-Fetch-Site) is refused before that."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlsplit

import azure.functions as func

import bootstrap
from domain.auth import Principal, Scope
from settings import get_settings
from usecases.clients import AuthFailure, authorize

SESSION_COOKIE = "console_session"
LOGIN_COOKIE = "console_login"
LOGIN_NONCE_SECONDS = 900
LOOPBACK = {"localhost", "127.0.0.1", "::1"}


class NotSignedIn(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ForgedForm(Exception):
    """A POST without the right CSRF value, or from another site."""


def _key() -> bytes:
    return hashlib.sha256(b"console:" + get_settings().signing_key().encode()).digest()


def _mac(purpose: str, value: str) -> str:
    return hmac.new(_key(), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def cookies(req: func.HttpRequest) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(req.headers.get("Cookie") or "")
    except CookieError:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


def base_path(req: func.HttpRequest) -> str:
    """`/api/console` as this request reached it (the host's route prefix included)."""
    path = urlsplit(req.url).path
    at = path.lower().find("/console")
    return path[: at + len("/console")] if at >= 0 else "/api/console"


def _secure(req: func.HttpRequest) -> bool:
    return (urlsplit(req.url).hostname or "").lower() not in LOOPBACK


def set_cookie(req: func.HttpRequest, name: str, value: str, max_age: int, path: str | None = None) -> str:
    """A Set-Cookie value with the console's attributes."""
    parts = [f"{name}={value}", f"Path={path or base_path(req)}", f"Max-Age={max_age}", "HttpOnly", "SameSite=Strict"]
    if _secure(req):
        parts.append("Secure")
    return "; ".join(parts)


def principal(req: func.HttpRequest) -> tuple[Principal, bool]:
    """The operator behind the request, and whether it came by cookie (so forms need CSRF)."""
    header = req.headers.get("Authorization")
    by_cookie = not header
    token = cookies(req).get(SESSION_COOKIE) if by_cookie else None
    if by_cookie and not token:
        raise NotSignedIn("")
    try:
        found = authorize(
            bootstrap.unit_of_work, bootstrap.token_service(), header or f"Bearer {token}", Scope.OPERATOR
        )
    except AuthFailure as exc:
        raise NotSignedIn(exc.message if exc.status == 401 else "this client may not use the console") from None
    return found, by_cookie


def csrf_for(found: Principal) -> str:
    return _mac("session", found.token_id)


def login_nonce() -> tuple[str, str]:
    """A new nonce for the login cookie, and the form value that goes with it."""
    nonce = secrets.token_urlsafe(24)
    return nonce, _mac("login", nonce)


def _same_origin(req: func.HttpRequest) -> bool:
    """Sec-Fetch-Site where the browser sends it (all current ones do), else Origin; neither
    (a script, an old browser) leaves the decision to the CSRF value alone."""
    fetch_site = (req.headers.get("Sec-Fetch-Site") or "").lower()
    if fetch_site:
        return fetch_site == "same-origin"
    origin = req.headers.get("Origin")
    if origin is None or origin == "null":
        return True
    own, seen = urlsplit(req.url), urlsplit(origin)
    return (seen.scheme, seen.netloc.lower()) == (own.scheme, own.netloc.lower())


def check_login_form(req: func.HttpRequest, form: dict[str, str]) -> None:
    nonce = cookies(req).get(LOGIN_COOKIE, "")
    given = form.get("csrf", "")
    if not _same_origin(req) or not nonce or not hmac.compare_digest(given, _mac("login", nonce)):
        raise ForgedForm("the login form has expired or did not come from this console; load it again")


def check_action(req: func.HttpRequest, form: dict[str, str], found: Principal, by_cookie: bool) -> None:
    """A signed-in POST: from this origin with the session's CSRF value (not needed with a
    Bearer header, which a browser never sends by itself)."""
    if not by_cookie:
        return
    if not _same_origin(req) or not hmac.compare_digest(form.get("csrf", ""), csrf_for(found)):
        raise ForgedForm("this form did not come from your console session; reload the page and try again")
