"""Stream publisher: audit events written to the table reach the bus (and, through its
rules, the consumers' queues) as domain events without their internal notes."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from chalicelib.adapters.bus import PublishFailed
from chalicelib.adapters.dynamodb import keys
from chalicelib.domain.orders import OrderAction
from chalicelib.handlers import publisher
from chalicelib.services import orders
from chalicelib.topology import CAMPAIGN_ORDERS, NOTIFICATIONS, TOPOLOGY
from tests.adapters import shop
from tests.adapters.events import bodies, drain, stream_records
from tests.adapters.shop import ALICE, CARE

SECRET = "card flagged by the bank, do not tell"


def kind_of(record: dict) -> str | None:
    """The item kind of a stream record. moto 5.2.5 gives an item created by UpdateItem (the metrics
    counters' ADDs) an INSERT record whose NewImage holds only its keys."""
    return record["dynamodb"].get("NewImage", {}).get("kind", {}).get("S")


def test_audit_events_from_the_stream_reach_the_notifications_queue_without_internal_notes(aws, campaign_id):
    placed = shop.place(ALICE, campaign_id, ("MUG-1", 1), ("CAP-1", 2))
    cancelled = orders.change_order(
        CARE, placed.order.id, OrderAction.CANCEL, internal_note=SECRET, customer_note="We cancelled it."
    )
    records = stream_records(aws.stream_arn)
    event_inserts = [r for r in records if r["eventName"] == "INSERT" and kind_of(r) == "event"]
    assert all(isinstance(r["dynamodb"]["ApproximateCreationDateTime"], float) for r in records)

    # suppliers, campaign, order (placed, cancelled, and the refund of its prepayment due)
    assert publisher.publish(records) == len(event_inserts) == 3 + 2 + 3

    messages = bodies(drain(aws.queue_urls[NOTIFICATIONS.name]))
    assert [m["detail-type"] for m in messages] == ["order.placed", "order.cancelled"]
    assert {m["source"] for m in messages} == {"waybill"}
    placed_detail, cancelled_detail = (m["detail"] for m in messages)
    assert placed_detail["id"] == placed.events[0].id
    assert (placed_detail["type"], placed_detail["subject_id"], placed_detail["to_status"]) == (
        "order.placed",
        placed.order.id,
        "placed",
    )
    assert placed_detail["actor"] == {"sub": ALICE.sub, "role": "customer"}
    assert placed_detail["data"]["customer_email"] == "alice@example.com"
    assert placed_detail["data"]["supplier_ids"] == ["acme", "bolt"]
    assert placed_detail["data"]["total_cents"] == 1200 + 2 * 900
    assert cancelled_detail["id"] == cancelled.events[-1].id
    assert (cancelled_detail["from_status"], cancelled_detail["to_status"]) == ("placed", "cancelled")
    # the customer's note, and what happens to the money paid in advance
    assert cancelled_detail["customer_note"] == (
        "We cancelled it. We are refunding the 30.00 EUR you paid to your original payment method."
    )
    assert cancelled_detail["has_internal_note"] is True
    assert "internal_note" not in cancelled_detail
    assert SECRET not in json.dumps(messages)
    # no campaign was cancelled: that queue only gets the order's own decision (held orders' exceptions follow it)
    assert [m["detail-type"] for m in bodies(drain(aws.queue_urls[CAMPAIGN_ORDERS.name]))] == ["order.cancelled"]


def test_an_event_read_back_from_the_table_is_published_from_a_hand_built_record(aws, campaign_id):
    record = shop.place(ALICE, campaign_id, ("MUG-1", 1))
    note = orders.add_note(CARE, record.order.id, internal_note=SECRET, customer_note="Ships Monday.")
    item = boto3.client("dynamodb").get_item(
        TableName=TOPOLOGY.table.name,
        Key={"PK": {"S": keys.order_pk(record.order.id)}, "SK": {"S": keys.event_sk(note.at, note.id)}},
    )["Item"]
    stream_record = {
        "eventID": "1",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "eventSourceARN": aws.stream_arn,
        "dynamodb": {
            "ApproximateCreationDateTime": 1767225600.0,
            "Keys": {"PK": item["PK"], "SK": item["SK"]},
            "NewImage": item,
            "SequenceNumber": "100",
            "SizeBytes": 512,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }
    assert publisher.publish([stream_record]) == 1
    (message,) = bodies(drain(aws.queue_urls[NOTIFICATIONS.name]))
    assert message["detail-type"] == "order.note_added"
    assert message["detail"]["id"] == note.id
    assert message["detail"]["customer_note"] == "Ships Monday."
    assert message["detail"]["has_internal_note"] is True
    assert SECRET not in json.dumps(message)


def test_records_that_are_not_new_audit_events_are_ignored(aws, campaign_id):
    record = shop.place(ALICE, campaign_id, ("MUG-1", 1))
    orders.change_order(ALICE, record.order.id, OrderAction.CANCEL)
    records = stream_records(aws.stream_arn)
    event_insert = next(r for r in records if r["eventName"] == "INSERT" and kind_of(r) == "event")
    ignored = [r for r in records if r["eventName"] != "INSERT" or kind_of(r) != "event"]
    assert {r["eventName"] for r in ignored} == {"INSERT", "MODIFY"}  # new orders, products...; changed orders
    ignored += [
        {**event_insert, "eventName": "MODIFY"},  # an audit event is never re-published when touched
        {
            **event_insert,
            "eventName": "REMOVE",
            "dynamodb": {"Keys": event_insert["dynamodb"]["Keys"], "OldImage": event_insert["dynamodb"]["NewImage"]},
        },
        {**event_insert, "dynamodb": {"Keys": event_insert["dynamodb"]["Keys"]}},  # a keys-only view
        {"eventName": "INSERT"},
    ]
    assert publisher.events_from_records(ignored) == []
    assert publisher.publish(ignored) == 0
    assert drain(aws.queue_urls[NOTIFICATIONS.name]) == []


def test_more_events_than_one_put_takes_are_all_published(aws, campaign_id):
    record = shop.place(ALICE, campaign_id, ("MUG-1", 1))
    for i in range(11):
        orders.add_note(CARE, record.order.id, internal_note=None, customer_note=f"update {i}")
    records = [r for r in stream_records(aws.stream_arn) if r["dynamodb"]["Keys"]["PK"]["S"] == keys.order_pk(record.order.id)]
    assert publisher.publish(records) == 12
    messages = bodies(drain(aws.queue_urls[NOTIFICATIONS.name]))
    assert sorted(m["detail"].get("customer_note") or "" for m in messages) == sorted([""] + [f"update {i}" for i in range(11)])


def test_a_refused_put_raises_so_the_stream_retries_the_batch(aws, campaign_id):
    shop.place(ALICE, campaign_id, ("MUG-1", 1))
    records = stream_records(aws.stream_arn)
    events = boto3.client("events")
    for rule in TOPOLOGY.rules:
        events.remove_targets(Rule=rule.name, EventBusName=TOPOLOGY.bus, Ids=["queue"])
        events.delete_rule(Name=rule.name, EventBusName=TOPOLOGY.bus)
    events.delete_event_bus(Name=TOPOLOGY.bus)
    with pytest.raises((ClientError, PublishFailed)):
        publisher.publish(records)


def test_the_stream_publisher_function_publishes_its_batch(aws, campaign_id, client):
    shop.place(ALICE, campaign_id, ("MUG-1", 1))
    response = client.lambda_.invoke("stream_publisher", {"Records": stream_records(aws.stream_arn)})
    assert response.payload == {"published": 3 + 2 + 1}
    assert [m["detail-type"] for m in bodies(drain(aws.queue_urls[NOTIFICATIONS.name]))] == ["order.placed"]


def test_a_stored_inbound_webhook_becomes_one_webhook_received_event_with_its_body_when_small(aws):
    from datetime import UTC, datetime

    from chalicelib.adapters.dynamodb import repository as repo
    from chalicelib.adapters.dynamodb.models import InboxItem

    at = datetime.now(UTC)
    small = InboxItem(
        *keys.inbox("carrier:dhl", "msg_small"),
        provider="carrier:dhl",
        webhook_id="msg_small",
        body='{"shipments": []}',
        event_type=None,
        received_at=at,
    )
    large = InboxItem(
        *keys.inbox("bank", "msg_large"),
        provider="bank",
        webhook_id="msg_large",
        body="x" * (publisher.INLINE_BODY_BYTES + 1),
        event_type="payment.settled",
        received_at=at,
    )
    assert repo.create(small) and repo.create(large) and not repo.create(small)  # the second put is refused
    events = [e for e in publisher.events_from_records(stream_records(aws.stream_arn)) if e["type"] == "webhook.received"]
    assert [(e["subject_id"], e["data"].get("body")) for e in events] == [
        ("carrier:dhl/msg_small", '{"shipments": []}'),
        ("bank/msg_large", None),
    ]
    assert events[0]["id"] == publisher.received_event(small)["id"] != events[1]["id"]  # stable per webhook
    assert events[1]["data"] == {"provider": "bank", "webhook_id": "msg_large", "event_type": "payment.settled"}
