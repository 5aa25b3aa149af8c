"""Sales so far per product: suppliers read their own, staff any supplier's, from counters the order
transactions keep (one BatchGetItem of the shards, never a scan), which withdrawn orders take back."""

from __future__ import annotations

from chalicelib.adapters.dynamodb.metering import metered
from tests.api import po_support
from tests.api.po_support import ACME, BOLT
from tests.api.support import assert_error, place
from tests.aws import ALICE, BOB, BUYER, CARE, headers, live_campaign

aws = po_support.aws  # fixture

COBALT = headers("sup-cobalt", "supplier", supplier_id="cobalt")


def sales(api, campaign_id: str, who) -> dict:
    status, body = api.get(f"/supplier/campaigns/{campaign_id}/sales", who)
    assert status == 200, body
    return body


def test_a_supplier_sees_units_and_amount_per_product_of_its_own_products_only(api):
    campaign = live_campaign(api)
    place(api, campaign["id"], ("MUG-1", 2), ("MUG-2", 1), ("CAP-1", 3))
    place(api, campaign["id"], ("MUG-1", 1), who=BOB)

    acme = sales(api, campaign["id"], ACME)
    assert acme == {
        "campaign_id": campaign["id"],
        "currency": campaign["currency"],
        "items": [
            {"product_id": "MUG-1", "name": "Mug", "units": 3, "amount_cents": 3 * 1200},
            {"product_id": "MUG-2", "name": "Big mug", "units": 1, "amount_cents": 2500},
        ],
    }
    assert [(i["product_id"], i["units"]) for i in sales(api, campaign["id"], BOLT)["items"]] == [("CAP-1", 3)]


def test_reading_sales_is_one_batch_read_of_the_counter_shards(api):
    campaign = live_campaign(api)
    for _ in range(3):
        place(api, campaign["id"], ("MUG-1", 1), ("CAP-1", 1))
    with metered() as m:
        body = sales(api, campaign["id"], ACME)
    assert body["items"][0]["units"] == 3
    assert dict(m.requests) == {"BatchGetItem": 1}


def test_a_cancelled_order_takes_its_units_off_the_sales(api):
    campaign = live_campaign(api)
    place(api, campaign["id"], ("MUG-1", 2))
    gone = place(api, campaign["id"], ("MUG-1", 5), ("MUG-2", 1), who=BOB)
    status, body = api.post(f"/orders/{gone['id']}/cancel", BOB, {})
    assert status == 200, body
    assert [(i["product_id"], i["units"], i["amount_cents"]) for i in sales(api, campaign["id"], ACME)["items"]] == [
        ("MUG-1", 2, 2 * 1200),
        ("MUG-2", 0, 0),
    ]


def test_before_any_order_a_supplier_sees_its_products_at_zero(api):
    campaign = live_campaign(api)
    body = sales(api, campaign["id"], BOLT)
    assert body["items"] == [{"product_id": "CAP-1", "name": "Cap", "units": 0, "amount_cents": 0}]


def test_a_campaign_the_supplier_sells_nothing_in_is_not_found(api):
    campaign = live_campaign(api)
    place(api, campaign["id"], ("MUG-1", 1))
    status, body = api.get(f"/supplier/campaigns/{campaign['id']}/sales", COBALT)
    assert_error(status, body, 404, "not_found")
    status, body = api.get("/supplier/campaigns/cmp_nope/sales", ACME)
    assert_error(status, body, 404, "not_found")


def test_staff_read_any_suppliers_sales_and_must_name_the_supplier(api):
    campaign = live_campaign(api)
    place(api, campaign["id"], ("CAP-1", 2))
    status, body = api.get(f"/staff/campaigns/{campaign['id']}/sales?supplier_id=bolt", CARE)
    assert status == 200, body
    assert body["items"] == [{"product_id": "CAP-1", "name": "Cap", "units": 2, "amount_cents": 2 * 900}]
    status, body = api.get(f"/staff/campaigns/{campaign['id']}/sales", BUYER)
    assert_error(status, body, 422)
    status, body = api.get(f"/staff/campaigns/{campaign['id']}/sales?supplier_id=bolt", ALICE)
    assert_error(status, body, 403)
