"""Negotiation marks (POST /v1/negotiations): the mapping tables as data, checked per core and tool.

Each (core, strategyType) case of the spec lists the fields it needs; `CASES` holds them and
`FORMATS` holds each field's format, checked wherever the field is present. A case that the
spec does not list is a new tool ("Nuevas Herramientas (Default)"): only the account and the
tool are required. What the examples send beyond the tables (e.g. a 3-digit intRateType, a
percentage with more than two decimals, ISO dates where yyyymmdd is printed) is accepted;
docs/decisions.md lists each such choice.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from domain.collections.dates import REASON as DATE_REASON
from domain.collections.dates import parse_date
from domain.collections.errors import NULL_INPUT, TRANSFORM, CollectionsError
from domain.collections.models import Num, Strict, Text, spelled, value_at

CORES = ("BM", "SLP", "OTC", "OCR")
IDENT_TYPES = ("CC", "NI", "TI", "CE", "OT")
STRATEGY_IDS = {"01": "Puesta al Dia", "03": "Reestructuracion Individual", "04": "Rediferido",
                "05": "Plan de pagos", "06": "Cancelacion Total", "07": "Modificacion Individual"}  # fmt: skip
CAUSAL_CODES = {"0000": "Puesta al Dia / Rediferido", "300": "Neg Reestructuracion Individual",
                "301": "Neg Reestructuracion Consolidada", "302": "Plan de Pagos", "303": "Cancelacion Total",
                "307": "Neg Modificacion Consolidada"}  # fmt: skip
CAUSAL_BY_TOOL = {"PDIA": ("0000",), "REDIF": ("0000",), "CNTL": ("303",), "PPPL": ("302",),
                  "PRERM": ("300", "301", "307")}  # fmt: skip
MODIFICATION_TYPES = ("R26", "MOD", "M01", "RDO", "SRO")
PPPS_RATE_NAMES = ("PORCONDONAINTCTE", "PORCONDONAINTMORA", "PORCONDONACARGOS", "PORCONDONACONTIN", "PORCONDONAGAC",
                   "PORCONDONOTRCRGOS", "PORCONDONCOMOP", "PORCONDONSEGVID", "PORCONDONSEGIRT")  # fmt: skip
PRERM_RATE_NAMES = ("% A CONDONAR POR CAPITAL", "% A CONDONAR POR INTERES CORRIENTE",
                    "% A CONDONAR POR INTERES DE DE MORA",
                    "% A CONDONAR POR INTERESES EXTRACONTABLES O CONTINGENTES",
                    "% A CONDONAR POR OTROS CONCEPTOS")  # fmt: skip
ACCOUNT_WIDTH = 20
RECEIVED, REJECTED = "Received", "Rejected"

Number = Num | None


class ClientApp(Strict):
    name: Text | None = None


class PartyAcctRelRec(Strict):
    acctId: Text | None = None
    amt: Number = None
    rate: Number = None
    acctType: Text | None = None


class Adviser(Strict):
    adviserId: Text | None = None


class SubmitOffice(Strict):
    branchId: Text | None = None


class Indebtedness(Strict):
    rate: Number = None
    numAsignInstallments: Number = None


class GovIssueIdent(Strict):
    identSerialNum: Text | None = None
    govIssueIdentType: Text | None = None


class Offer(Strict):
    trnRqUID: Text | None = None
    effDt: Text | None = None
    requestNumber: Text | None = None
    periodGrace: Number = None
    periodGraceDeath: Number = None
    collateralType: Text | None = None


class NameValue(Strict):
    name: Text | None = None
    value: Number = None


class IntRateInfo(Strict):
    rate: Number = None
    intRateType: Text | None = None
    amt: Number = None
    curRate: Number = None
    additionalData: list[NameValue] | None = None


class QuotaInfo(Strict):
    amt: Number = None


class InvoicePmtInfo(Strict):
    daysCycle: Number = None


class OrgIdent(Strict):
    IdentSerialNum: Text | None = None


class OrgInfo(Strict):
    govIssueIdent: OrgIdent | None = None


class Collection(Strict):
    partyAcctRelRec: PartyAcctRelRec | None = None
    strategyType: Text | None = None
    strategyId: Text | None = None
    causalCode: Text | None = None
    startDt: Text | None = None
    endDt: Text | None = None
    processDate: Text | None = None
    createdDt: Text | None = None
    adviser: Adviser | None = None
    submitOffice: SubmitOffice | None = None
    numAsignInstallments: Number = None
    periodGrace: Number = None
    indebtedness: Indebtedness | None = None
    partialPmt: Text | None = None
    govIssueIdent: GovIssueIdent | None = spelled("govIssueIdent", "GovIssueIdent")
    orgInfo: OrgInfo | None = None
    type: Text | None = None
    offer: Offer | None = None
    intRateInfo: IntRateInfo | None = None
    quotaInfo: QuotaInfo | None = None
    invoicePmtInfo: InvoicePmtInfo | None = None


class NegotiationRequest(Strict):
    clientApp: ClientApp | None = None
    collection: Collection | None = None


class NegotiationAccount(Strict):
    acctId: str


class NegotiationResult(Strict):
    partyAcctRelRec: NegotiationAccount
    state: str
    createdDt: str
    desc: str


class NegotiationResponse(Strict):
    collection: NegotiationResult


# -- field formats ------------------------------------------------------------------------------

Format = Callable[[Any], str | None]  # None when fine, else the reason


def _int_digits(most: int) -> Format:
    def check(value: Any) -> str | None:
        if not isinstance(value, Decimal) or value != value.to_integral_value() or value < 0:
            return "debe ser un entero no negativo"
        return None if len(str(int(value))) <= most else f"a lo sumo {most} digitos"

    return check


def _decimal(low: Decimal, high: Decimal, places: int) -> Format:
    def check(value: Any) -> str | None:
        if not isinstance(value, Decimal) or not low <= value <= high:
            return f"debe ser un numero entre {low} y {high}"
        return None if -value.as_tuple().exponent <= places else f"a lo sumo {places} decimales"  # type: ignore[operator]

    return check


def _one_of(options: tuple[str, ...] | dict[str, str]) -> Format:
    """One of the table's codes; a code of digits also without its leading zeros (`5` or "5"
    for "05": a number sent where the table types a String)."""

    return lambda v: None if canonical(v, options) is not None else f"debe ser uno de {', '.join(options)}"


def canonical(value: Any, options: tuple[str, ...] | dict[str, str]) -> str | None:
    """The table's spelling of a code (`5` -> "05"), None when it is not one of `options`."""
    text = str(value).strip()
    if text in options:
        return text
    return next((o for o in options if text.isdigit() and text.zfill(len(o)) == o), None)


