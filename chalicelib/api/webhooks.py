"""Inbound webhooks (no JWT: each is verified by its Standard Webhooks signature)."""

from __future__ import annotations

from chalice import Blueprint, Response

from ..lazy import lazy_module
from .http import Call, endpoint, error_response

s = lazy_module("chalicelib.api.schemas")
payments = lazy_module("chalicelib.services.payments")

webhooks_api = Blueprint(__name__)


@endpoint(webhooks_api, "/webhooks/bank", "POST", summary="The bank settles a payment (Standard Webhooks signed)",
          tag="webhooks", roles=None, response="WebhookAck")
def bank_webhook(call: Call) -> s.WebhookAck | Response:
    request = webhooks_api.current_request
    try:
        result = payments.receive_bank_webhook(request.raw_body or b"", dict(request.headers or {}))
    except payments.WebhookRejected as exc:
        return error_response(exc.status, exc.code, exc.message)
    return s.WebhookAck(status=result.status, webhook_id=result.webhook_id)
