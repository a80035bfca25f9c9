"""Payment files (spec section 6) to each company's Pagos/ folder, spread across instances.

`payment_file_generator` (timer, every PAYMENT_FILE_SCHEDULE) is a dispatcher: one message per
company with records in no file yet on PAYMENT_QUEUE; `payment_files` (queue trigger) writes that
company's file. A duplicate message finds nothing to file. `payment_files_poison` records in
ProcessLogs a message that failed maxDequeueCount times; the records stay pending, so the next
tick queues the company again (an operator can also `manage.py poison --queue ... --requeue`).
"""

import azure.functions as func

import bootstrap
from adapters import telemetry
from adapters.queues import decode
from blueprints.common import log_process, queue_process, timer_process
from domain.debts import cents_text
from settings import get_settings
from usecases.payment_files import PaymentFileResult, companies_with_work, generate_payment_files

bp = func.Blueprint()
PROCESS = "payment_file_generator"


def log_file(result: PaymentFileResult) -> None:
    telemetry.count("files.written", kind="payment", outcome=result.outcome)
    log_process(
        PROCESS, result.started_at, result.duration_ms,
        Kind="file", Company=f"{result.company:05d}", File=result.file_name, Outcome=result.outcome,
        Records=result.records, TotalPEN=cents_text(result.total_pen), TotalUSD=cents_text(result.total_usd),
        Payments=result.payments, Reversals=result.reversals, ReversedPEN=cents_text(result.reversed_pen),
        ReversedUSD=cents_text(result.reversed_usd),
    )  # fmt: skip


def run_generator(**options) -> list[PaymentFileResult]:  # type: ignore[no-untyped-def]
    return generate_payment_files(
        bootstrap.engine(), bootstrap.file_store(), bootstrap.utc_now, on_file=log_file, **options
    )


def dispatch() -> dict:
    queue = get_settings().payment_queue
    companies = companies_with_work(bootstrap.engine())
    for company in companies:
        bootstrap.work_queues().send(queue, {"company": company})
    return {"Kind": "dispatch", "Companies": len(companies), "Queue": queue}


@bp.timer_trigger(schedule="%PAYMENT_FILE_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True)
@timer_process(PROCESS)
def payment_file_generator(timer: func.TimerRequest) -> dict:
    """Every PAYMENT_FILE_SCHEDULE (default every 15 minutes): queue each company with news."""
    return dispatch()


def _company(msg: func.QueueMessage) -> int:
    try:
        company = decode(msg.get_body())["company"]
        if not isinstance(company, int) or not 1 <= company <= 99999:
            raise ValueError(f"company {company!r} is not a company code")
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a payment work message: {exc}") from None
    return company


@bp.queue_trigger(arg_name="msg", queue_name="%PAYMENT_QUEUE%", connection="AzureWebJobsStorage")
@queue_process("payment_files")
def payment_files(msg: func.QueueMessage) -> dict:
    """One company's payment file: every record booked and in no file yet."""
    company = _company(msg)
    results = run_generator(company=company)
    return {"Company": f"{company:05d}", "Files": len(results), "Records": sum(r.records for r in results)}


@bp.queue_trigger(arg_name="msg", queue_name="%PAYMENT_QUEUE%-poison", connection="AzureWebJobsStorage")
@queue_process("payment_files_poison")
def payment_files_poison(msg: func.QueueMessage) -> dict:
    """Said in ProcessLogs (its records stay pending for the next tick), then dropped."""
    try:
        return {"Company": f"{_company(msg):05d}", "Result": "dropped; the next tick queues the company again"}
    except ValueError as exc:
        return {"Result": "dropped", "Detail": str(exc)[:500]}
