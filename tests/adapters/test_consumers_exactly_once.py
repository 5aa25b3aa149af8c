"""Every queue consumer, run as the Lambda runs it (handlers/batch.py), fails once part-way after its
first effect, and the queue delivers the same message again: the effect happened exactly once, and a
third delivery is skipped by the consumer's idempotency record."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from chalicelib.adapters import gateway as gateway_port
from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb import repository as repo
from chalicelib.adapters.dynamodb.metering import metered
from chalicelib.adapters.dynamodb.models import AuditEventItem, ExportRunItem, ProcessedItem
from chalicelib.domain.exports import ExportFormat, ExportKind
from chalicelib.domain.orders import PaymentMode
from chalicelib.domain.purchase_orders import RejectReason, po_id
from chalicelib.domain.shipments import TrackingStatus
from chalicelib.events import Event
from chalicelib.handlers import (
    batch,
    campaigns,
    complaints,
    exports,
    inbound,
    notifications,
    payments,
    po_stages,
    publisher,
    purchase_orders,
    shipments,
)
from chalicelib.handlers import webhooks_out as webhooks_consumer
from chalicelib.local import carrier_sim
from chalicelib.services import catalogue, exceptions, notify, orders, refunds
from chalicelib.services import exports as export_service
from chalicelib.services import inbound as inbound_service
from chalicelib.services import webhooks as webhook_service
from chalicelib.services.clock import now
from chalicelib.topology import CAMPAIGN_ORDERS, COMPLAINTS, EXPORTS, NOTIFICATIONS, PAYMENTS
from tests.adapters import shop, test_exports
from tests.adapters.events import drain, stream_records
from tests.adapters.shop import ALICE, BOB, BUYER
from tests.adapters.test_customer_refunds import closed_order
from tests.adapters.test_exports import ACCOUNTANT, csv_rows, order
from tests.adapters.test_refunds import acknowledged, closed_shop, refunds_of
from tests.adapters.test_webhooks_out import Receiver, event, subscribe, use
from tests.api import po_support, test_shipments
from tests.api.test_carrier_webhooks import T0, shipment_status, shipped, timeline, track_items
from tests.api.test_complaints import accept, delivered_order, ok, open_complaint, propose_and_offer
from tests.api.test_parcel_events_by_hand import shipped_order
from tests.aws import ALICE as ALICE_API

OOS = RejectReason.OUT_OF_STOCK
small = test_exports.small  # fixture: pages of 2 records, parts of 64 bytes
sfn_calls = po_support.sfn_calls  # fixture: Step Functions task answers recorded
gateway = test_shipments.gateway  # fixture: the sandbox payment gateway


@dataclass
class Record:
    """One SQS message as Chalice hands it to a consumer."""

    body: str
    message_id: str = "msg-1"

    def to_dict(self) -> dict[str, Any]:
        return {"messageId": self.message_id, "body": self.body}


def as_message(e: Event) -> Record:
    """What EventBridge puts on a queue for this event."""
    detail = e.payload() if hasattr(e, "payload") else e.model_dump(mode="json")
    return Record(json.dumps({"detail-type": e.type, "detail": detail}))


def from_queue(aws: Any, queue: str, type_: str) -> Record:
    """Publish the stream so far; the queue's one message of this type."""
    publisher.publish(stream_records(aws.stream_arn))
    found = [m for m in drain(aws.queue_urls[queue]) if json.loads(m["Body"])["detail-type"] == type_]
    assert len(found) == 1, found
    return Record(found[0]["Body"], found[0]["MessageId"])


def delivered(handle: Callable[[Any], Any], record: Record) -> list[str]:
    """The consumer's run over one message: the message ids it reported as failed."""
    return [f["itemIdentifier"] for f in batch.process([record], handle)["batchItemFailures"]]


def fail_once(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, *, after: bool = True) -> list[int]:
    """`owner.name` raises once (after doing its work when `after`); returns its call counter."""
    real = getattr(owner, name)
    calls = [0]

    def once(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] > 1:
            return real(*args, **kwargs)
        if after:
            real(*args, **kwargs)
        raise RuntimeError(f"crashed {'after' if after else 'before'} {name}")

    monkeypatch.setattr(owner, name, once)
    return calls


