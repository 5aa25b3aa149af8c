"""Carriers report tracking events by Standard Webhooks signed callbacks, each in its own format:
verified with the carrier's active secrets, checked, stored once, then applied to the shipment once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from chalicelib.adapters import secrets
from chalicelib.adapters.dynamodb import keys, shipment_items
from chalicelib.adapters.dynamodb import repository as repo
from chalicelib.adapters.dynamodb.models import InboxItem, Item, TrackEventItem
from chalicelib.domain.purchase_orders import Stage
from chalicelib.domain.shipments import TrackingStatus
from chalicelib.local import carrier_sim
from chalicelib.services import exceptions, shipments
from tests.adapters.events import typed
from tests.api import po_support
from tests.api.po_support import ACME, accept_deliveries, make_po
from tests.api.support import assert_error, place, process_webhooks, raw
from tests.aws import ALICE, CARE, live_campaign

aws, sfn_calls = po_support.aws, po_support.sfn_calls  # fixtures

T = TrackingStatus
DHL, DHL_OLD, UPS, STRANGER = (carrier_sim.new_secret() for _ in range(4))
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # when the carrier scanned the parcel (not when it tells us)


@pytest.fixture(autouse=True)
def carrier_secrets(aws):
    boto3.client("secretsmanager", region_name="eu-west-1").put_secret_value(
        SecretId="waybill/webhooks/inbound", SecretString=json.dumps({"carrier:dhl": [DHL, DHL_OLD], "carrier:ups": [UPS]})
    )
    secrets.forget()
    yield
    secrets.forget()


# ---------------------------------------------------------------- helpers


def post(api, carrier: str, body: bytes, hdrs: dict[str, str]) -> tuple[int, Any]:
    r = raw(api, "POST", f"/webhooks/carriers/{carrier}", None, body, {**hdrs, "Content-Type": "application/json"})
    return r.status_code, json.loads(r.body)


def send(
    api, carrier: str, body: dict[str, Any] | str, secret: str, *, webhook_id: str | None = None, at: datetime | None = None
) -> tuple[int, Any]:
    data, hdrs = carrier_sim.signed_request(body, secret, webhook_id=webhook_id, at=at)
    return post(api, carrier, data, hdrs)


def dhl_event(tracking: str, status: TrackingStatus | str, at: datetime, **kw: Any) -> dict[str, Any]:
    return carrier_sim.payload("dhl", tracking, status, at, **kw)


def inbox_items() -> list[InboxItem]:
    return [i for i in Item.scan() if isinstance(i, InboxItem)]


def track_items(carrier: str, tracking: str) -> list[TrackEventItem]:
    return [
        i
        for i in repo.query_all(keys.shipment_pk(carrier, tracking), range_key_condition=Item.SK.startswith(keys.TRACK_PREFIX))
        if isinstance(i, TrackEventItem)
    ]


def record(api, po: str, order_id: str, tracking: str, carrier: str = "dhl") -> dict[str, Any]:
    """The supplier records the parcel (API), then what the shipments consumer does with it."""
    status, shipment = api.post(
        f"/supplier/purchase-orders/{po}/shipments",
        ACME,
        {"carrier": carrier, "tracking_number": tracking, "order_ids": [order_id]},
    )
    assert status == 201, shipment
    assert (
        shipments.on_recorded(typed({"type": "shipment.recorded", "data": {"carrier": carrier, "tracking_number": tracking}}))
        == "dispatched"
    )
    return shipment


def shipped(api, tracking: str = "JD0001", carrier: str = "dhl") -> tuple[str, str]:
    """An order of Alice's whose acme delivery left in one parcel; returns (order id, po id)."""
    campaign = live_campaign(api)
    order = place(api, campaign["id"], ("MUG-1", 1))
    po = make_po(campaign["id"], stage=Stage.SHIPMENT, accepted=True)
    accept_deliveries("acme", order["id"])
    record(api, po, order["id"], tracking, carrier)
    return order["id"], po


