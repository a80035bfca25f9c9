"""CLABE (Clave Bancaria Estandarizada, Banxico): 18 digits = bank (3) + branch/plaza (3) +
account (11) + a check digit over the first 17 with weights 3, 7, 1 repeated."""

from __future__ import annotations

from domain.lending import LendingError

WEIGHTS = (3, 7, 1) * 6


def check_digit(first17: str) -> int:
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise LendingError("clabe_invalida", f"a CLABE starts with 17 digits, got {first17!r}")
    total = sum((int(d) * w) % 10 for d, w in zip(first17, WEIGHTS, strict=False))
    return (10 - total % 10) % 10


def validate_clabe(value: str) -> str:
    """The CLABE if its length, digits and check digit are right; LendingError saying which is not."""
    text = value.strip()
    if len(text) != 18 or not text.isascii() or not text.isdigit():
        raise LendingError("clabe_invalida", f"a CLABE has 18 digits, got {value!r}")
    expected = check_digit(text[:17])
    if int(text[17]) != expected:
        raise LendingError("clabe_invalida", f"CLABE {text}: check digit {text[17]}, expected {expected}")
    return text


def make_clabe(bank: str, plaza: str, account: str) -> str:
    """A valid CLABE from its parts (tests and the demo catalogue)."""
    first17 = f"{bank:0>3}{plaza:0>3}{account:0>11}"
    return first17 + str(check_digit(first17))
