"""boto3 clients, made once per process (Lambda reuses them across invocations).

`AWS_ENDPOINT_URL` (set by the local stack) routes them to the embedded moto server."""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

from ..config import settings

_lock = threading.Lock()  # a boto3 session may not create clients from several threads at once


@cache
def _session() -> Any:
    import boto3  # lazily: keeps `import app` cheap for routes that never touch these services

    return boto3.session.Session()  # one per process: it parses each service model once


@cache
def client(service: str) -> Any:
    with _lock:
        return _session().client(service, region_name=settings().region)


def reset_clients() -> None:
    """Forget cached clients (tests switch between mocked accounts; the session's models stay)."""
    client.cache_clear()