def shipment_status(tracking: str, carrier: str = "dhl") -> str:
    item = shipment_items.load(carrier, tracking)
    assert item is not None
    return item.status


def timeline(tracking: str, carrier: str = "dhl") -> list[tuple[str, str]]:
    item = shipment_items.load(carrier, tracking)
    assert item is not None
    return [(t.status, t.carrier_code) for t in item.timeline or []]


# ---------------------------------------------------------------- refusals: nothing stored


@pytest.mark.parametrize(
    "case", ["wrong_secret", "other_carriers_secret", "tampered_body", "old_timestamp", "future_timestamp", "malformed_signature"]
)
def test_an_unverifiable_carrier_webhook_is_a_401_and_stores_nothing(api, case):
    body = dhl_event("JD0001", T.IN_TRANSIT, T0)
    data, hdrs = carrier_sim.signed_request(body, DHL, webhook_id="msg_1")
    if case == "wrong_secret":
        data, hdrs = carrier_sim.signed_request(body, STRANGER, webhook_id="msg_1")
    elif case == "other_carriers_secret":  # UPS's secret is not DHL's
        data, hdrs = carrier_sim.signed_request(body, UPS, webhook_id="msg_1")
    elif case == "tampered_body":
        data = json.dumps(dhl_event("JD0001", T.DELIVERED, T0)).encode()
    elif case == "old_timestamp":
        data, hdrs = carrier_sim.signed_request(body, DHL, webhook_id="msg_1", at=datetime.now(UTC) - timedelta(minutes=6))
    elif case == "future_timestamp":
        data, hdrs = carrier_sim.signed_request(body, DHL, webhook_id="msg_1", at=datetime.now(UTC) + timedelta(minutes=6))
    else:
        hdrs["webhook-signature"] = "v1,not-base64!!"
    assert_error(*post(api, "dhl", data, hdrs), 401, "invalid_signature")
    assert inbox_items() == [] and track_items("dhl", "JD0001") == []


def test_a_timestamp_just_inside_the_tolerance_verifies(api):
    """The 401s above are about the 5 minutes, not about any offset at all."""
    body = dhl_event("JD0001", T.IN_TRANSIT, T0)
    assert send(api, "dhl", body, DHL, webhook_id="msg_old", at=datetime.now(UTC) - timedelta(minutes=4))[0] == 202
    assert send(api, "dhl", body, DHL, webhook_id="msg_new", at=datetime.now(UTC) + timedelta(minutes=4))[0] == 202
    assert sorted(i.webhook_id for i in inbox_items()) == ["msg_new", "msg_old"]


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_carrier_webhook_without_a_signature_header_is_a_400(api, missing):
    data, hdrs = carrier_sim.signed_request(dhl_event("JD0001", T.IN_TRANSIT, T0), DHL)
    error = assert_error(
        *post(api, "dhl", data, {k: v for k, v in hdrs.items() if k != missing}), 400, "missing_signature_headers"
    )
    assert missing in error["message"]
    assert inbox_items() == []


@pytest.mark.parametrize("body", ["this is not json", "[1, 2, 3]"])
def test_a_signed_body_that_is_not_a_json_object_is_a_400(api, body):
    assert_error(*send(api, "dhl", body, DHL), 400, "invalid_json")
    assert inbox_items() == []


def test_an_unknown_carrier_is_a_404_and_stores_nothing(api):
    body = carrier_sim.payload("generic", "PG0001", T.IN_TRANSIT, T0)
    assert_error(*send(api, "pigeon", body, DHL), 404)
    assert inbox_items() == []


