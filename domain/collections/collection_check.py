"""Collection check for banking agents (POST /v1/collection): which holder and amounts a
payment reference of a convenio has, before the agent takes the money.

The convenio (trn.refId) and the reference (trn.curAmt.amt, the product number) come from
SQL (`manage.py import-collections`). The answer gives the holder, the amounts to pay, the
due date, `flagUpdate` (whether the convenio lets the payer change the amount) and an
approval id unique per call; a repeated X-Invoker-TxId gets its first answer again.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import Field

from domain.collections.fields import (
    ID_CHARS,
    Blankable,
    Chars,
    Code,
    DateForm,
    Digits,
    Form,
    Free,
    Hour,
    Number,
    NumberText,
    Rule,
    check,
    model_at,
    request_model,
)
from domain.collections.models import Num, Strict

_TRN = "trn."


def _row(path: str, form: Form, example: Any, table: str = "", words: str = "", required: bool = False) -> Rule:
    return Rule(_TRN + path, form, example, _TRN + (table or path), words, required)


FIELDS = (
    _row("transactionHour", Hour(), "15:37:59", words="Hora local de la transaccion, HHMMSS (ejemplo 15:37:59)",
         required=True),
    _row("code", Chars(15, "A-Za-z0-9"), "123456789123456", words="Codigo del punto de servicio", required=True),
    _row("refId", Digits(20), "123456", "RefId", "Codigo convenio", required=True),
    _row("eanCode", Blankable(Digits(14)), "7709998000018", "EANCode",
         "Codigo EAN: solo con captura por codigo de barras; en captura manual va en espacios. Justificado a la "
         "izquierda con blancos a la derecha"),
    _row("curAmt.amt", Chars(40, ID_CHARS), "99", words="Referencia de pago: numero de producto", required=True),
    _row("trnRqUID", Digits(6, 6), "123456", words="Numero de auditoria: unico de 6 digitos generado por el canal",
         required=True),
    _row("branchName", Free(60), "MI OFICINA BETTY", words="Nombre del PDS"),
    _row("cityId", Digits(6, blank=True), "25386", words="Codigo DANE del municipio (longitud 6)"),
    _row("city", Free(60), "LA MESA", words="Nombre DANE del municipio"),
    _row("stateProv", Digits(2, blank=True), "25", words="Codigo DANE del departamento (longitud 2)"),
    _row("aditionalData[].name", Free(60), "Nombre referencia 1", words="Nombre de la referencia de pago 1, 2 o 3"),
    _row("aditionalData[].value", Free(60, numbers=True), "0399200339917", words="Referencia de pago 1, 2 o 3"),
    _row("depAcctId.acctId", Digits(20), "83000109863", words="Cuenta del corresponsal bancario", required=True),
    _row("totalCurAmt.amt", NumberText(Number(places=2)), 99,
         words="Valor leido del codigo de barras (tag 3900); ceros si no hay lectura"),
    _row("flagAnotherAmt", Code({"0": "no", "1": "si"}, blank=True), "0",
         words="El cliente paga otro valor (segun la configuracion del convenio)"),
    _row("refType", Blankable(Chars(10, "A-Za-z0-9")), "01", "RefType", "Tipo de recaudo"),
    _row("effDt", Blankable(DateForm()), "2026-11-22", "EffDt",
         "Fecha de pago: solo con captura por codigo de barras; en captura manual va en espacios. Justificado a la "
         "izquierda con blancos a la derecha"),
    _row("refName", Free(60), "CONVENIO DEMO", words="Nombre del convenio de recaudo"),
)  # fmt: skip
CollectionRequest = request_model("CollectionRequest", FIELDS, "Check")
Trn = model_at(CollectionRequest, "trn")


class PersonName(Strict):
    fullName: str


class ValueToPay(Strict):
    name: str
    value: Num


class ResultData(Strict):
    curAmt: list[ValueToPay]


class ResultTrn(Strict):
    personName: PersonName
    approvalId: str
    aditionalData: ResultData
    pmtRefId: str
    dueDt: str
    flagUpdate: str
    acctId: str
    refType: str


class ResponseType(Strict):
    value: str


class CollectionResponse(Strict):
    responseType: ResponseType
    trn: ResultTrn


class ConvenioReference(Strict):
    """One payment reference of a convenio, as an operator imports it."""

    reference: str = Field(pattern=r"^[A-Za-z0-9\-]{1,40}$")
    fullName: str = Field(min_length=1, max_length=120)
    amounts: list[ValueToPay] = Field(min_length=1, max_length=2)
    dueDt: date | None = None
    acctId: str = Field(default="", max_length=30)


class Convenio(Strict):
    """A collection agreement (convenio de recaudo) and its references, as an operator imports it."""

    refId: str = Field(pattern=r"^[0-9]{1,20}$")
    name: str = Field(min_length=1, max_length=80)
    refType: str = Field(default="", max_length=10)
    flagUpdate: str = Field(pattern=r"^[01]$")
    pmtRefId: str = Field(default="", max_length=20)
    references: list[ConvenioReference] = Field(default_factory=list)


def check_request(req: Any) -> Any:
    """The trn object against the table: the first field missing (10002) or wrong (10007)."""
    check(req, FIELDS, required=("trn",))
    return req.trn


def _amount(value: Any) -> Decimal | None:
    """trn.totalCurAmt.amt as a number (blank: 0), None when it is none (fields.check refuses it)."""
    amount = value.amt if value is not None else None
    if amount is None or (isinstance(amount, str) and not amount.strip()):
        return Decimal(0)
    try:
        return Decimal(str(amount).strip())
    except InvalidOperation:
        return None


def barcode_value(trn: Trn) -> Decimal:
    """The value read from the barcode (tag 3900), zero when none was read."""
    return _amount(trn.totalCurAmt) or Decimal(0)


TRANSPORT = ("transactionHour",)  # may change when a channel retries; not part of what is asked


def fingerprint(req: CollectionRequest, action: str) -> str:
    """What a check asks, as a hash: a repeated X-Invoker-TxId must ask the same to get the
    first answer. Numbers compare by value (99 and "99.0" are one amount), text as sent."""
    trn = req.trn.model_dump(exclude=set(TRANSPORT), exclude_none=True) if req.trn else {}
    if req.trn is not None and req.trn.totalCurAmt is not None:  # the amount as a number: 99 = "99.00"
        trn["totalCurAmt"] = {"amt": _amount(req.trn.totalCurAmt)}

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: plain(v) for k, v in sorted(value.items())}
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, Decimal):
            return format(value.normalize(), "f")
        return value

    canonical = json.dumps({"action": action, "trn": plain(trn)}, sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def new_approval_id() -> str:
    """20 characters like the spec's example (Z69599FB119FB12927E1): Z and 19 random hex digits."""
    return "Z" + secrets.token_hex(10).upper()[:19]
