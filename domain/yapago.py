"""The YAPAGO API's contract: request and response models, the codResp catalogue, money.

The spec gives only the consulta response and the pago request; NOTES.md decides the
rest. Every answer carries `codResp` and `desResp`; each code has one HTTP status
(`CODES`), documented in the OpenAPI document generated from these models.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, WithJsonSchema, field_validator

from domain.amounts import amount_schema, parse_amount
from domain.layouts.payments import PAYMENT

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
BODY_TOO_LARGE = Code("13", 413, "Solicitud demasiado grande")
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
AMBIGUOUS_CLIENT = Code("36", 409, "idConsulta corresponde a varios clientes: consulte por codigo de cliente")
OPERATION_CONFLICT = Code("40", 409, "Numero de operacion ya usado con otros datos")
PAYMENT_NOT_FOUND = Code("41", 404, "Pago no encontrado para ese banco, empresa, servicio y documento")
ALREADY_REVERSED = Code("42", 409, "Pago ya extornado")
RETRY_NEW_DATE = Code(
    "43", 409, "numeroOperacion ya usado el dia contiguo con los mismos datos: un reintento conserva su fechaTxn"
)
UNAUTHORIZED = Code("90", 401, "No autenticado: token ausente, invalido o vencido")
FORBIDDEN = Code("91", 403, "Token sin permiso para YAPAGO")
INTERNAL = Code("99", 500, "Error interno; reintente con el mismo numeroOperacion")

CODES: tuple[Code, ...] = (
    OK, BAD_JSON, BAD_FIELD, BAD_AMOUNT, BODY_TOO_LARGE, UNKNOWN_COMPANY, UNKNOWN_SERVICE, UNKNOWN_BANK,
    BANK_NOT_ALLOWED, NO_DEBTS, DEBT_NOT_FOUND, ALREADY_PAID, BELOW_MINIMUM, ABOVE_BALANCE, WRONG_CURRENCY,
    AMBIGUOUS_CLIENT, OPERATION_CONFLICT, PAYMENT_NOT_FOUND, ALREADY_REVERSED, RETRY_NEW_DATE, UNAUTHORIZED,
    FORBIDDEN, INTERNAL,
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


def _text(pattern: str, description: str, *, pad: int = 0, integers: tuple[int, int] | list[int] | None = None,
          max_length: int | None = None) -> Any:  # fmt: skip
    """A text field: its one pattern, read by the validator and written into the OpenAPI document.

    `integers` says which JSON integers are accepted for it (as their digits, zero-padded to
    `pad`: a servicio sent as 1 is "001", as the mapping tables write it): a (min, max) range
    or the list of values; the document lists them as the integer alternative.
    """

    def as_text(value: Any) -> Any:
        if integers is not None and isinstance(value, Decimal) and value.is_finite() and value == value.to_integral():
            value = int(value)  # 655.0 is an integer to JSON Schema, so it is one here
        if integers is not None and isinstance(value, int) and not isinstance(value, bool):
            return str(value).zfill(pad) if value >= 0 else str(value)
        return value

    schema: dict[str, Any] = {"type": "string", "pattern": pattern}
    if max_length is not None:
        schema["maxLength"] = max_length
    if integers is not None:
        number: dict[str, Any] = (
            {"type": "integer", "enum": list(integers)} if isinstance(integers, list)
            else {"type": "integer", "minimum": integers[0], "maximum": integers[1]}
        )  # fmt: skip
        schema = {"anyOf": [schema, number]}
    return Annotated[
        str,
        BeforeValidator(as_text),
        Field(pattern=pattern, max_length=max_length, description=description),
        WithJsonSchema({**schema, "description": description}),
    ]


def _catalogue(field: str, description: str, pad: int) -> Any:
    """A code from the payment file's catalogue for that field (the request's value is written there)."""
    choices = PAYMENT.field(field).choices
    assert choices, field
    return _text("^(" + "|".join(choices) + ")$", description, pad=pad, integers=[int(c) for c in choices])


# DDMMYYYY, a real day (29/02 in leap years only), years 1000-9999; HHMMSS on a 24 h clock.
_YEAR = "[1-9][0-9]{3}"
_LEAP = "([1-9][0-9](0[48]|[2468][048]|[13579][26])|([2468][048]|[13579][26])00)"
DATE_PATTERN = (
    f"^((0[1-9]|1[0-9]|2[0-8])(0[1-9]|1[0-2]){_YEAR}|(29|30)(0[13-9]|1[0-2]){_YEAR}"
    f"|31(0[13578]|1[02]){_YEAR}|2902{_LEAP})$"
)
TIME_PATTERN = "^([01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]$"

# The request fields of the YAPAGO routes: one declaration each, for the validators and the document.
CompanyId = _text("^[0-9]{1,7}$", "Codigo de empresa, con o sin ceros a la izquierda", integers=(0, 9_999_999))
BankId = _text("^[0-9]{4}$", "Codigo de banco, 4 digitos", pad=4, integers=(0, 9_999))
ChannelId = _catalogue(
    "canal_pago",
    "10 ventanilla, 20 ATM, 30 monederos, 40 agente corresponsal, 50 kiosko multimedia, 60 internet banking, "
    "70 IVR, 80 banca celular, 99 otros",
    2,
)
PaymentMethod = _catalogue("forma_pago", "01 efectivo, 02 debito, 03 credito, 04 cheque", 2)
ServiceCode = _catalogue(
    "codigo_producto", "001 fact. soles, 002 fact. dolares, 003 proformas soles, 004 proformas dolares", 3
)
QueryId = _text(
    "^[A-Za-z0-9]{1,20}$", "Codigo de cliente, DNI, RUC o Identificador 04, sin ceros a la izquierda",
    integers=(0, 10**20 - 1),
)  # fmt: skip
OperationNumber = _text(
    "^[A-Za-z0-9]{1,12}$", "Numero de operacion del banco (12: el campo del archivo de pagos)",
    integers=(0, 10**12 - 1),
)  # fmt: skip
Document = _text("^[A-Za-z0-9-]{1,16}$", "Numero de documento, como en el archivo de deudas")
TxnDate = _text(DATE_PATTERN, "DDMMAAAA (hora de Lima)")
TxnTime = _text(TIME_PATTERN, "HHMMSS, 24 h (hora de Lima)")
Currency = _text("^(1|2)$", "1 soles, 2 dolares", integers=[1, 2])
QueryType = _text("^0$", "Siempre 0", integers=[0])
Voucher = _text("^[^\\x00-\\x1f\\x7f-\\x9f]{0,40}$", "Texto libre, a lo mas 40 caracteres", max_length=40)
DebtReference = _text(
    "^[^\\x00-\\x1f\\x7f-\\x9f]{0,20}$", "idDeuda devuelto por la consulta; solo referencial",
    integers=(0, 10**20 - 1), max_length=20,
)  # fmt: skip


def txn_day(day: str) -> date:
    """fechaTxn (DDMMAAAA, already checked by its pattern) as a date: a bank operation's day."""
    return date(int(day[4:8]), int(day[2:4]), int(day[0:2]))


