"""The ASL files under infra/statemachines, read as data: every task that calls AWS retries a
transient failure with backoff, and no retry swallows the timeouts the workflows are built on
(a stage's deadline, a carrier's silence)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

STATE_MACHINES = sorted((Path(__file__).resolve().parents[2] / "infra/statemachines").glob("*.asl.json"))
# A retrier naming any of these would restart a wait whose timeout is a business deadline (a
# missed stage, a silent carrier) instead of letting its Catch act on it. States.TaskFailed is
# among them: in AWS it matches every error but States.Timeout, States.HeartbeatTimeout included.
TIMEOUT_MATCHERS = {"States.ALL", "States.Timeout", "States.HeartbeatTimeout", "States.TaskFailed"}
TIMEOUT_FIELDS = {"TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath"}


def tasks() -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for path in STATE_MACHINES:
        for name, state in json.loads(path.read_text())["States"].items():
            if state["Type"] == "Task":
                out.append((path.name, name, state))
    return out


def test_there_are_state_machines_with_tasks_to_check() -> None:
    assert {p.name for p in STATE_MACHINES} >= {"supplier_fulfilment.asl.json", "delivery_tracking.asl.json"}
    assert len(tasks()) >= 18


@pytest.mark.parametrize(("machine", "name", "state"), tasks(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_task_that_calls_aws_retries_with_jittered_exponential_backoff(
    machine: str, name: str, state: dict[str, Any]
) -> None:
    assert state["Resource"].startswith("arn:aws:states:::"), "a service integration: it calls AWS"
    retriers = state.get("Retry")
    assert retriers, f"{machine}: {name} has no Retry"
    for r in retriers:
        assert r["ErrorEquals"], r
        assert r["IntervalSeconds"] >= 1 and r["BackoffRate"] > 1 and r["MaxAttempts"] >= 3, r
        assert r["JitterStrategy"] == "FULL" and r["MaxDelaySeconds"] >= r["IntervalSeconds"], r
        assert not {"States.ALL", "States.Timeout"} & set(r["ErrorEquals"]), r


@pytest.mark.parametrize(("machine", "name", "state"), tasks(), ids=lambda v: v if isinstance(v, str) else "")
def test_no_retry_restarts_a_wait_whose_timeout_is_a_deadline_and_each_such_timeout_is_caught(
    machine: str, name: str, state: dict[str, Any]
) -> None:
    if not TIMEOUT_FIELDS & set(state):
        return
    retried = {e for r in state["Retry"] for e in r["ErrorEquals"]}
    assert not retried & TIMEOUT_MATCHERS, f"{machine}: {name} retries {retried & TIMEOUT_MATCHERS}"
    assert {e for c in state["Catch"] for e in c["ErrorEquals"]} >= {"States.Timeout", "States.HeartbeatTimeout"}
