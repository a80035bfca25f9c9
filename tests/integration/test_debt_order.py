"""The debt loader's result depends on the rules only, never on how the biller sorted its export
(issue 15): random orders of the same debts give the same rows, and the .ERR names exactly the
lines the rule (documents unique and ascending per client, in file order) refuses. SQLite and
PostgreSQL."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import usecases.load_debts as loader
from adapters.files.local import LocalFileStore
from domain import debt_lines
from domain.layouts.debts import DETAIL, HEADER
from sql.engine import create_engine
from sql.migrate import upgrade
from sql.uow import UnitOfWork
from tests.conftest import temporary_database
from usecases.companies import create_company
from usecases.load_debts import load_debts

NOW = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
CODES = itertools.count(10000 + uuid.uuid4().int % 60000)  # a company of its own per load


@pytest.fixture(params=["sqlite", "postgresql"], scope="module")
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('order') / 'db.sqlite'}"
        upgrade(url)
        found = create_engine(url)
        yield found
        found.dispose()
        return
    with temporary_database(request.getfixturevalue("pg_url")) as url:
        upgrade(url)
        found = create_engine(url)
        yield found
        found.dispose()


def line(client: int, document: str, service: str = "001", cents: int = 1000) -> bytes:
    return DETAIL.format(dict(
        tipo_actualizacion="N", codigo_cliente=f"C{client:05d}", nombre_cliente="CLIENTE", codigo_producto=service,
        num_documento=document, desc_documento="Factura", fecha_vencimiento=date(2026, 12, 10),
        fecha_emision=date(2026, 11, 10), deuda=cents, mora=0, gastos_adm=0, pago_minimo=1, periodo=11, anio=2026,
        cuota=1, moneda_doc="1", dni="", ruc="", identificador_04="", filler="",
    ))  # fmt: skip


def load(engine: Any, root: Path, details: list[bytes], worker: str = "off", chunk: int = loader.CHUNK_BYTES,
         by_client: bool = True, track: int = 0,
         ) -> tuple[str, set[tuple], list[str]]:  # fmt: skip
    """A fresh company, an R file of these lines: (outcome, rows as sets, .ERR lines). `worker`:
    the lines judged in a line worker; `chunk`: the read size (small: a block every few lines,
    so the order rule's state crosses blocks); `by_client`: the set-based order check by the
    clients that came back, or over every row; `track`: clients judged exactly in memory (0:
    every client that comes back is left to the set-based check)."""
    code = next(CODES)
    create_company(lambda: UnitOfWork(engine), str(code), "EMPRESA", ["001:completa:PEN", "003:completa:PEN"],
                   [], NOW)  # fmt: skip
    name = f"D{code:05d}22112026001.TXT"
    head = HEADER.format(dict(
        nombre_archivo=name, tipo_actualizacion="R", codigo_empresa=code, fecha_transmision=date(2026, 11, 22),
        hora_transmision=datetime(2026, 1, 1, 8).time(), numero_registros=len(details),
        importe_total_soles=sum(int(d[100:112]) for d in details), importe_total_dolares=0, filler="", mac=0,
    ))  # fmt: skip
    store = LocalFileStore(root)
    store.write_atomic(f"{code:05d}/Deudas/Pending/{name}", b"".join(x + b"\r\n" for x in [head, *details]))
    with mock.patch.object(loader, "CHUNK_BYTES", chunk), \
         mock.patch.object(loader, "FEW_SUSPECT_LINES", loader.FEW_SUSPECT_LINES if by_client else -1), \
         mock.patch.object(debt_lines, "TRACKED_CLIENTS", track):
        (result,) = load_debts(engine, store, lambda: NOW, company=code, line_worker=worker)
    with engine.connect() as conn:
        rows = set(conn.execute(sa.text(
            "SELECT client_code, service_code, document, amount_cents FROM debts WHERE company_code = :c"
        ), {"c": code}).all())  # fmt: skip
    err = (root / f"{code:05d}" / "Deudas" / "Complete" / f"{name}.ERR").read_bytes().decode("latin-1")
    return result.outcome, rows, [x for x in err.split("\r\n") if x]


def model(details: list[bytes]) -> tuple[set[tuple], dict[int, str]]:
    """The rule itself, over the lines in file order: the rows kept, and the reason per refused line."""
    highest: dict[str, str] = {}
    kept, refused = set(), {}
    for number, raw in enumerate(details, 2):
        client, service, document = raw[1:15].decode().strip(), raw[45:48].decode(), raw[48:64].decode().strip()
        top = highest.get(client)
        if top is not None and document <= top:
            refused[number] = (
                "documento repetido para el cliente"
                if document == top
                else (f"documentos del cliente no ascendentes (anterior {top})")
            )
            continue
        highest[client] = document
        kept.add((client, service, document, int(raw[100:112])))
    return kept, refused


DEBTS = st.lists(
    st.tuples(st.integers(0, 6), st.integers(0, 9), st.sampled_from(["001", "003"]), st.integers(1, 9999)),
    min_size=1, max_size=60,
)  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(debts=DEBTS, data=st.data())
def test_any_order_of_the_same_debts(engine: Any, tmp_path_factory: pytest.TempPathFactory, debts: list,
                                     data: st.DataObject) -> None:  # fmt: skip
    root = tmp_path_factory.mktemp("files")
    details = [line(c, f"F{d:03d}", s, cents) for c, d, s, cents in debts]
    shuffled = data.draw(st.permutations(details))
    worker, chunk = data.draw(st.sampled_from(["off", "on"])), data.draw(st.sampled_from([300, 1000, 1 << 20]))
    by_client, track = data.draw(st.booleans()), data.draw(st.sampled_from([0, 3, 50_000]))
    outcome, rows, err = load(engine, root, shuffled, worker, chunk, by_client, track)
    kept, refused = model(shuffled)
    assert outcome == "PROCESADO"
    assert rows == kept
    assert [(int(x.split("|")[0]), x.split("|")[2].split(": ", 1)[1]) for x in err] == sorted(refused.items())
    # ascending per client, but interleaved however the sort puts it: nothing refused, same rows
    unique = {(c, d): (c, d, s, cents) for c, d, s, cents in debts}
    valid = sorted(unique.values(), key=lambda t: (t[0], t[1]))
    interleaved = data.draw(st.permutations(valid))
    in_order = sorted(interleaved, key=lambda t: t[1])  # documents ascending for every client
    rows_a = load(engine, root, [line(c, f"F{d:03d}", s, cents) for c, d, s, cents in valid])[1]
    outcome_b, rows_b, err_b = load(engine, root, [line(c, f"F{d:03d}", s, cents) for c, d, s, cents in in_order],
                                    "on", chunk)  # fmt: skip
    assert outcome_b == "PROCESADO" and err_b == [] and rows_b == rows_a


def n_line(kind: str, client: int, document: str, cents: int) -> bytes:
    raw = bytearray(line(client, document, "001", cents))
    raw[0:1] = kind.encode()
    return bytes(raw)


def load_n(engine: Any, root: Path, existing: list[bytes], details: list[bytes], worker: str = "off",
           chunk: int = loader.CHUNK_BYTES, by_client: bool = True, track: int = 0) -> tuple[Any, set, list[str]]:  # fmt: skip
    """A company holding `existing` (an R file), then an N file of `details` (`worker`, `chunk`: as load)."""
    code = next(CODES)
    create_company(lambda: UnitOfWork(engine), str(code), "EMPRESA", ["001:completa:PEN", "003:completa:PEN"],
                   [], NOW)  # fmt: skip
    store = LocalFileStore(root)
    for seq, (kind, lines) in enumerate((("R", existing), ("N", details)), 1):
        name = f"D{code:05d}22112026{seq:03d}.TXT"
        head = HEADER.format(dict(
            nombre_archivo=name, tipo_actualizacion=kind, codigo_empresa=code, fecha_transmision=date(2026, 11, 22),
            hora_transmision=datetime(2026, 1, 1, 8, seq).time(), numero_registros=len(lines),
            importe_total_soles=sum(int(d[100:112]) for d in lines), importe_total_dolares=0, filler="", mac=0,
        ))  # fmt: skip
        store.write_atomic(f"{code:05d}/Deudas/Pending/{name}", b"".join(x + b"\r\n" for x in [head, *lines]))
        with mock.patch.object(loader, "CHUNK_BYTES", chunk), \
             mock.patch.object(loader, "FEW_SUSPECT_LINES", loader.FEW_SUSPECT_LINES if by_client else -1), \
             mock.patch.object(debt_lines, "TRACKED_CLIENTS", track):
            (result,) = load_debts(engine, store, lambda: NOW, company=code, line_worker=worker)
    with engine.connect() as conn:
        rows = set(
            conn.execute(
                sa.text("SELECT client_code, document, amount_cents FROM debts WHERE company_code = :c"), {"c": code}
            ).all()
        )
    err = (root / f"{code:05d}" / "Deudas" / "Complete" / f"{name}.ERR").read_bytes().decode("latin-1")
    return result, rows, [x for x in err.split("\r\n") if x]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    existing=st.sets(st.tuples(st.integers(0, 4), st.integers(0, 6)), max_size=12),
    changes=st.lists(st.tuples(st.sampled_from("NAD"), st.integers(0, 4), st.integers(0, 6), st.integers(1, 999)),
                     min_size=1, max_size=40),
    worker=st.sampled_from(["off", "on"]),
    chunk=st.sampled_from([300, 1000, 1 << 20]),
    by_client=st.booleans(),
    track=st.sampled_from([0, 3, 50_000]),
)  # fmt: skip
def test_n_files_apply_set_based_as_in_file_order(engine: Any, tmp_path_factory: pytest.TempPathFactory,
                                                  existing: set, changes: list, worker: str, chunk: int,
                                                  by_client: bool, track: int) -> None:  # fmt: skip
    """Any mix of N/A/D lines, in any order, over a company holding some debts: the rows and the
    .ERR are those of applying the lines one by one in file order under the rule."""
    root = tmp_path_factory.mktemp("nfiles")
    before = sorted(existing)
    result, rows, err = load_n(engine, root, [line(c, f"F{d:03d}") for c, d in before],
                               [n_line(k, c, f"F{d:03d}", cents) for k, c, d, cents in changes], worker, chunk,
                               by_client, track)  # fmt: skip
    state = {(f"C{c:05d}", f"F{d:03d}"): 1000 for c, d in before}
    highest: dict[str, str] = {}
    expected_err = []
    for number, (kind, c, d, cents) in enumerate(changes, 2):
        client, document = f"C{c:05d}", f"F{d:03d}"
        top = highest.get(client)
        if top is not None and document <= top:
            expected_err.append((number, "documento repetido para el cliente" if document == top
                                 else f"documentos del cliente no ascendentes (anterior {top})"))  # fmt: skip
            continue
        highest[client] = document
        key = (client, document)
        if (kind == "N" and key in state) or (kind in "AD" and key not in state):
            expected_err.append((number, "la deuda ya existe" if kind == "N" else "la deuda no existe"))
        elif kind == "D":
            del state[key]
        else:
            state[key] = cents
    assert result.outcome == "PROCESADO"
    assert rows == {(c, d, cents) for (c, d), cents in state.items()}
    assert [(int(x.split("|")[0]), x.split("|")[2].split(": ", 1)[-1]) for x in err] == expected_err
