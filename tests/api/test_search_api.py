"""Staff's search box and saved views over HTTP on moto: a prefix of an e-mail, a name, a reference or a
tracking number finds its thing in at most two DynamoDB requests; several statuses at once list the orders
of each, newest first; saved views are saved, listed, replaced and deleted; bad input is a 422 naming its
field; a customer may not search. The backfill gives a table's older orders their find items, once."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.metering import metered
from chalicelib.adapters.dynamodb.store import DynamoStore
from chalicelib.adapters.dynamodb.store_search import FindItem
from chalicelib.domain.addresses import order_reference
from chalicelib.domain.shipments import Shipment
from chalicelib.services import search
from chalicelib.services.ports import Save
from chalicelib.services.ports_shipments import ShipmentRecord
from tests.api.support import assert_error, follow_pages, place
from tests.aws import ALICE, BOB, CARE, live_campaign
from tests.unit.factories import NOW


def _find(api, q: str, who=CARE) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """The kinds and ids found, and the DynamoDB requests the search made, by operation."""
    with metered() as m:
        status, body = api.get(f"/staff/search?q={quote(q)}", who)
    assert status == 200, body
    return [(r["kind"], r["id"]) for r in body["items"]], dict(m.requests)


def test_a_prefix_finds_customers_orders_and_parcels_in_at_most_two_requests(api):
    campaign = live_campaign(api)
    a = place(api, campaign["id"], ("MUG-1", 1))
    place(api, campaign["id"], ("MUG-1", 1))  # Alice again: still one customer result
    place(api, campaign["id"], ("MUG-1", 1), who=BOB)
    parcel = Shipment("shp-1", "dhl", "JD0000000001", "po-1", "acme", campaign["id"], [a["id"]], NOW)
    DynamoStore().commit([Save(ShipmentRecord(parcel), None)], what="a parcel", at=NOW)

    found, requests = _find(api, "ALICE@ex")
    assert found == [("customer", "cust-alice")] and requests == {"Query": 1}
    status, body = api.get("/staff/search?q=alice", CARE)
    assert body["items"][0]["link"] == "#/orders?customer_email=alice%40example.com"
    assert body["items"][0]["label"] == "Alice Martin · alice@example.com"

    reference = order_reference(a["id"])
    found, requests = _find(api, reference[:7])  # "WB-XXXX": the WB dropped, and the whole typed too
    assert ("order", a["id"]) in found and requests == {"Query": 2}

    found, requests = _find(api, "jd00000000")
    assert found == [("shipment", "dhl#JD0000000001")] and requests == {"Query": 1}

    found, _ = _find(api, "bolt")  # a supplier by its name (created by live_campaign)
    assert found == [("supplier", "bolt")]


def test_a_query_is_two_to_a_hundred_characters_and_staff_only(api):
    status, body = api.get("/staff/search?q=a", CARE)
    details = assert_error(status, body, 422, "validation_error")["details"]
    assert [d["field"] for d in details] == ["query.q"]
    assert_error(*api.get("/staff/search?q=" + "x" * 101, CARE), 422, "validation_error")
    assert_error(*api.get("/staff/search?q=alice", ALICE), 403, "forbidden")


def test_several_statuses_at_once_list_each_ones_orders_newest_first_page_by_page(api):
    campaign = live_campaign(api)
    held = place(api, campaign["id"], ("CAP-1", 99))
    assert held["status"] == "on_hold"
    placed = [place(api, campaign["id"], ("MUG-1", 1)) for _ in range(2)]
    cancelled = place(api, campaign["id"], ("MUG-1", 3))
    assert api.post(f"/orders/{cancelled['id']}/cancel", ALICE)[0] == 200

    items, _ = follow_pages(api, "/staff/orders?status=on_hold,cancelled", CARE, limit=1)
    assert [o["id"] for o in items] == [cancelled["id"], held["id"]]
    items, _ = follow_pages(api, "/staff/orders?status=placed,on_hold&customer_id=cust-alice", CARE, limit=1)
    assert [o["id"] for o in items] == [placed[1]["id"], placed[0]["id"], held["id"]]

    status, body = api.get("/staff/orders?status=placed,lost", CARE)
    assert [d["field"] for d in assert_error(status, body, 422, "validation_error")["details"]] == ["query.status"]


def test_saved_views_are_saved_listed_replaced_and_deleted(api):
    status, body = api.put("/staff/views/orders", CARE, {"name": "Held", "filters": {"status": "on_hold"}})
    assert status == 200 and body["version"] == 1 and body["filters"] == {"status": "on_hold"}, body
    status, body = api.put("/staff/views/orders", CARE, {"name": "held", "filters": {"status": "on_hold,placed"}})
    assert status == 200 and body["version"] == 2
    assert api.put("/staff/views/complaints", CARE, {"name": "Open", "filters": {"status": "open"}})[0] == 200

    with metered() as m:
        status, listed = api.get("/staff/views", CARE)
    assert status == 200 and [(v["screen"], v["name"]) for v in listed["items"]] == [("complaints", "Open"), ("orders", "held")]
    assert m.requests["Query"] == 1
    assert [v["name"] for v in api.get("/staff/views?screen=orders", CARE)[1]["items"]] == ["held"]

    status, body = api.put("/staff/views/orders", CARE, {"name": "Bad", "filters": {"colour": "red"}})
    assert [d["field"] for d in assert_error(status, body, 422, "invalid_view")["details"]] == ["filters.colour"]
    status, body = api.put("/staff/views/orders", CARE, {"name": "", "filters": {}})
    assert [d["field"] for d in assert_error(status, body, 422, "validation_error")["details"]] == ["body.name"]

    status, body = api.call("DELETE", "/staff/views/orders?name=HELD", CARE)
    assert status == 200 and body["items"] == []
    assert_error(*api.call("DELETE", "/staff/views/orders?name=held", CARE), 404, "not_found")
    assert api.get("/staff/views", BOB)[0] == 403


@pytest.mark.parametrize(
    ("screen", "filters", "unknown", "bad_value"),
    [
        (
            "exceptions",
            {
                "kind": "stage_overdue,shipment_late",
                "severity": "high",
                "status": "resolved",
                "team": "buyer",
                "assignee": "none",
                "sort": "due",
            },
            {"q": "x"},
            {"severity": "urgent"},
        ),
        ("complaints", {"status": "care", "supplier_id": "sup-1"}, {"order_id": "o-1"}, {"status": "on_hold"}),
        ("complaints", {"status": "any"}, {"kind": "x"}, {"supplier_id": "not an id"}),
        ("purchase_orders", {"stage": "acknowledge", "campaign_id": "camp-1"}, {"status": "open"}, {"stage": "late"}),
        ("purchase_orders", {"stage": "shipped"}, {"supplier_id": "sup-1"}, {"campaign_id": "a/b"}),
    ],
)
def test_each_list_screen_keeps_its_own_filters_and_refuses_others_naming_them(
    api, screen: str, filters: dict[str, str], unknown: dict[str, str], bad_value: dict[str, str]
):
    status, body = api.put(f"/staff/views/{screen}", CARE, {"name": "Mine", "filters": filters})
    assert status == 200 and body["screen"] == screen and body["filters"] == filters, body
    for refused in (unknown, bad_value):
        status, body = api.put(f"/staff/views/{screen}", CARE, {"name": "Other", "filters": refused})
        field = f"filters.{next(iter(refused))}"
        assert [d["field"] for d in assert_error(status, body, 422, "invalid_view")["details"]] == [field]
    listed = api.get(f"/staff/views?screen={screen}", CARE)[1]["items"]
    assert [(v["name"], v["filters"]) for v in listed] == [("Mine", filters)]  # the refused ones were not kept


def test_the_backfill_indexes_orders_placed_before_find_items_once(api):
    campaign = live_campaign(api)
    order = place(api, campaign["id"], ("MUG-1", 1))
    # a table from before search: the order's find items were never written
    for kind, thing, slot in (
        ("order", order["id"], "reference"),
        ("customer", "cust-alice", f"email#{order['id']}"),
        ("customer", "cust-alice", f"name#{order['id']}"),
    ):
        FindItem.get(*keys.find_item(kind, thing, slot)).delete()
    assert _find(api, "alice")[0] == []

    written = search.index_existing(chunk=2)
    assert written >= 3  # the order's reference, e-mail and name (and the suppliers and the campaign)
    assert _find(api, "alice")[0] == [("customer", "cust-alice")]
    assert search.index_existing(chunk=2) == written  # once more: the same items, nothing new
    assert len(list(FindItem.scan())) == written
