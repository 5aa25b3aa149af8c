"""Parcels from the supplier to the customer's door: one order across three suppliers moves
through the partial states to `completed`, authorise-then-capture payments are captured as each
delivery ships, the customer follows every parcel, and a corrected tracking number is told once.

What the queues would do is done here by calling the same consumers: `shipments.on_recorded`
(shipments queue), `inbound.apply_carrier_event` (inbound-webhooks queue, after parsing) and the
notifications consumer over the order's published events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.adapters.aws import client
from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb import repository as repo
from chalicelib.adapters.dynamodb.metering import metered
from chalicelib.adapters.dynamodb.models import AuditEventItem
from chalicelib.adapters.dynamodb.store import DynamoStore
from chalicelib.config import settings
from chalicelib.domain.purchase_orders import Stage
from chalicelib.domain.shipments import CarrierEvent, ShipmentStatus, TrackingStatus
from chalicelib.events import StageOverdue
from chalicelib.events import domain_event as typed_event
from chalicelib.handlers import notifications
from chalicelib.handlers.publisher import domain_event
from chalicelib.local.sandbox_gateway import SandboxGateway
from chalicelib.services import shipments, stages, supplier_workflow, uow
from chalicelib.services.ports_purchase_orders import PORecord
from tests.adapters.events import typed
from tests.api import po_support
from tests.api.po_support import ACME, BOLT, accept_deliveries, make_po, po_item
from tests.api.support import SHIP_TO, assert_error
from tests.aws import ALICE, BUYER, CARE, headers
from tests.carriers import apply_and_follow

aws, sfn_calls = po_support.aws, po_support.sfn_calls  # fixtures

COBALT = headers("sup-cobalt", "supplier", supplier_id="cobalt")
SUPPLIERS = {"acme": ACME, "bolt": BOLT, "cobalt": COBALT}
PRICES = {"MUG-1": 1200, "CAP-1": 900, "TEE-1": 1500}
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxGateway]:
    sandbox = SandboxGateway()
    monkeypatch.setenv("WAYBILL_PAYMENT_GATEWAY_URL", sandbox.start())
    monkeypatch.setenv("WAYBILL_PAYMENT_GATEWAY_RETRIES", "0")
    settings.cache_clear()
    yield sandbox
    sandbox.stop()
    settings.cache_clear()


def shipped(po_id_: str) -> int:
    """The PO's orders shipped, as the store reads the PO by its id (its item and its parcels' counts)."""
    found = uow.store().load(PORecord, po_id_)
    assert found is not None
    return found.value.po.orders_shipped


def three_supplier_campaign(api) -> dict[str, Any]:
    for sid in SUPPLIERS:
        assert api.post("/staff/suppliers", BUYER, {"id": sid, "name": sid.title(), "contact_emails": [f"orders@{sid}.example"]})[
            0
        ] in (201, 409)
    products = [
        {"sku": sku, "name": sku, "supplier_id": sid, "unit_price_cents": PRICES[sku], "unit_cost_cents": 100}
        for sku, sid in (("MUG-1", "acme"), ("CAP-1", "bolt"), ("TEE-1", "cobalt"))
    ]
    status, campaign = api.post("/staff/campaigns", BUYER, {"name": "Three suppliers", "products": products})
    assert status == 201, campaign
    assert api.post(f"/staff/campaigns/{campaign['id']}/go-live", BUYER, {})[0] == 200
    return campaign


def order_of(api, campaign_id: str, payment_mode: str = "authorise_then_capture") -> dict[str, Any]:
    status, order = api.post(
        "/orders",
        ALICE,
        {
            "campaign_id": campaign_id,
            "payment_mode": payment_mode,
            "shipping_address": SHIP_TO,
            "lines": [{"sku": "MUG-1", "quantity": 2}, {"sku": "CAP-1", "quantity": 1}, {"sku": "TEE-1", "quantity": 1}],
        },
    )
    assert status == 201, order
    return order


def ship(api, po_id: str, supplier: str, tracking_number: str, *order_ids: str, carrier: str = "dhl") -> dict[str, Any]:
    status, shipment = api.post(
        f"/supplier/purchase-orders/{po_id}/shipments",
        SUPPLIERS[supplier],
        {"carrier": carrier, "tracking_number": tracking_number, "order_ids": list(order_ids)},
    )
    assert status == 201, shipment
    shipments.on_recorded(typed({"type": "shipment.recorded", "data": {"carrier": carrier, "tracking_number": tracking_number}}))
    return shipment


def scan(tracking_number: str, status: TrackingStatus | None, hours: float, carrier: str = "dhl", code: str | None = None) -> str:
    return apply_and_follow(
        carrier,
        CarrierEvent(
            tracking_number=tracking_number,
            carrier_code=code or (status.value if status else "??"),
            status=status,
            occurred_at=T0 + timedelta(hours=hours),
            description=f"{status} scan",
            location="Hub",
        ),
    )


def customer_view(api, order_id: str) -> dict[str, Any]:
    status, order = api.get(f"/orders/{order_id}", ALICE)
    assert status == 200, order
    return order


def order_events(order_id: str) -> list[dict[str, Any]]:
    return [domain_event(i) for i in repo.query_all(keys.order_pk(order_id)) if isinstance(i, AuditEventItem)]


def parcel_items(carrier: str, tracking_number: str) -> list[dict[str, Any]]:
    """Everything stored under a parcel's number, as stored."""
    return [i.serialize() for i in repo.query_all(keys.shipment(carrier, tracking_number)[0])]


