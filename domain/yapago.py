"""The YAPAGO API's contract: request and response models, the codResp catalogue, money.

The spec gives only the consulta response and the pago request; NOTES.md decides the
rest. Every answer carries `codResp` and `desResp`; each code has one HTTP status
(`CODES`), documented in the OpenAPI document generated from these models.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

LIMA = ZoneInfo("America/Lima")
MAX_AMOUNT = Decimal("9999999999.99")  # (12,2) as in the debt file


@dataclass(frozen=True)
class Code:
    code: str
    status: int
    message: str


OK = Code("00", 200, "Ok")
BAD_JSON = Code("10", 400, "Solicitud mal formada: el cuerpo no es JSON valido")
BAD_FIELD = Code("11", 400, "Campo faltante o invalido")
BAD_AMOUNT = Code("12", 400, "Importe invalido: debe ser mayor que 0 y tener a lo mas dos decimales")
UNKNOWN_COMPANY = Code("20", 404, "Empresa no existe")
UNKNOWN_SERVICE = Code("21", 404, "Servicio no existe para la empresa")
UNKNOWN_BANK = Code("22", 404, "Banco sin cuenta de recaudacion para la empresa o el servicio")
BANK_NOT_ALLOWED = Code("23", 403, "El cliente de la API no puede operar por ese banco")
NO_DEBTS = Code("30", 404, "Cliente sin deudas pendientes")
DEBT_NOT_FOUND = Code("31", 404, "Deuda no encontrada para el cliente")
ALREADY_PAID = Code("32", 409, "Deuda ya pagada")
BELOW_MINIMUM = Code("33", 422, "Importe menor al pago minimo")
ABOVE_BALANCE = Code("34", 422, "Importe mayor al saldo pendiente")
WRONG_CURRENCY = Code("35", 422, "Moneda no corresponde a la deuda")
OPERATION_CONFLICT = Code("40", 409, "Numero de operacion ya usado con otros datos")
PAYMENT_NOT_FOUND = Code("41", 404, "Pago no encontrado para ese banco, empresa, servicio y documento")
ALREADY_REVERSED = Code("42", 409, "Pago ya extornado")
UNAUTHORIZED = Code("90", 401, "No autenticado: token ausente, invalido o vencido")
FORBIDDEN = Code("91", 403, "Token sin permiso para YAPAGO")
INTERNAL = Code("99", 500, "Error interno; reintente con el mismo numeroOperacion")

CODES: tuple[Code, ...] = (
    OK, BAD_JSON, BAD_FIELD, BAD_AMOUNT, UNKNOWN_COMPANY, UNKNOWN_SERVICE, UNKNOWN_BANK, BANK_NOT_ALLOWED, NO_DEBTS,
    DEBT_NOT_FOUND, ALREADY_PAID, BELOW_MINIMUM, ABOVE_BALANCE, WRONG_CURRENCY, OPERATION_CONFLICT,
    PAYMENT_NOT_FOUND, ALREADY_REVERSED, UNAUTHORIZED, FORBIDDEN, INTERNAL,
)  # fmt: skip


class Answer(Exception):
    """A finished answer (success or not) travelling up from a use case."""

    def __init__(self, code: Code, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or code.message)
        self.code = code
        self.detail = detail or code.message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"codResp": self.code.code, "desResp": self.detail, **self.extra}


# -- field types --------------------------------------------------------------------------------


def _int_as_text(value: Any) -> Any:
    """Banks send identifiers as "801" or 801: accept both, keep text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _digits(min_len: int, max_len: int) -> Any:
    return Annotated[str, BeforeValidator(_int_as_text), Field(pattern=rf"^[0-9]{{{min_len},{max_len}}}$")]


CompanyId = _digits(1, 7)
BankId = _digits(4, 4)
ChannelId = _digits(2, 2)
ServiceCode = Annotated[str, BeforeValidator(_int_as_text), Field(pattern=r"^00[1-4]$")]
QueryId = Annotated[str, BeforeValidator(_int_as_text), Field(pattern=r"^[A-Za-z0-9]{1,20}$")]
OperationNumber = Annotated[
    str, BeforeValidator(_int_as_text), Field(pattern=r"^[A-Za-z0-9]{1,12}$")
]  # 12: the payment file field
Document = Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,16}$")]
TxnDate = Annotated[str, Field(pattern=r"^[0-9]{8}$", description="DDMMYYYY")]
TxnTime = Annotated[str, Field(pattern=r"^[0-9]{6}$", description="HHMMSS, 24 h")]


def parse_txn_time(day: str, hour: str) -> datetime:
    """fechaTxn + horaTxn as an America/Lima timestamp; ValueError names the part."""
    try:
        when_day = date(int(day[4:8]), int(day[2:4]), int(day[0:2]))
    except ValueError:
        raise ValueError("fechaTxn no es una fecha valida DDMMAAAA") from None
    try:
        when_time = time(int(hour[0:2]), int(hour[2:4]), int(hour[4:6]))
    except ValueError:
        raise ValueError("horaTxn no es una hora valida HHMMSS") from None
    return datetime.combine(when_day, when_time, LIMA)


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class ConsultaRequest(_Request):
    idConsulta: QueryId = Field(description="Codigo de cliente, DNI, RUC o Identificador 04, sin ceros a la izquierda")
    tipoConsulta: Annotated[Literal["0"], BeforeValidator(_int_as_text)] = Field(description="Siempre 0")
    idEmpresa: CompanyId
    idBanco: BankId
    idCanal: ChannelId
    servicio: ServiceCode | None = Field(default=None, description="Opcional: solo las deudas de ese servicio")


