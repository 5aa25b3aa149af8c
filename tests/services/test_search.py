"""Staff's search box and saved views, on the in-memory store: a reference typed any way finds its order,
a customer is one result however many orders they placed, results are capped, only staff search; saved
views keep only a screen's own filters, checked, and are each person's own."""

from __future__ import annotations

import pytest

from chalicelib.adapters.memory import MemoryStore
from chalicelib.domain.addresses import Address, order_reference
from chalicelib.domain.errors import Forbidden, NotFound, RuleViolation
from chalicelib.domain.permissions import Role
from chalicelib.domain.search import MAX_RESULTS
from chalicelib.domain.shipments import Shipment
from chalicelib.services import search
from chalicelib.services.ports import Save, Supplier
from chalicelib.services.ports_shipments import ShipmentRecord
from tests.services.conftest import ALICE, CARE, placed, principal
from tests.unit.factories import NOW

LOGISTICS = principal("log-1", Role.LOGISTICS)


def _create(store: MemoryStore, *things: object) -> None:
    store.commit([Save(t, None) for t in things], what="things", at=NOW)


def test_a_reference_typed_with_or_without_wb_hyphens_or_case_finds_its_order(store: MemoryStore):
    order = placed("ord-1", ("MUG-1", 1))
    _create(store, order)
    reference = order_reference("ord-1")  # WB-XXXX-XXXX
    for typed in (reference, reference.lower().replace("-", ""), reference[3:7], f"wb {reference[3:7]}"):
        found = search.search(CARE, typed)
        assert [(r.kind, r.id, r.link) for r in found if r.kind == "order"] == [("order", "ord-1", "#/orders/ord-1")], typed
    assert search.search(CARE, reference)[0].label.startswith(reference)


def test_a_customer_is_one_result_however_many_orders_carry_their_email_or_name(store: MemoryStore):
    _create(store, *(placed(f"ord-{n}", ("MUG-1", 1), minutes=n) for n in range(5)))
    by_email = search.search(CARE, "cust-ali")
    assert [(r.kind, r.id) for r in by_email] == [("customer", "cust-alice")]
    assert by_email[0].link == "#/orders?customer_email=cust-alice%40example.com"
    by_name = search.search(LOGISTICS, "alice mar")  # "Alice Martin", spaces ignored
    assert [(r.kind, r.id) for r in by_name] == [("customer", "cust-alice")]


def test_accents_and_case_do_not_matter(store: MemoryStore):
    home = Address("Nguyễn Văn Đức", ("1 Lê Lợi",), "Huế", "530000", "VN")
    _create(store, placed("ord-1", ("MUG-1", 1), customer_id="cust-duc", ship_to=home))
    assert [r.id for r in search.search(CARE, "NGUYEN VAN D")] == ["cust-duc"]


def test_a_parcel_opens_its_order_or_its_po_when_it_carries_several(store: MemoryStore):
    one = Shipment("shp-1", "dhl", "JD0000000001", "po-1", "acme", "cmp-1", ["ord-1"], NOW)
    two = Shipment("shp-2", "dhl", "JD0000000002", "po-1", "acme", "cmp-1", ["ord-1", "ord-2"], NOW)
    _create(store, ShipmentRecord(one), ShipmentRecord(two))
    found = search.search(LOGISTICS, "jd00000000")
    assert [(r.id, r.link) for r in found] == [
        ("dhl#JD0000000001", "#/orders/ord-1"),
        ("dhl#JD0000000002", "#/purchase-orders/po-1"),
    ]


def test_two_characters_find_suppliers_and_campaigns_only(store: MemoryStore):
    _create(store, Supplier("acme", "Alpine Cups", [], True, NOW), placed("ord-1", ("MUG-1", 1)))
    assert [(r.kind, r.id, r.link) for r in search.search(CARE, "al")] == [("supplier", "acme", "#/orders?supplier_id=acme")]
    assert {r.kind for r in search.search(CARE, "ali")} == {"customer"}  # three: everything


