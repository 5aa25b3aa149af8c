"""Complaints end to end through the HTTP API: a customer complains about a delivered parcel,
customer care asks the supplier and proposes a plan, an admin approves plans above the threshold,
the customer accepts, and the plan is carried out: refunds through the payment gateway (sandbox),
a replacement the supplier ships, a return followed through the carrier's webhooks.

What the queues would do is done here by calling the same consumers: `shipments.on_recorded`,
`inbound.apply_carrier_event` (the carrier webhooks) and the complaints consumer (`handlers.complaints`)
on `complaint.plan_accepted`."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.adapters.aws import client
from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb import repository as repo
from chalicelib.adapters.dynamodb.metering import metered
from chalicelib.adapters.dynamodb.models import (
    ChargeBackItem,
    ExceptionItem,
    PaymentTxnItem,
    RefundLedgerItem,
)
from chalicelib.config import settings
from chalicelib.domain.notifications import Recipient, rules_for
from chalicelib.domain.purchase_orders import Stage
from chalicelib.domain.shipments import TrackingStatus
from chalicelib.handlers import complaints as consumer
from chalicelib.services import complaints
from chalicelib.services.capture import capture_id
from tests.adapters.events import typed
from tests.api import po_support, test_shipments
from tests.api.po_support import ACME, accept_deliveries, make_po
from tests.api.support import assert_error
from tests.api.test_shipments import order_of, scan, ship, three_supplier_campaign
from tests.aws import ADMIN, ALICE, BOB, CARE, headers

aws, sfn_calls = po_support.aws, po_support.sfn_calls  # fixtures
gateway = test_shipments.gateway  # fixture: the sandbox payment gateway
BOLT = headers("sup-bolt-1", "supplier", supplier_id="bolt")


def delivered_order(api, payment_mode: str = "authorise_then_capture", tracking: str = "ACME0001") -> dict[str, Any]:
    """Alice's order (2 x MUG-1 at 12.00 from acme, a cap from bolt, a tee from cobalt) whose acme
    parcel has been delivered."""
    campaign = three_supplier_campaign(api)
    order = order_of(api, campaign["id"], payment_mode=payment_mode)
    po = make_po(campaign["id"], "acme", stage=Stage.SHIPMENT, accepted=True)
    accept_deliveries("acme", order["id"])
    ship(api, po, "acme", tracking, order["id"])
    assert scan(tracking, TrackingStatus.DELIVERED, 5) == "moved:delivered"
    return {**order, "po_id": po, "campaign_id": campaign["id"]}


def photo(api, order_id: str, who=ALICE, content_type: str = "image/jpeg", body: bytes = b"\xff\xd8jpeg") -> dict:
    status, upload = api.post(
        f"/orders/{order_id}/complaint-photos",
        who,
        {"content_type": content_type, "size_bytes": len(body), "file_name": "broken-mug.jpg"},
    )
    assert status == 201, upload
    assert upload["fields"]["Content-Type"] == content_type and upload["max_bytes"] == settings().complaint_photo_max_bytes
    client("s3").put_object(Bucket=settings().uploads_bucket, Key=upload["key"], Body=body, ContentType=content_type)
    return {"key": upload["key"], "content_type": content_type, "size_bytes": len(body)}


def open_complaint(
    api,
    order: dict[str, Any],
    *,
    reason: str = "damaged",
    wanted: str = "refund",
    quantity: int = 1,
    photos: list[dict] | None = None,
    who=ALICE,
) -> tuple[int, dict[str, Any]]:
    return api.post(
        f"/orders/{order['id']}/complaints",
        who,
        {
            "supplier_id": "acme",
            "reason": reason,
            "wanted_resolution": wanted,
            "lines": [{"sku": "MUG-1", "quantity": quantity}],
            "photos": photos or [],
            "description": "The handle came off in the box.",
        },
    )


def ok(result: tuple[int, Any], status: int = 200) -> Any:
    code, body = result
    assert code == status, body
    return body


def propose_and_offer(api, cid: str, lines: list[dict[str, Any]], who=CARE) -> dict[str, Any]:
    view = ok(api.get(f"/staff/complaints/{cid}", who))
    view = ok(api.post(f"/staff/complaints/{cid}/plan", who, {"lines": lines, "expected_version": view["version"]}))
    assert view["status"] == "plan_proposed"
    return ok(api.post(f"/staff/complaints/{cid}/submit", who, {"expected_version": view["version"]}))


def accept(api, order_id: str, cid: str) -> dict[str, Any]:
    mine = ok(api.get(f"/orders/{order_id}/complaints/{cid}", ALICE))
    view = ok(api.post(f"/orders/{order_id}/complaints/{cid}/accept", ALICE, {"expected_version": mine["version"]}))
    assert view["status"] == "accepted"
    return view


def carried_out(cid: str) -> str:
    return consumer.handle(typed({"type": "complaint.plan_accepted", "subject_id": cid, "data": {"complaint_id": cid}}))


def change_capture(order_id: str, **attrs: Any) -> None:
    """Put the acme delivery's capture record in a state the gateway could have left it in."""
    item = repo.get(keys.order_payment(order_id, capture_id(order_id, "acme")), PaymentTxnItem)
    assert item is not None
    for name, value in attrs.items():
        setattr(item, name, value)
    repo.commit([repo.Write(item)], what="test: the capture's record")


