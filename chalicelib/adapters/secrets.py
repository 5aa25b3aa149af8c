"""Secrets Manager: JSON secrets, cached for a short time (a rotated secret is picked up
within `CACHE_SECONDS`; Lambda containers do not call Secrets Manager per request)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

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


def forget() -> None:
    with _lock:
        _cache.clear()


def webhook_secrets(provider: str) -> list[str]:
    """The signing secrets a sender may use now (several during a rotation)."""
    value = get_json(INBOUND_WEBHOOKS)
    secrets = value.get(provider, []) if isinstance(value, dict) else []
    return [secrets] if isinstance(secrets, str) else [str(s) for s in secrets]
