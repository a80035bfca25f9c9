"""Token service: client credentials -> signed JWT, under its own name and YAPAGO's."""

import base64
import binascii
from urllib.parse import parse_qs

import azure.functions as func

import bootstrap
from blueprints.common import ANY_SCOPE, ApiError, Call, endpoint, json_response, read_json, source_address
from domain.masking import allow
from usecases.clients import AuthFailure, issue_token

bp = func.Blueprint()
TOKEN_BODY = 4096  # client_id, client_secret and a scope fit in far less
TOKEN_LOG = allow("client_id", "clientId", "scope", "grant_type")  # the secret never: not even masked


def _credentials(req: func.HttpRequest) -> tuple[str, str, str | None]:
    """client_id / client_secret from headers, HTTP Basic, a JSON body or a form body."""
    client_id = req.headers.get("client_id") or req.headers.get("client-id")
    secret = req.headers.get("client_secret") or req.headers.get("client-secret")
    scope = req.headers.get("scope")
    authorization = req.headers.get("Authorization") or ""
    if not (client_id and secret) and authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise ApiError(400, "invalid_request", "Authorization: Basic value is not base64 of id:secret") from None
        client_id, _, secret = decoded.partition(":")
    if req.get_body():
        content_type = (req.headers.get("Content-Type") or "").lower()
        looks_like_json = req.get_body().lstrip()[:1] in (b"{", b"[")
        if content_type.startswith("application/x-www-form-urlencoded") and not looks_like_json:
            form = {k: v[0] for k, v in parse_qs(req.get_body().decode("utf-8", "replace")).items()}
        else:
            form = read_json(req)
        if not (client_id and secret):
            client_id = form.get("client_id") or form.get("clientId")
            secret = form.get("client_secret") or form.get("clientSecret")
        scope = scope or form.get("scope")
    if not isinstance(client_id, str) or not isinstance(secret, str) or not client_id or not secret:
        raise ApiError(400, "invalid_request", "client_id and client_secret are required (headers or JSON body)")
    if scope is not None and not isinstance(scope, str):
        raise ApiError(400, "invalid_request", "scope must be a string")
    return client_id, secret, scope


def _token(req: func.HttpRequest, call: Call) -> func.HttpResponse:
    client_id, secret, scope = _credentials(req)
    call.log_fields["ClientId"] = client_id
    try:
        issued = issue_token(
            bootstrap.unit_of_work, bootstrap.token_service(), client_id, secret, scope, bootstrap.utc_now(),
            source_address(req), bootstrap.guess_guard(),
        )
    except AuthFailure as exc:
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        raise ApiError(exc.status, exc.code, exc.message, headers=headers) from None
    body = {
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "scope": issued.scope,
    }
    return json_response(body, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"})


@bp.route(route="auth/token", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@endpoint(max_body=TOKEN_BODY, log_fields=TOKEN_LOG)
def auth_token(req: func.HttpRequest, call: Call) -> func.HttpResponse:
    """Exchange client_id + client_secret for a Bearer token."""
    return _token(req, call)


@bp.route(route="yapago/autenticar", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@endpoint(max_body=TOKEN_BODY, log_fields=TOKEN_LOG)
def yapago_autenticar(req: func.HttpRequest, call: Call) -> func.HttpResponse:
    """The token service under YAPAGO's name."""
    return _token(req, call)


@bp.route(route="auth/me", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@endpoint(ANY_SCOPE)
def auth_me(req: func.HttpRequest, call: Call) -> func.HttpResponse:
    """Who the token belongs to and what it may do: lets a caller check its setup."""
    assert call.principal is not None
    principal = call.principal
    return json_response({"client_id": principal.client_id, "scopes": sorted(s.value for s in principal.scopes)})
