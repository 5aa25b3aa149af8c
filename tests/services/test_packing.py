"""The packing list's rules on the in-memory store: which orders a supplier packs, what and where to,
paging, who may read which PO, and the ship-to address closing after the complaint window. The HTTP
tests (tests/api/test_packing_list.py) keep the routes, the one-Query pages, the CSV file in S3 and
the walk through real shipments and carrier scans on moto."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.adapters.memory import MemoryStore
from chalicelib.config import settings
from chalicelib.domain.addresses import order_reference
from chalicelib.domain.errors import Forbidden, NotFound, RuleViolation
from chalicelib.domain.orders import DeliveryAction, DeliveryStatus, apply_delivery_action
from chalicelib.domain.packing import PackingLine
from chalicelib.domain.purchase_orders import POLine, PurchaseOrder, po_id
from chalicelib.services import packing
from chalicelib.services.clock import now
from chalicelib.services.ports import Save
from tests.services.conftest import ACME, ALICE, BOB_HOME, BOLT, CARE, NOW, SHIP_TO, acknowledged, placed, save_new


def make_po(store: MemoryStore, campaign_id: str = "cmp-1", supplier_id: str = "acme") -> str:
    po = PurchaseOrder(po_id(campaign_id, supplier_id), campaign_id, supplier_id, "EUR", [POLine("MUG-1", "Mug", 1, 500)], NOW)
    store.commit([Save(po, None)], what="the PO", at=NOW)
    return po.id


def test_the_packing_list_shows_each_accepted_order_with_its_reference_lines_and_ship_to_address(store):
    po = make_po(store)
    alices = acknowledged(placed("ord-a", ("MUG-1", 3), ("MUG-2", 1), ("CAP-1", 1), minutes=1), "acme", {"MUG-1": 2, "MUG-2": 0})
    bobs = acknowledged(placed("ord-b", ("MUG-2", 2), customer_id="cust-bob", ship_to=BOB_HOME, minutes=2), "acme", {"MUG-2": 2})
    waiting = placed("ord-w", ("MUG-1", 1), minutes=3)  # acme has not answered for it yet
    only_bolt = acknowledged(placed("ord-c", ("CAP-1", 2), minutes=4), "bolt", {"CAP-1": 2})
    save_new(store, bobs, alices, waiting, only_bolt)

    page = packing.supplier_packing_list(ACME, po, limit=50, cursor=None)
    assert page.po_id == po and page.cursor is None
    assert [e.order_id for e in page.entries] == ["ord-a", "ord-b"]  # oldest first
    first, second = page.entries
    assert first.reference == order_reference("ord-a") and first.reference.startswith("WB-")
    assert first.lines == (PackingLine("MUG-1", "Mug", 2),)  # what acme kept, nothing of bolt's
    assert (first.ship_to, first.address_visible) == (SHIP_TO, True)
    assert (first.status, first.has_left, first.delivered_at) == (DeliveryStatus.ACCEPTED, False, None)
    assert second.lines == (PackingLine("MUG-2", "Big mug", 2),) and second.ship_to == BOB_HOME

    # Staff read the same list for any PO.
    assert packing.staff_packing_list(CARE, po, limit=50, cursor=None) == page


def test_the_packing_list_is_paged_by_cursor(store):
    po = make_po(store)
    orders = [acknowledged(placed(f"ord-{n}", ("MUG-1", n), minutes=n), "acme", {"MUG-1": n}) for n in (1, 2, 3)]
    save_new(store, *orders)
    first = packing.supplier_packing_list(ACME, po, limit=2, cursor=None)
    assert [e.order_id for e in first.entries] == ["ord-1", "ord-2"] and first.cursor
    second = packing.supplier_packing_list(ACME, po, limit=2, cursor=first.cursor)
    assert [(e.order_id, e.lines[0].quantity) for e in second.entries] == [("ord-3", 3)] and second.cursor is None


def test_a_cursor_from_another_pos_packing_list_is_refused(store):
    mine, elsewhere = make_po(store), make_po(store, "cmp-2")
    save_new(store, *(acknowledged(placed(f"ord-{n}", ("MUG-1", 1), campaign_id="cmp-2"), "acme", {"MUG-1": 1}) for n in (1, 2)))
    cursor = packing.supplier_packing_list(ACME, elsewhere, limit=1, cursor=None).cursor
    assert cursor
    with pytest.raises(RuleViolation) as raised:
        packing.supplier_packing_list(ACME, mine, limit=1, cursor=cursor)
    assert raised.value.code == "invalid_cursor"


def test_another_suppliers_po_and_an_unknown_po_are_not_found_and_an_empty_list_is_not(store):
    acme_po, bolt_po = make_po(store), make_po(store, supplier_id="bolt")
    assert packing.supplier_packing_list(ACME, acme_po, limit=50, cursor=None).entries == []  # its own, nothing yet
    with pytest.raises(NotFound):
        packing.supplier_packing_list(ACME, bolt_po, limit=50, cursor=None)  # empty, not acme's
    save_new(store, acknowledged(placed("ord-1", ("CAP-1", 1)), "bolt", {"CAP-1": 1}))
    with pytest.raises(NotFound):
        packing.supplier_packing_list(ACME, bolt_po, limit=50, cursor=None)  # with entries
    assert [e.order_id for e in packing.supplier_packing_list(BOLT, bolt_po, limit=50, cursor=None).entries] == ["ord-1"]
    with pytest.raises(NotFound):
        packing.supplier_packing_list(ACME, "po_doesnotexist", limit=50, cursor=None)
    with pytest.raises(NotFound):
        packing.staff_packing_list(CARE, "po_doesnotexist", limit=50, cursor=None)
    with pytest.raises(NotFound):
        packing.packing_list_file(ACME, bolt_po, staff=False)  # refused before any file is written


@pytest.mark.parametrize("who", [ALICE, CARE])
def test_the_supplier_packing_list_is_for_suppliers(store, who):
    po = make_po(store)
    with pytest.raises(Forbidden):
        packing.supplier_packing_list(who, po, limit=50, cursor=None)
    with pytest.raises(Forbidden):
        packing.staff_packing_list(ACME, po, limit=50, cursor=None)


def delivered(order_id: str):
    order = acknowledged(placed(order_id, ("MUG-1", 2)), "acme", {"MUG-1": 2})
    apply_delivery_action(order, "acme", DeliveryAction.DISPATCH)
    apply_delivery_action(order, "acme", DeliveryAction.DELIVER)
    return order


def test_the_address_stays_visible_to_the_supplier_through_the_complaint_window_then_closes_and_staff_still_see_it(store):
    po = make_po(store)
    dispatched = acknowledged(placed("ord-d", ("MUG-1", 1)), "acme", {"MUG-1": 1})
    apply_delivery_action(dispatched, "acme", DeliveryAction.DISPATCH)
    window = timedelta(seconds=settings().complaint_window_s)
    save_new(store, dispatched)
    save_new(store, delivered("ord-recent"), at=now() - window + timedelta(minutes=5))
    save_new(store, delivered("ord-old"), at=now() - window - timedelta(minutes=1))

    seen = {e.order_id: e for e in packing.supplier_packing_list(ACME, po, limit=50, cursor=None).entries}
    assert (seen["ord-d"].status, seen["ord-d"].has_left, seen["ord-d"].ship_to) == (DeliveryStatus.DISPATCHED, True, SHIP_TO)
    recent = seen["ord-recent"]
    assert recent.status is DeliveryStatus.DELIVERED and recent.delivered_at is not None
    assert recent.ship_to == SHIP_TO  # a complaint may still ask for a return or a replacement
    closed = seen["ord-old"]
    assert (closed.ship_to, closed.address_visible, closed.has_left) == (None, False, True)
    assert closed.reference == order_reference("ord-old") and closed.lines == (PackingLine("MUG-1", "Mug", 2),)
    assert [r[5:8] for r in packing.rows([closed])] == [["", "", ""]]  # no name or address in its CSV row
    staff = {e.order_id: e for e in packing.staff_packing_list(CARE, po, limit=50, cursor=None).entries}
    assert staff["ord-old"].ship_to == SHIP_TO  # staff still see where it went


def test_a_csv_row_per_order_line_and_nothing_a_spreadsheet_would_run(store):
    po = make_po(store)
    alices = acknowledged(placed("ord-a", ("MUG-1", 2), ("MUG-2", 1)), "acme", {"MUG-1": 2, "MUG-2": 1})
    sneaky = replace(BOB_HOME, name='=HYPERLINK("http://x")')
    bobs = acknowledged(placed("ord-b", ("MUG-1", 1), ship_to=sneaky, minutes=1), "acme", {"MUG-1": 1})
    save_new(store, alices, bobs)
    rows = packing.rows(packing.staff_packing_list(CARE, po, limit=50, cursor=None).entries)
    by_column = [dict(zip(packing.COLUMNS, r, strict=True)) for r in rows]
    assert [(r["order_id"], r["sku"], r["quantity"]) for r in by_column] == [
        ("ord-a", "MUG-1", "2"),
        ("ord-a", "MUG-2", "1"),
        ("ord-b", "MUG-1", "1"),
    ]
    first = by_column[0]
    assert [first[c] for c in packing.COLUMNS[:13]] == [
        order_reference("ord-a"),
        "ord-a",
        "MUG-1",
        "Mug",
        "2",
        "Alice Martin",
        "12 rue des Lilas",
        "Bâtiment B",
        "",
        "75011",
        "Paris",
        "FR",
        "'+33 1 23 45 67 89",  # a leading + would be a formula to a spreadsheet
    ]
    assert by_column[2]["ship_to_name"].startswith("'=")  # so would a name like this one
    assert {r["delivery_status"] for r in by_column} == {"accepted"} and {r["has_left"] for r in by_column} == {"no"}