@pytest.mark.parametrize(
    "carrier, body, fields",
    [
        ("dhl", {"shipments": [{"id": "JD0001", "events": [{"statusCode": "transit"}]}]}, {"shipments[0].events[0].timestamp"}),
        (
            "dhl",
            {"shipments": [{"events": [{"timestamp": "2026-11-23T08:00:00", "statusCode": "transit"}]}]},
            {"shipments[0].id", "shipments[0].events[0].timestamp"},
        ),
        ("dhl", {"shipments": []}, {"shipments"}),
        ("dhl", carrier_sim.payload("ups", "1Z0001", T.IN_TRANSIT, T0), {"shipments"}),  # another carrier's format
        (
            "ups",
            {
                "trackingNumber": "1Z0001",
                "gmtActivityDate": "2026-11-23",
                "gmtActivityTime": "080000",
                "activityStatus": {"type": "I"},
            },
            {"gmtActivityDate"},
        ),
        ("ups", {"trackingNumber": "1Z0001", "gmtActivityDate": "20261123", "gmtActivityTime": "080000"}, {"activityStatus"}),
    ],
)
def test_a_signed_but_malformed_carrier_payload_is_a_422_with_details(api, carrier, body, fields):
    secret = DHL if carrier == "dhl" else UPS
    error = assert_error(*send(api, carrier, body, secret), 422, "invalid_carrier_payload")
    assert {d["field"] for d in error["details"]} == fields, error
    assert all(d["message"] for d in error["details"])
    assert inbox_items() == []


# ---------------------------------------------------------------- secrets


def test_both_secrets_of_a_rotation_verify(api):
    body = dhl_event("JD0001", T.IN_TRANSIT, T0)
    assert send(api, "dhl", body, DHL, webhook_id="msg_new")[0] == 202
    assert send(api, "dhl", body, DHL_OLD, webhook_id="msg_old")[0] == 202
    assert sorted(i.webhook_id for i in inbox_items()) == ["msg_new", "msg_old"]
    assert {i.provider for i in inbox_items()} == {"carrier:dhl"}


def test_a_carriers_secret_verifies_only_its_own_route(api):
    ups_body = carrier_sim.payload("ups", "1Z0001", T.IN_TRANSIT, T0)
    assert send(api, "ups", ups_body, UPS, webhook_id="msg_ups")[0] == 202
    assert_error(*send(api, "dhl", dhl_event("JD0001", T.IN_TRANSIT, T0), UPS, webhook_id="msg_dhl"), 401, "invalid_signature")
    assert_error(*send(api, "ups", ups_body, DHL, webhook_id="msg_ups2"), 401, "invalid_signature")
    assert [(i.provider, i.webhook_id) for i in inbox_items()] == [("carrier:ups", "msg_ups")]


# ---------------------------------------------------------------- stored once, applied once


def test_an_accepted_webhook_is_stored_raw_and_a_redelivery_is_a_duplicate_applied_once(api, sfn_calls):
    shipped(api, "JD0001")
    data, hdrs = carrier_sim.signed_request(
        dhl_event("JD0001", T.IN_TRANSIT, T0, location="Leipzig, DE"), DHL, webhook_id="msg_1"
    )
    status, ack = post(api, "dhl", data, hdrs)
    assert (status, ack) == (202, {"status": "accepted", "webhook_id": "msg_1"})
    [stored] = inbox_items()
    assert stored.PK == "INBOX#carrier:dhl#msg_1" and stored.provider == "carrier:dhl"
    assert stored.body == data.decode() and stored.processed_at is None and stored.expires_at
    assert shipment_status("JD0001") == "dispatched"  # acknowledged once stored; applied from the queue

    status, ack = post(api, "dhl", data, hdrs)  # the carrier did not see our answer
    assert (status, ack) == (200, {"status": "duplicate", "webhook_id": "msg_1"})
    assert len(inbox_items()) == 1

    assert process_webhooks() == ["moved:in_transit"]
    assert process_webhooks() == []
    [stored] = inbox_items()
    assert stored.processed_at is not None and stored.outcome == "moved:in_transit"
    assert shipment_status("JD0001") == "in_transit" and timeline("JD0001") == [("in_transit", "transit")]
    assert len(track_items("dhl", "JD0001")) == 1

    assert post(api, "dhl", data, hdrs)[0] == 200  # a late redelivery after processing: still nothing
    assert process_webhooks() == [] and len(timeline("JD0001")) == 1


# ---------------------------------------------------------------- a parcel's story


