"""Shipments on the in-memory store: recording a parcel (what it checks, what it writes in one
transaction), dispatching an order it carries, keeping the tracking execution's token and telling
customers once of a parcel gone quiet. (Completing the shipment stage, starting tracking and the
carrier's events reach Step Functions: tests/api and tests/workflows keep them on moto.)"""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.domain.errors import AlreadyExists, InvalidTransition, NotFound, RuleViolation
from chalicelib.domain.orders import DeliveryAction, DeliveryStatus, Order, apply_delivery_action
from chalicelib.domain.purchase_orders import POLine, PurchaseOrder, Stage, po_id
from chalicelib.domain.shipments import Shipment
from chalicelib.events import TrackingOpened, TrackingStale
from chalicelib.services import shipment_records, shipments
from chalicelib.services.ports import Save
from chalicelib.services.ports_exceptions import Deadline
from chalicelib.services.ports_orders import ShipmentCopy
from chalicelib.services.ports_purchase_orders import PORecord, POShipment
from chalicelib.services.ports_shipments import ShipmentRecord, ShippedOrder
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
