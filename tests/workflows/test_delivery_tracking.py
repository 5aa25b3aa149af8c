"""The delivery tracking state machine (infra/statemachines/delivery_tracking.asl.json), executed
on moto: one execution per shipment opens a wait through the bus and the shipments consumer,
carrier events heartbeat or end it (services.tracking), silence comes back as tracking_stale.

Waits and heartbeats run in real time, so each test makes them short (seconds) through the
settings; every test uses its own supplier, order and tracking number."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chalicelib.adapters import secrets, workflows
from chalicelib.adapters.aws import client
from chalicelib.adapters.dynamodb import keys, shipment_items
from chalicelib.adapters.dynamodb import repository as repo
from chalicelib.adapters.dynamodb.models import (
    AuditEventItem,
    DeliveryIndexItem,
    ExceptionItem,
    InboxItem,
    Item,
    OrderItem,
    ShipmentItem,
    SupplierItem,
    TrackEventItem,
)
from chalicelib.config import settings
from chalicelib.domain.orders import (
    Delivery,
    DeliveryStatus,
    Order,
    OrderLine,
    PaymentMode,
    derive_status,
)
from chalicelib.domain.permissions import Principal, Role
from chalicelib.domain.shipments import ByHand, CarrierEvent, Shipment, TrackingStatus
from chalicelib.local import carrier_sim
from chalicelib.local.pollers import LambdaContext, stream_record
from chalicelib.local.provision import Provisioned
from chalicelib.services import inbound, shipments, tracking
from chalicelib.services.exceptions import exception_id
from chalicelib.topology import INBOUND_WEBHOOKS, SHIPMENTS
from tests.carriers import apply_and_follow
from tests.workflows.conftest import REGION, mail_to, pump, wait_until

CARRIER = "dhl"
CARRIER_SENDER = inbound.carrier_sender(CARRIER)
TRACKING_STATES: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "infra/statemachines/delivery_tracking.asl.json").read_text()
)["States"]


# ---------------------------------------------------------------- driving a queue as Lambda would


def plain(attribute: Any) -> dict[str, Any]:
    """A PynamoDB map attribute as a dict."""
    return dict(attribute.as_dict())


def stream_records(provisioned: Provisioned, pk: str) -> list[dict[str, Any]]:
    """The table stream's records of one partition so far (every page of every shard), as Lambda's
    stream event source hands them over. The stream is the session's: other tests' records are left out."""
    streams = client("dynamodbstreams")
    out: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=provisioned.stream_arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=provisioned.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            if not page["Records"]:
                break
            out += [
                stream_record(r, stream_arn=provisioned.stream_arn, region=REGION)
                for r in page["Records"]
                if r["dynamodb"]["Keys"]["PK"]["S"] == pk
            ]
            iterator = page.get("NextShardIterator")
    return out


# ---------------------------------------------------------------- one parcel and its execution


@dataclass
class Parcel:
    """A supplier with a contact, an order with a dispatched delivery from it, and the shipment
    carrying that order; the means to drive the shipment's tracking execution."""

    provisioned: Provisioned
    supplier_id: str
    supplier_email: str
    order_id: str
    shipment: Shipment
    execution_arn: str = ""
    handled: list[dict[str, Any]] = field(default_factory=list)

    @property
    def tracking_number(self) -> str:
        return self.shipment.tracking_number

    @property
    def subject(self) -> str:
        return f"{CARRIER}#{self.tracking_number}"

    def start(self) -> str:
        arn = shipments.start_tracking(self.shipment)
        assert arn is not None
        self.execution_arn = arn
        return arn

    def pump(self, wait_s: int = 1) -> int:
        from app import shipments_consumer

        messages = pump(self.provisioned, SHIPMENTS.name, shipments_consumer, wait_s=wait_s)
        self.handled += messages
        return len(messages)

    def item(self) -> ShipmentItem:
        found = shipment_items.load(CARRIER, self.tracking_number)
        assert found is not None
        return found

    def until(self, what: Callable[[], bool], timeout_s: float = 20, why: str = "") -> None:
        wait_until(what, self.pump, timeout_s, lambda: f"{why or what}; shipment: {self.item().attribute_values}")

    def wait_token(self, *, not_token: str | None = None) -> str:
        """Until the execution's wait is open and its token stored on the shipment; returns the token."""

        def stored() -> bool:
            token = self.item().task_token
            return token is not None and token != not_token

        self.until(stored, why="a tracking wait to open")
        assert self.item().execution_arn == self.execution_arn
        return str(self.item().task_token)

    def status(self) -> str:
        return str(client("stepfunctions").describe_execution(executionArn=self.execution_arn)["status"])

    def wait_finished(self, timeout_s: float = 15) -> str:
        self.until(lambda: self.status() != "RUNNING", timeout_s, why="the execution to finish")
        return self.status()

    def states_entered(self) -> list[str]:
        return [name for name, _ in self.entered()]

    def entered(self) -> list[tuple[str, datetime]]:
        """Each state the execution entered, with when."""
        return [
            (e["stateEnteredEventDetails"]["name"], e["timestamp"])
            for e in workflows.history(self.execution_arn)
            if "stateEnteredEventDetails" in e
        ]

    def tasks_entered(self) -> list[str]:
        """The waits and events the execution went through (the Task and Succeed states), without
        the Pass and Choice states that count the silence between them."""
        return [name for name in self.states_entered() if TRACKING_STATES[name]["Type"] in {"Task", "Succeed"}]

    def carrier_event(self, status: TrackingStatus) -> str:
        """The carrier reports a scan made just now (applied, then followed up by the shipments consumer)."""
        return apply_and_follow(CARRIER, CarrierEvent(self.tracking_number, status.value, status, datetime.now(UTC)))

    def exception(self) -> ExceptionItem | None:
        return repo.get(keys.exception(exception_id("tracking_stale", "shipment", self.subject)), ExceptionItem)

    def order(self) -> OrderItem:
        found = repo.get(keys.order(self.order_id), OrderItem)
        assert found is not None
        return found

    def order_events(self, type_: str) -> list[AuditEventItem]:
        return [i for i in repo.query_all(keys.order_pk(self.order_id)) if isinstance(i, AuditEventItem) and i.type == type_]

    def shipment_partition(self) -> list[Item]:
        return repo.query_all(keys.shipment_pk(CARRIER, self.tracking_number))


