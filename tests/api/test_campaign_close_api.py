"""Staff close a campaign by hand: `POST /staff/campaigns/{campaign_id}/close`."""

from __future__ import annotations

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.models import Item, PurchaseOrderItem
from chalicelib.domain.purchase_orders import po_id
from tests.api.support import assert_error, order_body
from tests.aws import ADMIN, ALICE, BOB, BUYER, CARE, live_campaign


def _order(api, who, campaign_id, *lines):
    status, order = api.post("/orders", who, order_body(campaign_id, *lines))
    assert status == 201, order
    return order


def test_a_buyer_closes_a_live_campaign_it_is_ended_then_closed_into_purchase_orders(api):
    campaign = live_campaign(api)
    a = _order(api, ALICE, campaign["id"], ("MUG-1", 2), ("CAP-1", 1))
    b = _order(api, BOB, campaign["id"], ("MUG-1", 1))

    status, body = api.post(f"/staff/campaigns/{campaign['id']}/close", BUYER)

    assert status == 200, body
    assert body["status"] == "closed" and body["id"] == campaign["id"]
    pos = {i.supplier_id: i for i in Item.gsi2.query(keys.campaign_pos_pk(campaign["id"])) if isinstance(i, PurchaseOrderItem)}
    assert set(pos) == {"acme", "bolt"} and pos["acme"].id == po_id(campaign["id"], "acme")
    assert [(l.sku, int(l.ordered_quantity)) for l in pos["acme"].lines] == [("MUG-1", 3)]
    for who, order in ((ALICE, a), (BOB, b)):
        status, seen = api.get(f"/orders/{order['id']}", who)
        assert seen["status"] == "ordered"
    status, events = api.get(f"/staff/campaigns/{campaign['id']}", CARE)
    assert events["status"] == "closed"


def test_closing_a_closed_campaign_is_a_409_and_changes_nothing(api):
    campaign = live_campaign(api)
    _order(api, ALICE, campaign["id"], ("MUG-1", 2))
    status, first = api.post(f"/staff/campaigns/{campaign['id']}/close", ADMIN)
    assert status == 200

    status, body = api.post(f"/staff/campaigns/{campaign['id']}/close", BUYER)

    assert_error(status, body, 409, "invalid_transition")
    status, now = api.get(f"/staff/campaigns/{campaign['id']}", CARE)
    assert now["version"] == first["version"]


def test_customer_care_may_not_close_a_campaign(api):
    campaign = live_campaign(api)
    status, body = api.post(f"/staff/campaigns/{campaign['id']}/close", CARE)
    assert_error(status, body, 403)
    status, still = api.get(f"/staff/campaigns/{campaign['id']}", CARE)
    assert still["status"] == "live"


def test_closing_a_draft_or_unknown_campaign_is_refused(api):
    status, draft = api.post("/staff/campaigns", BUYER, {"name": "Draft", "products": []})
    assert status == 201
    status, body = api.post(f"/staff/campaigns/{draft['id']}/close", BUYER)
    assert_error(status, body, 409, "invalid_transition")
    status, body = api.post("/staff/campaigns/cmp_nope/close", BUYER)
    assert_error(status, body, 404, "not_found")
