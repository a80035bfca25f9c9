"""What the debt loader will not read, said instead of ignored: a folder at the exchange's root
named like a company that no registered company has (a biller set up on the server but not
here, or a folder named `730` instead of `00730`), a file waiting in a deactivated company's
Pending/, and a file in a registered company's Pending/ that is not a .TXT (a `.txt.part` of
an upload tool, a `.zip`, a `.csv`). The loader leaves them where they are: the debt_loader
dispatcher's ProcessLogs entity, `dispatch-debts` and the console name them until somebody
acts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from adapters.files.port import FILE, FOLDER, ROOT, FileNotFound, FileStore, printable_name
from sql.tables import companies
from usecases.load_debts import pending_folder, rejected_folder

_COMPANY_LIKE = re.compile(r"[0-9]{1,7}")


@dataclass(frozen=True)
class ExchangeWarning:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def exchange_warnings(engine: Engine, store: FileStore, limit: int = 50) -> list[ExchangeWarning]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(companies.c.code, companies.c.deactivated_at)).all()
    registered = {int(code) for code, _ in rows}
    inactive = {int(code) for code, when in rows if when is not None}
    found: list[ExchangeWarning] = []
    for info in store.list(ROOT, everything=True):
        if info.kind != FOLDER or not _COMPANY_LIKE.fullmatch(info.name):
            continue
        code = int(info.name)
        if code in registered and info.name == f"{code:05d}":
            continue
        if code in registered:
            reason = f"a company's folder is its code in 5 digits: {code:05d}, not {info.name}"
        else:
            reason = f"no company {code} is registered here; its files are not loaded (manage.py create-company)"
        found.append(ExchangeWarning(printable_name(info.path), reason))
    for code in sorted(registered):
        for info in store.list(pending_folder(code), everything=True):
            if code in inactive and info.kind == FILE and len(found) < limit:
                found.append(ExchangeWarning(printable_name(info.path), f"company {code} is deactivated: its files "
                                             "are not loaded (manage.py activate-company)"))  # fmt: skip
                continue
            if info.kind == FILE and not info.name.upper().endswith(".TXT") and len(found) < limit:
                found.append(ExchangeWarning(printable_name(info.path), f"not a .TXT file: left where it is, never "
                                             f"read (debt files are named D{code:05d}DDMMAAAANNN.TXT)"))  # fmt: skip
    return found[:limit]


@dataclass(frozen=True)
class SetAside:
    """A file the loader moved to a company's Rejected/ (never applied), with its .ERR's reason."""

    company: int
    name: str
    at: datetime
    reason: str


def set_aside(engine: Engine, store: FileStore, start: datetime, end: datetime, limit: int = 50) -> list[SetAside]:
    """Files set aside in [start, end): a re-upload under a processed name, a folder, a link, a
    name that is not printable ASCII. They are in no debt file row, so only Rejected/ tells."""
    with engine.connect() as conn:
        codes = sorted(int(code) for (code,) in conn.execute(sa.select(companies.c.code)))
    found: list[SetAside] = []
    for code in codes:
        for info in store.list(rejected_folder(code)):
            if not (info.name.endswith(".ERR") and start <= info.modified < end) or len(found) >= limit:
                continue
            try:
                first = store.read_bytes(info.path)[:2000].decode("ascii", "replace").split("\r\n")[0]
            except FileNotFound:
                continue
            reason = first.split("|")[2] if first.count("|") >= 3 else first
            found.append(SetAside(code, printable_name(info.name.removesuffix(".ERR")), info.modified, reason))
    return found
