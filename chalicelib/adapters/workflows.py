"""Step Functions: start a PO's or a shipment's execution (named after it) and answer its open wait."""

from __future__ import annotations

import json
from typing import Any

from ..config import settings
from .aws import client


def _start(machine_arn: str, name: str, payload: dict[str, Any]) -> str | None:
    """Start a named execution; None when it already runs (a second start is harmless)."""
    sfn = client("stepfunctions")
    try:
        return str(sfn.start_execution(stateMachineArn=machine_arn, name=name, input=json.dumps(payload))["executionArn"])
    except sfn.exceptions.ExecutionAlreadyExists:
        return None


def start_supplier_fulfilment(po_id: str, payload: dict[str, Any]) -> str | None:
    """Start the PO's execution (named after it)."""
    return _start(settings().supplier_fulfilment_arn, po_id, payload)


def start_delivery_tracking(name: str, payload: dict[str, Any]) -> str | None:
    """Start a parcel's tracking execution (named after its shipment and correction count)."""
    return _start(settings().delivery_tracking_arn, name, payload)


def send_task_success(task_token: str, output: dict[str, Any]) -> None:
    client("stepfunctions").send_task_success(taskToken=task_token, output=json.dumps(output))


# The wait a token belongs to may be over already (timed out and reopened with a new token, or the
# execution stopped): for heartbeats and ends that is not an error, the next opening catches up.
_GONE = ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken", "ExecutionDoesNotExist")


def _tolerant(call: Any, **kwargs: Any) -> bool:
    try:
        call(**kwargs)
        return True
    except client("stepfunctions").exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _GONE:
            return False
        raise


def heartbeat(task_token: str) -> bool:
    """Tell a waiting task its subject is alive (resets its HeartbeatSeconds)."""
    return _tolerant(client("stepfunctions").send_task_heartbeat, taskToken=task_token)


def end_wait(task_token: str, output: dict[str, Any]) -> bool:
    return _tolerant(client("stepfunctions").send_task_success, taskToken=task_token, output=json.dumps(output))


def stop_execution(execution_arn: str, *, cause: str) -> bool:
    sfn = client("stepfunctions")
    try:
        sfn.stop_execution(executionArn=execution_arn, cause=cause)
        return True
    except sfn.exceptions.ExecutionDoesNotExist:
        return False


def history(execution_arn: str) -> list[dict[str, Any]]:
    """Every event of an execution (for tests and benchmarks: state transitions per PO)."""
    sfn = client("stepfunctions")
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events += page["events"]
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]
