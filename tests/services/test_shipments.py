"""Shipments on the in-memory store: recording a parcel (what it checks, what it writes in one
transaction), dispatching an order it carries, keeping the tracking execution's token, telling
customers once of a parcel gone quiet, and carrier events applied to a parcel nobody tracks yet
(no task token) and replayed. (Completing the shipment stage, starting tracking, a parcel's end and
the execution's heartbeats reach Step Functions: tests/api and tests/workflows keep them on moto.)"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.domain.errors import AlreadyExists, InvalidTransition, NotFound, RuleViolation
from chalicelib.domain.orders import DeliveryAction, DeliveryStatus, Order, apply_delivery_action
from chalicelib.domain.purchase_orders import POLine, PurchaseOrder, Stage, po_id
from chalicelib.domain.shipments import CarrierEvent, Shipment, ShipmentStatus, TrackingStatus
from chalicelib.events import TrackingOpened, TrackingStale
from chalicelib.services import shipment_records, shipments, tracking
from chalicelib.services.ports import Save
from chalicelib.services.ports_common import Versioned
from chalicelib.services.ports_exceptions import Deadline
from chalicelib.services.ports_orders import ShipmentCopy
from chalicelib.services.ports_purchase_orders import PORecord, POShipment
from chalicelib.services.ports_shipments import ShipmentRecord, ShippedOrder, TrackEvent
from tests.services.conftest import ACME, BOLT, acknowledged, placed, save_new
from tests.unit.factories import NOW

PO = po_id("cmp-1", "acme")


def shipping_po(store, *, to_ship: int = 3, shipped: int = 0) -> PurchaseOrder:
    """The PO in its shipment stage (its token stored), `to_ship` orders to send."""
    po = PurchaseOrder(
        PO, "cmp-1", "acme", "EUR", [POLine("MUG-1", "Mug", 4, 500)], NOW, order_count=to_ship, stage=Stage.SHIPMENT
    )
    po.orders_to_ship, po.orders_shipped = to_ship, shipped
    store.commit([Save(PORecord(po, "tok-shipment", None, "arn:exec"), None)], what="the PO", at=NOW)
    return po


def accepted(order_id: str, *, minutes: int = 0) -> Order:
    return acknowledged(placed(order_id, ("MUG-1", 1), minutes=minutes), "acme", {"MUG-1": 1})


def test_recording_a_parcel_writes_it_its_pointer_its_marker_and_its_deadline_and_counts_the_order(store):
    shipping_po(store)
    save_new(store, accepted("ord-1"))

    view = shipments.record_shipment(ACME, PO, carrier="dhl", tracking_number="JD0001", order_ids=["ord-1"])

    record = store.load(ShipmentRecord, "dhl", "JD0001")
    assert record is not None and record.value.shipment.order_ids == ["ord-1"] and record.value.task_token is None
    assert view.id == record.value.shipment.id and view.status == "dispatched"
    pointer = store.load(POShipment, PO, view.id)
    assert pointer is not None and pointer.value.tracking_number == "JD0001"
    assert store.load(ShippedOrder, PO, "ord-1") is not None
    deadline = store.load(Deadline, "shipment_late:shipment:dhl#JD0001")
    assert deadline is not None and deadline.value.details["shipment_id"] == view.id
    po = store.load(PORecord, PO)
    assert po is not None and po.value.po.orders_shipped == 1 and po.value.task_token == "tok-shipment"  # the stage waits on
    # counted apart from the PO, which the parcel left as it was (another parcel never waits for it)
    assert po.version == 1 and po.value.po.orders_shipped_apart == 1
    assert [e.type for e in store.history("po", PO, limit=10).items] == ["po.shipment_added"]
    recorded = store.history("shipment", "dhl#JD0001", limit=10).items
    assert [e.type for e in recorded] == ["shipment.recorded"] and recorded[0].data["new_order_ids"] == ["ord-1"]
    assert store.commits == 3  # the PO, the order and the one transaction


def test_a_tracking_number_is_recorded_once_and_only_accepted_orders_of_the_supplier_ship(store):
    shipping_po(store)
    pending = placed("ord-2", ("MUG-1", 1))
    save_new(store, accepted("ord-1"), pending, accepted("ord-3", minutes=1))
    shipments.record_shipment(ACME, PO, carrier="dhl", tracking_number="JD0001", order_ids=["ord-1"])

    with pytest.raises(AlreadyExists):
        shipments.record_shipment(ACME, PO, carrier="dhl", tracking_number="JD0001", order_ids=["ord-3"])
    with pytest.raises(RuleViolation) as not_shippable:
        shipments.record_shipment(ACME, PO, carrier="dhl", tracking_number="JD0002", order_ids=["ord-2"])
    assert not_shippable.value.code == "order_not_shippable"
    with pytest.raises(RuleViolation) as unknown:
        shipments.record_shipment(ACME, PO, carrier="dhl", tracking_number="JD0002", order_ids=["ord-3", "ord-9"])
    assert unknown.value.code == "unknown_orders"
    with pytest.raises(RuleViolation):  # the same order twice in one parcel
        shipments.record_shipment(ACME, PO, carrier="dhl", tracking_number="JD0002", order_ids=["ord-3", "ord-3"])
    with pytest.raises(NotFound):  # another supplier's PO
        shipments.record_shipment(BOLT, PO, carrier="dhl", tracking_number="JD0002", order_ids=["ord-3"])
    assert store.load(ShipmentRecord, "dhl", "JD0002") is None


def test_an_order_sent_again_does_not_count_twice_and_a_stage_not_open_refuses_a_parcel(store):
    shipping_po(store)
    save_new(store, accepted("ord-1"))
    shipments.record_shipment(ACME, PO, carrier="dhl", tracking_number="JD0001", order_ids=["ord-1"])
    shipments.record_shipment(ACME, PO, carrier="dhl", tracking_number="JD0002", order_ids=["ord-1"])
    po = store.load(PORecord, PO)
    assert po is not None and po.value.po.orders_shipped == 1
    second = store.history("shipment", "dhl#JD0002", limit=10).items
    assert second[0].data["new_order_ids"] == []

    closed = store.load(PORecord, PO)
    assert closed is not None
    store.commit([Save(replace(closed.value, task_token=None), closed.version)], what="the PO", at=NOW)
    with pytest.raises(InvalidTransition):
        shipments.record_shipment(ACME, PO, carrier="dhl", tracking_number="JD0003", order_ids=["ord-1"])


def parcel(store, *orders: str) -> Shipment:
    s = Shipment("shp-1", "dhl", "JD0001", PO, "acme", "cmp-1", list(orders), NOW)
    store.commit([Save(ShipmentRecord(s), None)], what="the parcel", at=NOW)
    return s


def test_dispatching_gives_the_customer_a_copy_and_moves_the_delivery_once(store):
    save_new(store, accepted("ord-1"))
    s = parcel(store, "ord-1")

    shipments._dispatch("ord-1", s)
    shipments._dispatch("ord-1", s)  # the consumer ran again: nothing more

    order = store.load(Order, "ord-1")
    assert order is not None and order.value.delivery("acme").status is DeliveryStatus.DISPATCHED
    copy = store.load(ShipmentCopy, "ord-1", "shp-1")
    assert copy is not None and copy.value.tracking_number == "JD0001"
    assert [e.type for e in store.history("order", "ord-1", limit=10).items] == ["order.shipped"]


def test_an_order_with_a_copy_and_its_delivery_still_accepted_is_dispatched(store):
    save_new(store, accepted("ord-1"))
    s = parcel(store, "ord-1")
    store.commit([Save(shipment_records.copy_of(s, "ord-1", NOW), 1)], what="a carrier event's copy", at=NOW)
    shipments._dispatch("ord-1", s)
    order = store.load(Order, "ord-1")
    assert order is not None and order.value.delivery("acme").status is DeliveryStatus.DISPATCHED


def opened(token: str) -> TrackingOpened:
    return TrackingOpened(shipment_id="shp-1", carrier="dhl", tracking_number="JD0001", task_token=token, execution_arn="arn:t")


def test_the_tracking_executions_token_is_kept_once(store):
    parcel(store, "ord-1")
    assert shipments.on_tracking_opened(opened("tok-1")) == "stored"
    assert shipments.on_tracking_opened(opened("tok-1")) == "already stored"
    found = store.load(ShipmentRecord, "dhl", "JD0001")
    assert found is not None and (found.value.task_token, found.value.execution_arn, found.version) == ("tok-1", "arn:t", 2)


def test_a_correction_that_loses_the_race_with_the_tracking_token_reads_again_and_is_made(store, monkeypatch):
    """The supplier corrects a number just recorded while the tracking consumer stores its token on the
    same record: the correction's first commit is stale, so it reads again and is made (no 409)."""
    shipping_po(store)
    save_new(store, accepted("ord-1"))
    recorded = shipments.record_shipment(ACME, PO, carrier="dhl", tracking_number="JD0001", order_ids=["ord-1"])
    real_commit, raced = store.commit, []

    def commit(changes, **kwargs):
        if not raced:  # the tracking execution opens between the correction's read and its commit
            raced.append("racing")
            raced.append(shipments.on_tracking_opened(opened("tok-1").model_copy(update={"shipment_id": recorded.id})))
        return real_commit(changes, **kwargs)

    monkeypatch.setattr(store, "commit", commit)
    corrected = shipments.correct_tracking(ACME, PO, recorded.id, carrier="dhl", tracking_number="JD0009")

    assert raced == ["racing", "stored"]
    assert (corrected.id, corrected.tracking_number) == (recorded.id, "JD0009")
    old = store.load(ShipmentRecord, "dhl", "JD0001")
    assert old is not None and old.value.superseded_by is not None and old.value.task_token is None
    assert old.version == 3  # recorded, the token stored, superseded
    assert store.load(ShipmentRecord, "dhl", "JD0009") is not None
    assert [e.type for e in store.history("order", "ord-1", limit=10).items] == ["order.tracking_corrected"]