def exception_of(cid: str) -> ExceptionItem | None:
    from chalicelib.services.exceptions import exception_id

    return repo.get(keys.exception(exception_id("complaint_open", "complaint", cid)), ExceptionItem)


def test_a_refund_complaint_runs_from_the_customer_to_the_gateway_once(api, sfn_calls, gateway):
    order = delivered_order(api)
    status, created = open_complaint(api, order, photos=[photo(api, order["id"])])
    assert status == 201, created
    cid = created["id"]
    assert created["status"] == "open" and created["lines"][0]["paid_cents"] == 1200
    assert created["photos"][0]["url"].startswith("http")
    assert "supplier_answer" in created and created["money"] is None  # the customer sees no money details

    # Customer care finds it in the exceptions queue, with its own kind.
    record = exception_of(cid)
    assert record is not None and record.status == "open" and record.details["order_id"] == order["id"]
    queue = ok(api.get("/staff/exceptions?kind=complaint_open", CARE))
    assert [e["subject_id"] for e in queue["items"]] == [cid]

    # Care asks the supplier; the supplier sees it on its PO and answers.
    view = ok(api.get(f"/staff/complaints/{cid}", CARE))
    assert view["money"] == {"captured_cents": 2400, "refunded_cents": 0, "refundable_cents": 2400}
    view = ok(
        api.post(
            f"/staff/complaints/{cid}/ask-supplier",
            CARE,
            {"question": "Was this mug packed in bubble wrap?", "expected_version": view["version"]},
        )
    )
    assert view["status"] == "awaiting_supplier"
    assert exception_of(cid).status == "resolved"  # waiting for the supplier, not for care
    listed = ok(api.get(f"/supplier/purchase-orders/{order['po_id']}/complaints", ACME))
    assert [c["id"] for c in listed["items"]] == [cid]
    assert_error(*api.get(f"/supplier/complaints/{cid}", BOLT), 404)
    answered = ok(api.post(f"/supplier/complaints/{cid}/answer", ACME, {"answer": "Yes, double wrapped."}))
    assert answered["status"] == "supplier_answered" and answered["supplier_question"].startswith("Was this")
    assert exception_of(cid).status == "open"  # back with care

    # A plan under the threshold is offered at once; the customer sees it in words and accepts.
    offered = propose_and_offer(api, cid, [{"sku": "MUG-1", "resolution": "refund", "quantity": 1, "refund_cents": 1200}])
    assert offered["status"] == "plan_approved" and not offered["plan"]["needs_approval"]
    mine = ok(api.get(f"/orders/{order['id']}/complaints/{cid}", ALICE))
    assert mine["plan"]["refund_cents"] == 1200 and mine["plan"]["charge_back_cents"] is None
    assert any("a refund of 12.00 EUR" in (e["customer_note"] or "") for e in mine["events"])
    assert all(e["internal_note"] is None for e in mine["events"])
    assert mine["allowed_actions"] == ["accept_plan", "dispute_plan"]
    accept(api, order["id"], cid)

    # The consumer carries it out: one refund through the gateway, then the complaint resolves itself.
    assert carried_out(cid) == "refunds:1"
    assert carried_out(cid) == "refunds:0"  # a redelivered message sends nothing again
    refunds = [t for t in gateway.transactions if t["kind"] == "refund"]
    assert [(t["amount_cents"], t["idempotency_key"]) for t in refunds] == [(1200, complaints.rules.refund_id(cid, "MUG-1"))]
    done = ok(api.get(f"/orders/{order['id']}/complaints/{cid}", ALICE))
    assert done["status"] == "resolved"
    assert [(r["amount_cents"], r["status"]) for r in done["refunds"]] == [(1200, "succeeded")]
    assert exception_of(cid).status == "resolved"

    # The refund is in the order's payment history, and the supplier's share is charged back per campaign.
    payments = ok(api.get(f"/orders/{order['id']}", ALICE))["payments"]
    assert sorted((p["kind"], p["amount_cents"], p["status"]) for p in payments) == [
        ("authorisation", 4800, "succeeded"),
        ("capture", 2400, "succeeded"),
        ("refund", 1200, "succeeded"),
    ]
    owed = ok(api.get(f"/staff/campaigns/{order['campaign_id']}/charge-backs", CARE))
    assert [(s["supplier_id"], s["po_id"], s["amount_cents"], s["count"]) for s in owed["suppliers"]] == [
        ("acme", order["po_id"], 1200, 1)
    ]
    staff_po = ok(api.get(f"/staff/purchase-orders/{order['po_id']}", CARE))
    supplier_po = ok(api.get(f"/supplier/purchase-orders/{order['po_id']}", ACME))
    for po_view in (staff_po, supplier_po):
        assert po_view["charge_back_cents"] == 1200
        assert [(c["complaint_id"], c["sku"], c["amount_cents"]) for c in po_view["charge_backs"]] == [(cid, "MUG-1", 1200)]
    on_po = ok(api.get(f"/staff/purchase-orders/{order['po_id']}/complaints", CARE))
    assert [(c["id"], c["status"], c["refund_cents"]) for c in on_po["items"]] == [(cid, "resolved", 1200)]
    staff = ok(api.get(f"/staff/complaints/{cid}", CARE))
    assert staff["money"] == {"captured_cents": 2400, "refunded_cents": 1200, "refundable_cents": 1200}
    types = [e["type"] for e in staff["events"]]
    assert types[:2] == ["complaint.opened", "complaint.supplier_asked"]
    assert {
        "complaint.plan_offered",
        "complaint.plan_accepted",
        "complaint.started",
        "complaint.refund_issued",
        "complaint.resolved",
    } <= set(types)