def new_parcel(provisioned: Provisioned) -> Parcel:
    run = uuid.uuid4().hex[:8]
    supplier_id, at = f"sup-{run}", datetime.now(UTC)
    supplier_email = f"dispatch@{supplier_id}.example"
    SupplierItem(
        *keys.supplier(supplier_id), id=supplier_id, name=f"Supplier {run}", contact_emails=[supplier_email], created_at=at
    ).save()
    deliveries = [Delivery(supplier_id, DeliveryStatus.DISPATCHED)]
    order = Order(
        id=f"ord_{run}",
        campaign_id=f"cmp-{run}",
        customer_id=f"cus-{run}",
        customer_email=f"customer-{run}@waybill.example",
        currency="EUR",
        payment_mode=PaymentMode.PREPAID,
        lines=[OrderLine("MUG-1", "Mug", supplier_id, 2, 500)],
        deliveries=deliveries,
        created_at=at,
        status=derive_status(deliveries, False),
    )
    s = Shipment(
        id=f"shp_{run}",
        carrier=CARRIER,
        tracking_number=f"JD{run.upper()}",
        po_id=f"po_{run}",
        supplier_id=supplier_id,
        campaign_id=order.campaign_id,
        order_ids=[order.id],
        created_at=at,
    )
    repo.commit(
        [
            *repo.order_writes(order, version=None, now=at),
            shipment_items.shipment_item(s, at=at, version=None),
            shipment_items.order_copy(s, order.id, at),
        ],
        what="test shipment",
    )
    return Parcel(provisioned, supplier_id, supplier_email, order.id, s)


@pytest.fixture
def tracking_settings(moto_server: Provisioned) -> Iterator[Callable[[int, int], None]]:
    """Set the stale and give-up thresholds (seconds) for this test; restored afterwards."""
    names = ("WAYBILL_TRACKING_STALE_AFTER_S", "WAYBILL_TRACKING_GIVE_UP_AFTER_S")
    saved = {n: os.environ.get(n) for n in names}

    def configure(stale_after_s: int, give_up_after_s: int) -> None:
        os.environ.update(dict(zip(names, (str(stale_after_s), str(give_up_after_s)), strict=True)))
        settings.cache_clear()
        assert (settings().tracking_stale_after_s, settings().tracking_give_up_after_s) == (stale_after_s, give_up_after_s)

    yield configure
    for n, v in saved.items():
        if v is None:
            os.environ.pop(n, None)
        else:
            os.environ[n] = v
    settings.cache_clear()


@pytest.fixture
def parcel(moto_server: Provisioned) -> Parcel:
    return new_parcel(moto_server)


# ---------------------------------------------------------------- tests


