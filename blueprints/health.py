"""Liveness and readiness: answers 200 when the database answers and, in Azure, no setting
holds a local default (settings.LOCAL_ONLY: each one named with what is wrong). `checks` gives
every dependency with its latency (blueprints/dependencies.py); one that is down other than
the database makes the status `degraded`, still 200: the instance itself is fine, and Azure's
health check would otherwise replace healthy instances during a partner's outage."""

import azure.functions as func
import sqlalchemy as sa

import bootstrap
from blueprints.common import Call, endpoint, json_response
from blueprints.dependencies import check_all
from settings import SettingsError, get_settings

bp = func.Blueprint()


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@endpoint(log_call=False)
def health(req: func.HttpRequest, call: Call) -> func.HttpResponse:
    """Not logged to ApiLogs: load balancers call it every few seconds."""
    try:
        wrong = get_settings().local_defaults()
    except SettingsError as exc:  # a setting that does not even parse
        return json_response({"status": "unavailable", "settings": str(exc)}, 503)
    extra = {"settings": wrong} if wrong else {}
    try:
        with bootstrap.engine().connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any database failure means not ready
        return json_response({"status": "unavailable", "database": type(exc).__name__, **extra}, 503)
    if wrong:
        return json_response({"status": "unavailable", "database": "ok", **extra}, 503)
    checks = check_all()
    status = "ok" if all(c["status"] == "ok" for c in checks.values()) else "degraded"
    return json_response({"status": status, "database": "ok", "time": call.started.isoformat(), "checks": checks})


@bp.route(route="ping", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def ping(req: func.HttpRequest) -> func.HttpResponse:
    """Liveness: answers without touching anything (and the ceiling in the API benchmark)."""
    return func.HttpResponse('{"pong": true}', mimetype="application/json")
