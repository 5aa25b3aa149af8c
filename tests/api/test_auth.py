"""The authorizer: who gets in (a valid token from our issuer with a Waybill role) and what each role reaches."""

from __future__ import annotations

import json
import time

import jwt
import pytest

from chalicelib.local.issuer import DevIssuer
from tests.api.support import LOGISTICS, SHIP_TO, SUPPLIER_ACME, assert_error, product, raw
from tests.aws import ACCOUNTING, ADMIN, ALICE, BUYER, CARE, live_campaign
from tests.conftest import ISSUER

# A key pair nobody trusts, announcing itself with the trusted key's id.
IMPOSTOR = DevIssuer.generate(kid=ISSUER.kid)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def refused(api, who: dict[str, str], path: str = "/orders") -> dict:
    r = raw(api, "GET", path, who)
    assert r.headers.get("Content-Type") == "application/json", r.headers
    return assert_error(r.status_code, json.loads(r.body), 401, "unauthorized")


def test_a_valid_customer_token_gets_in(api):
    assert api.get("/orders", bearer(ISSUER.token("cust-zed", ["customer"]))) == (200, {"next_cursor": None, "items": []})


def test_a_request_without_an_authorization_header_is_a_401(api):
    r = raw(api, "GET", "/orders", {"Content-Type": "application/json"})
    assert r.status_code == 401
    assert json.loads(r.body)  # API Gateway's own answer: the authorizer never runs without a token


def test_an_expired_token_is_a_401_that_says_so(api):
    error = refused(api, bearer(ISSUER.token("cust-alice", ["customer"], ttl_seconds=-60)))
    assert error["message"] == "the token has expired"


def test_a_token_signed_by_another_key_with_the_trusted_key_id_is_a_401(api):
    error = refused(api, bearer(IMPOSTOR.token("cust-alice", ["customer"])))
    assert error["message"] == "the token's signature does not verify"


def test_a_token_with_an_unknown_key_id_is_a_401(api):
    stranger = DevIssuer(private_pem=IMPOSTOR.private_pem, kid="someone-else")
    error = refused(api, bearer(stranger.token("cust-alice", ["customer"])))
    assert "not signed by a known key" in error["message"]


def test_a_token_for_another_audience_is_a_401(api):
    error = refused(api, bearer(ISSUER.token("cust-alice", ["customer"], aud="some-other-app")))
    assert error["message"] == "the token is for another audience"


def test_a_token_from_another_issuer_is_a_401(api):
    error = refused(api, bearer(ISSUER.token("cust-alice", ["customer"], iss="https://evil.example")))
    assert error["message"] == "the token comes from an unknown issuer"


def test_a_token_without_an_expiry_is_a_401(api):
    claims = {"sub": "cust-alice", "iss": ISSUER.issuer, "aud": ISSUER.audience, "cognito:groups": ["customer"]}
    token = jwt.encode(claims, ISSUER.private_pem, algorithm="RS256", headers={"kid": ISSUER.kid})
    assert "exp" in refused(api, bearer(token))["message"]


def test_an_unsigned_token_is_a_401(api):
    claims = {
        "sub": "cust-alice",
        "iss": ISSUER.issuer,
        "aud": ISSUER.audience,
        "exp": int(time.time()) + 600,
        "cognito:groups": ["customer"],
    }
    token = jwt.encode(claims, None, algorithm="none", headers={"kid": ISSUER.kid})
    refused(api, bearer(token))


def test_a_token_signed_with_a_shared_secret_is_a_401(api):
    claims = {
        "sub": "cust-alice",
        "iss": ISSUER.issuer,
        "aud": ISSUER.audience,
        "exp": int(time.time()) + 600,
        "cognito:groups": ["admin"],
    }
    token = jwt.encode(claims, "x" * 32, algorithm="HS256", headers={"kid": ISSUER.kid})
    refused(api, bearer(token))


