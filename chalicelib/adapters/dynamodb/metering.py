"""Counts DynamoDB requests and items read by wrapping PynamoDB's one call path.

Used by the benchmarks and by tests that assert request counts (never wall time)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Meter:
    requests: Counter[str] = field(default_factory=Counter)
    items_read: int = 0

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    def record_read(self, op: str, answer: Any) -> None:
        if not isinstance(answer, dict):
            return
        parsed: dict[str, Any] = answer
        if op in ("Query", "Scan"):
            self.items_read += int(parsed.get("ScannedCount", parsed.get("Count", 0)))
        elif op == "GetItem":
            self.items_read += 1 if parsed.get("Item") else 0
        elif op == "BatchGetItem":
            self.items_read += sum(len(v) for v in parsed.get("Responses", {}).values())


class metered:
    """Context manager: `with metered() as m: ...; m.total, m.requests, m.items_read`.

    Wraps PynamoDB's `Connection._make_api_call`, through which every table access of every
    model class goes (each class keeps its own connection and botocore client, so hooking one
    client's events would miss the others). Counts calls from every thread while active."""

    def __init__(self) -> None:
        self.meter = Meter()
        self._original: Any = None

    def __enter__(self) -> Meter:
        from pynamodb.connection.base import Connection

        self._original = original = Connection._make_api_call
        meter = self.meter

        def counted(connection: Connection, operation_name: str, operation_kwargs: dict[Any, Any]) -> dict[Any, Any]:
            meter.requests[operation_name] += 1
            data = original(connection, operation_name, operation_kwargs)
            meter.record_read(operation_name, data)
            return data

        Connection._make_api_call = counted  # type: ignore[method-assign, assignment]  # a function in the method's place
        return self.meter

    def __exit__(self, *exc: Any) -> None:
        from pynamodb.connection.base import Connection

        Connection._make_api_call = self._original  # type: ignore[method-assign]
