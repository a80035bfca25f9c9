"""Negotiation marks (POST /v1/negotiations): the mapping tables as data, checked per core and tool.

`FIELDS` holds one rule per field any table or example of the route names (fields.py);
`CASES` holds each (core, strategyType) table of the spec: the fields it requires and the
forms it narrows (OpenCard's causal code per tool, the percentage names of PPPS and PRERM).
A tool no table lists is a new tool of its core ("Nuevas Herramientas (Default)"): its
core's fields are required, with catalogue codes. docs/collections-fields.md is rendered
from these tables; docs/decisions.md lists where they and the examples disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from domain.collections.dates import parse_date
from domain.collections.errors import TRANSFORM, CollectionsError
from domain.collections.fields import (
    ID_CHARS,
    Chars,
    Code,
    DateForm,
    Digits,
    Form,
    Free,
    Number,
    Padded,
    Rule,
    check,
    fixed,
    index,
    request_model,
)
from domain.collections.models import Strict

CORES = {"BM": "Bankmaster", "SLP": "StarLT", "OTC": "OpenCard tarjeta de credito", "OCR": "OpenCard credito rotativo"}
IDENT_TYPES = ("CC", "NI", "TI", "CE", "OT")
STRATEGY_IDS = {"01": "Puesta al Dia", "03": "Reestructuracion Individual", "04": "Rediferido",
                "05": "Plan de pagos", "06": "Cancelacion Total", "07": "Modificacion Individual"}  # fmt: skip
CAUSAL_CODES = {"0000": "Puesta al Dia / Rediferido", "300": "Neg Reestructuracion Individual",
                "301": "Neg Reestructuracion Consolidada", "302": "Plan de Pagos", "303": "Cancelacion Total",
                "307": "Neg Modificacion Consolidada"}  # fmt: skip
CAUSAL_BY_TOOL = {"PDIA": ("0000",), "REDIF": ("0000",), "CNTL": ("303",), "PPPL": ("302",),
                  "PRERM": ("300", "301", "307")}  # fmt: skip
MODIFICATION_TYPES = {"R26": "Reestructuracion", "MOD": "Primera Modificacion", "M01": "Segunda Modificacion",
                      "RDO": "", "SRO": ""}  # fmt: skip
PPPS_RATE_NAMES = ("PORCONDONAINTCTE", "PORCONDONAINTMORA", "PORCONDONACARGOS", "PORCONDONACONTIN", "PORCONDONAGAC",
                   "PORCONDONOTRCRGOS", "PORCONDONCOMOP", "PORCONDONSEGVID", "PORCONDONSEGIRT")  # fmt: skip
PRERM_RATE_NAMES = ("% A CONDONAR POR CAPITAL", "% A CONDONAR POR INTERES CORRIENTE",
                    "% A CONDONAR POR INTERES DE DE MORA",
                    "% A CONDONAR POR INTERESES EXTRACONTABLES O CONTINGENTES",
                    "% A CONDONAR POR OTROS CONCEPTOS")  # fmt: skip
ACCOUNT_WIDTH = 20
RECEIVED, REJECTED = "Received", "Rejected"

_ACCOUNT = ("Corresponde al No de Obligacion negociada: completar a 20 caracteres con espacios a derecha, de lo "
            "contrario el proceso no encuentra la cuenta")  # fmt: skip
_MONTHS = Number(places=0, digits=3, padded=True)
_PERCENT = Number(high=Decimal(100), places=2, digits=3)
_IDENT = Code(dict.fromkeys(IDENT_TYPES, ""), aliases={"Ce": "CE"})

FIELDS = (
    Rule("clientApp.name", Code(CORES), "BM", "clientApp.name",
         "Identifica el origen de la transaccion: Bankmaster = BM, STARLT = SLP, OPENCARD = OTC u OCR", True),
    Rule("collection.strategyType", Chars(10, "A-Z0-9"), "PPPL", "collection.strategyType",
         "Codigo de la herramienta de negociacion (CNTL, PDIA, PPPL, PDDA, PPPA, PPPS, REDIF, PRERM o una nueva)",
         True),
    Rule("collection.strategyId", Code(STRATEGY_IDS), "05", "collection.strategyId",
         "La estrategia de negociacion de acuerdo a lo establecido en el CORE"),
    Rule("collection.causalCode", Code(CAUSAL_CODES), "302", "collection.causalCode",
         "Codigo causal: 0000 para Puesta al Dia y Rediferido, 303 Cancelacion Total, 302 Plan de Pagos, ..."),
    Rule("collection.partyAcctRelRec.acctId", Padded(ACCOUNT_WIDTH, ID_CHARS), "872452983283",
         "collection.partyAcctRelRec.acctId", _ACCOUNT, True),
    Rule("collection.partyAcctRelRec.amt", Number(places=0), 1244, "collection.partyAcctRelRec.amt",
         "Valor compromiso numerico, sin separador decimal: los dos ultimos digitos son los decimales"),
    Rule("collection.partyAcctRelRec.rate", Number(low=Decimal(1), high=Decimal(100), places=2, digits=3), 23,
         "collection.partyAcctRelRec.rate", "Numerico entre 1 y 100 con dos decimales (100.00 en la mayoria)"),
    Rule("collection.partyAcctRelRec.acctType", Free(60), "Credit...", ""),
    Rule("collection.startDt", DateForm(), "2022-09-22", "collection.startDt",
         "Fecha de inicio de la marca / de la negociacion"),
    Rule("collection.endDt", DateForm(), "2022-09-22", "collection.endDt", "Fecha de fin de la marca"),
    Rule("collection.processDate", DateForm(), "2022-09-22", "collection.processDate",
         "Numerico en formato yyyymmdd (fecha en que se remite la marca)"),
    Rule("collection.createdDt", DateForm(), "2022-09-22", "collection.createdDt", "Fecha de creacion 230213"),
    Rule("collection.adviser.adviserId", Chars(30), "User_root", "collection.adviser.adviserId",
         "Usuario de identificacion del colaborador interno"),
    Rule("collection.submitOffice.branchId", fixed("9999"), "9999", "collection.submitOffice.branchId",
         "Codigo de la oficina: valor fijo 9999"),
    Rule("collection.numAsignInstallments", _MONTHS, 24, "collection.numAsignInstallments",
         "El plazo, numerico, completando con ceros a izquierda los 3 caracteres"),
    Rule("collection.periodGrace", _MONTHS, 24, "collection.periodGrace", "Numerico 3 posiciones enteras"),
    Rule("collection.indebtedness.rate", Number(places=0, digits=2, padded=True), 23, "collection.indebtedness.rate",
         "Numero de reestructuraciones a 2 posiciones enteras"),
    Rule("collection.indebtedness.numAsignInstallments", _MONTHS, 24, "collection.indebtedness.numAsignInstallments",
         "Plazo en el que se va a diferir el cargo a crear"),
    Rule("collection.partialPmt", Code({"T": "Total", "P": "Parcial"}), "T", "collection.partialPmt",
         "T o P: cada negociacion tiene un compromiso Total, el ultimo, y puede tener antes uno o varios Parciales"),
    Rule("collection.govIssueIdent.identSerialNum", Digits(15), "1234567890",
         "collection.govIssueIdent.identSerialNum", "Numero de identificacion (el del principal para amparadas)"),
    Rule("collection.govIssueIdent.govIssueIdentType", _IDENT, "CC", "collection.GovIssueIdent.govIssueIdentType",
         "CC Cedula Ciudadania, NI Numero Identificacion Tributaria, TI Tarjeta Identidad, Ce Cedula Extranjeria, "
         "OT Otros"),
    Rule("collection.orgInfo.govIssueIdent.IdentSerialNum", Digits(15), "0001234567890",
         "collection.orgInfo.govIssueIdent.IdentSerialNum",
         "Identificacion del primer titular principal, justificado a la derecha y lleno de ceros a la izquierda"),
    Rule("collection.type", Code(MODIFICATION_TYPES), "R26", "collection.type",
         "Tipo de modificacion o reestructuracion: R26, MOD, M01, RDO, SRO"),
    Rule("collection.offer.trnRqUID", Chars(20), "28498521", "collection.offer.trnRqUID",
         "Numero de solicitud de negociacion de credito"),
    Rule("collection.offer.effDt", DateForm(), "2022-09-22", "collection.offer.effDt", "Numerico en formato yyyymmdd"),
    Rule("collection.offer.requestNumber", Chars(20), "123A", "collection.offer.requestNumber",
         "Codigo unico de negociacion asignado desde ADMINFO"),
    Rule("collection.offer.periodGrace", _MONTHS, 23, "collection.offer.periodGrace", "Un valor en numero de meses"),
    Rule("collection.offer.periodGraceDeath", _MONTHS, 111, "collection.offer.periodGraceDeath",
         "Un valor en numero de meses"),
    Rule("collection.offer.collateralType", Chars(10), "20", ""),
    Rule("collection.intRateInfo.rate", Number(high=Decimal("99.999999"), places=6, digits=2), 33,
         "collection.intRateInfo.rate", "Numerico de 2 posiciones enteras punto y seis decimales"),
    Rule("collection.intRateInfo.intRateType", fixed("000"), "000", "collection.intRateInfo.intRateType",
         "Valor fijo 000"),
    Rule("collection.intRateInfo.amt", Number(places=0, digits=4, padded=True), 4224, "collection.intRateInfo.amt",
         'Valor de la tasa a ajustar, 4 caracteres "4224"'),
    Rule("collection.intRateInfo.curRate", Number(high=Decimal(100), places=6), 2, ""),
    Rule("collection.intRateInfo.additionalData[].name", Chars(60, r"A-Za-z0-9_%. \-"), "PORCONDONAINTCTE",
         "collection.intRateInfo.additionalData[].name", "Nombre del porcentaje a registrar", True),
    Rule("collection.intRateInfo.additionalData[].value", _PERCENT, 30.42,
         "collection.intRateInfo.additionalData[].value",
         "Valor del porcentaje: numerico de 3 posiciones enteras punto y dos decimales", True),
    Rule("collection.quotaInfo.amt", Number(places=0), 12345678987654, "collection.quotaInfo.amt",
         "Nuevo cupo del cliente en su tarjeta"),
    Rule("collection.invoicePmtInfo.daysCycle", _MONTHS, 24, ""),
)  # fmt: skip
RULES = index(FIELDS)
NegotiationRequest = request_model("NegotiationRequest", FIELDS, "Negotiation")


class NegotiationAccount(Strict):
    acctId: str


class NegotiationResult(Strict):
    partyAcctRelRec: NegotiationAccount
    state: str
    createdDt: str
    desc: str


class NegotiationResponse(Strict):
    collection: NegotiationResult


# -- the cases of the mapping tables ---------------------------------------------------------------

_BM_BASE = ("collection.partyAcctRelRec.acctId", "collection.partyAcctRelRec.amt", "collection.partyAcctRelRec.rate",
            "collection.startDt", "collection.endDt", "collection.adviser.adviserId",
            "collection.submitOffice.branchId", "collection.numAsignInstallments", "collection.periodGrace",
            "collection.indebtedness.rate", "collection.partialPmt")  # fmt: skip
_IDENTITY = ("collection.govIssueIdent.identSerialNum", "collection.govIssueIdent.govIssueIdentType")
_OPENCARD = ("collection.partyAcctRelRec.acctId", "collection.partyAcctRelRec.amt", "collection.strategyId",
             "collection.causalCode", "collection.startDt", "collection.endDt", "collection.numAsignInstallments",
             *_IDENTITY)  # fmt: skip
_PRERM = ("collection.processDate", *_IDENTITY, "collection.strategyId", "collection.causalCode",
          "collection.offer.requestNumber", "collection.offer.periodGrace", "collection.offer.periodGraceDeath",
          "collection.partyAcctRelRec.acctId", "collection.numAsignInstallments", "collection.quotaInfo.amt",
          "collection.intRateInfo.rate", "collection.intRateInfo.additionalData")  # fmt: skip
_PPPS = (*_BM_BASE, *_IDENTITY, "collection.type", "collection.offer.trnRqUID", "collection.offer.effDt",
         "collection.intRateInfo.rate", "collection.intRateInfo.intRateType",
         "collection.intRateInfo.additionalData")  # fmt: skip
_RATE_NAME = "collection.intRateInfo.additionalData[].name"


@dataclass(frozen=True)
class Case:
    """One table of the spec: a core's tool, what it requires and the forms it narrows."""

    title: str
    required: tuple[str, ...]
    forms: dict[str, Form] = field(default_factory=dict)


