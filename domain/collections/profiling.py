"""Profiling, the "motor de decision" (POST /v1/negotiations/profile): each listValidation
item is checked against the table (`FIELDS`: required fields 10002, forms 10007) and, with the client's consent to
data processing, its payment capacity is calculated:

    business net     = sales (financialAssets) - costs (expenses)          -> personInfo.curAmt.amt
    disposable       = income + business net + other income - liabilities -> collection.totalCurAmt.amt
    payment capacity = max(0, disposable) x capacity_share, whole pesos    -> collection.pmtCapacity.amt

(field names of the spec's own "Calculation" rows; pmtCapacity is the project's). Without
consent nothing personal is processed: the action is "Check CREDIT DATA" and no figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from domain.collections.errors import NULL_INPUT, CollectionsError
from domain.collections.fields import (
    PERSON_CHARS,
    Boxed,
    Chars,
    Code,
    Digits,
    Flag,
    Form,
    Free,
    Number,
    Padded,
    Rule,
    check,
    model_at,
    request_model,
)
from domain.collections.models import Num, Strict
from domain.collections.rules import DecisionRules

PROFILED, NOT_AUTHORIZED = "Calculo PERFILAMIENTO", "Check CREDIT DATA"
IDENT_TYPES = ("CC", "NI", "CE", "NE")
MARITAL = {"01": "SOLTERO/A", "02": "CASADO/A O UNION LIBRE", "03": "SEPARADO/A O DIVORCIADO/A", "04": "VIUDO/A",
           "05": "OTRO", "S": "SOLTERO/A", "C": "CASADO/A O UNION LIBRE", "U": "CASADO/A O UNION LIBRE",
           "D": "SEPARADO/A O DIVORCIADO/A", "V": "VIUDO/A"}  # fmt: skip
EDUCATION = ("01", "02", "03", "04", "05", "99")
OCCUPATION_TYPES = ("PRINCIPAL", "PRIMARY", "SECUNDARIO", "SECONDARY")
CONTRACTS = ("TEMPORAL", "INDEFINIDO", "PRESTACION DE SERVICIOS", "OBRA LABOR")
SECTORS = ("PRIVADA", "PUBLICO", "MIXTO")

_AMOUNT = Number(places=2)
_SIGNED = Number(low=None, places=2)  # the spec's "Calculation" rows: a net figure may be negative
_ITEM = "listValidation[]."


def _item(path: str, form: Form, example: Any, words: str = "", required: bool = False,
          table: str | None = None) -> Rule:  # fmt: skip
    """A row of the table, whose paths are each listValidation item's; `table` the table's
    spelling when it differs ("" when only the example has the field)."""
    spelled = path if table is None else table
    return Rule(_ITEM + path, form, example, _ITEM + spelled if spelled else "", words, required)


FIELDS = (
    _item("transaccion.trnRqUID", Chars(30), "28498521",
          "Numero que identifica la solicitud del cliente", True),
    _item("transaccion.operationType", Code({"A": "Automatica", "M": "Manual"}), "A",
          "Tipo de transaccion: A automatica, M manual", True),
    _item("partyAcctRelRec.acctId", Padded(20, "0-9"), "12345678901234567890",
          "Numero de obligacion (Number en la tabla; texto en el ejemplo)", True),
    _item("govIssueIdent.govIssueIdentType", Code(dict.fromkeys(IDENT_TYPES, "")), "CC",
          "Tipo de identificacion del cliente: CC, NI, CE, NE", True),
    _item("govIssueIdent.identSerialNum", Digits(15), "1234567890",
          "Numero de identificacion del cliente", True),
    _item("compliance.personDataProcessing", Flag(), True,
          "Autorizacion de tratamiento de datos (true o false)", True),
    _item("naturalPerson.personName.lastName", Chars(60, PERSON_CHARS), "DE_FRANCISCO",
          "Primer apellido del cliente", True),
    _item("naturalPerson.age", Number(low=Decimal(18), high=Decimal(120), places=0), 30,
          "Edad del cliente"),
    _item("naturalPerson.city", Free(60), "DANE", "Ciudad donde esta el credito"),
    _item("naturalPerson.maritalStatusInfo.maritalStatus", Code(MARITAL), "S",
          "Valores 01-05: 01 SOLTERO/A, 02 CASADO/A O UNION LIBRE, 03 SEPARADO/A O DIVORCIADO/A, 04 VIUDO/A"),
    _item("naturalPerson.semiPrivatePersonInfo.educationLevel", Code(dict.fromkeys(EDUCATION, "")), "01",
          "Valores 01-05 y 99"),
    _item("naturalPerson.govRank", Free(40), "Suboficial", "Rango de las FFMM"),
    _item("naturalPerson.businessOccupation[].job", Free(60), "Empleado", "Nombre de la ocupacion",
          table="naturalPerson.businessOcucupation[].job"),
    _item("naturalPerson.businessOccupation[].type", Code(OCCUPATION_TYPES, fold=True), "Primary",
          'Tipo de la ocupacion ("Principal" o "Secondary")', table="naturalPerson.businessOcucupation[].type"),
    _item("businessInfo.labourContractType", Code(CONTRACTS, fold=True), "Indefinido",
          "Empleado: Temporal, Indefinido, Prestacion de Servicios, Obra labor"),
    _item("businessInfo.labourSector", Code(SECTORS, fold=True), "Privada",
          "Sector economico de la ocupacion (Privada, Publico, Mixto)"),
    _item("businessInfo.jobYears", Number(high=Decimal(80), places=2), 8,
          "Tiempo en la actividad economica"),
    _item("collection.flagSelected", Flag(), True,
          'Puede pagar la cuota actual y las futuras? "false" o "true"'),
    _item("collection.suggestedPmtAmt", _AMOUNT, 1441551, "Cuota que puede pagar"),
    _item("collection.delinqAging.amt", _AMOUNT, 134533,
          "Cuanto tiene disponible para pagar la mora"),
    _item("collection.delinqAging.flagPreventPayment", Flag(), True,
          'Supero la situacion que le impide pagar? "true" o "false"'),
    _item("collection.delinqAging.reason", Free(200), "The customer said...",
          "Motivo del no pago"),
    _item("collection.totalCurAmt", Boxed(_SIGNED), 1441551,
          "Calculo: ingresos + utilidad neta + otros ingresos - gastos (el ejemplo lo envia sin .amt)",
          table="collection.totalCurAmt.amt"),
    _item("personInfo.incomeInfo.incomeAmt", _AMOUNT, 25000000,
          "Ingreso mensual bruto de la actividad economica", True),
    _item("personInfo.incomeInfo.flagContributor", Flag(("TRUE", "SI"), ("FALSE", "NO")), True,
          'Aporta ingresos: True = "Si", False = "No"'),
    _item("personInfo.otherIncome.amt", _AMOUNT, 134533, "Otros ingresos"),
    _item("personInfo.financialLiabilities.amt", _AMOUNT, 134533,
          "Gastos y deudas personales y familiares"),
    _item("personInfo.financialAssets.amt", _AMOUNT, 134533, table=""),
    _item("personInfo.expenses.amt", _AMOUNT, 134533, table=""),
    _item("personInfo.curAmt.amt", _SIGNED, 134533, "Calculo: ventas - costos, ingreso neto"),
    _item("personInfo.totalCurAmt.amt", _SIGNED, 134533, table=""),
    _item("personInfo.role", Code({"01": "Principal", "02": "Secundario"}), "01",
          "Rol del solicitante: 01 Principal, 02 Secundario", True),
    _item("businessPerson.financialAssets.amt", _AMOUNT, 134533,
          "Ventas de la ocupacion independiente o PJ"),
    _item("businessPerson.expenses.amt", _AMOUNT, 134533,
          "Costos de la operacion, independiente o PJ"),
    _item("businessProfessionGeneral.businessType", Free(40), "actividadGeneral",
          'Tipo de actividad economica ("actividadGeneral")'),
    _item("businessProfessionGeneral.desc", Free(200), "actividadGeneral- desc",
          "Actividad economica"),
    _item("businessProfessionSpecific.businessType", Free(40), "actividadEspecifica",
          'Tipo de actividad economica ("actividadEspecifica")'),
    _item("businessProfessionSpecific.desc", Free(200), "actividadEspecifica-desc",
          "Actividad economica especifica"),
    _item("offer.processStage", Code({"02": "Generacion de la oferta", "04": "Analisis"}), "02",
          "Etapa del proceso: 02 generacion de la oferta, 04 analisis", True),
    _item("offer.indMoment", Code({"01": "Primer momento", "02": "Segundo momento"}), "01",
          "Momento del proceso: 01 primero, 02 segundo", True),
    _item("offer.executionLine", Code({"U": "UPNF", "V": "Vivienda", "C": "Consumo"}), "V",
          "Linea de ejecucion: U UPNF, V Vivienda, C Consumo", True),
)  # fmt: skip
ProfileRequest = request_model("ProfileRequest", FIELDS, "Profile")
ProfileItem = model_at(ProfileRequest, "listValidation")
REQUIRED = tuple(rule.path.removeprefix(_ITEM) for rule in FIELDS if rule.required)


class Amount(Strict):
    amt: Num | None = None


class ResultTransaccion(Strict):
    action: str
    trnRqUID: str


class ResultAcct(Strict):
    acctId: str


class ResultIdent(Strict):
    govIssueIdentType: str
    identSerialNum: str


class ResultPersonInfo(Strict):
    curAmt: Amount


class ResultCollection(Strict):
    totalCurAmt: Amount
    pmtCapacity: Amount


class ProfileResult(Strict):
    transaccion: ResultTransaccion
    partyAcctRelRec: ResultAcct
    govIssueIdent: ResultIdent
    personInfo: ResultPersonInfo | None = None
    collection: ResultCollection | None = None


class ResponseType(Strict):
    value: str


class ProfileResponse(Strict):
    listValidation: list[ProfileResult]
    responseType: ResponseType


def _amt(*candidates: Any) -> Decimal:
    for candidate in candidates:
        if candidate is not None and candidate.amt is not None:
            return Decimal(candidate.amt)
    return Decimal(0)


@dataclass(frozen=True)
class Profile:
    item: Any  # a listValidation item (ProfileItem)
    action: str
    business_net: Decimal | None
    disposable: Decimal | None
    capacity: Decimal | None

    def result(self) -> ProfileResult:
        item = self.item
        assert item.transaccion and item.partyAcctRelRec and item.govIssueIdent
        figures: dict[str, Any] = {}
        if self.capacity is not None:
            figures = {
                "personInfo": ResultPersonInfo(curAmt=Amount(amt=self.business_net)),
                "collection": ResultCollection(totalCurAmt=Amount(amt=self.disposable),
                                               pmtCapacity=Amount(amt=self.capacity)),
            }  # fmt: skip
        return ProfileResult(
            transaccion=ResultTransaccion(action=self.action, trnRqUID=str(item.transaccion.trnRqUID)),
            partyAcctRelRec=ResultAcct(acctId=str(item.partyAcctRelRec.acctId)),
            govIssueIdent=ResultIdent(govIssueIdentType=str(item.govIssueIdent.govIssueIdentType),
                                      identSerialNum=str(item.govIssueIdent.identSerialNum)),
            **figures,
        )  # fmt: skip


def profile(item: Any, rules: DecisionRules) -> Profile:
    """The item's figures (see the module docstring); the item must have passed check_request."""
    assert item.compliance is not None
    if not item.compliance.personDataProcessing:
        return Profile(item, NOT_AUTHORIZED, None, None, None)
    person, business = item.personInfo, item.businessPerson
    assert person is not None and person.incomeInfo is not None and person.incomeInfo.incomeAmt is not None
    sales = _amt(business.financialAssets if business else None, person.financialAssets)
    costs = _amt(business.expenses if business else None, person.expenses)
    business_net = sales - costs
    disposable = (
        Decimal(person.incomeInfo.incomeAmt)
        + business_net
        + _amt(person.otherIncome)
        - _amt(person.financialLiabilities)
    )
    capacity = (max(disposable, Decimal(0)) * rules.capacity_share).quantize(Decimal(1), rounding=ROUND_DOWN)
    return Profile(item, PROFILED, business_net, disposable, capacity)


def check_request(req: Any) -> list[Any]:
    """Every item against the table; one bad item refuses the call."""
    if not req.listValidation:
        raise CollectionsError(NULL_INPUT, "listValidation es obligatorio y no puede estar vacio")
    check(req, FIELDS)
    return list(req.listValidation)