def test_another_customers_complaint_is_a_404_and_so_is_another_order_path(api, sfn_calls, gateway):
    order = delivered_order(api)
    cid = ok(open_complaint(api, order), 201)["id"]
    assert_error(*api.get(f"/orders/{order['id']}/complaints/{cid}", BOB), 404)
    assert_error(*api.get(f"/orders/{order['id']}/complaints", BOB), 404)
    assert_error(*open_complaint(api, order, who=BOB), 404)
    assert_error(*api.post(f"/orders/{order['id']}/complaints/{cid}/withdraw", BOB, {}), 404)
    assert_error(*api.get(f"/orders/ord_other/complaints/{cid}", ALICE), 404)
    assert_error(*api.post(f"/orders/{order['id']}/complaint-photos", BOB, {"content_type": "image/png", "size_bytes": 10}), 404)
    assert [c["id"] for c in ok(api.get(f"/orders/{order['id']}/complaints", ALICE))["items"]] == [cid]


def test_the_window_the_delivery_status_and_the_quantities_bound_a_complaint(api, sfn_calls, gateway, monkeypatch):
    order = delivered_order(api)
    # Delivered at T0 + 5 h (2026-11-20): a 7-day window has closed since; the default 30 days has not.
    monkeypatch.setenv("WAYBILL_COMPLAINT_WINDOW_S", str(7 * 86400))
    settings.cache_clear()
    body = assert_error(*open_complaint(api, order), 422, "complaint_window_closed")
    assert "2026-11-27" in body["message"]
    monkeypatch.delenv("WAYBILL_COMPLAINT_WINDOW_S")
    settings.cache_clear()
    # Not delivered (bolt's delivery is only accepted... here not even on a PO): refused, with the status named.
    status, err = api.post(
        f"/orders/{order['id']}/complaints",
        ALICE,
        {"supplier_id": "bolt", "reason": "damaged", "wanted_resolution": "refund", "lines": [{"sku": "CAP-1", "quantity": 1}]},
    )
    assert status == 409 and "pending" in err["error"]["message"]
    # A delivered parcel cannot be lost; a missing item cannot be sent back.
    assert_error(*open_complaint(api, order, reason="lost_in_transit"), 422, "reason_not_allowed")
    body = assert_error(*open_complaint(api, order, reason="missing_item", wanted="return_for_refund"), 422, "invalid_complaint")
    assert body["details"] == [{"field": "wanted", "message": "return_for_refund is not possible for missing_item"}]
    # Two units were delivered: one complaint takes one, the next may take one more, then none is left.
    ok(open_complaint(api, order), 201)
    ok(open_complaint(api, order, reason="wrong_item"), 201)
    body = assert_error(*open_complaint(api, order), 422, "invalid_complaint")
    assert "between 1 and 0 can be claimed" in body["details"][0]["message"]


def test_photos_must_be_this_customers_uploads_within_the_limits(api, sfn_calls, gateway):
    order = delivered_order(api)
    assert_error(
        *api.post(f"/orders/{order['id']}/complaint-photos", ALICE, {"content_type": "image/gif", "size_bytes": 10}),
        422,
        "invalid_photo",
    )
    assert_error(
        *api.post(
            f"/orders/{order['id']}/complaint-photos", ALICE, {"content_type": "image/png", "size_bytes": 20 * 1024 * 1024}
        ),
        422,
        "invalid_photo",
    )
    never_uploaded = {
        "key": complaints.photo_prefix(order["id"], "cust-alice") + "img_x-a.jpg",
        "content_type": "image/jpeg",
        "size_bytes": 10,
    }
    body = assert_error(*open_complaint(api, order, photos=[never_uploaded]), 422, "invalid_complaint")
    assert "nothing was uploaded" in body["details"][0]["message"]
    foreign = {"key": "invoices/acme/po/x.pdf", "content_type": "image/jpeg", "size_bytes": 10}
    body = assert_error(*open_complaint(api, order, photos=[foreign]), 422, "invalid_complaint")
    assert body["details"][0]["field"] == "photos[0].key"


