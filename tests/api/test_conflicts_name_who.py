"""A stale write on an order, a purchase order or a complaint is a 409 that names who made the change
that won and when (issue 21, item 7), as exceptions and settings already do: the page can say "Changed
by Bea at 10:42" and offer to reload. The order and the complaint find it in the trail the use case
reads anyway; the purchase order reads its newest events on the 409 path only."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.dynamodb.metering import metered
from tests.api import po_support, test_complaints, test_shipments
from tests.api.po_support import make_po
from tests.api.support import assert_error, place_on_hold, staff_order
from tests.aws import headers, live_campaign

aws, sfn_calls = po_support.aws, po_support.sfn_calls  # fixtures
gateway = test_shipments.gateway  # fixture: the sandbox payment gateway

CARE_ANA = headers("care-ana", "customer_care", email="ana@waybill.example", name="Ana Care")
CARE_BEN = headers("care-ben", "customer_care", email="ben@waybill.example", name="Ben Care")
ADMIN_ANA = headers("admin-ana", "admin", email="ana.admin@waybill.example", name="Ana Admin")
ADMIN_BEN = headers("admin-ben", "admin", email="ben.admin@waybill.example", name="Ben Admin")


def who_won(body: dict[str, Any]) -> dict[str, Any]:
    [detail] = body["error"]["details"]
    assert detail["field"] == "expected_version" and detail["changed_at"]
    return detail


def test_a_stale_decision_on_an_order_names_who_decided_first(api):
    order = place_on_hold(api, live_campaign(api)["id"])
    seen = staff_order(api, order["id"], CARE_ANA)["version"]
    path = f"/staff/orders/{order['id']}/transitions"
    assert api.post(path, CARE_ANA, {"action": "approve", "expected_version": seen})[0] == 200
    # a note after it moves no version: the change that won is still Ana's approval
    assert api.post(f"/staff/orders/{order['id']}/notes", CARE_BEN, {"internal_note": "called the customer"})[0] in (200, 201)

    with metered() as m:
        status, body = api.post(path, CARE_BEN, {"action": "reject", "expected_version": seen})
    assert_error(status, body, 409, "conflict")
    detail = who_won(body)
    assert (detail["changed_by"], detail["change"], detail["current_version"]) == ("Ana Care", "order.approved", seen + 1)
    assert m.requests["Query"] == 1 and m.requests["GetItem"] <= 1  # the trail it read anyway: no read more


def test_a_stale_cancel_of_a_purchase_order_names_who_changed_it(api, sfn_calls):
    campaign = live_campaign(api)
    po_id = make_po(campaign["id"], stage=None, token=None)
    status, po = api.get(f"/staff/purchase-orders/{po_id}", ADMIN_ANA)
    assert status == 200, po
    seen = po["version"]
    path = f"/staff/purchase-orders/{po_id}/cancel"
    assert api.post(path, ADMIN_ANA, {"expected_version": seen, "internal_note": "re-sourced"})[0] == 200

    status, body = api.post(path, ADMIN_BEN, {"expected_version": seen})
    assert_error(status, body, 409, "conflict")
    detail = who_won(body)
    assert (detail["changed_by"], detail["change"], detail["current_version"]) == ("Ana Admin", "po.cancelled", seen + 1)


def test_a_stale_step_on_a_complaint_names_who_took_the_step(api, sfn_calls, gateway):
    order = test_complaints.delivered_order(api)
    cid = test_complaints.ok(test_complaints.open_complaint(api, order), 201)["id"]
    seen = test_complaints.ok(api.get(f"/staff/complaints/{cid}", CARE_ANA))["version"]
    asked = {"question": "Was it packed with padding?", "expected_version": seen}
    test_complaints.ok(api.post(f"/staff/complaints/{cid}/ask-supplier", CARE_ANA, asked))

    status, body = api.post(f"/staff/complaints/{cid}/ask-supplier", CARE_BEN, {**asked, "question": "Photos of the box?"})
    assert_error(status, body, 409, "conflict")
    detail = who_won(body)
    assert (detail["changed_by"], detail["change"]) == ("Ana Care", "complaint.supplier_asked")
