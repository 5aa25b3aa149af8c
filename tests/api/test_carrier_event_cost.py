"""What one carrier event costs on the webhook's own path (the inbound consumer applying it), whatever
its status: one read of the parcel and one transaction (the inbox put happened on receipt). What
touches other items (the customers' order events, completing deliveries, the parcel's exceptions)
follows in the shipments consumer, from the `shipment.status_changed` the transaction recorded, and
is checked here to still happen once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.adapters.dynamodb.metering import metered
from chalicelib.domain.purchase_orders import Stage
from chalicelib.domain.shipments import CarrierEvent, TrackingStatus
from chalicelib.services import inbound
from tests.api import po_support
from tests.api.po_support import accept_deliveries, make_po
from tests.api.test_shipments import (
    T0,
    customer_view,
    gateway,  # noqa: F401  (fixture)
    order_events,
    order_of,
    ship,
    three_supplier_campaign,
)
from tests.carriers import follow_all

aws, sfn_calls = po_support.aws, po_support.sfn_calls  # fixtures

FLOOR = {"GetItem": 1, "TransactWriteItems": 1}
T = TrackingStatus


def event(tracking_number: str, status: TrackingStatus, hours: float) -> CarrierEvent:
    return CarrierEvent(tracking_number, status.value, status, T0 + timedelta(hours=hours), f"{status.value} scan", "Hub")


@pytest.fixture
def parcel(api, sfn_calls, gateway):  # noqa: F811
    campaign = three_supplier_campaign(api)
    order = order_of(api, campaign["id"], "prepaid")
    po = make_po(campaign["id"], "acme", stage=Stage.SHIPMENT, accepted=True, orders_to_ship=1)
    accept_deliveries("acme", order["id"])
    ship(api, po, "acme", "COST0001", order["id"])
    return order


@pytest.mark.parametrize(
    "story",
    [
        [T.IN_TRANSIT, T.OUT_FOR_DELIVERY, T.DELIVERED],
        [T.IN_TRANSIT, T.EXCEPTION, T.RETURNED_TO_SENDER],
        [T.OUT_FOR_DELIVERY, T.ATTEMPTED, T.DELIVERED],
    ],
)
def test_every_carrier_event_costs_one_read_and_one_transaction_whatever_its_status(api, parcel, story):
    for hours, status in enumerate(story, start=1):
        with metered() as m:
            outcome = inbound.apply_carrier_event("dhl", event("COST0001", status, hours))
        assert outcome == f"moved:{status.value}"
        assert dict(m.requests) == FLOOR, status
        follow_all()  # the shipments consumer, off the webhook's path


def acme(api, order_id: str) -> str:
    return next(d["status"] for d in customer_view(api, order_id)["deliveries"] if d["supplier_id"] == "acme")


def test_a_delivered_event_delivers_the_suppliers_part_and_tells_the_customer_once_through_the_consumer(api, parcel):
    for hours, status in enumerate((T.OUT_FOR_DELIVERY, T.DELIVERED), start=1):
        inbound.apply_carrier_event("dhl", event("COST0001", status, hours))
    assert acme(api, parcel["id"]) == "dispatched", "nothing beyond the parcel on the webhook's path"
    follow_all()
    follow_all()  # a second delivery of nothing new changes nothing
    assert acme(api, parcel["id"]) == "delivered"
    told = [e["type"] for e in order_events(parcel["id"]) if e["type"] in ("order.out_for_delivery", "order.delivered")]
    assert told == ["order.out_for_delivery", "order.delivered"]
