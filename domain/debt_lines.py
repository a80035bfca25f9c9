"""The verdict on each detail line of a debt file, block by block and in file order.

Pure: bytes in, rows and errors out, no SQL. The loader (usecases/load_debts.py) runs it in
its own process or, for a big file on a machine with a spare core, in a worker process
(usecases/line_worker.py) while it inserts the previous block: parsing and checking a line
costs about what SQL costs to store it, so the two overlap instead of adding up. Both ways
run this same code on the same blocks, so the rows and the .ERR cannot differ.

What is judged here is everything a line can be judged on by itself and by the lines before
it in the same run of its client: the layout, the cross-field rules and the order of
documents. What needs the stored data (a key already there, a client that comes back after
other clients) is left to SQL, set-based, once the file is in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.debts import DetailRules, DocumentOrder
from domain.fixedwidth import FieldError
from domain.layouts.debts import DETAIL

TRACKED_CLIENTS = 50_000  # clients whose order is kept exactly in memory (about 12 MB at most)
MAX_SUSPECTS = 10_000  # clients named for the set-based order check; past this, every client is checked
MAX_LINE_BYTES = 64 * 1024  # a line longer than this (no line break in sight) is kept only this long

# A detail line straight to (update type, row in the `debts` columns' order): no dict per line.
DETAIL_ROW = DETAIL.tuple_parser(
    ("tipo_actualizacion", "company", "codigo_cliente", "nombre_cliente", "codigo_producto", "num_documento",
     "desc_documento", "fecha_vencimiento", "fecha_emision", "deuda", "mora", "gastos_adm", "pago_minimo",
     "periodo", "anio", "cuota", "moneda_doc", "dni", "ruc", "identificador_04", "file_id", "line_no"),
    params=("company", "file_id", "line_no"),
    none_if_blank=("dni", "ruc", "identificador_04"),
)  # fmt: skip
ROW_CLIENT, ROW_DOCUMENT, ROW_AMOUNT, ROW_CURRENCY, ROW_LINE = 1, 4, 8, 15, 20  # positions in a row


class Overlong(bytes):
    """The start of a line too long to keep whole, and its real length in bytes."""

    length: int


def overlong(head: bytes, length: int) -> Overlong:
    line = Overlong(head[:MAX_LINE_BYTES])
    line.length = length
    return line


_AMOUNT = DETAIL.field("deuda")
_CURRENCY = DETAIL.field("moneda_doc")


def aligned(raw: bytes) -> bytes | None:
    """A line that is not 210 bytes but 210 UTF-8 characters (an `Ñ` in a name), as 210 bytes
    with each non-ASCII character as `?`: its fields can then be read and named."""
    if len(raw) == DETAIL.width or isinstance(raw, Overlong):
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text.encode("ascii", "replace") if len(text) == DETAIL.width else None


def line_errors(raw: bytes, line_no: int) -> list[FieldError]:
    """Why a line that does not parse is refused, every field named where the line allows it."""
    if isinstance(raw, Overlong):
        return [FieldError(line_no, "registro", raw[:40].decode("latin-1") + "...",
                           f"longitud {raw.length} sin salto de linea, se esperan {DETAIL.width} caracteres "
                           f"(se guardan los primeros {MAX_LINE_BYTES})")]  # fmt: skip
    fixed = aligned(raw)
    if fixed is None:
        return DETAIL.diagnose(raw, line_no)
    wide = sum(1 for c in raw.decode("utf-8") if ord(c) > 127)
    first = FieldError(line_no, "registro", "", f"{wide} caracter(es) UTF-8 no ASCII: el registro es ASCII de "
                                                f"{DETAIL.width} posiciones")  # fmt: skip
    return [first, *DETAIL.diagnose(fixed, line_no)]


def read_amount(raw: bytes) -> tuple[bytes, int] | None:
    """Currency and Deuda of a line that failed other checks, if those two fields are readable."""
    if len(raw) != DETAIL.width:
        fixed = aligned(raw)
        if fixed is None:
            return None
        raw = fixed
    amount = raw[_AMOUNT.start - 1 : _AMOUNT.end]
    currency = raw[_CURRENCY.start - 1 : _CURRENCY.end]
    if amount.isdigit() and amount.isascii():
        return currency, int(amount)
    return None


@dataclass
class Verdicts:
    """What one block of lines comes to. `rows`: the lines that pass, as `debts` rows (an R
    file) or as rows followed by the update type (an N file, staged);
    `raws`: an R file's raw line of each row (a key found already stored reports it)."""

    lines: int = 0
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    raws: list[bytes] = field(default_factory=list)
    refused: list[tuple[list[FieldError], bytes]] = field(default_factory=list)
    unreadable: list[int] = field(default_factory=list)  # lines whose amount cannot be read
    read_pen: int = 0
    read_usd: int = 0
    applied_pen: int = 0  # of `rows`, an R file only
    applied_usd: int = 0
    suspect: bool = False  # a client came back after others: SQL judges its order once the file is in
    suspects: list[str] = field(default_factory=list)  # those clients, each named once per file
    suspect_lines: int = 0  # lines of those clients after they came back


