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
import re
import secrets
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import Field

from domain.collections.dates import REASON as DATE_REASON
from domain.collections.dates import parse_date
from domain.collections.errors import NULL_INPUT, TRANSFORM, CollectionsError
from domain.collections.models import Num, Strict, Text, bounded_number, spelled


class Amount(Strict):
    amt: Text | Num | None = None


class NameValue(Strict):
    name: Text | None = None
    value: Text | Num | None = None


class DepAcct(Strict):
    acctId: Text | None = None


class Trn(Strict):
    transactionHour: Text | None = None
    code: Text | None = None
    refId: Text | None = spelled("refId", "RefId")
    eanCode: Text | None = spelled("eanCode", "EANCode")
    curAmt: Amount | None = None
    trnRqUID: Text | None = None
    branchName: Text | None = None
    cityId: Text | None = None
    city: Text | None = None
    stateProv: Text | None = None
    aditionalData: list[NameValue] | None = None  # sic: the spec's spelling
    depAcctId: DepAcct | None = None
    totalCurAmt: Amount | None = None
    flagAnotherAmt: Text | None = None
    refType: Text | None = spelled("refType", "RefType")
    effDt: Text | None = spelled("effDt", "EffDt")
    refName: Text | None = None


class CollectionRequest(Strict):
    trn: Trn | None = None


class PersonName(Strict):
    fullName: str


class ValueToPay(Strict):
    name: str
    value: Decimal


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


_HOUR = re.compile(r"^([01]\d|2[0-3]):?([0-5]\d):?([0-5]\d)$")


def check_request(req: CollectionRequest) -> Trn:
    trn = req.trn
    if trn is None:
        raise CollectionsError(NULL_INPUT, "trn es obligatorio")
    reference = trn.curAmt.amt if trn.curAmt is not None else None
    required: dict[str, Any] = {"trn.transactionHour": trn.transactionHour, "trn.code": trn.code,
                                "trn.refId": trn.refId, "trn.curAmt.amt": reference, "trn.trnRqUID": trn.trnRqUID,
                                "trn.depAcctId.acctId": trn.depAcctId.acctId if trn.depAcctId else None}  # fmt: skip
    for path, value in required.items():
        if value is None or str(value).strip() == "":
            raise CollectionsError(NULL_INPUT, f"{path} es obligatorio")
    checks = [
        ("trn.transactionHour", _HOUR.match(str(trn.transactionHour).strip()) is not None, "HHMMSS (o HH:MM:SS)"),
        ("trn.trnRqUID", str(trn.trnRqUID).isdigit() and len(str(trn.trnRqUID)) == 6, "6 digitos"),
        ("trn.refId", str(trn.refId).isdigit() and len(str(trn.refId)) <= 20, "codigo de convenio numerico"),
        ("trn.code", len(str(trn.code)) <= 15, "a lo sumo 15 caracteres"),
        ("trn.cityId", _optional_digits(trn.cityId, 6), "codigo DANE de hasta 6 digitos"),
        ("trn.stateProv", _optional_digits(trn.stateProv, 2), "codigo DANE de 2 digitos"),
        ("trn.flagAnotherAmt", trn.flagAnotherAmt in (None, "", "0", "1"), "0 o 1"),
        ("trn.totalCurAmt.amt", _amount(trn.totalCurAmt) is not None, "un valor no negativo"),
        ("trn.eanCode", _left_justified(trn.eanCode, r"[0-9]{1,14}"), "codigo EAN de hasta 14 digitos, o espacios"),
        ("trn.effDt", _left_justified(trn.effDt, None), f"{DATE_REASON}, o espacios"),
        ("trn.refType", _left_justified(trn.refType, r"[A-Za-z0-9]{1,10}"), "hasta 10 letras o digitos, o espacios"),
    ]  # fmt: skip
    for path, ok, reason in checks:
        if not ok:
            raise CollectionsError(TRANSFORM, f"{path} invalido: {reason}")
    return trn


def _left_justified(value: str | None, pattern: str | None) -> bool:
    """A field "justificado a la izquierda con blancos a la derecha", "en espacios" when not
    captured (trn.EANCode, trn.EffDt): blank, or the value then only spaces. `pattern` None:
    a date in any of the API's forms."""
    if value is None or not value.strip():
        return True
    if value != value.lstrip():
        return False
    text = value.rstrip(" ")
    return parse_date(text) is not None if pattern is None else re.fullmatch(pattern, text) is not None


def _optional_digits(value: str | None, most: int) -> bool:
    return value in (None, "") or (str(value).isdigit() and len(str(value)) <= most)


def _amount(value: Amount | None) -> Decimal | None:
    if value is None or value.amt in (None, ""):
        return Decimal(0)
    try:
        amount = bounded_number(Decimal(str(value.amt).strip()))
    except (ArithmeticError, ValueError):  # not a number, or NaN, Infinity, too many digits
        return None
    return amount if amount >= 0 else None


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
