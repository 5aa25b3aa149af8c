"""Inbound webhooks (no JWT: each is verified by its Standard Webhooks signature).

Each route verifies, checks the sender's format and stores the raw event once, then answers:
202 `accepted` (applied from the inbound-webhooks queue), or 200 `duplicate` for a webhook id
already received. Nothing is stored for a refused request (400/401/404/413/415/422): a body over
the webhook limit is a 413 and one declared as anything but JSON a 415, before it is verified."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint, Response

from ..lazy import lazy_module
from .http import Call, endpoint, error_response, raw_body

if TYPE_CHECKING:
    from ..services import inbound
    from .views import webhooks as views
else:
    inbound = lazy_module("chalicelib.services.inbound")
    views = lazy_module("chalicelib.api.views.webhooks")

webhooks_api = Blueprint(__name__)
REFUSALS = (400, 401, 422)


def _receive(sender: str, parse: Any) -> Response:
    request = webhooks_api.current_request
    try:
        result = inbound.receive(sender, raw_body(request), dict(request.headers or {}), parse)
    except inbound.WebhookRejected as exc:
        return error_response(exc.status, exc.code, exc.message)
    body = views.WebhookAck(status=result.status, webhook_id=result.webhook_id).model_dump(mode="json")
    return Response(
        body=body, status_code=202 if result.status == "accepted" else 200, headers={"Content-Type": "application/json"}
    )


@endpoint(
    webhooks_api,
    "/webhooks/bank",
    "POST",
    summary="The bank settles a payment (Standard Webhooks signed)",
    tag="webhooks",
    roles=None,
    response="WebhookAck",
    status=202,
    signed=True,
    extra_errors=REFUSALS,
)
def bank_webhook(call: Call) -> Response:
    return _receive(inbound.BANK, inbound.parse_bank)


@endpoint(
    webhooks_api,
    "/webhooks/carriers/{carrier}",
    "POST",
    summary="A carrier reports tracking events (its own format; Standard Webhooks signed)",
    tag="webhooks",
    roles=None,
    response="WebhookAck",
    status=202,
    signed=True,
    extra_errors=REFUSALS,
)
def carrier_webhook(call: Call, carrier: str) -> Response:
    parse = inbound.parse_carrier(carrier)  # 404 for a carrier we do not know
    return _receive(inbound.carrier_sender(carrier), parse)


@endpoint(
    webhooks_api,
    "/webhooks/suppliers/{supplier_id}",
    "POST",
    summary="A supplier's system acknowledges a PO or notifies a shipment (Standard Webhooks signed)",
    tag="webhooks",
    roles=None,
    response="WebhookAck",
    status=202,
    signed=True,
    extra_errors=REFUSALS,
)
def supplier_webhook(call: Call, supplier_id: str) -> Response:
    return _receive(inbound.supplier_sender(supplier_id), inbound.parse_supplier)
