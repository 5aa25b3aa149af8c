"""The supplier's packing list: per order with an accepted delivery on its PO, the reference, the lines
to pack, the ship-to address (only while the delivery is open) and whether it has left; paged with
one Query per page, as a CSV download, and everything a supplier needs to record its parcels. No
supplier response ever carries a customer's e-mail address."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from moto import mock_aws

from chalicelib.adapters.aws import client, reset_clients
from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb import repository as repo
from chalicelib.adapters.dynamodb.metering import metered
from chalicelib.adapters.dynamodb.models import OrderItem
from chalicelib.config import settings
from chalicelib.domain.orders import DeliveryAction, apply_delivery_action, settle_acknowledgement
from chalicelib.domain.purchase_orders import Stage
from chalicelib.domain.shipments import TrackingStatus
from chalicelib.local.provision import Provisioned
from chalicelib.services import packing as packing_service
from chalicelib.services.clock import now
from chalicelib.topology import TOPOLOGY
from tests.api import po_support, test_complaints, test_shipments
from tests.api.po_support import ACME, BOLT, accept_deliveries, make_po
from tests.api.support import _SESSION, API_TOPOLOGY, SHIP_TO, assert_error, follow_pages, place
from tests.api.test_shipments import scan, ship
from tests.aws import ALICE, BOB, CARE, SFN_CONFIG, live_campaign, provisioned

sfn_calls = po_support.sfn_calls  # fixture
gateway = test_shipments.gateway  # fixture: the sandbox payment gateway
BOB_HOME = {
    "name": "Bob Berger",
    "lines": ["Schönhauser Allee 148"],
    "city": "Berlin",
    "postal_code": "10435",
    "country": "DE",
    "phone": None,
}
ALICE_HOME = {**SHIP_TO}
CUSTOMER_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@example\.com")  # the customers' (tests.aws): alice@, bob@


@pytest.fixture
def aws() -> Iterator[Provisioned]:
    """The API's account with both buckets: uploads (complaint photos) and exports (packing-list files)."""
    topology = dataclasses.replace(API_TOPOLOGY, buckets=TOPOLOGY.buckets)
    with mock_aws(config=SFN_CONFIG):  # type: ignore[arg-type]
        reset_clients()
        yield provisioned(topology, session=_SESSION)
    reset_clients()


def packing(api, po_id: str, who: dict[str, str] = ACME, query: str = "") -> dict[str, Any]:
    status, page = api.get(f"/supplier/purchase-orders/{po_id}/orders{query}", who)
    assert status == 200, page
    return page


def acknowledge(order_id: str, supplier_id: str, kept: dict[str, int]) -> None:
    """What sharing out the supplier's acknowledgement does to one order (lines cut to what it kept)."""
    item = repo.get(keys.order(order_id), OrderItem)
    assert item is not None
    order = repo.order_from_item(item)
    apply_delivery_action(order, supplier_id, DeliveryAction.SEND_PO)
    settle_acknowledgement(order, supplier_id, kept)
    repo.commit(repo.order_writes(order, version=int(item.version), now=now()), what="test acknowledgement")


def csv_rows(api, po_id: str, who: dict[str, str], base: str = "/supplier") -> tuple[dict[str, Any], list[dict]]:
    status, file = api.post(f"{base}/purchase-orders/{po_id}/packing-list", who)
    assert status == 201, file
    url = urlparse(file["url"])
    assert url.netloc.startswith(settings().exports_bucket + ".") and unquote(url.path) == "/" + file["key"]
    body = client("s3").get_object(Bucket=settings().exports_bucket, Key=file["key"])["Body"].read()
    assert len(body) == file["size_bytes"]
    return file, list(csv.DictReader(io.StringIO(body.decode("utf-8"))))


# ---------------------------------------------------------------- what the list shows


def test_the_packing_list_shows_each_accepted_order_with_its_reference_lines_and_ship_to_address(api):
    campaign = live_campaign(api)
    po = make_po(campaign["id"], "acme")
    alices = place(api, campaign["id"], ("MUG-1", 3), ("MUG-2", 1), ("CAP-1", 1))
    bobs = place(api, campaign["id"], ("MUG-2", 2), who=BOB, shipping_address=BOB_HOME)
    waiting = place(api, campaign["id"], ("MUG-1", 1))  # acme has not answered for it yet
    only_bolt = place(api, campaign["id"], ("CAP-1", 2))
    acknowledge(alices["id"], "acme", {"MUG-1": 2, "MUG-2": 0})  # one short, one refused
    acknowledge(bobs["id"], "acme", {"MUG-2": 2})
    accept_deliveries("bolt", only_bolt["id"])

    page = packing(api, po)
    assert page["po_id"] == po and page["next_cursor"] is None
    assert [e["order_id"] for e in page["items"]] == [alices["id"], bobs["id"]]  # oldest first
    first, second = page["items"]
    assert first["reference"] == alices["reference"] and first["reference"].startswith("WB-")
    assert first["lines"] == [{"sku": "MUG-1", "name": "Mug", "quantity": 2}]  # what acme kept, nothing of bolt's
    assert first["ship_to"] == ALICE_HOME and first["address_visible"] is True
    assert (first["delivery_status"], first["has_left"], first["delivered_at"]) == ("accepted", False, None)
    assert second["lines"] == [{"sku": "MUG-2", "name": "Big mug", "quantity": 2}]
    assert second["ship_to"] == BOB_HOME
    assert waiting["id"] not in {e["order_id"] for e in page["items"]}
    assert set(first) == {
        "reference",
        "order_id",
        "delivery_status",
        "has_left",
        "lines",
        "ship_to",
        "address_visible",
        "delivered_at",
        "ordered_at",
    }

    # Staff read the same list for any PO.
    status, staff = api.get(f"/staff/purchase-orders/{po}/orders", CARE)
    assert status == 200 and staff["items"] == page["items"]


