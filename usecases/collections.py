"""Collections management use cases: agreements and negotiation marks."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import simplejson
from pydantic import ValidationError
from sqlalchemy.engine import Engine

from domain.collections import BOGOTA
from domain.collections.agreements import Agreement
from domain.collections.collection_check import (
    CollectionRequest,
    CollectionResponse,
    Convenio,
    PersonName,
    ResultData,
    ResultTrn,
    ValueToPay,
    barcode_value,
    fingerprint,
    new_approval_id,
)
from domain.collections.collection_check import ResponseType as CheckResponseType
from domain.collections.collection_check import check_request as check_collection_request
from domain.collections.errors import NO_ACCOUNT, TRANSFORM, CollectionsError
from domain.collections.headers import check_collection_headers, header_value
from domain.collections.negotiations import (
    RECEIVED,
    REJECTED,
    NegotiationAccount,
    NegotiationRequest,
    NegotiationResponse,
    NegotiationResult,
    check_negotiation,
)
from domain.collections.policies import CreditAnalysis, PolicyRequest, PolicyResponse, decide
from domain.collections.policies import ResponseType as PolicyResponseType
from domain.collections.policies import check_request as check_policy_request
from domain.collections.profiling import ProfileRequest, ProfileResponse, ResponseType, profile
from domain.collections.profiling import check_request as check_profile_request
from domain.collections.rules import DecisionRules
from sql.collections_repository import CollectionsRepository
from sql.engine import stored_utc

Clock = Callable[[], datetime]
SUCCESS = "successful transaction"


def find_agreement(
    engine: Engine, acct_id: str | None, ident: tuple[str, str] | None, client_id: str, clock: Clock
) -> Agreement:
    """By account number, else by the holder's identity; 00502 when there is none. Every
    lookup, found or not, is recorded with who made it."""
    with engine.begin() as conn:
        repo = CollectionsRepository(conn)
        document = repo.agreement(acct_id.strip()) if acct_id else repo.agreement_of(*ident) if ident else None
        repo.add_lookup(
            client_id=client_id, acct_id=acct_id.strip() if acct_id else None, ident_type=ident[0] if ident else None,
            ident_num=ident[1] if ident else None, found=document is not None, created_at=clock(),
        )  # fmt: skip
    if document is None:
        raise CollectionsError(NO_ACCOUNT)
    return Agreement.model_validate_json(document)


def register_negotiation(engine: Engine, req: NegotiationRequest, client_id: str, clock: Clock) -> NegotiationResponse:
    """Check the mark against its core's mapping table, then store it Received, or Rejected
    with the core's reason (unknown account; a negotiation whose total commitment is in)."""
    mark = check_negotiation(req)
    request = req.model_dump_json(exclude_none=True)
    now = clock()
    with engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
        repo = CollectionsRepository(conn)
        known = repo.lock_account(mark.account.rstrip())
        sent = repo.same_mark(client_id, mark.account, request) if known else None
        if sent is not None:  # a retry: the first answer again, nothing stored twice
            state, reason, now = sent.state, sent.reason, stored_utc(sent.created_at)
        else:
            if not known:
                state, reason = REJECTED, NO_ACCOUNT.description
            elif mark.partial is not None and repo.has_total(mark.core, mark.account, mark.tool, mark.start):
                state, reason = REJECTED, "La negociacion ya tiene su compromiso total (T): no admite mas compromisos"
            else:
                state, reason = RECEIVED, SUCCESS
            repo.add_mark(
                core=mark.core, strategy_type=mark.tool, acct_id=mark.account, partial_pmt=mark.partial,
                amount_cents=mark.amount_cents, start_date=mark.start, end_date=mark.end, state=state, reason=reason,
                client_id=client_id, request=request, created_at=now,
            )  # fmt: skip
    return NegotiationResponse(
        collection=NegotiationResult(
            partyAcctRelRec=NegotiationAccount(acctId=mark.account_sent or mark.account.rstrip()), state=state,
            createdDt=now.astimezone(BOGOTA).date().isoformat(), desc=reason,
        )
    )  # fmt: skip