def _date_text(value: Any) -> str | None:
    return None if parse_date(value) is not None else DATE_REASON


def _text(most: int, pattern: str = r"[A-Za-z0-9_\-. ]") -> Format:
    allowed = re.compile(f"^{pattern}+$")

    def check(value: Any) -> str | None:
        text = str(value)
        if not text.strip():
            return "no puede estar en blanco"
        if len(text) > most:
            return f"a lo sumo {most} caracteres"
        return None if allowed.match(text) else "tiene caracteres no permitidos"

    return check


def _padded(most: int, pattern: str) -> Format:
    """An id the tables say to complete "a 20 caracteres con espacios a derecha": with those
    spaces or without; the characters before them as _text."""
    inner = _text(most, pattern)

    def check(value: Any) -> str | None:
        text = str(value)
        if len(text) > most:
            return f"a lo sumo {most} caracteres"
        return inner(text.rstrip(" ") or text)

    return check


def _branch(value: Any) -> str | None:
    return None if str(value).strip() == "9999" else "debe ser 9999"


FORMATS: dict[str, Format] = {
    "clientApp.name": _one_of(CORES),
    "collection.strategyType": _text(10, r"[A-Z0-9]"),
    "collection.strategyId": _one_of(STRATEGY_IDS),
    "collection.causalCode": _one_of(CAUSAL_CODES),
    "collection.partyAcctRelRec.acctId": _padded(ACCOUNT_WIDTH, r"[A-Za-z0-9\-]"),
    "collection.partyAcctRelRec.amt": _int_digits(18),
    "collection.partyAcctRelRec.rate": _decimal(Decimal(1), Decimal(100), 2),
    "collection.startDt": _date_text,
    "collection.endDt": _date_text,
    "collection.processDate": _date_text,
    "collection.createdDt": _date_text,
    "collection.adviser.adviserId": _text(30),
    "collection.submitOffice.branchId": _branch,
    "collection.numAsignInstallments": _int_digits(3),
    "collection.periodGrace": _int_digits(3),
    "collection.indebtedness.rate": _int_digits(2),
    "collection.indebtedness.numAsignInstallments": _int_digits(3),
    "collection.partialPmt": _one_of(("T", "P")),
    "collection.govIssueIdent.identSerialNum": _text(15, r"[0-9]"),
    "collection.govIssueIdent.govIssueIdentType": _one_of(IDENT_TYPES),
    "collection.type": _one_of(MODIFICATION_TYPES),
    "collection.offer.trnRqUID": _text(20),
    "collection.offer.effDt": _date_text,
    "collection.offer.requestNumber": _text(20),
    "collection.offer.periodGrace": _int_digits(3),
    "collection.offer.periodGraceDeath": _int_digits(3),
    "collection.intRateInfo.rate": _decimal(Decimal(0), Decimal("99.999999"), 6),
    "collection.intRateInfo.intRateType": _text(3, r"[0-9A-Z]"),
    "collection.intRateInfo.amt": _int_digits(4),
    "collection.quotaInfo.amt": _int_digits(18),
}
_PERCENT = _decimal(Decimal(0), Decimal(100), 6)

