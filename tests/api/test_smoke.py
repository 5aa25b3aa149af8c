from tests.api.support import SHIP_TO
from tests.aws import ALICE, live_campaign


def test_a_customer_places_an_order_across_two_suppliers(api):
    campaign = live_campaign(api)
    status, order = api.post(
        "/orders",
        ALICE,
        {
            "campaign_id": campaign["id"],
            "lines": [{"sku": "MUG-1", "quantity": 2}, {"sku": "CAP-1", "quantity": 1}],
            "shipping_address": SHIP_TO,
        },
    )
    assert status == 201, order
    assert [d["supplier_id"] for d in order["deliveries"]] == ["acme", "bolt"]
    assert order["total_cents"] == 2 * 1200 + 900