def test_the_packing_list_is_paged_by_cursor_and_one_page_costs_one_query(api):
    campaign = live_campaign(api)
    po = make_po(campaign["id"], "acme")
    placed = [place(api, campaign["id"], ("MUG-1", n)) for n in (1, 2, 3)]
    accept_deliveries("acme", *(o["id"] for o in placed))
    items, pages = follow_pages(api, f"/supplier/purchase-orders/{po}/orders", ACME, limit=2)
    assert [e["order_id"] for e in items] == [o["id"] for o in placed] and pages == 2
    assert [e["lines"][0]["quantity"] for e in items] == [1, 2, 3]

    first = packing(api, po, query="?limit=2")
    assert len(first["items"]) == 2 and first["next_cursor"]
    with metered() as m:
        second = packing(api, po, query=f"?limit=2&cursor={first['next_cursor']}")
    assert [e["order_id"] for e in second["items"]] == [placed[2]["id"]]
    assert dict(m.requests) == {"Query": 1}
    with metered() as m:
        packing(api, po, query="?limit=2")
    assert dict(m.requests) == {"Query": 1}


def test_a_cursor_from_another_pos_packing_list_is_refused(api):
    campaign, other = live_campaign(api), live_campaign(api)
    mine, elsewhere = make_po(campaign["id"], "acme"), make_po(other["id"], "acme")
    placed = [place(api, other["id"], ("MUG-1", 1)) for _ in range(2)]
    accept_deliveries("acme", *(o["id"] for o in placed))
    cursor = packing(api, elsewhere, query="?limit=1")["next_cursor"]
    assert cursor
    assert_error(*api.get(f"/supplier/purchase-orders/{mine}/orders?cursor={cursor}", ACME), 400, "invalid_cursor")


def test_another_suppliers_po_and_an_unknown_po_are_a_404_and_an_empty_list_is_not(api):
    campaign = live_campaign(api)
    acme_po, bolt_po = make_po(campaign["id"], "acme"), make_po(campaign["id"], "bolt")
    assert packing(api, acme_po)["items"] == []  # acme's own PO, nothing accepted yet
    assert_error(*api.get(f"/supplier/purchase-orders/{bolt_po}/orders", ACME), 404, "not_found")  # empty, not acme's
    order = place(api, campaign["id"], ("CAP-1", 1))
    accept_deliveries("bolt", order["id"])
    assert_error(*api.get(f"/supplier/purchase-orders/{bolt_po}/orders", ACME), 404, "not_found")  # with entries
    assert [e["order_id"] for e in packing(api, bolt_po, BOLT)["items"]] == [order["id"]]
    assert_error(*api.get("/supplier/purchase-orders/po_doesnotexist/orders", ACME), 404, "not_found")
    assert_error(*api.get("/staff/purchase-orders/po_doesnotexist/orders", CARE), 404, "not_found")
    assert_error(*api.post(f"/supplier/purchase-orders/{bolt_po}/packing-list", ACME), 404, "not_found")


@pytest.mark.parametrize("who", [ALICE, CARE])
def test_the_supplier_packing_list_is_for_suppliers(api, who):
    po = make_po(live_campaign(api)["id"], "acme")
    assert_error(*api.get(f"/supplier/purchase-orders/{po}/orders", who), 403, "forbidden")
    assert_error(*api.get(f"/staff/purchase-orders/{po}/orders", ACME), 403, "forbidden")


# ---------------------------------------------------------------- packing, shipping, and the address window


