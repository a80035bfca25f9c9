"""Policies, the "AppPolicies" decision engine (POST /v1/negotiations/policies).

Each creditAnalysis item is checked against the mapping table (`FIELDS`), then:

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
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from typing import Any

from domain.collections.dates import parse_date
from domain.collections.errors import NULL_INPUT, CollectionsError
from domain.collections.fields import (
    ID_CHARS,
    Chars,
    Code,
    DateForm,
    Digits,
    Flag,
    Form,
    Free,
    Number,
    NumberText,
    Padded,
    Rule,
    check,
    index,
    model_at,
    request_model,
)
from domain.collections.models import Strict
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
# offer.flagViability as input: the table's "true"/"false" and the recalculo example's "VIABLE";
# answered as the table and five of six examples write it ("true"/"false", docs/decisions.md)
VIABILITY_FLAGS = {"TRUE": "viable", "FALSE": "no viable", "VIABLE": "viable", "NO VIABLE": "no viable"}

_AMOUNT = Number(places=2)
_MONTHS = Number(places=0, digits=3)
_RATE = Number(high=Decimal(100), places=6, digits=3)
_COUNT = NumberText(Number(places=0, digits=3))
_ZERO_ONE = Code({"0": "no", "1": "si"}, blank=True)
_COL = "creditAnalysis[].collection."


def _row(path: str, form: Form, example: Any, table: bool | str = True, words: str = "",
         required: bool = False) -> Rule:  # fmt: skip
    """A row of the table, whose paths are each creditAnalysis item's collection; `table`
    False: only the example has the field; a text: the table spells it so."""
    spelled = _COL + (table if isinstance(table, str) else path) if table else ""
    return Rule(_COL + path, form, example, spelled, words, required)


FIELDS = (
    _row("transaction.trnRqUID", Chars(30), "2-2230644544", words="Id de la transaccion", required=True),
    _row("strategyType", Chars(10, "A-Z0-9", blank=True), "PDIA",
         words="Herramienta a evaluar; en blanco en el primer momento: todas"),
    _row("govIssueIdent.govIssueIdentType", Code(IDENT_TYPES), "CC",
         words="Tipo de identificacion del cliente: CC, NI, CE, NE", required=True),
    _row("govIssueIdent.identSerialNum", Digits(15), "79641257", words="Numero de identificacion del cliente",
         required=True),
    _row("curAmt.amt", _AMOUNT, 534329, words="Valor de la cuota"),
    _row("partyAcctRelRec.acctId", Padded(20, ID_CHARS), "4570215061040388", words="Numero de obligacion",
         required=True),
    _row("partyAcctRelRec.amt", _AMOUNT, 1602987, words="Valor del pago"),
    _row("partyAcctRelRec.bankAcctStatusCode", Chars(20, "A-Za-z ", blank=True), "VIGENTE",
         words="Estado del credito (activo / inactivo)"),
    _row("partyAcctRelRec.flagSelectedOffered", Chars(10, "A-Z", blank=True), "FDTA",
         words="Marca si el credito esta al dia, en mora o vencido: FDTA, FDTM, FDTP"),
    _row("partyAcctRelRec.additionalAccountId", Free(60), "TARJETA CREDITO", words="Subproducto"),
    _row("partyAcctRelRec.additionalAcctId", Free(200), "0", words="Concatenacion de obligaciones"),
    _row("pmtStatus.flagRecalculate", Flag(), False, words='Si se requiere recalculo: "false" o "true"',
         required=True),
    _row("delinqAging.daysCount", Number(places=0, digits=5), 95, words="Dias de mora"),
    _row("extendedDiscount.flagFindeter", Free(20), "", words="Si el credito tiene beneficio Findeter"),
    _row("extendedDiscount.flagWalletFindeter", Free(20), "", words="Tipo de descuento Findeter aplicado"),
    _row("extAcctBal.amt", _AMOUNT, 0, words="Valor de la comision"),
    _row("extAcctBal.curAmt.amt", _AMOUNT, 0, words="Otros pagos"),
    _row("acctBal.amt", _AMOUNT, 1529675, words="Saldo de capital"),
    _row("fee.amt", _AMOUNT, 0, words="Gastos de cobranza a cargo del cliente"),
    _row("fee.curAmt[].desc", Code(COMMISSIONS), "COMISION_MIPYME", words="Nombre de la comision"),
    _row("fee.curAmt[].amt", _AMOUNT, 0, words="Valor de la comision"),
    _row("extraordinaryFee[].desc", Code(EXTRA_FEES), "CARGOS_SIP", words="Nombre del cargo extraordinario"),
    _row("extraordinaryFee[].amt", _AMOUNT, 0, False),
    _row("collateralDesc", Free(60), "", words="Sistema de amortizacion"),
    _row("collateral.code", Free(20), "0.0", words="Codigo de garantia"),
    _row("capitalizationAcctId.code", Free(20), "", words="Codigo de titularidad"),
    _row("dueDt", DateForm(blank=True), "2024-05-06", words="Fecha de facturacion"),
    _row("insuranceInfo[].policyName", Code(POLICIES), "SEGURO_INCENDIO", words="Nombre del seguro"),
    _row("insuranceInfo[].amt", _AMOUNT, 0, words="Valor de la poliza"),
    _row("intRateInfo.amt", _AMOUNT, 269139, words="Saldo de intereses"),
    _row("intRateInfo.curAmt[].desc", Code(CONCEPTS), "CAPITAL", words="Concepto del porcentaje a condonar"),
    _row("intRateInfo.curAmt[].rate", _RATE, 0.5, words="Porcentaje (condonado del concepto)"),
    _row("intRateInfo.curAmt[].amt", _AMOUNT, 1529675, words="Valor del concepto"),
    _row("intRateInfo.rate", _RATE, 0, words="Tasa de interes"),
    _row("indebtedness.establishDt", DateForm(blank=True), "2024-05-06", words="Fecha del periodo pactado"),
    _row("indebtedness.numAsignInstallments", _MONTHS, 3, words="Nuevo plazo"),
    _row("indebtedness.periodGrace", _MONTHS, 0, words="Periodo de gracia"),
    _row("indebtedness.rate", _RATE, 1.5, words="Nueva tasa de interes (mensual, %)"),
    _row("indebtedness.amt", _AMOUNT, 0, words="Valor del cargo diferido por cuota"),
    _row("indebtedness.numberOfInstallments", _MONTHS, 3, words="Periodo de negociacion"),
    _row("indebtedness.totalPmtCount", _MONTHS, 0, words="Periodo total de rediferido"),
    _row("indebtedness.term", _MONTHS, 12, words="Periodo del cargo diferido"),
    _row("validity.startDt", DateForm(blank=True), "2024-05-06", words="Fecha de vigencia de la negociacion"),
    _row("validity.openDt", DateForm(blank=True), "2024-07-22", words="Fecha de inicio de la negociacion del pago"),
    _row("validity.endDt", DateForm(blank=True), "2024-10-16", words="Fecha de fin de la negociacion del pago"),
    _row("offer.flagViability", Code(VIABILITY_FLAGS, {"NO_VIABLE": "NO VIABLE", "NOVIABLE": "NO VIABLE"}, fold=True,
                                    blank=True), "true",
         words='Viabilidad de la herramienta: "false" o "true" (el ejemplo de recalculo: VIABLE)'),
    _row("offer.viabilityLevel", _COUNT, "0", words="Numero y nivel de atribucion"),
    _row("offer.count", _COUNT, "3.0", words="Numero de ofertas viables por obligacion"),
    _row("offer.amt", _RATE, 0, words="Nueva tasa de interes"),
    _row("discount.amt", _AMOUNT, 63312, words="Suma de los valores condonados"),
    _row("causalExceptionInfo[].name", Code(EXCEPTIONS, aliases={"EXC__TIEMPO_ENTRE_HERR": "EXC_TIEMPO_ENTRE_HERR"}),
         "EXC_DIAS_MORA", words="Nombre de la excepcion"),
    _row("causalExceptionInfo[].value", _COUNT, "0", words="Valor de la excepcion: 1 la aplica"),
    _row("causalNoViabilitynInfo[].descriptionDesc", Code(CAUSES), "causalDeNoViabilidadHerremienta1",
         words="Causal de no viabilidad de la herramienta"),
    _row("causalNoViabilitynInfo[].viabilityResult", _ZERO_ONE, "", words="Resultado: 1 aplica, 0 no"),
    _row("additionalData[].name", Code(FLAGS), "FLAG_VALOR_PAGO", "AdditionalData[].name",
         words="Nombre de la variable"),
    _row("additionalData[].value", _ZERO_ONE, "0", "AdditionalData[].value", words="Valor de la variable"),
)  # fmt: skip
RULES = index(FIELDS)
_EXCEPTION = RULES[_COL + "causalExceptionInfo[].name"].form
assert isinstance(_EXCEPTION, Code)
PolicyRequest = request_model("PolicyRequest", FIELDS, "Policy")
CreditAnalysis = model_at(PolicyRequest, "creditAnalysis")
PolicyCollection = model_at(PolicyRequest, "creditAnalysis.collection")
Indebtedness = model_at(PolicyCollection, "indebtedness")
Validity = model_at(PolicyCollection, "validity")
Offer = model_at(PolicyCollection, "offer")
Cause = model_at(PolicyCollection, "causalNoViabilitynInfo")
Amount = model_at(PolicyCollection, "curAmt")


class ResponseType(Strict):
    value: str


class PolicyResponse(Strict):
    responseType: ResponseType
    creditAnalysis: list[CreditAnalysis]  # type: ignore[valid-type]


def _day(text: Any) -> date | None:
    return None if text is None or not str(text).strip() else parse_date(text)


def check_request(req: Any) -> list[Any]:
    """Every item against the table; one bad item refuses the call."""
    if not req.creditAnalysis:
        raise CollectionsError(NULL_INPUT, "creditAnalysis es obligatorio y no puede estar vacio")
    check(req, FIELDS, required=("creditAnalysis[].collection",))
    return [item.collection for item in req.creditAnalysis]


# -- "primer momento" ------------------------------------------------------------------------------


def _exceptions(col: PolicyCollection) -> set[str]:
    """The exceptions granted: those whose value is 1 ("1", 1, "1.0")."""
    return {_EXCEPTION.canonical(item.name) or "" for item in col.causalExceptionInfo or [] if _is_one(item.value)}


def _is_one(value: Any) -> bool:
    try:
        return Decimal(str(value).strip()) == 1
    except InvalidOperation:
        return False


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
    start, end = _day(validity.startDt), _day(validity.endDt)
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
