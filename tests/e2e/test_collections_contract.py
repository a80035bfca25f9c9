"""schemathesis against the served collections OpenAPI document, over real HTTP on the local
host, SQLite and PostgreSQL: requests the document allows and requests it does not, on every
route (agreement, negotiations, profile, policies, collection check). None is a 5xx, every
answer is one the document describes (status, content type, schema), and what the document
does not allow is refused. The credentials and the
collection check's derived headers (TxId of today, SessionKey, ProcessId) are the caller's
own; every other header, parameter and body is generated."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import schemathesis
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from domain.collections import BOGOTA
from domain.collections.headers import julian
from domain.collections.openapi import openapi_document
from tests.e2e.test_collections_api import (
    SECRET,
    Host,
    host,  # noqa: F401 - the fixture
)

NUMBERS = itertools.count(300_000)
# What the document cannot say is checked by the routes, not by a schema: the fields each core
# and tool requires, "acctId or the holder's identity", startDt before endDt, a convenio that
# exists. A schema-valid request may therefore be refused (10002/10007), always in the
# documented shape; tests/e2e/test_collections_tables.py holds the accepted forms row by row.
BEYOND_THE_SCHEMA = [positive_data_acceptance]


def _schema(mode: GenerationMode, examples: int) -> Any:
    schema = schemathesis.openapi.from_dict(openapi_document()).include(operation_id_regex="^collections_")
    schema.config.generation.update(modes=[mode], max_examples=examples)
    # a body over the route's 64 KiB is refused with 413 (documented) before it is read
    schema.config.checks.negative_data_rejection.expected_statuses.append("413")
    return schema


POSITIVE = _schema(GenerationMode.POSITIVE, 40)
NEGATIVE = _schema(GenerationMode.NEGATIVE, 40)


def _call(case: Any, host: Host) -> Any:  # noqa: F811
    headers = {"Authorization": f"Bearer {host.token}", "client_id": "collector", "client_secret": SECRET}
    if case.operation.definition.raw.get("operationId") == "collections_collection":
        tx_id = f"APIF{julian(datetime.now(UTC).astimezone(BOGOTA).date())}32{next(NUMBERS):010d}"
        headers.update({"X-Invoker-TxId": tx_id, "X-Invoker-SessionKey": host.token[:30],
                        "X-Invoker-ProcessId": tx_id[-11:].rjust(12, "0")})  # fmt: skip
    return case.call(base_url=host.base, headers=headers)


@POSITIVE.parametrize()
def test_requests_the_document_allows_never_fail_the_server(case: Any, host: Host) -> None:  # noqa: F811
    response = _call(case, host)
    assert response.status_code < 500, (case.body, response.text)
    case.validate_response(response, excluded_checks=BEYOND_THE_SCHEMA)


@NEGATIVE.parametrize()
def test_requests_it_does_not_allow_are_refused_in_the_documented_shape(case: Any, host: Host) -> None:  # noqa: F811
    response = _call(case, host)
    assert response.status_code < 500, (case.body, response.text)
    case.validate_response(response, excluded_checks=BEYOND_THE_SCHEMA)