def fails_then_redelivered(handle: Callable[[Any], Any], record: Record) -> None:
    assert delivered(handle, record) == [record.message_id]  # failed part-way: the queue keeps it
    assert delivered(handle, record) == []  # the redelivery finishes the work
    assert delivered(handle, record) == []  # and a third delivery is skipped


def completed(consumer: str, key: str) -> bool:
    item = repo.get(keys.processed(consumer, key), ProcessedItem)
    return item is not None and item.status == repo.COMPLETED


def event_types(pk: str) -> list[str]:
    return [i.type for i in repo.query_all(pk) if isinstance(i, AuditEventItem)]


def sent_to(address: str) -> list[Any]:
    return [m for m in ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages if address in m.destinations["ToAddresses"]]


# ---------------------------------------------------------------- the consumers


def test_notifications_send_the_e_mail_once_when_the_run_fails_after_sending(aws, campaign_id, monkeypatch):
    placed = shop.place(ALICE, campaign_id, ("MUG-1", 1)).order
    record = from_queue(aws, NOTIFICATIONS.name, "order.placed")
    fail_once(monkeypatch, notify, "deliver")

    fails_then_redelivered(notifications.handle, record)

    assert len(sent_to("alice@example.com")) == 1
    assert completed("notifications", batch.domain_event(record.body).idempotency_key)
    assert placed.id in sent_to("alice@example.com")[0].subject


def test_webhooks_out_post_once_per_subscription_when_the_run_fails_after_the_first_post(aws, monkeypatch):
    use(monkeypatch)
    receiver = Receiver()
    try:
        first, second = subscribe(receiver.url), subscribe(receiver.url)
        fail_once(monkeypatch, webhook_service, "_attempt")
        record = Record(json.dumps({"detail-type": "order.placed", "detail": event()}))

        fails_then_redelivered(webhooks_consumer.handle, record)

        ids = sorted(headers["webhook-id"] for headers, _ in receiver.received)
        assert len(ids) == 2 and len(set(ids)) == 2  # one post per subscription, none twice
        assert {webhook_service.rules.webhook_id("evt_0001", s.id) for s in (first, second)} == set(ids)
    finally:
        receiver.close()


def test_payments_refund_once_at_the_gateway_when_the_run_fails_after_the_gateway_answered(
    aws, campaign_id, gateway_up, monkeypatch
):
    order_id = closed_order(campaign_id, PaymentMode.PREPAID)
    purchase_orders.handle(acknowledged(campaign_id, "acme", ("MUG-1", 1, OOS)))
    record = from_queue(aws, PAYMENTS.name, "order.refund_due")
    fail_once(monkeypatch, gateway_port, "refund")  # the gateway refunded; the run died before recording it

    fails_then_redelivered(payments.handle, record)

    [txn] = gateway_up.transactions
    assert (txn["kind"], txn["order_id"], txn["amount_cents"]) == ("refund", order_id, 2 * 1200)
    assert event_types(keys.order_pk(order_id)).count("order.refund_succeeded") == 1


def test_purchase_orders_settle_each_order_once_when_the_run_fails_after_the_first_order(aws, campaign_id, monkeypatch):
    ids = closed_shop(campaign_id)
    ack = acknowledged(campaign_id, "acme", ("MUG-1", 4, OOS), ("MUG-2", 0, RejectReason.DISCONTINUED))
    calls = fail_once(monkeypatch, refunds, "_settle_order")

    fails_then_redelivered(purchase_orders.handle, as_message(ack))

    assert calls[0] > 1
    # as one clean run does it: a refund for each order that lost lines, one lost-lines event each
    assert sum(len(refunds_of(o)) for o in ids.values()) == 2
    assert sum(event_types(keys.order_pk(o)).count("order.lines_rejected") for o in ids.values()) == 2


