"""Notifications consumer: domain events from the queue become e-mails, each sent once."""

from __future__ import annotations

import json

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.models import OutboxItem
from chalicelib.domain.orders import OrderAction
from chalicelib.handlers import batch, notifications, publisher
from chalicelib.services import notify, orders
from chalicelib.topology import NOTIFICATIONS, TOPOLOGY
from tests.adapters import shop
from tests.adapters.events import drain, sqs_event, stream_records, typed
from tests.adapters.shop import ALICE, CARE


def sent():
    return ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages


def published(aws) -> list[dict]:
    """Publish the stream so far; return the messages the notifications queue received."""
    publisher.publish(stream_records(aws.stream_arn))
    return drain(aws.queue_urls[NOTIFICATIONS.name])


def queue_arn(aws) -> str:
    return boto3.client("sqs").get_queue_attributes(QueueUrl=aws.queue_urls[NOTIFICATIONS.name], AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]


def test_a_placed_order_e_mails_the_customer_once_even_when_redelivered(aws, campaign_id):
    record = shop.place(ALICE, campaign_id, ("MUG-1", 2))
    (message,) = published(aws)
    event = batch.domain_event(message["Body"])
    assert event.type == "order.placed"

    assert notifications.handle(event) == 1
    (mail,) = sent()
    assert mail.destinations["ToAddresses"] == ["alice@example.com"]
    assert mail.source == TOPOLOGY.email_identities[0]
    assert mail.subject == f"We have received your order ({record.order.id})"
    assert "24.00 EUR" in mail.body

    assert notifications.handle(event) == 0  # the queue delivered it again
    assert len(sent()) == 1


def test_a_failed_send_is_recorded_and_the_retry_sends_it_once(aws, campaign_id):
    shop.place(ALICE, campaign_id, ("MUG-1", 1))
    (message,) = published(aws)
    event = batch.domain_event(message["Body"])
    ses = boto3.client("ses")
    ses.delete_identity(Identity=TOPOLOGY.email_identities[0])  # SES now rejects the sender

    with pytest.raises(notify.DeliveryFailed):
        notifications.handle(event)
    assert sent() == []
    record = OutboxItem.get(*keys.outbox(event.id, "alice@example.com"))
    assert (record.status, int(record.attempts)) == ("failed", 1)
    assert "MessageRejected" in record.last_error

    ses.verify_email_identity(EmailAddress=TOPOLOGY.email_identities[0])
    assert notifications.handle(event) == 1
    assert notifications.handle(event) == 0
    assert len(sent()) == 1
    record = OutboxItem.get(*keys.outbox(event.id, "alice@example.com"))
    assert (record.status, int(record.attempts), record.message_id) == ("sent", 2, sent()[0].id)


def test_a_customer_note_is_e_mailed_and_an_internal_one_is_not(aws, campaign_id):
    record = shop.place(ALICE, campaign_id, ("MUG-1", 1))
    orders.add_note(CARE, record.order.id, internal_note="rang the supplier", customer_note=None)
    orders.add_note(CARE, record.order.id, internal_note="supplier is late", customer_note="Your mug ships Monday.")
    events = [batch.domain_event(m["Body"]) for m in published(aws)]
    assert [e.type for e in events] == ["order.placed", "order.note_added", "order.note_added"]

    assert [notifications.handle(e) for e in events] == [1, 0, 1]
    note_mail = sent()[-1]
    assert note_mail.subject.startswith("News about your order")
    assert "Your mug ships Monday." in note_mail.body
    assert "supplier is late" not in note_mail.body and "rang the supplier" not in note_mail.body


def test_a_staff_decision_e_mails_the_customer(aws, campaign_id):
    record = shop.place(ALICE, campaign_id, ("MUG-2", 30))  # held
    orders.change_order(CARE, record.order.id, OrderAction.REJECT, internal_note="stolen card")
    events = [batch.domain_event(m["Body"]) for m in published(aws)]
    assert [notifications.handle(e) for e in events if e.subject_type == "order"] == [1, 1]
    assert [m.subject.split(" (")[0] for m in sent()] == ["We have received your order", "We could not accept your order"]
    assert "stolen card" not in json.dumps([m.body for m in sent()])


def test_an_event_without_a_customer_address_sends_nothing(aws):
    event = typed({"id": "evt-1", "type": "order.placed", "data": {"order_id": "ord-1", "customer_email": None}})
    assert notifications.handle(event) == 0
    assert sent() == []


def test_the_consumer_reports_only_the_bad_message_as_failed(aws, campaign_id, client):
    shop.place(ALICE, campaign_id, ("MUG-1", 1))
    good = published(aws)
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=aws.queue_urls[NOTIFICATIONS.name], MessageBody="{not json")
    sqs.send_message(
        QueueUrl=aws.queue_urls[NOTIFICATIONS.name],
        MessageBody=json.dumps({"detail": {"type": "order.placed", "data": {"customer_email": "carol@example.com"}}}),
    )  # no event id
    bad = drain(aws.queue_urls[NOTIFICATIONS.name])
    assert len(good) == 1 and len(bad) == 2

    response = client.lambda_.invoke(NOTIFICATIONS.handler, sqs_event([bad[0], *good, bad[1]], queue_arn(aws)))

    assert response.payload == {
        "batchItemFailures": [{"itemIdentifier": bad[0]["MessageId"]}, {"itemIdentifier": bad[1]["MessageId"]}]
    }
    assert [m.destinations["ToAddresses"] for m in sent()] == [["alice@example.com"]]


def test_a_batch_of_good_messages_reports_no_failures(aws, campaign_id, client):
    shop.place(ALICE, campaign_id, ("MUG-1", 1))
    shop.place(ALICE, campaign_id, ("CAP-1", 1))
    messages = published(aws)
    response = client.lambda_.invoke(NOTIFICATIONS.handler, sqs_event(messages, queue_arn(aws)))
    assert response.payload == {"batchItemFailures": []}
    assert len(sent()) == 2
