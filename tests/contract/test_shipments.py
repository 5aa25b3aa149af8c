"""What every store does for the shipments area (`services.ports_shipments`), on both stores: a
shipment record saves under its version with the tracking workflow's fields; a shipped marker and a
carrier event are created once; the PO's pointer follows its shipment (no version of its own); and
the area's reads: what recording a parcel checks, a parcel's orders, its carrier events, its trail."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.domain.audit import AuditEvent
from chalicelib.domain.errors import AlreadyExists, Conflict
from chalicelib.domain.orders import DeliveryStatus
from chalicelib.domain.permissions import SYSTEM
from chalicelib.domain.shipments import CarrierEvent, Shipment, ShipmentStatus, TimelineEntry, TrackingStatus
from chalicelib.services.ports import Record, Save, Store
from chalicelib.services.ports_purchase_orders import POShipment
from chalicelib.services.ports_shipments import DeliveryToShip, ShipmentRecord, ShippedOrder, TrackEvent
from tests.contract.test_orders import create, order
from tests.unit.factories import NOW

MIN = timedelta(minutes=1)


def shipment(tracking: str = "JD0001", *, shipment_id: str = "shp-1", orders: tuple[str, ...] = ("ord-1",)) -> Shipment:
    return Shipment(
        id=shipment_id,
        carrier="dhl",
        tracking_number=tracking,
        po_id="po-cmp-1-acme",
        supplier_id="acme",
        campaign_id="cmp-1",
        order_ids=list(orders),
        created_at=NOW,
    )


def recorded(store: Store, s: Shipment) -> None:
    store.commit([Save(ShipmentRecord(s), None)], what=f"shipment {s.id}", at=NOW)


def carrier_event(tracking: str = "JD0001", minutes: int = 1, code: str = "PU") -> CarrierEvent:
    return CarrierEvent(tracking, code, TrackingStatus.IN_TRANSIT, NOW + minutes * MIN, "picked up", "Leipzig")


def parcel_event(s: Shipment, n: int) -> AuditEvent:
    return AuditEvent(
        id=f"evt-{n:03d}",
        subject_type="shipment",
        subject_id=s.ref,
        type="shipment.status_changed",
        actor=SYSTEM,
        at=NOW + n * MIN,
        to_status=s.status.value,
        data={"shipment_id": s.id, "n": n},
    )


def test_a_shipment_record_is_created_once_and_loads_with_the_workflows_fields(store: Store):
    s = shipment()
    s.timeline = [TimelineEntry("in_transit", "PU", NOW + MIN, "picked up", "Leipzig")]
    s.status, s.status_at, s.last_event_at = ShipmentStatus.IN_TRANSIT, NOW + MIN, NOW + MIN
    store.commit(
        [Save(ShipmentRecord(s, task_token="tok-1", execution_arn="arn:x", stale_count=1, customer_told_delayed=True), None)],
        what="shipment shp-1",
        at=NOW,
    )
    found = store.load(ShipmentRecord, "dhl", "JD0001")
    assert found is not None and found.version == 1
    assert found.value.shipment == s
    assert (found.value.task_token, found.value.execution_arn, found.value.stale_count) == ("tok-1", "arn:x", 1)
    assert found.value.customer_told_delayed is True and found.value.superseded_by is None
    assert store.load(ShipmentRecord, "dhl", "OTHER") is None
    with pytest.raises(AlreadyExists):
        recorded(store, shipment())


def test_a_shipment_record_saves_under_its_version_and_refuses_a_stale_one(store: Store):
    recorded(store, shipment())
    found = store.load(ShipmentRecord, "dhl", "JD0001")
    assert found is not None
    changed = replace(found.value, superseded_by="dhl#JD0002", task_token=None)
    store.commit([Save(changed, found.version)], what="shipment shp-1", at=NOW)
    again = store.load(ShipmentRecord, "dhl", "JD0001")
    assert again is not None and again.version == found.version + 1 and again.value.superseded_by == "dhl#JD0002"
    with pytest.raises(Conflict):
        store.commit([Save(replace(found.value, stale_count=3), found.version)], what="shipment shp-1", at=NOW)


def test_an_order_counts_as_shipped_once(store: Store):
    marker = ShippedOrder("po-cmp-1-acme", "ord-1", "shp-1", NOW)
    store.commit([Save(marker, None)], what="purchase order po-cmp-1-acme", at=NOW)
    found = store.load(ShippedOrder, "po-cmp-1-acme", "ord-1")
    assert found is not None and found.value == marker
    with pytest.raises(AlreadyExists):
        store.commit([Save(replace(marker, shipment_id="shp-2"), None)], what="purchase order po-cmp-1-acme", at=NOW)


def test_the_pos_pointer_follows_its_shipment_whatever_was_there(store: Store):
    pointer = POShipment("shp-1", "po-cmp-1-acme", "acme", "dhl", "JD0001", ["ord-1"], "dispatched", NOW)
    store.commit([Save(pointer, 1)], what="shipment shp-1", at=NOW)  # written as it is, none there before
    corrected = replace(pointer, tracking_number="JD0002", status="in_transit")
    store.commit([Save(corrected, 1)], what="shipment shp-1", at=NOW)
    store.commit([Save(corrected, 1)], what="shipment shp-1", at=NOW)  # again: no version of its own to conflict
    found = store.load(POShipment, "po-cmp-1-acme", "shp-1")
    assert found is not None and found.version == 1 and found.value == corrected


def test_a_carrier_event_is_kept_once_and_listed_with_its_parcel(store: Store):
    first = TrackEvent("dhl", carrier_event(minutes=1), NOW, webhook_id="wh-1")
    second = TrackEvent("dhl", carrier_event(minutes=2, code="OD"), NOW)
    elsewhere = TrackEvent("dhl", carrier_event("JD0009"), NOW)
    for t in (first, second, elsewhere):
        store.commit([Save(t, None)], what=f"tracking {t.ref}", at=NOW)
    with pytest.raises(AlreadyExists):
        store.commit([Save(first, None)], what=f"tracking {first.ref}", at=NOW)
    store.commit([Save(first, 1)], what=f"tracking {first.ref}", at=NOW)  # a replay writes it as it is
    listed = sorted(store.track_events("dhl", "JD0001"), key=lambda t: t.event.occurred_at)
    assert listed == [first, second]
    assert store.track_events("ups", "JD0001") == []
    found = store.load(TrackEvent, "dhl", "JD0001", first.event.key)
    assert found is not None and found.value == first


def test_recording_a_parcel_reads_the_deliveries_the_shipped_orders_and_whether_the_parcel_is_known(store: Store):
    accepted = order("ord-1", minutes=1, suppliers=("acme", "bolt"))
    accepted.deliveries[0].status = DeliveryStatus.ACCEPTED
    pending = order("ord-2", minutes=2, campaign_id="cmp-2")
    not_mine = order("ord-3", minutes=3, suppliers=("bolt",))
    create(store, accepted, pending, not_mine)
    store.commit([Save(ShippedOrder("po-cmp-1-acme", "ord-2", "shp-0", NOW), None)], what="po", at=NOW)
    asked = ["ord-1", "ord-2", "ord-3", "ord-9"]

    intake = store.shipment_intake("po-cmp-1-acme", "acme", asked, "dhl", "JD0001")
    assert intake.deliveries == {
        "ord-1": DeliveryToShip("ord-1", "cmp-1", DeliveryStatus.ACCEPTED),
        "ord-2": DeliveryToShip("ord-2", "cmp-2", DeliveryStatus.PENDING),
    }
    assert intake.shipped_before == {"ord-2"} and intake.parcel_known is False

    recorded(store, shipment())
    assert store.shipment_intake("po-cmp-1-acme", "acme", asked, "dhl", "JD0001").parcel_known is True
    assert store.shipment_intake("po-cmp-1-acme", "acme", asked, "ups", "JD0001").parcel_known is False


def test_a_parcels_orders_are_those_that_exist(store: Store):
    create(store, order("ord-1", minutes=1), order("ord-2", minutes=2))
    found = store.parcel_orders(["ord-2", "ord-1", "ord-9"])
    assert sorted(o.id for o in found) == ["ord-1", "ord-2"]
    assert next(o for o in found if o.id == "ord-1").customer_email == "Cust@Example.com"
    assert store.parcel_orders([]) == []


def test_a_parcels_trail_is_its_record_with_its_events_oldest_first(store: Store):
    s = shipment()
    assert store.parcel_trail("dhl", "JD0001") is None
    recorded(store, s)
    store.commit([Record(parcel_event(s, 2)), Record(parcel_event(s, 1))], what="shipment shp-1", at=NOW)
    store.commit([Record(parcel_event(shipment("JD0002", shipment_id="shp-2"), 3))], what="shipment shp-2", at=NOW)
    store.commit([Save(TrackEvent("dhl", carrier_event(), NOW), None)], what="tracking dhl#JD0001", at=NOW)
    trail = store.parcel_trail("dhl", "JD0001")
    assert trail is not None and trail.version == 1 and trail.record.shipment == s
    assert [e.id for e in trail.events] == ["evt-001", "evt-002"]
