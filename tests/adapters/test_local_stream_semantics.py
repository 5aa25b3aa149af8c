"""The local stream poller and scheduler give up on failures the way Lambda does, with the settings
of chalicelib/functions.py: a failing stream batch is bisected, retried a bounded number of times,
its record range then sent to the on-failure destination while the records around it go through
in order; a failing scheduled run is retried, then handed to the failure queue."""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3

from chalicelib.functions import SCHEDULE_FAILURES, STREAM_FAILURES, function
from chalicelib.local.pollers import StreamPoller
from chalicelib.local.scheduler import Job, Scheduler
from chalicelib.topology import TOPOLOGY


def _put(n: int) -> None:
    ddb = boto3.client("dynamodb")
    for i in range(n):
        ddb.put_item(TableName=TOPOLOGY.table.name, Item={"PK": {"S": f"STREAMTEST#{i}"}, "SK": {"S": "#META"}})


def _poller(aws: Any, handler: Any, **settings: Any) -> StreamPoller:
    sqs = boto3.client("sqs")
    url = aws.failure_queue_urls[STREAM_FAILURES.name]
    return StreamPoller(
        stream_arn=aws.stream_arn,
        handler_name="stream_publisher",
        handler=handler,
        streams=boto3.client("dynamodbstreams"),
        region="eu-west-1",
        stop=threading.Event(),
        backoff_s=0,
        on_failure=lambda record: sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record)),
        **settings,
    )


def _until_idle(poller: StreamPoller, steps: int) -> StreamPoller:
    """Step the poller until a step finds nothing to do (at most `steps` steps)."""
    for _ in range(steps):
        if not poller.step():
            break
    return poller


def _keys(event: dict[str, Any]) -> list[str]:
    return [r["dynamodb"]["Keys"]["PK"]["S"] for r in event["Records"]]


def test_a_bad_record_is_bisected_out_retried_then_sent_to_the_on_failure_queue_and_the_rest_go_through_in_order(aws):
    _put(8)
    delivered: list[str] = []
    calls: list[list[str]] = []

    def publisher(event: dict[str, Any], context: Any) -> None:
        keys = _keys(event)
        calls.append(keys)
        if "STREAMTEST#5" in keys:
            raise RuntimeError("a record the publisher cannot handle")
        delivered.extend(keys)

    source = function("stream_publisher").stream
    assert source is not None and source.bisect_on_error
    _until_idle(_poller(aws, publisher, maximum_retry_attempts=source.maximum_retry_attempts), 100)

    assert delivered == [f"STREAMTEST#{i}" for i in range(8) if i != 5]  # in order, only the bad one held back
    # the lone bad record: its first try, then maximum_retry_attempts retries, then given up on
    assert calls.count(["STREAMTEST#5"]) == 1 + source.maximum_retry_attempts
    url = aws.failure_queue_urls[STREAM_FAILURES.name]
    (message,) = boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    info = record["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1 and info["streamArn"] == aws.stream_arn
    assert info["startSequenceNumber"] == info["endSequenceNumber"]


def test_records_older_than_the_maximum_age_are_given_up_on_without_retries(aws):
    _put(3)

    def publisher(event: dict[str, Any], context: Any) -> None:
        raise RuntimeError("down")

    poller = _poller(aws, publisher, maximum_retry_attempts=5, maximum_record_age_s=0, bisect=False)
    poller.step()
    assert [r["requestContext"]["condition"] for r in poller.given_up] == ["RecordAgeExceeded"]
    assert poller.given_up[0]["DDBStreamBatchInfo"]["batchSize"] == 3


def test_a_failing_scheduled_run_is_retried_then_left_in_the_schedule_failure_queue(aws):
    fn = function("end_campaigns")
    assert fn.schedule is not None and fn.schedule.dead_letter_queue == SCHEDULE_FAILURES.name
    runs = []

    def end_campaigns(event: dict[str, Any], context: Any) -> None:
        runs.append(event["id"])
        raise RuntimeError("the table is unreachable")

    sqs = boto3.client("sqs")
    url = aws.failure_queue_urls[SCHEDULE_FAILURES.name]
    job = Job("waybill-end-campaigns", "end_campaigns", end_campaigns, period_s=3600, due=0, retry_delay_s=0)
    job.maximum_retry_attempts = fn.schedule.maximum_retry_attempts
    scheduler = Scheduler(
        [job],
        region="eu-west-1",
        stop=threading.Event(),
        on_failure=lambda record: sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record)),
    )
    for _ in range(10):
        scheduler.step()

    assert len(runs) == 1 + fn.schedule.maximum_retry_attempts and len(set(runs)) == 1  # the same event each time
    (message,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestPayload"]["id"] == runs[0]


def test_only_the_records_the_publishers_filter_matches_reach_it_as_lambda_filters_them(aws):
    """functions.PUBLISHED_RECORDS: an audit event's or a webhook's INSERT reaches the publisher; every
    other write (an update of an event, an order, a delete) is dropped before any invocation."""
    ddb = boto3.client("dynamodb")
    table = TOPOLOGY.table.name
    ddb.put_item(TableName=table, Item={"PK": {"S": "ORDER#1"}, "SK": {"S": "#META"}, "kind": {"S": "order"}})
    ddb.put_item(TableName=table, Item={"PK": {"S": "ORDER#1"}, "SK": {"S": "EVENT#1"}, "kind": {"S": "event"}})
    ddb.put_item(TableName=table, Item={"PK": {"S": "ORDER#1"}, "SK": {"S": "EVENT#1"}, "kind": {"S": "event"}, "x": {"N": "1"}})
    ddb.put_item(TableName=table, Item={"PK": {"S": "INBOX#dhl#1"}, "SK": {"S": "#META"}, "kind": {"S": "inbox"}})
    ddb.put_item(TableName=table, Item={"PK": {"S": "NOKIND"}, "SK": {"S": "#META"}})
    ddb.delete_item(TableName=table, Key={"PK": {"S": "ORDER#1"}, "SK": {"S": "#META"}})
    seen: list[tuple[str, str]] = []

    def publisher(event: dict[str, Any], context: Any) -> None:
        seen.extend((r["eventName"], r["dynamodb"]["Keys"]["PK"]["S"]) for r in event["Records"])

    source = function("stream_publisher").stream
    assert source is not None and source.filters
    poller = _until_idle(_poller(aws, publisher, filters=source.filters), 20)
    assert seen == [("INSERT", "ORDER#1"), ("INSERT", "INBOX#dhl#1")]
    assert poller.filtered == 4 and poller.invocations == 1


def test_a_filter_the_local_stack_cannot_apply_as_lambda_does_is_refused(aws):
    for pattern in ({"eventName": [{"prefix": "IN"}]}, {"eventName": "INSERT"}, {"eventName": []}):
        try:
            _poller(aws, lambda event, context: None, filters=(pattern,))
        except ValueError as refused:
            assert "only nested objects" in str(refused)
        else:
            raise AssertionError(f"{pattern} was accepted")
