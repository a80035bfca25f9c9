"""Credit-line QR purchases (`/api/lending/...`) and the `qr_expiration` timer.

Distributors (scope `merchant`) register orders and scan QRs; the customer app (scope
`lending`) asks for the QR, submits both OTPs and fetches the QR image. Refusals answer
`{"error": code, "message", "correlationId"}` with the status of STATUS.
"""

from __future__ import annotations

import io
import re
from decimal import Decimal
from typing import Annotated, Any

import azure.functions as func
import segno
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, WithJsonSchema

import bootstrap
from blueprints.common import ApiError, Call, endpoint, exact_json_response, read_json, timer_process
from domain.amounts import amount_schema, parse_amount
from domain.auth import Scope
from domain.lending import LendingError
from domain.masking import allow, fields_of
from settings import get_settings
from sql.lending_repository import LendingRepository
from usecases.lending import (
    LendingConfig,
    confirm_payment,
    confirm_qr_otp,
    expire_qrs,
    register_order,
    request_qr,
    scan_qr,
    view,
)

bp = func.Blueprint()

STATUS = {
    "monto_invalido": 400, "qr_invalido": 400, "clabe_invalida": 400, "canal_desconocido": 404,
    "cliente_desconocido": 404, "orden_desconocida": 404, "compra_desconocida": 404, "qr_otro_canal": 403,
    "canal_no_autorizado": 403,
    "orden_duplicada": 409, "monto_distinto": 409, "orden_en_uso": 409, "transicion_invalida": 409, "qr_usado": 409,
    "qr_expirado": 410, "deuda_vencida": 422, "limite_insuficiente": 422, "moneda": 422, "cliente_sin_linea": 422,
    "otp_incorrecto": 422, "otp_expirado": 422, "otp_agotado": 422, "motor_credito_no_disponible": 503,
    "sms_no_enviado": 503, "linea_no_verificable": 503, "otp_limite_orden": 429, "otp_limite_diario": 429,
}  # fmt: skip

