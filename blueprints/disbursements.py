"""Timers of the disbursements (spec steps 23-31): dispersion files to the bank's exchange
folder, the bank's response files (with the retry files they cause), and the webhooks."""

import logging
from datetime import datetime

import azure.functions as func

import bootstrap
from adapters import telemetry
from adapters.webhook_http import HttpWebhookPoster
from blueprints.common import log_process, timer_process
from usecases.disbursement_responses import RESPONSES_FOLDER, ResponseResult, process_responses
from usecases.disbursements import (
    PENDING_FOLDER,
    RETRY_FOLDER,
    DispatchResult,
    dispatch_disbursements,
    folder,
    resend_dispersion,
)
from usecases.drawdowns import Booking, book_drawdowns
from usecases.webhooks import Delivery, deliver_webhooks

bp = func.Blueprint()
log = logging.getLogger("app.disbursements")
PROCESS = "disbursement_dispatch"
RESPONSES = "disbursement_responses"
WEBHOOKS = "webhook_delivery"
DRAWDOWNS = "drawdown_booking"


_OUTCOMES = {"written": "ESCRITO", "found": "YA_EN_CARPETA", "answered": "RESPONDIDO", "uncertain": "INCIERTO",
             "parked": "RETENIDO"}  # fmt: skip


def _log_alert(process: str, started: datetime, alert: str, **fields: object) -> None:
    """An alert is a ProcessLogs entity of its own (and a warning in the app's log), never only a count."""
    telemetry.count("lending.alerts", process=process)
    log.warning("%s", alert)
    log_process(process, started, 0.0, Kind="alert", Outcome="ALERTA", Alert=alert[:4000], **fields)


def _log_files(process: str, started: datetime, results: list[DispatchResult]) -> None:
    for r in results:
        kind = "disbursement" if process == PROCESS else "retry"
        outcome = "recovered" if r.recovered and r.outcome == "written" else r.outcome
        telemetry.count("files.written", kind=kind, outcome=outcome)
        label = "RECUPERADO" if r.recovered and r.outcome == "written" else _OUTCOMES.get(r.outcome, r.outcome)
        where = PENDING_FOLDER if kind == "disbursement" else RETRY_FOLDER
        log_process(process, started, 0.0, Kind="file", File=f"{where}/{r.file_name}", Records=r.records,
                    TotalMXN=f"{r.total_cents // 100}.{r.total_cents % 100:02d}", Outcome=label,
                    Alert=r.alert or "")  # fmt: skip
        if r.alert and r.outcome == "uncertain":  # raised by this run (a parked file's is repeated on its entity)
            _log_alert(process, started, r.alert, File=f"{where}/{r.file_name}")


def run_dispatch() -> list[DispatchResult]:
    started = bootstrap.utc_now()
    results = dispatch_disbursements(bootstrap.engine(), bootstrap.file_store(), bootstrap.utc_now)
    _log_files(PROCESS, started, results)
    return results


def run_resend(name: str, bank_confirms_not_received: bool) -> DispatchResult:
    """`resend-dispersion`: a parked file offered again on the operator's word, logged as such."""
    started = bootstrap.utc_now()
    result = resend_dispersion(bootstrap.engine(), bootstrap.file_store(), name, bootstrap.utc_now,
                               bank_confirms_not_received)  # fmt: skip
    kind = "D" if name.startswith("DISP_") else "R"
    log_process(PROCESS if kind == "D" else RESPONSES, started, 0.0, Kind="file",
                File=f"{folder(kind)}/{result.file_name}", Records=result.records,
                TotalMXN=f"{result.total_cents // 100}.{result.total_cents % 100:02d}",
                Outcome="REENVIADO", Reason="the operator says the bank did not receive it")  # fmt: skip
    return result


def run_responses() -> tuple[list[ResponseResult], list[DispatchResult]]:
    started = bootstrap.utc_now()
    results, retry_files = process_responses(bootstrap.engine(), bootstrap.file_store(), bootstrap.utc_now,
                                             bootstrap.get_settings().disbursement_max_retries)  # fmt: skip
    for r in results:
        log_process(RESPONSES, started, 0.0, Kind="file", File=f"{RESPONSES_FOLDER}/{r.file_name}",
                    Outcome="YA_APLICADO" if r.already_applied else "APLICADO", Lines=r.lines,
                    Disbursed=r.disbursed, Retried=r.retried, Failed=r.failed, Malformed=r.malformed,
                    Unknown=r.unknown, Duplicates=r.duplicates, RetryFile=r.retry_file or "",
                    Problems=" | ".join(r.problems)[:4000], Alerts=len(r.alerts),
                    Taken=" ".join(r.taken)[:4000])  # fmt: skip
        for alert in r.alerts:
            _log_alert(RESPONSES, started, alert, File=f"{RESPONSES_FOLDER}/{r.file_name}")
    _log_files(RESPONSES, started, retry_files)
    return results, retry_files


