"""Customers place orders, list their own, follow one, and cancel it while they still may."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta

import pytest

from chalicelib.services import orders as order_service
from tests.api.support import (
    BIG_MUG_CENTS,
    CARE_NAMED,
    HOLD_THRESHOLD_CENTS,
    SHIP_TO,
    assert_error,
    draft_campaign,
    follow_pages,
    order_body,
    place,
    place_on_hold,
    product,
    raw,
)
from tests.aws import ALICE, BOB, BUYER, CARE, headers, live_campaign

# ---------------------------------------------------------------- placing an order


def test_an_order_across_two_suppliers_gets_one_delivery_per_supplier_and_a_customer_timeline(api):
    campaign = live_campaign(api)
    status, order = api.post("/orders", ALICE, order_body(campaign["id"], ("MUG-1", 2), ("CAP-1", 3), ("MUG-2", 1)))

    assert status == 201, order
    assert order["id"].startswith("ord_")
    assert order["campaign_id"] == campaign["id"]
    assert order["status"] == "placed"
    assert order["status_text"].startswith("Your order is confirmed")
    assert order["payment_mode"] == "prepaid"
    assert order["currency"] == "EUR"
    assert order["deliveries"] == [
        {"supplier_id": "acme", "status": "pending", "shipments": []},
        {"supplier_id": "bolt", "status": "pending", "shipments": []},
    ]
    assert [(p["kind"], p["amount_cents"], p["status"]) for p in order["payments"]] == [
        ("payment", 2 * 1200 + 3 * 900 + 2500, "succeeded")
    ]  # prepaid: paid at checkout
    assert order["money"] == {
        "ordered_cents": 7600,
        "payable_cents": 7600,
        "paid_cents": 7600,
        "refunded_cents": 0,
        "refund_pending_cents": 0,
        "balance_cents": 0,
    }
    lines = {line["sku"]: line for line in order["lines"]}
    assert lines["MUG-1"] == {
        "sku": "MUG-1",
        "name": "Mug",
        "supplier_id": "acme",
        "quantity": 2,
        "unit_price_cents": 1200,
        "total_cents": 2400,
    }
    assert lines["CAP-1"]["supplier_id"] == "bolt" and lines["CAP-1"]["total_cents"] == 3 * 900
    assert lines["MUG-2"]["total_cents"] == 2500
    assert order["total_cents"] == 2 * 1200 + 3 * 900 + 2500
    assert len(order["timeline"]) == 1
    placed = order["timeline"][0]
    assert placed["status"] == "placed" and placed["message"] == order["status_text"] and placed["note"] is None
    assert set(placed) == {"at", "status", "message", "note"}
    assert order["allowed_actions"] == ["cancel"]


def test_the_payment_mode_chosen_by_the_customer_is_recorded(api):
    campaign = live_campaign(api)
    order = place(api, campaign["id"], ("MUG-1", 1), payment_mode="pay_on_delivery")
    assert order["payment_mode"] == "pay_on_delivery"
    status, again = api.get(f"/orders/{order['id']}", ALICE)
    assert status == 200 and again["payment_mode"] == "pay_on_delivery"


def test_an_order_above_the_hold_threshold_waits_on_hold_for_review(api):
    campaign = live_campaign(api)
    assert 21 * BIG_MUG_CENTS > HOLD_THRESHOLD_CENTS
    order = place(api, campaign["id"], ("MUG-2", 21), ("CAP-1", 1))

    assert order["status"] == "on_hold"
    assert order["status_text"] == "Your order is being reviewed before it is confirmed."
    assert {d["status"] for d in order["deliveries"]} == {"on_hold"}
    assert order["timeline"][0]["status"] == "on_hold"
    assert order["allowed_actions"] == ["cancel"]
    detail = api.get(f"/staff/orders/{order['id']}", CARE)[1]
    assert detail["hold_reasons"] == ["total_above_threshold"]


def test_an_order_exactly_at_the_hold_threshold_is_placed_without_review(api):
    campaign = live_campaign(api)
    assert 20 * BIG_MUG_CENTS == HOLD_THRESHOLD_CENTS
    order = place(api, campaign["id"], ("MUG-2", 20))
    assert order["status"] == "placed"


def test_an_order_from_a_flagged_customer_waits_on_hold_and_clearing_the_flag_releases_new_orders(api):
    campaign = live_campaign(api)
    status, profile = api.put("/staff/customers/cust-alice/flag", CARE, {"flagged": True, "reason": "chargebacks"})
    assert status == 200, profile
    assert (profile["id"], profile["flagged"], profile["flag_reason"]) == ("cust-alice", True, "chargebacks")

    held = place(api, campaign["id"], ("MUG-1", 1))
    assert held["status"] == "on_hold"
    assert api.get(f"/staff/orders/{held['id']}", CARE)[1]["hold_reasons"] == ["customer_flagged"]
    assert place(api, campaign["id"], ("MUG-1", 1), who=BOB)["status"] == "placed"  # only Alice is flagged

    status, profile = api.put("/staff/customers/cust-alice/flag", CARE, {"flagged": False})
    assert status == 200 and profile["flagged"] is False and profile["flag_reason"] is None
    assert place(api, campaign["id"], ("MUG-1", 1))["status"] == "placed"


def test_a_flagged_customer_above_the_threshold_has_both_hold_reasons(api):
    campaign = live_campaign(api)
    assert api.put("/staff/customers/cust-alice/flag", CARE, {"flagged": True, "reason": "fraud check"})[0] == 200
    held = place_on_hold(api, campaign["id"])
    reasons = api.get(f"/staff/orders/{held['id']}", CARE)[1]["hold_reasons"]
    assert sorted(reasons) == ["customer_flagged", "total_above_threshold"]


# ---------------------------------------------------------------- refusing an order, always in the house shape


def test_an_order_in_a_draft_campaign_is_refused_because_the_campaign_is_not_live(api):
    live_campaign(api)  # creates the suppliers
    draft = draft_campaign(api, BUYER, product("D-1"))
    status, body = api.post("/orders", ALICE, order_body(draft["id"], ("D-1", 1)))
    error = assert_error(status, body, 422, "campaign_not_live")
    assert draft["id"] in error["message"] and "draft" in error["message"]


def test_an_order_in_a_cancelled_campaign_is_refused(api):
    campaign = live_campaign(api)
    status, cancelled = api.post(f"/staff/campaigns/{campaign['id']}/cancel", BUYER, {"reason": "supplier gone"})
    assert status == 200 and cancelled["status"] == "cancelled"
    status, body = api.post("/orders", ALICE, order_body(campaign["id"], ("MUG-1", 1)))
    assert "cancelled" in assert_error(status, body, 422, "campaign_not_live")["message"]


def test_a_live_campaign_past_its_end_takes_no_orders_even_before_the_sweep_ends_it(api, monkeypatch):
    campaign = live_campaign(api)
    after_the_end = datetime.fromisoformat(campaign["ends_at"]) + timedelta(seconds=1)
    monkeypatch.setattr(order_service, "now", lambda: after_the_end)
    status, body = api.post("/orders", ALICE, order_body(campaign["id"], ("MUG-1", 1)))
    assert_error(status, body, 422, "campaign_not_live")
    monkeypatch.undo()
    assert api.get(f"/staff/campaigns/{campaign['id']}", BUYER)[1]["status"] == "live"
    assert api.post("/orders", ALICE, order_body(campaign["id"], ("MUG-1", 1)))[0] == 201


def test_an_order_in_an_unknown_campaign_is_refused_naming_the_campaign_field(api):
    status, body = api.post("/orders", ALICE, order_body("cmp_nope", ("MUG-1", 1)))
    error = assert_error(status, body, 422, "unknown_campaign")
    assert error["details"] == [{"field": "campaign_id", "message": "no such campaign"}]


def test_an_unknown_sku_is_refused_naming_the_line(api):
    campaign = live_campaign(api)
    status, body = api.post("/orders", ALICE, order_body(campaign["id"], ("MUG-1", 1), ("NOPE-9", 1)))
    error = assert_error(status, body, 422, "invalid_order")
    assert [d["field"] for d in error["details"]] == ["lines[1].sku"]
    assert "NOPE-9" in error["details"][0]["message"]


def test_a_sku_listed_twice_is_refused(api):
    campaign = live_campaign(api)
    status, body = api.post("/orders", ALICE, order_body(campaign["id"], ("MUG-1", 1), ("MUG-1", 2)))
    error = assert_error(status, body, 422, "invalid_order")
    assert {d["field"] for d in error["details"]} == {"lines[0].sku", "lines[1].sku"}
    assert all("more than once" in d["message"] for d in error["details"])


@pytest.mark.parametrize("quantity", [0, -1, 10_001])
def test_a_quantity_outside_the_schema_bounds_is_refused_naming_the_field(api, quantity):
    status, body = api.post("/orders", ALICE, order_body("cmp_any", ("MUG-1", quantity)))
    error = assert_error(status, body, 422, "validation_error")
    assert [d["field"] for d in error["details"]] == ["body.lines.0.quantity"]


def test_a_quantity_above_the_per_line_maximum_is_refused(api):
    campaign = live_campaign(api)
    status, body = api.post("/orders", ALICE, order_body(campaign["id"], ("MUG-1", 100)))
    error = assert_error(status, body, 422, "invalid_order")
    assert error["details"] == [{"field": "lines[0].quantity", "message": "quantity must be between 1 and 99"}]


@pytest.mark.parametrize("quantity", [1.5, "2", True, None, [1]])  # 2.0 is an integer (see test_openapi)
def test_a_quantity_that_is_not_a_plain_integer_is_refused(api, quantity):
    status, body = api.post(
        "/orders",
        ALICE,
        {"campaign_id": "cmp_any", "shipping_address": SHIP_TO, "lines": [{"sku": "MUG-1", "quantity": quantity}]},
    )
    error = assert_error(status, body, 422, "validation_error")
    assert error["details"][0]["field"] == "body.lines.0.quantity"


def test_more_lines_than_the_order_maximum_are_refused(api):
    campaign = live_campaign(api)
    lines = [{"sku": f"SKU-{i}", "quantity": 1} for i in range(51)]
    status, body = api.post("/orders", ALICE, {"campaign_id": campaign["id"], "lines": lines, "shipping_address": SHIP_TO})
    error = assert_error(status, body, 422, "invalid_order")
    assert {"field": "lines", "message": "an order has 1 to 50 lines"} in error["details"]


def test_more_lines_than_the_schema_allows_are_refused_before_any_lookup(api):
    lines = [{"sku": f"SKU-{i}", "quantity": 1} for i in range(101)]
    status, body = api.post("/orders", ALICE, {"campaign_id": "cmp_any", "lines": lines})
    error = assert_error(status, body, 422, "validation_error")
    assert error["details"][0]["field"] == "body.lines"


def test_an_order_without_lines_is_refused(api):
    status, body = api.post("/orders", ALICE, {"campaign_id": "cmp_any", "lines": []})
    assert assert_error(status, body, 422, "validation_error")["details"][0]["field"] == "body.lines"


def test_unknown_fields_in_the_order_or_its_lines_are_refused_by_name(api):
    status, body = api.post(
        "/orders", ALICE, {"campaign_id": "cmp_any", "discount": 50, "lines": [{"sku": "MUG-1", "quantity": 1, "price": 1}]}
    )
    error = assert_error(status, body, 422, "validation_error")
    assert {d["field"] for d in error["details"]} == {"body.discount", "body.lines.0.price"}
    assert {d["type"] for d in error["details"]} == {"extra_forbidden"}


def test_missing_required_fields_are_each_named(api):
    status, body = api.post("/orders", ALICE, {})
    error = assert_error(status, body, 422, "validation_error")
    assert {d["field"] for d in error["details"]} == {"body.campaign_id", "body.lines"}


def test_an_unknown_payment_mode_is_refused(api):
    status, body = api.post("/orders", ALICE, order_body("cmp_any", ("MUG-1", 1), payment_mode="barter"))
    assert assert_error(status, body, 422, "validation_error")["details"][0]["field"] == "body.payment_mode"


@pytest.mark.parametrize("payload", [b"{not json", b'{"campaign_id": "x",', b"\xff\xfe\x00garbage"])
def test_a_body_that_is_not_json_is_a_400_invalid_json(api, payload):
    status, body = api.call("POST", "/orders", ALICE, payload)
    assert "not valid JSON" in assert_error(status, body, 400, "invalid_json")["message"]


@pytest.mark.parametrize("payload", [b"[]", b'"order"', b"42", b"null", b"true"])
def test_a_json_body_that_is_not_an_object_is_a_400(api, payload):
    status, body = api.call("POST", "/orders", ALICE, payload)
    assert assert_error(status, body, 400, "invalid_json")["message"] == "the body must be a JSON object"


def test_a_body_with_an_unsupported_content_type_is_a_415_in_the_house_shape(api):
    r = raw(api, "POST", "/orders", ALICE, order_body("cmp_any", ("MUG-1", 1)), extra_headers={"Content-Type": "application/xml"})
    assert r.headers["Content-Type"] == "application/json"
    assert "application/xml" in assert_error(r.status_code, json.loads(r.body), 415, "unsupported_media_type")["message"]


def test_a_json_content_type_with_a_charset_is_accepted(api):
    campaign = live_campaign(api)
    r = raw(
        api,
        "POST",
        "/orders",
        ALICE,
        order_body(campaign["id"], ("MUG-1", 1)),
        extra_headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert r.status_code == 201, r.body


def test_a_refused_order_creates_nothing(api):
    campaign = live_campaign(api)
    api.post("/orders", ALICE, order_body(campaign["id"], ("NOPE", 1)))
    api.post("/orders", ALICE, order_body(campaign["id"], ("MUG-1", 0)))
    assert api.get("/orders", ALICE) == (200, {"next_cursor": None, "items": []})


# ---------------------------------------------------------------- Idempotency-Key


def test_retrying_with_the_same_idempotency_key_and_body_replays_the_first_order(api):
    campaign = live_campaign(api)
    body = order_body(campaign["id"], ("MUG-1", 2))
    key = {"Idempotency-Key": "checkout-123"}
    first = raw(api, "POST", "/orders", ALICE, body, extra_headers=key)
    second = raw(api, "POST", "/orders", ALICE, body, extra_headers=key)

    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    assert second.status_code == 200
    assert second.headers["Idempotent-Replayed"] == "true"
    assert json.loads(second.body)["id"] == json.loads(first.body)["id"]
    assert json.loads(second.body)["total_cents"] == 2400
    status, mine = api.get("/orders", ALICE)
    assert [o["id"] for o in mine["items"]] == [json.loads(first.body)["id"]]


def test_reusing_an_idempotency_key_for_a_different_order_is_refused_and_creates_nothing(api):
    campaign = live_campaign(api)
    key = {"Idempotency-Key": "checkout-9"}
    status, first = api.post("/orders", ALICE, order_body(campaign["id"], ("MUG-1", 2)), extra_headers=key)
    assert status == 201
    for changed in (
        order_body(campaign["id"], ("MUG-1", 3)),
        order_body(campaign["id"], ("MUG-2", 2)),
        order_body(campaign["id"], ("MUG-1", 2), payment_mode="offline"),
    ):
        status, body = api.post("/orders", ALICE, changed, extra_headers=key)
        assert_error(status, body, 422, "idempotency_key_reused")
    assert [o["id"] for o in api.get("/orders", ALICE)[1]["items"]] == [first["id"]]


def test_idempotency_keys_are_scoped_to_the_customer(api):
    campaign = live_campaign(api)
    key = {"Idempotency-Key": "same-key"}
    body = order_body(campaign["id"], ("MUG-1", 1))
    alice = api.post("/orders", ALICE, body, extra_headers=key)
    bob = api.post("/orders", BOB, body, extra_headers=key)
    assert alice[0] == 201 and bob[0] == 201
    assert alice[1]["id"] != bob[1]["id"]
    assert [o["id"] for o in api.get("/orders", BOB)[1]["items"]] == [bob[1]["id"]]


def test_a_refused_request_does_not_burn_its_idempotency_key(api):
    campaign = live_campaign(api)
    key = {"Idempotency-Key": "retry-after-fix"}
    status, body = api.post("/orders", ALICE, order_body(campaign["id"], ("NOPE", 1)), extra_headers=key)
    assert_error(status, body, 422, "invalid_order")
    status, order = api.post("/orders", ALICE, order_body(campaign["id"], ("MUG-1", 1)), extra_headers=key)
    assert status == 201, order


@pytest.mark.parametrize("key", ["", "k" * 256, "has space", "tab\tkey"])
def test_a_malformed_idempotency_key_is_a_400(api, key):
    status, body = api.post("/orders", ALICE, order_body("cmp_any", ("MUG-1", 1)), extra_headers={"Idempotency-Key": key})
    assert_error(status, body, 400, "invalid_idempotency_key")


def test_an_overlong_idempotency_key_is_refused_not_a_server_error_and_creates_nothing(api):
    campaign = live_campaign(api)
    status, body = api.post(
        "/orders", ALICE, order_body(campaign["id"], ("MUG-1", 1)), extra_headers={"Idempotency-Key": "k" * 3000}
    )
    assert_error(status, body, 400, "invalid_idempotency_key")
    assert api.get("/orders", ALICE)[1]["items"] == []
    status, _ = api.post("/orders", ALICE, order_body(campaign["id"], ("MUG-1", 1)), extra_headers={"Idempotency-Key": "k" * 255})
    assert status == 201


# ---------------------------------------------------------------- my orders


def test_a_customer_lists_only_their_own_orders_newest_first(api):
    campaign = live_campaign(api)
    a1 = place(api, campaign["id"], ("MUG-1", 1))
    b1 = place(api, campaign["id"], ("CAP-1", 1), who=BOB)
    a2 = place(api, campaign["id"], ("MUG-2", 1), ("CAP-1", 2))

    status, page = api.get("/orders", ALICE)
    assert status == 200
    assert [o["id"] for o in page["items"]] == [a2["id"], a1["id"]]
    assert page["items"][0] == {
        "id": a2["id"],
        "reference": a2["reference"],
        "campaign_id": campaign["id"],
        "status": "placed",
        "status_text": a2["status_text"],
        "total_cents": 2500 + 2 * 900,
        "currency": "EUR",
        "created_at": a2["created_at"],
    }
    assert [o["id"] for o in api.get("/orders", BOB)[1]["items"]] == [b1["id"]]


def test_my_orders_page_with_a_cursor_and_every_order_appears_exactly_once(api):
    campaign = live_campaign(api)
    placed = [place(api, campaign["id"], ("MUG-1", q))["id"] for q in range(1, 6)]

    status, first = api.get("/orders?limit=2", ALICE)
    assert status == 200 and len(first["items"]) == 2 and first["next_cursor"]
    items, pages = follow_pages(api, "/orders", ALICE, limit=2)
    assert [o["id"] for o in items] == list(reversed(placed))
    assert pages >= 3


def test_a_cursor_that_this_listing_did_not_return_is_a_400_invalid_cursor(api):
    status, body = api.get("/orders?cursor=not-a-cursor", ALICE)
    assert_error(status, body, 400, "invalid_cursor")


@pytest.mark.parametrize(
    "forged",
    [
        {"PK": {"S": "ORDER#x"}},
        {"PK": {"S": "ORDER#x"}, "SK": {"S": "#META"}, "GSI1PK": {"S": "CUSTOMER#cust-alice#ORDERS"}},
        {"PK": {"N": "1"}, "SK": {"S": "#META"}, "GSI1PK": {"S": "CUSTOMER#cust-alice#ORDERS"}, "GSI1SK": {"S": "x"}},
        ["PK", "SK"],
    ],
)
def test_a_forged_cursor_is_a_400_not_a_server_error(api, forged):
    cursor = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip("=")
    status, body = api.get(f"/orders?cursor={cursor}", ALICE)
    assert_error(status, body, 400, "invalid_cursor")


def test_a_cursor_from_another_customers_listing_is_refused(api):
    campaign = live_campaign(api)
    for q in (1, 2, 3):
        place(api, campaign["id"], ("MUG-1", q))
    cursor = api.get("/orders?limit=1", ALICE)[1]["next_cursor"]
    assert cursor
    status, body = api.get(f"/orders?limit=1&cursor={cursor}", BOB)
    assert_error(status, body, 400, "invalid_cursor")


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=ten", "colour=red"])
def test_invalid_paging_parameters_are_refused_naming_the_parameter(api, query):
    status, body = api.get(f"/orders?{query}", ALICE)
    error = assert_error(status, body, 422, "validation_error")
    assert error["details"][0]["field"] == f"query.{query.split('=')[0]}"


# ---------------------------------------------------------------- one of my orders


def test_a_customer_follows_their_order_by_id(api):
    campaign = live_campaign(api)
    placed = place(api, campaign["id"], ("MUG-1", 1), ("CAP-1", 1))
    status, order = api.get(f"/orders/{placed['id']}", ALICE)
    assert status == 200
    assert order == placed


def test_another_customers_order_is_not_found_rather_than_forbidden(api):
    campaign = live_campaign(api)
    alices = place(api, campaign["id"], ("MUG-1", 1))
    status, body = api.get(f"/orders/{alices['id']}", BOB)
    error = assert_error(status, body, 404, "not_found")
    assert "cust-alice" not in json.dumps(error)


@pytest.mark.parametrize("order_id", ["ord_doesnotexist", "x" * 65, "a" * 3000, "bad!chars"])
def test_an_order_that_does_not_exist_is_a_404(api, order_id):
    status, body = api.get(f"/orders/{order_id}", ALICE)
    assert_error(status, body, 404, "not_found")


def test_the_customer_timeline_shows_customer_notes_but_no_internal_notes_or_staff_identities(api):
    campaign = live_campaign(api)
    held = place_on_hold(api, campaign["id"])
    oid = held["id"]
    assert api.post(f"/staff/orders/{oid}/notes", CARE_NAMED, {"internal_note": "SECRET: card looks stolen"})[0] == 201
    assert (
        api.post(
            f"/staff/orders/{oid}/notes",
            CARE_NAMED,
            {"internal_note": "SECRET: called the bank", "customer_note": "We are checking your payment."},
        )[0]
        == 201
    )
    status, _ = api.post(
        f"/staff/orders/{oid}/transitions",
        CARE_NAMED,
        {"action": "approve", "internal_note": "SECRET: bank confirmed", "customer_note": "Thanks for waiting!"},
    )
    assert status == 200

    status, order = api.get(f"/orders/{oid}", ALICE)
    assert status == 200
    assert order["status"] == "placed"
    assert [(e["status"], e["note"]) for e in order["timeline"]] == [
        ("on_hold", None),
        (None, "We are checking your payment."),
        ("placed", "Thanks for waiting!"),
    ]
    assert order["timeline"][2]["message"].startswith("Your order is confirmed")
    text = json.dumps(order)
    for leaked in ("SECRET", "care-7", "Carla", "carla@waybill.example", "customer_care"):
        assert leaked not in text
    assert all(set(e) == {"at", "status", "message", "note"} for e in order["timeline"])
    assert [e["at"] for e in order["timeline"]] == sorted(e["at"] for e in order["timeline"])


def test_staff_cannot_use_the_customer_order_routes(api):
    campaign = live_campaign(api)
    order = place(api, campaign["id"], ("MUG-1", 1))
    status, body = api.get(f"/orders/{order['id']}", CARE)
    assert_error(status, body, 403, "forbidden")
    status, body = api.post("/orders", BUYER, order_body(campaign["id"], ("MUG-1", 1)))
    assert_error(status, body, 403, "forbidden")


# ---------------------------------------------------------------- cancelling my order


def test_a_customer_cancels_a_placed_order_with_a_reason_they_see_in_the_timeline(api):
    campaign = live_campaign(api)
    order = place(api, campaign["id"], ("MUG-1", 1), ("CAP-1", 1))
    status, cancelled = api.post(f"/orders/{order['id']}/cancel", ALICE, {"reason": "Ordered twice"})
    assert status == 200, cancelled
    assert cancelled["status"] == "cancelled"
    assert cancelled["status_text"] == "Your order was cancelled."
    assert {d["status"] for d in cancelled["deliveries"]} == {"cancelled"}
    assert cancelled["timeline"][-1]["status"] == "cancelled"
    assert cancelled["timeline"][-1]["note"] == (
        "Ordered twice We are refunding the 21.00 EUR you paid to your original payment method."
    )
    assert cancelled["money"]["refund_pending_cents"] == 2100
    assert cancelled["allowed_actions"] == []
    events = api.get(f"/staff/orders/{order['id']}", CARE)[1]["events"]
    assert (events[-2]["type"], events[-2]["from_status"], events[-2]["to_status"]) == ("order.cancelled", "placed", "cancelled")
    assert events[-1]["type"] == "order.refund_due"  # prepaid: what was paid goes back, right after
    assert events[-1]["actor"] == {"sub": "cust-alice", "role": "customer", "name": None}


def test_a_customer_cancels_an_order_on_hold_without_giving_a_reason(api):
    campaign = live_campaign(api)
    held = place_on_hold(api, campaign["id"])
    status, cancelled = api.post(f"/orders/{held['id']}/cancel", ALICE)
    assert status == 200 and cancelled["status"] == "cancelled"


def test_a_cancelled_order_cannot_be_cancelled_again(api):
    campaign = live_campaign(api)
    order = place(api, campaign["id"], ("MUG-1", 1))
    assert api.post(f"/orders/{order['id']}/cancel", ALICE)[0] == 200
    status, body = api.post(f"/orders/{order['id']}/cancel", ALICE)
    assert_error(status, body, 409, "invalid_transition")


def test_a_rejected_order_cannot_be_cancelled_by_its_customer(api):
    campaign = live_campaign(api)
    held = place_on_hold(api, campaign["id"])
    assert api.post(f"/staff/orders/{held['id']}/transitions", CARE, {"action": "reject"})[0] == 200
    status, body = api.post(f"/orders/{held['id']}/cancel", ALICE)
    assert_error(status, body, 409, "invalid_transition")


def test_a_customer_cannot_cancel_another_customers_order_and_it_stays_placed(api):
    campaign = live_campaign(api)
    order = place(api, campaign["id"], ("MUG-1", 1))
    status, body = api.post(f"/orders/{order['id']}/cancel", BOB, {"reason": "mischief"})
    assert_error(status, body, 404, "not_found")
    assert api.get(f"/orders/{order['id']}", ALICE)[1]["status"] == "placed"


def test_cancelling_an_order_that_does_not_exist_is_a_404(api):
    status, body = api.post("/orders/ord_missing/cancel", ALICE)
    assert_error(status, body, 404, "not_found")


def test_a_customer_cancel_with_unknown_fields_is_refused(api):
    campaign = live_campaign(api)
    order = place(api, campaign["id"], ("MUG-1", 1))
    status, body = api.post(f"/orders/{order['id']}/cancel", ALICE, {"reason": "x", "refund_to": "elsewhere"})
    assert assert_error(status, body, 422, "validation_error")["details"][0]["field"] == "body.refund_to"
    assert api.get(f"/orders/{order['id']}", ALICE)[1]["status"] == "placed"


def test_a_customer_token_with_another_subject_sees_none_of_alices_orders(api):
    campaign = live_campaign(api)
    place(api, campaign["id"], ("MUG-1", 1))
    carol = headers("cust-carol", "customer")
    assert api.get("/orders", carol) == (200, {"next_cursor": None, "items": []})


def test_a_customer_who_is_also_staff_cannot_cancel_someone_elses_order_through_the_customer_route(api):
    campaign = live_campaign(api)
    order = place(api, campaign["id"], ("MUG-1", 1))
    for roles in (("customer", "accounting"), ("customer", "customer_care"), ("customer", "admin")):
        mixed = headers("staff-shopper", *roles)
        status, body = api.post(f"/orders/{order['id']}/cancel", mixed, {"reason": "oops"})
        assert_error(status, body, 404, "not_found")
    assert api.get(f"/orders/{order['id']}", ALICE)[1]["status"] == "placed"


def test_a_customer_who_is_also_staff_sees_only_customer_actions_on_their_own_order(api):
    campaign = live_campaign(api)
    mixed = headers("staff-shopper", "customer", "accounting")
    order = place(api, campaign["id"], ("MUG-1", 1), who=mixed)
    assert order["allowed_actions"] == ["cancel"]
    status, cancelled = api.post(f"/orders/{order['id']}/cancel", mixed)
    assert status == 200 and cancelled["status"] == "cancelled"
    event = api.get(f"/staff/orders/{order['id']}", CARE)[1]["events"][-1]
    assert event["actor"]["role"] == "customer"