def test_a_plan_above_the_threshold_needs_an_admin_and_a_rejection_needs_a_reason(api, sfn_calls, gateway, monkeypatch):
    monkeypatch.setenv("WAYBILL_COMPLAINT_APPROVAL_THRESHOLD_CENTS", "2000")
    settings.cache_clear()
    order = delivered_order(api)
    cid = ok(open_complaint(api, order, quantity=2), 201)["id"]
    waiting = propose_and_offer(api, cid, [{"sku": "MUG-1", "resolution": "refund", "quantity": 2, "refund_cents": 2400}])
    assert waiting["status"] == "needs_approval" and waiting["plan"]["needs_approval"]
    assert waiting["approval_threshold_cents"] == 2000
    mine = ok(api.get(f"/orders/{order['id']}/complaints/{cid}", ALICE))
    assert mine["plan"] is None and mine["allowed_actions"] == []  # not offered yet
    assert_error(*api.post(f"/staff/complaints/{cid}/approve", CARE, {}), 403)
    assert_error(*api.post(f"/staff/complaints/{cid}/reject", ADMIN, {}), 422)
    rejected = ok(api.post(f"/staff/complaints/{cid}/reject", ADMIN, {"note": "Offer half first."}))
    assert rejected["status"] == "plan_proposed"
    waiting = propose_and_offer(api, cid, [{"sku": "MUG-1", "resolution": "refund", "quantity": 2, "refund_cents": 2100}])
    assert waiting["status"] == "needs_approval"
    stale = waiting["version"] - 1
    assert_error(*api.post(f"/staff/complaints/{cid}/approve", ADMIN, {"expected_version": stale}), 409)
    approved = ok(api.post(f"/staff/complaints/{cid}/approve", ADMIN, {"expected_version": waiting["version"]}))
    assert approved["status"] == "plan_approved" and approved["plan"]["approved_by"] == "admin-1"
    # Under the threshold needs nobody: 2000 is not above 2000.
    other = delivered_order(api, tracking="ACME0002")
    cid2 = ok(open_complaint(api, other), 201)["id"]
    offered = propose_and_offer(api, cid2, [{"sku": "MUG-1", "resolution": "refund", "quantity": 1, "refund_cents": 1200}])
    assert offered["status"] == "plan_approved"


def test_a_plan_waiting_for_an_admin_reaches_the_customer_only_once_approved(api, sfn_calls, gateway, monkeypatch):
    monkeypatch.setenv("WAYBILL_COMPLAINT_APPROVAL_THRESHOLD_CENTS", "2000")
    settings.cache_clear()
    order = delivered_order(api)
    cid = ok(open_complaint(api, order, quantity=2), 201)["id"]
    view = ok(api.get(f"/staff/complaints/{cid}", CARE))
    view = ok(
        api.post(
            f"/staff/complaints/{cid}/plan",
            CARE,
            {
                "lines": [{"sku": "MUG-1", "resolution": "refund", "quantity": 2, "refund_cents": 2400}],
                "expected_version": view["version"],
            },
        )
    )
    note = "We are refunding both mugs: 24.00 EUR."
    waiting = ok(api.post(f"/staff/complaints/{cid}/submit", CARE, {"expected_version": view["version"], "customer_note": note}))
    assert waiting["status"] == "needs_approval"

    # Nothing of the plan reaches the customer while an admin has not approved it: not the plan, not
    # its amount, not care's note about it, and no e-mail.
    mine = ok(api.get(f"/orders/{order['id']}/complaints/{cid}", ALICE))
    [listed] = ok(api.get(f"/orders/{order['id']}/complaints", ALICE))["items"]
    for seen in (mine, listed):
        assert seen["refund_cents"] == 0 and seen["needs_approval"] is False, seen
    assert mine["plan"] is None and note not in str(mine) and "24.00" not in str(mine)
    staff_events = ok(api.get(f"/staff/complaints/{cid}", CARE))["events"]
    assert [
        r.event_type
        for e in staff_events
        for r in rules_for({**e, "data": {"customer_email": "a@b.cd"}})
        if r.recipient is Recipient.CUSTOMER
    ] == ["complaint.opened"]

    approved = ok(api.post(f"/staff/complaints/{cid}/approve", ADMIN, {"expected_version": waiting["version"]}))
    assert approved["status"] == "plan_approved"
    mine = ok(api.get(f"/orders/{order['id']}/complaints/{cid}", ALICE))
    assert mine["plan"]["refund_cents"] == 2400 and mine["refund_cents"] == 2400
    [offer] = [e for e in mine["events"] if e["type"] == "complaint.plan_offered"]
    assert offer["customer_note"] == note  # care's words go out with the offer, once it is approved
    assert [r.recipient for r in rules_for({**offer, "data": {"customer_email": "a@b.cd"}})] == [Recipient.CUSTOMER]