def test_campaigns_cancel_each_order_once_when_the_run_fails_after_the_first_order(aws, campaign_id, monkeypatch):
    placed = [shop.place(who, campaign_id, ("MUG-1", 1)).order.id for who in (ALICE, BOB)]
    catalogue.cancel_campaign(BUYER, campaign_id, reason="supplier went bust")
    record = from_queue(aws, CAMPAIGN_ORDERS.name, "campaign.cancelled")
    fail_once(monkeypatch, orders, "_cancel_for_campaign")

    fails_then_redelivered(campaigns.handle, record)

    assert [event_types(keys.order_pk(o)).count("order.cancelled") for o in placed] == [1, 1]


def test_po_stages_store_an_opened_stage_once_when_the_run_fails_after_storing_it(aws, campaign_id, monkeypatch):
    closed_shop(campaign_id)
    po = po_id(campaign_id, "acme")
    opened = {"po_id": po, "stage": "acknowledge", "task_token": "tok-ack-1", "deadline_s": 3600}
    record = Record(json.dumps({"detail-type": "po.stage_opened", "detail": opened}))
    before = event_types(keys.po_pk(po)).count("po.stage_started")
    fail_once(monkeypatch, repo, "commit")  # the token and its event are written, then the run dies

    fails_then_redelivered(po_stages.handle, record)

    assert event_types(keys.po_pk(po)).count("po.stage_started") == before + 1


def test_exports_write_every_row_once_when_the_run_fails_after_a_checkpoint(aws, small, monkeypatch):
    for i in range(5):
        order(i)
    run = export_service.request_export(ACCOUNTANT, kind=ExportKind.ORDERS, fmt=ExportFormat.CSV)
    record = from_queue(aws, EXPORTS.name, "export.requested")
    fail_once(monkeypatch, export_service, "_checkpoint")

    fails_then_redelivered(exports.handle, record)

    done = repo.get(keys.export_run(run.id), ExportRunItem)
    assert done is not None and done.status == "done"
    assert sorted(r["order_id"] for r in csv_rows(done)) == [f"ord_{i:03d}" for i in range(5)]
    assert event_types(done.PK).count("export.completed") == 1


# ---------------------------------------------------------------- consumers whose setup goes through the API


def test_shipments_raise_a_stale_parcel_once_when_the_run_fails_after_telling_the_customer(
    aws, api, sfn_calls, gateway, monkeypatch
):
    order, _, shipment = shipped_order(api, "SILENT09")
    stale = {
        "shipment_id": shipment["id"],
        "carrier": "dhl",
        "tracking_number": "SILENT09",
        "execution_arn": "arn:aws:states:eu-west-1:123456789012:execution:tracking:x",
        "stale_at": "2030-01-01T00:00:00Z",
        "abandoned": True,
    }
    record = Record(json.dumps({"detail-type": "shipment.tracking_stale", "detail": stale}))
    fail_once(monkeypatch, exceptions, "raise_or_bump", after=False)

    fails_then_redelivered(shipments.handle, record)

    assert event_types(keys.order_pk(order["id"])).count("order.delayed") == 1
    raised = exceptions.get(exceptions.exception_id("tracking_stale", "shipment", "dhl#SILENT09"))
    assert raised is not None and raised.count == 1


def test_complaints_refund_an_accepted_plan_once_when_the_run_fails_after_the_gateway_answered(
    aws, api, sfn_calls, gateway, monkeypatch
):
    order = delivered_order(api, payment_mode="prepaid", tracking="ACME0009")
    cid = ok(open_complaint(api, order, quantity=2), 201)["id"]
    propose_and_offer(api, cid, [{"sku": "MUG-1", "resolution": "refund", "quantity": 2, "refund_cents": 2000}])
    accept(api, order["id"], cid)
    record = from_queue(aws, COMPLAINTS.name, "complaint.plan_accepted")
    fail_once(monkeypatch, gateway_port, "refund")

    fails_then_redelivered(complaints.handle, record)

    assert [t["amount_cents"] for t in gateway.transactions if t["kind"] == "refund"] == [2000]
    assert ok(api.get(f"/orders/{order['id']}/complaints/{cid}", ALICE_API))["status"] == "resolved"


