"""Standard Webhooks signing for the local senders (sandbox bank, carrier simulator, demo,
benchmark, tests): what any sender following the spec would send."""

from __future__ import annotations

import base64
import json
import math
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any


def new_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def signed_request(
    body: dict[str, Any] | bytes | str, secret: str, *, webhook_id: str | None = None, at: datetime | None = None
) -> tuple[bytes, dict[str, str]]:
    """The raw body and the Standard Webhooks headers (webhook-id, -timestamp, -signature) for it,
    as sent at `at` (default now; receivers refuse a timestamp more than 5 minutes off)."""
    from standardwebhooks.webhooks import Webhook

    raw = json.dumps(body).encode() if isinstance(body, dict) else body.encode() if isinstance(body, str) else body
    msg_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    sent = (at or datetime.now(UTC)).astimezone(UTC)  # sign() reads the time as UTC whatever its offset
    return raw, {
        "webhook-id": msg_id,
        "webhook-timestamp": str(math.floor(sent.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, sent, raw.decode()),
    }
