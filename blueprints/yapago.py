"""YAPAGO API: consulta, pago and reversa (autenticar lives with the token service)."""

import json
from collections.abc import Callable
from typing import Any

import azure.functions as func
from pydantic import BaseModel, ValidationError

import bootstrap
from adapters import telemetry
from blueprints.common import ApiError, Call, endpoint, json_response, read_json
from domain.auth import Scope
from domain.masking import fields_of
from domain.yapago import (
    BAD_JSON,
    BANK_NOT_ALLOWED,
    BODY_TOO_LARGE,
    FORBIDDEN,
    INTERNAL,
    UNAUTHORIZED,
    Answer,
    ConsultaRequest,
    PagoRequest,
    ReversaRequest,
    invalid_request,
    invalid_value,
)
from domain.yapago_openapi import openapi_document
from usecases.yapago import Reply, consulta, pago, reversa

bp = func.Blueprint()


def yapago_error_body(error: ApiError, call: Call) -> dict[str, Any]:
    """Errors raised before a use case (auth, JSON, internal) in YAPAGO's shape."""
    if error.status == 401:
        code, message = UNAUTHORIZED, f"{UNAUTHORIZED.message} ({error.message})"
    elif error.status == 403:
        code, message = FORBIDDEN, FORBIDDEN.message
    elif error.code == "invalid_field":
        body = invalid_value(error.extra["field"], error.problem or "").body()
        call.log_fields["CodResp"] = body["codResp"]
        return body
    elif error.status == 400:
        code, message = BAD_JSON, error.message
    elif error.status == 413:
        code, message = BODY_TOO_LARGE, f"{BODY_TOO_LARGE.message} ({error.message})"
    else:
        code, message = INTERNAL, f"{INTERNAL.message} (correlationId {call.correlation_id})"
    call.log_fields["CodResp"] = code.code  # the console counts the day's answers by it
    return {"codResp": code.code, "desResp": message}


def _handle(
    req: func.HttpRequest, call: Call, model: type[BaseModel], run: Callable[[Any], Reply]
) -> func.HttpResponse:
    body = read_json(req)
    try:
        parsed = model.model_validate(body)
    except ValidationError as exc:
        reply = Reply.of(invalid_request(exc))
    else:
        assert call.principal is not None
        if call.principal.may_act_for(parsed.idBanco):
            reply = run(parsed)
        else:
            reply = Reply.of(Answer(BANK_NOT_ALLOWED, f"{BANK_NOT_ALLOWED.message} ({parsed.idBanco})"))
    operation = model.__name__.removesuffix("Request").lower()
    call.log_fields["CodResp"] = str(reply.body.get("codResp", ""))
    telemetry.count("yapago.requests", operation=operation, codResp=call.log_fields["CodResp"])
    return json_response(reply.body, reply.status)


@bp.route(route="yapago/consulta", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@endpoint(Scope.YAPAGO, error_body=yapago_error_body, log_fields=lambda: fields_of(ConsultaRequest))
def yapago_consulta(req: func.HttpRequest, call: Call) -> func.HttpResponse:
    """Pending debts of a client (by client code, DNI, RUC or Identificador 04)."""
    return _handle(req, call, ConsultaRequest, lambda r: consulta(bootstrap.engine(), bootstrap.company_setups(), r))


@bp.route(route="yapago/pago", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@endpoint(Scope.YAPAGO, error_body=yapago_error_body, log_fields=lambda: fields_of(PagoRequest))
def yapago_pago(req: func.HttpRequest, call: Call) -> func.HttpResponse:
    """Pay one debt; idempotent on (idBanco, numeroOperacion)."""
    return _handle(
        req, call, PagoRequest, lambda r: pago(bootstrap.engine(), bootstrap.company_setups(), r, bootstrap.utc_now)
    )


@bp.route(route="yapago/reversa", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@endpoint(Scope.YAPAGO, error_body=yapago_error_body, log_fields=lambda: fields_of(ReversaRequest))
def yapago_reversa(req: func.HttpRequest, call: Call) -> func.HttpResponse:
    """Reverse (extorno) a payment and give its amount back to the balance."""
    return _handle(
        req,
        call,
        ReversaRequest,
        lambda r: reversa(bootstrap.engine(), bootstrap.company_setups(), r, bootstrap.utc_now),
    )


@bp.route(route="yapago/openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@endpoint(log_call=False)
def yapago_openapi(req: func.HttpRequest, call: Call) -> func.HttpResponse:
    """The OpenAPI 3.1 document of these routes."""
    return func.HttpResponse(json.dumps(openapi_document(), indent=2), mimetype="application/json", charset="utf-8")
