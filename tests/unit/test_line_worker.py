"""The line worker answers exactly what the loader's own process would, and fails loudly."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.debt_lines import Overlong, overlong
from tests.testdata.debts.build_inputs import detail
from usecases import line_worker
from usecases.line_worker import WorkerFailed, judged, use_worker

CURRENCIES = {"001": "1", "002": "2", "003": "1"}

GOOD = [detail(codigo_cliente=f"C{c:04d}", num_documento=f"F{d:03d}") for c in range(3) for d in range(3)]


def blocks_of(lines: list[bytes], size: int) -> list[tuple[int, list[bytes]]]:
    return [(2 + i, lines[i : i + size]) for i in range(0, len(lines), size)]


def both(kind: str, blocks: list[tuple[int, list[bytes]]]) -> tuple[list, list]:
    inline = list(judged(blocks, kind, CURRENCIES, 730, 7, worker=False))
    worker = list(judged(blocks, kind, CURRENCIES, 730, 7, worker=True))
    return inline, worker


def _splice(raw: bytes, at: int, junk: bytes) -> bytes:
    return raw[:at] + junk + raw[at + len(junk) :]


LINES = st.lists(
    st.one_of(
        st.sampled_from(GOOD),
        st.builds(_splice, st.sampled_from(GOOD), st.integers(0, 209), st.binary(min_size=1, max_size=3)),
        st.binary(max_size=230),
        st.builds(overlong, st.binary(min_size=1, max_size=50), st.integers(70_000, 10**9)),
    ),
    max_size=30,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=LINES, size=st.integers(1, 7), kind=st.sampled_from("RN"))
def test_the_worker_answers_what_the_loader_would(lines: list[bytes], size: int, kind: str) -> None:
    """Any bytes, cut into blocks anywhere: the same rows, errors, sums and order state."""
    inline, worker = both(kind, blocks_of(lines, size))
    assert worker == inline


def test_a_cut_line_keeps_its_length_across_the_pipe() -> None:
    (verdicts,) = list(judged([(2, [overlong(b"N" * 300, 123_456)])], "R", CURRENCIES, 730, 7, worker=True))
    (errors, raw), = verdicts.refused  # fmt: skip
    assert isinstance(raw, Overlong) and raw.length == 123_456
    assert "longitud 123456 sin salto de linea" in errors[0].reason


def test_a_read_error_is_raised_as_it_was() -> None:
    def failing() -> Iterator[tuple[int, list[bytes]]]:
        yield 2, GOOD[:3]
        raise OSError("connection lost")

    with pytest.raises(OSError, match="connection lost"):
        list(judged(failing(), "R", CURRENCIES, 730, 7, worker=True))


def test_a_worker_that_dies_fails_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(line_worker, "_CHILD", "import sys; sys.stdin.buffer.read(10); sys.exit(3)")
    with pytest.raises(WorkerFailed, match="code 3"):
        list(judged(blocks_of(GOOD, 2), "R", CURRENCIES, 730, 7, worker=True))


def test_stopping_early_stops_the_worker() -> None:
    answers = judged(blocks_of(GOOD * 50, 5), "R", CURRENCIES, 730, 7, worker=True)
    assert next(answers).lines == 5
    answers.close()  # the loader's transaction failed: the child is killed and reaped, no thread left waiting
    import threading

    assert not [t for t in threading.enumerate() if t.name in ("line-feeder", "line-drain") and t.is_alive()]


def test_auto_takes_the_worker_for_big_files_on_two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(line_worker, "_cores", lambda: 2)
    assert use_worker("auto", line_worker.WORKER_MIN_BYTES) and not use_worker("auto", 1000)
    monkeypatch.setattr(line_worker, "_cores", lambda: 1)
    assert not use_worker("auto", 10**9)
    assert use_worker("on", 0) and not use_worker("off", 10**9)


def test_clients_that_come_back_are_named_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Untracked clients that come back: the loader checks their order (and only theirs)
    set-based, by their index. Tracked ones are judged in memory and named nowhere."""
    from domain import debt_lines

    monkeypatch.setattr(debt_lines, "TRACKED_CLIENTS", 0)
    a1, b1, a2, a3 = (detail(codigo_cliente=c, num_documento=d) for c, d in
                      (("A", "F001"), ("B", "F001"), ("A", "F002"), ("A", "F003")))  # fmt: skip
    for worker in (False, True):
        first, second = judged([(2, [a1, b1]), (4, [a2, a3, b1])], "R", CURRENCIES, 730, 7, worker=worker)
        assert not first.suspect and first.suspects == []
        assert second.suspect and second.suspects == ["A", "B"] and second.suspect_lines == 3

    monkeypatch.setattr(debt_lines, "TRACKED_CLIENTS", 10)
    for worker in (False, True):
        _, second = judged([(2, [a1, b1]), (4, [a2, a3, b1])], "R", CURRENCIES, 730, 7, worker=worker)
        assert not second.suspect and second.suspects == []
        assert [e.reason for errors, _ in second.refused for e in errors] == ["documento repetido para el cliente"]


@pytest.mark.parametrize(("cpu_max", "most"), [("max 100000", 64), ("100000 100000", 1), ("250000 100000", 2),
                                               ("50000 100000", 1), ("garbage", 64)])  # fmt: skip
def test_a_container_cpu_quota_counts(tmp_path, monkeypatch: pytest.MonkeyPatch, cpu_max: str, most: int) -> None:
    """A plan with one vCPU shows the host's CPUs: the quota decides (no worker on one core)."""
    (tmp_path / "cpu.max").write_text(cpu_max + "\n")
    monkeypatch.setattr(line_worker, "CPU_MAX", tmp_path / "cpu.max")
    monkeypatch.setattr(line_worker.os, "sched_getaffinity", lambda _pid: set(range(64)))
    assert line_worker._cores() == most
