"""boto3 clients, made once per process (Lambda reuses them across invocations).

`AWS_ENDPOINT_URL` (set by the local stack) routes them to the embedded moto server."""

from __future__ import annotations

from functools import cache
from typing import Any

from ..config import settings


@cache
def client(service: str) -> Any:
    import boto3  # lazily: keeps `import app` cheap for routes that never touch these services

    return boto3.session.Session().client(service, region_name=settings().region)


def reset_clients() -> None:
    """Forget cached clients (tests switch between mocked accounts)."""
    client.cache_clear()