def test_results_are_capped(store: MemoryStore):
    _create(store, *(Supplier(f"sup-{n:02d}", f"Same {n:02d}", [], True, NOW) for n in range(MAX_RESULTS + 5)))
    assert len(search.search(CARE, "same")) == MAX_RESULTS


def test_only_staff_search_and_a_query_must_be_two_to_a_hundred_characters(store: MemoryStore):
    with pytest.raises(Forbidden):
        search.search(ALICE, "wb")
    for bad in ("a", " b ", "x" * 101):
        with pytest.raises(RuleViolation) as caught:
            search.search(CARE, bad)
        assert caught.value.details == [{"field": "q", "message": "2 to 100 characters"}]
    assert search.search(CARE, "--") == []  # nothing left to look for once normalised


def test_a_saved_view_keeps_a_screens_filters_and_the_same_name_replaces_it(store: MemoryStore):
    first = search.save_view(
        CARE, "orders", "  Held  today ", {"status": "on_hold,placed", "created_from": "2025-03-01", "q": ""}
    )
    assert first.version == 1 and first.value.name == "Held today"
    assert first.value.filters == {"status": "on_hold,placed", "created_from": "2025-03-01"}  # empty ones dropped
    again = search.save_view(CARE, "orders", "held TODAY", {"status": "cancelled"})
    assert again.version == 2
    search.save_view(CARE, "complaints", "Open", {"status": "open"})
    assert [(v.value.screen, v.value.name) for v in search.views_of(CARE)] == [("complaints", "Open"), ("orders", "held TODAY")]
    assert [v.value.filters for v in search.views_of(CARE, "orders")] == [{"status": "cancelled"}]
    assert search.views_of(LOGISTICS) == []  # each person's own


@pytest.mark.parametrize(
    ("screen", "filters", "field"),
    [
        ("orders", {"colour": "red"}, "filters.colour"),
        ("orders", {"status": "placed,lost"}, "filters.status"),
        ("orders", {"created_to": "yesterday"}, "filters.created_to"),
        ("complaints", {"status": "on_hold"}, "filters.status"),
        ("exceptions", {"q": "x"}, "filters.q"),
    ],
)
def test_a_filter_the_screen_does_not_know_is_refused_naming_it(
    store: MemoryStore, screen: str, filters: dict[str, str], field: str
):
    with pytest.raises(RuleViolation) as caught:
        search.save_view(CARE, screen, "Mine", filters)
    assert [d["field"] for d in caught.value.details or []] == [field]


def test_a_name_must_be_short_and_printable_and_views_are_capped(store: MemoryStore):
    for bad in ("", "   ", "x" * 41, "bell\x07"):
        with pytest.raises(RuleViolation) as caught:
            search.save_view(CARE, "orders", bad, {})
        assert [d["field"] for d in caught.value.details or []] == ["name"], bad
    with pytest.raises(NotFound):
        search.save_view(CARE, "suppliers", "Mine", {})
    for n in range(search.MAX_VIEWS):
        search.save_view(CARE, "orders", f"View {n}", {})
    with pytest.raises(RuleViolation):
        search.save_view(CARE, "orders", "One more", {})
    search.save_view(CARE, "orders", "View 0", {"status": "placed"})  # replacing one is still allowed


def test_a_deleted_view_is_gone_and_deleting_it_again_is_not_found(store: MemoryStore):
    search.save_view(CARE, "orders", "Mine", {})
    search.delete_view(CARE, "orders", "MINE")
    assert search.views_of(CARE) == []
    with pytest.raises(NotFound):
        search.delete_view(CARE, "orders", "Mine")


def test_the_backfill_on_memory_has_nothing_to_write(store: MemoryStore):
    _create(store, placed("ord-1", ("MUG-1", 1)))
    assert search.index_existing() == 0
