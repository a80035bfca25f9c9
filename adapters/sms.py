"""Text messages (the OTPs): a port, the Azure Communication Services adapter for production
and a local outbox for development and tests.

The outbox appends one JSON line per message to a file and logs it, so that `make run`
shows the code and a test can read it; it is never used in Azure (SMS_MODE=acs there).
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import json
import logging
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import httpx

log = logging.getLogger("app.sms")


class SmsError(Exception):
    pass


class SmsSender(Protocol):
    def send(self, phone: str, text: str) -> str:
        """Send and return the provider's message id; SmsError when it was not accepted."""
        ...


class OutboxSms:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def send(self, phone: str, text: str) -> str:
        message_id = uuid.uuid4().hex
        line = json.dumps({"id": message_id, "to": phone, "text": text, "at": datetime.now(UTC).isoformat()})
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        log.info("SMS outbox -> %s: %s", phone, text)
        return message_id


class AcsSms:
    """Azure Communication Services SMS REST API (2021-03-07) with HMAC-SHA256 request signing."""

    API_VERSION = "2021-03-07"

    def __init__(self, connection_string: str, sender: str, timeout: float = 10.0) -> None:
        parts = dict(p.split("=", 1) for p in connection_string.split(";") if "=" in p)
        try:
            self.endpoint = parts["endpoint"].rstrip("/")
            self.key = base64.b64decode(parts["accesskey"])
        except (KeyError, ValueError):
            raise SmsError("ACS connection string needs endpoint=...;accesskey=...") from None
        self.sender = sender
        self.client = httpx.Client(timeout=timeout)

    def _headers(self, path_and_query: str, body: bytes) -> dict[str, str]:
        date = email.utils.formatdate(usegmt=True)
        content_hash = base64.b64encode(hashlib.sha256(body).digest()).decode()
        host = urlsplit(self.endpoint).netloc
        to_sign = f"POST\n{path_and_query}\n{date};{host};{content_hash}"
        signature = base64.b64encode(hmac.new(self.key, to_sign.encode(), hashlib.sha256).digest()).decode()
        return {
            "x-ms-date": date, "x-ms-content-sha256": content_hash, "Content-Type": "application/json",
            "Authorization": f"HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={signature}",
        }  # fmt: skip

    def send(self, phone: str, text: str) -> str:
        path = f"/sms?api-version={self.API_VERSION}"
        body = json.dumps({"from": self.sender, "smsRecipients": [{"to": phone}], "message": text}).encode()
        try:
            response = self.client.post(self.endpoint + path, content=body, headers=self._headers(path, body))
        except httpx.HTTPError as exc:
            raise SmsError(f"ACS did not answer: {exc}") from None
        if response.status_code != 202:
            raise SmsError(f"ACS refused the SMS: HTTP {response.status_code}")
        try:
            result = response.json()["value"][0]
            sent = result.get("successful")
        except (ValueError, LookupError, TypeError, AttributeError):  # accepted, but not in ACS's words
            raise SmsError(f"ACS answered 202 with a body it does not send: {response.text[:100]!r}") from None
        if not sent:
            raise SmsError(f"ACS did not send the SMS: {result.get('errorMessage', 'unknown')}")
        return str(result.get("messageId", ""))


def read_outbox(path: Path) -> list[dict[str, str]]:
    """Every message the outbox holds (tests and operators)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
