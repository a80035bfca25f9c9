"""The OpenAPI 3.1 document of the YAPAGO routes, generated from the pydantic models.

Checked in as docs/yapago-openapi.json (a test fails when it is stale) and served at
GET /api/yapago/openapi.json.
"""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from domain.yapago import (
    CODES,
    ConsultaRequest,
    ConsultaResponse,
    ErrorResponse,
    OperacionResponse,
    PagoRequest,
    ReversaRequest,
)

_MODELS = [ConsultaRequest, ConsultaResponse, PagoRequest, ReversaRequest, OperacionResponse, ErrorResponse]
_ERRORS = {  # route -> codes it can answer besides 00
    "consulta": ["10", "11", "13", "20", "21", "22", "23", "30", "36", "90", "91", "99"],
    "pago": [
        "10", "11", "12", "13", "20", "21", "22", "23", "31", "32", "33", "34", "35", "36", "40", "42", "43", "90",
        "91", "99",
    ],
    "reversa": ["10", "11", "13", "20", "21", "22", "23", "40", "41", "90", "91", "99"],
}


def _ref(model: type) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _responses(route: str, ok_model: type) -> dict[str, Any]:
    by_status: dict[int, list[str]] = {}
    for code in CODES:
        if code.code in _ERRORS[route]:
            by_status.setdefault(code.status, []).append(f"{code.code} {code.message}")
    responses: dict[str, Any] = {
        "200": {"description": "codResp 00 Ok", "content": {"application/json": {"schema": _ref(ok_model)}}}
    }
    for status, lines in sorted(by_status.items()):
        responses[str(status)] = {
            "description": "codResp " + "; ".join(lines),
            "content": {"application/json": {"schema": _ref(ErrorResponse)}},
        }
    return responses


def _operation(route: str, summary: str, request: type, ok: type) -> dict[str, Any]:
    return {
        "post": {
            "operationId": f"yapago_{route}",
            "summary": summary,
            "security": [{"bearer": []}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(request)}}},
            "responses": _responses(route, ok),
        }
    }


def openapi_document() -> dict[str, Any]:
    _, definitions = models_json_schema(
        [(m, "validation" if m.__name__.endswith("Request") else "serialization") for m in _MODELS],
        ref_template="#/components/schemas/{model}",
    )
    codes = "\n".join(f"| {c.code} | {c.status} | {c.message} |" for c in CODES)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "YAPAGO - repositorio de deudas ASBANC",
            "version": "1.0.0",
            "description": (
                "Consulta, pago y extorno (reversa) de deudas cargadas por las empresas. Obtenga un token con "
                "POST /api/yapago/autenticar (client_id y client_secret) y envie `Authorization: Bearer <token>`.\n\n"
                "Idempotencia: una operacion es (idBanco, numeroOperacion, fechaTxn). Repetir un pago exitoso con "
                "los mismos datos y la misma fechaTxn (horaTxn e idCanal pueden cambiar: son de la transmision) "
                "devuelve la primera respuesta (200, codResp 00) sin cambiar nada; con otros datos responde 40. "
                "El mismo numeroOperacion con otra fechaTxn es una operacion nueva (bancos que reinician su "
                "numeracion por dia o por terminal), salvo que no se distinga de un reintento que cambio de fecha: "
                "los mismos datos, fechaTxn del dia anterior o siguiente, el primero recibido hace poco; esa "
                "responde 43 (un reintento conserva la fechaTxn original). Un pago repetido despues de su extorno "
                "responde 42 con su idPago. Un extorno nombra el pago por idBanco, numeroOperacion, servicio y "
                "numeroDocumento (su fechaTxn es la del extorno); si ese numero tiene pagos de ese documento en "
                "varias fechas, fechaTxnPago dice cual (11 si falta). Repetir un extorno devuelve su primera "
                "respuesta. Un idConsulta es un solo cliente: como codigo de cliente si la empresa lo tiene, si "
                "no como DNI, RUC o Identificador 04; si estos nombran a varios clientes responde 36. "
                "Un rechazo no cambia nada y no se guarda: reintentarlo se evalua de nuevo.\n\n"
                "Entrada: JSON UTF-8 de a lo mas 16 KiB (13 si mas), anidado a lo mas 32 niveles, numeros de a lo "
                "mas 40 caracteres, sin claves repetidas ni caracteres de control en los textos (10 u 11 si no). "
                "Importes: digitos ASCII, a lo mas dos decimales, sin signo ni exponente (12 si no).\n\n"
                "| codResp | HTTP | significado |\n|---|---|---|\n" + codes
            ),
        },
        "servers": [{"url": "/api"}],
        "paths": {
            "/yapago/autenticar": {
                "post": {
                    "operationId": "yapago_autenticar",
                    "summary": "client_id + client_secret (cabeceras o JSON) a token Bearer",
                    "requestBody": {"required": False, "content": {"application/json": {"schema": {
                        "type": "object",
                        "properties": {"client_id": {"type": "string"}, "client_secret": {"type": "string"}},
                    }}}},
                    "responses": {
                        "200": {"description": "Token", "content": {"application/json": {"schema": {
                            "type": "object",
                            "required": ["access_token", "token_type", "expires_in"],
                            "properties": {"access_token": {"type": "string"}, "token_type": {"const": "Bearer"},
                                           "expires_in": {"type": "integer"}, "scope": {"type": "string"}},
                        }}}},
                        "400": {"description": "Credenciales faltantes o mal formadas"},
                        "401": {"description": "Cliente desconocido o secreto incorrecto"},
                    },
                }
            },
            "/yapago/consulta": _operation(
                "consulta", "Deudas pendientes de un cliente", ConsultaRequest, ConsultaResponse
            ),
            "/yapago/pago": _operation("pago", "Paga una deuda", PagoRequest, OperacionResponse),
            "/yapago/reversa": _operation("reversa", "Extorna (anula) un pago", ReversaRequest, OperacionResponse),
        },
        "components": {
            "schemas": definitions["$defs"],
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }  # fmt: skip
