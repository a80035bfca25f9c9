"""Collections management API (`/api/collections-management/v1/...`).

Every route: Bearer token with scope `collections`, the same client's `client_id` /
`client_secret` headers, its table of `X-Invoker-*` headers, then the body. Every error is
answered as `responseType` / `responseDetail` (domain/collections/errors.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import azure.functions as func
from pydantic import BaseModel, ValidationError

import bootstrap
from blueprints.common import ApiError, Call, endpoint, exact_json_response, json_response, read_json
from domain.auth import Scope
from domain.collections.agreements import QUERY
from domain.collections.collection_check import FIELDS as CHECK_FIELDS
from domain.collections.collection_check import CollectionRequest
from domain.collections.errors import (
    FORBIDDEN,
    NO_METHOD,
    NO_ROUTE,
    NULL_INPUT,
    PL_FAILED,
    TRANSFORM,
    UNAUTHORIZED,
    UNEXPECTED,
    CollectionsError,
)
from domain.collections.fields import table_names
from domain.collections.headers import COMMON, check_headers
from domain.collections.models import spanish
from domain.collections.negotiations import FIELDS as NEGOTIATION_FIELDS
from domain.collections.negotiations import NegotiationRequest
from domain.collections.openapi import openapi_document
from domain.collections.policies import FIELDS as POLICY_FIELDS
from domain.collections.policies import PolicyRequest
from domain.collections.profiling import FIELDS as PROFILE_FIELDS
from domain.collections.profiling import ProfileRequest
from domain.masking import allow, fields_of
from usecases.clients import AuthFailure, check_header_credentials
from usecases.collections import (
    check_collection,
    decide_policies,
    find_agreement,
    profile_clients,
    register_negotiation,
)

bp = func.Blueprint()
BASE = "collections-management/v1"
BODY = 64 * 1024  # lists of items: larger than the other APIs' bodies, still far below a MB


def _logged(model: Any, rules: Any) -> Callable[[], frozenset[str]]:
    """A route's ApiLogs allow-list, worked out at its first call: its model's fields and the
    tables' own spellings."""
    return lambda: fields_of(model) | table_names(rules)


NEGOTIATION_LOG = _logged(NegotiationRequest, NEGOTIATION_FIELDS)
PROFILE_LOG = _logged(ProfileRequest, PROFILE_FIELDS)
POLICY_LOG = _logged(PolicyRequest, POLICY_FIELDS)
CHECK_LOG = _logged(CollectionRequest, CHECK_FIELDS)


def collections_error_body(error: ApiError, call: Call) -> dict[str, Any]:
    """Errors raised before a route's own work (auth, JSON, internal) in the spec's shape."""
    if error.status == 401:
        return CollectionsError(UNAUTHORIZED, _in_spanish(error.message)).body()
    if error.status == 403:
        return CollectionsError(FORBIDDEN, _in_spanish(error.message)).body()
    if error.status in (400, 413):
        return CollectionsError(TRANSFORM, _body_in_spanish(error.message)).body()
    return CollectionsError(UNEXPECTED, f"correlationId {call.correlation_id}").body()


_AUTH_REASONS = (  # what auth says (usecases/clients.py, adapters/tokens.py), as this API says it
    ("expired", "token vencido"),
    ("signature", "firma del token invalida"),
    ("lifetime", "token con una vigencia que este servicio no emite"),
    ("unknown scope", "token con un alcance desconocido"),
    ("lacks scope", "el token no tiene el alcance collections"),
    ("revoked", "token revocado: las credenciales del cliente cambiaron, pida uno nuevo"),
    ("disabled", "cliente deshabilitado"),
    ("missing authorization", "falta el header Authorization: Bearer <token>"),
    ("must be 'bearer", "el header Authorization debe ser Bearer <token>"),
    ("headers are required", "faltan los headers client_id y client_secret"),
    ("does not match", "client_id no corresponde al token"),
    ("wrong secret", "cliente desconocido o secreto incorrecto"),
    ("too many", "demasiados intentos fallidos: espere y vuelva a intentar"),
)