def test_a_plan_never_refunds_more_than_was_captured(api, sfn_calls, gateway):
    order = delivered_order(api)
    # The capture was declined: nothing was taken, so nothing can be given back.
    change_capture(order["id"], status="failed")
    cid = ok(open_complaint(api, order), 201)["id"]
    view = ok(api.get(f"/staff/complaints/{cid}", CARE))
    ok(
        api.post(
            f"/staff/complaints/{cid}/plan",
            CARE,
            {
                "lines": [{"sku": "MUG-1", "resolution": "refund", "quantity": 1, "refund_cents": 1201}],
                "expected_version": view["version"],
            },
        ),
        422,
    )  # above what the unit was paid
    ok(
        api.post(
            f"/staff/complaints/{cid}/plan",
            CARE,
            {"lines": [{"sku": "MUG-1", "resolution": "refund", "quantity": 1, "refund_cents": 1200}]},
        )
    )
    body = assert_error(*api.post(f"/staff/complaints/{cid}/submit", CARE, {}), 422, "refund_exceeds_captured")
    assert "0.00 left" in body["message"]


def test_a_retried_or_racing_run_of_an_accepted_plan_refunds_once(api, sfn_calls, gateway, monkeypatch):
    """Two workers carry out the same accepted plan: both read it accepted before either wrote. (The
    race is staged: moto's in-process DynamoDB does not make concurrent transactions atomic.)"""
    order = delivered_order(api, payment_mode="prepaid")
    cid = ok(open_complaint(api, order, quantity=2), 201)["id"]
    propose_and_offer(api, cid, [{"sku": "MUG-1", "resolution": "refund", "quantity": 2, "refund_cents": 2000}])
    accept(api, order["id"], cid)
    stale = complaints._load(cid)  # what the second worker read
    assert stale.complaint.status.value == "accepted"
    assert carried_out(cid) == "refunds:1"  # the first worker

    real_load, reads = complaints._load, []

    def racing_load(complaint_id: str, **kw: Any) -> complaints.ComplaintRecord:
        reads.append(complaint_id)
        return stale if len(reads) == 1 else real_load(complaint_id, **kw)

    monkeypatch.setattr(complaints, "_load", racing_load)
    assert carried_out(cid) == "refunds:0"  # its start lost on the version; the refund was already sent
    monkeypatch.setattr(complaints, "_load", real_load)
    assert carried_out(cid) == "refunds:0"  # a redelivered message

    # Even a step that got past the complaint's version could not write the refund again: its id is
    # derived from (complaint, SKU) and its record is a conditional create.
    kept = complaints._load(cid).stored.value
    due = complaints.rules.RefundDue(complaints.rules.refund_id(cid, "MUG-1"), cid, order["id"], "MUG-1", 2000, 2000)
    with pytest.raises(complaints.Conflict):
        complaints.uow.store().commit(
            complaints._refund_changes(kept, [due], 5000, kept.updated_at), what="a second refund", at=kept.updated_at
        )

    assert [t["amount_cents"] for t in gateway.transactions if t["kind"] == "refund"] == [2000]
    ledger = repo.get(keys.refund_ledger(order["id"]), RefundLedgerItem)
    assert ledger is not None and int(ledger.refunded_cents) == 2000
    records = [i for i in repo.query_all(keys.order_pk(order["id"])) if isinstance(i, PaymentTxnItem)]
    assert sorted((r.payment_kind, r.status) for r in records) == [("payment", "succeeded"), ("refund", "succeeded")]
    assert ok(api.get(f"/orders/{order['id']}/complaints/{cid}", ALICE))["status"] == "resolved"


def test_two_admins_approving_the_same_plan_apply_it_once(api, sfn_calls, gateway, monkeypatch):
    monkeypatch.setenv("WAYBILL_COMPLAINT_APPROVAL_THRESHOLD_CENTS", "100")
    settings.cache_clear()
    order = delivered_order(api)
    cid = ok(open_complaint(api, order), 201)["id"]
    waiting = propose_and_offer(api, cid, [{"sku": "MUG-1", "resolution": "refund", "quantity": 1, "refund_cents": 1200}])
    # Both read the plan at the same version; the first approval wins, the second is told it moved on.
    first = api.post(f"/staff/complaints/{cid}/approve", ADMIN, {"expected_version": waiting["version"]})
    second = api.post(f"/staff/complaints/{cid}/approve", ADMIN, {"expected_version": waiting["version"]})
    assert first[0] == 200
    assert_error(*second, 409)
    assert_error(*api.post(f"/staff/complaints/{cid}/approve", ADMIN, {}), 409)  # no version: the status says no
    staff = ok(api.get(f"/staff/complaints/{cid}", CARE))
    assert [e["type"] for e in staff["events"]].count("complaint.plan_offered") == 1