def profile_clients(
    engine: Engine, req: ProfileRequest, rules: DecisionRules, client_id: str, clock: Clock
) -> ProfileResponse:
    """Check every item first (one bad item refuses the call), then profile and store each."""
    items = check_profile_request(req)
    profiles = [profile(item, rules) for item in items]
    now = clock()
    with engine.begin() as conn:
        repo = CollectionsRepository(conn)
        for found in profiles:
            item = found.item
            assert item.transaccion and item.partyAcctRelRec and item.govIssueIdent
            repo.add_profile(
                trn_rq_uid=str(item.transaccion.trnRqUID), acct_id=str(item.partyAcctRelRec.acctId),
                ident_type=str(item.govIssueIdent.govIssueIdentType),
                ident_num=str(item.govIssueIdent.identSerialNum), action=found.action,
                business_net=found.business_net, disposable=found.disposable, capacity=found.capacity,
                client_id=client_id, request=item.model_dump_json(exclude_none=True), created_at=now,
            )  # fmt: skip
    return ProfileResponse(listValidation=[p.result() for p in profiles], responseType=ResponseType(value="OK"))


def decide_policies(engine: Engine, req: PolicyRequest, rules: DecisionRules, client_id: str, clock: Clock) -> dict:
    """Check every item, decide each ("primer momento" or "recalculo"), store the decisions;
    the answer echoes each item as sent with the engine's figures in place."""
    decisions = [decide(col, rules) for col in check_policy_request(req)]
    answer = PolicyResponse(
        responseType=PolicyResponseType(value="OK"),
        creditAnalysis=[CreditAnalysis(collection=d.collection) for d in decisions],
    ).model_dump(exclude_unset=True)
    now = clock()
    with engine.begin() as conn:
        repo = CollectionsRepository(conn)
        for decision, item in zip(decisions, answer["creditAnalysis"], strict=True):
            col = decision.collection
            assert col.transaction and col.partyAcctRelRec
            repo.add_policy_decision(
                trn_rq_uid=str(col.transaction.trnRqUID), acct_id=str(col.partyAcctRelRec.acctId),
                strategy_type=decision.tool, recalculated=decision.recalculated, viable=decision.viable,
                installment=decision.installment, forgiven=decision.forgiven, client_id=client_id,
                response=simplejson.dumps(item, use_decimal=True), created_at=now,
            )  # fmt: skip
    return answer


def check_collection(
    engine: Engine, req: CollectionRequest, headers: Mapping[str, str], token: str, client_id: str, clock: Clock
) -> dict:
    """The banking agent's collection check: headers (TxId of today in Bogota), body, then the
    convenio and reference from SQL. A repeated TxId of the same client gets its first answer."""
    now = clock()
    check_collection_headers(headers, now.astimezone(BOGOTA).date(), token)
    tx_id = (header_value(headers, "X-Invoker-TxId") or "").strip()
    action = (header_value(headers, "X-Invoker-Action") or "").strip()
    trn = check_collection_request(req)
    ref_id, reference = str(trn.refId).strip(), str(trn.curAmt.amt if trn.curAmt else "").strip()
    asked = fingerprint(req, action)
    with engine.begin() as conn:
        repo = CollectionsRepository(conn)
        held = repo.check_of(client_id, tx_id)
        if held is not None:
            return _first_answer(held, asked, action, ref_id, reference)
        convenio = repo.convenio(ref_id)
        if convenio is None:
            raise CollectionsError(NO_ACCOUNT, f"el convenio {ref_id} no existe")
        found = repo.reference(ref_id, reference)
        if found is None:
            raise CollectionsError(NO_ACCOUNT, f"la referencia {reference} no existe en el convenio {ref_id}")
        amounts = [ValueToPay.model_validate(a) for a in simplejson.loads(found.amounts, use_decimal=True)]
        value = barcode_value(trn)
        if convenio.flag_update == "0":
            if trn.flagAnotherAmt == "1":
                raise CollectionsError(
                    TRANSFORM, f"trn.flagAnotherAmt invalido: el convenio {ref_id} no admite otro valor"
                )
            if value and value not in {a.value for a in amounts}:
                raise CollectionsError(
                    TRANSFORM, f"trn.totalCurAmt.amt invalido: {value} no es un valor a pagar del convenio {ref_id}"
                )
        answer = CollectionResponse(
            responseType=CheckResponseType(value="OK"),
            trn=ResultTrn(
                personName=PersonName(fullName=found.full_name), approvalId=new_approval_id(),
                aditionalData=ResultData(curAmt=amounts), pmtRefId=convenio.pmt_ref_id,
                dueDt=found.due_date.isoformat() if found.due_date else "", flagUpdate=convenio.flag_update,
                acctId=found.acct_id, refType=convenio.ref_type,
            ),
        ).model_dump()  # fmt: skip
        stored = repo.add_check(
            approval_id=answer["trn"]["approvalId"], client_id=client_id, tx_id=tx_id, action=action, ref_id=ref_id,
            reference=reference, response=simplejson.dumps(answer, use_decimal=True), created_at=now,
            request_hash=asked,
        )  # fmt: skip
    if not stored:  # a concurrent retry of the same TxId committed first: its answer
        with engine.connect() as conn:
            held = CollectionsRepository(conn).check_of(client_id, tx_id)
        assert held is not None
        return _first_answer(held, asked, action, ref_id, reference)
    return answer


