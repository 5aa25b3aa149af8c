"""Helpers for the event-path suites: stream records as Lambda receives them, queue draining."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import boto3


def typed(event: dict[str, Any]) -> Any:
    """A test's hand-written event as a consumer receives it (chalicelib/events.py): the fields the
    test names, the rest of the envelope filled in; a dict without `type` is a state machine's event."""
    from chalicelib.events import domain_event, workflow_event

    if "type" not in event:
        return workflow_event(None, event)
    envelope = {
        "id": "evt_test",
        "subject_type": str(event["type"]).split(".", 1)[0],
        "subject_id": "-",
        "at": "2030-01-01T00:00:00+00:00",
        "actor": {"sub": "system", "role": "admin"},
    }
    return domain_event({**envelope, **event})


def as_lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A record from `dynamodbstreams.get_records` in the shape a Lambda stream event carries."""
    dynamodb = dict(record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = created.timestamp()
    return {**record, "dynamodb": dynamodb, "eventSourceARN": stream_arn}


def stream_records(stream_arn: str) -> list[dict[str, Any]]:
    """Every record of the table's stream so far, oldest first."""
    streams = boto3.client("dynamodbstreams")
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")[
            "ShardIterator"
        ]
        records += streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]
    return [as_lambda_record(r, stream_arn) for r in records]


def drain(queue_url: str) -> list[dict[str, Any]]:
    """Receive and delete every message waiting in a queue."""
    sqs = boto3.client("sqs")
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
        messages += batch
        sqs.delete_message_batch(
            QueueUrl=queue_url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
        )
    return messages


def bodies(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [json.loads(m["Body"]) for m in messages]


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """A Lambda SQS event carrying these received messages."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "eu-west-1",
            }
            for m in messages
        ]
    }


def published(aws: Any, queue_name: str, seen: set[str] | None = None) -> list[dict[str, Any]]:
    """Publish the stream's records not `seen` yet (all when None) and return the domain events
    the named queue received (drained)."""
    from chalicelib.handlers import batch, publisher

    records = stream_records(aws.stream_arn)
    fresh = [r for r in records if seen is None or r["eventID"] not in seen]
    if seen is not None:
        seen.update(r["eventID"] for r in records)
    publisher.publish(fresh)
    return [batch.domain_event(m["Body"]) for m in drain(aws.queue_urls[queue_name])]


def seen_so_far(aws: Any) -> set[str]:
    """The stream records so far, to leave out of the next `published`."""
    return {r["eventID"] for r in stream_records(aws.stream_arn)}


def deliver_mail(aws: Any, seen: set[str] | None = None) -> list[dict[str, Any]]:
    """What the notifications queue gets from the stream, handed to the notifications consumer
    (each event once); returns those events."""
    from chalicelib.handlers import notifications
    from chalicelib.topology import NOTIFICATIONS

    events = published(aws, NOTIFICATIONS.name, seen)
    for event in events:
        notifications.handle(event)
    return events
