"""The declarative codec: layout checks, write->parse round trips, and no input makes it raise."""

from __future__ import annotations

import string
from datetime import date, time
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.fixedwidth import ALNUM, Field, FieldError, FormatError, Kind, Layout, LayoutError
from domain.layouts.debts import DETAIL, HEADER
from domain.layouts.disbursements import DISPERSION_DETAIL, DISPERSION_HEADER, DISPERSION_TRAILER, RESPONSE
from domain.layouts.payments import PAYMENT

LAYOUTS = [HEADER, DETAIL, PAYMENT, DISPERSION_HEADER, DISPERSION_DETAIL, DISPERSION_TRAILER, RESPONSE]
_CLASSES = {
    ALNUM: string.ascii_letters + string.digits,
    ALNUM + ". ": string.ascii_letters + string.digits + ". ",
    ALNUM + "-": string.ascii_letters + string.digits + "-",
    ALNUM + ".": string.ascii_letters + string.digits + ".",
    "0-9": string.digits,
    ALNUM + " .,-": string.ascii_letters + string.digits + " .,-",
    ALNUM + "_.": string.ascii_letters + string.digits + "_.",
}
PRINTABLE_CHARS = "".join(chr(c) for c in range(0x20, 0x7F))


def value_for(f: Field) -> st.SearchStrategy[object]:
    """Valid values of one field, derived from its declaration."""
    if f.const is not None:
        return st.just(f.const)
    if f.kind is Kind.AMOUNT:
        return st.integers(0, 10**f.length - 1)
    if f.kind is Kind.N:
        if f.choices:
            return st.sampled_from([int(c) for c in f.choices])
        return st.integers(0, 10**f.length - 1)
    if f.kind is Kind.DATE:
        return st.dates(date(1000, 1, 1), date(9999, 12, 31))
    if f.kind is Kind.TIME:
        return st.times().map(lambda t: t.replace(microsecond=0))
    if f.choices:
        return st.sampled_from(f.choices)
    if f.name == "dni":
        return st.one_of(st.just(""), st.from_regex(r"[12][0-9]{7}", fullmatch=True))
    if f.name == "ruc":
        return st.one_of(st.just(""), st.from_regex(r"[0-9]{11}", fullmatch=True))
    if f.pattern:
        return st.from_regex(f.pattern, fullmatch=True).filter(lambda s: len(s) <= f.length)
    alphabet = _CLASSES.get(f.charset, PRINTABLE_CHARS)
    inner = st.text(alphabet, min_size=1, max_size=f.length).map(lambda s: s.strip())
    if " " in alphabet:
        inner = inner.map(lambda s: " ".join(s.split()))
    inner = inner.filter(lambda s: bool(s) or not f.required)
    return st.just("") | inner if not f.required else inner


def records(layout: Layout) -> st.SearchStrategy[dict[str, object]]:
    return st.fixed_dictionaries({f.name: value_for(f) for f in layout.fields})


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda x: x.name)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_write_then_parse_round_trips(layout: Layout, data: st.DataObject) -> None:
    values = data.draw(records(layout))
    line = layout.format(values)
    assert len(line) == layout.width
    parsed, errors = layout.parse(line, 7)
    assert errors == []
    assert parsed is not None
    for f in layout.fields:
        expected = values[f.name]
        if f.kind is Kind.AN and not f.required and expected == "":
            assert parsed[f.name] == ""
        else:
            assert parsed[f.name] == expected, f.name
    assert layout.format(parsed) == line


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda x: x.name)
@settings(max_examples=500)
@given(line=st.binary(min_size=0, max_size=260))
def test_random_bytes_only_give_field_errors(layout: Layout, line: bytes) -> None:
    values, errors = layout.parse(line, 3)
    assert (values is None) == bool(errors)
    assert all(isinstance(e, FieldError) and e.line == 3 and e.reason for e in errors)


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda x: x.name)
@settings(max_examples=500)
@given(line=st.text(PRINTABLE_CHARS, min_size=210, max_size=210))
def test_fast_and_slow_paths_agree(layout: Layout, line: str) -> None:
    """The single-regex fast path accepts exactly the lines the per-field checks accept."""
    raw = line.encode()
    assert (layout.parse_fast(raw) is None) == bool(layout.diagnose(raw, 1))


