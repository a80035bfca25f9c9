"""A stand-in for the bank (BBVA) on the lending exchange folders, for demos and tests.

    python -m fakes.bank [--reject TRANSACTION_ID=CODE ...] [--reject-amount 13.02=02 ...]

Uses the app's settings (SFTP_URL and the SFTP_* keys, local.settings.json) to reach the same
folders the app writes. It takes every dispersion and retry file waiting in
`dispersiones/pendientes/` and `dispersiones/reintentos/` (moving them to
`dispersiones/enviados/`, as the bank's pull would remove them), "executes" each transfer and
drops one response file `dispersiones/respuestas/RESP_<AAAAMMDD_HHMMSS>_<n>.TXT`: processed
(P 00, with a tracking key of its own, as SPEI's are one per transfer) unless a rule rejects it
with a SPEI return reason. Like a bank that does not de-duplicate, it pays a file offered twice
twice: what the app must never do is offer it twice.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from decimal import Decimal

from adapters.files.port import FileStore
from domain.layouts.disbursements import DISPERSION_DETAIL, RESPONSE
from domain.lending import MEXICO

FOLDERS = ("dispersiones/pendientes", "dispersiones/reintentos")
TAKEN = "dispersiones/enviados"
RESPONSES = "dispersiones/respuestas"


def respond(store: FileStore, now: datetime, by_id: dict[str, str], by_cents: dict[int, str],
            silent: frozenset[str] = frozenset()) -> tuple[str, int]:  # fmt: skip
    """Answer every waiting file in one response file; (its name, lines), or ("", 0) if none waited.
    The transfers in `silent` are taken but not answered (a bank that is late with them)."""
    lines, taken = [], []
    local = now.astimezone(MEXICO)
    sequence = len(store.list(RESPONSES)) + len(store.list(f"{RESPONSES}/procesados")) + 1
    for folder in FOLDERS:
        for info in store.list(folder):
            taken.append(info.path)
            for raw in store.read_bytes(info.path).split(b"\r\n"):
                if not raw.startswith(b"D"):
                    continue  # header, trailer, end of file
                detail, errors = DISPERSION_DETAIL.parse(raw)
                if detail is None:
                    raise SystemExit(f"{info.path}: unreadable detail: {'; '.join(map(str, errors))}")
                if detail["id_transaccion"] in silent:
                    continue
                code = by_id.get(detail["id_transaccion"]) or by_cents.get(detail["importe"]) or "00"
                lines.append(RESPONSE.format({
                    "id_transaccion": detail["id_transaccion"], "estatus": "P" if code == "00" else "R",
                    "codigo_motivo": code, "fecha_operacion": local.date(), "intento": detail["intento"],
                    # a SPEI tracking key names one transfer: a file paid twice is answered with other keys
                    "clave_rastreo": f"BBVA{local:%Y%m%d%H%M%S}{sequence % 1000:03d}{len(lines) + 1:05d}"
                    if code == "00" else "",
                }) + b"\r\n")  # fmt: skip
    if not taken:
        return "", 0
    name = f"RESP_{local:%Y%m%d_%H%M%S}_{sequence % 1000:03d}.TXT"
    store.write_atomic(f"{RESPONSES}/{name}", b"".join(lines))
    for path in taken:
        store.move(path, f"{TAKEN}/{path.rsplit('/', 1)[1]}")
    return name, len(lines)


def _rules(items: list[str]) -> dict[str, str]:
    rules = {}
    for item in items:
        key, _, code = item.partition("=")
        if not (code.isdigit() and len(code) == 2):
            raise SystemExit(f"bad rule {item!r}: expected KEY=CODE with a two-digit SPEI reason")
        rules[key] = code
    return rules


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reject", action="append", default=[], help="TRANSACTION_ID=CODE (e.g. ...=02)")
    parser.add_argument("--reject-amount", action="append", default=[], help="AMOUNT=CODE (e.g. 13.02=02)")
    args = parser.parse_args(argv)
    from adapters.files.factory import open_file_store
    from manage import load_local_settings
    from settings import get_settings

    load_local_settings()
    by_cents = {int(Decimal(k) * 100): v for k, v in _rules(args.reject_amount).items()}
    name, count = respond(open_file_store(get_settings()), datetime.now(UTC), _rules(args.reject), by_cents)
    print(f"{RESPONSES}/{name}: {count} lines" if name else "no dispersion or retry files waiting")
    return 0


if __name__ == "__main__":
    sys.exit(main())
