"""What every store does for the orders area (`services.ports_orders`), on both stores: an order's
trail, a placement's context, a placement created once, shipment copies, the staff search and the
customer's list, and a campaign's orders in some statuses."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.adapters.dynamodb.store import DynamoStore
from chalicelib.domain import exceptions as rules
from chalicelib.domain.campaigns import CampaignStatus, Product
from chalicelib.domain.errors import AlreadyExists, Conflict, RuleViolation
from chalicelib.domain.exceptions import ExceptionRecord
from chalicelib.domain.exceptions import Status as ExceptionStatus
from chalicelib.domain.orders import Delivery, DeliveryStatus, Order, OrderLine, OrderStatus, PaymentMode
from chalicelib.services import exceptions
from chalicelib.services.cancellations import KIND, SUBJECT, request_id_of
from chalicelib.services.ports import AddressEntry, CampaignProduct, CampaignRecord, Customer, Record, Save, Store
from chalicelib.services.ports_orders import (
    CancellationLine,
    CancellationRequest,
    OrderFilters,
    OrderSummary,
    Placement,
    ShipmentCopy,
    TrackingStep,
)
from tests.contract.test_store import HOME, campaign_record, event
from tests.unit.factories import NOW

O = OrderStatus  # noqa: E741
MIN = timedelta(minutes=1)


def order(
    order_id: str,
    *,
    minutes: int,
    status: OrderStatus = O.PLACED,
    campaign_id: str = "cmp-1",
    customer_id: str = "cust-1",
    email: str = "Cust@Example.com",
    suppliers: tuple[str, ...] = ("acme",),
) -> Order:
    return Order(
        id=order_id,
        campaign_id=campaign_id,
        customer_id=customer_id,
        customer_email=email,
        currency="EUR",
        payment_mode=PaymentMode.PREPAID,
        lines=[OrderLine(f"SKU-{s}", "Thing", s, 1, 1000) for s in suppliers],
        deliveries=[Delivery(s, DeliveryStatus.PENDING) for s in suppliers],
        created_at=NOW + timedelta(minutes=minutes),
        status=status,
        ordered_cents=1000 * len(suppliers),
        shipping_address=HOME,
    )


def create(store: Store, *orders: Order) -> None:
    for o in orders:
        store.commit([Save(o, None)], what=f"order {o.id}", at=NOW)


def copy_of(order_id: str, shipment_id: str, minutes: int, tracking: str = "TRK-1") -> ShipmentCopy:
    at = NOW + timedelta(minutes=minutes)
    return ShipmentCopy(
        shipment_id=shipment_id,
        order_id=order_id,
        supplier_id="acme",
        carrier="dhl",
        tracking_number=tracking,
        tracking_url=f"https://track.example/{tracking}",
        status="in_transit",
        status_at=at,
        created_at=at,
        updated_at=at,
        timeline=[TrackingStep(at, "in_transit", "left the depot", "Lyon", "T1")],
    )


def test_an_order_reads_with_its_events_oldest_first_and_its_shipment_copies_oldest_first(store: Store):
    assert store.order_trail("ord-1") is None
    placed = order("ord-1", minutes=0)
    store.commit([Save(placed, None), Record(event("ord-1", 2)), Record(event("ord-1", 1))], what="ord-1", at=NOW)
    store.commit([Save(copy_of("ord-1", "shp-2", 5), None), Save(copy_of("ord-1", "shp-1", 3), None)], what="shp", at=NOW)
    store.commit([Record(event("ord-other", 3))], what="other", at=NOW)
    trail = store.order_trail("ord-1")
    assert trail is not None
    assert (trail.order, trail.version) == (placed, 1)
    assert [e.id for e in trail.events] == ["evt-001", "evt-002"]
    assert [s.shipment_id for s in trail.shipments] == ["shp-1", "shp-2"]
    assert trail.shipments[0] == copy_of("ord-1", "shp-1", 3)
    assert trail.updated_at >= placed.created_at


def test_a_placement_is_created_once_and_loads_by_scope_and_key(store: Store):
    first = Placement("orders#cust-1", "key-1", "hash-1", "ord-1", NOW)
    store.commit([Save(first, None)], what="placement", at=NOW)
    found = store.load(Placement, "orders#cust-1", "key-1")
    assert found is not None and found.value == first
    assert store.load(Placement, "orders#cust-2", "key-1") is None
    with pytest.raises(AlreadyExists):
        store.commit([Save(replace(first, order_id="ord-2"), None)], what="placement", at=NOW)
    again = store.load(Placement, "orders#cust-1", "key-1")
    assert again is not None and again.value.order_id == "ord-1"


def test_a_placement_context_reads_the_campaign_products_profile_placement_and_saved_address(store: Store):
    mug, cap = Product("MUG-1", "Mug", "acme", 1200, 500), Product("CAP-1", "Cap", "bolt", 900, 300)
    record = campaign_record("cmp-1", CampaignStatus.LIVE, ends_in_hours=24)
    store.commit(
        [
            Save(record, None),
            Save(CampaignProduct("cmp-1", mug), None),
            Save(CampaignProduct("cmp-1", cap), None),
            Save(Customer("cust-1", "c@example.com", True, "chargebacks", NOW), None),
            Save(Placement("orders#cust-1", "k", "h", "ord-9", NOW), None),
            Save(AddressEntry("cust-1", "adr-1", "home", HOME, NOW, NOW), None),
        ],
        what="seed",
        at=NOW,
    )
    context = store.placement_context(
        "cmp-1", "cust-1", ["MUG-1", "GHOST", "MUG-1"], placement=("orders#cust-1", "k"), address_id="adr-1"
    )
    assert context.campaign == record.campaign
    assert context.products == {"MUG-1": mug}
    assert context.customer_flagged is True
    assert context.placement == Placement("orders#cust-1", "k", "h", "ord-9", NOW)
    assert context.address == HOME
    bare = store.placement_context("cmp-1", "cust-2", ["CAP-1"], address_id="adr-1")  # another customer's book
    assert (bare.products, bare.customer_flagged, bare.placement, bare.address) == ({"CAP-1": cap}, False, None, None)
    assert store.placement_context("cmp-x", "cust-1", ["MUG-1"]).campaign is None


def searchable(store: Store) -> None:
    create(
        store,
        order("ord-1", minutes=1),
        order("ord-2", minutes=2, status=O.CANCELLED, suppliers=("acme", "bolt")),
        order("ord-3", minutes=3, campaign_id="cmp-2", suppliers=("bolt",)),
        order("ord-4", minutes=4, customer_id="cust-2", email="other@example.com"),
        order("ord-5", minutes=5, status=O.ON_HOLD),
    )


def ids(store: Store, filters: OrderFilters, limit: int = 50) -> list[str]:
    """Every page's ids, newest first (a filtered page may be short while a cursor follows)."""
    found: list[str] = []
    cursor: str | None = None
    for _ in range(20):
        page = store.search_orders(filters, limit=limit, cursor=cursor)
        found += [s.id for s in page.items]
        cursor = page.cursor
        if cursor is None:
            return found
    raise AssertionError("the listing never ended")


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (OrderFilters(), ["ord-5", "ord-4", "ord-3", "ord-2", "ord-1"]),
        (OrderFilters(customer_id="cust-1"), ["ord-5", "ord-3", "ord-2", "ord-1"]),
        (OrderFilters(customer_email="OTHER@example.com "), ["ord-4"]),
        (OrderFilters(campaign_id="cmp-1", status=O.PLACED), ["ord-4", "ord-1"]),
        (OrderFilters(supplier_id="bolt"), ["ord-3", "ord-2"]),
        (OrderFilters(supplier_id="bolt", status=O.CANCELLED), ["ord-2"]),
        (OrderFilters(status=O.ON_HOLD), ["ord-5"]),
        (OrderFilters(customer_id="cust-1", campaign_id="cmp-2"), ["ord-3"]),
        (
            OrderFilters(created_from=NOW + timedelta(minutes=2), created_to=NOW + timedelta(minutes=4)),
            ["ord-4", "ord-3", "ord-2"],
        ),
        (OrderFilters(campaign_id="cmp-1", created_to=NOW + timedelta(minutes=2)), ["ord-2", "ord-1"]),
    ],
)
def test_the_search_finds_the_orders_matching_every_filter_newest_first(store: Store, filters: OrderFilters, expected: list[str]):
    searchable(store)
    assert ids(store, filters) == expected
    assert ids(store, filters, limit=1) == expected  # paged one at a time, nothing lost or repeated