def send_order_mail(order_id: str) -> list[Any]:
    """The notifications consumer over every event of the order (twice: a redelivery sends nothing)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    client("ses").verify_email_identity(EmailAddress=settings().mail_from)
    for _ in range(2):
        for event in order_events(order_id):
            notifications.handle(typed_event(event))
    return [
        m
        for m in ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages
        if "alice@example.com" in m.destinations["ToAddresses"]
    ]


def test_an_order_from_three_suppliers_moves_through_the_partial_states_to_completed(api, sfn_calls, gateway):
    campaign = three_supplier_campaign(api)
    order = order_of(api, campaign["id"])
    pos = {sid: make_po(campaign["id"], sid, stage=Stage.SHIPMENT, accepted=True) for sid in SUPPLIERS}
    for sid in SUPPLIERS:
        accept_deliveries(sid, order["id"])
    assert customer_view(api, order["id"])["status"] == "ordered"

    seen = []
    ship(api, pos["acme"], "acme", "ACME0001", order["id"])
    seen.append(customer_view(api, order["id"])["status"])
    ship(api, pos["bolt"], "bolt", "BOLT0001", order["id"])
    seen.append(customer_view(api, order["id"])["status"])
    assert scan("ACME0001", TrackingStatus.IN_TRANSIT, 1) == "moved:in_transit"
    assert scan("ACME0001", TrackingStatus.DELIVERED, 5) == "moved:delivered"
    seen.append(customer_view(api, order["id"])["status"])  # one delivered, cobalt not shipped yet
    ship(api, pos["cobalt"], "cobalt", "COBALT01", order["id"])
    seen.append(customer_view(api, order["id"])["status"])
    scan("BOLT0001", TrackingStatus.DELIVERED, 6)
    scan("COBALT01", TrackingStatus.OUT_FOR_DELIVERY, 7)
    seen.append(customer_view(api, order["id"])["status"])
    scan("COBALT01", TrackingStatus.DELIVERED, 9)
    final = customer_view(api, order["id"])
    seen.append(final["status"])
    assert seen == [
        "partially_dispatched",
        "partially_dispatched",
        "partially_delivered",
        "partially_delivered",
        "partially_delivered",
        "completed",
    ]
    assert [d["status"] for d in final["deliveries"]] == ["delivered"] * 3

    # Each supplier's shipment stage ended with its only order shipped: SendTaskSuccess once each.
    assert sorted(output["stage"] for _, output in sfn_calls) == ["shipment"] * 3
    assert all(po_item(p).status == "shipped" for p in pos.values())

    # The customer follows each parcel: carrier, link, status and a customer-facing timeline.
    acme = next(d for d in final["deliveries"] if d["supplier_id"] == "acme")
    [parcel] = acme["shipments"]
    assert parcel["tracking_number"] == "ACME0001" and parcel["carrier_name"] == "DHL"
    assert parcel["tracking_url"].endswith("ACME0001") and parcel["status"] == "delivered"
    assert [(t["status"], t["status_text"]) for t in parcel["timeline"]] == [
        ("in_transit", "On its way"),
        ("delivered", "Delivered"),
    ]
    assert all(t["carrier_code"] is None for t in parcel["timeline"])  # carrier codes are for staff
    staff = get_ok(api, f"/staff/orders/{order['id']}", CARE)
    staff_acme = next(d for d in staff["deliveries"] if d["supplier_id"] == "acme")
    assert [t["carrier_code"] for t in staff_acme["shipments"][0]["timeline"]] == ["in_transit", "delivered"]

    # Authorise-then-capture: one capture per delivery, as it shipped, each in the payment history.
    captures = {p["supplier_id"]: p for p in final["payments"] if p["kind"] == "capture"}
    assert {sid: (p["kind"], p["status"], p["amount_cents"]) for sid, p in captures.items()} == {
        "acme": ("capture", "succeeded", 2 * 1200),
        "bolt": ("capture", "succeeded", 900),
        "cobalt": ("capture", "succeeded", 1500),
    }
    assert len(gateway.transactions) == 3
    assert all(p["gateway_reference"] for p in captures.values())
    # checkout only held the money on the card: an authorisation, which moves nothing
    [held] = [p for p in final["payments"] if p["kind"] == "authorisation"]
    assert held["amount_cents"] == final["total_cents"]
    assert final["money"]["paid_cents"] == 2 * 1200 + 900 + 1500

    # E-mails: shipped (with carrier, number and link) and delivered for each parcel, out for
    # delivery once; each exactly once although the consumer ran every event twice.
    mail = send_order_mail(order["id"])
    subjects = sorted(m.subject.split(" (")[0] for m in mail if "(" + order["id"] in m.subject)
    assert subjects.count("Your order is on its way") == 3
    assert subjects.count("Your parcel has been delivered") == 3
    assert subjects.count("Your parcel is out for delivery") == 1
    shipped = next(m for m in mail if "on its way" in m.subject and "BOLT0001" in m.body)
    assert "https://www.dhl.com/track?tracking-id=BOLT0001" in shipped.body


def get_ok(api, path: str, who: dict[str, str]) -> dict[str, Any]:
    status, body = api.get(path, who)
    assert status == 200, body
    return body


def test_a_prepaid_order_is_not_captured_and_a_parcel_never_moves_backwards(api, sfn_calls, gateway):
    campaign = three_supplier_campaign(api)
    order = order_of(api, campaign["id"], payment_mode="prepaid")
    po = make_po(campaign["id"], "acme", stage=Stage.SHIPMENT, accepted=True)
    accept_deliveries("acme", order["id"])
    ship(api, po, "acme", "ACME0002", order["id"])
    assert scan("ACME0002", TrackingStatus.OUT_FOR_DELIVERY, 10) == "moved:out_for_delivery"
    assert scan("ACME0002", TrackingStatus.IN_TRANSIT, 2) == "recorded"  # older: kept in the timeline only
    assert scan("ACME0002", TrackingStatus.IN_TRANSIT, 2) == "duplicate"
    assert scan("ACME0002", None, 11, code="XYZ") == "recorded"  # a code nobody maps: internal
    view = customer_view(api, order["id"])
    parcel = next(d for d in view["deliveries"] if d["supplier_id"] == "acme")["shipments"][0]
    assert parcel["status"] == "out_for_delivery"
    assert [t["status"] for t in parcel["timeline"]] == ["in_transit", "out_for_delivery"]
    # paid at checkout: one payment record, nothing captured when it ships
    assert [(p["kind"], p["status"]) for p in view["payments"]] == [("payment", "succeeded")]
    assert gateway.transactions == []


def test_the_shipment_stage_ends_when_every_accepted_order_has_left(api, sfn_calls, gateway):
    campaign = three_supplier_campaign(api)
    first, second = order_of(api, campaign["id"], "prepaid"), order_of(api, campaign["id"], "prepaid")
    po = make_po(campaign["id"], "acme", stage=Stage.SHIPMENT, accepted=True, orders_to_ship=2)
    accept_deliveries("acme", first["id"], second["id"])
    version = int(po_item(po).version)
    ship(api, po, "acme", "SPLIT001", first["id"])
    assert sfn_calls == [] and po_item(po).stage == "shipment" and shipped(po) == 1
    ship(api, po, "acme", "SPLIT002", first["id"])  # a second parcel for the same order: counted once
    assert sfn_calls == [] and shipped(po) == 1
    # Neither parcel wrote the PO itself (its count is kept apart): parcels of one PO never wait for each other.
    assert int(po_item(po).version) == version and int(po_item(po).orders_shipped) == 0
    ship(api, po, "acme", "SPLIT003", second["id"])
    assert sfn_calls == [("tok", {"decision": "done", "stage": "shipment"})]
    assert po_item(po).status == "shipped" and int(po_item(po).version) == version + 1  # the last parcel wrote it, once
    # After the stage, a further parcel may only carry orders that left before (goods sent again after a
    # return to sender): recorded, and the stage does not complete twice.
    status, _ = api.post(
        f"/supplier/purchase-orders/{po}/shipments",
        ACME,
        {"carrier": "dhl", "tracking_number": "SPLIT004", "order_ids": [second["id"]]},
    )
    assert status == 201
    assert len(sfn_calls) == 1 and po_item(po).status == "shipped" and shipped(po) == 2
    # A delivery in two parcels is delivered when both are.
    scan("SPLIT001", TrackingStatus.DELIVERED, 3)
    acme = next(d for d in customer_view(api, first["id"])["deliveries"] if d["supplier_id"] == "acme")
    assert acme["status"] == "dispatched" and [p["status"] for p in acme["shipments"]] == ["delivered", "dispatched"]
    scan("SPLIT002", TrackingStatus.DELIVERED, 4)
    acme = next(d for d in customer_view(api, first["id"])["deliveries"] if d["supplier_id"] == "acme")
    assert acme["status"] == "delivered"


def test_a_corrected_tracking_number_is_followed_instead_and_the_customer_told_once(api, sfn_calls, gateway):
    campaign = three_supplier_campaign(api)
    order = order_of(api, campaign["id"], "prepaid")
    po = make_po(campaign["id"], "acme", stage=Stage.SHIPMENT, accepted=True)
    accept_deliveries("acme", order["id"])
    shipment = ship(api, po, "acme", "WRONG001", order["id"])
    path = f"/supplier/purchase-orders/{po}/shipments/{shipment['id']}"
    assert_error(*api.put(path, BOLT, {"carrier": "ups", "tracking_number": "1ZRIGHT01"}), 404)  # not bolt's PO
    status, corrected = api.put(path, ACME, {"carrier": "ups", "tracking_number": "1ZRIGHT01"})
    assert status == 200, corrected
    assert (corrected["id"], corrected["carrier"], corrected["tracking_number"]) == (shipment["id"], "ups", "1ZRIGHT01")
    assert api.put(path, ACME, {"carrier": "ups", "tracking_number": "1ZRIGHT01"}) == (200, corrected)  # a repeat
    shipments.on_corrected(typed({"type": "shipment.corrected", "data": {"carrier": "ups", "tracking_number": "1ZRIGHT01"}}))

    assert scan("WRONG001", TrackingStatus.IN_TRANSIT, 1) == "superseded"  # the old number no longer counts
    assert scan("1ZRIGHT01", TrackingStatus.IN_TRANSIT, 2, carrier="ups") == "moved:in_transit"
    parcel = next(d for d in customer_view(api, order["id"])["deliveries"] if d["supplier_id"] == "acme")["shipments"]
    assert [(p["carrier"], p["tracking_number"], p["status"]) for p in parcel] == [("ups", "1ZRIGHT01", "in_transit")]
    assert parcel[0]["tracking_url"] == "https://www.ups.com/track?tracknum=1ZRIGHT01"
    detail = get_ok(api, f"/supplier/purchase-orders/{po}", ACME)
    assert [(s["tracking_number"], s["status"]) for s in detail["shipments"]] == [("1ZRIGHT01", "in_transit")]

    mail = [m for m in send_order_mail(order["id"]) if "New tracking number" in m.subject]
    assert len(mail) == 1 and "1ZRIGHT01" in mail[0].body


def test_repeating_a_tracking_correction_changes_nothing_and_tells_nobody(api, sfn_calls, gateway):
    campaign = three_supplier_campaign(api)
    order = order_of(api, campaign["id"], "prepaid")
    po = make_po(campaign["id"], "acme", stage=Stage.SHIPMENT, accepted=True, orders_to_ship=2)
    accept_deliveries("acme", order["id"])
    shipment = ship(api, po, "acme", "WRONG001", order["id"])
    other = ship(api, po, "acme", "OTHER001", order["id"])
    path = f"/supplier/purchase-orders/{po}/shipments/{shipment['id']}"
    same = api.put(path, ACME, {"carrier": "dhl", "tracking_number": "WRONG001"})  # what it already has
    assert same[0] == 200 and (same[1]["id"], same[1]["tracking_number"]) == (shipment["id"], "WRONG001")
    body = {"carrier": "ups", "tracking_number": "1ZRIGHT01"}
    status, corrected = api.put(path, ACME, body)
    assert status == 200, corrected
    before = (order_events(order["id"]), parcel_items("ups", "1ZRIGHT01"), parcel_items("dhl", "WRONG001"))

    for _ in range(2):  # the supplier's page sends it again (a double click, a retry)
        assert api.put(path, ACME, body) == (200, corrected)
    after = (order_events(order["id"]), parcel_items("ups", "1ZRIGHT01"), parcel_items("dhl", "WRONG001"))
    assert after == before  # nothing written, no event (so nothing sent, no new tracking execution)
    assert len([m for m in send_order_mail(order["id"]) if "New tracking number" in m.subject]) == 1
    # Another parcel's number is still refused: two parcels never share one.
    assert_error(*api.put(path, ACME, {"carrier": "dhl", "tracking_number": other["tracking_number"]}), 409, "already_exists")


def test_the_last_two_parcels_recorded_together_each_miss_the_end_and_the_consumer_ends_the_stage_once(
    api, sfn_calls, monkeypatch
):
    """Two parcels of one PO read its counts before either commits: neither sees that it ships the last
    order (nor waits for the other: neither writes the PO), both are recorded, and the shipments
    consumer, looking again once their counts are in, ends the stage once."""
    campaign = three_supplier_campaign(api)
    first, second = order_of(api, campaign["id"], "prepaid"), order_of(api, campaign["id"], "prepaid")
    po = make_po(campaign["id"], "acme", stage=Stage.SHIPMENT, accepted=True, orders_to_ship=2)
    accept_deliveries("acme", first["id"], second["id"])
    real_intake = DynamoStore.shipment_intake

    def together(self: DynamoStore, *args: Any, **kwargs: Any) -> Any:
        read = real_intake(self, *args, **kwargs)
        if args[2] == [first["id"]]:  # the first parcel has read: the second is recorded before it commits
            post("TOGETHER2", second["id"])
        return read

    def post(tracking_number: str, order_id: str) -> None:
        body = {"carrier": "dhl", "tracking_number": tracking_number, "order_ids": [order_id]}
        status, answer = api.post(f"/supplier/purchase-orders/{po}/shipments", ACME, body)
        assert status == 201, answer

    def consumed(tracking_number: str) -> None:
        shipments.on_recorded(
            typed({"type": "shipment.recorded", "data": {"carrier": "dhl", "tracking_number": tracking_number}})
        )

    monkeypatch.setattr(DynamoStore, "shipment_intake", together)
    post("TOGETHER1", first["id"])
    assert shipped(po) == 2 and sfn_calls == [] and po_item(po).stage == "shipment"  # both counted, neither ended it
    consumed("TOGETHER2")
    consumed("TOGETHER1")
    consumed("TOGETHER2")  # a redelivery
    assert sfn_calls == [("tok", {"decision": "done", "stage": "shipment"})]
    assert po_item(po).status == "shipped" and shipped(po) == 2


@pytest.mark.parametrize(("orders_to_ship", "reads_made"), [(2, 1), (1, 2)])
def test_a_parcel_recorded_while_a_reminder_changes_the_po_is_recorded(api, sfn_calls, monkeypatch, orders_to_ship, reads_made):
    """The stage's reminder writes the PO between the supplier's read and its commit: the parcel is
    recorded anyway, not refused with a 409 the supplier can do nothing about. A parcel that does not
    end the stage does not write the PO, so the reminder is no conflict at all (one read); the last
    parcel writes it under its version, so it reads it again and ends the stage on the fresh PO."""
    campaign = three_supplier_campaign(api)
    order = order_of(api, campaign["id"], payment_mode="prepaid")
    po = make_po(campaign["id"], "acme", stage=Stage.SHIPMENT, accepted=True, orders_to_ship=orders_to_ship)
    accept_deliveries("acme", order["id"])
    real_load = stages.loaded_po  # the supplier's read: the PO with the deliveries, checked here
    reads = [0]

    def reminded_meanwhile(*args: Any, **kwargs: Any) -> Any:
        loaded = real_load(*args, **kwargs)
        reads[0] += 1
        if reads[0] == 1:
            assert supplier_workflow.stage_overdue(StageOverdue(po_id=po, stage="shipment", overdue_at="t1")).action
        return loaded

    monkeypatch.setattr(stages, "loaded_po", reminded_meanwhile)
    status, body = api.post(
        f"/supplier/purchase-orders/{po}/shipments",
        SUPPLIERS["acme"],
        {"carrier": "dhl", "tracking_number": "BUSY0001", "order_ids": [order["id"]]},
    )
    assert status == 201, body
    assert reads[0] == reads_made
    assert repo.po_from_item(po_item(po)).reminders == {"shipment": 1} and shipped(po) == 1
    assert len(sfn_calls) == (1 if orders_to_ship == 1 else 0) and po_item(po).status == (
        "shipped" if orders_to_ship == 1 else "open"
    )


def test_a_parcel_delivered_while_its_orders_are_dispatched_delivers_the_order_and_keeps_the_customers_copy(
    api, sfn_calls, gateway, monkeypatch
):
    """The race behind the first: the shipment consumer has read the parcel (in transit), then the
    carrier's delivered event is applied before it dispatches the order. The copy the carrier's event
    wrote stays (delivered), and the delivery is finished from the parcel as it is after the dispatch."""
    campaign = three_supplier_campaign(api)
    order = order_of(api, campaign["id"], payment_mode="prepaid")
    po = make_po(campaign["id"], "acme", stage=Stage.SHIPMENT, accepted=True)
    accept_deliveries("acme", order["id"])
    status, _ = api.post(
        f"/supplier/purchase-orders/{po}/shipments",
        SUPPLIERS["acme"],
        {"carrier": "dhl", "tracking_number": "RACE0001", "order_ids": [order["id"]]},
    )
    assert status == 201
    assert scan("RACE0001", TrackingStatus.IN_TRANSIT, 1) == "moved:in_transit"
    real_dispatch = shipments._dispatch

    def delivered_meanwhile(order_id: str, s: Any) -> None:
        assert s.status is ShipmentStatus.IN_TRANSIT  # what the consumer read
        assert scan("RACE0001", TrackingStatus.DELIVERED, 3) == "moved:delivered"
        real_dispatch(order_id, s)

    monkeypatch.setattr(shipments, "_dispatch", delivered_meanwhile)
    shipments.on_recorded(typed({"type": "shipment.recorded", "data": {"carrier": "dhl", "tracking_number": "RACE0001"}}))
    acme = next(d for d in customer_view(api, order["id"])["deliveries"] if d["supplier_id"] == "acme")
    assert acme["status"] == "delivered"
    assert acme["shipments"][0]["status"] == "delivered"
    assert [e["status"] for e in acme["shipments"][0]["timeline"]] == ["in_transit", "delivered"]


def test_a_parcel_delivered_before_its_shipment_was_dispatched_still_delivers_the_order(api, sfn_calls, gateway):
    """The carrier can be faster than the shipments queue: its events reach the parcel (and the
    customer's copy) before the shipment consumer dispatched the order. The consumer then dispatches
    and completes the delivery instead of taking the copy for a finished job."""
    campaign = three_supplier_campaign(api)
    order = order_of(api, campaign["id"], payment_mode="prepaid")
    po = make_po(campaign["id"], "acme", stage=Stage.SHIPMENT, accepted=True)
    accept_deliveries("acme", order["id"])
    status, _ = api.post(
        f"/supplier/purchase-orders/{po}/shipments",
        SUPPLIERS["acme"],
        {"carrier": "dhl", "tracking_number": "FAST0001", "order_ids": [order["id"]]},
    )
    assert status == 201
    assert scan("FAST0001", TrackingStatus.DELIVERED, 3) == "moved:delivered"
    early = next(d for d in customer_view(api, order["id"])["deliveries"] if d["supplier_id"] == "acme")
    assert early["status"] == "accepted" and early["shipments"][0]["status"] == "delivered"
    shipments.on_recorded(typed({"type": "shipment.recorded", "data": {"carrier": "dhl", "tracking_number": "FAST0001"}}))
    view = customer_view(api, order["id"])
    acme = next(d for d in view["deliveries"] if d["supplier_id"] == "acme")
    assert acme["status"] == "delivered" and view["status"] == "partially_delivered"
    shipments.on_recorded(typed({"type": "shipment.recorded", "data": {"carrier": "dhl", "tracking_number": "FAST0001"}}))
    events = [e["type"] for e in order_events(order["id"])]
    assert events.count("order.shipped") == 1 and events.count("order.delivered") == 1


def test_recording_a_parcel_reads_once_the_po_with_its_deliveries_and_writes_once(api, sfn_calls, gateway):
    campaign = three_supplier_campaign(api)
    first, second = order_of(api, campaign["id"], "prepaid"), order_of(api, campaign["id"], "prepaid")
    po = make_po(campaign["id"], "acme", stage=Stage.SHIPMENT, accepted=True, orders_to_ship=2)
    accept_deliveries("acme", first["id"], second["id"])
    path = f"/supplier/purchase-orders/{po}/shipments"
    with metered() as m:
        status, _ = api.post(path, ACME, {"carrier": "dhl", "tracking_number": "ONCE0001", "order_ids": [first["id"]]})
    assert status == 201
    assert dict(m.requests) == {"BatchGetItem": 1, "TransactWriteItems": 1}, "the PO and the deliveries: both keys known"
    with metered() as m:  # the last order: the stage completes in the same transaction
        status, _ = api.post(path, ACME, {"carrier": "dhl", "tracking_number": "ONCE0002", "order_ids": [second["id"]]})
    assert status == 201
    assert dict(m.requests) == {"BatchGetItem": 1, "TransactWriteItems": 1}
    assert sfn_calls == [("tok", {"decision": "done", "stage": "shipment"})]