def _first_answer(held: Any, asked: str, action: str, ref_id: str, reference: str) -> dict:
    """A TxId seen before: a retry of the same request gets the first answer; another request
    under it is refused (10007), never answered with the first one's holder and amounts.
    Checks stored before the hash was kept compare by action, convenio and reference."""
    same = (
        held.request_hash == asked
        if held.request_hash is not None
        else ((held.action, held.ref_id, held.reference) == (action, ref_id, reference))
    )
    if not same:
        raise CollectionsError(
            TRANSFORM, "header X-Invoker-TxId invalido: ya se uso con otra solicitud; cada transaccion lleva su TxId"
        )
    return simplejson.loads(held.response, use_decimal=True)


def _agreements(data: dict) -> list[Agreement]:
    found = []
    for n, item in enumerate(data.get("agreements", [])):
        try:
            agreement = Agreement.model_validate(item)
            agreement.identity()
        except (ValidationError, ValueError) as exc:
            raise ImportProblem(f"agreements[{n}]: {exc}") from None
        found.append(agreement)
    return found


class ImportProblem(ValueError):
    """An item of an import file that cannot be loaded; nothing of the file was written."""


def agreement_from_row(row: dict[str, str]) -> dict:
    """A CSV row (acctId, acctType, govIssueIdentType, identSerialNum and optional contact and
    agreement columns) as an agreement document."""
    pick = {k: (v or "").strip() for k, v in row.items() if k}
    return {
        "personInfo": {
            "govIssueIdent": {"identSerialNum": pick.get("identSerialNum", ""),
                              "govIssueIdentType": pick.get("govIssueIdentType", "")},
            "contactInfo": {k: pick[k] for k in ("phone", "city", "addr1", "zone") if k in pick},
        },
        "loanInfoCommon": {"acctId": pick.get("acctId", ""), "acctType": pick.get("acctType", "")},
        "trnSrcInfo": {k: pick[k] for k in ("channel", "action", "status", "contactStatus", "desc") if k in pick},
        "entprAgreement": {"daysCycle": pick.get("daysCycle", "")},
    }  # fmt: skip


def _convenios(data: dict) -> list[Convenio]:
    found = []
    for n, item in enumerate(data.get("convenios", [])):
        try:
            found.append(Convenio.model_validate(item))
        except ValidationError as exc:
            raise ImportProblem(f"convenios[{n}]: {exc}") from None
    return found


def import_collections(engine: Engine, data: dict, now: datetime) -> dict[str, int]:
    """Load an operator's file (JSON sections; see data/collections-demo.json) in one
    transaction: every item is checked first, so a bad one names itself and nothing is written."""
    agreements = _agreements(data)
    convenios = _convenios(data)
    created = 0
    references = 0
    with engine.begin() as conn:
        repo = CollectionsRepository(conn)
        for agreement in agreements:
            created += repo.save_agreement(
                agreement.loanInfoCommon.acctId, agreement.identity(), agreement.loanInfoCommon.acctType,
                agreement.model_dump_json(), now,
            )  # fmt: skip
        for convenio in convenios:
            values = {"name": convenio.name, "ref_type": convenio.refType, "flag_update": convenio.flagUpdate,
                      "pmt_ref_id": convenio.pmtRefId}  # fmt: skip
            repo.save_convenio(convenio.refId, values, now)
            for ref in convenio.references:
                amounts = simplejson.dumps([a.model_dump() for a in ref.amounts], use_decimal=True)
                repo.save_reference(convenio.refId, ref.reference, {"full_name": ref.fullName, "amounts": amounts,
                                    "due_date": ref.dueDt, "acct_id": ref.acctId}, now)  # fmt: skip
                references += 1
    return {"agreements": len(agreements), "agreements_new": created, "convenios": len(convenios),
            "references": references}  # fmt: skip