def test_a_parcel_followed_by_webhooks_to_delivery_for_the_customer_and_staff(api, sfn_calls):
    order_id, po = shipped(api, "JD0001")
    assert sfn_calls == [("tok", {"decision": "done", "stage": "shipment"})]
    story = [
        (T.IN_TRANSIT, T0, "Arrived at the sort centre", "Leipzig, DE"),
        (T.OUT_FOR_DELIVERY, T0 + timedelta(hours=20), "Out with the courier", "Berlin, DE"),
        (T.DELIVERED, T0 + timedelta(hours=24), "Handed to the recipient", "Berlin, DE"),
    ]
    for i, (status, at, text, where) in enumerate(story):
        assert (
            send(api, "dhl", dhl_event("JD0001", status, at, description=text, location=where), DHL, webhook_id=f"msg_{i}")[0]
            == 202
        )
        assert process_webhooks() == [f"moved:{status.value}"]
        assert shipment_status("JD0001") == status.value

    status, order = api.get(f"/orders/{order_id}", ALICE)
    assert status == 200, order
    assert order["status"] == "completed"  # its only delivery arrived
    [delivery] = order["deliveries"]
    assert delivery["supplier_id"] == "acme" and delivery["status"] == "delivered"
    [parcel] = delivery["shipments"]
    assert parcel["carrier"] == "dhl" and parcel["carrier_name"] == "DHL" and parcel["tracking_number"] == "JD0001"
    assert parcel["tracking_url"] == "https://www.dhl.com/track?tracking-id=JD0001"
    assert parcel["status"] == "delivered" and parcel["status_text"] == "Delivered"
    assert [(e["status"], e["status_text"], e["description"], e["location"]) for e in parcel["timeline"]] == [
        ("in_transit", "On its way", "Arrived at the sort centre", "Leipzig, DE"),
        ("out_for_delivery", "Out for delivery", "Out with the courier", "Berlin, DE"),
        ("delivered", "Delivered", "Handed to the recipient", "Berlin, DE"),
    ]
    assert all(e["carrier_code"] is None for e in parcel["timeline"])  # the carrier's codes are internal
    assert "out-for-delivery" not in json.dumps(order)
    # The order's own timeline tells the customer what happened, in words.
    notes = [e["note"] or "" for e in order["timeline"]]
    assert any("on its way with DHL" in n and "JD0001" in n for n in notes), notes
    assert any("out for delivery" in n for n in notes), notes
    assert order["timeline"][-1]["status"] == "completed"

    staff = api.get(f"/staff/orders/{order_id}", CARE)[1]
    [staff_parcel] = staff["deliveries"][0]["shipments"]
    assert [e["carrier_code"] for e in staff_parcel["timeline"]] == ["transit", "out-for-delivery", "delivered"]
    types = [e["type"] for e in staff["events"]]
    assert {"order.shipped", "order.out_for_delivery", "order.delivered"} <= set(types), types
    assert types.count("order.delivered") == 1

    po_detail = api.get(f"/supplier/purchase-orders/{po}", ACME)[1]
    assert [(s["tracking_number"], s["status"]) for s in po_detail["shipments"]] == [("JD0001", "delivered")]


def test_a_delivery_reported_before_the_transit_scan_stays_delivered_and_repeats_count_once(api, sfn_calls):
    order_id, _ = shipped(api, "JD0001")
    delivered = dhl_event("JD0001", T.DELIVERED, T0 + timedelta(hours=24))
    transit = dhl_event("JD0001", T.IN_TRANSIT, T0)
    assert send(api, "dhl", delivered, DHL, webhook_id="msg_a")[0] == 202
    assert send(api, "dhl", transit, DHL, webhook_id="msg_b")[0] == 202
    # The carrier sends the same event again under a new webhook id: the event, not the delivery, repeats.
    assert send(api, "dhl", transit, DHL, webhook_id="msg_c")[0] == 202
    assert send(api, "dhl", delivered, DHL, webhook_id="msg_d")[0] == 202
    assert process_webhooks() == ["moved:delivered", "recorded", "duplicate", "duplicate"]
    assert shipment_status("JD0001") == "delivered"
    assert timeline("JD0001") == [("in_transit", "transit"), ("delivered", "delivered")]  # ordered by when
    assert len(track_items("dhl", "JD0001")) == 2
    order = api.get(f"/orders/{order_id}", ALICE)[1]
    assert order["status"] == "completed" and order["deliveries"][0]["status"] == "delivered"
    [parcel] = order["deliveries"][0]["shipments"]
    assert parcel["status"] == "delivered" and [e["status"] for e in parcel["timeline"]] == ["in_transit", "delivered"]
    staff = api.get(f"/staff/orders/{order_id}", CARE)[1]
    assert [e["type"] for e in staff["events"]].count("order.delivered") == 1


