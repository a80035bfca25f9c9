"""Migration 0020 on a database with negotiation marks: each gets its request's SHA-256, and a
retry sent after the migration finds the mark stored before it (the first answer again)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa

from sql.collections_repository import CollectionsRepository, request_hash
from sql.engine import create_engine
from sql.migrate import upgrade

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def test_marks_stored_before_are_found_by_their_hash(empty_db_url: str) -> None:
    upgrade(empty_db_url, "0019")
    engine = create_engine(empty_db_url)
    requests = [json.dumps({"clientApp": {"name": "BM"}, "n": n}) for n in range(1203)]  # past one batch
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO negotiation_marks (core, strategy_type, acct_id, state, reason, client_id, request, created_at)"
            " VALUES ('BM', 'PPPL', :acct, 'Received', 'successful transaction', 'bank', :request, :now)"),
            [{"acct": f"{n:<20}", "request": r, "now": NOW} for n, r in enumerate(requests)])  # fmt: skip
    upgrade(empty_db_url)
    with engine.connect() as conn:
        hashes = dict(conn.execute(sa.text("SELECT request, request_hash FROM negotiation_marks")).all())
        assert len(hashes) == 1203 and all(hashes[r] == request_hash(r) for r in requests)
        found = CollectionsRepository(conn).same_mark("bank", f"{1202:<20}", requests[1202])
        assert found is not None and found.state == "Received"
        assert CollectionsRepository(conn).same_mark("bank", f"{1202:<20}", requests[1201]) is None
    engine.dispose()