def _causal(tool: str) -> dict[str, Form]:
    return {"collection.causalCode": Code({c: CAUSAL_CODES[c] for c in CAUSAL_BY_TOOL[tool]})}


CASES: dict[tuple[str, str], Case] = {}
for _core in ("BM", "SLP"):
    for _tool in ("CNTL", "PDIA", "PPPL"):
        CASES[_core, _tool] = Case(f"{_core} {_tool}", _BM_BASE)
    for _tool in ("PDDA", "PPPA"):
        CASES[_core, _tool] = Case(f"{_core} {_tool}", (*_BM_BASE, "collection.indebtedness.numAsignInstallments"))
    CASES[_core, "PPPS"] = Case(f"{_core} PPPS", _PPPS, {_RATE_NAME: Code(dict.fromkeys(PPPS_RATE_NAMES, ""))})
for _tool in ("PDIA", "CNTL", "PPPL", "REDIF"):
    CASES["OTC", _tool] = Case(f"OTC {_tool}", _OPENCARD, _causal(_tool))
for _tool in ("PDIA", "CNTL", "PPPL"):
    CASES["OCR", _tool] = Case(f"OCR {_tool}", _OPENCARD, _causal(_tool))
for _core in ("OTC", "OCR"):
    CASES[_core, "PRERM"] = Case(
        f"{_core} PRERM", _PRERM, {_RATE_NAME: Code(dict.fromkeys(PRERM_RATE_NAMES, "")), **_causal("PRERM")}
    )
