"""Debt files (spec section 5), spread across instances by a queue.

`debt_loader` (timer, every DEBT_LOADER_SCHEDULE) is a dispatcher: one message per company
with something in Pending/ on DEBT_QUEUE, naming the company and its oldest file. `debt_files`
(queue trigger) loads that company's pending files, oldest first, so an N file never passes the R
it follows; as many instances as the plan gives take companies in parallel, and two instances on
one company take turns on its lock. A duplicate or late message finds nothing to do. A run
stops between files when the host's function timeout is near and queues the company again.
`debt_file_arrived` (Event Grid, where the exchange is the SFTP-enabled storage account) queues
the company the moment a file lands in its Pending/ folder; the timer stays as the safety net.
`debt_files_poison` takes a message that failed maxDequeueCount times: the file it names is set
aside in Rejected/ with an .ERR, the run says why in ProcessLogs, and the company's other files
are queued again.
"""

from __future__ import annotations

import time
from datetime import timedelta

import azure.functions as func

import bootstrap
from adapters import telemetry
from adapters.files.port import FileNotFound, printable_name
from adapters.queues import decode
from blueprints.common import event_process, log_process, queue_process, timer_process
from blueprints.time_budget import deadline
from domain.debts import cents_text
from settings import get_settings
from sql.debt_repository import DebtRepository
from usecases.load_debts import (
    Budget,
    FileResult,
    PendingWork,
    company_of_blob,
    load_debts,
    pending_folder,
    pending_work,
    rejected_folder,
)

bp = func.Blueprint()
PROCESS = "debt_loader"
FILES = "debt_files"
POISON = "debt_files_poison"


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


def run_loader(company: int | None = None, progress=None, budget: Budget | None = None) -> list[FileResult]:  # type: ignore[no-untyped-def]
    return load_debts(
        bootstrap.engine(), bootstrap.file_store(), bootstrap.utc_now,
        company=company, progress=progress, on_file=log_file,
        max_future=timedelta(minutes=get_settings().debt_file_max_future_minutes),
        line_worker=get_settings().debt_load_worker, budget=budget,
        settlement=timedelta(hours=get_settings().payment_file_settlement_hours),
    )  # fmt: skip


def _send(item: PendingWork) -> None:
    """The work message of a company: it and its oldest file, never data."""
    bootstrap.work_queues().send(get_settings().debt_queue,
                                 {"company": item.company, "file": item.oldest, "size": item.size})  # fmt: skip


def dispatch() -> dict:
    """One message per company with pending files (the timer, an operator, a blob event)."""
    return dispatch_and_warn()[0]


def dispatch_and_warn() -> tuple[dict, list]:
    """`dispatch`, and what the loader will not read (usecases/exchange_warnings.py), also named
    in the run's counts (its ProcessLogs entity)."""
    from usecases.exchange_warnings import exchange_warnings

    work = pending_work(bootstrap.engine(), bootstrap.file_store())
    for item in work:
        _send(item)
    counts = {"Kind": "dispatch", "Companies": len(work), "Files": sum(w.files for w in work),
              "Queue": get_settings().debt_queue}  # fmt: skip
    warnings = []
    try:
        warnings = exchange_warnings(bootstrap.engine(), bootstrap.file_store())
    except Exception as exc:  # noqa: BLE001 - the dispatch is done: a listing that failed is said, not raised
        counts["WarningsError"] = type(exc).__name__
    if warnings:
        counts |= {"Warnings": len(warnings), "WarningDetail": " | ".join(map(str, warnings))[:4000]}
    counts |= sweep_counts(sweep())
    return counts, warnings


def sweep() -> list:
    """The payment files the billers took from Pagos/ since the last look (usecases/payment_files.py
    sweep_taken): on every dispatch, so a take is seen within DEBT_LOADER_SCHEDULE."""
    from usecases.payment_files import sweep_taken

    try:
        return sweep_taken(bootstrap.engine(), bootstrap.file_store(), bootstrap.utc_now)
    except Exception as exc:  # noqa: BLE001 - the dispatch is done: a sweep that failed is said, not raised
        return [exc]


def sweep_counts(results: list) -> dict:
    """What a sweep adds to the dispatcher's ProcessLogs entity."""
    failed = [r for r in results if isinstance(r, Exception)]
    if failed:
        return {"SweepError": type(failed[0]).__name__}
    counts: dict = {"Taken": sum(len(r.taken) for r in results), "NotTaken": sum(r.waiting for r in results)}
    taken = [f"{r.company:05d}/Pagos/{name}" for r in results for name in r.taken]
    problems = [f"{r.company:05d}: {r.problem}" for r in results if r.problem]
    if taken:
        counts["TakenDetail"] = " ".join(taken)[:4000]
    if problems:
        counts["SweepProblems"] = " | ".join(problems)[:4000]
    return counts


