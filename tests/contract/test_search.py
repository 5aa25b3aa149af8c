"""The search area on both stores: find entries by prefix (written with what they index), several order
statuses at once merged newest first with one cursor, and a person's saved views under their version."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.domain.addresses import order_reference
from chalicelib.domain.campaigns import CampaignStatus
from chalicelib.domain.errors import Conflict, RuleViolation
from chalicelib.domain.orders import OrderStatus
from chalicelib.domain.search import FindKind, normalise, reference_term
from chalicelib.services.ports import CampaignRecord, Remove, Save, Store, Supplier
from chalicelib.services.ports_orders import OrderFilters
from chalicelib.services.ports_search import SavedView
from chalicelib.services.ports_shipments import ShipmentRecord
from tests.contract.test_orders import create, ids, order
from tests.contract.test_shipments import shipment
from tests.unit.factories import NOW, live_campaign

O = OrderStatus  # noqa: E741


def _things(store: Store) -> None:
    create(
        store,
        order("ord-1", minutes=1, email="Zoë.Nguyễn@example.com"),
        order("ord-2", minutes=2, customer_id="cust-2", email="zorro@example.com"),
    )
    store.commit([Save(ShipmentRecord(shipment("JD0000000001", orders=("ord-1",))), None)], what="parcel", at=NOW)
    store.commit([Save(Supplier("acme", "Zöllner Krüge", ["o@acme.example"], True, NOW), None)], what="supplier", at=NOW)
    campaign = live_campaign(id="cmp-zo", name="Zoom week")
    store.commit([Save(CampaignRecord(campaign, NOW, None), None)], what="campaign", at=NOW)


def test_a_prefix_finds_customers_by_email_without_accents_or_case_in_term_order(store: Store):
    _things(store)
    found = store.find(normalise("ZOE.ngu"), limit=20)
    assert [(e.kind, e.id) for e in found] == [(FindKind.CUSTOMER, "cust-1")]
    assert found[0].opens == "Zoë.Nguyễn@example.com" and "Zoë.Nguyễn@example.com" in found[0].label
    # "zo": two characters read the short index, where only suppliers and campaigns are
    short = store.find("zo", limit=20)
    assert {(e.kind, e.id) for e in short} == {(FindKind.SUPPLIER, "acme"), (FindKind.CAMPAIGN, "cmp-zo")}
    # three: everything starting so, ordered by term (zoenguyen..., zollner..., zoom..., zorro...)
    assert [e.id for e in store.find("zo" + "o", limit=20)] == ["cmp-zo"]
    assert [e.term[:4] for e in store.find("zor", limit=20)] == ["zorr"]


def test_an_order_is_found_by_its_reference_and_a_parcel_by_its_tracking_number(store: Store):
    _things(store)
    term = reference_term("ord-2")
    assert normalise(order_reference("ord-2")).endswith(term) and len(term) == 8
    by_reference = store.find(term[:4], limit=20)
    assert (FindKind.ORDER, "ord-2") in [(e.kind, e.id) for e in by_reference]
    assert next(e for e in by_reference if e.id == "ord-2").opens == "ord-2"
    parcels = store.find(normalise("JD00000000"), limit=20)
    assert [(e.kind, e.id, e.opens) for e in parcels] == [(FindKind.SHIPMENT, "dhl#JD0000000001", "order:ord-1")]


def test_a_corrected_tracking_number_is_found_and_the_wrong_one_no_longer(store: Store):
    wrong = shipment("JD0000000009", orders=("ord-1",))
    store.commit([Save(ShipmentRecord(wrong), None)], what="parcel", at=NOW)
    right = replace(wrong, tracking_number="JD0000000010")
    superseded = ShipmentRecord(wrong, superseded_by=f"dhl#{right.tracking_number}")
    store.commit([Save(superseded, 1), Save(ShipmentRecord(right), None)], what="correction", at=NOW)
    assert [e.id for e in store.find("jd00000000", limit=20)] == ["dhl#JD0000000010"]


def test_a_find_reads_at_most_its_limit(store: Store):
    create(store, *(order(f"ord-{n}", minutes=n, customer_id=f"cust-{n}", email=f"same{n}@example.com") for n in range(5)))
    assert [e.opens for e in store.find("same", limit=3)] == ["same0@example.com", "same1@example.com", "same2@example.com"]


def test_several_statuses_are_merged_newest_first_and_paged_once_each(store: Store):
    create(
        store,
        order("ord-1", minutes=1),
        order("ord-2", minutes=2, status=O.CANCELLED),
        order("ord-3", minutes=3, status=O.ON_HOLD),
        order("ord-4", minutes=4, status=O.CANCELLED),
        order("ord-5", minutes=5, status=O.ON_HOLD, customer_id="cust-2"),
    )
    both = OrderFilters(statuses=(O.CANCELLED, O.ON_HOLD))
    assert ids(store, both) == ["ord-5", "ord-4", "ord-3", "ord-2"]
    assert ids(store, both, limit=1) == ["ord-5", "ord-4", "ord-3", "ord-2"]
    assert ids(store, OrderFilters(customer_id="cust-1", statuses=(O.CANCELLED, O.ON_HOLD))) == ["ord-4", "ord-3", "ord-2"]
    assert ids(store, OrderFilters(status=O.PLACED, statuses=(O.ON_HOLD,))) == ["ord-5", "ord-3", "ord-1"]
    dated = OrderFilters(statuses=(O.CANCELLED, O.ON_HOLD), created_from=NOW + timedelta(minutes=3))
    assert ids(store, dated, limit=1) == ["ord-5", "ord-4", "ord-3"]
    first = store.search_orders(both, limit=1)
    assert first.cursor is not None and len(first.cursor) < 200  # however many statuses and shards are merged
    with pytest.raises(RuleViolation):  # a cursor of another listing
        store.search_orders(OrderFilters(status=O.CANCELLED), limit=1, cursor=first.cursor)


def test_saved_views_are_a_persons_own_replaced_under_their_version_and_removed(store: Store):
    mine = SavedView("ada", "orders", "Late ones", {"status": "on_hold,placed"}, NOW)
    other = SavedView("bea", "orders", "Late ones", {}, NOW)
    store.commit([Save(mine, None), Save(other, None)], what="views", at=NOW)
    store.commit([Save(SavedView("ada", "complaints", "Open", {"status": "opened"}, NOW), None)], what="view", at=NOW)
    listed = store.saved_views("ada")
    assert [(v.value.screen, v.value.name, v.version) for v in listed] == [("complaints", "Open", 1), ("orders", "Late ones", 1)]
    assert listed[1].value.filters == {"status": "on_hold,placed"}

    renamed = SavedView("ada", "orders", "LATE ONES", {"status": "cancelled"}, NOW + timedelta(minutes=1))
    with pytest.raises(Conflict):
        store.commit([Save(renamed, None)], what="a second create", at=NOW)
    store.commit([Save(renamed, 1)], what="replace", at=NOW)
    loaded = store.load(SavedView, "ada", "orders", "late ones")
    assert loaded is not None and loaded.version == 2 and loaded.value.filters == {"status": "cancelled"}
    store.commit([Remove(loaded.value, 2)], what="delete", at=NOW)
    assert [v.value.name for v in store.saved_views("ada")] == ["Open"]
    assert [v.value.owner for v in store.saved_views("bea")] == ["bea"]


def test_campaign_status_is_not_part_of_what_is_found(store: Store):
    _things(store)
    record = store.load(CampaignRecord, "cmp-zo")
    assert record is not None
    record.value.campaign.status = CampaignStatus.CLOSED
    store.commit([Save(record.value, record.version)], what="close", at=NOW)
    assert [e.label for e in store.find("zoom", limit=5)] == ["Zoom week (cmp-zo)"]