class PagoRequest(_Request):
    fechaTxn: TxnDate
    horaTxn: TxnTime
    idCanal: ChannelId
    idForma: Annotated[str, BeforeValidator(_int_as_text), Field(pattern=r"^0[1-4]$")] = Field(
        description="01 efectivo, 02 debito, 03 credito, 04 cheque"
    )
    numeroOperacion: OperationNumber
    idConsulta: QueryId
    servicio: ServiceCode
    numeroDocumento: Document
    importePagado: Decimal = Field(description="Importe, a lo mas dos decimales, mayor que 0")
    moneda: Literal["1", "2"] = Field(description="1 soles, 2 dolares")
    idEmpresa: CompanyId
    idBanco: BankId
    voucher: Annotated[str, Field(max_length=40)] = ""
    referenciaDeuda: Annotated[Annotated[str, Field(max_length=20)] | None, BeforeValidator(_int_as_text)] = Field(
        default=None, description="idDeuda devuelto por la consulta; solo referencial"
    )

    @field_validator("importePagado", mode="before")
    @classmethod
    def _amount(cls, value: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
            raise ValueError("debe ser un numero")
        try:
            amount = Decimal(str(value)) if not isinstance(value, Decimal) else value
        except InvalidOperation:
            raise ValueError("debe ser un numero") from None
        if not amount.is_finite() or amount <= 0 or amount > MAX_AMOUNT:
            raise ValueError(f"debe ser mayor que 0 y a lo mas {MAX_AMOUNT}")
        if amount != amount.quantize(Decimal("0.01")):
            raise ValueError("tiene mas de dos decimales")
        return amount

    @property
    def amount_cents(self) -> int:
        return int(self.importePagado * 100)


class ReversaRequest(_Request):
    idEmpresa: CompanyId
    idBanco: BankId
    numeroOperacion: OperationNumber = Field(description="El numeroOperacion del pago que se extorna")
    fechaTxn: TxnDate
    horaTxn: TxnTime
    idCanal: ChannelId
    servicio: ServiceCode
    numeroDocumento: Document


class DeudaItem(BaseModel):
    idDeuda: str
    servicio: str
    documento: str
    descripcionDoc: str
    fechaVencimiento: str = Field(description="DDMMYYYY")
    fechaEmision: str = Field(description="DDMMYYYY")
    deuda: str = Field(description="Saldo pendiente, dos decimales")
    pagoMinimo: str = Field(description="Dos decimales")
    moneda: Literal["1", "2"]


class ConsultaResponse(BaseModel):
    cliente: str
    deudas: list[DeudaItem]
    codResp: str
    desResp: str


class OperacionResponse(BaseModel):
    codResp: str
    desResp: str
    numeroOperacion: str
    idPago: str


class ErrorResponse(BaseModel):
    codResp: str
    desResp: str
    numeroOperacion: str | None = Field(default=None, description="En pago y reversa, el numeroOperacion recibido")


def accounting_date(booked_at: datetime, cutoff_hour: int) -> date:
    """The FTR's accounting day of a booking: its America/Lima day, or the next one from the cut-off hour on."""
    local = booked_at.astimezone(LIMA)
    day = local.date()
    return day + timedelta(days=1) if local.hour >= cutoff_hour else day


def money(cents: int) -> str:
    """Cents as the API's amount text: 10099 -> "100.99"."""
    return f"{cents // 100}.{cents % 100:02d}"


def ddmmyyyy(value: date) -> str:
    return value.strftime("%d%m%Y")


def query_variants(query_id: str) -> list[str]:
    """Client codes an idConsulta may stand for: leading zeros are ignored on both sides."""
    bare = query_id.lstrip("0")
    return [("0" * pad) + bare for pad in range(0, 15 - len(bare)) if pad + len(bare) > 0]


_FIELD = re.compile(r"^[A-Za-z0-9]+$")


def invalid_request(exc: ValidationError) -> Answer:
    """The first problem of a request, named (code 12 for the amount, 11 for the rest)."""
    problems = []
    for error in exc.errors():
        name = ".".join(str(p) for p in error["loc"] if isinstance(p, str) and _FIELD.match(p)) or "cuerpo"
        if error["type"] == "missing":
            problems.append((name, f"falta el campo {name}"))
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append((name, f"{name}: {message}"))
    amount = [text for name, text in problems if name == "importePagado"]
    if amount:
        return Answer(BAD_AMOUNT, f"{BAD_AMOUNT.message} ({amount[0]})")
    return Answer(BAD_FIELD, "; ".join(text for _, text in problems))
