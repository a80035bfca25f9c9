"""The QR's payload: the transaction's fields (spec step 10) signed with HMAC-SHA256.

Text form `LQR1.<base64url(JSON)>.<base64url(signature)>`: short enough for a QR, readable by
any scanner app, and useless to forge or alter without the key. The JSON is canonical
(sorted keys, no spaces), so the signature covers exactly what is read back.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from domain.lending import LendingError

PREFIX = "LQR1"
OPERATION = "COMPRA_LINEA_CREDITO"


@dataclass(frozen=True)
class QrFields:
    """Spec step 10: transaction id, channel, amount, amount in cents, validity, concept,
    customer id, operation type."""

    transaction_id: str
    channel: str
    amount: Decimal
    amount_cents: int
    valid_until: datetime
    concept: str
    customer_id: str
    operation: str = OPERATION

    def __post_init__(self) -> None:
        if self.valid_until.tzinfo is None:
            raise LendingError("qr_invalido", "the validity must carry its time zone")
        if self.amount * 100 != self.amount_cents:
            raise LendingError("qr_invalido", f"amount {self.amount} and cents {self.amount_cents} disagree")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _canonical(fields: QrFields) -> bytes:
    data = asdict(fields)
    data["amount"] = str(fields.amount)
    data["valid_until"] = fields.valid_until.isoformat()
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(fields: QrFields, key: bytes) -> str:
    body = _canonical(fields)
    return f"{PREFIX}.{_b64(body)}.{_b64(hmac.new(key, body, hashlib.sha256).digest())}"


def verify(payload: str, key: bytes) -> QrFields:
    """The fields of a payload this system signed; LendingError `qr_invalido` for anything else
    (wrong shape, forged or altered: the signature is compared in constant time)."""
    parts = payload.strip().split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise LendingError("qr_invalido", "not a payload of this system")
    try:
        body, signature = _unb64(parts[1]), _unb64(parts[2])
    except (binascii.Error, ValueError):
        raise LendingError("qr_invalido", "the payload is not base64url") from None
    if not hmac.compare_digest(signature, hmac.new(key, body, hashlib.sha256).digest()):
        raise LendingError("qr_invalido", "the signature does not match: forged or altered")
    try:
        data = json.loads(body)
        return QrFields(
            transaction_id=str(data["transaction_id"]), channel=str(data["channel"]),
            amount=Decimal(data["amount"]), amount_cents=int(data["amount_cents"]),
            valid_until=datetime.fromisoformat(data["valid_until"]), concept=str(data["concept"]),
            customer_id=str(data["customer_id"]), operation=str(data["operation"]),
        )  # fmt: skip
    except (KeyError, TypeError, ValueError, InvalidOperation):
        raise LendingError("qr_invalido", "the signed payload is incomplete") from None