# -- the cases of the mapping tables ---------------------------------------------------------------

_BM_BASE = ("collection.partyAcctRelRec.acctId", "collection.partyAcctRelRec.amt", "collection.partyAcctRelRec.rate",
            "collection.startDt", "collection.endDt", "collection.adviser.adviserId",
            "collection.submitOffice.branchId", "collection.numAsignInstallments", "collection.periodGrace",
            "collection.indebtedness.rate", "collection.partialPmt")  # fmt: skip
_IDENT = ("collection.govIssueIdent.identSerialNum", "collection.govIssueIdent.govIssueIdentType")
_OPENCARD = ("collection.partyAcctRelRec.acctId", "collection.partyAcctRelRec.amt", "collection.strategyId",
             "collection.causalCode", "collection.startDt", "collection.endDt", "collection.numAsignInstallments",
             *_IDENT)  # fmt: skip
_PRERM = ("collection.processDate", *_IDENT, "collection.strategyId", "collection.causalCode",
          "collection.offer.requestNumber", "collection.offer.periodGrace", "collection.offer.periodGraceDeath",
          "collection.partyAcctRelRec.acctId", "collection.numAsignInstallments", "collection.quotaInfo.amt",
          "collection.intRateInfo.rate", "collection.intRateInfo.additionalData")  # fmt: skip
_PPPS = (*_BM_BASE, *_IDENT, "collection.type", "collection.offer.trnRqUID", "collection.offer.effDt",
         "collection.intRateInfo.rate", "collection.intRateInfo.intRateType",
         "collection.intRateInfo.additionalData")  # fmt: skip


@dataclass(frozen=True)
class Case:
    title: str
    required: tuple[str, ...]
    rate_names: tuple[str, ...] = ()  # names intRateInfo.additionalData may carry; empty: any


CASES: dict[tuple[str, str], Case] = {}
for _core in ("BM", "SLP"):
    for _tool in ("CNTL", "PDIA", "PPPL"):
        CASES[_core, _tool] = Case(f"{_core} {_tool}", _BM_BASE)
    for _tool in ("PDDA", "PPPA"):
        CASES[_core, _tool] = Case(f"{_core} {_tool}", (*_BM_BASE, "collection.indebtedness.numAsignInstallments"))
    CASES[_core, "PPPS"] = Case(f"{_core} PPPS", _PPPS, PPPS_RATE_NAMES)
for _tool in ("PDIA", "CNTL", "PPPL", "REDIF"):
    CASES["OTC", _tool] = Case(f"OTC {_tool}", _OPENCARD)
for _tool in ("PDIA", "CNTL", "PPPL"):
    CASES["OCR", _tool] = Case(f"OCR {_tool}", _OPENCARD)
for _core in ("OTC", "OCR"):
    CASES[_core, "PRERM"] = Case(f"{_core} PRERM", _PRERM, PRERM_RATE_NAMES)
DEFAULT_REQUIRED = ("clientApp.name", "collection.strategyType", "collection.partyAcctRelRec.acctId")


