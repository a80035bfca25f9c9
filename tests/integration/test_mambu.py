"""The Mambu client against the local fake Mambu over real HTTP: lines, arrears, refusals,
a slow or absent Mambu; and the credit check on top of it."""

from __future__ import annotations

import time
from decimal import Decimal

import httpx
import pytest

from adapters.mambu import MambuCreditEngine, MambuUnavailable
from domain.lending import LendingError
from domain.lending.credit import assess
from fakes.mambu import customer
from tests.conftest import MAMBU_KEY as KEY
from tests.conftest import free_port


@pytest.fixture(autouse=True)
def seeded(mambu: str) -> None:
    """The demo customers as seeded: the fake is shared by the session, and the hosts' drawdown
    timers book on it (CUST-001 buys in the end-to-end flows)."""
    import json
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
