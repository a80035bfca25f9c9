"""Billers (companies), their services and their collection accounts per bank.

The service catalogue (001-004), the currency of each service and its validation mode
come from the ASBANC spec, section 2: *completa* services pay against a controlled
balance, *parcial* services accept any positive amount and keep no balance.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from domain.errors import DomainError

SERVICE_CODES = ("001", "002", "003", "004")
MAX_COMPANY_CODE = 99999


class ValidationMode(enum.StrEnum):
    COMPLETA = "completa"
    PARCIAL = "parcial"


class Currency(enum.StrEnum):
    """ISO codes; the ASBANC files and API use `1` for soles and `2` for dollars."""

    PEN = "PEN"
    USD = "USD"

    @property
    def asbanc_code(self) -> str:
        return "1" if self is Currency.PEN else "2"

    @classmethod
    def from_asbanc(cls, code: str) -> Currency:
        try:
            return {"1": cls.PEN, "2": cls.USD}[code]
        except KeyError:
            raise DomainError(f"currency code {code!r} is not 1 (PEN) or 2 (USD)", field="moneda") from None


@dataclass(frozen=True)
class Service:
    code: str
    currency: Currency
    validation_mode: ValidationMode


@dataclass(frozen=True)
class CollectionAccount:
    service_code: str
    bank_code: str
    account_number: str


@dataclass(frozen=True)
class Company:
    code: int
    name: str
    services: tuple[Service, ...] = ()
    accounts: tuple[CollectionAccount, ...] = field(default=())

    @property
    def folder(self) -> str:
        """The exchange folder name: the code zero-padded to 5 (NOTES.md)."""
        return company_folder(self.code)


def company_folder(code: int) -> str:
    return f"{code:05d}"


def parse_company_code(value: str | int) -> int:
    """Accept `730`, `00730` or `0000730`: the same company everywhere (NOTES.md)."""
    text = str(value).strip()
    if not text.isdigit() or not text.isascii():
        raise DomainError(f"company code {value!r} is not a number", field="code")
    code = int(text)
    if not 1 <= code <= MAX_COMPANY_CODE:
        raise DomainError(f"company code {value!r} is outside 1-{MAX_COMPANY_CODE}", field="code")
    return code


def parse_company_name(value: str) -> str:
    name = " ".join(value.split())
    if not name or len(name) > 120:
        raise DomainError("company name must have 1 to 120 characters", field="name")
    return name


_DEFAULT_CURRENCY = {"001": Currency.PEN, "002": Currency.USD, "003": Currency.PEN, "004": Currency.USD}


def parse_service(spec: str) -> Service:
    """`001:completa` or `002:parcial:USD`; without a currency, odd codes are PEN and even USD."""
    parts = spec.strip().split(":")
    if len(parts) not in (2, 3):
        raise DomainError(f"service {spec!r} is not CODE:MODE[:CURRENCY]", field="service")
    code, mode = parts[0], parts[1].lower()
    if code not in SERVICE_CODES:
        raise DomainError(f"service code {code!r} is not one of {', '.join(SERVICE_CODES)}", field="service")
    try:
        validation_mode = ValidationMode(mode)
    except ValueError:
        raise DomainError(f"validation mode {parts[1]!r} is not completa or parcial", field="service") from None
    try:
        currency = Currency(parts[2].upper()) if len(parts) == 3 else _DEFAULT_CURRENCY[code]
    except ValueError:
        raise DomainError(f"currency {parts[2]!r} is not PEN or USD", field="service") from None
    return Service(code=code, currency=currency, validation_mode=validation_mode)


_BANK_CODE = re.compile(r"\d{4}")
_ACCOUNT = re.compile(r"[0-9]+(-[0-9]+)*")  # digits, in groups a single hyphen apart
ACCOUNT_DIGITS = (10, 20)  # a bank's own number (BCP's 14, BBVA's 18 ...) or a 20-digit CCI


# Entities whose CCIs carry the standard check digits below. Others (BBVA, 011, weighs its
# digits its own way) are taken on their length and form alone rather than refused wrongly.
CCI_STANDARD_CHECK = frozenset({"002"})  # BCP


def cci_check_digits(first: str, second: str) -> str:
    """The two check digits of a CCI (bank + branch, then the 12-digit account): each digit
    times 1, 2, 1, 2 ... from the left, a product of two digits counted as their sum, and the
    digit that brings the total to a multiple of 10."""

    def digit(group: str) -> str:
        total = sum(sum(divmod(int(c) * (1 + i % 2), 10)) for i, c in enumerate(group))
        return str((10 - total % 10) % 10)

    return digit(first) + digit(second)


def account_problem(number: str) -> str | None:
    """Why `number` is no collection account (None: it is one). Peruvian accounts are digits:
    the bank's own form, hyphens between its groups as printed (10-20 digits), or the 20-digit
    CCI, whose two check digits must match where the entity's algorithm is the standard one."""
    if not _ACCOUNT.fullmatch(number):
        return f"account number {number!r} must be digits, in groups a single hyphen apart (e.g. 191-1234567-0-12)"
    digits = number.replace("-", "")
    low, high = ACCOUNT_DIGITS
    if not low <= len(digits) <= high:
        return f"account number {number!r} has {len(digits)} digits: a bank account has {low}-{high}"
    if len(digits) == 20 and digits[:3] in CCI_STANDARD_CHECK:
        expected = cci_check_digits(digits[:6], digits[6:18])
        if digits[18:] != expected:
            return (f"account number {number!r} is a CCI (20 digits) whose check digits {digits[18:]} do not match "
                    f"its bank, branch and account (expected {expected})")  # fmt: skip
    return None


def parse_account(spec: str) -> CollectionAccount:
    """`SERVICE:BANK:ACCOUNT`, e.g. `001:1020:191-1234567-0-12`."""
    parts = spec.strip().split(":")
    if len(parts) != 3:
        raise DomainError(f"account {spec!r} is not SERVICE:BANK:ACCOUNT", field="account")
    service, bank, number = parts
    if service not in SERVICE_CODES:
        raise DomainError(f"service code {service!r} is not one of {', '.join(SERVICE_CODES)}", field="account")
    if not _BANK_CODE.fullmatch(bank):
        raise DomainError(f"bank code {bank!r} is not 4 digits", field="account")
    problem = account_problem(number)
    if problem is not None:
        raise DomainError(problem, field="account")
    return CollectionAccount(service_code=service, bank_code=bank, account_number=number)


def build_company(code: str | int, name: str, services: list[str], accounts: list[str]) -> Company:
    """Validate an operator's company definition as a whole."""
    parsed_services = tuple(parse_service(s) for s in services)
    codes = [s.code for s in parsed_services]
    if len(set(codes)) != len(codes):
        raise DomainError("a service code is given twice", field="service")
    parsed_accounts = tuple(parse_account(a) for a in accounts)
    for account in parsed_accounts:
        if account.service_code not in codes:
            raise DomainError(
                f"account for service {account.service_code} which the company does not have", field="account"
            )
    keys = [(a.service_code, a.bank_code) for a in parsed_accounts]
    if len(set(keys)) != len(keys):
        raise DomainError("two accounts for the same service and bank", field="account")
    return Company(
        code=parse_company_code(code),
        name=parse_company_name(name),
        services=parsed_services,
        accounts=parsed_accounts,
    )
