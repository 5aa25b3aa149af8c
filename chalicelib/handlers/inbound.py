"""Inbound-webhooks consumer: each `webhook.received` event names a stored webhook to apply."""

from __future__ import annotations

from typing import Any

from ..services import inbound


def handle(event: dict[str, Any]) -> str:
    data = event.get("data") or {}
    body = data.get("body")
    return inbound.process(str(data["provider"]), str(data["webhook_id"]), body if isinstance(body, str) else None)
