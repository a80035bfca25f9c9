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
