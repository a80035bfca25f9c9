"""What tracing costs a YAPAGO call (issue 18).

    python bench/telemetry.py [--requests 400]

Calls `POST /api/yapago/consulta` and `POST /api/yapago/pago` in-process as the host calls
them (the pago below the debt's minimum: refused after its reads, repeatable), against a fresh
SQLite database with the golden R file loaded, three ways: telemetry off
(no connection string: the app's default), on with every span kept and exported by a batch
processor to an exporter that drops them (the export thread's cost without a network), and on
with the same spans kept in memory. Prints median and p95 per call and the spans per call.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import median_p95  # noqa: E402

CONSULTA = {"idConsulta": "4785124", "tipoConsulta": 0, "idEmpresa": "730", "idBanco": "1020", "idCanal": "10"}


def pago(n: int) -> dict:
    return {
        "fechaTxn": "22112026", "horaTxn": "180520", "idCanal": "10", "idForma": "01", "numeroOperacion": str(n),
        "idConsulta": "4785124", "servicio": "001", "numeroDocumento": "F001-00000001", "importePagado": "0.01",
        "moneda": "1", "idEmpresa": "730", "idBanco": "1020", "voucher": "", "referenciaDeuda": 1,
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-telemetry-"))
    os.environ.update(SQL_URL=f"sqlite:///{work / 'app.db'}", SFTP_URL=f"file://{work / 'x'}",
                      LOG_STORAGE_CONNECTION="DefaultEndpointsProtocol=http;AccountName=x;AccountKey=eA==;"
                      "TableEndpoint=http://127.0.0.1:9/x;", LOG_TIMEOUT_SECONDS="0.2",
                      JWT_SIGNING_KEY="b" * 40)  # fmt: skip
    os.environ.pop("APPLICATIONINSIGHTS_CONNECTION_STRING", None)
    import bootstrap
    from adapters import telemetry
    from sql.migrate import upgrade
    from tests.e2e.calls import call
    from usecases.clients import register_client
    from usecases.companies import seed_demo
    from usecases.load_debts import load_debts

    bootstrap.reset()
    upgrade(os.environ["SQL_URL"])
    seed_demo(bootstrap.unit_of_work, bootstrap.utc_now())
    register_client(bootstrap.unit_of_work, "bank-1020", "bench-secret-12345", "yapago", bootstrap.utc_now())
    source = ROOT / "tests" / "testdata" / "debts" / "valid_r" / "D0073022112026001.TXT"
    bootstrap.file_store().write_atomic(f"00730/Deudas/Pending/{source.name}", source.read_bytes())
    load_debts(bootstrap.engine(), bootstrap.file_store(), bootstrap.utc_now)
    credentials = {"client_id": "bank-1020", "client_secret": "bench-secret-12345"}
    token = json.loads(call("auth_token", "POST", headers=credentials).get_body())
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    serial = iter(range(10_000_000, 99_999_999))

    def measure() -> dict[str, tuple[float, float]]:
        out = {}
        for name, body in (("consulta", lambda: CONSULTA), ("pago", lambda: pago(next(serial)))):
            samples = []
            for _ in range(args.requests):
                started = time.perf_counter()
                response = call(f"yapago_{name}", "POST", headers=headers, body=body())
                samples.append((time.perf_counter() - started) * 1000)
                assert response.status_code < 500
            out[name] = median_p95(samples[args.requests // 10:])  # the first tenth warms up
        return out

    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanExportResult
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    class Dropped(SpanExporter):
        def __init__(self) -> None:
            self.spans = 0

        def export(self, spans):  # type: ignore[no-untyped-def]
            self.spans += len(spans)
            return SpanExportResult.SUCCESS

    rows = [("off (default)", measure(), None)]
    for label, make in (("on, batch export", lambda e: BatchSpanProcessor(e)),
                        ("on, kept in memory", lambda e: SimpleSpanProcessor(e))):  # fmt: skip
        exporter = Dropped() if "batch" in label else InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(make(exporter))
        telemetry.enable(provider, MeterProvider(metric_readers=[InMemoryMetricReader()]))
        result = measure()
        provider.force_flush()
        spans = exporter.spans if isinstance(exporter, Dropped) else len(exporter.get_finished_spans())
        telemetry.disable()
        rows.append((label, result, spans / (2 * args.requests)))

    print(f"\n{args.requests} calls each, in-process, SQLite; median / p95 ms")
    print(f"{'telemetry':<20} {'consulta':>16} {'pago':>16} {'spans/call':>11}")
    for label, result, spans in rows:
        cells = [f"{m:.2f} / {p:.2f}" for m, p in (result["consulta"], result["pago"])]
        print(f"{label:<20} {cells[0]:>16} {cells[1]:>16} {'' if spans is None else f'{spans:.1f}':>11}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
