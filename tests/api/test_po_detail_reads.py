"""A PO's detail reads a bounded page of its parcels, whatever it shipped: the first page with the PO and
a cursor, the rest a page at a time (staff and supplier alike), and never its per-order shipped markers."""

from __future__ import annotations

from chalicelib.adapters.dynamodb.metering import metered
from chalicelib.domain.purchase_orders import Stage
from chalicelib.services import supplier_portal
from tests.api import po_support
from tests.api.po_support import ACME, BOLT, accept_deliveries, make_po
from tests.api.support import assert_error
from tests.api.test_shipments import (
    gateway,  # noqa: F401  (fixture)
    order_of,
    three_supplier_campaign,
)
from tests.aws import CARE

aws, sfn_calls = po_support.aws, po_support.sfn_calls  # fixtures

PARCELS = 40


def test_a_po_with_40_parcels_is_read_a_page_of_parcels_at_a_time(api, sfn_calls, gateway):  # noqa: F811
    campaign = three_supplier_campaign(api)
    orders = [order_of(api, campaign["id"], "prepaid") for _ in range(2)]
    po = make_po(campaign["id"], "acme", stage=Stage.SHIPMENT, accepted=True, orders_to_ship=PARCELS + 1)
    accept_deliveries("acme", *(o["id"] for o in orders))
    path = f"/supplier/purchase-orders/{po}/shipments"
    for n in range(PARCELS):  # parcels of the same orders: the stage stays open
        body = {"carrier": "dhl", "tracking_number": f"MANY{n:04d}", "order_ids": [o["id"] for o in orders]}
        assert api.post(path, ACME, body)[0] == 201

    shown = supplier_portal.PARCELS_SHOWN
    for detail_path, who in ((f"/staff/purchase-orders/{po}", CARE), (f"/supplier/purchase-orders/{po}", ACME)):
        with metered() as m:
            status, detail = api.get(detail_path, who)
        assert status == 200, detail
        if who is CARE:  # the partition before its parcels (its audit trail with it), then one page of parcels
            assert dict(m.requests) == {"Query": 2}
            assert m.items_read <= 1 + len(detail["events"]) + shown + 1, m.items_read
        else:  # no audit trail shown: the partition around its events, then one page of parcels
            assert dict(m.requests) == {"Query": 3}
            assert m.items_read <= 1 + shown + 1, "nothing read grows with the parcels but their page"
        assert len(detail["shipments"]) == shown and detail["shipments_cursor"]

        seen = [s["tracking_number"] for s in detail["shipments"]]
        cursor = detail["shipments_cursor"]
        while cursor:
            with metered() as m:
                status, page = api.get(f"{detail_path}/shipments?cursor={cursor}&limit={shown}", who)
            assert status == 200, page
            assert dict(m.requests) == {"Query": 1} and m.items_read <= shown
            seen += [s["tracking_number"] for s in page["items"]]
            cursor = page["next_cursor"]
        assert sorted(seen) == [f"MANY{n:04d}" for n in range(PARCELS)]

    assert_error(*api.get(f"/supplier/purchase-orders/{po}/shipments", BOLT), 404, "not_found")
