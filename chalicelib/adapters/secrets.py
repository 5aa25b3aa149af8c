"""Secrets Manager: JSON secrets, cached for a short time (a rotated secret is picked up
within `CACHE_SECONDS`; Lambda containers do not call Secrets Manager per request)."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

from ..config import settings
from ..topology import TOPOLOGY
from .aws import client

CACHE_SECONDS = 60.0
INBOUND_WEBHOOKS = TOPOLOGY.secrets[0].name

_cache: dict[str, tuple[float, Any]] = {}
_lock = threading.Lock()


def get_json(name: str) -> Any:
    with _lock:
        hit = _cache.get(name)
        if hit and time.monotonic() - hit[0] < CACHE_SECONDS:
            return hit[1]
    value = json.loads(client("secretsmanager").get_secret_value(SecretId=name)["SecretString"] or "{}")
    with _lock:
        _cache[name] = (time.monotonic(), value)
    return value


def put_json(name: str, value: Any) -> None:
    client("secretsmanager").put_secret_value(SecretId=name, SecretString=json.dumps(value))
    forget()


def get_json_now(name: str) -> Any:
    """The secret as stored at this moment (no cache): what a read-modify-write starts from."""
    forget()
    return get_json(name)


def forget() -> None:
    with _lock:
        _cache.clear()


def credential_header(name: str) -> dict[str, str]:
    """The header an outbound API expects (secret `{"header": "Authorization", "value": "Bearer ..."}`),
    or none when no secret is configured (`name` empty) or it is still `{}`."""
    if not name:
        return {}
    value = get_json(name)
    if not isinstance(value, dict) or not value.get("header"):
        return {}
    return {str(value["header"]): str(value.get("value", ""))}


def webhook_secrets(provider: str, *, at: datetime | None = None) -> list[str]:
    """The signing secrets a sender may use now (several during a rotation). An entry is the secret
    itself, or `{"secret": ..., "expires_at": <ISO 8601>}` for one rotated out (services/supplier_access.py),
    which verifies until it expires."""
    value = get_json(settings().inbound_webhooks_secret)
    secrets = value.get(provider, []) if isinstance(value, dict) else []
    entries = [secrets] if isinstance(secrets, (str, dict)) else list(secrets)
    moment = at or datetime.now(UTC)
    current = []
    for entry in entries:
        if isinstance(entry, dict):
            expires = entry.get("expires_at")
            if expires and datetime.fromisoformat(str(expires)) <= moment:
                continue
            entry = entry.get("secret")
        if entry:
            current.append(str(entry))
    return current


def track_link_keys() -> Any:
    """The order-page link key secret's value (`{"current": ..., "previous": ...}`, see domain/track_links.py)."""
    return get_json(settings().track_links_secret)