_BODY_REASONS = (  # domain/json_body.py's reasons (English: each API words its own answer)
    (r"request body has (\d+) bytes; (?:at most|this route takes at most) (\d+).*",
     r"el cuerpo tiene \1 bytes; este servicio admite a lo sumo \2"),
    (r"request body is empty.*", "el cuerpo esta vacio: se espera un objeto JSON"),
    (r"request body is not UTF-8", "el cuerpo no esta en UTF-8"),
    (r"request body nests arrays/objects deeper than (\d+) levels",
     r"el cuerpo anida listas u objetos a mas de \1 niveles"),
    (r"request body nests too deeply", "el cuerpo anida demasiado"),
    (r"request body is not valid JSON: .* at line (\d+) column (\d+)",
     r"el cuerpo no es JSON valido (linea \1, columna \2)"),
    (r"request body must be a JSON object", "el cuerpo debe ser un objeto JSON"),
    (r"(\S+) is not a JSON value", r"\1 no es un valor JSON"),
    (r"key (.*) appears more than once in an object", r"la clave \1 aparece mas de una vez en un objeto"),
    (r"(.*): contains a control character or an invalid code point", r"\1: tiene un caracter de control o no valido"),
    (r"(.*): a key contains a control character or an invalid code point",
     r"\1: una clave tiene un caracter de control o no valido"),
    (r"(.*): number of (\d+) characters \(at most (\d+)\)", r"\1: numero de \2 caracteres (a lo sumo \3)"),
)  # fmt: skip


def _body_in_spanish(message: str) -> str:
    for pattern, spanish_text in _BODY_REASONS:
        if (found := re.fullmatch(pattern, message)) is not None:
            return found.expand(spanish_text)
    return "el cuerpo no es un objeto JSON valido"


def _in_spanish(message: str) -> str:
    """A 401's reason without the token library's words (a decoding error named a byte)."""
    lowered = message.lower()
    return next((reason for key, reason in _AUTH_REASONS if key in lowered), "token invalido")


def _first_problem(exc: ValidationError) -> CollectionsError:
    error = exc.errors()[0]
    path = ".".join(str(part) if not isinstance(part, int) else f"[{part}]" for part in error["loc"]).replace(".[", "[")
    if error["type"] == "missing":
        return CollectionsError(NULL_INPUT, f"{path} es obligatorio")
    if error["type"] == "extra_forbidden":
        return CollectionsError(TRANSFORM, f"{path} no es un campo de este servicio")
    return CollectionsError(TRANSFORM, f"{path} invalido: {spanish(error)}")


def _guarded(req: func.HttpRequest, call: Call, headers: tuple, work: Callable[[], Any]) -> func.HttpResponse:
    """Header credentials and the route's header table, then `work`; CollectionsError becomes its answer."""
    try:
        assert call.principal is not None
        try:
            check_header_credentials(
                bootstrap.unit_of_work, call.principal, req.headers.get("client_id"), req.headers.get("client_secret"),
                guard=bootstrap.guess_guard(),
            )
        except AuthFailure as exc:
            raise CollectionsError(UNAUTHORIZED, _in_spanish(exc.message)) from None
        check_headers(req.headers, headers)
        try:
            result = work()
        except (ArithmeticError, ValidationError):  # a figure that cannot be computed or exceeds the
            # bounds of an answer (models.Num): the inputs are valid each, their result is not
            raise CollectionsError(PL_FAILED, "no se pudo calcular con los valores enviados") from None
    except CollectionsError as exc:
        call.log_fields["ErrorCode"] = exc.code.code
        return json_response(exc.body(), exc.status)
    body = result.model_dump(exclude_none=True) if isinstance(result, BaseModel) else result
    return exact_json_response(body)


def _parse(model: type[BaseModel], req: func.HttpRequest) -> Any:
    try:
        body = read_json(req)
    except ApiError as exc:
        raise CollectionsError(TRANSFORM, _body_in_spanish(exc.message)) from None
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise _first_problem(exc) from None