def test_a_return_is_followed_through_the_carrier_and_its_receipt_refunds(api, sfn_calls, gateway):
    order = delivered_order(api)
    cid = ok(open_complaint(api, order, reason="not_as_described", wanted="return_for_refund"), 201)["id"]
    propose_and_offer(api, cid, [{"sku": "MUG-1", "resolution": "return_for_refund", "quantity": 1, "refund_cents": 1200}])
    accept(api, order["id"], cid)
    assert carried_out(cid) == "refunds:0"  # nothing is refunded before the goods are back
    mine = ok(api.get(f"/orders/{order['id']}/complaints/{cid}", ALICE))
    assert mine["status"] == "in_progress" and mine["return"]["status"] == "authorised"
    assert mine["return"]["id"] in mine["return"]["instructions"]
    assert_error(
        *api.post(
            f"/orders/{order['id']}/complaints/{cid}/return-shipment", ALICE, {"carrier": "dhl", "tracking_number": "ACME0001"}
        ),
        422,
        "tracking_in_use",
    )
    sent = ok(
        api.post(
            f"/orders/{order['id']}/complaints/{cid}/return-shipment", ALICE, {"carrier": "dhl", "tracking_number": "RET00001"}
        )
    )
    assert sent["return"]["status"] == "in_transit" and sent["return"]["tracking_number"] == "RET00001"

    assert scan("RET00001", TrackingStatus.IN_TRANSIT, 30) == "recorded"
    assert scan("RET00001", TrackingStatus.DELIVERED, 40) == "return_received"
    assert scan("RET00001", TrackingStatus.DELIVERED, 40) == "duplicate"
    done = ok(api.get(f"/orders/{order['id']}/complaints/{cid}", ALICE))
    assert done["return"]["status"] == "received" and done["status"] == "resolved"
    assert [(r["amount_cents"], r["status"]) for r in done["refunds"]] == [(1200, "succeeded")]
    # One of two mugs came back: the delivery shows it; the order shows its progress while its other
    # deliveries are still to come (a returned status only once every standing delivery arrived).
    view = ok(api.get(f"/orders/{order['id']}", ALICE))
    acme = next(d for d in view["deliveries"] if d["supplier_id"] == "acme")
    assert acme["status"] == "partially_returned" and view["status"] == "partially_delivered"
    assert [t["amount_cents"] for t in gateway.transactions if t["kind"] == "refund"] == [1200]


def test_a_replacement_is_shipped_by_the_supplier_and_resolves_on_delivery(api, sfn_calls, gateway):
    order = delivered_order(api)
    cid = ok(open_complaint(api, order, reason="wrong_item", wanted="replacement"), 201)["id"]
    propose_and_offer(api, cid, [{"sku": "MUG-1", "resolution": "replacement", "quantity": 1, "refund_cents": 0}])
    accept(api, order["id"], cid)
    assert carried_out(cid) == "refunds:0"
    asked = ok(api.get(f"/supplier/complaints/{cid}", ACME))
    assert asked["replacement"] == {
        "lines": [{"sku": "MUG-1", "quantity": 1}],
        "status": "requested",
        "carrier": None,
        "tracking_number": None,
    }
    assert asked["customer_email"] is None  # the supplier gets no customer details
    shipped = ok(
        api.post(f"/supplier/complaints/{cid}/replacement-shipment", ACME, {"carrier": "dhl", "tracking_number": "REPL0001"})
    )
    assert shipped["replacement"]["status"] == "dispatched"
    assert scan("REPL0001", TrackingStatus.DELIVERED, 50) == "replacement_delivered"
    done = ok(api.get(f"/orders/{order['id']}/complaints/{cid}", ALICE))
    assert done["status"] == "resolved" and done["replacement"]["status"] == "delivered"
    assert not [t for t in gateway.transactions if t["kind"] == "refund"]
    assert not [i for i in repo.query_all(keys.po_pk(order["po_id"])) if isinstance(i, ChargeBackItem)]


