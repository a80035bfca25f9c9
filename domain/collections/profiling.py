"""Profiling, the "motor de decision" (POST /v1/negotiations/profile): each listValidation
item is checked (required fields 10002, enumerations 10007) and, with the client's consent to
data processing, its payment capacity is calculated:

    business net     = sales (financialAssets) - costs (expenses)          -> personInfo.curAmt.amt
    disposable       = income + business net + other income - liabilities -> collection.totalCurAmt.amt
    payment capacity = max(0, disposable) x capacity_share, whole pesos    -> collection.pmtCapacity.amt

(field names of the spec's own "Calculation" rows; pmtCapacity is the project's). Without
consent nothing personal is processed: the action is "Check CREDIT DATA" and no figures.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator

from domain.collections.errors import NULL_INPUT, TRANSFORM, CollectionsError
from domain.collections.models import Num, Strict, Text, spelled, value_at
from domain.collections.rules import DecisionRules

PROFILED, NOT_AUTHORIZED = "Calculo PERFILAMIENTO", "Check CREDIT DATA"
IDENT_TYPES = ("CC", "NI", "CE", "NE")
MARITAL = {"01": "SOLTERO/A", "02": "CASADO/A O UNION LIBRE", "03": "SEPARADO/A O DIVORCIADO/A", "04": "VIUDO/A",
           "05": "OTRO", "S": "SOLTERO/A", "C": "CASADO/A O UNION LIBRE", "U": "CASADO/A O UNION LIBRE",
           "D": "SEPARADO/A O DIVORCIADO/A", "V": "VIUDO/A"}  # fmt: skip
EDUCATION = ("01", "02", "03", "04", "05", "99")
OPERATION_TYPES = ("A", "M")
ROLES = ("01", "02")
STAGES = ("02", "04")
MOMENTS = ("01", "02")
LINES = ("U", "V", "C")
OCCUPATION_TYPES = ("PRINCIPAL", "PRIMARY", "SECUNDARIO", "SECONDARY")
CONTRACTS = ("TEMPORAL", "INDEFINIDO", "PRESTACION DE SERVICIOS", "OBRA LABOR")
SECTORS = ("PRIVADA", "PUBLICO", "MIXTO")

Number = Num | None


def _yes_no(value: Any) -> Any:
    """The table's "[True = "Si", False = "No"]" as well as the example's JSON true/false."""
    if isinstance(value, str) and _plain(value) in ("SI", "S", "NO", "N"):
        return _plain(value).startswith("S")
    return value


YesNo = Annotated[bool, BeforeValidator(_yes_no, json_schema_input_type=bool | str)]


class Amount(Strict):
    amt: Number = None


class Transaccion(Strict):
    trnRqUID: Text | None = None
    operationType: Text | None = None


class PartyAcct(Strict):
    acctId: Text | None = None


class GovIssueIdent(Strict):
    govIssueIdentType: Text | None = None
    identSerialNum: Text | None = None


class Compliance(Strict):
    personDataProcessing: bool | None = None


class PersonName(Strict):
    lastName: Text | None = None


class MaritalStatusInfo(Strict):
    maritalStatus: Text | None = None


class SemiPrivatePersonInfo(Strict):
    educationLevel: Text | None = None


class Occupation(Strict):
    job: Text | None = None
    type: Text | None = None


class NaturalPerson(Strict):
    personName: PersonName | None = None
    age: Number = None
    city: Text | None = None
    maritalStatusInfo: MaritalStatusInfo | None = None
    semiPrivatePersonInfo: SemiPrivatePersonInfo | None = None
    govRank: Text | None = None
    businessOccupation: list[Occupation] | None = spelled("businessOccupation", "businessOcucupation")


class BusinessInfo(Strict):
    labourContractType: Text | None = None
    labourSector: Text | None = None
    jobYears: Number = None


class DelinqAging(Strict):
    amt: Number = None
    flagPreventPayment: bool | None = None
    reason: Text | None = None


class ProfileCollection(Strict):
    flagSelected: bool | None = None
    suggestedPmtAmt: Number = None
    delinqAging: DelinqAging | None = None
    totalCurAmt: Num | Amount | None = None


class IncomeInfo(Strict):
    incomeAmt: Number = None
    flagContributor: YesNo | None = None


class PersonInfo(Strict):
    incomeInfo: IncomeInfo | None = None
    otherIncome: Amount | None = None
    financialLiabilities: Amount | None = None
    financialAssets: Amount | None = None  # the spec's example puts sales and costs here
    expenses: Amount | None = None
    curAmt: Amount | None = None
    totalCurAmt: Amount | None = None
    role: Text | None = None


class BusinessPerson(Strict):
    financialAssets: Amount | None = None  # where the spec's table puts them
    expenses: Amount | None = None


class BusinessProfession(Strict):
    businessType: Text | None = None
    desc: Text | None = None


class ProfileOffer(Strict):
    processStage: Text | None = None
    indMoment: Text | None = None
    executionLine: Text | None = None


class ProfileItem(Strict):
    transaccion: Transaccion | None = None
    partyAcctRelRec: PartyAcct | None = None
    govIssueIdent: GovIssueIdent | None = None
    compliance: Compliance | None = None
    naturalPerson: NaturalPerson | None = None
    businessInfo: BusinessInfo | None = None
    collection: ProfileCollection | None = None
    personInfo: PersonInfo | None = None
    businessPerson: BusinessPerson | None = None
    businessProfessionGeneral: BusinessProfession | None = None
    businessProfessionSpecific: BusinessProfession | None = None
    offer: ProfileOffer | None = None


class ProfileRequest(Strict):
    listValidation: list[ProfileItem] | None = None


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


REQUIRED = (
    "transaccion.trnRqUID", "transaccion.operationType", "partyAcctRelRec.acctId", "govIssueIdent.govIssueIdentType",
    "govIssueIdent.identSerialNum", "compliance.personDataProcessing", "naturalPerson.personName.lastName",
    "personInfo.role", "personInfo.incomeInfo.incomeAmt", "offer.processStage", "offer.indMoment",
    "offer.executionLine",
)  # fmt: skip


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().upper())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _one_of(options: Any) -> Any:
    return lambda v: None if _plain(str(v)) in options else f"debe ser uno de {', '.join(options)}"


def _amount(value: Any) -> str | None:
    return None if isinstance(value, Decimal) and value >= 0 else "debe ser un importe no negativo"


def _between(low: int, high: int) -> Any:
    return lambda v: None if isinstance(v, Decimal) and low <= v <= high else f"debe estar entre {low} y {high}"


def _digits(most: int) -> Any:
    return lambda v: None if str(v).isdigit() and len(str(v)) <= most else f"a lo sumo {most} digitos"


def _padded_digits(most: int) -> Any:
    """An account completed with spaces on the right (as the negotiation tables ask) or not."""
    digits = _digits(most)
    return lambda v: (f"a lo sumo {most} caracteres" if len(str(v)) > most else digits(str(v).rstrip(" ")))


FORMATS = {
    "transaccion.operationType": _one_of(OPERATION_TYPES),
    "partyAcctRelRec.acctId": _padded_digits(20),
    "govIssueIdent.govIssueIdentType": _one_of(IDENT_TYPES),
    "govIssueIdent.identSerialNum": _digits(15),
    "naturalPerson.age": _between(18, 120),
    "naturalPerson.maritalStatusInfo.maritalStatus": _one_of(tuple(MARITAL)),
    "naturalPerson.semiPrivatePersonInfo.educationLevel": _one_of(EDUCATION),
    "businessInfo.labourContractType": _one_of(CONTRACTS),
    "businessInfo.labourSector": _one_of(SECTORS),
    "businessInfo.jobYears": _between(0, 80),
    "personInfo.role": _one_of(ROLES),
    "personInfo.incomeInfo.incomeAmt": _amount,
    "personInfo.otherIncome.amt": _amount,
    "personInfo.financialLiabilities.amt": _amount,
    "personInfo.financialAssets.amt": _amount,
    "personInfo.expenses.amt": _amount,
    "businessPerson.financialAssets.amt": _amount,
    "businessPerson.expenses.amt": _amount,
    "collection.suggestedPmtAmt": _amount,
    "collection.delinqAging.amt": _amount,
    "offer.processStage": _one_of(STAGES),
    "offer.indMoment": _one_of(MOMENTS),
    "offer.executionLine": _one_of(LINES),
}


def _amt(*candidates: Any) -> Decimal:
    for candidate in candidates:
        if candidate is not None and candidate.amt is not None:
            return Decimal(candidate.amt)
    return Decimal(0)


@dataclass(frozen=True)
class Profile:
    item: ProfileItem
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


def check_item(item: ProfileItem, n: int) -> None:
    where = f"listValidation[{n}]"
    for path in REQUIRED:
        if value_at(item, path) in (None, ""):
            raise CollectionsError(NULL_INPUT, f"{where}.{path} es obligatorio")
    for path, check in FORMATS.items():
        value = value_at(item, path)
        if value is not None and (reason := check(value)) is not None:
            raise CollectionsError(TRANSFORM, f"{where}.{path} invalido: {reason}")
    person = item.naturalPerson
    for k, job in enumerate(person.businessOccupation or [] if person else []):
        if job.type is not None and _plain(job.type) not in OCCUPATION_TYPES:
            raise CollectionsError(
                TRANSFORM, f"{where}.naturalPerson.businessOccupation[{k}].type invalido: Principal o Secundario"
            )


def profile(item: ProfileItem, rules: DecisionRules) -> Profile:
    """The item's figures (see the module docstring); the item must have passed check_item."""
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


def check_request(req: ProfileRequest) -> list[ProfileItem]:
    if not req.listValidation:
        raise CollectionsError(NULL_INPUT, "listValidation es obligatorio y no puede estar vacio")
    for n, item in enumerate(req.listValidation):
        check_item(item, n)
    return req.listValidation