@bp.route(route=f"{BASE}/agreement/ics", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@endpoint(Scope.COLLECTIONS, error_body=collections_error_body,
          log_query=allow("acctId", "govIssueIdentType", "identSerialNum"))  # fmt: skip
def collections_agreement(req: func.HttpRequest, call: Call) -> func.HttpResponse:
    """The payment agreement of an account (acctId) or of a holder (govIssueIdentType + identSerialNum)."""

    def work() -> Any:
        sent = {rule.path: req.params.get(rule.path) for rule in QUERY}
        for rule in QUERY:
            value = sent[rule.path]
            if value is not None and value.strip() and (reason := rule.form.check(value)) is not None:
                raise CollectionsError(TRANSFORM, f"{rule.path} invalido: {reason}")
        acct = (sent["acctId"] or "").strip() or None
        kind = str(QUERY[1].form.canonical(sent["govIssueIdentType"])) if sent["govIssueIdentType"] else ""
        number = (sent["identSerialNum"] or "").strip()
        if acct is None and not (kind and number):
            raise CollectionsError(NULL_INPUT, "acctId (o govIssueIdentType e identSerialNum) es obligatorio")
        assert call.principal is not None
        return find_agreement(
            bootstrap.engine(),
            acct,
            (kind, number) if acct is None else None,
            call.principal.client_id,
            bootstrap.utc_now,
        )

    return _guarded(req, call, COMMON, work)


@bp.route(route=f"{BASE}/negotiations", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@endpoint(Scope.COLLECTIONS, error_body=collections_error_body, max_body=BODY, log_fields=NEGOTIATION_LOG)
def collections_negotiations(req: func.HttpRequest, call: Call) -> func.HttpResponse:
    """Register a negotiation mark for a core (BM, SLP, OTC, OCR) and tool (strategyType)."""

    def work() -> Any:
        parsed = _parse(NegotiationRequest, req)
        assert call.principal is not None
        return register_negotiation(bootstrap.engine(), parsed, call.principal.client_id, bootstrap.utc_now)

    return _guarded(req, call, COMMON, work)


@bp.route(route=f"{BASE}/negotiations/profile", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@endpoint(Scope.COLLECTIONS, error_body=collections_error_body, max_body=BODY, log_fields=PROFILE_LOG)
def collections_profile(req: func.HttpRequest, call: Call) -> func.HttpResponse:
    """Profiling (motor de decision): payment capacity of each listValidation item."""

    def work() -> Any:
        parsed = _parse(ProfileRequest, req)
        assert call.principal is not None
        return profile_clients(
            bootstrap.engine(), parsed, bootstrap.decision_rules(), call.principal.client_id, bootstrap.utc_now
        )

    return _guarded(req, call, COMMON, work)


@bp.route(route=f"{BASE}/negotiations/policies", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@endpoint(Scope.COLLECTIONS, error_body=collections_error_body, max_body=BODY, log_fields=POLICY_LOG)
def collections_policies(req: func.HttpRequest, call: Call) -> func.HttpResponse:
    """Policies (AppPolicies): viability ("primer momento") or the recalculated plan of each item."""

    def work() -> Any:
        parsed = _parse(PolicyRequest, req)
        assert call.principal is not None
        return decide_policies(
            bootstrap.engine(), parsed, bootstrap.decision_rules(), call.principal.client_id, bootstrap.utc_now
        )

    return _guarded(req, call, COMMON, work)


def collection_error_body(error: ApiError, call: Call) -> dict[str, Any]:
    """As collections_error_body; an internal error is `ER500`, as the collection check's example shows."""
    body = collections_error_body(error, call)
    if error.status >= 500:
        body["responseType"]["value"] = "ER500"
    return body


@bp.route(route=f"{BASE}/collection", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@endpoint(Scope.COLLECTIONS, error_body=collection_error_body, max_body=BODY, log_fields=CHECK_LOG)
def collections_collection(req: func.HttpRequest, call: Call) -> func.HttpResponse:
    """Collection check for banking agents: holder, amounts and an approval id for a convenio reference."""

    def work() -> Any:
        parsed = _parse(CollectionRequest, req)
        assert call.principal is not None
        token = (req.headers.get("Authorization") or "").partition(" ")[2].strip()
        return check_collection(
            bootstrap.engine(), parsed, req.headers, token, call.principal.client_id, bootstrap.utc_now
        )

    return _guarded(req, call, (), work)


@bp.route(route=f"{BASE}/openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@endpoint(log_call=False)
def collections_openapi(req: func.HttpRequest, call: Call) -> func.HttpResponse:
    """The OpenAPI 3.1 document of these routes."""
    return func.HttpResponse(json.dumps(openapi_document(), indent=2), mimetype="application/json", charset="utf-8")


# Every route of the API and its method: any other path or method under BASE is answered by
# collections_unknown in the spec's error shape (the hosts' own 404/405 have an empty body).
ROUTES = {
    "agreement/ics": "GET", "negotiations": "POST", "negotiations/profile": "POST",
    "negotiations/policies": "POST", "collection": "POST", "openapi.json": "GET",
}  # fmt: skip


@bp.route(route=f"{BASE}/{{*rest}}", auth_level=func.AuthLevel.ANONYMOUS)
@endpoint(error_body=collections_error_body, log_query=allow())
def collections_unknown(req: func.HttpRequest, call: Call) -> func.HttpResponse:
    """A path or method the API does not have: 404 or 405 (with Allow), as responseType/responseDetail.
    The literal routes above win over this one in the Functions host and in the local host."""
    rest = (req.route_params.get("rest") or "").strip("/")
    method = next((m for path, m in ROUTES.items() if path.lower() == rest.lower()), None)
    if method is None:
        error = CollectionsError(NO_ROUTE, f"{BASE}/{rest[:80]} no es un servicio de esta API")
        return json_response(error.body(), error.status)
    error = CollectionsError(NO_METHOD, f"{BASE}/{rest} se llama con {method}")
    return json_response(error.body(), error.status, headers={"Allow": method})