def test_the_customer_disputes_and_withdraws_and_bad_requests_say_what_is_wrong(api, sfn_calls, gateway):
    order = delivered_order(api)
    cid = ok(open_complaint(api, order), 201)["id"]
    propose_and_offer(api, cid, [{"sku": "MUG-1", "resolution": "refund", "quantity": 1, "refund_cents": 500}])
    assert_error(*api.post(f"/orders/{order['id']}/complaints/{cid}/dispute", ALICE, {}), 422)
    disputed = ok(api.post(f"/orders/{order['id']}/complaints/{cid}/dispute", ALICE, {"reason": "Too little."}))
    assert disputed["status"] == "disputed"
    assert exception_of(cid).status == "open"
    withdrawn = ok(api.post(f"/orders/{order['id']}/complaints/{cid}/withdraw", ALICE, {}))
    assert withdrawn["status"] == "withdrawn" and exception_of(cid).status == "resolved"
    assert_error(*api.post(f"/orders/{order['id']}/complaints/{cid}/accept", ALICE, {}), 409)
    body = assert_error(*api.post(f"/orders/{order['id']}/complaints", ALICE, {"supplier_id": "acme", "reason": "bored"}), 422)
    assert {d["field"] for d in body["details"]} >= {"body.reason", "body.wanted_resolution", "body.lines"}
    assert_error(*api.get("/staff/complaints?status=nope", CARE), 422)
    listed = ok(api.get("/staff/complaints?status=withdrawn", CARE))
    assert [c["id"] for c in listed["items"]] == [cid]
    second = ok(open_complaint(api, order), 201)["id"]
    of_order = ok(api.get(f"/staff/complaints?order_id={order['id']}", CARE))
    assert [c["id"] for c in of_order["items"]] == [second, cid]  # newest first
    assert [c["id"] for c in ok(api.get(f"/staff/complaints?order_id={order['id']}&status=open", CARE))["items"]] == [second]
    assert ok(api.get("/staff/complaints?order_id=ord_none", CARE))["items"] == []
    assert_error(*api.get("/staff/complaints", ALICE), 403)


def test_a_parcel_lost_in_transit_can_be_claimed_once_overdue_and_the_shop_may_bear_it(api, sfn_calls, gateway, monkeypatch):
    campaign = three_supplier_campaign(api)
    order = order_of(api, campaign["id"])
    po = make_po(campaign["id"], "acme", stage=Stage.SHIPMENT, accepted=True)
    accept_deliveries("acme", order["id"])
    ship(api, po, "acme", "LOST0001", order["id"])
    assert scan("LOST0001", TrackingStatus.IN_TRANSIT, 1) == "moved:in_transit"
    # On its way and not late yet (expected within 7 days of dispatch): not lost.
    body = assert_error(*open_complaint(api, order, reason="lost_in_transit", quantity=2), 422, "not_overdue")
    assert "not lost yet" in body["message"]
    assert_error(*open_complaint(api, order, reason="damaged"), 422, "reason_not_allowed")
    # Past its expected date it is lost; here the shop, not the supplier, bears lost parcels.
    monkeypatch.setenv("WAYBILL_DELIVERY_EXPECTED_WITHIN_S", "0")
    monkeypatch.setenv("WAYBILL_COMPLAINT_SUPPLIER_BEARS_LOST", "0")
    settings.cache_clear()
    cid = ok(open_complaint(api, order, reason="lost_in_transit", quantity=2), 201)["id"]
    offered = propose_and_offer(api, cid, [{"sku": "MUG-1", "resolution": "refund", "quantity": 2, "refund_cents": 2400}])
    assert offered["plan"]["supplier_bears"] is False and offered["plan"]["charge_back_cents"] == 0
    accept(api, order["id"], cid)
    assert carried_out(cid) == "refunds:1"
    assert ok(api.get(f"/orders/{order['id']}/complaints/{cid}", ALICE))["status"] == "resolved"
    assert not [i for i in repo.query_all(keys.po_pk(po)) if isinstance(i, ChargeBackItem)]
    assert ok(api.get(f"/staff/campaigns/{campaign['id']}/charge-backs", CARE))["suppliers"] == []


def test_every_unit_back_makes_the_delivery_returned(api, sfn_calls, gateway):
    order = delivered_order(api)
    cid = ok(open_complaint(api, order, reason="damaged", wanted="return_for_refund", quantity=2), 201)["id"]
    propose_and_offer(api, cid, [{"sku": "MUG-1", "resolution": "return_for_refund", "quantity": 2, "refund_cents": 2400}])
    accept(api, order["id"], cid)
    carried_out(cid)
    # The goods arrive without the customer registering a parcel: the supplier records the receipt.
    view = ok(api.get(f"/supplier/complaints/{cid}", ACME))
    received = ok(api.post(f"/supplier/complaints/{cid}/return/receive", ACME, {"expected_version": view["return"]["version"]}))
    assert received["return"]["status"] == "received" and received["status"] == "resolved"
    assert_error(*api.post(f"/supplier/complaints/{cid}/return/receive", ACME, {}), 409)  # once
    customer = ok(api.get(f"/orders/{order['id']}", ALICE))
    acme = next(d for d in customer["deliveries"] if d["supplier_id"] == "acme")
    assert acme["status"] == "returned"
    assert customer["status"] == "partially_delivered"  # bolt's and cobalt's deliveries are still to come
    assert [t["amount_cents"] for t in gateway.transactions if t["kind"] == "refund"] == [2400]
    owed = ok(api.get(f"/staff/campaigns/{order['campaign_id']}/charge-backs", CARE))
    assert [(s["supplier_id"], s["amount_cents"]) for s in owed["suppliers"]] == [("acme", 2400)]


