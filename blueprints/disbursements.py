"""Timer: dispersion files of the approved credit-line purchases to the bank's exchange folder."""

import azure.functions as func

import bootstrap
from blueprints.common import log_process, timer_process
from usecases.disbursements import PENDING_FOLDER, DispatchResult, dispatch_disbursements

bp = func.Blueprint()
PROCESS = "disbursement_dispatch"


def run_dispatch() -> list[DispatchResult]:
    started = bootstrap.utc_now()
    results = dispatch_disbursements(bootstrap.engine(), bootstrap.file_store(), bootstrap.utc_now)
    for r in results:
        log_process(PROCESS, started, 0.0, Kind="file", File=f"{PENDING_FOLDER}/{r.file_name}", Records=r.records,
                    TotalMXN=f"{r.total_cents // 100}.{r.total_cents % 100:02d}",
                    Outcome="RECUPERADO" if r.recovered else "ESCRITO")  # fmt: skip
    return results


@bp.timer_trigger(schedule="%DISBURSEMENT_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True)
@timer_process(PROCESS)
def disbursement_dispatch(timer: func.TimerRequest) -> dict:
    """Every DISBURSEMENT_SCHEDULE: one dispersion file with every approved purchase not yet sent."""
    results = run_dispatch()
    return {"Kind": "run", "Files": len(results), "Records": sum(r.records for r in results)}
