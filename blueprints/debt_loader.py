"""Timer: load the debt files companies left on the exchange folders (spec section 5)."""

from datetime import timedelta

import azure.functions as func

import bootstrap
from adapters import telemetry
from blueprints.common import log_process, timer_process
from domain.debts import cents_text
from settings import get_settings
from usecases.load_debts import FileResult, load_debts

bp = func.Blueprint()
PROCESS = "debt_loader"


def log_file(result: FileResult) -> None:
    """One ProcessLogs entity per file, beside the one for the run."""
    telemetry.count("debt.lines", result.applied, outcome="applied")
    telemetry.count("debt.lines", result.rejected, outcome="rejected")
    log_process(
        PROCESS, result.started_at, result.duration_ms,
        Kind="file", Company=f"{result.company:05d}", File=result.file_name, Outcome=result.outcome,
        UpdateType=result.update_type, Lines=result.lines, Applied=result.applied, Rejected=result.rejected,
        AppliedPEN=cents_text(result.applied_total_pen), AppliedUSD=cents_text(result.applied_total_usd),
        **({"Detail": result.detail} if result.detail else {}),
    )  # fmt: skip


def run_loader(company: int | None = None, progress=None) -> list[FileResult]:  # type: ignore[no-untyped-def]
    return load_debts(
        bootstrap.engine(), bootstrap.file_store(), bootstrap.utc_now,
        company=company, progress=progress, on_file=log_file,
        max_future=timedelta(minutes=get_settings().debt_file_max_future_minutes),
        line_worker=get_settings().debt_load_worker,
    )  # fmt: skip


@bp.timer_trigger(schedule="%DEBT_LOADER_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True)
@timer_process(PROCESS)
def debt_loader(timer: func.TimerRequest) -> dict:
    """Every DEBT_LOADER_SCHEDULE (default every 5 minutes): all companies, oldest file first."""
    results = run_loader()
    return {
        "Kind": "run",
        "Files": len(results),
        "Lines": sum(r.lines for r in results),
        "Applied": sum(r.applied for r in results),
        "Rejected": sum(r.rejected for r in results),
        "SetAside": sum(r.outcome == "APARTADO" for r in results),
        "Failed": sum(r.outcome == "FALLIDO" for r in results),
    }
