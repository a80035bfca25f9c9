"""The distributors' webhook endpoints over HTTP (KOF / Pronto receive disbursement events).

One POST of the exact signed bytes; no redirects followed (a redirect is an answer to
report, not a place to send signed money events); a connection error or timeout is
reported like a non-2xx status so the outbox retries it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import httpx


@dataclass(frozen=True)
class PostResult:
    status: int | None  # None: no answer (refused, timeout, reset)
    error: str | None  # why it does not count as delivered

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class WebhookPoster(Protocol):
    def post(self, url: str, headers: dict[str, str], body: bytes) -> PostResult: ...


class HttpWebhookPoster:
    def __init__(self, timeout: float) -> None:
        self.client = httpx.Client(timeout=timeout, follow_redirects=False)

    def post(self, url: str, headers: dict[str, str], body: bytes) -> PostResult:
        try:
            answer = self.client.post(url, content=body, headers=headers)
        except httpx.TimeoutException:
            return PostResult(None, f"no answer within {self.client.timeout.read}s")
        except httpx.HTTPError as exc:
            return PostResult(None, f"{type(exc).__name__}: {exc}"[:300])
        if 200 <= answer.status_code < 300:
            return PostResult(answer.status_code, None)
        return PostResult(answer.status_code, f"HTTP {answer.status_code}: {answer.text[:200]}")
