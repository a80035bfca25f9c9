"""API clients, scopes and the rules of the token service (no crypto, no I/O here)."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from domain.errors import DomainError


class Scope(enum.StrEnum):
    YAPAGO = "yapago"
    LENDING = "lending"
    MERCHANT = "merchant"
    COLLECTIONS = "collections"
    OPERATOR = "operator"  # the operations console (blueprints/console.py)


_CLIENT_ID = re.compile(r"[A-Za-z0-9._-]{3,64}")
MIN_SECRET_LENGTH = 12


def parse_scopes(text: str) -> frozenset[Scope]:
    """`yapago,lending` or `yapago lending` -> the scopes; an unknown name is an error."""
    names = [n for n in re.split(r"[,\s]+", text.strip()) if n]
    if not names:
        raise DomainError("at least one scope is required", field="scopes")
    scopes = set()
    for name in names:
        try:
            scopes.add(Scope(name.lower()))
        except ValueError:
            known = ", ".join(s.value for s in Scope)
            raise DomainError(f"unknown scope {name!r} (known: {known})", field="scopes") from None
    return frozenset(scopes)


def format_scopes(scopes: frozenset[Scope]) -> str:
    return " ".join(sorted(s.value for s in scopes))


def validate_client_id(client_id: str) -> str:
    if not _CLIENT_ID.fullmatch(client_id):
        raise DomainError("client id must be 3-64 letters, digits, '.', '_' or '-'", field="client_id")
    return client_id


def validate_secret(secret: str) -> str:
    if len(secret) < MIN_SECRET_LENGTH:
        raise DomainError(f"client secret must have at least {MIN_SECRET_LENGTH} characters", field="secret")
    return secret


@dataclass(frozen=True)
class Principal:
    """Who is calling, as proven by a verified token."""

    client_id: str
    scopes: frozenset[Scope]
    token_id: str
    banks: frozenset[str] | None = None  # the bank codes it may act for; None: any
    channels: frozenset[str] | None = None  # lending: the distributor channels it is; None: none
    credential_version: int = 1  # the client's credentials the token was issued under

    def has(self, scope: Scope) -> bool:
        return scope in self.scopes

    def may_act_for(self, bank: str) -> bool:
        return self.banks is None or bank in self.banks

    def may_act_as_channel(self, channel: str) -> bool:
        """A distributor's client acts for its own channel(s) only; an unbound one for none."""
        return self.channels is not None and channel in self.channels


_CHANNEL = re.compile(r"[A-Z]{2,10}")


def parse_channels(text: str | None) -> frozenset[str] | None:
    """`KOF` or `KOF,PRONTO` -> the lending channels a merchant client is; empty: none."""
    if not text or not text.strip():
        return None
    channels = frozenset(c.strip() for c in text.split(",") if c.strip())
    bad = sorted(c for c in channels if not _CHANNEL.fullmatch(c))
    if bad:
        raise DomainError(f"channels must be 2-10 capital letters: {', '.join(bad)}", field="channels")
    return channels


def parse_banks(text: str | None) -> frozenset[str] | None:
    """`1020,1030` -> the bank codes a client may act for; empty: any bank."""
    if not text or not text.strip():
        return None
    banks = frozenset(b.strip() for b in text.split(",") if b.strip())
    bad = sorted(b for b in banks if not (len(b) == 4 and b.isdigit() and b.isascii()))
    if bad:
        raise DomainError(f"bank codes must be 4 digits: {', '.join(bad)}", field="banks")
    return banks


def granted_scopes(client_scopes: frozenset[Scope], requested: str | None) -> frozenset[Scope]:
    """A token carries the client's scopes, or the subset it asked for; never more."""
    if not requested:
        return client_scopes
    asked = parse_scopes(requested)
    if not asked <= client_scopes:
        extra = format_scopes(asked - client_scopes)
        raise DomainError(f"scope not granted to this client: {extra}", field="scope")
    return asked
