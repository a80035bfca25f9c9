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
