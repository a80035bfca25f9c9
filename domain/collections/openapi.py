"""The OpenAPI 3.1 document of the collections routes, generated from the pydantic models
and the header tables. Checked in as docs/collections-openapi.json (a test fails when it is
stale) and served at GET /api/collections-management/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from domain.collections.agreements import QUERY, Agreement
from domain.collections.collection_check import CollectionRequest, CollectionResponse
from domain.collections.errors import CATALOGUE, RESERVED, ErrorResponse
from domain.collections.headers import COLLECTION, COMMON, Header, schema_of
from domain.collections.negotiations import NegotiationRequest, NegotiationResponse
from domain.collections.policies import PolicyRequest, PolicyResponse
from domain.collections.profiling import ProfileRequest, ProfileResponse

BASE = "/collections-management/v1"
_MODELS: list[type[BaseModel]] = [
    Agreement, NegotiationRequest, NegotiationResponse, ProfileRequest, ProfileResponse, PolicyRequest,
    PolicyResponse, CollectionRequest, CollectionResponse, ErrorResponse,
]  # fmt: skip
_CREDENTIALS = [
    {"name": "client_id", "in": "header", "required": True, "schema": {"type": "string"}},
    {"name": "client_secret", "in": "header", "required": True, "schema": {"type": "string"}},
]


def _ref(model: type) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _headers(table: tuple[Header, ...]) -> list[dict[str, Any]]:
    return _CREDENTIALS + [schema_of(h) for h in table if h.name != "Accept"]


def _errors(*codes: str) -> dict[str, Any]:
    by_status: dict[int, list[str]] = {}
    for code in CATALOGUE:
        if code.code in codes:
            by_status.setdefault(code.status, []).append(f"{code.code} {code.description}")
    return {
        str(status): {"description": "; ".join(lines), "content": {"application/json": {"schema": _ref(ErrorResponse)}}}
        for status, lines in sorted(by_status.items())
    }


_ALWAYS = ("401", "403", "10002", "10007", "15001")
BODY_LIMIT = "64 KiB"  # blueprints/collections.py BODY
# a body over the route's limit: refused before it is read, as 10007 with its size
_TOO_LARGE = {"413": {"description": f"10007 Error al transformar: el cuerpo supera {BODY_LIMIT}",
                      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}}


def _post(
    operation: str, summary: str, request: type, response: type, *codes: str, headers: tuple[Header, ...] = COMMON
) -> dict[str, Any]:
    return {"post": {
        "operationId": operation,
        "summary": summary,
        "security": [{"bearer": []}],
        "parameters": _headers(headers),
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(request)}}},
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": _ref(response)}}},
                      **_errors(*_ALWAYS, *codes), **_TOO_LARGE},
    }}  # fmt: skip


def openapi_document() -> dict[str, Any]:
    _, definitions = models_json_schema(
        [(m, "validation" if m.__name__.endswith("Request") else "serialization") for m in _MODELS],
        ref_template="#/components/schemas/{model}",
    )
    for schema in definitions["$defs"].values():  # pydantic's titles repeat the names ("Acctid")
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
    codes = "\n".join(
        f"| {c.code} | {c.error_type} | {c.status} | {c.description}"
        f"{' (reservado: no se consulta un buro; nunca se responde)' if c in RESERVED else ''} |"
        for c in CATALOGUE
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Collections-Management-Api-Services",
            "version": "1.0.0",
            "description": (
                "Convenios, marcas de negociacion, perfilamiento, politicas y consulta de recaudo. Token con "
                "POST /api/auth/token (scope collections); cada llamada envia `Authorization: Bearer <token>` y las "
                "cabeceras client_id y client_secret del mismo cliente.\n\n"
                "| errorCode | errorType | HTTP | descripcion |\n|---|---|---|---|\n" + codes
            ),
        },
        "servers": [{"url": "/api"}],
        "paths": {
            f"{BASE}/agreement/ics": {"get": {
                "operationId": "collections_agreement",
                "summary": "Convenio de pago de una cuenta",
                "security": [{"bearer": []}],
                "parameters": [
                    *({"name": rule.path, "in": "query", "required": False, "schema": rule.form.schema(),
                       "description": f"{rule.words}. Formas: {rule.form.words}."} for rule in QUERY),
                    *_headers(COMMON),
                ],
                "responses": {"200": {"description": "El convenio", "content": {"application/json": {
                    "schema": _ref(Agreement)}}}, **_errors(*_ALWAYS, "00502")},
            }},
            f"{BASE}/negotiations": {"post": {
                "operationId": "collections_negotiations",
                "summary": "Registra una marca de negociacion (BM, SLP, OTC, OCR)",
                "security": [{"bearer": []}],
                "parameters": _headers(COMMON),
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": _ref(NegotiationRequest)}}},
                "responses": {"200": {"description": "La marca, Received o Rejected con el motivo", "content": {
                    "application/json": {"schema": _ref(NegotiationResponse)}}}, **_errors(*_ALWAYS), **_TOO_LARGE},
            }},
            f"{BASE}/negotiations/profile": _post(
                "collections_profile", "Perfilamiento (motor de decision): capacidad de pago de cada item",
                ProfileRequest, ProfileResponse, "10001",
            ),
            f"{BASE}/negotiations/policies": _post(
                "collections_policies", "Politicas: viabilidad (primer momento) o recalculo de cada item",
                PolicyRequest, PolicyResponse, "10001",
            ),
            f"{BASE}/collection": _post(
                "collections_collection",
                "Consulta de recaudo (corresponsal bancario): titular, valores y numero de autorizacion; errores"
                " internos con responseType ER500",
                CollectionRequest, CollectionResponse, "00502", headers=COLLECTION,
            ),
        },
        "components": {
            "schemas": definitions["$defs"],
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }  # fmt: skip