# A new tool ("Nuevas Herramientas (Default)") still goes through its core: the core's own
# fields are required and the causal code and strategy must be catalogue codes.
NEW_TOOL_REQUIRED = {"BM": (*_BM_BASE, "collection.strategyId", "collection.causalCode"),
                     "SLP": (*_BM_BASE, "collection.strategyId", "collection.causalCode"), "OTC": _OPENCARD,
                     "OCR": _OPENCARD}  # fmt: skip
KNOWN_TOOLS = {tool for _, tool in CASES}


def case_of(core: str, tool: str) -> Case:
    """The mapping table of a core's tool; a tool another core has is refused here (PPPS is
    Bankmaster's and StarLT's, PRERM OpenCard's); any other code is a new tool of this core."""
    found = CASES.get((core, tool))
    if found is not None:
        return found
    if tool in KNOWN_TOOLS:
        cores = sorted({c for c, t in CASES if t == tool})
        raise CollectionsError(TRANSFORM, f"collection.strategyType invalido: {tool} es una herramienta de "
                                          f"{', '.join(cores)}, no de {core}")  # fmt: skip
    return Case(f"{core} {tool} (herramienta nueva)", NEW_TOOL_REQUIRED.get(core, ()))


# -- checking a request -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    """A checked negotiation mark, ready to store."""

    core: str
    tool: str
    account: str  # right-padded to 20, as the core expects it
    partial: str | None
    amount_cents: int | None
    start: date | None
    end: date | None
    account_sent: str = ""  # as the caller wrote it (padded or not): the answer echoes it


def check_negotiation(req: NegotiationRequest) -> Mark:
    """The mark, or CollectionsError naming the first field that is missing (10002) or wrong (10007)."""
    for path in DEFAULT_REQUIRED:
        if value_at(req, path) in (None, ""):
            raise CollectionsError(NULL_INPUT, f"{path} es obligatorio")
    for path, check in FORMATS.items():
        value = value_at(req, path)
        if value is not None and (reason := check(value)) is not None:
            raise CollectionsError(TRANSFORM, f"{path} invalido: {reason}")
    assert req.clientApp is not None and req.collection is not None
    core, col = str(req.clientApp.name), req.collection
    tool = str(col.strategyType)
    case = case_of(core, tool)
    for path in case.required:
        if value_at(req, path) in (None, "", []):
            raise CollectionsError(NULL_INPUT, f"{path} es obligatorio para {case.title}")
    _check_rates(col, case)
    causal = CAUSAL_BY_TOOL.get(tool) if core in ("OTC", "OCR") else None  # only OpenCard's tables fix it
    if col.causalCode is not None and causal is not None and canonical(col.causalCode, CAUSAL_CODES) not in causal:
        raise CollectionsError(TRANSFORM, f"collection.causalCode invalido: {core} {tool} usa {' o '.join(causal)}")
    start, end = parse_date(col.startDt) if col.startDt else None, parse_date(col.endDt) if col.endDt else None
    if start is not None and end is not None and start > end:
        raise CollectionsError(TRANSFORM, "collection.startDt invalido: es posterior a collection.endDt")
    acct = col.partyAcctRelRec
    assert acct is not None and acct.acctId is not None
    return Mark(
        core=core, tool=tool, account=acct.acctId.rstrip(" ").ljust(ACCOUNT_WIDTH), partial=col.partialPmt,
        amount_cents=int(acct.amt) if acct.amt is not None else None, start=start, end=end,
        account_sent=acct.acctId,
    )  # fmt: skip


def _check_rates(col: Collection, case: Case) -> None:
    data = col.intRateInfo.additionalData if col.intRateInfo is not None else None
    for n, item in enumerate(data or []):
        path = f"collection.intRateInfo.additionalData[{n}]"
        name = (item.name or "").strip()
        if not name:
            raise CollectionsError(NULL_INPUT, f"{path}.name es obligatorio")
        if case.rate_names and name not in case.rate_names:
            raise CollectionsError(TRANSFORM, f"{path}.name invalido: {name!r} no es un porcentaje de {case.title}")
        if item.value is None:
            raise CollectionsError(NULL_INPUT, f"{path}.value es obligatorio")
        if (reason := _PERCENT(item.value)) is not None:
            raise CollectionsError(TRANSFORM, f"{path}.value invalido: {reason}")