DEFAULT_REQUIRED = tuple(rule.path for rule in FIELDS if rule.required and "[]" not in rule.path)

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


def _check_tables() -> None:
    """Every path a case names is a field of the route (or a list of them): a typo fails at import."""
    lists = {rule.path.split("[]")[0] for rule in FIELDS if "[]" in rule.path}
    for case in [*CASES.values(), *(Case(c, r) for c, r in NEW_TOOL_REQUIRED.items())]:
        for path in (*case.required, *case.forms):
            if path not in RULES and path not in lists:
                raise ValueError(f"{case.title}: {path} is no field of the negotiation tables")


_check_tables()


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


def check_negotiation(req: Any) -> Mark:
    """The mark, or CollectionsError naming the first field that is missing (10002) or wrong
    (10007): first against every field's form, then against its core's tool's table."""
    check(req, FIELDS)
    core, col = str(req.clientApp.name).strip(), req.collection
    tool = str(col.strategyType)
    case = case_of(core, tool)
    check(req, FIELDS, required=case.required, forms=case.forms, context=case.title)
    start, end = parse_date(col.startDt) if col.startDt else None, parse_date(col.endDt) if col.endDt else None
    if start is not None and end is not None and start > end:
        raise CollectionsError(TRANSFORM, "collection.startDt invalido: es posterior a collection.endDt")
    acct = col.partyAcctRelRec
    return Mark(
        core=core, tool=tool, account=str(acct.acctId).rstrip(" ").ljust(ACCOUNT_WIDTH), partial=col.partialPmt,
        amount_cents=int(acct.amt) if acct.amt is not None else None, start=start, end=end,
        account_sent=str(acct.acctId),
    )  # fmt: skip