def test_reading_a_complaint_and_opening_one_cost_a_fixed_number_of_requests(api, sfn_calls, gateway):
    order = delivered_order(api)
    with metered() as opening:
        cid = ok(open_complaint(api, order), 201)["id"]
    # The order's partition, its complaints, the PO by campaign, one transaction, then the exception's
    # GetItem and its own transaction.
    assert opening.requests["Query"] == 3 and opening.requests["TransactWriteItems"] == 2, opening.requests
    with metered() as reading:
        ok(api.get(f"/orders/{order['id']}/complaints/{cid}", ALICE))
    assert dict(reading.requests) == {"Query": 2}  # the complaint's partition, then the order's (money, refunds)
    with metered() as listing:
        ok(api.get("/staff/complaints?status=open", CARE))
    assert dict(listing.requests) == {"Query": 1}


def test_a_declined_refund_is_recorded_failed_for_accounting_and_gives_its_amount_back(api, sfn_calls, gateway):
    order = delivered_order(api)
    # The gateway no longer knows the capture it would refund: it answers 404, a decline.
    change_capture(order["id"], gateway_reference="txn_forgotten")
    cid = ok(open_complaint(api, order), 201)["id"]
    propose_and_offer(api, cid, [{"sku": "MUG-1", "resolution": "refund", "quantity": 1, "refund_cents": 1200}])
    accept(api, order["id"], cid)
    assert carried_out(cid) == "refunds:0"
    staff = ok(api.get(f"/staff/complaints/{cid}", CARE))
    assert [(r["amount_cents"], r["status"]) for r in staff["refunds"]] == [(1200, "failed")]
    assert staff["status"] == "in_progress"  # not resolved: the money did not go back
    assert staff["money"]["refunded_cents"] == 0  # the ledger gave the failed amount back
    assert "complaint.refund_failed" in [e["type"] for e in staff["events"]]
    from chalicelib.services.exceptions import exception_id

    failed = repo.get(keys.exception(exception_id("payment_failed", "order", order["id"])), ExceptionItem)
    assert failed is not None and failed.details["complaint_id"] == cid and failed.details["status"] == 404
    assert not [t for t in gateway.transactions if t["kind"] == "refund"]


def one_unit_returned(api, order: dict[str, Any], reason: str = "damaged") -> str:
    """A complaint whose accepted plan takes one mug back for a refund, received by customer care."""
    cid = ok(open_complaint(api, order, reason=reason, wanted="return_for_refund"), 201)["id"]
    propose_and_offer(api, cid, [{"sku": "MUG-1", "resolution": "return_for_refund", "quantity": 1, "refund_cents": 1200}])
    accept(api, order["id"], cid)
    carried_out(cid)
    rma = ok(api.get(f"/staff/complaints/{cid}", CARE))["return"]
    ok(api.post(f"/staff/complaints/{cid}/return/receive", CARE, {"expected_version": rma["version"]}))
    return cid


def test_returns_of_two_complaints_add_up_to_a_returned_delivery(api, sfn_calls, gateway):
    order = delivered_order(api)
    statuses = []
    for reason in ("damaged", "not_as_described"):
        cid = one_unit_returned(api, order, reason)
        view = ok(api.get(f"/orders/{order['id']}", ALICE))
        statuses.append(next(d["status"] for d in view["deliveries"] if d["supplier_id"] == "acme"))
    assert statuses == ["partially_returned", "returned"]
    assert sorted(t["amount_cents"] for t in gateway.transactions if t["kind"] == "refund") == [1200, 1200]
    staff = ok(api.get(f"/staff/complaints/{cid}", CARE))
    assert staff["money"] == {"captured_cents": 2400, "refunded_cents": 2400, "refundable_cents": 0}


def test_dispatch_delivery_and_return_move_the_orders_per_status_counters(api, sfn_calls, gateway):
    """The dashboard's counters move with each of these writes."""

    def counts() -> dict[str, int]:
        return ok(api.get("/staff/dashboard", CARE))["orders_by_status"]

    def moved(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
        return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}

    campaign = three_supplier_campaign(api)
    order = order_of(api, campaign["id"], payment_mode="prepaid")
    po = make_po(campaign["id"], "acme", stage=Stage.SHIPMENT, accepted=True)
    accept_deliveries("acme", order["id"])
    # What the acknowledgement's settlement counts when it accepts the delivery (the helper does not).
    repo.commit(repo.order_status_counts(order["id"], "placed", "ordered"), what="test: the settlement's counters")
    c0 = counts()
    ship(api, po, "acme", "CNT00001", order["id"])
    c1 = counts()
    assert moved(c0, c1) == {"ordered": -1, "partially_dispatched": 1}  # bolt and cobalt still to come
    scan("CNT00001", TrackingStatus.DELIVERED, 4)
    c2 = counts()
    assert moved(c1, c2) == {"partially_dispatched": -1, "partially_delivered": 1}
    one_unit_returned(api, order)
    assert moved(c2, counts()) == {}  # still partially delivered: bolt and cobalt are still to come
