"""Judge a debt file's lines in a second process while the loader stores the ones before.

Parsing and checking a line (domain/debt_lines.py) costs about what SQL costs to store it;
on a machine with a spare core the two overlap: the loader reads blocks from the file port
(any adapter) and a feeder thread pipes them to a child Python; the child answers each block
with its Verdicts, in order; the loader stores them. Nothing else changes: one transaction,
the same verdicts (the same code on the same blocks), the same .ERR.

The child is a plain `python -c` with the parent's import path (no multiprocessing: the
Functions worker's `__main__` must not be imported again), talks pickle over its stdin and
stdout, writes nothing anywhere and exits at the end of its input, so a parent that dies
(SIGKILL included) takes it along: its stdin closes. Memory stays bounded: a pipe holds
64 KiB, and each side holds at most a block or two.

`auto` uses it for files of at least WORKER_MIN_BYTES when two cores or more are ours (affinity
and a container's CPU quota: a one-vCPU plan gets no worker).
"""

from __future__ import annotations

import logging
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from domain import debt_lines
from domain.debt_lines import DetailJudge, Verdicts

log = logging.getLogger(__name__)

MODES = ("auto", "on", "off")
CPU_MAX = Path("/sys/fs/cgroup/cpu.max")  # cgroup v2: "<quota> <period>" or "max <period>"
WORKER_MIN_BYTES = 8 << 20  # about 40,000 lines: below this, starting a process costs more than it saves

_CHILD = (
    "import pickle, sys; sys.path[:] = pickle.load(sys.stdin.buffer); from usecases.line_worker import serve; serve()"
)


AHEAD = 4  # answered blocks waiting to be stored (memory: a few blocks)


class _Stop:
    """The child's answers ended before their end mark."""


@dataclass(frozen=True)
class _Done:
    """The child's end mark, with its peak resident memory (the benchmark adds it to the loader's)."""

    peak_rss_kib: int


last_peak_rss_kib = 0  # the last worker's, for bench/load_debts.py (0: none ran)


class WorkerFailed(RuntimeError):
    """The child stopped before answering every block (the file's transaction rolls back)."""


def use_worker(mode: str, size: int) -> bool:
    if mode == "on":
        return True
    if mode == "off":
        return False
    return size >= WORKER_MIN_BYTES and _cores() >= 2


def _cores() -> int:
    """CPUs this process may use: its affinity, and a container's CPU quota (cgroup v2
    `cpu.max`), which a plan with one vCPU sets while the host shows more."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        count = os.cpu_count() or 1
    try:
        quota, period = CPU_MAX.read_text().split()[:2]
        if quota != "max":
            count = min(count, max(1, int(quota) // int(period)))
    except (OSError, ValueError):
        pass
    return count


def judged(
    blocks: Iterable[tuple[int, list[bytes]]], update_type: str, currencies: Mapping[str, str], company: int,
    file_id: int, worker: bool,
) -> Iterator[Verdicts]:  # fmt: skip
    """The verdicts of `blocks`, in order; in a worker process if `worker`."""
    track = debt_lines.TRACKED_CLIENTS
    if not worker:
        judge = DetailJudge(update_type, currencies, company, file_id, track)
        for start, lines in blocks:
            yield judge.judge(start, lines)
        return
    yield from _Worker((update_type, dict(currencies), company, file_id, track)).run(blocks)


class _Worker:
    def __init__(self, spec: tuple) -> None:
        self.spec = spec
        self.failure: BaseException | None = None

    def run(self, blocks: Iterable[tuple[int, list[bytes]]]) -> Iterator[Verdicts]:
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True
        )
        assert child.stdin is not None and child.stdout is not None
        # Two threads keep both pipes moving while this one stores a batch: without the drain,
        # the child would wait on a full pipe (64 KiB) for as long as the batch takes.
        answers: queue.Queue[Verdicts | _Stop | None] = queue.Queue(maxsize=AHEAD)
        feeder = threading.Thread(target=self._feed, args=(child.stdin, blocks), name="line-feeder", daemon=True)
        drain = threading.Thread(target=self._drain, args=(child.stdout, answers), name="line-drain", daemon=True)
        try:
            feeder.start()
            drain.start()
            while not isinstance(verdicts := answers.get(), _Done):
                if isinstance(verdicts, _Stop):
                    feeder.join(timeout=5)
                    if self.failure is not None:
                        raise self.failure from None
                    raise WorkerFailed(f"the line worker exited with code {child.wait()}")
                yield verdicts
            global last_peak_rss_kib
            last_peak_rss_kib = verdicts.peak_rss_kib
            feeder.join()
            if self.failure is not None:
                raise self.failure
        finally:
            if child.poll() is None:
                child.kill()
            child.wait()
            while drain.is_alive():  # unblock it if it waits on a full queue
                try:
                    answers.get(timeout=0.1)
                except queue.Empty:
                    pass
            child.stdout.close()
            feeder.join(timeout=5)

    @staticmethod
    def _drain(pipe: BinaryIO, answers: queue.Queue) -> None:
        """Runs in a thread: the child's answers into a short queue, then _Done (or _Stop)."""
        try:
            while not isinstance(verdicts := pickle.load(pipe), _Done):
                answers.put(verdicts)
            answers.put(verdicts)
        except Exception:  # noqa: BLE001 - EOF or a cut answer: the child is gone, run() says so
            answers.put(_Stop())

    def _feed(self, pipe: BinaryIO, blocks: Iterable[tuple[int, list[bytes]]]) -> None:
        """Runs in a thread: reading the file (through the port) and piping it overlap the rest."""
        try:
            pickle.dump(sys.path, pipe)
            pickle.dump(self.spec, pipe)
            for block in blocks:
                pickle.dump(block, pipe, protocol=5)
            pickle.dump(None, pipe)
            pipe.flush()
        except BrokenPipeError:
            pass  # the child is gone: the reader says why
        except BaseException as exc:  # noqa: BLE001 - handed to the loader's thread, raised there
            self.failure = exc
        finally:
            try:
                pipe.close()
            except OSError:
                pass


def serve(source: BinaryIO | None = None, sink: BinaryIO | None = None) -> None:
    """The child's loop: a spec, then blocks until None; a Verdicts per block, then _Done."""
    source = source or sys.stdin.buffer
    sink = sink or sys.stdout.buffer
    try:
        judge = DetailJudge(*pickle.load(source))
        while (block := pickle.load(source)) is not None:
            pickle.dump(judge.judge(*block), sink, protocol=5)
            sink.flush()
        pickle.dump(_Done(_peak_rss_kib()), sink)
        sink.flush()
    except (EOFError, BrokenPipeError):
        pass  # the loader is gone (or stopped early): nothing to finish


def _peak_rss_kib() -> int:
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
