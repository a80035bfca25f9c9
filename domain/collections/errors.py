"""The spec's error catalogue and the `responseType` / `responseDetail` error shape.

The spec gives codes and descriptions but no HTTP statuses ("TBD"); the statuses here are
the project's (docs/decisions.md). Every error answer of the API is one of these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel


@dataclass(frozen=True)
class ErrorCode:
    code: str
    error_type: str
    description: str
    status: int


PL_FAILED = ErrorCode("10001", "OTR", "Error al ejecutar el PL", 422)  # a decision cannot be computed
NULL_INPUT = ErrorCode("10002", "OTR", "El objeto de Entrada es nulo", 400)  # a required field or header is missing
TRANSFORM = ErrorCode("10007", "OTR", "Error al transformar", 400)  # a field or header has a bad value
BUREAU = ErrorCode("10101", "OTR", "Error en la Consulta del Buro", 502)  # reserved: no bureau is wired
UNEXPECTED = ErrorCode("15001", "OTR", "Error en inesperado en el procesamiento del servicio", 500)
NO_ACCOUNT = ErrorCode("00502", "DBA", "CUENTA NO EXISTE.", 404)
UNAUTHORIZED = ErrorCode("401", "SEG", "Credenciales invalidas o ausentes", 401)
FORBIDDEN = ErrorCode("403", "SEG", "El cliente no tiene permiso para este servicio", 403)
NO_ROUTE = ErrorCode("404", "OTR", "Servicio no existe", 404)  # project: a path no route of the API has
NO_METHOD = ErrorCode("405", "OTR", "Metodo no admitido", 405)  # project: a route called with another method
# in the spec's catalogue, never answered here: profiling and policies consult no bureau
# (CIFIN / Datacredito); kept so that the code keeps its meaning if one is wired
RESERVED = (BUREAU,)
CATALOGUE = (PL_FAILED, NULL_INPUT, TRANSFORM, BUREAU, UNEXPECTED, NO_ACCOUNT, UNAUTHORIZED, FORBIDDEN, NO_ROUTE,
             NO_METHOD)  # fmt: skip


class CollectionsError(Exception):
    """An error answer: the code and a detail that names the field or header and the reason."""

    def __init__(self, code: ErrorCode, detail: str = "", response_type: str = "ER") -> None:
        super().__init__(f"{code.code} {detail}")
        self.code = code
        self.detail = detail
        self.response_type = response_type

    @property
    def status(self) -> int:
        return self.code.status

    def body(self) -> dict[str, Any]:
        desc = self.code.description if not self.detail else f"{self.code.description}: {self.detail}"
        return {
            "responseType": {"value": self.response_type},
            "responseDetail": {"errorCode": self.code.code, "errorDesc": desc, "errorType": self.code.error_type},
        }


class ResponseType(BaseModel):
    value: str


class ResponseDetail(BaseModel):
    errorCode: str
    errorDesc: str
    errorType: str


class ErrorResponse(BaseModel):
    """Every error answer of the collections API."""

    responseType: ResponseType
    responseDetail: ResponseDetail
