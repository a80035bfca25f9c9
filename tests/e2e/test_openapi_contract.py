"""schemathesis against the served YAPAGO OpenAPI document (issue 13), on SQLite and PostgreSQL:
whatever the document calls valid is accepted (never a 400 with code 10/11/12), whatever it
does not is refused with a 4xx, no request is a 5xx, and every answer is one the document
describes (status, content type, schema)."""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.generation import GenerationMode

from domain.yapago_openapi import openapi_document
from tests.e2e.test_yapago_api import host  # noqa: F401 - the fixture
from tests.e2e.yapago_host import YapagoHost

REFUSED_AS_INVALID = {"10", "11", "12"}


def _schema(mode: GenerationMode, examples: int) -> Any:
    schema = schemathesis.openapi.from_dict(openapi_document()).include(operation_id_regex="^yapago_(consulta|pago|reversa)$")
    schema.config.generation.update(modes=[mode], max_examples=examples)
    return schema


POSITIVE = _schema(GenerationMode.POSITIVE, 120)
NEGATIVE = _schema(GenerationMode.NEGATIVE, 120)


def _call(case: Any, host: YapagoHost) -> Any:  # noqa: F811
    return case.call(base_url=host.base, headers={"Authorization": f"Bearer {host.token}"})


@POSITIVE.parametrize()
def test_what_the_document_allows_is_accepted(case: Any, host: YapagoHost) -> None:  # noqa: F811
    response = _call(case, host)
    case.validate_response(response)
    body = response.json()
    assert response.status_code < 500 and body["codResp"] not in REFUSED_AS_INVALID, (case.body, body)


@NEGATIVE.parametrize()
def test_what_it_does_not_is_refused_never_a_5xx(case: Any, host: YapagoHost) -> None:  # noqa: F811
    response = _call(case, host)
    assert response.status_code < 500, (case.body, response.text)
    assert 400 <= response.status_code or response.json()["codResp"] == "00", (case.body, response.text)