def test_inbound_applies_a_carrier_event_once_when_the_run_fails_after_applying_it(aws, api, sfn_calls, monkeypatch):
    shipped(api, "JD0009")
    body = json.dumps(carrier_sim.payload("dhl", "JD0009", TrackingStatus.IN_TRANSIT, T0))
    received = {
        "id": "whk_test",
        "type": "webhook.received",
        "subject_type": "webhook",
        "subject_id": "carrier:dhl/msg_9",
        "at": "2030-01-01T00:00:00+00:00",
        "actor": {"sub": "system", "role": "admin"},
        "to_status": "received",
        "data": {"provider": "carrier:dhl", "webhook_id": "msg_9", "event_type": "tracking", "body": body},
    }
    record = Record(json.dumps({"detail-type": "webhook.received", "detail": received}))
    fail_once(monkeypatch, inbound_service, "apply_carrier_events")

    fails_then_redelivered(inbound.handle, record)

    assert shipment_status("JD0009") == "in_transit"
    assert len(track_items("dhl", "JD0009")) == 1
    assert timeline("JD0009") == [("in_transit", "transit")]


def test_a_message_that_is_no_event_is_reported_failed_and_claims_nothing(aws):
    assert delivered(notifications.handle, Record("{not json")) == ["msg-1"]
    assert delivered(notifications.handle, Record(json.dumps({"detail": {"type": "order.placed"}}))) == ["msg-1"]
    assert delivered(notifications.handle, Record(json.dumps({"detail": {"id": "e1", "type": "no.such_type"}}))) == ["msg-1"]


def test_an_event_that_can_have_no_effect_costs_the_consumer_no_record(aws):
    decided = {
        "id": "evt_cancel",
        "type": "order.cancelled",
        "subject_type": "order",
        "subject_id": "ord_1",
        "at": "2030-01-01T00:00:00+00:00",
        "actor": {"sub": "cust-alice", "role": "customer"},
        "from_status": "placed",  # never held: nothing to resolve
        "to_status": "cancelled",
        "data": {"order_id": "ord_1"},
    }
    with metered() as m:
        assert delivered(campaigns.handle, Record(json.dumps({"detail-type": "order.cancelled", "detail": decided}))) == []
    assert m.requests == {}


def test_a_run_in_progress_elsewhere_fails_the_redelivery_until_its_lease_runs_out(aws):
    at = now()
    lease = NOTIFICATIONS.visibility_timeout_s
    assert repo.claim_event("notifications", "evt-1", at, lease_seconds=lease, ttl_seconds=3600) == "claimed"
    assert repo.claim_event("notifications", "evt-1", at, lease_seconds=lease, ttl_seconds=3600) == repo.IN_PROGRESS
    later = at + timedelta(seconds=lease + 1)  # that run crashed: its lease ran out
    assert repo.claim_event("notifications", "evt-1", later, lease_seconds=lease, ttl_seconds=3600) == "claimed"
    repo.complete_event("notifications", "evt-1", later)
    assert repo.claim_event("notifications", "evt-1", later, lease_seconds=lease, ttl_seconds=3600) == repo.COMPLETED
    expired = later + timedelta(seconds=3601)  # the TTL passed before DynamoDB deleted the record
    assert repo.claim_event("notifications", "evt-1", expired, lease_seconds=lease, ttl_seconds=3600) == "claimed"


# ---------------------------------------------------------------- carrier webhooks guard themselves


def carrier_message(events: list[tuple[str, TrackingStatus, int]], webhook_id: str = "msg_g") -> Record:
    """A `webhook.received` message for a DHL webhook with its body inline, as the stream publisher
    makes it: (tracking number, status, minutes after T0) per event."""
    shipments_ = [
        carrier_sim.payload("dhl", number, status, T0 + timedelta(minutes=minutes))["shipments"][0]
        for number, status, minutes in events
    ]
    received = {
        "id": f"whk_{webhook_id}",
        "type": "webhook.received",
        "subject_type": "webhook",
        "subject_id": f"carrier:dhl/{webhook_id}",
        "at": "2030-01-01T00:00:00+00:00",
        "actor": {"sub": "system", "role": "admin"},
        "to_status": "received",
        "data": {
            "provider": "carrier:dhl",
            "webhook_id": webhook_id,
            "event_type": None,
            "body": json.dumps({"shipments": shipments_}),
        },
    }
    return Record(json.dumps({"detail-type": "webhook.received", "detail": received}), message_id=webhook_id)


