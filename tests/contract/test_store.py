"""What every `services.ports.Store` does (tests/contract/conftest.py runs each test on the in-memory
store and on the DynamoDB one): load and save under versions, duplicate creates, one transaction of
changes and audit events that commits whole or not at all, and each named listing's order and paging."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.domain.addresses import Address, order_reference
from chalicelib.domain.audit import AuditEvent
from chalicelib.domain.campaigns import Campaign, CampaignStatus, Product
from chalicelib.domain.errors import AlreadyExists, Conflict, RuleViolation
from chalicelib.domain.metrics import STAGE_COUNTERS, SUMMARY_COUNTERS
from chalicelib.domain.orders import Delivery, DeliveryStatus, Order, OrderLine, OrderStatus, PaymentMode
from chalicelib.domain.packing import PackingLine
from chalicelib.domain.permissions import Principal, Role
from chalicelib.domain.purchase_orders import POLine, PurchaseOrder, Stage, po_id
from chalicelib.services.ports import (
    ALL,
    AddressBookHeader,
    AddressEntry,
    CampaignProduct,
    CampaignRecord,
    CountCampaign,
    CounterScope,
    CountStage,
    Customer,
    Record,
    Remove,
    Save,
    Store,
    Supplier,
)
from tests.unit.factories import NOW

D = DeliveryStatus
HOME = Address("Alice Martin", ("12 rue des Lilas",), "Paris", "75011", "FR")
WORK = Address("Alice Martin", ("8 quai de la Loire", "c/o Atelier Nord"), "Paris", "75019", "FR", "+33 6 12 34 56 78")
STAFF = Principal(sub="care-1", roles=frozenset({Role.CUSTOMER_CARE}), name="Carla")


def order(
    order_id: str = "ord-1",
    *,
    campaign_id: str = "cmp-1",
    acme: DeliveryStatus = D.PENDING,
    bolt: DeliveryStatus = D.PENDING,
    status: OrderStatus = OrderStatus.PLACED,
    minutes: int = 0,
    ship_to: Address | None = HOME,
) -> Order:
    return Order(
        id=order_id,
        campaign_id=campaign_id,
        customer_id="cust-1",
        customer_email="cust@example.com",
        currency="EUR",
        payment_mode=PaymentMode.PREPAID,
        lines=[OrderLine("MUG-1", "Mug", "acme", 2, 1200), OrderLine("CAP-1", "Cap", "bolt", 1, 900)],
        deliveries=[Delivery("acme", acme), Delivery("bolt", bolt)],
        created_at=NOW + timedelta(minutes=minutes),
        status=status,
        ordered_cents=3300,
        shipping_address=ship_to,
    )


def purchase_order(campaign_id: str = "cmp-1", supplier_id: str = "acme") -> PurchaseOrder:
    return PurchaseOrder(
        id=po_id(campaign_id, supplier_id),
        campaign_id=campaign_id,
        supplier_id=supplier_id,
        currency="EUR",
        lines=[POLine("MUG-1", "Mug", ordered_quantity=4, unit_cost_cents=500)],
        created_at=NOW,
        order_count=2,
    )


def event(subject_id: str = "ord-1", n: int = 1, **more: object) -> AuditEvent:
    return AuditEvent(
        id=f"evt-{n:03d}",
        subject_type="order",
        subject_id=subject_id,
        type="order.note_added",
        actor=STAFF,
        at=NOW + timedelta(seconds=n),
        internal_note=f"note {n}",
        data={"order_id": subject_id, "n": n},
        **more,  # type: ignore[arg-type]
    )


def entry(address_id: str, address: Address = HOME, minutes: int = 0, label: str | None = None) -> AddressEntry:
    at = NOW + timedelta(minutes=minutes)
    return AddressEntry("cust-1", address_id, label, address, at, at)


# ---------------------------------------------------------------- load and save


def test_nothing_saved_loads_as_none(store: Store):
    assert store.load(Order, "ord-1") is None
    assert store.load(PurchaseOrder, "po-1") is None
    assert store.load(AddressEntry, "cust-1", "adr-1") is None
    assert store.load(AddressBookHeader, "cust-1") is None


def test_a_saved_order_loads_as_saved_at_version_one_and_each_save_moves_the_version_on(store: Store):
    store.commit([Save(order(), None)], what="order ord-1", at=NOW)
    loaded = store.load(Order, "ord-1")
    assert loaded is not None
    assert (loaded.value, loaded.version) == (order(), 1)
    changed = replace(loaded.value, shipping_address=WORK)
    store.commit([Save(changed, 1)], what="order ord-1", at=NOW)
    again = store.load(Order, "ord-1")
    assert again is not None and (again.value.shipping_address, again.version) == (WORK, 2)


def test_a_save_under_a_stale_version_is_a_conflict_and_changes_nothing(store: Store):
    store.commit([Save(order(), None)], what="order ord-1", at=NOW)
    store.commit([Save(order(ship_to=WORK), 1)], what="order ord-1", at=NOW)
    with pytest.raises(Conflict) as raised:
        store.commit([Save(order(ship_to=None), 1)], what="order ord-1", at=NOW)
    assert not isinstance(raised.value, AlreadyExists)  # a lost race: reload and try again
    loaded = store.load(Order, "ord-1")
    assert loaded is not None and (loaded.value.shipping_address, loaded.version) == (WORK, 2)


def test_an_update_of_something_never_saved_is_a_conflict(store: Store):
    with pytest.raises(Conflict):
        store.commit([Save(order(), 3)], what="order ord-1", at=NOW)
    assert store.load(Order, "ord-1") is None


def test_creating_what_exists_already_is_already_exists(store: Store):
    store.commit([Save(order(), None), Save(purchase_order(), None)], what="the data", at=NOW)
    with pytest.raises(AlreadyExists):
        store.commit([Save(order(ship_to=WORK), None)], what="order ord-1", at=NOW)
    with pytest.raises(AlreadyExists):
        store.commit([Save(purchase_order(), None)], what="the PO", at=NOW)
    store.commit([Save(entry("adr-a"), None)], what="adr-a", at=NOW)
    with pytest.raises(AlreadyExists):  # whatever else the transaction holds before it
        store.commit([Remove(entry("adr-a"), 1), Save(order(ship_to=WORK), None)], what="both", at=NOW)
    with pytest.raises(AlreadyExists):  # even when a stale update comes first
        store.commit([Save(entry("adr-a", WORK), 9), Save(order(ship_to=WORK), None)], what="both", at=NOW)
    assert store.load(AddressEntry, "cust-1", "adr-a") is not None
    loaded = store.load(Order, "ord-1")
    assert loaded is not None and (loaded.value.shipping_address, loaded.version) == (HOME, 1)


def test_a_purchase_order_loads_as_created(store: Store):
    po = purchase_order()
    store.commit([Save(po, None)], what="the PO", at=NOW)
    loaded = store.load(PurchaseOrder, po.id)
    assert loaded is not None and (loaded.value, loaded.version) == (po, 1)


def test_a_delivery_that_arrived_is_stamped_by_the_first_save_that_shows_it_and_keeps_that_stamp(store: Store):
    store.commit([Save(order(acme=D.DISPATCHED), None)], what="order ord-1", at=NOW)
    arrived = NOW + timedelta(days=2)
    store.commit([Save(order(acme=D.DELIVERED), 1)], what="order ord-1", at=arrived)
    loaded = store.load(Order, "ord-1")
    assert loaded is not None and loaded.value.deliveries[0].delivered_at == arrived
    store.commit([Save(replace(loaded.value, shipping_address=WORK), 2)], what="order ord-1", at=arrived + timedelta(days=1))
    loaded = store.load(Order, "ord-1")
    assert loaded is not None
    assert [d.delivered_at for d in loaded.value.deliveries] == [arrived, None]


# ---------------------------------------------------------------- one transaction, audit events with it


def test_audit_events_are_committed_with_the_change_and_read_back_oldest_first(store: Store):
    store.commit([Save(order(), None), Record(event(n=2)), Record(event(n=1, customer_note="hello"))], what="o", at=NOW)
    page = store.history("order", "ord-1", limit=10)
    assert page.items == [event(n=1, customer_note="hello"), event(n=2)] and page.cursor is None
    assert store.history("order", "ord-2", limit=10).items == []


def test_recording_the_same_event_twice_is_already_exists(store: Store):
    store.commit([Record(event())], what="order ord-1", at=NOW)
    with pytest.raises(AlreadyExists):
        store.commit([Record(event())], what="order ord-1", at=NOW)


def test_a_transaction_with_one_failing_part_writes_nothing_at_all(store: Store):
    store.commit([Save(order(), None)], what="order ord-1", at=NOW)
    with pytest.raises(Conflict):
        store.commit(
            [
                Save(order("ord-2"), None),
                Record(event("ord-2")),
                CountCampaign("cmp-1", "ord-2", {"orders": 1}),
                Save(order(ship_to=WORK), 7),  # stale
            ],
            what="two orders",
            at=NOW,
        )
    assert store.load(Order, "ord-2") is None
    assert store.history("order", "ord-2", limit=10).items == []
    assert store.counters(CounterScope("campaign", "cmp-1")).summary["orders"] == 0
    loaded = store.load(Order, "ord-1")
    assert loaded is not None and (loaded.value.shipping_address, loaded.version) == (HOME, 1)


# ---------------------------------------------------------------- the address book


def test_the_address_book_reads_its_header_and_entries_oldest_first_each_under_its_version(store: Store):
    assert store.address_book("cust-1").header is None and store.address_book("cust-1").entries == []
    header = AddressBookHeader("cust-1", "adr-b", NOW)
    store.commit(
        [Save(entry("adr-b", HOME, 5, "Home"), None), Save(entry("adr-a", WORK, 9), None), Save(header, None)],
        what="the book",
        at=NOW,
    )
    store.commit([Save(entry("adr-b", WORK, 5, "Home"), 1)], what="adr-b", at=NOW)
    store.commit([Save(AddressEntry("cust-2", "adr-c", None, HOME, NOW, NOW), None)], what="bob's", at=NOW)
    book = store.address_book("cust-1")
    assert book.header is not None and (book.header.value, book.header.version) == (header, 1)
    assert [(e.value.id, e.value.address, e.value.label, e.version) for e in book.entries] == [
        ("adr-b", WORK, "Home", 2),
        ("adr-a", WORK, None, 1),
    ]
    one = store.load(AddressEntry, "cust-1", "adr-a")
    assert one is not None and one.value == entry("adr-a", WORK, 9)


def test_removing_an_entry_needs_its_version_and_takes_it_out_of_the_book(store: Store):
    store.commit([Save(entry("adr-a"), None), Save(entry("adr-b", minutes=1), None)], what="book", at=NOW)
    store.commit([Save(entry("adr-a", WORK), 1)], what="adr-a", at=NOW)
    with pytest.raises(Conflict):
        store.commit([Remove(entry("adr-a"), 1)], what="adr-a", at=NOW)
    with pytest.raises(Conflict):
        store.commit([Remove(entry("adr-z"), 1)], what="adr-z", at=NOW)
    store.commit([Remove(entry("adr-a"), 2)], what="adr-a", at=NOW)
    assert [e.value.id for e in store.address_book("cust-1").entries] == ["adr-b"]
    assert store.load(AddressEntry, "cust-1", "adr-a") is None


# ---------------------------------------------------------------- named listings: order, paging, cursors


def create(store: Store, *orders: Order) -> None:
    """One commit per order (orders share their status counters: one transaction writes an item once)."""
    for o in orders:
        store.commit([Save(o, None)], what=f"order {o.id}", at=NOW)


def packing_orders(store: Store) -> None:
    create(
        store,
        order("ord-3", acme=D.ACCEPTED, minutes=3, ship_to=WORK),
        order("ord-1", acme=D.ACCEPTED, minutes=1),
        order("ord-2", acme=D.DISPATCHED, bolt=D.ACCEPTED, minutes=2),
        order("ord-4", acme=D.PENDING, bolt=D.ACCEPTED, minutes=4),  # not on acme's list yet
        order("ord-5", campaign_id="cmp-2", acme=D.ACCEPTED, minutes=0),  # another PO
    )


def test_a_packing_list_pages_oldest_order_first_with_what_the_supplier_packs_and_where_it_goes(store: Store):
    packing_orders(store)
    acme = po_id("cmp-1", "acme")
    first = store.packing_list(acme, limit=2)
    assert [e.order_id for e in first.items] == ["ord-1", "ord-2"] and first.cursor is not None
    one = first.items[0]
    assert (one.reference, one.supplier_id, one.status, one.ship_to, one.address_visible) == (
        order_reference("ord-1"),
        "acme",
        D.ACCEPTED,
        HOME,
        True,
    )
    assert one.lines == (PackingLine("MUG-1", "Mug", 2),) and one.ordered_at == NOW + timedelta(minutes=1)
    rest = store.packing_list(acme, limit=2, cursor=first.cursor)
    assert [(e.order_id, e.ship_to) for e in rest.items] == [("ord-3", WORK)] and rest.cursor is None
    assert [e.order_id for e in store.packing_list(po_id("cmp-1", "bolt"), limit=10).items] == ["ord-2", "ord-4"]
    assert store.packing_list(po_id("cmp-9", "acme"), limit=10).items == []


def test_a_cursor_from_another_listing_is_refused(store: Store):
    packing_orders(store)
    cursor = store.packing_list(po_id("cmp-1", "acme"), limit=1).cursor
    assert cursor is not None
    for other in (
        lambda: store.packing_list(po_id("cmp-1", "bolt"), limit=1, cursor=cursor),
        lambda: store.history("order", "ord-1", limit=1, cursor=cursor),
        lambda: store.packing_list(po_id("cmp-1", "acme"), limit=1, cursor="not-a-cursor"),
    ):
        with pytest.raises(RuleViolation) as raised:
            other()
        assert raised.value.code == "invalid_cursor"


def test_a_campaigns_orders_on_hold_come_oldest_first_across_pages(store: Store):
    held = OrderStatus.ON_HOLD
    create(
        store,
        order("ord-3", acme=D.ON_HOLD, bolt=D.ON_HOLD, status=held, minutes=3),
        order("ord-1", acme=D.ON_HOLD, bolt=D.ON_HOLD, status=held, minutes=1),
        order("ord-2", minutes=2),  # placed
        order("ord-4", campaign_id="cmp-2", acme=D.ON_HOLD, bolt=D.ON_HOLD, status=held),
        order("ord-5", acme=D.ON_HOLD, bolt=D.ON_HOLD, status=held, minutes=5),
    )
    found: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        page = store.orders_on_hold("cmp-1", limit=2, cursor=cursor)
        found += [o.id for o in page.items]
        assert all(o.status is held for o in page.items)
        if (cursor := page.cursor) is None:
            break
    assert found == ["ord-1", "ord-3", "ord-5"]


def test_the_history_pages_by_cursor(store: Store):
    store.commit([Record(event(n=n)) for n in (3, 1, 2)], what="events", at=NOW)
    first = store.history("order", "ord-1", limit=2)
    assert [e.id for e in first.items] == ["evt-001", "evt-002"] and first.cursor is not None
    rest = store.history("order", "ord-1", limit=2, cursor=first.cursor)
    assert [e.id for e in rest.items] == ["evt-003"] and rest.cursor is None


# ---------------------------------------------------------------- counts and counters


def test_orders_are_counted_per_status_as_they_are_saved_and_move(store: Store):
    held = OrderStatus.ON_HOLD
    create(
        store,
        order("ord-1"),
        order("ord-2", acme=D.ON_HOLD, bolt=D.ON_HOLD, status=held),
        order("ord-3", acme=D.ON_HOLD, bolt=D.ON_HOLD, status=held),
    )
    store.commit([Save(order("ord-2"), 1, status_before=held.value)], what="ord-2", at=NOW)
    store.commit([Save(order("ord-1", ship_to=WORK), 1)], what="ord-1", at=NOW)  # status unchanged
    counts = {k: v for k, v in store.order_status_counts().items() if v}
    assert counts == {"placed": 2, "on_hold": 1}


def test_stage_counters_add_up_per_campaign_supplier_and_overall_and_an_unknown_scope_reads_zeros(store: Store):
    acme, bolt = purchase_order(), purchase_order(supplier_id="bolt")
    store.commit(
        [
            CountStage(acme, Stage.ACKNOWLEDGE, {"completed": 1, "seconds": 60, "late": 0, "late_seconds": 0}),
            CountStage(bolt, Stage.ACKNOWLEDGE, {"completed": 1, "seconds": 600, "late": 1, "late_seconds": 300}),
            CountCampaign("cmp-1", "ord-1", {"orders": 1, "revenue_cents": 3300}),
            CountCampaign("cmp-1", "ord-2", {"orders": 1, "revenue_cents": 100}),
        ],
        what="counters",
        at=NOW,
    )
    ack = Stage.ACKNOWLEDGE
    overall = store.counters(ALL)
    assert overall.stages == {ack: {"completed": 2, "seconds": 660, "late": 1, "late_seconds": 300}}
    assert store.counters(CounterScope("supplier", "bolt")).stages[ack]["late"] == 1
    campaign = store.counters(CounterScope("campaign", "cmp-1"))
    assert campaign.stages[ack]["completed"] == 2
    assert (campaign.summary["orders"], campaign.summary["revenue_cents"]) == (2, 3400)
    nobody = store.counters(CounterScope("supplier", "nobody"))
    assert nobody.stages == {} and nobody.summary == dict.fromkeys(SUMMARY_COUNTERS, 0)
    assert set(overall.stages[ack]) == set(STAGE_COUNTERS)


# ---------------------------------------------------------------- the catalogue: suppliers, campaigns, customers


def supplier(supplier_id: str, name: str, *, active: bool = True) -> Supplier:
    return Supplier(supplier_id, name, [f"orders@{supplier_id}.example"], active, NOW)


def campaign_record(campaign_id: str, status: CampaignStatus, *, ends_in_hours: int | None, created: int = 0) -> CampaignRecord:
    ends_at = NOW + timedelta(hours=ends_in_hours) if ends_in_hours is not None else None
    campaign = Campaign(campaign_id, f"sale {campaign_id}", "buyer-1", "EUR", status=status, ends_at=ends_at)
    return CampaignRecord(campaign, NOW + timedelta(minutes=created), "buyer@example.com")


def test_suppliers_load_one_at_a_time_or_together_and_list_by_name(store: Store):
    for s in (supplier("sup-b", "bolt"), supplier("sup-a", "Acme", active=False), supplier("sup-c", "cove")):
        store.commit([Save(s, None)], what=s.id, at=NOW)
    one = store.load(Supplier, "sup-a")
    assert one is not None and (one.value, one.version) == (supplier("sup-a", "Acme", active=False), 1)
    assert store.load_suppliers(["sup-c", "sup-a", "ghost"]) == {
        "sup-a": supplier("sup-a", "Acme", active=False),
        "sup-c": supplier("sup-c", "cove"),
    }
    assert store.load_suppliers([]) == {}
    first = store.suppliers(limit=2)
    assert [s.name for s in first.items] == ["Acme", "bolt"] and first.cursor is not None
    rest = store.suppliers(limit=2, cursor=first.cursor)
    assert [s.name for s in rest.items] == ["cove"] and rest.cursor is None
    with pytest.raises(AlreadyExists):
        store.commit([Save(supplier("sup-b", "another bolt"), None)], what="sup-b", at=NOW)


def test_a_campaign_loads_with_its_products_and_a_product_is_created_once(store: Store):
    record = campaign_record("cmp-1", CampaignStatus.DRAFT, ends_in_hours=None)
    mug, cap = Product("MUG-1", "Mug", "acme", 1200, 500), Product("CAP-1", "Cap", "bolt", 900, 300)
    store.commit(
        [Save(record, None), Save(CampaignProduct("cmp-1", mug), None), Save(CampaignProduct("cmp-1", cap), None)],
        what="cmp-1",
        at=NOW,
    )
    found = store.campaign_with_products("cmp-1")
    assert found is not None and (found.record.value, found.record.version) == (record, 1)
    assert sorted(found.products, key=lambda p: p.sku) == [cap, mug]
    assert store.campaign_with_products("cmp-2") is None
    loaded = store.load(CampaignRecord, "cmp-1")
    assert loaded is not None and loaded.value == record
    with pytest.raises(AlreadyExists):
        store.commit([Save(CampaignProduct("cmp-1", replace(mug, name="Other mug")), None)], what="MUG-1", at=NOW)
    product = store.load(CampaignProduct, "cmp-1", "MUG-1")
    assert product is not None and product.value.product == mug


def test_campaigns_list_by_status_in_either_order_and_the_due_ones_are_read_alone(store: Store):
    live = CampaignStatus.LIVE
    records = [
        campaign_record("cmp-5h", live, ends_in_hours=5),
        campaign_record("cmp-1h", live, ends_in_hours=1),
        campaign_record("cmp-2h", live, ends_in_hours=2),
        campaign_record("cmp-draft", CampaignStatus.DRAFT, ends_in_hours=None, created=30),
    ]
    for r in records:
        store.commit([Save(r, None)], what=r.campaign.id, at=NOW)
    oldest = store.campaigns_in_status(live, limit=2, newest_first=False)
    assert [r.value.campaign.id for r in oldest.items] == ["cmp-1h", "cmp-2h"] and oldest.cursor is not None
    rest = store.campaigns_in_status(live, limit=2, cursor=oldest.cursor, newest_first=False)
    assert [r.value.campaign.id for r in rest.items] == ["cmp-5h"] and rest.cursor is None
    newest = store.campaigns_in_status(live, limit=2)
    assert [r.value.campaign.id for r in newest.items] == ["cmp-5h", "cmp-2h"]
    assert [r.value.campaign.id for r in store.campaigns_in_status(live, limit=2, cursor=newest.cursor).items] == ["cmp-1h"]
    assert [r.value.campaign.id for r in store.campaigns_in_status(CampaignStatus.DRAFT, limit=5).items] == ["cmp-draft"]

    due = store.campaigns_due(NOW + timedelta(hours=2), limit=10)  # an end exactly at the cutoff is due
    assert [(r.value.campaign.id, r.version) for r in due] == [("cmp-1h", 1), ("cmp-2h", 1)]
    assert [r.value.campaign.id for r in store.campaigns_due(NOW + timedelta(hours=6), limit=1)] == ["cmp-1h"]
    assert store.campaigns_due(NOW, limit=10) == []


def test_campaigns_in_any_status_merge_newest_first_across_statuses_and_page_on(store: Store):
    records = [
        campaign_record("cmp-live-5h", CampaignStatus.LIVE, ends_in_hours=5),
        campaign_record("cmp-draft", CampaignStatus.DRAFT, ends_in_hours=None, created=30),
        campaign_record("cmp-live-1h", CampaignStatus.LIVE, ends_in_hours=1),
        campaign_record("cmp-closed", CampaignStatus.CLOSED, ends_in_hours=3),
        campaign_record("cmp-old-draft", CampaignStatus.DRAFT, ends_in_hours=None, created=-30),
    ]
    for r in records:
        store.commit([Save(r, None)], what=r.campaign.id, at=NOW)
    first = store.campaigns_any_status(limit=3)
    assert [r.value.campaign.id for r in first.items] == ["cmp-live-5h", "cmp-closed", "cmp-live-1h"]
    assert first.cursor is not None
    rest = store.campaigns_any_status(limit=3, cursor=first.cursor)
    assert [r.value.campaign.id for r in rest.items] == ["cmp-draft", "cmp-old-draft"] and rest.cursor is None


def test_a_customer_profile_saves_under_its_version(store: Store):
    flagged = Customer("cust-1", None, True, "chargebacks", NOW)
    store.commit([Save(flagged, None)], what="cust-1", at=NOW)
    with pytest.raises(AlreadyExists):
        store.commit([Save(flagged, None)], what="cust-1", at=NOW)
    cleared = replace(flagged, flagged=False, flag_reason=None)
    store.commit([Save(cleared, 1)], what="cust-1", at=NOW)
    with pytest.raises(Conflict):
        store.commit([Save(flagged, 1)], what="cust-1", at=NOW)
    loaded = store.load(Customer, "cust-1")
    assert loaded is not None and (loaded.value, loaded.version) == (cleared, 2)
