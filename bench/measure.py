"""What the benchmarks measure besides time."""

from __future__ import annotations

import resource
import statistics
from pathlib import Path


def peak_rss_mb() -> float:
    """This process's own peak resident set (VmHWM). Not ru_maxrss: Linux keeps the larger of
    the parent's peak and the child's across fork + exec, so a stage started by a parent that
    had just loaded the data would report the parent's peak."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def median_p95(samples: list[float]) -> tuple[float, float]:
    """The median and the 95th percentile (nearest rank) of latency samples."""
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
