"""Benchmark of the token service and of the app's import (issue 18).

    python bench/tokens.py [--requests 40] [--imports 5]

Imports `function_app` in fresh interpreters (what a cold Functions worker pays before its first
function runs) and calls `POST /api/auth/token` in-process as the host calls it, against a
fresh SQLite database with one registered client, reporting the median and p95 of each. The
floor beside them: a bare interpreter's start, and the Argon2id check alone. Target (issue 18):
a token in well under 100 ms; `function_app` imported in under 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import median_p95  # noqa: E402


def _timed_run(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    return (time.perf_counter() - started) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--imports", type=int, default=5)
    args = parser.parse_args()

    bare = [_timed_run("pass") for _ in range(args.imports)]
    imports = [_timed_run("import function_app") for _ in range(args.imports)]

    work = Path(tempfile.mkdtemp(prefix="bench-tokens-"))
    os.environ.update(SQL_URL=f"sqlite:///{work / 'app.db'}", SFTP_URL=f"file://{work / 'x'}",
                      LOG_STORAGE_CONNECTION="DefaultEndpointsProtocol=http;AccountName=x;AccountKey=eA==;"
                      "TableEndpoint=http://127.0.0.1:9/x;", LOG_TIMEOUT_SECONDS="0.2",
                      JWT_SIGNING_KEY="b" * 40)  # fmt: skip
    import bootstrap
    from adapters.secrets import hash_secret, verify_secret
    from sql.migrate import upgrade
    from tests.e2e.calls import call
    from usecases.clients import register_client

    bootstrap.reset()
    upgrade(os.environ["SQL_URL"])
    secret = "bench-secret-" + "k" * 30
    register_client(bootstrap.unit_of_work, "bench", secret, "yapago", datetime.now(UTC))
    stored = hash_secret(secret)
    checks = []
    for _ in range(args.requests):
        started = time.perf_counter()
        verify_secret(stored, secret)
        checks.append((time.perf_counter() - started) * 1000)
    tokens = []
    for n in range(args.requests):
        started = time.perf_counter()
        answer = call("auth_token", "POST", headers={"X-Forwarded-For": f"10.0.{n // 250}.{n % 250}"},
                      body={"client_id": "bench", "client_secret": secret})  # fmt: skip
        tokens.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, answer.get_body()
    json.loads(answer.get_body())

    rows = [("interpreter start (floor)", bare), ("import function_app", imports),
            ("Argon2id check alone", checks), ("POST /api/auth/token (in-process)", tokens)]  # fmt: skip
    print(f"\n{args.requests} token requests, {args.imports} imports, {date.today().isoformat()}, Python "
          f"{sys.version.split()[0]}")  # fmt: skip
    print(f"{'what':36} {'median ms':>10} {'p95 ms':>10}")
    for name, samples in rows:
        median, p95 = median_p95(samples)
        print(f"{name:36} {median:10.1f} {p95:10.1f}")
    bootstrap.log_sink().flush(1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