def test_a_search_answers_summaries_with_every_supplier_of_the_order(store: Store):
    searchable(store)
    page = store.search_orders(OrderFilters(supplier_id="acme", status=O.CANCELLED), limit=10)
    two = order("ord-2", minutes=2, status=O.CANCELLED, suppliers=("acme", "bolt"))
    assert page.items == [OrderSummary.of(two)]
    assert page.items[0].supplier_ids == ["acme", "bolt"] and page.items[0].total_cents == 2000


def test_a_search_cursor_is_good_only_for_the_listing_it_came_from(store: Store):
    searchable(store)
    first = store.search_orders(OrderFilters(customer_id="cust-1"), limit=1)
    assert first.cursor is not None
    with pytest.raises(RuleViolation):
        store.search_orders(OrderFilters(customer_id="cust-2"), limit=1, cursor=first.cursor)
    by_supplier = store.search_orders(OrderFilters(supplier_id="acme"), limit=1)
    assert by_supplier.cursor is not None
    with pytest.raises(RuleViolation):
        store.search_orders(OrderFilters(status=O.PLACED), limit=1, cursor=by_supplier.cursor)


def ship(store: Store, shipment_id: str, tracking: str, *order_ids: str) -> None:
    """A parcel carrying those orders: each order's copy and, on the DynamoDB store, the parcel's own record
    in the tracking index (the shipments area's kind, not on the port yet), as `shipment_records` writes it."""
    store.commit([Save(copy_of(o, shipment_id, 1, tracking), None) for o in order_ids], what=shipment_id, at=NOW)
    if isinstance(store, DynamoStore):
        from chalicelib.adapters.dynamodb import keys
        from chalicelib.adapters.dynamodb.models import ShipmentItem

        gpk, gsk = keys.tracking_index(tracking, "dhl")
        ShipmentItem(
            *keys.shipment("dhl", tracking),
            GSI1PK=gpk,
            GSI1SK=gsk,
            id=shipment_id,
            carrier="dhl",
            tracking_number=tracking,
            po_id="po-1",
            supplier_id="acme",
            campaign_id="cmp-1",
            order_ids=list(order_ids),
            status="in_transit",
            created_at=NOW,
            updated_at=NOW,
        ).save()


