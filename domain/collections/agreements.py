"""The payment agreement of an account (GET /v1/agreement/ics), in the spec's answer shape.

Every field is text, as in the spec's example; an operator imports the documents
(`manage.py import-collections`) and the route answers them as stored, after checking
them against this model on the way in.
"""

from __future__ import annotations

from pydantic import Field

from domain.collections.fields import ID_CHARS, Code, Digits, Padded, Rule
from domain.collections.models import Strict
from domain.collections.negotiations import IDENT_TYPES

# the route's query: an account, or a holder's identity (both parts)
QUERY = (
    Rule("acctId", Padded(20, ID_CHARS), "5895180000053129617", "loanInfoCommon.acctId",
         "Numero de la cuenta (o govIssueIdentType e identSerialNum)"),
    Rule("govIssueIdentType", Code(IDENT_TYPES, aliases={"Ce": "CE"}), "CC",
         "personInfo.govIssueIdent.govIssueIdentType", "Tipo de identificacion del titular"),
    Rule("identSerialNum", Digits(15), "1234567890", "personInfo.govIssueIdent.identSerialNum",
         "Numero de identificacion del titular"),
)  # fmt: skip


class GovIssueIdent(Strict):
    identSerialNum: str = Field(pattern=r"^[0-9]{1,15}$")
    govIssueIdentType: str


class OtherIdentDoc(Strict):
    phoneNumAdditional: str = ""
    phoneAreaCode: str = ""
    phoneType: str = ""


class PostAddr(Strict):
    latitude: str = ""
    longitude: str = ""


class ContactInfo(Strict):
    phone: str = ""
    phoneAreaCode: str = ""
    phoneType: str = ""
    addres: str = ""  # sic: the spec's spelling
    city: str = ""
    zone: str = ""
    addrType: str = ""
    addr1: str = ""
    otherIdentDoc: OtherIdentDoc = OtherIdentDoc()
    postAddr: PostAddr = PostAddr()


class PersonInfo(Strict):
    govIssueIdent: GovIssueIdent
    contactInfo: ContactInfo = ContactInfo()


class NameValue(Strict):
    name: str
    value: str


class EntityInformer(Strict):
    additionalData: list[NameValue] = Field(default_factory=list)


class LoanInfoCommon(Strict):
    acctId: str = Field(pattern=r"^[A-Za-z0-9\-]{1,20}$")
    acctType: str = Field(max_length=60)


class TrnSrcInfo(Strict):
    channel: str = ""
    action: str = ""
    status: str = ""
    contactStatus: str = ""
    desc: str = ""
    nextPmtDt: str = ""
    user: str = ""


class Transaction(Strict):
    required: str = "N"


class RefInfo(Strict):
    destination: str = ""


class EntprAgreement(Strict):
    scvIdent: str = ""
    daysCycle: str = ""


class PmtStatus(Strict):
    chkNum: str = ""


class CurAmt(Strict):
    amt: str = ""


class Fee(Strict):
    curAmt: CurAmt = CurAmt()
    establishDt: str = ""


class Agreement(Strict):
    """The agreement answer of one account."""

    personInfo: PersonInfo
    entityInformer: EntityInformer = EntityInformer()
    loanInfoCommon: LoanInfoCommon
    trnSrcInfo: TrnSrcInfo = TrnSrcInfo()
    transaction: Transaction = Transaction()
    refInfo: RefInfo = RefInfo()
    entprAgreement: EntprAgreement = EntprAgreement()
    pmtStatus: PmtStatus = PmtStatus()
    fee: Fee = Fee()

    def identity(self) -> tuple[str, str]:
        ident = self.personInfo.govIssueIdent
        if ident.govIssueIdentType not in IDENT_TYPES:
            raise ValueError(f"govIssueIdentType {ident.govIssueIdentType!r} is not one of {', '.join(IDENT_TYPES)}")
        return ident.govIssueIdentType, ident.identSerialNum