def stale(*, abandoned: bool = False) -> TrackingStale:
    return TrackingStale(shipment_id="shp-1", carrier="dhl", tracking_number="JD0001", stale_at="t1", abandoned=abandoned)


def test_a_quiet_parcel_tells_each_customer_once_and_raises_tracking_stale(store):
    one, two = accepted("ord-1"), accepted("ord-2", minutes=1)
    for order in (one, two):
        apply_delivery_action(order, "acme", DeliveryAction.DISPATCH)
    save_new(store, one, two)
    parcel(store, "ord-1", "ord-2")

    assert shipments.on_stale(stale()) == "stale"
    assert shipments.on_stale(stale(abandoned=True)) == "abandoned"

    found = store.load(ShipmentRecord, "dhl", "JD0001")
    assert found is not None and found.value.customer_told_delayed and found.value.stale_count == 1
    for order_id in ("ord-1", "ord-2"):
        assert [e.type for e in store.history("order", order_id, limit=10).items] == ["order.delayed"]
    raised = [r for r in store.open_exceptions() if r.kind == "tracking_stale"]
    assert len(raised) == 1 and raised[0].subject_id == "dhl#JD0001" and raised[0].severity == "high"
    assert shipments.on_stale(stale().model_copy(update={"shipment_id": "shp-other"})) == "unknown"


