from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.auth import Scope, granted_scopes, parse_scopes, validate_client_id, validate_secret
from domain.companies import (
    CollectionAccount,
    Currency,
    Service,
    ValidationMode,
    account_problem,
    build_company,
    cci_check_digits,
    parse_company_code,
    parse_service,
)
from domain.errors import DomainError


@pytest.mark.parametrize("raw", ["730", "00730", "0000730", 730])
def test_company_code_with_or_without_zeros(raw: str | int) -> None:
    assert parse_company_code(raw) == 730


@pytest.mark.parametrize("raw", ["", "0", "abc", "100000", "7 30", "٧٣٠"])
def test_bad_company_codes(raw: str) -> None:
    with pytest.raises(DomainError):
        parse_company_code(raw)


def test_services() -> None:
    assert parse_service("001:completa") == Service("001", Currency.PEN, ValidationMode.COMPLETA)
    assert parse_service("002:PARCIAL") == Service("002", Currency.USD, ValidationMode.PARCIAL)
    assert parse_service("003:completa:usd") == Service("003", Currency.USD, ValidationMode.COMPLETA)


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("005:completa", "service code"),
        ("001:total", "validation mode"),
        ("001", "CODE:MODE"),
        ("001:parcial:EUR", "currency"),
    ],
)
def test_bad_services(spec: str, reason: str) -> None:
    with pytest.raises(DomainError, match=reason):
        parse_service(spec)


def test_build_company_checks_accounts_against_services() -> None:
    company = build_company("730", "  Empresa   Demo ", ["001:completa"], ["001:1020:191-1230001-0-01"])
    assert company.name == "Empresa Demo"
    assert company.folder == "00730"
    assert company.accounts == (CollectionAccount("001", "1020", "191-1230001-0-01"),)
    with pytest.raises(DomainError, match="does not have"):
        build_company("730", "X", ["001:completa"], ["002:1020:191-1230001-0-01"])
    with pytest.raises(DomainError, match="twice"):
        build_company("730", "X", ["001:completa", "001:parcial"], [])
    with pytest.raises(DomainError, match="bank code"):
        build_company("730", "X", ["001:completa"], ["001:10:1"])


def test_currency_codes() -> None:
    assert Currency.from_asbanc("1") is Currency.PEN and Currency.USD.asbanc_code == "2"
    with pytest.raises(DomainError):
        Currency.from_asbanc("3")


def test_scopes() -> None:
    assert parse_scopes("yapago,lending") == {Scope.YAPAGO, Scope.LENDING}
    assert parse_scopes("yapago lending") == {Scope.YAPAGO, Scope.LENDING}
    with pytest.raises(DomainError, match="unknown scope"):
        parse_scopes("yapago,admin")
    with pytest.raises(DomainError):
        parse_scopes(" , ")
    everything = parse_scopes("yapago,lending,merchant,collections")
    assert granted_scopes(everything, None) == everything
    assert granted_scopes(everything, "yapago") == {Scope.YAPAGO}
    with pytest.raises(DomainError, match="not granted"):
        granted_scopes(frozenset({Scope.YAPAGO}), "lending")


def test_client_identity_rules() -> None:
    assert validate_client_id("bank-1020") == "bank-1020"
    for bad in ("ab", "has space", "x" * 65):
        with pytest.raises(DomainError):
            validate_client_id(bad)
    with pytest.raises(DomainError):
        validate_secret("short")


@pytest.mark.parametrize(
    ("number", "problem"),
    [
        ("191-1234567-0-12", None),  # BCP's form
        ("0011-0123-0100012345", None),  # BBVA's 18 digits in its groups
        ("00219100212943008556", None),  # a BCP CCI with its check digits
        ("01119100212943008512", None),  # another entity's CCI: its own check digits, taken on its form
        ("00219100212943008512", "check digits 12 do not match"),
        ("191-123", "has 6 digits"),
        ("123456789012345678901", "has 21 digits"),
        ("191--1234567", "single hyphen"),
        ("-1911234567", "single hyphen"),
        ("191 1234567 0 12", "single hyphen"),
        ("19l-1234567-0-12", "must be digits"),
        ("１９１1234567012", "must be digits"),  # full-width digits are not ASCII digits
    ],
)
def test_account_numbers(number: str, problem: str | None) -> None:
    found = account_problem(number)
    assert found is None if problem is None else problem in (found or ""), found


@given(st.text(st.sampled_from("0123456789"), min_size=3, max_size=3),
       st.text(st.sampled_from("0123456789"), min_size=12, max_size=12))  # fmt: skip
def test_a_bcp_cci_is_valid_only_with_its_own_check_digits(branch: str, account: str) -> None:
    digits = cci_check_digits("002" + branch, account)
    assert account_problem(f"002{branch}{account}{digits}") is None
    for wrong in {f"{(int(digits) + k) % 100:02d}" for k in (1, 10, 55)}:
        assert "do not match" in (account_problem(f"002{branch}{account}{wrong}") or "")
