"""What the admin page reads besides the resource routes: `GET /me` (who is signed in and what
the roles may do) and `GET /staff/dashboard` (orders per status from counters, open exceptions,
suppliers' on-time rate), and the search box finding an order by a parcel's tracking number."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.permissions import CAPABILITIES, Role
from chalicelib.domain.purchase_orders import Stage
from chalicelib.services import exceptions
from tests.adapters.close_queue import run_queue
from tests.api import po_support
from tests.api.po_support import ACME, accept_deliveries, make_po
from tests.api.support import SUPPLIER_ACME, assert_error, place, place_on_hold
from tests.aws import ACCOUNTING, ADMIN, ALICE, BOB, BUYER, CARE, headers, live_campaign

aws, sfn_calls = po_support.aws, po_support.sfn_calls  # fixtures


def test_me_names_the_caller_and_what_its_roles_may_do(api):
    status, me = api.get("/me", ACCOUNTING)
    assert status == 200, me
    assert me["sub"] == "acc-1" and me["roles"] == ["accounting"] and me["supplier_id"] is None
    assert "payments.decide" in me["capabilities"] and "staff" in me["capabilities"]
    assert "catalogue.manage" not in me["capabilities"] and "webhooks.manage" not in me["capabilities"]

    status, me = api.get("/me", BUYER)
    assert me["email"] == "buyer@waybill.example" and me["name"] == "Bea Buyer"
    assert {"catalogue.manage", "purchase_orders.cancel"} <= set(me["capabilities"])
    assert "payments.decide" not in me["capabilities"]

    # admin holds every capability but deciding payments (accounting's alone)
    status, me = api.get("/me", ADMIN)
    assert set(me["capabilities"]) == set(CAPABILITIES) - {"payments.decide"}


def test_a_supplier_or_customer_token_gets_no_staff_capability_and_no_dashboard(api):
    for who, role in ((SUPPLIER_ACME, "supplier"), (ALICE, "customer")):
        status, me = api.get("/me", who)
        assert status == 200 and me["roles"] == [role] and me["capabilities"] == [], me
        status, body = api.get("/staff/dashboard", who)
        assert_error(status, body, 403, "forbidden")
    assert api.get("/me", SUPPLIER_ACME)[1]["supplier_id"] == "acme"
    assert api.get("/me")[0] == 401


def test_every_capability_names_real_roles_and_staff_is_every_staff_role():
    assert all(roles and roles <= set(Role) for roles in CAPABILITIES.values())
    assert CAPABILITIES["staff"] == {Role.BUYER, Role.CUSTOMER_CARE, Role.ACCOUNTING, Role.LOGISTICS, Role.ADMIN}


def dashboard(api, who: dict[str, str] = CARE) -> dict[str, Any]:
    status, body = api.get("/staff/dashboard", who)
    assert status == 200, body
    return body


def test_the_dashboard_counts_orders_per_status_as_they_change(api, aws):
    campaign = live_campaign(api)
    empty = dashboard(api)
    assert set(empty["orders_by_status"]) >= {"placed", "on_hold", "cancelled", "ordered", "delivered", "completed"}
    assert sum(empty["orders_by_status"].values()) == 0

    a = place(api, campaign["id"], ("MUG-1", 1))
    place(api, campaign["id"], ("CAP-1", 2), who=BOB)
    held = place_on_hold(api, campaign["id"])
    cancelled = place(api, campaign["id"], ("MUG-1", 3))
    assert api.post(f"/orders/{cancelled['id']}/cancel", ALICE)[0] == 200
    counts = dashboard(api)["orders_by_status"]
    assert (counts["placed"], counts["on_hold"], counts["cancelled"]) == (2, 1, 1)

    assert api.post(f"/staff/orders/{held['id']}/transitions", CARE, {"action": "approve"})[0] == 200
    assert api.post(f"/staff/orders/{a['id']}/transitions", CARE, {"action": "cancel"})[0] == 200
    counts = dashboard(api)["orders_by_status"]
    assert (counts["placed"], counts["on_hold"], counts["cancelled"]) == (2, 0, 2)

    # closing the campaign sends the standing orders to their suppliers (from the queue the close runs on)
    assert api.post(f"/staff/campaigns/{campaign['id']}/close", BUYER)[0] == 202
    run_queue(aws)
    counts = dashboard(api)["orders_by_status"]
    assert (counts["placed"], counts["ordered"], counts["cancelled"]) == (0, 2, 2)
    assert sum(counts.values()) == 4


def test_the_dashboard_counts_open_exceptions_and_lists_suppliers(api):
    live_campaign(api)
    exceptions.raise_or_bump("payment_failed", "order", "ord_1", {"supplier_id": "acme"})
    exceptions.raise_or_bump("payment_failed", "order", "ord_2", {"supplier_id": "acme"})
    exceptions.raise_or_bump("unknown_tracking", "shipment", "dhl#X1", {})
    queue = api.get("/staff/exceptions?status=open,acknowledged,snoozed", CARE)[1]["counts"]
    body = dashboard(api, headers("log-1", "logistics"))
    assert body["open_exceptions"] == {"total": queue["total"], "by_kind": queue["by_kind"], "by_severity": queue["by_severity"]}
    assert [s["id"] for s in body["suppliers"]] == ["acme", "bolt"]
    assert all(s["completed"] == 0 and s["on_time_rate"] is None for s in body["suppliers"])


def test_the_search_box_finds_the_orders_a_parcel_carries_by_tracking_number(api, sfn_calls):
    campaign = live_campaign(api)
    first = place(api, campaign["id"], ("MUG-1", 1))
    second = place(api, campaign["id"], ("MUG-2", 1), who=BOB)
    other = place(api, campaign["id"], ("MUG-1", 2))
    po = make_po(campaign["id"], "acme", stage=Stage.SHIPMENT, accepted=True, orders_to_ship=3)
    accept_deliveries("acme", first["id"], second["id"], other["id"])
    status, body = api.post(
        f"/supplier/purchase-orders/{po}/shipments",
        ACME,
        {"carrier": "dhl", "tracking_number": "JD0001", "order_ids": [first["id"], second["id"]]},
    )
    assert status == 201, body

    status, page = api.get("/staff/orders?q=JD0001", CARE)
    assert status == 200, page
    assert sorted(o["id"] for o in page["items"]) == sorted([first["id"], second["id"]])
    assert page["next_cursor"] is None
    assert [o["id"] for o in api.get("/staff/orders?q=JD0001&customer_id=cust-bob", CARE)[1]["items"]] == [second["id"]]
    assert api.get("/staff/orders?q=JD9999", CARE)[1]["items"] == []