def test_the_orders_a_parcel_carries_are_found_by_its_tracking_number(store: Store):
    searchable(store)
    ship(store, "shp-1", "TRK-1", "ord-1", "ord-3")
    ship(store, "shp-2", "TRK-2", "ord-2")
    assert sorted(o.id for o in store.orders_shipped_as("TRK-1")) == ["ord-1", "ord-3"]
    assert store.orders_shipped_as("TRK-unknown") == []


def test_a_campaigns_orders_in_some_statuses_come_oldest_first_across_pages(store: Store):
    searchable(store)
    wanted = [O.PLACED, O.ON_HOLD]
    first = store.campaign_orders_in("cmp-1", wanted, limit=2)
    seen = [o.id for o in first.items]
    cursor = first.cursor
    while cursor is not None:
        page = store.campaign_orders_in("cmp-1", wanted, limit=2, cursor=cursor)
        seen += [o.id for o in page.items]
        cursor = page.cursor
    assert seen == ["ord-1", "ord-4", "ord-5"]
    assert store.load(CampaignRecord, "cmp-1") is None  # (nothing else was written)


# ---------------------------------------------------------------- cancellation requests


def cancellation(number: int, *, order_id: str = "ord-1", po: str = "po-acme", minutes: int = 0) -> CancellationRequest:
    return CancellationRequest(
        id=request_id_of(order_id, number),
        order_id=order_id,
        campaign_id="cmp-1",
        supplier_id="acme",
        po_id=po,
        customer_id="cust-1",
        reference="R-1",
        lines=[CancellationLine("SKU-acme", "Thing", 1)],
        everything=False,
        reason="too many",
        status="requested",
        requested_at=NOW + MIN * minutes,
    )


def waiting(store: Store, po: str, limit: int = 50) -> list[str]:
    found: list[str] = []
    cursor: str | None = None
    while True:
        page = store.waiting_cancellation_requests(po, limit=limit, cursor=cursor)
        found += [r.value.id for r in page.items]
        cursor = page.cursor
        if cursor is None:
            return found