def test_a_supplier_packs_from_its_packing_list_alone_and_the_address_closes_after_the_complaint_window(
    api, sfn_calls, gateway, monkeypatch
):
    campaign = test_shipments.three_supplier_campaign(api)
    order = test_shipments.order_of(api, campaign["id"], payment_mode="prepaid")
    po = make_po(campaign["id"], "acme", stage=Stage.SHIPMENT, accepted=True)
    accept_deliveries("acme", order["id"])

    # Everything the parcel needs comes from the supplier's own list: the order id, what goes in, where to.
    [entry] = packing(api, po)["items"]
    assert entry["lines"] == [{"sku": "MUG-1", "name": "MUG-1", "quantity": 2}] and entry["ship_to"] == ALICE_HOME
    ship(api, po, "acme", "ACME0009", entry["order_id"])
    [entry] = packing(api, po)["items"]
    assert (entry["delivery_status"], entry["has_left"], entry["address_visible"]) == ("dispatched", True, True)

    assert scan("ACME0009", TrackingStatus.DELIVERED, 5) == "moved:delivered"
    [entry] = packing(api, po)["items"]
    assert entry["delivery_status"] == "delivered" and entry["delivered_at"] is not None
    assert entry["ship_to"] == ALICE_HOME  # a complaint may still ask for a return or a replacement

    window = timedelta(seconds=settings().complaint_window_s)
    later = now() + window + timedelta(minutes=1)
    monkeypatch.setattr(packing_service, "now", lambda: later)
    [closed] = packing(api, po)["items"]
    assert (closed["ship_to"], closed["address_visible"], closed["has_left"]) == (None, False, True)
    assert closed["reference"] == entry["reference"] and closed["lines"] == entry["lines"]
    _, rows = csv_rows(api, po, ACME)
    assert [(r["reference"], r["ship_to_name"], r["city"], r["has_left"]) for r in rows] == [(entry["reference"], "", "", "yes")]
    # Staff still see where it went.
    status, staff = api.get(f"/staff/purchase-orders/{po}/orders", CARE)
    assert status == 200 and staff["items"][0]["ship_to"] == ALICE_HOME


def test_the_packing_list_downloads_as_a_csv_one_row_per_order_line(api):
    campaign = live_campaign(api)
    po = make_po(campaign["id"], "acme")
    alices = place(api, campaign["id"], ("MUG-1", 2), ("MUG-2", 1))
    bobs = place(api, campaign["id"], ("MUG-1", 1), who=BOB, shipping_address={**BOB_HOME, "name": '=HYPERLINK("http://x")'})
    accept_deliveries("acme", alices["id"], bobs["id"])
    file, rows = csv_rows(api, po, ACME)
    assert (file["rows"], file["orders"], file["expires_in"]) == (3, 2, settings().export_link_expiry_s)
    assert file["file_name"].startswith(f"packing-list-{po}-") and file["file_name"].endswith(".csv")
    assert file["key"].startswith(f"packing-lists/suppliers/acme/{po}/")
    assert list(rows[0]) == list(packing_service.COLUMNS)
    assert [(r["order_id"], r["sku"], r["quantity"]) for r in rows] == [
        (alices["id"], "MUG-1", "2"),
        (alices["id"], "MUG-2", "1"),
        (bobs["id"], "MUG-1", "1"),
    ]
    first = rows[0]
    assert (
        first["reference"],
        first["ship_to_name"],
        first["line_1"],
        first["line_2"],
        first["line_3"],
        first["postal_code"],
        first["city"],
        first["country"],
        first["phone"],
    ) == (
        alices["reference"],
        "Alice Martin",
        "12 rue des Lilas",
        "Bâtiment B",
        "",
        "75011",
        "Paris",
        "FR",
        "'+33 1 23 45 67 89",
    )  # a leading + would be a formula to a spreadsheet
    assert rows[2]["ship_to_name"].startswith("'=")  # so would a name like this one
    assert {r["delivery_status"] for r in rows} == {"accepted"} and {r["has_left"] for r in rows} == {"no"}
    staff_file, staff_rows = csv_rows(api, po, CARE, base="/staff")
    assert staff_rows == rows and staff_file["key"].startswith(f"packing-lists/staff/{po}/")


# ---------------------------------------------------------------- no customer e-mail for suppliers


def test_no_supplier_response_carries_a_customers_email_address(api, sfn_calls, gateway):
    from chalicelib.api.http import REGISTRY

    order = test_complaints.delivered_order(api, payment_mode="prepaid")
    status, complaint = test_complaints.open_complaint(api, order)
    assert status == 201, complaint
    staff_view = api.get(f"/staff/orders/{order['id']}", CARE)[1]
    assert CUSTOMER_EMAIL.search(str(staff_view)), "the scan must be able to find the e-mail where it is shown"

    ids = {"po_id": order["po_id"], "complaint_id": complaint["id"], "campaign_id": order["campaign_id"]}
    seen = []
    for spec in REGISTRY:
        if spec.method != "GET" or not spec.path.startswith("/supplier"):
            continue
        names = re.findall(r"{(\w+)}", spec.path)
        assert set(names) <= set(ids), f"give this test an id for {spec.path}"
        status, body = api.get(spec.path.format(**ids), ACME)
        assert status == 200, (spec.path, body)
        seen.append(spec.path)
        assert not CUSTOMER_EMAIL.search(str(body)), (spec.path, CUSTOMER_EMAIL.search(str(body)))
    assert {
        "/supplier/purchase-orders/{po_id}/orders",
        "/supplier/complaints/{complaint_id}",
        "/supplier/purchase-orders/{po_id}",
    } <= set(seen)
    packing_list = packing(api, order["po_id"])["items"]
    assert packing_list and packing_list[0]["ship_to"]["name"] == "Alice Martin"  # the address, not the e-mail
    _, rows = csv_rows(api, order["po_id"], ACME)
    assert rows and not CUSTOMER_EMAIL.search(str(rows))