def one_client(by_code: set[str], by_key: set[str]) -> str | None:
    """The single client an idConsulta names (None: none). Its reading as a client code (zeros
    ignored) wins when the company has such a client; otherwise its DNI / RUC / Identificador 04
    keys. A reading that names several client codes is refused: one answer is one client's."""
    if len(by_code) > 1:  # codes that differ only in leading zeros: the company's data, not the bank's choice
        raise Answer(AMBIGUOUS_CLIENT, "idConsulta corresponde a varios codigos de cliente (difieren en ceros)")
    if not by_code and len(by_key) > 1:
        raise Answer(AMBIGUOUS_CLIENT)
    return next(iter(by_code or by_key), None)


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
    # Fields not listed are ignored (still within domain/json_body's bounds); the document
    # says additionalProperties false so that what it calls valid is what is accepted.
    model_config = ConfigDict(
        extra="ignore", str_strip_whitespace=True, json_schema_extra={"additionalProperties": False}
    )


class ConsultaRequest(_Request):
    idConsulta: QueryId
    tipoConsulta: QueryType
    idEmpresa: CompanyId
    idBanco: BankId
    idCanal: ChannelId
    servicio: ServiceCode | None = Field(default=None, description="Opcional: solo las deudas de ese servicio")


class PagoRequest(_Request):
    fechaTxn: TxnDate
    horaTxn: TxnTime
    idCanal: ChannelId
    idForma: PaymentMethod
    numeroOperacion: OperationNumber
    idConsulta: QueryId
    servicio: ServiceCode
    numeroDocumento: Document
    importePagado: Annotated[Decimal, WithJsonSchema(amount_schema(MAX_AMOUNT))]
    moneda: Currency
    idEmpresa: CompanyId
    idBanco: BankId
    voucher: Voucher = ""
    referenciaDeuda: DebtReference | None = None

    @field_validator("importePagado", mode="before")
    @classmethod
    def _amount(cls, value: Any) -> Decimal:
        return parse_amount(value, MAX_AMOUNT)  # domain/amounts.py: the grammar of every route

    @property
    def amount_cents(self) -> int:
        return int(self.importePagado * 100)


