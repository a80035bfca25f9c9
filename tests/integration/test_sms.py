"""The SMS adapters: the outbox, and the ACS client against a local server that checks the
request the way ACS does (HMAC-SHA256 over method, path, date, host and body hash)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from adapters.sms import AcsSms, OutboxSms, SmsError, read_outbox

KEY = b"acs-test-access-key-0123456789"


class _Acs(BaseHTTPRequestHandler):
    seen: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        signed = f"POST\n{self.path}\n{self.headers['x-ms-date']};{self.headers['Host']};{self.headers['x-ms-content-sha256']}"
        expected = base64.b64encode(hmac.new(KEY, signed.encode(), hashlib.sha256).digest()).decode()
        ok = (self.headers["Authorization"].endswith(f"Signature={expected}")
              and self.headers["x-ms-content-sha256"] == base64.b64encode(hashlib.sha256(body).digest()).decode())  # fmt: skip
        message = json.loads(body)
        _Acs.seen.append(message)
        if message["message"] == "garbled":  # a proxy's page instead of ACS's answer
            self.send_response(202)
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"<html>ok!")
            return
        status = 202 if ok else 401
        answer = {"value": [{"to": message["smsRecipients"][0]["to"], "messageId": "m-1", "httpStatusCode": 202,
                             "successful": message["message"] != "fail"}]}  # fmt: skip
        raw = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: object) -> None:
        return None


def test_acs_client_signs_and_reads_the_answer() -> None:
    server = HTTPServer(("127.0.0.1", 0), _Acs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        connection = f"endpoint=http://127.0.0.1:{server.server_port}/;accesskey={base64.b64encode(KEY).decode()}"
        sms = AcsSms(connection, "+18005550100")
        assert sms.send("+525500000001", "Tu codigo es 123456") == "m-1"
        assert _Acs.seen[-1] == {"from": "+18005550100", "smsRecipients": [{"to": "+525500000001"}],
                                 "message": "Tu codigo es 123456"}  # fmt: skip
        with pytest.raises(SmsError, match="did not send"):
            sms.send("+525500000001", "fail")
        with pytest.raises(SmsError, match="a body it does not send"):  # issue 29: never another exception
            sms.send("+525500000001", "garbled")
        wrong = AcsSms(f"endpoint=http://127.0.0.1:{server.server_port}/;accesskey={base64.b64encode(b'x').decode()}",
                       "+18005550100")  # fmt: skip
        with pytest.raises(SmsError, match="HTTP 401"):
            wrong.send("+525500000001", "hola")
    finally:
        server.shutdown()


def test_outbox(tmp_path: Path) -> None:
    outbox = OutboxSms(tmp_path / "sms.jsonl")
    outbox.send("+525500000001", "uno")
    outbox.send("+525500000002", "dos")
    assert [(m["to"], m["text"]) for m in read_outbox(tmp_path / "sms.jsonl")] == [
        ("+525500000001", "uno"), ("+525500000002", "dos")]  # fmt: skip
    with pytest.raises(SmsError):
        AcsSms("endpoint=https://x", "+1")
