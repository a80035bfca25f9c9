"""Policies, the "AppPolicies" decision engine (POST /v1/negotiations/policies).

Each creditAnalysis item is checked against the mapping table's enumerations, then:

- "primer momento" (pmtStatus.flagRecalculate false): viability of the item's tool (or of
  every tool of the rules when strategyType is empty). Causes of non-viability, each lifted
  by its exception (causalExceptionInfo value "1"):
    1 the obligation is not active (bankAcctStatusCode)           - no exception
    2 days past due above the tool's limit                          - EXC_DIAS_MORA
    3 capital balance below min_balance                             - no exception
    4 new term above max_term                                       - EXC_PLAZO_NEGOCIACION
    5 grace period above max_grace                                  - EXC_PERIODO_VIGILANCIA
    6 forgiven values above what is owed                            - no exception
    7 validity dates out of order (start after end)                 - no exception
  A figure that is not sent is not checked. offer.flagViability, offer.count (viable tools),
  offer.viabilityLevel ("0" viable as is, "1" viable through an exception, "" not viable) and
  each cause's viabilityResult ("1" applies, "0" does not) are answered.
- "recalculo" (flagRecalculate true): forgiven = sum of intRateInfo.curAmt[] amt x rate / 100
  (rate is the percentage forgiven of that concept); balance = sum of the concepts (or capital
  + interest balance when no concepts are sent) - forgiven; with monthly rate r = indebtedness.rate
  / 100, term n = indebtedness.numAsignInstallments and grace g = indebtedness.periodGrace
  (interest capitalizes during grace):  B = balance x (1 + r)^g,
  installment = B x r / (1 - (1 + r)^-n), or B / n when r = 0; rounded half-up to cents.
  No term (0 or absent): the installment cannot be calculated and is answered null, as in
  the spec's example. Deferred charges per installment (indebtedness.amt) = the extraordinary
  fees / indebtedness.term.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from domain.collections.dates import REASON as DATE_REASON
from domain.collections.dates import parse_date
from domain.collections.errors import NULL_INPUT, TRANSFORM, CollectionsError
from domain.collections.models import Num, Strict, Text, spelled, value_at
from domain.collections.rules import DecisionRules

IDENT_TYPES = ("CC", "NI", "CE", "NE")
CONCEPTS = ("CAPITAL", "INTERESES_CORRIENTES", "INTERESES_MORA", "SEGUROS", "CARGOS_CE07", "CARGOS_CE014",
            "CARGOS_CE022", "CARGOS_CE016", "CARGOS_CPA", "CARGOS_SIP", "COMISION_BANCOLDEX", "COMISION_FINAGRO",
            "COMISION_FNG", "COMISION_MIPYME", "COMISION_USAID", "GAC", "INTERES_ANTICIPADOS", "INTERES_CORTE",
            "INTERES_MORA")  # fmt: skip
POLICIES = ("SEGURO_TERREMOTO", "SEGURO_DESEMPLEO", "SEGURO_INCENDIO", "SEGURO_RAYO", "SEGURO_VENCIDO_RAYO",
            "SEGURO_VENCIDO_INCENDIO", "SEGURO_VENCIDO_TERREMOTO", "SEGURO_VIDA_CTA_COBRO")  # fmt: skip
COMMISSIONS = ("COMISION_MIPYME", "COMISION_FNG", "COMISION_USAID", "COMISION_BANCOLDEX", "COMISION_FINAGRO")
EXTRA_FEES = ("CARGOS_SIP", "CARGOS_CPA", "CARGO_C22", "VAL_OTROS_CARGOS_LEASI", "VALOR_CARGOXCUOTA",
              "CARGOSDIFERIDOS_PDD")  # fmt: skip
EXCEPTIONS = ("EXC_CUOTAS_PAGAS_APLICADAS", "EXC_DIAS_MORA", "EXC_FECHA_EXPEDICION", "EXC_CUOTAS_PAGAS",
              "EXC_NUMERO_HERRAMIENTAS", "EXC_PLAZO_NEGOCIACION", "EXC_PERIODO_VIGILANCIA_INCUMPLIDA",
              "EXC_PERIODO_VIGILANCIA", "EXC_CARGO_DIFERIDO", "EXC_TIEMPO_ENTRE_HERR")  # fmt: skip
FLAGS = ("FLAG_VALOR_PAGO", "FLAG_VALOR_NUEVA_CUOTA", "FLAG_NUEVO_PLAZO", "FLAG_PERIODO_GRACIA", "FLAG_NUEVA_TASA",
         "FLAG_SALDO_CONSOLIDADO", "FLAG_PLAZO_NEGOCIACION")  # fmt: skip
CAUSES = ("causalDeNoViabilidadHerremienta1", "causalDeNoViabilidadPuestaAlDia2", "causalDeNoViabilidadPuestaAlDia3",
          "causalDeNoViabilidadPuestaAlDia4", "causalDeNoViabilidadPuestaAlDia5", "causalDeNoViabilidadPuestaAlDia6",
          "causalDeNoViabilidadPuestaAlDia7")  # fmt: skip
CENT = Decimal("0.01")

Number = Num | None


class Amount(Strict):
    amt: Number = None


class Transaction(Strict):
    trnRqUID: Text | None = None


class GovIssueIdent(Strict):
    govIssueIdentType: Text | None = None
    identSerialNum: Text | None = None


class PartyAcct(Strict):
    acctId: Text | None = None
    amt: Number = None
    bankAcctStatusCode: Text | None = None
    flagSelectedOffered: Text | None = None
    additionalAccountId: Text | None = None
    additionalAcctId: Text | None = None


class PmtStatus(Strict):
    flagRecalculate: bool | None = None


class DelinqAging(Strict):
    daysCount: Number = None


class ExtendedDiscount(Strict):
    flagFindeter: Text | None = None
    flagWalletFindeter: Text | None = None


class ExtAcctBal(Strict):
    amt: Number = None
    curAmt: Amount | None = None


class Concept(Strict):
    desc: Text | None = None
    rate: Number = None
    amt: Number = None


class Fee(Strict):
    amt: Number = None
    curAmt: list[Concept] | None = None


class Code(Strict):
    code: Text | None = None


class Insurance(Strict):
    policyName: Text | None = None
    amt: Number = None


class IntRateInfo(Strict):
    amt: Number = None
    curAmt: list[Concept] | None = None
    rate: Number = None


class Indebtedness(Strict):
    establishDt: Text | None = None
    numAsignInstallments: Number = None
    periodGrace: Number = None
    rate: Number = None
    amt: Number = None
    numberOfInstallments: Number = None
    totalPmtCount: Number = None
    term: Number = None


class Validity(Strict):
    startDt: Text | None = None
    openDt: Text | None = None
    endDt: Text | None = None


class Offer(Strict):
    flagViability: Text | None = None
    viabilityLevel: Text | Num | None = None
    count: Text | Num | None = None
    amt: Number = None


class NameValue(Strict):
    name: Text | None = None
    value: Text | Num | None = None


class Cause(Strict):
    descriptionDesc: Text | None = None
    viabilityResult: Text | None = None


class PolicyCollection(Strict):
    transaction: Transaction | None = None
    strategyType: Text | None = None
    govIssueIdent: GovIssueIdent | None = None
    curAmt: Amount | None = None
    partyAcctRelRec: PartyAcct | None = None
    pmtStatus: PmtStatus | None = None
    delinqAging: DelinqAging | None = None
    extendedDiscount: ExtendedDiscount | None = None
    extAcctBal: ExtAcctBal | None = None
    acctBal: Amount | None = None
    fee: Fee | None = None
    extraordinaryFee: list[Concept] | None = None
    collateralDesc: Text | None = None
    collateral: Code | None = None
    capitalizationAcctId: Code | None = None
    dueDt: Text | None = None
    insuranceInfo: list[Insurance] | None = None
    intRateInfo: IntRateInfo | None = None
    indebtedness: Indebtedness | None = None
    validity: Validity | None = None
    offer: Offer | None = None
    discount: Amount | None = None
    causalExceptionInfo: list[NameValue] | None = None
    causalNoViabilitynInfo: list[Cause] | None = None
    additionalData: list[NameValue] | None = spelled("additionalData", "AdditionalData")


class CreditAnalysis(Strict):
    collection: PolicyCollection | None = None


class PolicyRequest(Strict):
    creditAnalysis: list[CreditAnalysis] | None = None


class ResponseType(Strict):
    value: str


class PolicyResponse(Strict):
    responseType: ResponseType
    creditAnalysis: list[CreditAnalysis]


# offer.flagViability as input: the table's "true"/"false" and the recalculo example's "VIABLE";
# answered as the table and five of six examples write it ("true"/"false", docs/decisions.md)
VIABILITY_FLAGS = ("", "TRUE", "FALSE", "VIABLE", "NO VIABLE", "NO_VIABLE", "NOVIABLE")

REQUIRED = ("transaction.trnRqUID", "govIssueIdent.govIssueIdentType", "govIssueIdent.identSerialNum",
            "partyAcctRelRec.acctId", "pmtStatus.flagRecalculate")  # fmt: skip


def _day(text: str | None, path: str) -> date | None:
    if not text or not str(text).strip():
        return None
    found = parse_date(text)
    if found is None:
        raise CollectionsError(TRANSFORM, f"{path} invalido: {DATE_REASON}")
    return found


def _names(items: list[Any] | None, attr: str, allowed: tuple[str, ...], path: str) -> None:
    for k, item in enumerate(items or []):
        name = (getattr(item, attr) or "").strip().replace("__", "_")
        if name not in allowed:
            raise CollectionsError(
                TRANSFORM, f"{path}[{k}].{attr} invalido: {name!r} no es uno de {', '.join(allowed)}"
            )


def _not_negative(value: Decimal | None, path: str) -> None:
    if value is not None and value < 0:
        raise CollectionsError(TRANSFORM, f"{path} invalido: no puede ser negativo")


_NOT_NEGATIVE = ("acctBal.amt", "intRateInfo.amt", "extAcctBal.amt", "fee.amt", "discount.amt", "delinqAging.daysCount",
                 "indebtedness.numAsignInstallments", "indebtedness.periodGrace", "indebtedness.rate",
                 "indebtedness.term")  # fmt: skip


def check_item(col: PolicyCollection | None, n: int) -> PolicyCollection:
    where = f"creditAnalysis[{n}].collection"
    if col is None:
        raise CollectionsError(NULL_INPUT, f"{where} es obligatorio")
    for path in REQUIRED:
        if value_at(col, path) in (None, ""):
            raise CollectionsError(NULL_INPUT, f"{where}.{path} es obligatorio")
    assert col.govIssueIdent is not None
    if col.govIssueIdent.govIssueIdentType not in IDENT_TYPES:
        raise CollectionsError(TRANSFORM, f"{where}.govIssueIdent.govIssueIdentType invalido: {', '.join(IDENT_TYPES)}")
    if not str(col.govIssueIdent.identSerialNum).isdigit():
        raise CollectionsError(TRANSFORM, f"{where}.govIssueIdent.identSerialNum invalido: solo digitos")
    _names(col.intRateInfo.curAmt if col.intRateInfo else None, "desc", CONCEPTS, f"{where}.intRateInfo.curAmt")
    _names(col.insuranceInfo, "policyName", POLICIES, f"{where}.insuranceInfo")
    _names(col.fee.curAmt if col.fee else None, "desc", COMMISSIONS, f"{where}.fee.curAmt")
    _names(col.extraordinaryFee, "desc", EXTRA_FEES, f"{where}.extraordinaryFee")
    _names(col.causalExceptionInfo, "name", EXCEPTIONS, f"{where}.causalExceptionInfo")
    _names(col.additionalData, "name", FLAGS, f"{where}.additionalData")
    _names(col.causalNoViabilitynInfo, "descriptionDesc", CAUSES, f"{where}.causalNoViabilitynInfo")
    for k, concept in enumerate(col.intRateInfo.curAmt or [] if col.intRateInfo else []):
        if concept.rate is not None and not Decimal(0) <= concept.rate <= Decimal(100):
            raise CollectionsError(TRANSFORM, f"{where}.intRateInfo.curAmt[{k}].rate invalido: entre 0 y 100")
        _not_negative(concept.amt, f"{where}.intRateInfo.curAmt[{k}].amt")
    for path in _NOT_NEGATIVE:
        _not_negative(value_at(col, path), f"{where}.{path}")
    for path in ("indebtedness.numAsignInstallments", "indebtedness.periodGrace", "indebtedness.term"):
        value = value_at(col, path)
        if value is not None and value != value.to_integral_value():
            raise CollectionsError(TRANSFORM, f"{where}.{path} invalido: debe ser un numero entero de meses")
    flag = col.offer.flagViability if col.offer is not None else None
    if flag is not None and flag.strip().upper() not in VIABILITY_FLAGS:
        raise CollectionsError(
            TRANSFORM, f'{where}.offer.flagViability invalido: "true" o "false" (o VIABLE, NO VIABLE)'
        )
    validity = col.validity or Validity()
    dates = {"validity.startDt": validity.startDt, "validity.openDt": validity.openDt,
             "validity.endDt": validity.endDt, "dueDt": col.dueDt,
             "indebtedness.establishDt": col.indebtedness.establishDt if col.indebtedness else None}  # fmt: skip
    for path, text in dates.items():
        _day(text, f"{where}.{path}")
    return col


def check_request(req: PolicyRequest) -> list[PolicyCollection]:
    if not req.creditAnalysis:
        raise CollectionsError(NULL_INPUT, "creditAnalysis es obligatorio y no puede estar vacio")
    return [check_item(item.collection, n) for n, item in enumerate(req.creditAnalysis)]


# -- "primer momento" ------------------------------------------------------------------------------


def _exceptions(col: PolicyCollection) -> set[str]:
    return {
        (item.name or "").strip().replace("__", "_")
        for item in col.causalExceptionInfo or []
        if str(item.value).strip() in ("1", "1.0", "S", "SI", "true")
    }


def _owed(col: PolicyCollection) -> Decimal | None:
    concepts = col.intRateInfo.curAmt if col.intRateInfo and col.intRateInfo.curAmt else None
    if concepts:
        return sum((c.amt or Decimal(0) for c in concepts), Decimal(0))
    capital = col.acctBal.amt if col.acctBal else None
    interest = col.intRateInfo.amt if col.intRateInfo else None
    if capital is None and interest is None:
        return None
    return (capital or Decimal(0)) + (interest or Decimal(0))


def causes(col: PolicyCollection, tool: str, rules: DecisionRules) -> tuple[list[bool], bool]:
    """Which of the seven causes apply to the tool, and whether an exception lifted one."""
    lifted = _exceptions(col)
    used = False

    def unless(applies: bool, exception: str | None) -> bool:
        nonlocal used
        if applies and exception is not None and exception in lifted:
            used = True
            return False
        return applies

    status = col.partyAcctRelRec.bankAcctStatusCode if col.partyAcctRelRec else None
    days = col.delinqAging.daysCount if col.delinqAging else None
    balance = col.acctBal.amt if col.acctBal else None
    debt = col.indebtedness or Indebtedness()
    forgiven = col.discount.amt if col.discount else None
    owed = _owed(col)
    validity = col.validity or Validity()
    start, end = _day(validity.startDt, "validity.startDt"), _day(validity.endDt, "validity.endDt")
    limit = rules.max_days_past_due.get(tool, rules.default_max_days_past_due)
    found = [
        status is not None and status.strip().upper() not in rules.active_statuses,
        unless(days is not None and days > limit, "EXC_DIAS_MORA"),
        balance is not None and balance < rules.min_balance,
        unless(debt.numAsignInstallments is not None and debt.numAsignInstallments > rules.max_term,
               "EXC_PLAZO_NEGOCIACION"),
        unless(debt.periodGrace is not None and debt.periodGrace > rules.max_grace, "EXC_PERIODO_VIGILANCIA"),
        forgiven is not None and owed is not None and forgiven > owed,
        start is not None and end is not None and start > end,
    ]  # fmt: skip
    return found, used


# -- "recalculo" -----------------------------------------------------------------------------------


def forgiven(col: PolicyCollection) -> Decimal:
    concepts = col.intRateInfo.curAmt if col.intRateInfo and col.intRateInfo.curAmt else []
    total = sum(((c.amt or Decimal(0)) * (c.rate or Decimal(0)) / 100 for c in concepts), Decimal(0))
    return total.quantize(CENT, rounding=ROUND_HALF_UP)


def installment(balance: Decimal, monthly_rate_percent: Decimal, term: int, grace: int) -> Decimal | None:
    """The level installment of `balance` over `term` months after `grace` months of capitalized
    interest; None when there is no term."""
    if term <= 0:
        return None
    with localcontext() as ctx:
        ctx.prec = 40
        r = monthly_rate_percent / 100
        grown = balance * (1 + r) ** grace
        value = grown / term if r == 0 else grown * r / (1 - (1 + r) ** -term)
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Decision:
    collection: PolicyCollection  # the answer: the item with the engine's figures in place
    tool: str
    recalculated: bool
    viable: bool
    installment: Decimal | None
    forgiven: Decimal | None


def decide(col: PolicyCollection, rules: DecisionRules) -> Decision:
    assert col.pmtStatus is not None
    tool = (col.strategyType or "").strip()
    tools = [tool] if tool else list(rules.max_days_past_due)
    verdicts = {t: causes(col, t, rules) for t in tools}
    viable_tools = [t for t, (found, _) in verdicts.items() if not any(found)]
    viable = bool(viable_tools)
    if tool:
        first, used = verdicts[tool]
    else:  # every tool of the rules: a cause is reported when it stops them all
        first = [all(found[k] for found, _ in verdicts.values()) for k in range(len(CAUSES))]
        used = any(verdicts[t][1] for t in viable_tools)
    offer = (col.offer or Offer()).model_copy(update={
        "flagViability": "true" if viable else "false",
        "viabilityLevel": ("1" if used else "0") if viable else "",
        "count": str(len(viable_tools)),
    })  # fmt: skip
    update: dict[str, Any] = {
        "offer": offer,
        "causalNoViabilitynInfo": [Cause(descriptionDesc=name, viabilityResult="1" if hit else "0")
                                   for name, hit in zip(CAUSES, first, strict=True)],
    }  # fmt: skip
    pay = waived = None
    if col.pmtStatus.flagRecalculate:
        waived = forgiven(col)
        owed = _owed(col) or Decimal(0)
        debt = col.indebtedness or Indebtedness()
        balance = max(owed - waived, Decimal(0))
        pay = installment(balance, debt.rate or Decimal(0), int(debt.numAsignInstallments or 0),
                          int(debt.periodGrace or 0)) if viable else None  # fmt: skip
        extra = sum((f.amt or Decimal(0) for f in col.extraordinaryFee or []), Decimal(0))
        per_installment = (extra / debt.term).quantize(CENT, rounding=ROUND_HALF_UP) if debt.term else debt.amt
        update["curAmt"] = Amount(amt=pay)
        update["discount"] = Amount(amt=waived)
        update["indebtedness"] = debt.model_copy(update={"amt": per_installment})
        update["offer"] = offer.model_copy(update={"amt": debt.rate})
    return Decision(col.model_copy(update=update), tool, bool(col.pmtStatus.flagRecalculate), viable, pay, waived)