def run_webhooks(event_id: str | None = None) -> list[Delivery]:
    started = bootstrap.utc_now()
    cfg = bootstrap.webhook_config()
    deliveries = deliver_webhooks(bootstrap.engine(), HttpWebhookPoster(cfg.timeout), cfg, bootstrap.utc_now,
                                  event_id)  # fmt: skip
    for d in deliveries:
        if d.state != "DELIVERED":
            telemetry.count("webhooks.failed", channel=d.channel, state=d.state)
        log_process(WEBHOOKS, started, 0.0, Kind="webhook", EventId=d.event_id, Channel=d.channel, Outcome=d.state,
                    Attempts=d.attempts, Status=d.status or 0, Error=d.error or "",
                    NextAttempt=d.next_attempt_at.isoformat() if d.next_attempt_at else "")  # fmt: skip
    return deliveries


def run_drawdowns(purchase_id: str | None = None) -> list[Booking]:
    started = bootstrap.utc_now()
    bookings = book_drawdowns(bootstrap.engine(), bootstrap.credit_engine(), bootstrap.utc_now, purchase_id)
    for b in bookings:
        log_process(DRAWDOWNS, started, 0.0, Kind="drawdown", PurchaseId=b.purchase_id, Customer=b.customer_id,
                    AmountMXN=str(b.amount), Outcome=b.state, Attempts=b.attempts,
                    MambuTransaction=b.transaction_id or "", Error=b.error or "",
                    NextAttempt=b.next_attempt_at.isoformat() if b.next_attempt_at else "")  # fmt: skip
    return bookings


@bp.timer_trigger(schedule="%DISBURSEMENT_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True)
@timer_process(PROCESS)
def disbursement_dispatch(timer: func.TimerRequest) -> dict:
    """Every DISBURSEMENT_SCHEDULE: one dispersion file with every approved purchase not yet sent."""
    results = run_dispatch()
    return {"Kind": "run", "Files": len(results), "Records": sum(r.records for r in results),
            "Alerts": sum(r.outcome == "uncertain" for r in results),
            "Held": sum(r.outcome in ("uncertain", "parked") for r in results)}  # fmt: skip


@bp.timer_trigger(schedule="%DISBURSEMENT_RESPONSES_SCHEDULE%", arg_name="timer", run_on_startup=False,
                  use_monitor=True)  # fmt: skip
@timer_process(RESPONSES)
def disbursement_responses(timer: func.TimerRequest) -> dict:
    """Every DISBURSEMENT_RESPONSES_SCHEDULE: apply each new response file once, write the retry file."""
    results, retry_files = run_responses()
    return {"Kind": "run", "Files": len(results), "Lines": sum(r.lines for r in results),
            "Disbursed": sum(r.disbursed for r in results), "Retried": sum(r.retried for r in results),
            "Failed": sum(r.failed for r in results),
            "Problems": sum(r.malformed + r.unknown + r.duplicates for r in results),
            "RetryFiles": len(retry_files), "Alerts": sum(len(r.alerts) for r in results)
            + sum(r.outcome == "uncertain" for r in retry_files)}  # fmt: skip


@bp.timer_trigger(schedule="%WEBHOOK_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True)
@timer_process(WEBHOOKS)
def webhook_delivery(timer: func.TimerRequest) -> dict:
    """Every WEBHOOK_SCHEDULE: post the due webhook events, signed; back off the ones that fail."""
    deliveries = run_webhooks()
    return {"Kind": "run", "Events": len(deliveries),
            "Delivered": sum(d.state == "DELIVERED" for d in deliveries),
            "GivenUp": sum(d.state == "FAILED" for d in deliveries),
            "Parked": sum(d.state == "PARKED" for d in deliveries)}  # fmt: skip


@bp.timer_trigger(schedule="%DRAWDOWN_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True)
@timer_process(DRAWDOWNS)
def drawdown_booking(timer: func.TimerRequest) -> dict:
    """Every DRAWDOWN_SCHEDULE: book in Mambu the credit the disbursed purchases consumed (never given up)."""
    bookings = run_drawdowns()
    return {"Kind": "run", "Drawdowns": len(bookings), "Booked": sum(b.state == "BOOKED" for b in bookings),
            "Waiting": sum(b.state == "PENDING" for b in bookings)}  # fmt: skip