@pytest.mark.parametrize("token", ["garbage", "a.b.c", ""])
def test_a_malformed_token_is_a_401(api, token):
    r = raw(api, "GET", "/orders", {"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert json.loads(r.body)


def test_a_token_with_no_waybill_group_is_a_401(api):
    assert refused(api, bearer(ISSUER.token("x", ["wiki-editors"])))["message"] == "the token carries no Waybill role"
    assert refused(api, bearer(ISSUER.token("x", [])))["message"] == "the token carries no Waybill role"


def test_groups_may_come_from_a_plain_groups_claim(api):
    claims = {
        "sub": "cust-gus",
        "iss": ISSUER.issuer,
        "aud": ISSUER.audience,
        "exp": int(time.time()) + 600,
        "groups": ["customer"],
    }
    token = jwt.encode(claims, ISSUER.private_pem, algorithm="RS256", headers={"kid": ISSUER.kid})
    assert api.get("/orders", bearer(token))[0] == 200


def test_a_supplier_token_without_a_supplier_id_is_a_401(api):
    error = refused(api, bearer(ISSUER.token("sup-user", ["supplier"])))
    assert error["message"] == "a supplier token must name its supplier_id"


def test_public_routes_need_no_token(api):
    status, health = api.get("/health")
    assert status == 200 and health == {"status": "ok", "stage": "test", "version": "1.0.0"}
    status, doc = api.get("/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.1")


def test_a_customer_calling_a_staff_route_is_a_403_in_the_house_shape(api):
    r = raw(api, "GET", "/staff/orders", ALICE)
    assert r.headers["Content-Type"] == "application/json"
    error = assert_error(r.status_code, json.loads(r.body), 403, "forbidden")
    assert "customer" in error["message"]


STAFF_ROUTES = [
    ("POST", "/staff/campaigns"),
    ("GET", "/staff/campaigns"),
    ("GET", "/staff/campaigns/cmp_x"),
    ("POST", "/staff/campaigns/cmp_x/go-live"),
    ("POST", "/staff/suppliers"),
    ("GET", "/staff/suppliers"),
    ("PUT", "/staff/customers/cust-alice/flag"),
    ("GET", "/staff/orders"),
    ("GET", "/staff/orders/ord_x"),
    ("POST", "/staff/orders/ord_x/transitions"),
    ("POST", "/staff/orders/ord_x/notes"),
]


def test_customers_and_suppliers_reach_no_staff_route(api):
    for method, path in STAFF_ROUTES:
        for who in (ALICE, SUPPLIER_ACME):
            status, body = api.call(method, path, who, {} if method != "GET" else None)
            assert_error(status, body, 403, "forbidden")


def test_a_supplier_cannot_place_customer_orders(api):
    status, body = api.post(
        "/orders", SUPPLIER_ACME, {"campaign_id": "cmp_x", "lines": [{"sku": "A", "quantity": 1}], "shipping_address": SHIP_TO}
    )
    assert_error(status, body, 403, "forbidden")


def test_accounting_may_not_approve_an_order_and_the_order_stays_on_hold(api):
    campaign = live_campaign(api)
    status, held = api.post(
        "/orders",
        ALICE,
        {"campaign_id": campaign["id"], "lines": [{"sku": "MUG-2", "quantity": 21}], "shipping_address": SHIP_TO},
    )
    assert held["status"] == "on_hold"
    for who in (ACCOUNTING, BUYER, LOGISTICS):
        status, body = api.post(f"/staff/orders/{held['id']}/transitions", who, {"action": "approve"})
        assert_error(status, body, 403, "forbidden")
    assert api.get(f"/staff/orders/{held['id']}", ADMIN)[1]["status"] == "on_hold"


def test_admin_may_approve_an_order(api):
    campaign = live_campaign(api)
    _, held = api.post(
        "/orders",
        ALICE,
        {"campaign_id": campaign["id"], "lines": [{"sku": "MUG-2", "quantity": 21}], "shipping_address": SHIP_TO},
    )
    status, order = api.post(f"/staff/orders/{held['id']}/transitions", ADMIN, {"action": "approve"})
    assert status == 200 and order["status"] == "placed"
    assert order["events"][-1]["actor"]["role"] == "admin"


def test_customer_care_may_not_create_campaigns_or_suppliers(api):
    status, body = api.post("/staff/campaigns", CARE, {"name": "Sneaky", "products": []})
    assert "buyer" in assert_error(status, body, 403, "forbidden")["message"]
    status, body = api.post("/staff/suppliers", CARE, {"name": "Sneaky", "contact_emails": ["a@b.example"]})
    assert_error(status, body, 403, "forbidden")
    assert api.get("/staff/campaigns?status=draft", CARE)[1]["items"] == []


def test_a_buyer_may_not_flag_customers(api):
    status, body = api.put("/staff/customers/cust-alice/flag", BUYER, {"flagged": True, "reason": "hunch"})
    assert_error(status, body, 403, "forbidden")


def test_staff_roles_without_catalogue_rights_cannot_change_a_campaign(api):
    campaign = live_campaign(api)
    for who in (CARE, ACCOUNTING, LOGISTICS):
        status, body = api.post(f"/staff/campaigns/{campaign['id']}/cancel", who, {"reason": "no"})
        assert_error(status, body, 403, "forbidden")
        status, body = api.post(f"/staff/campaigns/{campaign['id']}/products", who, {"products": [product("Z-1")]})
        assert_error(status, body, 403, "forbidden")
    assert api.get(f"/staff/campaigns/{campaign['id']}", CARE)[1]["status"] == "live"


def test_every_staff_role_may_read_orders_campaigns_and_suppliers(api):
    live_campaign(api)
    for who in (BUYER, CARE, ACCOUNTING, LOGISTICS, ADMIN):
        assert api.get("/staff/orders", who)[0] == 200
        assert len(api.get("/staff/campaigns", who)[1]["items"]) == 1
        assert len(api.get("/staff/suppliers", who)[1]["items"]) == 2