def unknown_tracking(number: str) -> Any:
    return exceptions.get(exceptions.exception_id("unknown_tracking", "tracking", f"dhl#{number}"))


def test_a_carrier_event_for_a_recorded_parcel_costs_the_consumer_no_record_and_a_redelivery_has_no_effect(aws, api, sfn_calls):
    shipped(api, "JD0021")
    record = carrier_message([("JD0021", TrackingStatus.IN_TRANSIT, 0)])

    with metered() as m:
        assert delivered(inbound.handle, record) == []
    assert m.requests == {"GetItem": 1, "TransactWriteItems": 1}  # no claim, no complete
    with metered() as m:
        assert delivered(inbound.handle, record) == []  # the queue delivers it again
    # a repeat reads the parcel's carrier events (it is not newer than the last) and its transaction is
    # refused by the create-only TRACK item: no record is written either way
    assert m.requests == {"GetItem": 1, "Query": 1, "TransactWriteItems": 1}

    assert len(track_items("dhl", "JD0021")) == 1
    assert timeline("JD0021") == [("in_transit", "transit")]
    assert repo.get(keys.processed("inbound", "whk_msg_g"), ProcessedItem) is None


def test_a_carrier_event_for_an_unknown_number_is_kept_and_raised_once_under_the_consumers_record(aws):
    record = carrier_message([("JD-NOBODY", TrackingStatus.IN_TRANSIT, 0)])

    assert delivered(inbound.handle, record) == []
    assert delivered(inbound.handle, record) == []

    assert len(track_items("dhl", "JD-NOBODY")) == 1
    problem = unknown_tracking("JD-NOBODY")
    assert problem is not None and problem.count == 1  # the redelivery did not bump it
    assert completed("inbound", "whk_msg_g")


def test_a_webhook_with_known_and_unknown_parcels_applies_each_once_when_the_run_fails_after_keeping(
    aws, api, sfn_calls, monkeypatch
):
    shipped(api, "JD0022")
    record = carrier_message([("JD0022", TrackingStatus.IN_TRANSIT, 0), ("JD-LATER", TrackingStatus.IN_TRANSIT, 1)])
    fail_once(monkeypatch, exceptions, "raise_or_bump")  # the unknown number's exception, then a crash

    fails_then_redelivered(inbound.handle, record)

    assert timeline("JD0022") == [("in_transit", "transit")] and len(track_items("dhl", "JD0022")) == 1
    assert len(track_items("dhl", "JD-LATER")) == 1
    problem = unknown_tracking("JD-LATER")
    assert problem is not None and problem.count == 2  # the crashed run's bump and the redelivery's: nothing is lost
    assert completed("inbound", "whk_msg_g")


def test_the_outcomes_of_a_carrier_webhook_keep_their_order_and_a_handled_message_reads_duplicate(aws, api, sfn_calls):
    shipped(api, "JD0023")
    events = [("JD-ALONE", TrackingStatus.IN_TRANSIT, 0), ("JD0023", TrackingStatus.IN_TRANSIT, 1)]
    record = json.loads(carrier_message(events).body)["detail"]["data"]
    handled: list[Callable[[], list[str]]] = []

    def skipped(work: Callable[[], list[str]]) -> list[str] | None:
        handled.append(work)
        return None  # the consumer's record says this message was handled already

    outcomes = inbound_service.process("carrier:dhl", "msg_g", record["body"], once=skipped)

    assert outcomes == "duplicate, moved:in_transit" and len(handled) == 1
    assert track_items("dhl", "JD-ALONE") == [] and unknown_tracking("JD-ALONE") is None
