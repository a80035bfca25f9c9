"""Docs rendered from the code are checked in and current: the OpenAPI documents and the
collections field reference (`python manage.py openapi` rewrites them)."""

from __future__ import annotations

import pytest

from manage import _generated_docs
from tests.conftest import ROOT

DOCS = _generated_docs()


@pytest.mark.parametrize("name", sorted(DOCS))
def test_generated_doc_is_current(name: str) -> None:
    path = ROOT / "docs" / name
    assert path.exists() and path.read_text(encoding="utf-8") == DOCS[name], (
        f"docs/{name} is stale: run `python manage.py openapi`"
    )


def test_the_field_reference_names_every_route_and_the_common_forms() -> None:
    text = DOCS["collections-fields.md"]
    for route in ("negotiations", "negotiations/profile", "negotiations/policies", "collection", "agreement/ics"):
        assert f"/api/collections-management/v1/{route}\n" in text
    for form in ("AAAA-MM-DD", "AAAAMMDD", "AAMMDD", "`GovIssueIdent`", "espacios a la derecha"):
        assert form in text


def test_the_file_layouts_name_every_field_and_their_examples_read_back() -> None:
    from domain.layouts.debts import DETAIL, HEADER
    from domain.layouts.disbursements import DISPERSION_DETAIL, DISPERSION_HEADER, DISPERSION_TRAILER, RESPONSE
    from domain.layouts.payments import PAYMENT

    text = DOCS["file-layouts.md"]
    layouts = (HEADER, DETAIL, PAYMENT, DISPERSION_HEADER, DISPERSION_DETAIL, DISPERSION_TRAILER, RESPONSE)
    for layout in layouts:
        assert f"### {layout.name.capitalize()} ({layout.width} characters)" in text
        for f in layout.fields:
            assert f"| `{f.name}` | {f.start} | {f.end} | {f.length} |" in text and f.doc
    examples = [block.split("```")[0].split("\n")[2:-1] for block in text.split("```text")[1:]]
    parsed = 0
    for records in examples:
        for record in records:
            if record.startswith("000000003|"):  # the .ERR example: the refused line after its reason
                continue
            fits = [layout for layout in layouts if layout.width == len(record) and layout.parse(record.encode(), 1)[1] == []]
            assert fits, record
            parsed += 1
    assert parsed == 8  # 3 debt records, a payment, 3 dispersion records, a response


def test_every_invariant_names_places_and_tests_that_exist() -> None:
    """docs/invariants.md cannot point at code, or at a model rule, that is not there: every path
    named exists and every `name` is in one of the places named beside it."""
    import re

    from domain.invariants import INVARIANTS

    assert len({inv.id for inv in INVARIANTS}) == len(INVARIANTS)
    for inv in INVARIANTS:
        for _, where in inv.holds_by:
            paths = [ROOT / p for p in re.findall(r"(?:[a-z_]+/)+(?:[a-z_0-9]+\.py)?", where)]
            assert paths and all(p.exists() for p in paths), (inv.id, where)
            text = "".join(f.read_text() for p in paths for f in ([p] if p.is_file() else sorted(p.rglob("*.py"))))
            for name in re.findall(r"`([^`]+)`", where):
                assert name.split(" ")[0] in text, (inv.id, name, where)
        for test in inv.checked_by:
            path, _, name = test.partition("::")
            assert (ROOT / path).exists(), (inv.id, path)
            assert not name or f"def {name}(" in (ROOT / path).read_text(), (inv.id, test)
