"""Credit-line QR payments (spec: lending-qr-disbursement.md): rules with no I/O.

Mexico: amounts in MXN, times in America/Mexico_City.
"""

from zoneinfo import ZoneInfo

MEXICO = ZoneInfo("America/Mexico_City")


class LendingError(Exception):
    """A refusal: a code callers can branch on and a message that says what and why."""

    def __init__(self, code: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retry_after = retry_after  # seconds, for a refusal that lifts by itself (a daily cap)
