"""After the close, before dispatch: a customer asks to cancel lines (or everything not yet dispatched),
customer care or the PO's own supplier decides; an accepted request takes the lines off the order and
the packing list, tells the supplier, settles the money per payment mode and, when a whole delivery
goes, leaves the PO one order less to ship. Staff correct a shipping address until the delivery leaves.

What the queues would do is done here by calling the same consumers (`shipments.on_recorded`, the
notifications consumer over the order's published events)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.adapters.aws import client
from chalicelib.adapters.dynamodb import repository as repo
from chalicelib.adapters.dynamodb.metering import metered
from chalicelib.config import settings
from chalicelib.domain.purchase_orders import Stage, po_id
from chalicelib.domain.webhooks import OFFERED_EVENT_TYPES, thin_payload
from chalicelib.events import domain_event as typed_event
from chalicelib.handlers import notifications
from chalicelib.services import exceptions as exception_service
from chalicelib.services import supplier_workflow
from tests.adapters.events import typed
from tests.api import po_support, test_shipments
from tests.api.po_support import ACME, BOLT, make_po, po_item
from tests.api.support import LOGISTICS, SHIP_TO, assert_error, place, staff_order
from tests.api.test_packing_list import acknowledge, packing
from tests.api.test_shipments import order_events
from tests.aws import ACCOUNTING, ALICE, BOB, CARE, live_campaign

aws, sfn_calls = po_support.aws, po_support.sfn_calls  # fixtures
gateway = test_shipments.gateway  # fixture: the sandbox payment gateway (captures when a parcel leaves)

NEW_HOME = {
    "name": "Alice Martin",
    "lines": ["3 quai de la Gare"],
    "city": "Lyon",
    "postal_code": "69002",
    "country": "FR",
    "phone": None,
}


def with_the_suppliers(
    api, *lines: tuple[str, int], payment_mode: str = "prepaid", who: dict[str, str] = ALICE
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A campaign whose close sent the order to both suppliers, each accepting all of it; both POs are in
    their shipment stage with one order to ship. Returns (campaign, order, acme's PO id)."""
    campaign = live_campaign(api)
    po = make_po(campaign["id"], "acme", stage=Stage.SHIPMENT, accepted=True, orders_to_ship=1)
    make_po(campaign["id"], "bolt", stage=Stage.SHIPMENT, accepted=True, orders_to_ship=1)
    order = place(api, campaign["id"], *lines, payment_mode=payment_mode, who=who)
    for supplier in ("acme", "bolt"):
        mine = {sku: q for sku, q in lines if (sku == "CAP-1") == (supplier == "bolt")}
        if mine:
            acknowledge(order["id"], supplier, mine)
    return campaign, order, po


def ask(api, order_id: str, body: dict[str, Any], who: dict[str, str] = ALICE) -> list[dict[str, Any]]:
    status, answer = api.post(f"/orders/{order_id}/cancellation-request", who, body)
    assert status == 201, answer
    return answer["items"]


def decide(api, order_id: str, request_id: str, body: dict[str, Any], who: dict[str, str] = CARE) -> dict[str, Any]:
    status, answer = api.post(f"/staff/orders/{order_id}/cancellation-requests/{request_id}/decide", who, body)
    assert status == 200, answer
    return answer


def view(api, order_id: str, who: dict[str, str] = ALICE) -> dict[str, Any]:
    status, order = api.get(f"/orders/{order_id}", who)
    assert status == 200, order
    return order