class ReversaRequest(_Request):
    idEmpresa: CompanyId
    idBanco: BankId
    numeroOperacion: OperationNumber = Field(description="El numeroOperacion del pago que se extorna")
    fechaTxn: TxnDate  # the reversal's own date, not the payment's
    horaTxn: TxnTime
    idCanal: ChannelId
    servicio: ServiceCode
    numeroDocumento: Document
    fechaTxnPago: TxnDate | None = Field(
        default=None,
        description=(
            "Opcional: la fechaTxn (DDMMAAAA) del pago que se extorna. Obligatoria solo cuando el banco uso el "
            "mismo numeroOperacion en pagos de dias distintos para el mismo documento (si falta: 11)"
        ),
    )


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
    idPago: str | None = Field(default=None, description="Con 42 en un pago repetido: el pago que fue extornado")


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


def _form(name: str) -> str:
    """A request field's form as the document describes it ("DDMMAAAA (hora de Lima)")."""
    for model in (PagoRequest, ReversaRequest, ConsultaRequest):
        field = model.model_fields.get(name)
        if field is not None and field.description:
            return f"esperada: {field.description}"
    return "esperada"


def invalid_request(exc: ValidationError) -> Answer:
    """The first problem of a request, named (code 12 for the amount, 11 for the rest)."""
    problems = []
    for error in exc.errors():
        name = ".".join(str(p) for p in error["loc"] if isinstance(p, str) and _FIELD.match(p)) or "cuerpo"
        if error["type"] == "missing":
            problems.append((name, f"falta el campo {name}"))
        elif error["type"] == "string_pattern_mismatch":  # the field's form in words, not its regex
            problems.append((name, f"{name}: no tiene la forma {_form(name)}"))
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append((name, f"{name}: {message}"))
    amount = [text for name, text in problems if name == "importePagado"]
    if amount:
        return Answer(BAD_AMOUNT, f"{BAD_AMOUNT.message} ({amount[0]})")
    return Answer(BAD_FIELD, "; ".join(text for _, text in problems))


_FIELD_PROBLEMS = {
    "text": "contiene un caracter de control o un punto de codigo invalido",
    "number": "numero demasiado largo",
}


def invalid_value(path: str, kind: str) -> Answer:
    """A value refused when the body was read (domain/json_body.py), named like a validation error."""
    reason = f"{path}: {_FIELD_PROBLEMS.get(kind, 'valor invalido')}"
    if path == "importePagado":
        return Answer(BAD_AMOUNT, f"{BAD_AMOUNT.message} ({reason})")
    return Answer(BAD_FIELD, reason)
