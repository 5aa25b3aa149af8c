"""One logger, one tracer: Lambda handlers are traced only where Powertools traces (in Lambda), the
Tracer is made at the first traced call and wraps the handler once, and nothing is traced in tests."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from chalicelib import observability


def test_outside_lambda_tracing_is_off_and_a_traced_handler_just_runs(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("LAMBDA_TASK_ROOT", raising=False)
    assert observability.tracer() is None

    @observability.traced
    def consumer(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """A handler."""
        return {"got": event, "context": context}

    assert consumer({"a": 1}, "ctx") == {"got": {"a": 1}, "context": "ctx"}
    assert consumer.__name__ == "consumer" and consumer.__doc__ == "A handler."


def test_where_tracing_is_on_the_handler_runs_inside_capture_method_wrapped_once(monkeypatch: pytest.MonkeyPatch):
    wrapped: list[str] = []

    class Recorder:  # stands in for Powertools' Tracer: a real one would patch botocore for the whole run
        def capture_method(self, fn: Any) -> Any:
            wrapped.append(fn.__name__)
            return lambda *a, **k: ("traced", fn(*a, **k))

    monkeypatch.setattr(observability, "tracer", Recorder)

    @observability.traced
    def stream_publisher(event: list[int]) -> int:
        return len(event)

    assert stream_publisher([1, 2]) == ("traced", 2)
    assert stream_publisher([1]) == ("traced", 1)
    assert wrapped == ["stream_publisher"]


def test_every_module_logs_through_the_one_logger():
    from chalicelib.api import http
    from chalicelib.handlers import batch
    from chalicelib.services import customer_payments, webhooks

    assert http.logger is batch.logger is customer_payments.logger is webhooks.logger is observability.logger
    root = Path(observability.__file__).parent
    makers = sorted(p.relative_to(root.parent).as_posix() for p in root.rglob("*.py") if re.search(r"\bLogger\(", p.read_text()))
    assert makers == ["chalicelib/observability.py"]
