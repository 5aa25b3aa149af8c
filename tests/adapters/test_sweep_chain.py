"""The escalation sweep in bounded chunks on moto (issue 20 item 1): a tick handles one chunk and queues
the rest on the sweep queue, whose consumer (the app's Lambda handler, called by the local stack's
poller) runs the chain to its last chunk; a redelivered continuation has one effect. The chunking's
rules on the in-memory store are in tests/services/test_exceptions.py."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import timedelta
from typing import Any

import boto3
import pytest

from chalicelib.adapters.dynamodb.metering import metered
from chalicelib.config import settings
from chalicelib.local.pollers import SqsPoller
from chalicelib.local.provision import Provisioned
from chalicelib.services import escalations, exceptions, uow
from chalicelib.services.clock import now
from chalicelib.services.ports_close import SWEEP_RUN, SweepRun
from chalicelib.topology import SWEEP
from tests.adapters.test_sweep_cost import retired, seed_deadlines

CHUNK = 4
DUE = 10


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch, aws: Provisioned) -> Provisioned:
    chunked = replace(settings(), sweep_chunk=CHUNK)
    monkeypatch.setattr(escalations, "settings", lambda: chunked)
    return aws


def sqs() -> Any:
    return boto3.client("sqs", region_name="eu-west-1")


def poller(aws: Provisioned) -> SqsPoller:
    import app

    found = SqsPoller(
        queue_name=SWEEP.name,
        queue_url=aws.queue_urls[SWEEP.name],
        queue_arn=aws.queue_arns[SWEEP.name],
        handler_name=SWEEP.handler,
        handler=app.sweep_consumer,
        batch_size=SWEEP.batch_size,
        timeout_s=SWEEP.visibility_timeout_s,
        sqs=sqs(),
        region="eu-west-1",
        stop=threading.Event(),
    )
    found.wait_s = 0  # nothing arrives while a test waits: an empty receive means done
    return found


def peek(aws: Provisioned) -> list[dict[str, Any]]:
    """The messages on the sweep queue now (left there: made visible again at once)."""
    got = sqs().receive_message(QueueUrl=aws.queue_urls[SWEEP.name], MaxNumberOfMessages=10, VisibilityTimeout=0)
    return [json.loads(m["Body"]) for m in got.get("Messages", [])]


def run_chain(aws: Provisioned, at_most: int = 20) -> int:
    runner = poller(aws)
    for _ in range(at_most):
        if not runner.step():
            return runner.invocations
    raise AssertionError("the sweep queue still had work")


def test_a_tick_handles_one_chunk_and_the_queued_chain_handles_the_rest_each_once(small: Provisioned):
    due = seed_deadlines(DUE, -timedelta(hours=1), batch=False)

    with metered() as m:
        tick = escalations.sweep(now())
    assert (tick.read, tick.continued) == (CHUNK, True)
    assert m.requests["TransactWriteItems"] == CHUNK + 1  # the chunk's entries, then the chain's record
    [message] = peek(small)
    assert message["detail-type"] == "waybill.chunk_due"
    assert (message["detail"]["job"], message["detail"]["number"]) == ("sweep", 1)
    assert message["detail"]["cursor"]  # where each shard still to read goes on

    invocations = run_chain(small)

    assert 2 <= invocations <= 3  # 10 entries in chunks of 4 (a last, empty page may cost one more)
    assert all(retired(s) for s in due)
    run = uow.store().load(SweepRun, SWEEP_RUN)
    assert run is not None and (run.value.state, run.value.read, run.value.cursor) == ("done", DUE, None)
    for subject in due:
        record = exceptions.get(exceptions.exception_id("shipment_late", "shipment", subject))
        assert record is not None and record.count == 1


def test_a_redelivered_continuation_has_one_effect(small: Provisioned):
    due = seed_deadlines(DUE, -timedelta(hours=1), batch=False)
    escalations.sweep(now())
    [message] = peek(small)
    run_chain(small)

    # the same continuation again: the consumer's idempotency record skips it
    sqs().send_message(QueueUrl=small.queue_urls[SWEEP.name], MessageBody=json.dumps(message))
    with metered() as m:
        assert run_chain(small) == 1
    assert m.requests["TransactWriteItems"] == 0
    # and past the idempotency record (it expired, say): the chain's record shows the chunk done
    detail = message["detail"]
    with metered() as again:
        replay = escalations.run_queued_chunk(detail["run_id"], detail["number"], detail["cursor"])
    assert replay.read == 0 and again.requests["TransactWriteItems"] == 0 and again.requests["Query"] == 0
    for subject in due:
        record = exceptions.get(exceptions.exception_id("shipment_late", "shipment", subject))
        assert record is not None and record.count == 1  # raised once, never bumped by a replay


def test_a_chunk_that_died_before_recording_itself_runs_again_without_escalating_twice(
    small: Provisioned, monkeypatch: pytest.MonkeyPatch
):
    due = seed_deadlines(DUE, -timedelta(hours=1), batch=False)
    escalations.sweep(now())
    [message] = peek(small)
    detail = message["detail"]
    real_queue = escalations._queue

    def dies(*_: Any) -> None:
        raise RuntimeError("Lambda timed out")

    monkeypatch.setattr(escalations, "_queue", dies)  # the chunk handled its entries, recorded, then died
    with pytest.raises(RuntimeError):
        escalations.run_queued_chunk(detail["run_id"], detail["number"], detail["cursor"])
    monkeypatch.setattr(escalations, "_queue", real_queue)

    retried = escalations.run_queued_chunk(detail["run_id"], detail["number"], detail["cursor"])  # redelivered
    assert retried.read == 0 and retried.continued  # nothing handled again; its next chunk queued
    run_chain(small)
    assert all(retired(s) for s in due)
    for subject in due:
        record = exceptions.get(exceptions.exception_id("shipment_late", "shipment", subject))
        assert record is not None and record.count == 1
