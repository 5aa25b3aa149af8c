"""A transient failure of a task's AWS call is retried by the state machine itself (the Retry of
every Task state in infra/statemachines): the execution goes on instead of failing.

moto's EventBridge answers PutEvents with a failed entry once, as AWS does under throttling or an
internal error; Step Functions then fails the task with EventBridge.FailedEntry."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.events.models import EventsBackend

from chalicelib.domain.purchase_orders import Stage
from tests.workflows.conftest import Flow


def test_a_stage_whose_opening_event_is_refused_once_is_retried_and_opens(flow: Flow, monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[dict[str, Any]] = []
    real_put_events = EventsBackend.put_events

    def put_events(self: EventsBackend, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ours = [e for e in events if e.get("DetailType") == "po.stage_opened" and json.loads(e["Detail"])["po_id"] == flow.po_id]
        if ours:
            attempts.append(ours[0])
            if len(attempts) == 1:
                return [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"} for _ in events]
        return real_put_events(self, events)

    monkeypatch.setattr(EventsBackend, "put_events", put_events)

    flow.start()
    flow.wait_open(Stage.ACKNOWLEDGE)

    assert len(attempts) == 2
    failures = [e["taskFailedEventDetails"] for e in flow.history() if e["type"] == "TaskFailed"]
    assert [f["error"] for f in failures] == ["EventBridge.FailedEntry"]
    assert flow.status() == "RUNNING"
    assert flow.states_entered() == ["Acknowledge"], "the same state, retried in place"
