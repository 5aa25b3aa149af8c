"""A shop's storefront, signed in with machine credentials, places orders for its customers and reads
back only the orders it placed; it reaches nothing else, and no person's token can pass for one."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.support import SHIP_TO, SUPPLIER_ACME, assert_error, raw
from tests.aws import ALICE, CARE, headers, live_campaign
from tests.conftest import ISSUER

SHOP = "shop-client-1"
OTHER_SHOP = "shop-client-2"


def storefront(client_id: str = SHOP, on_behalf_of: str | None = "cust-zoe", **claims: Any) -> dict[str, str]:
    who = {"Authorization": f"Bearer {ISSUER.storefront_token(client_id, **claims)}", "Content-Type": "application/json"}
    return {**who, "X-On-Behalf-Of": on_behalf_of} if on_behalf_of is not None else who


def order_for(campaign_id: str, email: str = "zoe@example.com") -> dict[str, Any]:
    return {
        "campaign_id": campaign_id,
        "lines": [{"sku": "MUG-1", "quantity": 2}],
        "shipping_address": SHIP_TO,
        "customer_email": email,
    }


def test_a_storefront_places_an_order_for_its_customer_and_reads_it_back(api):
    campaign = live_campaign(api)
    status, order = api.post("/storefront/orders", storefront(), order_for(campaign["id"]))
    assert status == 201, order
    assert order["status"] == "placed" and order["total_cents"] == 2400

    status, again = api.get(f"/storefront/orders/{order['id']}", storefront())
    assert status == 200, again
    assert (again["id"], again["total_cents"]) == (order["id"], 2400)

    staff_view = api.get(f"/staff/orders/{order['id']}", CARE)[1]
    assert (staff_view["customer_id"], staff_view["customer_email"]) == ("cust-zoe", "zoe@example.com")
    placed = staff_view["events"][0]
    assert placed["type"] == "order.placed"
    assert placed["actor"] == {"sub": SHOP, "role": "storefront", "name": f"storefront {SHOP} on behalf of cust-zoe"}


def test_the_same_idempotency_key_for_two_customers_places_two_orders(api):
    campaign = live_campaign(api)
    key = {"Idempotency-Key": "cart-42"}
    first = api.post("/storefront/orders", {**storefront(on_behalf_of="cust-zoe"), **key}, order_for(campaign["id"]))[1]
    replay = raw(api, "POST", "/storefront/orders", {**storefront(on_behalf_of="cust-zoe"), **key}, order_for(campaign["id"]))
    assert replay.status_code == 200 and json.loads(replay.body)["id"] == first["id"]
    other = api.post("/storefront/orders", {**storefront(on_behalf_of="cust-yan"), **key}, order_for(campaign["id"]))[1]
    assert other["id"] != first["id"]


def test_a_storefront_cannot_read_another_storefronts_order(api):
    campaign = live_campaign(api)
    order = api.post("/storefront/orders", storefront(OTHER_SHOP), order_for(campaign["id"]))[1]
    status, body = api.get(f"/storefront/orders/{order['id']}", storefront())
    assert_error(status, body, 404, "not_found")


def test_a_storefront_cannot_read_a_customers_own_order_even_naming_that_customer(api):
    campaign = live_campaign(api)
    status, mine = api.post(
        "/orders", ALICE, {"campaign_id": campaign["id"], "lines": [{"sku": "MUG-1", "quantity": 1}], "shipping_address": SHIP_TO}
    )
    assert status == 201, mine
    status, body = api.get(f"/storefront/orders/{mine['id']}", storefront(on_behalf_of="cust-alice"))
    assert_error(status, body, 404, "not_found")


def test_a_customer_does_not_see_a_storefronts_routes(api):
    campaign = live_campaign(api)
    order = api.post("/storefront/orders", storefront(on_behalf_of="cust-alice"), order_for(campaign["id"]))[1]
    assert_error(*api.get(f"/storefront/orders/{order['id']}", ALICE), 403, "forbidden")
    assert_error(*api.post("/storefront/orders", ALICE, order_for(campaign["id"])), 403, "forbidden")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/staff/orders"),
        ("GET", "/staff/campaigns"),
        ("POST", "/staff/suppliers"),
        ("GET", "/supplier/purchase-orders"),
        ("GET", "/supplier/campaigns"),
        ("GET", "/orders"),  # a customer's own routes: the storefront is not the customer
        ("POST", "/orders"),
        ("GET", "/me/addresses"),
        ("GET", "/me"),
    ],
)
def test_a_storefront_gets_403_on_staff_supplier_and_customer_routes(api, method, path):
    r = raw(api, method, path, storefront(), {} if method == "POST" else None)
    assert_error(r.status_code, json.loads(r.body), 403, "forbidden")


def test_a_storefront_must_name_its_customer(api):
    campaign = live_campaign(api)
    status, body = api.post("/storefront/orders", storefront(on_behalf_of=None), order_for(campaign["id"]))
    assert_error(status, body, 400, "on_behalf_of_required")
    status, body = api.post("/storefront/orders", storefront(on_behalf_of="not an id!"), order_for(campaign["id"]))
    assert_error(status, body, 400, "on_behalf_of_required")


def test_a_storefront_order_needs_the_customers_email_and_an_address(api):
    campaign = live_campaign(api)
    body = order_for(campaign["id"])
    del body["customer_email"]
    assert_error(*api.post("/storefront/orders", storefront(), body), 422, "validation_error")
    body = {**order_for(campaign["id"]), "shipping_address": None, "address_id": "addr_1"}
    assert_error(*api.post("/storefront/orders", storefront(), body), 422, "validation_error")


# ---------------------------------------------------------------- no person passes for a storefront


def test_a_customer_token_claiming_the_storefront_scope_is_still_only_a_customer(api):
    forged = headers("cust-alice", "customer", scope="waybill/orders.place", client_id="cust-alice", token_use="access")
    campaign = live_campaign(api)
    assert_error(*api.post("/storefront/orders", {**forged, "X-On-Behalf-Of": "cust-bob"}, order_for(campaign["id"])), 403)
    assert api.get("/orders", forged)[0] == 200  # still the customer it is


def test_a_storefront_group_grants_nothing(api):
    status, body = api.get("/orders", headers("cust-alice", "storefront", "customer"))
    assert status == 200  # the customer role stands; the storefront group is ignored
    r = raw(api, "GET", "/storefront/orders/ord_x", headers("mallory", "storefront"))
    assert_error(r.status_code, json.loads(r.body), 401, "unauthorized")


def test_a_token_without_the_storefront_scope_or_naming_another_subject_is_no_storefront(api):
    for who in (
        storefront(scope="openid email"),  # another scope of the client
        storefront(sub="user-123"),  # a user's access token: its subject is not the client
        storefront(token_use="id"),
    ):
        r = raw(api, "GET", "/storefront/orders/ord_x", who)
        assert r.status_code == 401, r.body  # no aud (an access token), no groups: no Waybill role


def test_a_supplier_token_does_not_reach_storefront_routes(api):
    assert_error(*api.get("/storefront/orders/ord_x", SUPPLIER_ACME), 403, "forbidden")
