"""What ApiLogs keeps (domain/masking.py): allow-listed request fields masked by kind, answers
whole with identifiers masked, anything unparseable as size and hash; a secret never."""

from __future__ import annotations

import json
import string

from hypothesis import given
from hypothesis import strategies as st

from domain.masking import allow, answer_for_log, fields_of, query_for_log, request_for_log, summary
from domain.yapago import PagoRequest

SECRET = "s3cret-value-9f8e7d"
TOKEN_LOG = allow("client_id", "scope")


def test_request_fields_by_the_allow_list() -> None:
    body = {
        "idConsulta": "4785124", "fechaTxn": "22112026", "numeroDocumento": "F001-00000002", "importePagado": 100.99,
        "numeroOperacion": "A0154785", "voucher": "dni 87654321", "client_secret": SECRET, "extra": SECRET,
    }  # fmt: skip
    logged = json.loads(request_for_log(json.dumps(body).encode(), fields_of(PagoRequest)))
    assert logged["idConsulta"] == "****124", "personal: the last three kept"
    assert logged["fechaTxn"] == "22112026" and logged["numeroDocumento"] == "F001-00000002"
    assert logged["importePagado"] == "100.99" and logged["numeroOperacion"] == "A0154785"
    assert logged["voucher"] == "dni 87654321", "an allowed free-text field is kept as sent"
    assert "client_secret" not in logged and "extra" not in logged and logged["_omitted"] == 2
    assert SECRET not in json.dumps(logged)


MALFORMED = [
    b'{"client_id": "a", "client_secret": "' + SECRET.encode() + b'",}',
    b"{'client_id': 'a', 'client_secret': '" + SECRET.encode() + b"'}",
    b'{"client_id": "a", "client_secret": "' + SECRET.encode(),
    b'{"x": ' * 100 + b'"' + SECRET.encode() + b'"' + b"}" * 100,
    b'--b\r\nContent-Disposition: form-data; name="client_secret"\r\n\r\n' + SECRET.encode() + b"\r\n--b--",
    b'{"client-secret": "' + SECRET.encode() + b'"}',
    b'{"' + SECRET.encode() + b'": 1}',
    b"client_id=a&client_secret=" + SECRET.encode(),
    b'{"client_id": "a", "client_secret": "' + SECRET.encode() + b'", "client_secret": "x"}',
    b'{"client_id": "a\\u0000", "client_secret": "' + SECRET.encode() + b'"}',
    b'[{"client_secret": "' + SECRET.encode() + b'"}]',
    b'{"scope": "' + SECRET.encode() + b'\\n"}',
]


def test_no_body_shape_keeps_a_secret() -> None:
    for raw in MALFORMED:
        logged = request_for_log(raw, TOKEN_LOG)
        assert SECRET not in logged, (raw, logged)
        assert SECRET[:8] not in logged, (raw, logged)


def test_unparseable_bodies_are_a_size_and_a_hash() -> None:
    logged = request_for_log(MALFORMED[0], TOKEN_LOG)
    assert logged == summary(MALFORMED[0]) and logged.startswith(f"<{len(MALFORMED[0])} bytes, sha256 ")


def test_answers_keep_dates_documents_and_ids_readable() -> None:
    answer = {
        "codResp": "31", "desResp": "Documento F001-00000002 no encontrado para 87654321 (venc. 10122026)",
        "correlationId": "0123456789abcdef0123456789abcdef", "access_token": "eyJ.abc", "dni": "12345678",
        "fechaVencimiento": "10122026", "telefono": "+525500000001", "nota": "llame al +525500000001",
    }  # fmt: skip
    logged = json.loads(answer_for_log(json.dumps(answer).encode()))
    assert logged["desResp"] == "Documento F001-00000002 no encontrado para *****321 (venc. 10122026)"
    assert logged["correlationId"] == answer["correlationId"] and logged["fechaVencimiento"] == "10122026"
    assert logged["access_token"] == "***" and logged["dni"] == "*****678"
    assert logged["telefono"] == "**********001" and logged["nota"] == "llame al **********001"


def test_queries_keep_the_allow_list_only() -> None:
    assert query_for_log(f"acctId=5895180000053129617&client_secret={SECRET}", allow("acctId")) == (
        "acctId=****************617&_omitted=1"
    )
    assert query_for_log("format=png", allow("format")) == "format=png"


def test_images_and_large_answers_are_summarised() -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(100)
    assert answer_for_log(png) == summary(png)
    assert answer_for_log(b"x" * 70_000).startswith("<70000 bytes")


@given(st.binary(max_size=2000))
def test_never_raises_on_bytes(data: bytes) -> None:
    assert isinstance(request_for_log(data, TOKEN_LOG), str) and isinstance(answer_for_log(data), str)


SECRETS = st.text(alphabet=string.ascii_letters + string.digits + "!#%", min_size=8, max_size=30).map(lambda s: "!" + s)


@given(SECRETS, st.binary(max_size=300))
def test_a_secret_anywhere_never_survives(secret: str, noise: bytes) -> None:
    """Whatever the body is made of, a value under client_secret, a key unknown to the route or
    bytes that do not parse never reach the log."""
    for raw in (
        json.dumps({"client_id": "a", "client_secret": secret}).encode(),
        json.dumps({secret: 1, "client_id": "a"}).encode(),
        json.dumps({"client_id": "a", "nested": {"client_secret": secret}, "list": [secret]}).encode(),
        noise + secret.encode() + noise,
    ):
        assert secret not in request_for_log(raw, TOKEN_LOG), raw