_ID = r"^[A-Za-z0-9_.\-]{1,40}$"
MAX_PURCHASE = Decimal("9999999999999.99")  # the dispersion file's importe: 15 digits of cents
Amount = Annotated[
    Decimal,
    BeforeValidator(lambda value: parse_amount(value, MAX_PURCHASE, lang="en")),  # domain/amounts.py
    WithJsonSchema(amount_schema(MAX_PURCHASE)),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrderRequest(_Body):
    orderId: str = Field(pattern=_ID)
    channel: str = Field(pattern=r"^[A-Z]{2,10}$")
    customerId: str = Field(pattern=_ID)
    amount: Amount
    concept: str = Field(min_length=1, max_length=80)


class QrRequest(_Body):
    orderId: str = Field(pattern=_ID)
    channel: str = Field(pattern=r"^[A-Z]{2,10}$")
    customerId: str = Field(pattern=_ID)
    amount: Amount


class OtpSubmission(_Body):
    customerId: str = Field(pattern=_ID)
    code: str = Field(pattern=r"^[0-9]{6}$")


class Scan(_Body):
    channel: str = Field(pattern=r"^[A-Z]{2,10}$")
    payload: str = Field(min_length=1, max_length=4000)


def _parse(model: type[BaseModel], req: func.HttpRequest) -> Any:
    try:
        return model.model_validate(read_json(req))
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"]) or "body"
        message = str(error["msg"]).removeprefix("Value error, ")
        raise ApiError(400, "invalid_request", f"{field}: {message}", field=field) from None


def _run(call: Call, work: Any, status: int = 200) -> func.HttpResponse:
    try:
        body = work()
    except LendingError as exc:
        call.log_fields["ErrorCode"] = exc.code
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        raise ApiError(STATUS.get(exc.code, 400), exc.code, exc.message, headers=headers) from None
    return exact_json_response(body, status)


_PURCHASE_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _purchase_id(req: func.HttpRequest) -> str:
    """The route's purchase id; one that is no UUID (a NUL, a quote...) names no purchase: 404."""
    purchase = req.route_params.get("purchaseId", "")
    if not _PURCHASE_ID.fullmatch(purchase):
        raise ApiError(404, "compra_desconocida", "no such purchase", field="purchaseId")
    return purchase


def _client(call: Call) -> str:
    assert call.principal is not None
    return call.principal.client_id


def _as_channel(call: Call, channel: str) -> None:
    """A distributor's client acts for its own channel only (`create-client --channels KOF`)."""
    assert call.principal is not None
    if not call.principal.may_act_as_channel(channel):
        bound = ",".join(sorted(call.principal.channels or ())) or "none"
        call.log_fields["ErrorCode"] = "canal_no_autorizado"
        raise ApiError(403, "canal_no_autorizado",
                       f"client {call.principal.client_id} may act for channel(s) {bound}, not {channel}",
                       field="channel")  # fmt: skip


@bp.route(route="lending/orders", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@endpoint(Scope.MERCHANT, log_fields=lambda: fields_of(OrderRequest))
def lending_orders(req: func.HttpRequest, call: Call) -> func.HttpResponse:
    """A distributor registers a payment order for a customer (201; the same order again 200)."""
    order = _parse(OrderRequest, req)
    _as_channel(call, order.channel)
    try:
        body, created = register_order(bootstrap.engine(), order.channel, order.orderId, order.customerId,
                                       order.amount, order.concept, _client(call), bootstrap.utc_now())  # fmt: skip
    except LendingError as exc:
        raise ApiError(STATUS.get(exc.code, 400), exc.code, exc.message) from None
    return exact_json_response(body, 201 if created else 200)


@bp.route(route="lending/qr-requests", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@endpoint(Scope.LENDING, log_fields=lambda: fields_of(QrRequest))
def lending_qr_request(req: func.HttpRequest, call: Call) -> func.HttpResponse:
    """The customer asks for a QR: credit check against Mambu less the held amounts, then OTP #1 by SMS."""
    ask = _parse(QrRequest, req)
    return _run(call, lambda: request_qr(
        bootstrap.engine(), bootstrap.credit_engine(), bootstrap.sms_sender(), bootstrap.lending_config(),
        ask.channel, ask.orderId, ask.customerId, ask.amount, bootstrap.utc_now,
    ), 201)  # fmt: skip


@bp.route(route="lending/purchases/{purchaseId}/otp", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@endpoint(Scope.LENDING, log_fields=lambda: fields_of(OtpSubmission))
def lending_qr_otp(req: func.HttpRequest, call: Call) -> func.HttpResponse:
    """OTP #1: the signed QR payload (its image at GET .../qr)."""
    otp = _parse(OtpSubmission, req)
    purchase = _purchase_id(req)
    return _run(call, lambda: confirm_qr_otp(bootstrap.engine(), bootstrap.lending_config(), purchase,
                                             otp.customerId, otp.code, bootstrap.utc_now))  # fmt: skip


@bp.route(route="lending/purchases/{purchaseId}/qr", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@endpoint(Scope.LENDING, log_query=allow("format"))
def lending_qr_image(req: func.HttpRequest, call: Call) -> func.HttpResponse:
    """The QR as an image: ?format=svg (default) or png."""
    kind = (req.params.get("format") or "svg").lower()
    if kind not in ("svg", "png"):
        raise ApiError(400, "invalid_request", "format must be svg or png")
    with bootstrap.engine().connect() as conn:
        purchase = LendingRepository(conn).purchase(_purchase_id(req))
    if purchase is None or not purchase.payload:
        raise ApiError(404, "compra_desconocida", "no QR was issued for this purchase")
    out = io.BytesIO()
    segno.make(purchase.payload, error="m").save(out, kind=kind, scale=6)
    return func.HttpResponse(out.getvalue(), mimetype="image/svg+xml" if kind == "svg" else "image/png")


@bp.route(route="lending/scans", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@endpoint(Scope.MERCHANT, log_fields=lambda: fields_of(Scan))
def lending_scan(req: func.HttpRequest, call: Call) -> func.HttpResponse:
    """The distributor's agent sends what it read from the QR; OTP #2 goes to the customer."""
    scan = _parse(Scan, req)
    _as_channel(call, scan.channel)
    return _run(call, lambda: scan_qr(bootstrap.engine(), bootstrap.sms_sender(), bootstrap.lending_config(),
                                      scan.payload, scan.channel, bootstrap.utc_now))  # fmt: skip


@bp.route(route="lending/purchases/{purchaseId}/confirm", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@endpoint(Scope.LENDING, log_fields=lambda: fields_of(OtpSubmission))
def lending_confirm(req: func.HttpRequest, call: Call) -> func.HttpResponse:
    """OTP #2, then the final credit check: APPROVED (ready for disbursement) or REJECTED."""
    otp = _parse(OtpSubmission, req)
    purchase = _purchase_id(req)
    return _run(call, lambda: confirm_payment(bootstrap.engine(), bootstrap.credit_engine(),
                                              bootstrap.lending_config(), purchase, otp.customerId, otp.code,
                                              bootstrap.utc_now))  # fmt: skip


@bp.route(route="lending/purchases/{purchaseId}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@endpoint(Scope.LENDING)
def lending_purchase(req: func.HttpRequest, call: Call) -> func.HttpResponse:
    """A purchase as it is now."""
    with bootstrap.engine().connect() as conn:
        purchase = LendingRepository(conn).purchase(_purchase_id(req))
    if purchase is None:
        raise ApiError(404, "compra_desconocida", "no such purchase")
    return exact_json_response(view(purchase))


@bp.timer_trigger(schedule="%QR_EXPIRATION_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True)
@timer_process("qr_expiration")
def qr_expiration(timer: func.TimerRequest) -> dict:
    """Every QR_EXPIRATION_SCHEDULE (default every minute): purchases before money can move
    (waiting for OTP #1, a pending QR, waiting for OTP #2) past their deadline expire."""
    settings = get_settings()  # not bootstrap.lending_config(): expiring needs no signing key
    waits = LendingConfig(b"", settings.lending_qr_validity_minutes, settings.lending_otp_ttl_minutes)
    return {"Expired": expire_qrs(bootstrap.engine(), bootstrap.utc_now, waits.longest_wait)}
