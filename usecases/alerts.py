"""Alerts for an operator on the money that leaves through the bank (`lending_alerts`).

An alert is raised once per subject (`file:<name>` for a dispersion or retry file that may be
with the bank, `line:<id>` for a response line that reports a payment that is not the
purchase's one disbursement), in the transaction that found it, and stays open until an
operator resolves it: `manage.py alerts`, the console's Lending page, and the runs' output and
ProcessLogs show it. Never only a log line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from sql.engine import stored_utc
from sql.tables import lending_alerts

DETAIL = 600


class AlertNotFound(Exception):
    pass


@dataclass(frozen=True)
class Alert:
    id: int
    kind: str
    subject: str
    purchase_id: str | None
    file_name: str | None
    detail: str
    created_at: datetime
    resolved_at: datetime | None
    resolution: str | None

    def __str__(self) -> str:
        return f"ALERT #{self.id} {self.kind}: {self.detail}"


def _alert(row: Any) -> Alert:
    return Alert(row.id, row.kind, row.subject, row.purchase_id, row.file_name, row.detail,
                 stored_utc(row.created_at), stored_utc(row.resolved_at) if row.resolved_at else None,
                 row.resolution)  # fmt: skip


def file_subject(file_name: str) -> str:
    return f"file:{file_name}"


def raise_alert(conn: sa.Connection, subject: str, kind: str, detail: str, now: datetime, *,
                purchase_id: str | None = None, file_name: str | None = None,
                response_line_id: int | None = None) -> Alert:  # fmt: skip
    """The alert about `subject`: inserted now, or the one raised before (once per subject)."""
    found = conn.execute(sa.select(lending_alerts).where(lending_alerts.c.subject == subject)).first()
    if found is None:
        conn.execute(sa.insert(lending_alerts).values(
            subject=subject, kind=kind, purchase_id=purchase_id, file_name=file_name and file_name[:120],
            response_line_id=response_line_id, detail=detail[:DETAIL], created_at=now))  # fmt: skip
        found = conn.execute(sa.select(lending_alerts).where(lending_alerts.c.subject == subject)).one()
    return _alert(found)


def resolve_subject(conn: sa.Connection, subject: str, resolution: str, now: datetime) -> Alert | None:
    """Close the open alert about `subject`, if any, saying how it was settled."""
    conn.execute(sa.update(lending_alerts)
                 .where(lending_alerts.c.subject == subject, lending_alerts.c.resolved_at.is_(None))
                 .values(resolved_at=now, resolution=resolution[:300]))  # fmt: skip
    found = conn.execute(sa.select(lending_alerts).where(lending_alerts.c.subject == subject)).first()
    return _alert(found) if found is not None else None


def find_alert(conn: sa.Connection, alert_id: int) -> Alert:
    found = conn.execute(sa.select(lending_alerts).where(lending_alerts.c.id == alert_id)).first()
    if found is None:
        raise AlertNotFound(f"no alert #{alert_id}")
    return _alert(found)


def resolve_alert(engine: Engine, alert_id: int, note: str, now: datetime) -> Alert:
    """An operator's resolution: the alert closes with their note (an alert closed stays closed)."""
    with engine.begin() as conn:
        alert = find_alert(conn, alert_id)
        if alert.resolved_at is not None:
            return alert
        return resolve_subject(conn, alert.subject, f"operator: {note}", now) or alert


def list_alerts(engine: Engine, open_only: bool = True, limit: int = 100) -> list[Alert]:
    """Newest first; open ones only unless `open_only` is False."""
    query = sa.select(lending_alerts).order_by(lending_alerts.c.id.desc()).limit(limit)
    if open_only:
        query = query.where(lending_alerts.c.resolved_at.is_(None))
    with engine.connect() as conn:
        return [_alert(r) for r in conn.execute(query)]


def count_open(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(lending_alerts)
                                .where(lending_alerts.c.resolved_at.is_(None))).scalar() or 0)  # fmt: skip