def test_a_ups_parcel_is_followed_in_the_ups_format(api, sfn_calls):
    order_id, _ = shipped(api, "1Z999AA10123456784", carrier="ups")
    for i, (status, at) in enumerate([(T.IN_TRANSIT, T0), (T.OUT_FOR_DELIVERY, T0 + timedelta(hours=3))]):
        body = carrier_sim.payload("ups", "1Z999AA10123456784", status, at)
        assert send(api, "ups", body, UPS, webhook_id=f"ups_{i}")[0] == 202
    assert process_webhooks() == ["moved:in_transit", "moved:out_for_delivery"]
    assert timeline("1Z999AA10123456784", "ups") == [("in_transit", "I/AR"), ("out_for_delivery", "I/OF")]
    [parcel] = api.get(f"/orders/{order_id}", ALICE)[1]["deliveries"][0]["shipments"]
    assert parcel["status"] == "out_for_delivery"
    assert parcel["tracking_url"] == "https://www.ups.com/track?tracknum=1Z999AA10123456784"


# ---------------------------------------------------------------- events before the shipment


def test_an_event_for_an_unknown_tracking_number_is_kept_and_replayed_when_the_shipment_is_recorded(api, sfn_calls):
    campaign = live_campaign(api)
    order = place(api, campaign["id"], ("MUG-1", 1))
    status, ack = send(api, "dhl", dhl_event("JD-EARLY", T.IN_TRANSIT, T0, description="Picked up"), DHL, webhook_id="msg_early")
    assert (status, ack) == (202, {"status": "accepted", "webhook_id": "msg_early"})
    assert process_webhooks() == ["unknown_tracking"]
    [track] = track_items("dhl", "JD-EARLY")
    assert track.status == "in_transit" and track.carrier_code == "transit" and track.webhook_id == "msg_early"
    assert shipment_items.load("dhl", "JD-EARLY") is None
    problem_id = exceptions.exception_id("unknown_tracking", "tracking", "dhl#JD-EARLY")
    problem = exceptions.get(problem_id)
    # pending: within its grace period the supplier usually records the parcel, and nobody is bothered
    assert problem is not None and problem.status == "pending"
    assert problem.details["tracking_number"] == "JD-EARLY" and problem.details["webhook_id"] == "msg_early"

    po = make_po(campaign["id"], stage=Stage.SHIPMENT, accepted=True)
    accept_deliveries("acme", order["id"])
    shipment = record(api, po, order["id"], "JD-EARLY")
    assert shipment["status"] == "dispatched"
    assert shipment_status("JD-EARLY") == "in_transit"
    assert timeline("JD-EARLY") == [("in_transit", "transit")]
    resolved = exceptions.get(problem_id)
    assert resolved is not None and resolved.status == "resolved"
    [parcel] = api.get(f"/orders/{order['id']}", ALICE)[1]["deliveries"][0]["shipments"]
    assert parcel["status"] == "in_transit" and [e["description"] for e in parcel["timeline"]] == ["Picked up"]
    # Replaying again (a redelivered shipment.recorded) changes nothing.
    shipments.on_recorded(typed({"type": "shipment.recorded", "data": {"carrier": "dhl", "tracking_number": "JD-EARLY"}}))
    assert timeline("JD-EARLY") == [("in_transit", "transit")]