@settings(max_examples=300)
@given(data=st.data(), position=st.integers(0, 209), byte=st.integers(0, 255))
def test_one_changed_byte_is_caught_or_still_valid(data: st.DataObject, position: int, byte: int) -> None:
    line = bytearray(DETAIL.format(data.draw(records(DETAIL))))
    line[position] = byte
    values, errors = DETAIL.parse(bytes(line), 1)
    assert (values is None) == bool(errors)
    if values is not None:
        assert DETAIL.format(values) == bytes(line)


def test_layout_is_checked_when_built() -> None:
    with pytest.raises(LayoutError, match="gap"):
        Layout("x", 10, (Field("a", 1, 4), Field("b", 6, 5)))
    with pytest.raises(LayoutError, match="overlaps"):
        Layout("x", 10, (Field("a", 1, 5), Field("b", 5, 6)))
    with pytest.raises(LayoutError, match="record is 10 wide"):
        Layout("x", 10, (Field("a", 1, 5), Field("b", 6, 4)))
    with pytest.raises(LayoutError, match="twice"):
        Layout("x", 10, (Field("a", 1, 5), Field("a", 6, 5)))
    with pytest.raises(LayoutError, match="constant"):
        Layout("x", 2, (Field("a", 1, 2, const="DDD"),))


def test_writer_refuses_instead_of_truncating() -> None:
    base = dict(
        tipo_actualizacion="N", codigo_cliente="C1", nombre_cliente="A", codigo_producto="001", num_documento="D1",
        fecha_vencimiento=date(2026, 1, 1), fecha_emision=date(2026, 1, 1), deuda=1, mora=0, gastos_adm=0,
        pago_minimo=1, periodo=0, anio=2026, cuota=0, moneda_doc="1",
    )  # fmt: skip
    DETAIL.format(base)
    bad = [
        ({"codigo_cliente": "X" * 15}, "holds 14"),
        ({"nombre_cliente": "JOSÉ"}, "caracter no permitido"),
        ({"deuda": 10**12}, "holds 12"),
        ({"deuda": Decimal("1.005")}, "more than 2 decimals"),
        ({"deuda": -1}, "negative"),
        ({"deuda": 1.5}, "int"),
        ({"codigo_producto": "009"}, "valor no permitido"),
        ({"codigo_cliente": ""}, "required"),
        ({"fecha_vencimiento": "2026-01-01"}, "must be a date"),
    ]
    for change, reason in bad:
        with pytest.raises(FormatError, match=reason):
            DETAIL.format({**base, **change})
    assert DETAIL.format({**base, "deuda": Decimal("100.99")})[100:112] == b"000000010099"


def test_implied_decimals_and_times() -> None:
    header = HEADER.format(
        dict(nombre_archivo="D0073022102021001.TXT", tipo_actualizacion="R", codigo_empresa=730,
             fecha_transmision=date(2021, 10, 22), hora_transmision=time(23, 59, 59), numero_registros=3,
             importe_total_soles=Decimal("100.99"), importe_total_dolares=0, mac=0)
    )  # fmt: skip
    assert header[22:29] == b"0000730"
    assert header[29:43] == b"22102021235959"
    assert header[52:67] == b"000000000010099"
    values, _ = HEADER.parse(header)
    assert values is not None and values["importe_total_soles"] == 10099 and values["codigo_empresa"] == 730


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda x: x.name)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fast_writer_matches_format(layout: Layout, data: st.DataObject) -> None:
    columns = [f.name for f in layout.fields if f.const is None]
    values = data.draw(records(layout))
    write = layout.tuple_writer(columns)
    assert write(*(values[c] for c in columns)).encode() == layout.format(values)


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda x: x.name)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), junk=st.one_of(st.text(max_size=40), st.integers(-5, 10**16), st.none(), st.booleans()))
def test_fast_writer_refuses_what_format_refuses(layout: Layout, data: st.DataObject, junk: object) -> None:
    columns = [f.name for f in layout.fields if f.const is None]
    values = data.draw(records(layout))
    values[data.draw(st.sampled_from(columns))] = junk
    write = layout.tuple_writer(columns)
    try:
        expected = layout.format(values)
    except FormatError:
        with pytest.raises(FormatError):
            write(*(values[c] for c in columns))
    else:
        assert write(*(values[c] for c in columns)).encode() == expected