def test_a_cancellation_request_is_created_once_and_leaves_its_pos_list_once_decided(store: Store):
    create(store, order("ord-1", minutes=0))
    asked = cancellation(1)
    store.commit([Save(asked, None)], what="crq", at=NOW)
    with pytest.raises(AlreadyExists):
        store.commit([Save(replace(asked, reason="again"), None)], what="crq", at=NOW)
    found = store.load(CancellationRequest, asked.id)
    assert found is not None and (found.value, found.version) == (asked, 1)
    assert waiting(store, "po-acme") == [asked.id]
    decided = replace(asked, status="refused", decided_at=NOW, decided_by="care-1", decided_role="customer_care")
    decided.decision_note, decided.cancelled_cents = "already packed", None
    store.commit([Save(decided, 1)], what="crq", at=NOW)
    with pytest.raises(Conflict):
        store.commit([Save(replace(decided, status="accepted"), 1)], what="crq", at=NOW)
    assert waiting(store, "po-acme") == []
    trail = store.order_trail("ord-1")
    assert trail is not None and [(r.value, r.version) for r in trail.cancellation_requests] == [(decided, 2)]
    assert store.load(CancellationRequest, "not-a-request-id") is None


def test_a_pos_waiting_requests_come_oldest_first_across_pages(store: Store):
    create(store, order("ord-1", minutes=0), order("ord-2", minutes=1))
    store.commit(
        [
            Save(cancellation(1, order_id="ord-2", minutes=3), None),
            Save(cancellation(1, order_id="ord-1", minutes=1), None),
            Save(cancellation(2, order_id="ord-1", minutes=2), None),
            Save(cancellation(3, order_id="ord-1", minutes=0, po="po-other"), None),
        ],
        what="crqs",
        at=NOW,
    )
    expected = [request_id_of("ord-1", 1), request_id_of("ord-1", 2), request_id_of("ord-2", 1)]
    assert waiting(store, "po-acme") == expected
    assert waiting(store, "po-acme", limit=1) == expected
    assert waiting(store, "po-nobody") == []


def test_deciding_reads_the_request_with_its_order_and_their_versions(store: Store):
    first = order("ord-1", minutes=0)
    create(store, first)
    store.commit([Save(first, 1)], what="ord-1", at=NOW)  # the order at version 2
    asked = cancellation(1)
    store.commit([Save(asked, None)], what="crq", at=NOW)
    found = store.decision_context(asked.id, "exc_none")
    assert found.request is not None and (found.request.value, found.request.version) == (asked, 1)
    assert (found.order, found.order_version, found.exception) == (first, 2, None)
    missing = store.decision_context(request_id_of("ord-1", 9), "exc_none")
    assert (missing.request, missing.order) == (None, first)
    assert store.decision_context("rubbish", "exc_none").request is None


def test_deciding_reads_the_requests_exception_with_the_version_its_resolution_must_name(store: Store):
    create(store, order("ord-1", minutes=0))
    asked = cancellation(1)
    exc_id = exceptions.exception_id(KIND, SUBJECT, asked.id)
    # the request and its exception are created in one commit, as `request_cancellation` makes them
    store.commit(
        [Save(asked, None), *exceptions.opening_changes(KIND, SUBJECT, asked.id, {"request_id": asked.id}, NOW)],
        what="crq",
        at=NOW,
    )
    opened = store.load(ExceptionRecord, exc_id)
    assert opened is not None
    store.commit([Save(rules.bump(opened.value, NOW + MIN, {}, None), opened.version)], what="bump", at=NOW)

    found = store.decision_context(asked.id, exc_id)
    rival = store.decision_context(asked.id, exc_id)  # a second decision, read at the same moment
    assert found.exception is not None
    assert (found.exception.id, found.exception.count, found.exception.version) == (exc_id, 2, 2)
    assert found.exception.details["request_id"] == asked.id

    resolution = exceptions.resolution_changes(found.exception, note="accepted", at=NOW + 2 * MIN)
    assert resolution and isinstance(resolution[0], Save) and resolution[0].expected_version == 2
    store.commit(resolution, what="decide", at=NOW + 2 * MIN)
    resolved = store.load(ExceptionRecord, exc_id)
    assert resolved is not None and (resolved.version, resolved.value.status) == (3, ExceptionStatus.RESOLVED)
    late = exceptions.resolution_changes(rival.exception, note="refused", at=NOW + 2 * MIN)
    with pytest.raises(Conflict):  # it names the version the first decision moved past
        store.commit(late, what="decide", at=NOW + 2 * MIN)
    assert store.decision_context(asked.id, "exc_none").exception is None