class DetailJudge:
    """The verdicts of one file's detail lines; fed every block in file order (it keeps the
    state of the order rule between blocks)."""

    def __init__(
        self, update_type: str, currencies: Mapping[str, str], company: int, file_id: int, track: int | None = None
    ) -> None:
        self.replace = update_type == "R"
        self.rules = DetailRules(update_type, currencies)
        self.order = DocumentOrder(track=TRACKED_CLIENTS if track is None else track)
        self.company = company
        self.file_id = file_id
        self.deferred: str | None = None  # a client that came back, while its run of lines lasts
        self.suspects: set[str] = set()  # clients that came back (or that the filter says may have)

    def judge(self, start: int, lines: list[bytes]) -> Verdicts:
        # This loop runs once per line (a million times for a big file): locals, no avoidable
        # calls; the full rule checks run only when the quick ones fail.
        out = Verdicts(lines=len(lines))
        rows, raws, refused = out.rows, out.raws, out.refused
        parse, passes, check_rules, order = DETAIL_ROW, self.rules.passes_row, self.rules.check, self.order
        company, file_id, replace, deferred = self.company, self.file_id, self.replace, self.deferred
        read_pen = read_usd = applied_pen = applied_usd = suspect_lines = 0
        suspect, suspects = False, self.suspects
        for line_no, raw in enumerate(lines, start):
            parsed = parse(raw, company, file_id, line_no)
            if parsed is None:
                amount = read_amount(raw)
                if amount is None:
                    out.unreadable.append(line_no)
                elif amount[0] == b"1":
                    read_pen += amount[1]
                elif amount[0] == b"2":
                    read_usd += amount[1]
                refused.append((line_errors(raw, line_no), raw))
                continue
            row = parsed[1:]
            kind, client, document, amount_cents, currency = parsed[0], row[1], row[4], row[8], row[15]
            if currency == "1":
                read_pen += amount_cents
            else:
                read_usd += amount_cents
            if client == order.client and (document > order.last or client == deferred):
                order_problem, maybe_seen, previous = None, False, order.last
                order.last = document  # the common case: next document of the same client
                if client == deferred:
                    suspect_lines += 1
            else:
                previous = order.last_for(client)
                order_problem, maybe_seen = order.check(client, document, line_no)
                # a client back after others: its run is judged with all its lines, set-based
                deferred = client if maybe_seen else None
            rules_pass = passes(kind, row)
            if order_problem is not None or maybe_seen or not rules_pass:
                errors = [] if rules_pass else check_rules(DETAIL.parse_fast(raw) or {}, line_no)
                if order_problem is not None:
                    errors.append(order_problem)
                elif maybe_seen:
                    suspect = True
                    suspect_lines += 1
                    if client not in suspects and len(suspects) < MAX_SUSPECTS:
                        suspects.add(client)
                        out.suspects.append(client)
                if errors:
                    order.rejected(client, previous)
                    refused.append((errors, raw))
                    continue
            if replace:
                rows.append(row)
                raws.append(raw)
                if currency == "1":
                    applied_pen += amount_cents
                else:
                    applied_usd += amount_cents
            else:
                rows.append((*row, kind))
        self.deferred = deferred
        out.read_pen, out.read_usd, out.applied_pen, out.applied_usd = read_pen, read_usd, applied_pen, applied_usd
        out.suspect, out.suspect_lines = suspect, suspect_lines
        return out
