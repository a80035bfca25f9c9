"""Every function the app registers, as the Functions host will index it: a lost one fails here."""

from __future__ import annotations

import typing

import azure.functions as func

import function_app
from local_host.registry import functions_of

# name -> (trigger, route / schedule / queue, methods, auth level / connection)
EXPECTED = {
    "health": ("httpTrigger", "health", ["GET"], "anonymous"),
    "ping": ("httpTrigger", "ping", ["GET"], "anonymous"),
    "auth_token": ("httpTrigger", "auth/token", ["POST"], "anonymous"),
    "yapago_autenticar": ("httpTrigger", "yapago/autenticar", ["POST"], "anonymous"),
    "auth_me": ("httpTrigger", "auth/me", ["GET"], "anonymous"),
    "yapago_consulta": ("httpTrigger", "yapago/consulta", ["POST"], "anonymous"),
    "yapago_pago": ("httpTrigger", "yapago/pago", ["POST"], "anonymous"),
    "yapago_reversa": ("httpTrigger", "yapago/reversa", ["POST"], "anonymous"),
    "yapago_openapi": ("httpTrigger", "yapago/openapi.json", ["GET"], "anonymous"),
    "collections_agreement": ("httpTrigger", "collections-management/v1/agreement/ics", ["GET"], "anonymous"),
    "collections_negotiations": ("httpTrigger", "collections-management/v1/negotiations", ["POST"], "anonymous"),
    "collections_profile": ("httpTrigger", "collections-management/v1/negotiations/profile", ["POST"], "anonymous"),
    "collections_policies": ("httpTrigger", "collections-management/v1/negotiations/policies", ["POST"], "anonymous"),
    "collections_collection": ("httpTrigger", "collections-management/v1/collection", ["POST"], "anonymous"),
    "collections_openapi": ("httpTrigger", "collections-management/v1/openapi.json", ["GET"], "anonymous"),
    "collections_unknown": ("httpTrigger", "collections-management/v1/{*rest}", [], "anonymous"),  # 404/405
    "lending_orders": ("httpTrigger", "lending/orders", ["POST"], "anonymous"),
    "lending_qr_request": ("httpTrigger", "lending/qr-requests", ["POST"], "anonymous"),
    "lending_qr_otp": ("httpTrigger", "lending/purchases/{purchaseId}/otp", ["POST"], "anonymous"),
    "lending_qr_image": ("httpTrigger", "lending/purchases/{purchaseId}/qr", ["GET"], "anonymous"),
    "lending_scan": ("httpTrigger", "lending/scans", ["POST"], "anonymous"),
    "lending_confirm": ("httpTrigger", "lending/purchases/{purchaseId}/confirm", ["POST"], "anonymous"),
    "lending_purchase": ("httpTrigger", "lending/purchases/{purchaseId}", ["GET"], "anonymous"),
    "qr_expiration": ("timerTrigger", "%QR_EXPIRATION_SCHEDULE%", None, None),
    "disbursement_dispatch": ("timerTrigger", "%DISBURSEMENT_SCHEDULE%", None, None),
    "disbursement_responses": ("timerTrigger", "%DISBURSEMENT_RESPONSES_SCHEDULE%", None, None),
    "webhook_delivery": ("timerTrigger", "%WEBHOOK_SCHEDULE%", None, None),
    "drawdown_booking": ("timerTrigger", "%DRAWDOWN_SCHEDULE%", None, None),
    "debt_loader": ("timerTrigger", "%DEBT_LOADER_SCHEDULE%", None, None),
    "payment_file_generator": ("timerTrigger", "%PAYMENT_FILE_SCHEDULE%", None, None),
    "debt_files": ("queueTrigger", "%DEBT_QUEUE%", None, "AzureWebJobsStorage"),
    "debt_files_poison": ("queueTrigger", "%DEBT_QUEUE%-poison", None, "AzureWebJobsStorage"),
    "payment_files": ("queueTrigger", "%PAYMENT_QUEUE%", None, "AzureWebJobsStorage"),
    "debt_file_arrived": ("eventGridTrigger", None, None, None),
    "payment_files_poison": ("queueTrigger", "%PAYMENT_QUEUE%-poison", None, "AzureWebJobsStorage"),
    # the operations console: anonymous at the host, its own session check (blueprints/console_session.py)
    "console_login": ("httpTrigger", "console/login", ["GET", "POST"], "anonymous"),
    "console_logout": ("httpTrigger", "console/logout", ["POST"], "anonymous"),
    "console_overview": ("httpTrigger", "console", ["GET"], "anonymous"),
    "console_billers": ("httpTrigger", "console/billers", ["GET"], "anonymous"),
    "console_yapago": ("httpTrigger", "console/yapago", ["GET"], "anonymous"),
    "console_lending": ("httpTrigger", "console/lending", ["GET"], "anonymous"),
    "console_queues": ("httpTrigger", "console/queues", ["GET"], "anonymous"),
    "console_replay_webhook": ("httpTrigger", "console/webhooks/{event_id}/replay", ["POST"], "anonymous"),
    "console_requeue": ("httpTrigger", "console/queues/{queue}/requeue", ["POST"], "anonymous"),
}


def _describe(function: typing.Any) -> tuple[str, str, list[str] | None, str | None]:
    trigger = function.get_trigger()
    kind = trigger.get_binding_name()
    if kind == "httpTrigger":
        methods = sorted(str(getattr(m, "value", m)) for m in trigger.methods or [])
        level = getattr(trigger.auth_level, "value", trigger.auth_level)
        return kind, trigger.route, methods, level
    if kind == "queueTrigger":
        return kind, trigger.queue_name, None, trigger.connection
    if kind == "eventGridTrigger":
        return kind, None, None, None
    return kind, trigger.schedule, None, None


def test_every_function_is_registered_as_expected() -> None:
    found = {f.get_function_name(): _describe(f) for f in functions_of(function_app.app)}
    assert found == EXPECTED


def test_bindings_resolve_to_real_types() -> None:
    """The Python worker resolves annotations with get_type_hints; strings would fail indexing."""
    for function in functions_of(function_app.app):
        hints = typing.get_type_hints(function.get_user_function())
        trigger = function.get_trigger()
        expected = {"httpTrigger": func.HttpRequest, "queueTrigger": func.QueueMessage,
                    "eventGridTrigger": func.EventGridEvent}.get(
            trigger.get_binding_name(), func.TimerRequest)
        assert hints[trigger.name] is expected, function.get_function_name()


def test_function_json_is_generated() -> None:
    """The host reads each function's bindings as JSON; building it must not fail."""
    for function in functions_of(function_app.app):
        assert '"bindings"' in function.get_function_json()