# ---------------------------------------------------------------- carrier events (services.tracking)


def carrier_event(status: TrackingStatus, minutes: int, code: str = "PU", tracking: str = "JD0001") -> CarrierEvent:
    return CarrierEvent(tracking, code, status, NOW + timedelta(minutes=minutes), "at the hub", "Leipzig")


def loaded(store) -> Versioned[ShipmentRecord]:
    found = store.load(ShipmentRecord, "dhl", "JD0001")
    assert found is not None
    return found


def test_a_carrier_event_moves_the_parcel_once_with_the_customers_copies_and_the_pos_pointer(store):
    save_new(store, accepted("ord-1"))
    parcel(store, "ord-1")
    event = carrier_event(TrackingStatus.IN_TRANSIT, 5)

    assert tracking.apply_to_shipment(loaded(store), event, webhook_id="wh-1") == "moved:in_transit"
    assert tracking.apply_to_shipment(loaded(store), event, webhook_id="wh-2") == "duplicate"  # redelivered

    after = loaded(store)
    assert after.version == 2 and after.value.shipment.status is ShipmentStatus.IN_TRANSIT
    copy = store.load(ShipmentCopy, "ord-1", "shp-1")
    assert copy is not None and copy.value.status == "in_transit" and len(copy.value.timeline) == 1
    pointer = store.load(POShipment, PO, "shp-1")
    assert pointer is not None and pointer.value.status == "in_transit"
    kept = store.track_events("dhl", "JD0001")
    assert [(t.event.carrier_code, t.webhook_id) for t in kept] == [("PU", "wh-1")]
    assert [e.type for e in store.history("shipment", "dhl#JD0001", limit=10).items] == ["shipment.status_changed"]


def test_out_for_delivery_tells_each_customer_and_an_older_event_is_kept_without_moving_the_parcel_back(store):
    save_new(store, accepted("ord-1"), accepted("ord-2", minutes=1))
    parcel(store, "ord-1", "ord-2")
    ofd = carrier_event(TrackingStatus.OUT_FOR_DELIVERY, 10, "OFD")
    tracking.apply_to_shipment(loaded(store), ofd)
    for order_id in ("ord-1", "ord-2"):  # the carrier's webhook path writes nothing on the orders
        assert store.history("order", order_id, limit=10).items == []
    tracking.follow_up(loaded(store).value.shipment, ShipmentStatus.OUT_FOR_DELIVERY, ofd)  # the shipments consumer
    assert tracking.apply_to_shipment(loaded(store), carrier_event(TrackingStatus.IN_TRANSIT, 5)) == "recorded"

    assert loaded(store).value.shipment.status is ShipmentStatus.OUT_FOR_DELIVERY
    for order_id in ("ord-1", "ord-2"):
        assert [e.type for e in store.history("order", order_id, limit=10).items] == ["order.out_for_delivery"]
    assert len(store.track_events("dhl", "JD0001")) == 2


def test_carrier_events_that_came_before_the_parcel_are_replayed_oldest_first_once(store):
    save_new(store, accepted("ord-1"))
    for event in (carrier_event(TrackingStatus.OUT_FOR_DELIVERY, 10, "OFD"), carrier_event(TrackingStatus.IN_TRANSIT, 5)):
        store.commit([Save(TrackEvent("dhl", event, NOW), None)], what="kept", at=NOW)
    parcel(store, "ord-1")

    assert tracking.replay_early_events("dhl", "JD0001") == 2
    assert tracking.replay_early_events("dhl", "JD0001") == 2  # the consumer ran again: nothing more

    after = loaded(store)
    assert after.value.shipment.status is ShipmentStatus.OUT_FOR_DELIVERY and len(after.value.shipment.timeline) == 2
    changed = [e for e in store.history("shipment", "dhl#JD0001", limit=10).items if e.type == "shipment.status_changed"]
    assert [e.to_status for e in changed] == ["in_transit", "out_for_delivery"]
