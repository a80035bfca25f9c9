"""The debt loader through each adapter of the file port: the same file from `file://`, from a
real OpenSSH sshd on loopback (`sftp://`) and from Azurite (`blob://`).

    python bench/stores.py [--lines 1000000] [--stores file sftp blob]

Generates the grouped R file (bench/load_debts.py), puts it where each store reads it, and
loads it with the real use case into a fresh SQLite database per run, each in its own process
(so that peak RSS is the stage's own). Prints seconds, lines/s, the ratio to `file://` and
peak RSS. Target (issue 15): `sftp://` and `blob://` within 1.3x of `file://`.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from load_debts import NAME, NOW, generate, prepare  # noqa: E402
from measure import peak_rss_mb  # noqa: E402
from ports import free_port, wait_port  # noqa: E402

from settings import AZURITE_CONNECTION  # noqa: E402

AZURITE_KEY = AZURITE_CONNECTION.split("AccountKey=")[1].split(";")[0]


def start_sshd(work: Path) -> tuple[subprocess.Popen, dict[str, str], Path]:
    """A key-only sshd on a loopback port: the process, the env the loader's stage needs to reach
    it, and its root folder on this disk."""
    work.mkdir()
    binary = shutil.which("sshd") or "/usr/sbin/sshd"
    for name in ("host", "user"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(work / name)], check=True)
    (work / "authorized_keys").write_text((work / "user.pub").read_text())
    port = free_port()
    (work / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {work / 'host'}\nPidFile {work / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {work / 'authorized_keys'}\nStrictModes no\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin prohibit-password\n"
        "UsePAM no\nSubsystem sftp internal-sftp\nLogLevel ERROR\n"
    )
    Path("/run/sshd").mkdir(exist_ok=True)
    proc = subprocess.Popen([binary, "-D", "-e", "-f", str(work / "sshd_config")], stderr=subprocess.DEVNULL)
    wait_port(port)
    public = (work / "host.pub").read_text().split()
    (work / "known_hosts").write_text(f"[127.0.0.1]:{port} {public[0]} {public[1]}\n")
    root = work / "exchange"
    env = {"SFTP_URL": f"sftp://{getpass.getuser()}@127.0.0.1:{port}{root}",
           "SFTP_KNOWN_HOSTS": str(work / "known_hosts"), "SFTP_PRIVATE_KEY_PATH": str(work / "user")}  # fmt: skip
    return proc, env, root


def start_azurite(work: Path) -> tuple[subprocess.Popen, dict[str, str]]:
    blob, queue, table = free_port(), free_port(), free_port()
    proc = subprocess.Popen(
        [str(ROOT / "node_modules" / ".bin" / "azurite"), "--inMemoryPersistence", "--silent", "--skipApiVersionCheck",
         "--loose", "--blobHost", "127.0.0.1", "--blobPort", str(blob), "--queueHost", "127.0.0.1", "--queuePort",
         str(queue), "--tableHost", "127.0.0.1", "--tablePort", str(table)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_port(blob)
    connection = (f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AZURITE_KEY};"
                  f"BlobEndpoint=http://127.0.0.1:{blob}/devstoreaccount1;")  # fmt: skip
    return proc, {"SFTP_URL": "blob://exchange", "SFTP_BLOB_CONNECTION": connection}


def stage(url: str) -> None:
    """One load, with the store the environment names (run in a process of its own)."""
    import bootstrap
    from sql.engine import create_engine
    from usecases.load_debts import load_debts

    store = bootstrap.file_store()
    engine = create_engine(url)
    started = time.perf_counter()
    (result,) = load_debts(engine, store, lambda: NOW)
    elapsed = time.perf_counter() - started
    assert result.outcome == "PROCESADO" and result.rejected == 0, result
    from usecases import line_worker

    peak = peak_rss_mb() + line_worker.last_peak_rss_kib / 1024  # with its line worker, if one ran
    print(json.dumps({"seconds": elapsed, "lines": result.applied, "peak_rss_mb": peak}))


def place(env: dict[str, str], root: Path | None, source: Path) -> None:
    """The file where the store reads it: a link under the local or sshd root, or an upload."""
    pending = "00730/Deudas/Pending"
    if root is None:
        from adapters.files.blob import BlobFileStore

        store = BlobFileStore(env["SFTP_URL"], env["SFTP_BLOB_CONNECTION"], timeout=120)
        store.ensure_container()
        with source.open("rb") as handle:
            store.write_atomic(f"{pending}/{NAME}", iter(lambda: handle.read(1 << 22), b""))
        return
    shutil.rmtree(root / "00730", ignore_errors=True)
    (root / pending).mkdir(parents=True)
    os.link(source, root / pending / NAME)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--stores", nargs="+", choices=["file", "sftp", "blob"], default=["file", "sftp", "blob"])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        stage(args.stage)
        return
    work = Path(tempfile.mkdtemp(prefix="bench-stores-"))
    source = work / NAME
    generate(source, args.lines, "grouped")
    procs, rows = [], {}
    try:
        for kind in args.stores:
            env: dict[str, str] = {"SFTP_URL": f"file://{work / 'exchange'}"}
            root: Path | None = work / "exchange"
            if kind == "sftp":
                proc, env, root = start_sshd(work / "sshd")
                procs.append(proc)
            elif kind == "blob":
                proc, env = start_azurite(work)
                procs.append(proc)
                root = None
            runs = []
            for attempt in range(args.repeat):
                place(env, root, source)
                url = f"sqlite:///{work / f'{kind}-{attempt}.db'}"
                prepare(url)
                full = {**os.environ, **env, "JWT_SIGNING_KEY": "b" * 40, "SQL_URL": url}
                out = subprocess.run([sys.executable, __file__, "--stage", url], env=full, check=True,
                                     capture_output=True, text=True).stdout.strip().splitlines()[-1]  # fmt: skip
                runs.append(json.loads(out))
            rows[kind] = min(runs, key=lambda r: r["seconds"])
    finally:
        for proc in procs:
            proc.terminate()
    base = rows.get("file")
    print(f"\n{'store':<6} {'lines':>10} {'seconds':>8} {'lines/s':>10} {'vs file':>8} {'peak RSS MB':>12}")
    for kind, r in rows.items():
        ratio = f"{r['seconds'] / base['seconds']:.2f}x" if base else ""
        print(
            f"{kind:<6} {r['lines']:>10,} {r['seconds']:>8.2f} {r['lines'] / r['seconds']:>10,.0f} {ratio:>8} "
            f"{r['peak_rss_mb']:>12.0f}"
        )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
