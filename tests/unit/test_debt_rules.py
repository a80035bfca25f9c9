"""Header and cross-field rules of the debt file, and the document-order tracker."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.debts import DocumentOrder, check_header, file_name_errors, order_error, render_err_line


@given(line=st.binary(max_size=260), name=st.text(max_size=30))
def test_header_check_never_raises(line: bytes, name: str) -> None:
    header, errors = check_header(line, name, 730)
    assert (header is None) == bool(errors)


def test_file_names() -> None:
    assert file_name_errors("D0073022102021001.TXT", 730) == []
    assert file_name_errors("D0073022102021001.txt", 730)[0].reason.startswith("no cumple")
    assert "carpeta 00731" in file_name_errors("D0073022102021001.TXT", 731)[0].reason
    assert "fecha" in file_name_errors("D0073032132021001.TXT", 730)[0].reason
    assert file_name_errors("D00730221020210010.TXT", 730)


def test_document_order_within_and_across_runs() -> None:
    order = DocumentOrder(bits=1 << 10, track=0)
    assert order.check("A", "F1", 2) == (None, False)
    assert order.check("A", "F2", 3) == (None, False)
    error, _ = order.check("A", "F2", 4)
    assert error is not None and "repetido" in error.reason
    error, _ = order.check("A", "F0", 5)
    assert error is not None and "ascendentes" in error.reason
    order.rejected("A", "F2")
    assert order.last_for("A") == "F2"
    assert order.check("B", "F1", 6) == (None, False)
    assert order.check("A", "F9", 7) == (None, True)  # A seen before: the loader asks what it stored
    assert order_error("F9", "F2", 7) is None
    assert order_error("F2", "F2", 7) is not None
    assert order_error("F1", "F2", 7) is not None
    assert order_error("F1", None, 7) is None


def test_document_order_of_tracked_clients_is_exact() -> None:
    """A client among the first `track` is judged in memory when it comes back: no SQL needed."""
    order = DocumentOrder(bits=1 << 10, track=1)
    assert order.check("A", "F2", 2) == (None, False)
    assert order.check("B", "F1", 3) == (None, False)  # A tracked; B finds no room
    error, seen = order.check("A", "F2", 4)
    assert error is not None and "repetido" in error.reason and not seen
    order.rejected("A", None)  # the line opened A's run: A's highest stays F2
    error, _ = order.check("A", "F1", 5)
    assert error is not None and "(anterior F2)" in error.reason
    assert order.check("A", "F3", 6) == (None, False)
    assert order.check("B", "F0", 7) == (None, True)  # untracked: the loader asks what it stored
    order.rejected("B", None)
    assert order.check("B", "F0", 8) == (None, False)  # nothing of B's run was accepted: F0 may come


def test_err_line_keeps_the_original_bytes() -> None:
    raw = b"N" + "Ñ".encode("latin-1") + b" " * 208
    line = render_err_line(12, [("nombre_cliente", "malo"), ("dni", "corto")], raw)
    assert line == b"000000012|nombre_cliente,dni|nombre_cliente: malo; dni: corto|" + raw + b"\r\n"
