"""The Mambu client against the local fake Mambu over real HTTP: lines, arrears, refusals,
a slow or absent Mambu; and the credit check on top of it."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import httpx
import pytest

from adapters.mambu import MambuCreditEngine, MambuUnavailable, read_credit_line
from domain.lending import LendingError
from domain.lending.credit import UnreadableCreditLine, assess
from fakes.mambu import customer
from tests.conftest import MAMBU_KEY as KEY
from tests.conftest import free_port


@pytest.fixture(autouse=True)
def seeded(mambu: str) -> None:
    """The demo customers as seeded: the fake is shared by the session, and the hosts' drawdown
    timers book on it (CUST-001 buys in the end-to-end flows)."""
    from pathlib import Path

    seed = json.loads((Path(__file__).resolve().parents[2] / "data" / "mambu-demo.json").read_text())["customers"]
    for customer_id in ("CUST-001", "CUST-002"):
        httpx.put(f"{mambu}/_fake/customers/{customer_id}", json=seed[customer_id]).raise_for_status()


def test_credit_lines(mambu: str) -> None:
    engine = MambuCreditEngine(mambu, KEY)
    good = engine.credit_line("CUST-001")
    assert (good.limit, good.available, good.overdue, good.currency) == (Decimal(15000), Decimal(10000), 0, "MXN")
    late = engine.credit_line("CUST-002")
    assert late.overdue == Decimal("350.5")
    with pytest.raises(LendingError) as caught:
        engine.credit_line("NOBODY")
    assert caught.value.code == "cliente_sin_linea"


def test_credit_check_counts_holds(mambu: str) -> None:
    engine = MambuCreditEngine(mambu, KEY)
    line = engine.credit_line("CUST-001")
    assert assess(line, Decimal("9000"), held=Decimal(0)).approved
    held = assess(line, Decimal("9000"), held=Decimal("1500"))
    assert (held.approved, held.code, held.available_after_holds) == (False, "limite_insuficiente", Decimal(8500))
    assert assess(engine.credit_line("CUST-002"), Decimal(1), Decimal(0)).code == "deuda_vencida"


def test_wrong_key_slow_and_down(mambu: str) -> None:
    with pytest.raises(MambuUnavailable, match="HTTP 401"):
        MambuCreditEngine(mambu, "other-key").credit_line("CUST-001")
    httpx.put(f"{mambu}/_fake/delay", json={"seconds": 1.0})
    try:
        started = time.monotonic()
        with pytest.raises(MambuUnavailable, match="did not answer"):
            MambuCreditEngine(mambu, KEY, timeout=0.3, retries=1).credit_line("CUST-001")
        assert time.monotonic() - started < 3
    finally:
        httpx.put(f"{mambu}/_fake/delay", json={"seconds": 0})
    with pytest.raises(MambuUnavailable):
        MambuCreditEngine(f"http://127.0.0.1:{free_port()}", KEY, timeout=0.5, retries=0).credit_line("CUST-001")


def test_a_customer_changed_by_the_test(mambu: str) -> None:
    httpx.put(f"{mambu}/_fake/customers/CUST-900", json=customer("CUST-900", "500", "20"))
    assert MambuCreditEngine(mambu, KEY).credit_line("CUST-900").available == Decimal(20)


# -- issue 29: Mambu's missing or changed fields fail closed ---------------------------------------

GOOD = {"id": "CA-1", "amount": Decimal(1000), "availableCreditAmount": Decimal(50),
        "consumedCreditAmount": Decimal(950), "state": "APPROVED", "currency": {"code": "MXN"}}  # fmt: skip
LOANS = {"loanAccounts": [{"id": "LA-1", "accountState": "ACTIVE", "balances": {}}]}


@pytest.mark.parametrize(
    ("set_", "drop", "named"),
    [
        ({}, ["availableCreditAmount"], "availableCreditAmount is missing"),  # the fault: it was the limit
        ({"availableCreditAmount": None}, [], "availableCreditAmount is missing"),
        ({"availableCreditAmount": "50.00"}, [], "availableCreditAmount is str"),
        ({"availableCreditAmount": True}, [], "availableCreditAmount is bool"),
        ({"availableCreditAmount": Decimal(-1)}, [], "availableCreditAmount is negative"),
        ({"availableCreditAmount": Decimal("50.001")}, [], "more than two decimals"),
        ({"availableCreditAmount": float("nan")}, [], "availableCreditAmount is float"),
        ({"availableCreditAmount": Decimal(2000), "consumedCreditAmount": Decimal(0)}, [], "more than the limit"),
        ({}, ["amount"], "amount (the limit) is missing"),
        ({"amount": "1000"}, [], "amount (the limit) is str"),
        ({"consumedCreditAmount": Decimal(1001)}, [], "consumedCreditAmount 1001 is more than the limit"),
        ({"consumedCreditAmount": None}, [], "consumedCreditAmount is missing"),
        ({"currency": None}, [], "the currency is None"),
        ({"currency": {"code": 484}}, [], "the currency is"),
        ({"currency": "MXN"}, [], "the currency is 'MXN'"),
    ],
)
def test_an_arrangement_mambu_changed_is_unreadable(set_: dict, drop: list, named: str) -> None:
    arrangement = {k: v for k, v in {**GOOD, **set_}.items() if k not in drop}
    with pytest.raises(UnreadableCreditLine) as caught:
        read_credit_line(arrangement, LOANS)
    assert caught.value.code == "linea_no_verificable" and named in caught.value.message, caught.value.message


@pytest.mark.parametrize(
    "accounts",
    [
        {"loanAccounts": "none"},
        {"loanAccounts": [{"id": "LA-1", "accountState": "ACTIVE_IN_ARREARS"}]},
        {"loanAccounts": [{"id": "LA-1", "accountState": "ACTIVE_IN_ARREARS", "balances": {"principalDue": "9"}}]},
        {"loanAccounts": [{"id": "LA-1", "accountState": "ACTIVE_IN_ARREARS", "balances": {"principalDue": 0}}]},
        [],
    ],
)
def test_arrears_that_cannot_be_read_are_unreadable(accounts: object) -> None:
    with pytest.raises(UnreadableCreditLine):
        read_credit_line(dict(GOOD), accounts)


def test_what_can_be_read_is_read_exactly() -> None:
    line = read_credit_line(dict(GOOD), LOANS)
    assert (line.limit, line.available, line.overdue, line.currency) == (Decimal(1000), Decimal(50), 0, "MXN")
    stale = read_credit_line({**GOOD, "availableCreditAmount": Decimal(400)}, LOANS)
    assert stale.available == Decimal(50), "Mambu's two figures disagree: the smaller available"
    bare = read_credit_line({k: v for k, v in GOOD.items() if k not in ("currency", "consumedCreditAmount")}, {})
    assert (bare.available, bare.currency) == (Decimal(50), "MXN"), "no currency named: the tenant's"
    usd = read_credit_line({**GOOD, "currency": {"currencyCode": "USD"}}, LOANS)
    assert assess(usd, Decimal(1), Decimal(0)).code == "moneda"
    late = {"loanAccounts": [{"id": "LA-1", "accountState": "ACTIVE_IN_ARREARS",
                              "balances": {"principalDue": Decimal("350.50"), "interestDue": 4}}]}  # fmt: skip
    assert read_credit_line(dict(GOOD), late).overdue == Decimal("354.50")


def test_the_fake_mambu_leaves_fields_out_and_the_client_refuses(mambu: str) -> None:
    """The fault as it was seen: limit 1000, 950 consumed, available left out; the fake's switch."""
    httpx.put(f"{mambu}/_fake/customers/CUST-901", json=customer("CUST-901", "1000", "50")).raise_for_status()
    engine = MambuCreditEngine(mambu, KEY)
    assert engine.credit_line("CUST-901").available == Decimal(50)
    changed = httpx.put(f"{mambu}/_fake/customers/CUST-901/arrangement", json={"drop": ["availableCreditAmount"]})
    assert "availableCreditAmount" not in changed.json()
    with pytest.raises(UnreadableCreditLine, match="availableCreditAmount is missing") as caught:
        engine.credit_line("CUST-901")
    assert caught.value.limit == Decimal(1000)
    for value, named in ((None, "missing"), ("50", "is str"), (50.005, "more than two decimals"), (-3, "negative"),
                         (float("inf"), "is float"), (1500, "more than the limit")):  # fmt: skip
        change = {"set": {"availableCreditAmount": value, "consumedCreditAmount": 0}}  # Infinity as Python writes it
        httpx.put(f"{mambu}/_fake/customers/CUST-901/arrangement", content=json.dumps(change))
        with pytest.raises(UnreadableCreditLine, match=named):
            engine.credit_line("CUST-901")