@bp.timer_trigger(schedule="%DEBT_LOADER_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True)
@timer_process(PROCESS)
def debt_loader(timer: func.TimerRequest) -> dict:
    """Every DEBT_LOADER_SCHEDULE (default every 5 minutes): queue each company with pending files."""
    return dispatch()


def _company(msg: func.QueueMessage) -> tuple[int, dict]:
    try:
        body = decode(msg.get_body())
        company = body["company"]
        if not isinstance(company, int) or not 1 <= company <= 99999:
            raise ValueError(f"company {company!r} is not a company code")
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a debt work message: {exc}") from None
    return company, body


@bp.queue_trigger(arg_name="msg", queue_name="%DEBT_QUEUE%", connection="AzureWebJobsStorage")
@queue_process(FILES)
def debt_files(msg: func.QueueMessage) -> dict:
    """One company's pending debt files, oldest first, within the invocation's time budget."""
    started = time.monotonic()
    company, _ = _company(msg)
    budget = Budget(deadline(started))
    results = run_loader(company, budget=budget)
    if budget.stopped:  # the rest waits in Pending/: a new message, not a retry of this one
        dispatch_company(company)
    failed = [r for r in results if r.outcome == "FALLIDO"]
    counts = {
        "Company": f"{company:05d}", "Files": len(results), "Lines": sum(r.lines for r in results),
        "Applied": sum(r.applied for r in results), "Rejected": sum(r.rejected for r in results),
        "Requeued": budget.stopped,
    }  # fmt: skip
    if failed:  # retried by the host after visibilityTimeout; poison after maxDequeueCount
        raise RuntimeError(f"{len(failed)} file(s) failed: {failed[0].file_name}: {failed[0].detail}")
    return counts


def dispatch_company(company: int) -> bool:
    for item in pending_work(bootstrap.engine(), bootstrap.file_store()):
        if item.company == company:
            _send(item)
            return True
    return False


@bp.queue_trigger(arg_name="msg", queue_name="%DEBT_QUEUE%-poison", connection="AzureWebJobsStorage")
@queue_process(POISON)
def debt_files_poison(msg: func.QueueMessage) -> dict:
    """A company's message that failed maxDequeueCount times: its file goes to Rejected/ with an
    .ERR saying so, and the company's other files are queued again."""
    try:
        company, body = _company(msg)
    except ValueError as exc:  # nothing to set aside or queue again: said in ProcessLogs, then dropped
        return {"Result": "dropped", "Detail": str(exc)[:500]}
    name = str(body.get("file") or "")
    store, now = bootstrap.file_store(), bootstrap.utc_now()
    moved = False
    if name and printable_name(name) == name and "/" not in name:
        target = f"{rejected_folder(company)}/{name}.{now.strftime('%Y%m%dT%H%M%S%fZ')}"
        with bootstrap.engine().begin() as conn:  # the company's lock: no run is loading it meanwhile
            repo = DebtRepository(conn)
            repo.lock_company(company)
            if repo.find_file(company, name) is None:  # committed ones are finished by the next run
                try:
                    store.move(f"{pending_folder(company)}/{name}", target)
                    moved = True
                except FileNotFound:
                    pass  # loaded or moved meanwhile: nothing to set aside
        if moved:
            reason = (f"{name} no se pudo procesar tras varios intentos (la carga fallo o excedio el tiempo); "
                      f"se aparta sin aplicar. Detalle en ProcessLogs {FILES} del {now:%Y-%m-%d}")  # fmt: skip
            store.write_atomic(target + ".ERR", f"000000000|archivo|{reason}|\r\n".encode("ascii", "replace"))
            log_process(POISON, now, 0.0, Kind="file", Company=f"{company:05d}", File=name, Outcome="APARTADO",
                        Detail=reason)  # fmt: skip
    # the files after it may load now; when nothing was set aside, the next tick decides (no loop
    # of poison and re-queue while, say, the company's folder cannot be listed)
    requeued = dispatch_company(company) if moved else False
    return {"Company": f"{company:05d}", "File": name, "SetAside": moved, "Requeued": requeued}


# what Event Grid reports when a file is complete in the exchange (SftpCreate is the empty file)
COMPLETE_APIS = frozenset({"SftpCommit", "PutBlob", "PutBlockList", "FlushWithClose", "CopyBlob"})


@bp.event_grid_trigger(arg_name="event")
@event_process("debt_file_arrived")
def debt_file_arrived(event: func.EventGridEvent) -> dict:
    """A blob created in a company's Deudas/Pending/: the company is queued now, not at the next tick."""
    data = event.get_json() if callable(getattr(event, "get_json", None)) else {}
    api = str((data or {}).get("api") or "")
    if event.event_type != "Microsoft.Storage.BlobCreated" or api not in COMPLETE_APIS:
        return {"Result": "ignored", "Api": api}
    company = company_of_blob(event.subject or "", get_settings().sftp_url)
    if company is None:
        return {"Result": "ignored: not a Pending/ file of the exchange"}
    queued = dispatch_company(company)
    return {"Company": f"{company:05d}", "Result": "queued" if queued else "nothing pending (a registered company?)"}