def test_carrier_events_keep_the_wait_alive_and_delivered_ends_it(
    parcel: Parcel, tracking_settings: Callable[[int, int], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    tracking_settings(2, 120)
    beats: list[bool] = []
    real_heartbeat = workflows.heartbeat

    def heartbeat(token: str) -> bool:
        beats.append(real_heartbeat(token))
        return beats[-1]

    monkeypatch.setattr(workflows, "heartbeat", heartbeat)

    parcel.start()
    token = parcel.wait_token()
    assert parcel.status() == "RUNNING"

    # An event a second for well over twice the heartbeat (the queue is watched in between, a
    # one-second long poll): each one reaches the open wait, none goes stale.
    began = time.monotonic()
    outcomes = []
    while time.monotonic() - began < 5:
        outcomes.append(parcel.carrier_event(TrackingStatus.IN_TRANSIT))
        parcel.pump(wait_s=1)
    assert not [m for m in parcel.handled if "tracking_stale" in m["Body"]]
    assert outcomes[0] == "moved:in_transit" and len(outcomes) >= 4, outcomes
    assert len(beats) == len(outcomes) and all(beats), beats
    assert parcel.status() == "RUNNING"
    assert parcel.carrier_event(TrackingStatus.DELIVERED) == "moved:delivered"
    assert parcel.wait_finished() == "SUCCEEDED"
    assert parcel.states_entered() == ["Follow", "Ended"], "never stale"
    item = parcel.item()
    assert (item.task_token, int(item.stale_count), item.customer_told_delayed) == (token, 0, False)
    assert parcel.exception() is None
    assert mail_to(parcel.supplier_email) == []
    assert parcel.order_events("order.delayed") == []
    order = parcel.order()
    assert [(d.supplier_id, d.status) for d in order.deliveries] == [(parcel.supplier_id, "delivered")]
    assert order.status == "completed"
    index = repo.get(keys.delivery(parcel.order_id, parcel.supplier_id), DeliveryIndexItem)
    assert index is not None and index.delivery_status == "delivered"
    assert len(parcel.order_events("order.delivered")) == 1
    assert parcel.item().status == "delivered"


def test_silence_raises_tracking_stale_tells_the_customer_once_and_the_wait_reopens(
    parcel: Parcel, tracking_settings: Callable[[int, int], None]
) -> None:
    tracking_settings(2, 120)
    parcel.start()
    first = parcel.wait_token()

    parcel.until(lambda: parcel.exception() is not None, why="tracking_stale to be raised")
    exc = parcel.exception()
    assert exc is not None
    assert (exc.status, exc.kind_name, exc.subject_type, exc.subject_id, int(exc.count), exc.severity) == (
        "open",
        "tracking_stale",
        "shipment",
        parcel.subject,
        1,
        "medium",
    )
    assert exc.GSI3PK == keys.OPEN_EXCEPTIONS_PK
    details = plain(exc.details)
    assert (details["abandoned"], details["shipment_id"], details["last_event_at"]) == (False, parcel.shipment.id, None)
    assert len(mail_to(parcel.supplier_email, "No tracking news")) == 1
    delayed = parcel.order_events("order.delayed")
    assert len(delayed) == 1 and delayed[0].customer_note
    assert plain(delayed[0].data)["reason"] == "tracking_stale"
    assert parcel.item().customer_told_delayed

    # The execution did not stop: it waits again, with a new token.
    second = parcel.wait_token(not_token=first)
    assert second != first
    assert parcel.status() == "RUNNING"
    assert parcel.tasks_entered()[:3] == ["Follow", "Stale", "Follow silent"]

    # Still silent: the exception is bumped and the supplier reminded, the customer not told again.
    parcel.until(lambda: int(getattr(parcel.exception(), "count", 0)) >= 2, why="a second stale")
    exc = parcel.exception()
    assert exc is not None and (exc.status, int(exc.count)) == ("open", 2)
    assert len(parcel.order_events("order.delayed")) == 1
    assert len(mail_to(parcel.supplier_email, "No tracking news")) == 2
    third = parcel.wait_token(not_token=second)

    # The carrier reports again: the problem clears, and delivered ends the run.
    assert parcel.carrier_event(TrackingStatus.IN_TRANSIT) == "moved:in_transit"
    exc = parcel.exception()
    # off the open queue, listed with the resolved ones
    assert exc is not None and exc.status == "resolved" and exc.GSI3PK == keys.RESOLVED_EXCEPTIONS_PK
    assert parcel.item().task_token == third
    assert parcel.carrier_event(TrackingStatus.DELIVERED) == "moved:delivered"
    assert parcel.wait_finished() == "SUCCEEDED"
    assert parcel.states_entered()[-1] == "Ended"
    assert parcel.order().status == "completed"
    assert len(parcel.order_events("order.delayed")) == 1


def test_a_silent_parcel_confirmed_delivered_by_hand_ends_its_wait_resolves_the_stale_problem_and_completes(
    parcel: Parcel, tracking_settings: Callable[[int, int], None]
) -> None:
    """Issue 16: the carrier never reports; logistics confirm the delivery by hand. The running
    execution ends as on a carrier's delivered event (SendTaskSuccess on the stored token)."""
    tracking_settings(2, 120)
    parcel.start()
    parcel.wait_token()
    parcel.until(lambda: parcel.exception() is not None, why="tracking_stale to be raised")
    s = parcel.shipment
    repo.commit([shipment_items.po_pointer(s, datetime.now(UTC))], what="test: the PO's pointer to the parcel")

    logistics = Principal(sub="log-1", roles=frozenset({Role.LOGISTICS}))
    result = tracking.record_by_hand(logistics, s.po_id, s.id, ByHand.DELIVERED, note="signed for, per the depot")
    assert (result.recorded, result.shipment.status.value) == (True, "delivered")
    assert parcel.wait_finished() == "SUCCEEDED"
    assert parcel.states_entered()[-1] == "Ended"
    exc = parcel.exception()
    assert exc is not None and (exc.status, exc.resolution) == ("resolved", "recorded by hand")
    assert parcel.order().status == "completed"
    assert len(parcel.order_events("order.delivered")) == 1
    [change] = [i for i in parcel.shipment_partition() if isinstance(i, AuditEventItem) and i.type == "shipment.status_changed"]
    assert (change.actor.sub, change.internal_note, plain(change.data)["source"]) == (
        "log-1",
        "signed for, per the depot",
        "manual",
    )


def assert_abandoned_to_staff(parcel: Parcel, *, reminders: int) -> None:
    """The execution ended in Abandoned, and staff were handed the parcel: a high-severity
    tracking_stale, the supplier told once, the customer told of the delay once."""
    assert parcel.states_entered()[-1] == "Abandoned"
    parcel.until(
        lambda: plain(getattr(parcel.exception(), "details", {}) or {}).get("abandoned") is True,
        why="the abandoned shipment's exception",
    )
    exc = parcel.exception()
    assert exc is not None
    assert (exc.status, exc.severity, exc.subject_id) == ("open", "high", parcel.subject)
    assert len(mail_to(parcel.supplier_email, "Tracking abandoned")) == 1
    assert len(mail_to(parcel.supplier_email, "No tracking news")) == reminders
    assert len(parcel.order_events("order.delayed")) == 1


def test_a_carrier_silent_for_the_give_up_time_is_abandoned_to_staff_after_a_stale_reminder_each_stale_period(
    parcel: Parcel, tracking_settings: Callable[[int, int], None]
) -> None:
    """The production ratio (stale 3 d, give-up 60 d), scaled down: stale 2 s, give-up 10 s. Each
    stale period reopens the wait; the give-up time still counts from the start of the silence."""
    tracking_settings(2, 10)
    parcel.start()
    parcel.wait_token()

    assert parcel.wait_finished(timeout_s=45) == "SUCCEEDED"
    assert parcel.tasks_entered() == ["Follow", *["Stale", "Follow silent"] * 4, "Abandoned"]
    entered = dict(reversed(parcel.entered()))  # the first time each state was entered
    silent_for = (entered["Abandoned"] - entered["Follow"]).total_seconds()
    assert 10 <= silent_for < 10 + 8, silent_for  # the waits, plus each reopening's own time (~0.5 s on moto)
    assert_abandoned_to_staff(parcel, reminders=4)


def test_the_give_up_time_counts_from_the_carriers_last_event_not_from_the_start(
    parcel: Parcel, tracking_settings: Callable[[int, int], None]
) -> None:
    """Stale 3 s, give-up 12 s: the carrier goes quiet, is reported stale, speaks once during the
    reopened wait, then goes quiet for good. Staff get the parcel 12 s (give or take a stale
    period) after that event, not 12 s after the start."""
    tracking_settings(3, 12)
    started = datetime.now(UTC)
    parcel.start()
    first = parcel.wait_token()
    parcel.wait_token(not_token=first)  # the wait reopened after the first stale period
    opened = max(at for name, at in parcel.entered() if name == "Follow silent")
    # A second into the reopened wait (a report within its first second is not told from silence).
    time.sleep(max(0.0, (opened + timedelta(seconds=1.3) - datetime.now(UTC)).total_seconds()))
    spoke = datetime.now(UTC)
    assert spoke < opened + timedelta(seconds=2.5), "the report must come before the reopened wait's heartbeat ends it"
    assert parcel.carrier_event(TrackingStatus.IN_TRANSIT) == "moved:in_transit"

    assert parcel.wait_finished(timeout_s=45) == "SUCCEEDED"
    tasks = parcel.tasks_entered()
    assert tasks[:4] == ["Follow", "Stale", "Follow silent", "Follow"], "the report started tracking afresh"
    assert tasks[-1] == "Abandoned"
    abandoned = max(at for name, at in parcel.entered() if name == "Abandoned")
    assert (abandoned - started).total_seconds() > 12 + 3, "not counted from the start"
    quiet_for = (abandoned - spoke).total_seconds()
    assert 12 <= quiet_for < 12 + 2 * 3 + 6, quiet_for  # at most a stale period late, plus the reopenings
    assert_abandoned_to_staff(parcel, reminders=tasks.count("Stale"))


def test_a_give_up_time_shorter_than_the_stale_time_abandons_at_the_first_silence_without_a_reminder(
    parcel: Parcel, tracking_settings: Callable[[int, int], None]
) -> None:
    tracking_settings(3, 2)
    parcel.start()
    parcel.wait_token()

    assert parcel.wait_finished() == "SUCCEEDED"
    assert parcel.tasks_entered() == ["Follow", "Abandoned"]
    assert_abandoned_to_staff(parcel, reminders=0)


def test_the_same_carrier_webhook_delivered_twenty_times_at_once_has_one_effect(parcel: Parcel) -> None:
    from app import inbound_webhooks_consumer, stream_publisher

    secret = carrier_sim.new_secret()
    before = secrets.get_json(secrets.INBOUND_WEBHOOKS)
    secrets.put_json(secrets.INBOUND_WEBHOOKS, {**before, CARRIER_SENDER: [secret]})
    secrets.forget()
    try:
        body = carrier_sim.payload(
            "dhl",
            parcel.tracking_number,
            TrackingStatus.IN_TRANSIT,
            datetime.now(UTC) - timedelta(minutes=1),
            location="Leipzig, DE",
        )
        raw, headers = carrier_sim.signed_request(body, secret)

        barrier = threading.Barrier(20)
        results: list[str] = []
        errors: list[BaseException] = []
        lock = threading.Lock()

        def deliver() -> None:
            barrier.wait()
            try:
                received = inbound.receive(CARRIER_SENDER, raw, headers, inbound.parse_carrier(CARRIER))
                with lock:
                    results.append(received.status)
            except BaseException as exc:  # noqa: BLE001 - reported below
                with lock:
                    errors.append(exc)

        threads = [threading.Thread(target=deliver) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not errors, errors
        assert Counter(results) == {"accepted": 1, "duplicate": 19}
    finally:
        secrets.put_json(secrets.INBOUND_WEBHOOKS, before)
    webhook_id = headers["webhook-id"]

    # The stream publisher puts the stored webhook's event on the bus (only this webhook's records).
    inbox_pk = keys.inbox_pk(CARRIER_SENDER, webhook_id)
    records = stream_records(parcel.provisioned, inbox_pk)
    assert [r["eventName"] for r in records] == ["INSERT"], "the inbox item, once"
    assert stream_publisher({"Records": records}, LambdaContext("stream_publisher")) == {"published": 1}

    deadline = time.monotonic() + 15
    while parcel.item().status != "in_transit":
        assert time.monotonic() < deadline, "the webhook was never applied"
        pump(parcel.provisioned, INBOUND_WEBHOOKS.name, inbound_webhooks_consumer)
    # A redelivery (the queue's at-least-once) changes nothing: the carrier event is known.
    item = repo.get(keys.inbox(CARRIER_SENDER, webhook_id), InboxItem)
    assert item is not None
    assert inbound.process(CARRIER_SENDER, webhook_id, item.body) == "duplicate"
    assert inbound.process(CARRIER_SENDER, webhook_id) == "duplicate"  # from the stored copy, then marked
    assert inbound.process(CARRIER_SENDER, webhook_id) == "already processed: duplicate"

    partition = parcel.shipment_partition()
    tracks = [i for i in partition if isinstance(i, TrackEventItem)]
    assert len(tracks) == 1 and tracks[0].webhook_id == webhook_id
    changes = [i for i in partition if isinstance(i, AuditEventItem) and i.type == "shipment.status_changed"]
    assert [(c.from_status, c.to_status) for c in changes] == [("dispatched", "in_transit")]
    shipment = parcel.item()
    assert shipment.status == "in_transit" and len(shipment.timeline) == 1
