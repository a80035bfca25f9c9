"""Timer: write the payment files (spec section 6) to each company's Pagos/ folder."""

import azure.functions as func

import bootstrap
from adapters import telemetry
from blueprints.common import log_process, timer_process
from domain.debts import cents_text
from usecases.payment_files import PaymentFileResult, generate_payment_files

bp = func.Blueprint()
PROCESS = "payment_file_generator"


def log_file(result: PaymentFileResult) -> None:
    telemetry.count("files.written", kind="payment", outcome=result.outcome)
    log_process(
        PROCESS, result.started_at, result.duration_ms,
        Kind="file", Company=f"{result.company:05d}", File=result.file_name, Outcome=result.outcome,
        Records=result.records, TotalPEN=cents_text(result.total_pen), TotalUSD=cents_text(result.total_usd),
    )  # fmt: skip


def run_generator(**options) -> list[PaymentFileResult]:  # type: ignore[no-untyped-def]
    return generate_payment_files(
        bootstrap.engine(), bootstrap.file_store(), bootstrap.utc_now, on_file=log_file, **options
    )


@bp.timer_trigger(schedule="%PAYMENT_FILE_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True)
@timer_process(PROCESS)
def payment_file_generator(timer: func.TimerRequest) -> dict:
    """Every PAYMENT_FILE_SCHEDULE (default every 15 minutes): one file per company with news."""
    results = run_generator()
    return {"Kind": "run", "Files": len(results), "Records": sum(r.records for r in results)}