def mail_to(address: str, order_id: str) -> list[Any]:
    """The notifications consumer over every event of the order; what `address` received."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    client("ses").verify_email_identity(EmailAddress=settings().mail_from)
    for event in order_events(order_id):
        notifications.handle(typed_event(event))
    return [m for m in ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages if address in m.destinations["ToAddresses"]]


def open_kinds(subject_id: str) -> list[str]:
    return [r.kind for r in exception_service.open_records() if r.subject_id == subject_id]


# ---------------------------------------------------------------- request, care accepts


@pytest.mark.parametrize(
    ("mode", "says", "refund"),
    [
        ("prepaid", "We are refunding 12.00 EUR to your original payment method.", 1200),
        ("authorise_then_capture", "You will not be charged 12.00 EUR for these items", 0),
        ("pay_on_delivery", "You will pay 12.00 EUR less: 12.00 EUR in all, on delivery.", 0),
    ],
)
def test_an_accepted_request_takes_the_lines_off_the_packing_list_tells_the_supplier_and_settles_the_money(
    api, mode, says, refund
):
    _, order, po = with_the_suppliers(api, ("MUG-1", 2), payment_mode=mode)
    assert packing(api, po)["items"][0]["lines"] == [{"sku": "MUG-1", "name": "Mug", "quantity": 2}]

    [request] = ask(api, order["id"], {"lines": [{"sku": "MUG-1", "quantity": 1}], "reason": "I only need one"})
    assert (request["status"], request["supplier_id"], request["po_id"]) == ("requested", "acme", po)
    assert request["lines"] == [{"sku": "MUG-1", "name": "Mug", "quantity": 1}] and request["everything"] is False
    assert open_kinds(request["id"]) == ["cancellation_requested"]  # care's queue has it

    decided = decide(api, order["id"], request["id"], {"accept": True})
    assert (decided["status"], decided["cancelled_cents"], decided["version"]) == ("accepted", 1200, 2)
    assert open_kinds(request["id"]) == []  # resolved with the decision

    # The supplier's packing list has one mug left to pack; its pending list is empty again.
    assert packing(api, po)["items"][0]["lines"] == [{"sku": "MUG-1", "name": "Mug", "quantity": 1}]
    assert api.get(f"/supplier/purchase-orders/{po}/cancellation-requests", ACME)[1]["items"] == []

    mine = view(api, order["id"])
    assert mine["lines"] == [
        {"sku": "MUG-1", "name": "Mug", "supplier_id": "acme", "quantity": 1, "unit_price_cents": 1200, "total_cents": 1200}
    ]
    assert (mine["money"]["ordered_cents"], mine["money"]["payable_cents"]) == (2400, 1200)
    assert mine["money"]["refund_pending_cents"] == refund
    refunds = [p for p in mine["payments"] if p["kind"] == "refund"]
    assert [(p["status"], p["amount_cents"]) for p in refunds] == ([("pending", 1200)] if refund else [])
    note = mine["timeline"][-1]["note"]
    assert note.startswith("As you asked, we cancelled 1 x Mug.") and says in note
    assert mine["cancellation_requests"][0]["status"] == "accepted"

    # The supplier hears what not to ship (never the customer's e-mail); the customer hears the decision.
    [supplier_mail] = [m for m in mail_to("orders@acme.example", order["id"]) if "cancelled" in m.subject]
    assert mine["reference"] in supplier_mail.subject and "1 x Mug (MUG-1)" in supplier_mail.body
    assert "alice@example.com" not in supplier_mail.body + supplier_mail.subject
    customer = [m for m in mail_to("alice@example.com", order["id"]) if "accepted" in m.subject]
    assert len(customer) == 1 and says in customer[0].body


def test_money_received_offline_for_cancelled_lines_goes_back_by_transfer_through_accounting(api):
    campaign = live_campaign(api)
    make_po(campaign["id"], "acme", stage=Stage.SHIPMENT, accepted=True, orders_to_ship=1)
    order = place(api, campaign["id"], ("MUG-1", 2), payment_mode="offline")
    version = staff_order(api, order["id"], CARE)["version"]
    status, paid = api.post(
        f"/staff/orders/{order['id']}/payments",
        ACCOUNTING,
        {"kind": "offline_received", "amount_cents": 2400, "reference": "TRF-1", "expected_version": version},
    )
    assert status == 201 and paid["status"] == "placed", paid
    acknowledge(order["id"], "acme", {"MUG-1": 2})
    [request] = ask(api, order["id"], {"lines": [{"sku": "MUG-1", "quantity": 1}], "reason": "one is enough"})
    decide(api, order["id"], request["id"], {"accept": True})
    mine = view(api, order["id"])
    assert (
        mine["timeline"][-1]["note"] == "As you asked, we cancelled 1 x Mug. We will pay 12.00 EUR back to you by bank transfer."
    )
    # no gateway refund for a transfer: the promise is a refund awaiting accounting's transfer
    assert [(p["kind"], p["amount_cents"], p["status"]) for p in mine["payments"]] == [
        ("offline_received", 2400, "succeeded"),
        ("refund", 1200, "awaiting_transfer"),
    ]
    assert mine["money"]["refund_pending_cents"] == 1200
    assert "manual_refund_due" in open_kinds(order["id"])  # accounting makes the transfer


def test_cancelling_everything_cancels_the_order_and_moves_the_status_counters(api, sfn_calls):
    _, order, po = with_the_suppliers(api, ("MUG-1", 1), ("CAP-1", 2), payment_mode="prepaid")
    before = repo.read_order_status_counts()
    requests = ask(api, order["id"], {"reason": "Changed my mind"})  # nothing named: everything not yet dispatched
    assert [(r["supplier_id"], r["everything"]) for r in requests] == [("acme", True), ("bolt", True)]
    assert [m.subject for m in mail_to("alice@example.com", order["id"]) if "cancellation" in m.subject] == [
        f"We have received your cancellation request ({order['id']})"
    ]  # once, not once per supplier
    for r in requests:
        decide(api, order["id"], r["id"], {"accept": True})
    mine = view(api, order["id"])
    assert mine["status"] == "cancelled" and [d["status"] for d in mine["deliveries"]] == ["cancelled", "cancelled"]
    assert mine["timeline"][-1]["note"].startswith("Your order is cancelled as you asked (2 x Cap).")
    assert sorted(p["amount_cents"] for p in mine["payments"] if p["kind"] == "refund") == [1200, 1800]
    after = repo.read_order_status_counts()
    assert (after.get("cancelled", 0) - before.get("cancelled", 0), after.get("ordered", 0) - before.get("ordered", 0)) == (1, -1)
    assert packing(api, po)["items"] == []  # off acme's packing list
    # Neither PO waits for a parcel that will never leave: each had this one order to ship.
    assert sfn_calls == [("tok", {"decision": "done", "stage": "shipment"})] * 2


# ---------------------------------------------------------------- who decides, and how


def test_the_supplier_decides_requests_on_its_own_pos_only_and_reads_them_with_one_query(api, sfn_calls):
    campaign, order, po = with_the_suppliers(api, ("MUG-1", 2), ("CAP-1", 1))
    acme_request, bolt_request = ask(api, order["id"], {"reason": "Too many"})
    with metered() as m:
        status, page = api.get(f"/supplier/purchase-orders/{po}/cancellation-requests", ACME)
    assert status == 200 and dict(m.requests) == {"Query": 1}
    assert [r["id"] for r in page["items"]] == [acme_request["id"]] and page["items"][0]["reason"] == "Too many"
    assert "alice@example.com" not in str(page)

    bolt_po = po_id(campaign["id"], "bolt")
    assert_error(*api.get(f"/supplier/purchase-orders/{bolt_po}/cancellation-requests", ACME), 404, "not_found")
    assert_error(
        *api.post(f"/supplier/cancellation-requests/{bolt_request['id']}/decide", ACME, {"accept": True}), 404, "not_found"
    )
    assert_error(
        *api.post(f"/supplier/cancellation-requests/{acme_request['id']}/decide", ACME, {"accept": True, "expected_version": 7}),
        409,
        "conflict",
    )
    status, decided = api.post(f"/supplier/cancellation-requests/{acme_request['id']}/decide", ACME, {"accept": True})
    assert status == 200 and decided["status"] == "accepted"
    assert_error(
        *api.post(f"/supplier/cancellation-requests/{acme_request['id']}/decide", ACME, {"accept": False, "note": "no"}),
        409,
        "invalid_transition",
    )
    assert [d["status"] for d in view(api, order["id"])["deliveries"]] == ["cancelled", "accepted"]
    status, bolts = api.post(
        f"/supplier/cancellation-requests/{bolt_request['id']}/decide", BOLT, {"accept": False, "note": "Already packed"}
    )
    assert status == 200 and bolts["status"] == "refused"


def test_refusing_needs_a_note_which_the_customer_reads(api):
    _, order, _ = with_the_suppliers(api, ("MUG-1", 2))
    [request] = ask(api, order["id"], {"lines": [{"sku": "MUG-1", "quantity": 2}], "reason": "Too many"})
    path = f"/staff/orders/{order['id']}/cancellation-requests/{request['id']}/decide"
    error = assert_error(*api.post(path, CARE, {"accept": False}), 422, "note_required")
    assert error["details"] == [{"field": "body.note", "message": "required when refusing"}]
    refused = decide(api, order["id"], request["id"], {"accept": False, "note": "The parcel is packed already."})
    assert refused["decision_note"] == "The parcel is packed already."
    mine = view(api, order["id"])
    assert mine["lines"][0]["quantity"] == 2 and mine["status"] == "ordered"
    assert mine["timeline"][-1]["note"] == "We could not cancel 2 x Mug: The parcel is packed already."
    assert open_kinds(request["id"]) == []
    assert_error(*api.post(path, ALICE, {"accept": True}), 403, "forbidden")
    assert_error(
        *api.post(f"/staff/orders/{order['id']}/cancellation-requests/{order['id']}.crq9/decide", CARE, {"accept": True}),
        404,
        "not_found",
    )


# ---------------------------------------------------------------- what cannot be cancelled


def test_a_request_before_the_close_or_on_another_customers_order_is_refused(api):
    campaign = live_campaign(api)
    placed = place(api, campaign["id"], ("MUG-1", 1))
    error = assert_error(
        *api.post(f"/orders/{placed['id']}/cancellation-request", ALICE, {"reason": "x"}), 409, "invalid_transition"
    )
    assert f"POST /orders/{placed['id']}/cancel" in error["message"]
    assert_error(*api.post(f"/orders/{placed['id']}/cancellation-request", BOB, {"reason": "x"}), 404, "not_found")


def test_a_dispatched_delivery_cannot_be_cancelled_and_one_that_left_meanwhile_is_a_409(api, sfn_calls, gateway):
    _, order, po = with_the_suppliers(api, ("MUG-1", 2), ("CAP-1", 1))
    [request] = ask(api, order["id"], {"lines": [{"sku": "MUG-1", "quantity": 1}], "reason": "Too many"})
    test_shipments.ship(api, po, "acme", "ACME0001", order["id"])  # the parcel leaves before anyone decided

    error = assert_error(
        *api.post(f"/staff/orders/{order['id']}/cancellation-requests/{request['id']}/decide", CARE, {"accept": True}),
        409,
        "invalid_transition",
    )
    assert "has left (dispatched)" in error["message"]
    error = assert_error(
        *api.post(
            f"/orders/{order['id']}/cancellation-request",
            ALICE,
            {
                "lines": [{"sku": "MUG-1", "quantity": 1}, {"sku": "CAP-1", "quantity": 5}, {"sku": "TEE-9", "quantity": 1}],
                "reason": "x",
            },
        ),
        422,
        "invalid_cancellation",
    )
    assert [(d["field"], d["message"]) for d in error["details"]] == [
        ("lines[0].sku", "MUG-1 is in the delivery from acme, which has left (dispatched)"),
        ("lines[1].quantity", "CAP-1: 1 to 1 can be cancelled, not 5"),
        ("lines[2].sku", f"SKU TEE-9 is not in order {order['id']}"),
    ]
    assert view(api, order["id"])["lines"][0]["quantity"] == 2  # nothing moved


def test_a_second_request_for_a_delivery_waits_for_the_first(api):
    _, order, _ = with_the_suppliers(api, ("MUG-1", 2))
    [first] = ask(api, order["id"], {"lines": [{"sku": "MUG-1", "quantity": 1}], "reason": "one"})
    error = assert_error(
        *api.post(f"/orders/{order['id']}/cancellation-request", ALICE, {"reason": "all"}), 409, "invalid_transition"
    )
    assert first["id"] in error["message"]


# ---------------------------------------------------------------- the PO's orders to ship


def test_a_whole_delivery_cancelled_leaves_the_po_one_order_less_so_the_shipment_stage_completes(api, sfn_calls, gateway):
    campaign = live_campaign(api)
    po = make_po(campaign["id"], "acme", stage=Stage.SHIPMENT, accepted=True, orders_to_ship=3)
    first, second, third = (place(api, campaign["id"], ("MUG-1", 1)) for _ in range(3))
    for o in (first, second, third):
        acknowledge(o["id"], "acme", {"MUG-1": 1})
    [request] = ask(api, first["id"], {"reason": "Not needed"})
    decide(api, first["id"], request["id"], {"accept": True})
    assert int(po_item(po).orders_to_ship) == 2 and sfn_calls == []

    test_shipments.ship(api, po, "acme", "ACME0002", second["id"])
    assert sfn_calls == [] and po_item(po).stage == "shipment"
    # The last order waiting to ship is cancelled: its acceptance completes the stage (nothing else would).
    [request] = ask(api, third["id"], {"reason": "Not needed"})
    decide(api, third["id"], request["id"], {"accept": True})
    assert sfn_calls == [("tok", {"decision": "done", "stage": "shipment"})]
    assert (po_item(po).status, int(po_item(po).orders_to_ship)) == ("shipped", 1)


def test_recording_parcels_for_the_remaining_orders_completes_the_shipment_stage(api, sfn_calls, gateway):
    campaign = live_campaign(api)
    po = make_po(campaign["id"], "acme", stage=Stage.SHIPMENT, accepted=True, orders_to_ship=2)
    kept, dropped = place(api, campaign["id"], ("MUG-1", 1)), place(api, campaign["id"], ("MUG-2", 1))
    acknowledge(kept["id"], "acme", {"MUG-1": 1})
    acknowledge(dropped["id"], "acme", {"MUG-2": 1})
    [request] = ask(api, dropped["id"], {"reason": "Not needed"})
    status, _ = api.post(f"/supplier/cancellation-requests/{request['id']}/decide", ACME, {"accept": True})
    assert status == 200 and int(po_item(po).orders_to_ship) == 1
    test_shipments.ship(api, po, "acme", "ACME0003", kept["id"])
    assert sfn_calls == [("tok", {"decision": "done", "stage": "shipment"})]


def test_a_shipment_stage_opening_with_every_order_cancelled_completes_at_once(api, sfn_calls):
    campaign = live_campaign(api)
    po = make_po(campaign["id"], "acme", stage=Stage.INVOICE, token=None, accepted=True, orders_to_ship=1)
    order = place(api, campaign["id"], ("MUG-1", 1))
    acknowledge(order["id"], "acme", {"MUG-1": 1})
    [request] = ask(api, order["id"], {"reason": "Not needed"})
    decide(api, order["id"], request["id"], {"accept": True})
    assert int(po_item(po).orders_to_ship) == 0 and po_item(po).stage == "invoice"  # not the shipment stage yet
    supplier_workflow.stage_opened(typed({"po_id": po, "stage": "shipment", "task_token": "tok-ship", "deadline_s": 3600}))
    assert sfn_calls == [("tok-ship", {"decision": "done", "stage": "shipment"})]
    assert po_item(po).status == "shipped"


# ---------------------------------------------------------------- address corrections


def test_staff_correct_the_address_the_packing_list_and_the_supplier_follow(api):
    _, order, po = with_the_suppliers(api, ("MUG-1", 1))
    version = staff_order(api, order["id"], CARE)["version"]
    status, corrected = api.put(
        f"/staff/orders/{order['id']}/shipping-address",
        LOGISTICS,
        {"shipping_address": {**NEW_HOME, "country": "fr"}, "note": "customer phoned", "expected_version": version},
    )
    assert status == 200, corrected
    assert corrected["shipping_address"] == NEW_HOME and corrected["version"] == version + 1
    event = next(e for e in corrected["events"] if e["type"] == "order.address_corrected")
    assert "was: Alice Martin, 12 rue des Lilas" in event["internal_note"] and "customer phoned" in event["internal_note"]
    assert packing(api, po)["items"][0]["ship_to"] == {**NEW_HOME, "country": "FR"}

    published = [e for e in order_events(order["id"]) if e["type"] in ("order.address_corrected", "order.ship_to_changed")]
    assert len(published) == 2 and "Lyon" not in str(published) and "Lilas" not in str(published)  # not on the bus
    payloads = [thin_payload(e, "https://waybill.example") for e in published if e["type"] in OFFERED_EVENT_TYPES]
    assert [p["type"] for p in payloads] == ["order.address_corrected"]  # offered to subscribers: ids and links
    assert "Lyon" not in str(payloads)
    [notice] = mail_to("orders@acme.example", order["id"])
    assert notice.subject == f"Order {order['reference']}: new ship-to address" and "69002 Lyon" in notice.body
    assert "alice@example.com" not in notice.body
    customer = [m for m in mail_to("alice@example.com", order["id"]) if "address" in m.subject]
    assert len(customer) == 1 and "Lyon" not in customer[0].body

    # The same address again changes nothing and tells nobody; a stale version is a 409.
    again = api.put(f"/staff/orders/{order['id']}/shipping-address", CARE, {"shipping_address": NEW_HOME})
    assert again[0] == 200 and again[1]["version"] == corrected["version"]
    assert_error(
        *api.put(
            f"/staff/orders/{order['id']}/shipping-address", CARE, {"shipping_address": SHIP_TO, "expected_version": version}
        ),
        409,
        "conflict",
    )
    error = assert_error(
        *api.put(f"/staff/orders/{order['id']}/shipping-address", CARE, {"shipping_address": {**NEW_HOME, "country": "XX"}}),
        422,
        "invalid_address",
    )
    assert error["details"][0]["field"] == "body.shipping_address.country"
    assert_error(
        *api.put(f"/staff/orders/{order['id']}/shipping-address", ALICE, {"shipping_address": NEW_HOME}), 403, "forbidden"
    )


def test_the_address_cannot_change_once_every_delivery_left_and_a_left_one_keeps_its_own(api, sfn_calls, gateway):
    _, order, po = with_the_suppliers(api, ("MUG-1", 1), ("CAP-1", 1))
    test_shipments.ship(api, po, "acme", "ACME0004", order["id"])
    status, _ = api.put(f"/staff/orders/{order['id']}/shipping-address", CARE, {"shipping_address": NEW_HOME})
    assert status == 200  # bolt's delivery has not left
    assert packing(api, po)["items"][0]["ship_to"] == SHIP_TO  # acme's parcel went to the old address
    bolt_po = po_id(order["campaign_id"], "bolt")
    assert packing(api, bolt_po, BOLT)["items"][0]["ship_to"] == NEW_HOME
    test_shipments.ship(api, bolt_po, "bolt", "BOLT0001", order["id"])
    error = assert_error(
        *api.put(f"/staff/orders/{order['id']}/shipping-address", CARE, {"shipping_address": SHIP_TO}), 409, "invalid_transition"
    )
    assert "has left" in error["message"]
