"""Counts DynamoDB requests and items read through botocore's event hooks.

Used by the benchmarks and by tests that assert request counts (never wall time)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .models import Item


@dataclass
class Meter:
    requests: Counter[str] = field(default_factory=Counter)
    items_read: int = 0

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    def _before(self, model: Any = None, **_: Any) -> None:
        self.requests[model.name if model is not None else "?"] += 1

    def _after(self, http_response: Any = None, parsed: Any = None, model: Any = None, **_: Any) -> None:
        if not isinstance(parsed, dict):
            return
        op = model.name if model is not None else ""
        if op in ("Query", "Scan"):
            self.items_read += int(parsed.get("ScannedCount", parsed.get("Count", 0)))
        elif op == "GetItem":
            self.items_read += 1 if parsed.get("Item") else 0
        elif op == "BatchGetItem":
            self.items_read += sum(len(v) for v in parsed.get("Responses", {}).values())


class metered:
    """Context manager: `with metered() as m: ...; m.total, m.requests, m.items_read`.

    Hooks the client PynamoDB uses in this thread (every table access goes through it)."""

    def __init__(self) -> None:
        self.meter = Meter()
        self._events: Any = None

    def __enter__(self) -> Meter:
        self._events = Item._get_connection().connection.client.meta.events
        self._events.register("before-call.dynamodb", self.meter._before, unique_id="waybill-meter-before")
        self._events.register("after-call.dynamodb", self.meter._after, unique_id="waybill-meter-after")
        return self.meter

    def __exit__(self, *exc: Any) -> None:
        self._events.unregister("before-call.dynamodb", unique_id="waybill-meter-before")
        self._events.unregister("after-call.dynamodb", unique_id="waybill-meter-after")
