"""Step Functions: start a PO's execution (named after it) and answer its open stage."""

from __future__ import annotations

import json
from typing import Any

from ..config import settings
from .aws import client


def start_supplier_fulfilment(po_id: str, payload: dict[str, Any]) -> str | None:
    """Start the PO's execution; None when it already runs (a second start is harmless)."""
    sfn = client("stepfunctions")
    try:
        return str(sfn.start_execution(stateMachineArn=settings().supplier_fulfilment_arn, name=po_id,
                                       input=json.dumps(payload))["executionArn"])
    except sfn.exceptions.ExecutionAlreadyExists:
        return None


def send_task_success(task_token: str, output: dict[str, Any]) -> None:
    client("stepfunctions").send_task_success(taskToken=task_token, output=json.dumps(output))


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
