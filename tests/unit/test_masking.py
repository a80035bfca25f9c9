from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from domain.masking import mask_body, mask_form, mask_headers


def test_json_fields_masked_by_name_and_shape() -> None:
    body = {
        "client_secret": "s3cret-value",
        "dni": "12345678",
        "idConsulta": "4785124",
        "cliente": {"telefono": "+529991234567", "nombre": "Juan"},
        "nota": "mi RUC es 20123456789 y mi DNI 87654321",
        "importePagado": 100.99,
        "deuda": "100.99",
        "numeroOperacion": "A0154785",
    }
    masked = json.loads(mask_body(json.dumps(body).encode()))
    assert masked["client_secret"] == "***"
    assert masked["dni"] == "*****678"
    assert masked["idConsulta"] == "****124"
    assert masked["cliente"] == {"telefono": "**********567", "nombre": "Juan"}
    assert masked["nota"] == "mi RUC es ********789 y mi DNI *****321"
    assert masked["importePagado"] == 100.99
    assert masked["deuda"] == "100.99"
    assert masked["numeroOperacion"] == "A0154785"


def test_form_and_query_strings() -> None:
    assert mask_form("client_id=a&client_secret=xyz&scope=yapago") == "client_id=a&client_secret=***&scope=yapago"
    assert mask_body(b"client_id=a&client_secret=xyz") == "client_id=a&client_secret=***"


def test_headers() -> None:
    assert mask_headers({"Authorization": "Bearer abc", "X-Trace": "1"}) == {"Authorization": "***", "X-Trace": "1"}


def test_long_bodies_are_truncated() -> None:
    out = mask_body(b"a" * 50000, limit=100)
    assert out.endswith("...[truncated]") and len(out) == 114


@given(st.binary(max_size=2000))
def test_mask_body_never_raises_on_bytes(data: bytes) -> None:
    assert isinstance(mask_body(data), str)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(), lambda c: st.lists(c) | st.dictionaries(st.text(), c)
    )
)
def test_mask_body_never_raises_on_json(value: object) -> None:
    assert isinstance(mask_body(json.dumps(value).encode()), str)


@given(st.from_regex(r"[12]\d{7}", fullmatch=True))
def test_no_dni_survives_in_free_text(dni: str) -> None:
    assert dni not in mask_body(json.dumps({"note": f"cliente {dni} pago"}).encode())
