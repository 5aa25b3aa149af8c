"""Placing, reading, searching and changing orders through the services, on the in-memory store (moved
from tests/adapters/test_order_services.py and test_order_search.py; those keep the request counts and
the item shapes on moto)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from chalicelib.adapters.memory import MemoryStore
from chalicelib.domain.campaigns import Product
from chalicelib.domain.errors import Forbidden, InvalidTransition, NotFound, RuleViolation
from chalicelib.domain.orders import Order, OrderAction, OrderStatus, PaymentMode, RequestedLine
from chalicelib.services import catalogue, orders
from chalicelib.services.orders import OrderFilters
from chalicelib.services.ports import Save
from chalicelib.services.ports_orders import Placement, ShipmentCopy
from tests.adapters import shop
from tests.adapters.shop import ALICE, BOB, CARE

T0 = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)


def stored_orders(store: MemoryStore) -> list[Order]:
    return store._all(Order)


@pytest.fixture
def campaign_id(store: MemoryStore) -> str:
    shop.suppliers()
    return shop.live_campaign()


# ---------------------------------------------------------------- placing (from test_order_services.py)


def test_retrying_with_the_same_idempotency_key_returns_the_same_order_and_writes_nothing(store, campaign_id):
    request = {
        "campaign_id": campaign_id,
        "lines": [RequestedLine("MUG-1", 2)],
        "payment_mode": PaymentMode.PREPAID,
        "idempotency_key": "retry-1",
        "shipping_address": shop.HOME,
    }
    first, created = orders.place_order(ALICE, **request)
    commits = store.commits
    again, created_again = orders.place_order(ALICE, **request)
    assert (created, created_again) == (True, False)
    assert again.order.id == first.order.id and again.order.total_cents == 2400
    assert store.commits == commits
    assert [o.id for o in stored_orders(store)] == [first.order.id]


@pytest.mark.parametrize(
    "changed",
    [
        {"lines": [RequestedLine("MUG-1", 3)]},
        {"lines": [RequestedLine("CAP-1", 2)]},
        {"payment_mode": PaymentMode.OFFLINE},
        {"shipping_address": replace(shop.HOME, city="Lyon", postal_code="69001")},
    ],
)
def test_the_same_idempotency_key_with_a_different_request_is_refused(store, campaign_id, changed):
    request = {
        "campaign_id": campaign_id,
        "lines": [RequestedLine("MUG-1", 2)],
        "payment_mode": PaymentMode.PREPAID,
        "shipping_address": shop.HOME,
    }
    orders.place_order(ALICE, **request, idempotency_key="k-1")
    with pytest.raises(RuleViolation) as err:
        orders.place_order(ALICE, **{**request, **changed}, idempotency_key="k-1")
    assert err.value.code == "idempotency_key_reused"
    assert len(stored_orders(store)) == 1


def test_idempotency_keys_belong_to_their_customer(store, campaign_id):
    mine = shop.place(ALICE, campaign_id, ("MUG-1", 1), key="shared-key")
    theirs = shop.place(BOB, campaign_id, ("MUG-1", 1), key="shared-key")
    assert mine.order.id != theirs.order.id
    assert theirs.order.customer_id == BOB.sub
    stored = [store.load(Placement, f"orders#{who.sub}", "shared-key") for who in (ALICE, BOB)]
    assert [p.value.order_id for p in stored if p is not None] == [mine.order.id, theirs.order.id]


def test_orders_without_an_idempotency_key_are_each_new(store, campaign_id):
    a = shop.place(ALICE, campaign_id, ("MUG-1", 1))
    b = shop.place(ALICE, campaign_id, ("MUG-1", 1))
    assert a.order.id != b.order.id and len(stored_orders(store)) == 2


def test_an_order_from_a_flagged_customer_waits_for_approval(campaign_id):
    catalogue.set_customer_flag(CARE, BOB.sub, flagged=True, reason="chargebacks")
    record = shop.place(BOB, campaign_id, ("PEN-1", 1))
    assert record.order.status.value == "on_hold"
    assert record.order.hold_reasons == ["customer_flagged"]
    approved = orders.change_order(CARE, record.order.id, OrderAction.APPROVE)
    assert approved.order.status.value == "placed" and approved.version == 2


def test_an_order_for_an_unknown_campaign_is_refused(store):
    with pytest.raises(RuleViolation) as err:
        shop.place(ALICE, "cmp_nope", ("MUG-1", 1))
    assert err.value.code == "unknown_campaign"


def test_an_order_for_a_sku_the_campaign_does_not_sell_is_refused_with_details(store, campaign_id):
    with pytest.raises(RuleViolation) as err:
        shop.place(ALICE, campaign_id, ("MUG-1", 1), ("HAT-9", 1))
    assert err.value.code == "invalid_order"
    assert [d["field"] for d in err.value.details] == ["lines[1].sku"]
    assert stored_orders(store) == []


def test_staff_may_not_place_orders(campaign_id):
    with pytest.raises(Forbidden):
        shop.place(CARE, campaign_id, ("MUG-1", 1))


def test_a_customer_cannot_see_or_cancel_another_customers_order(campaign_id):
    record = shop.place(ALICE, campaign_id, ("MUG-1", 1))
    with pytest.raises(NotFound):
        orders.get_order_for_customer(BOB, record.order.id)
    with pytest.raises(NotFound):
        orders.change_order(BOB, record.order.id, OrderAction.CANCEL)
    assert orders.get_order_for_customer(ALICE, record.order.id).order.status.value == "placed"


def test_a_refused_transition_changes_nothing(store, campaign_id):
    record = shop.place(ALICE, campaign_id, ("MUG-1", 1))
    commits = store.commits
    with pytest.raises(InvalidTransition):
        orders.change_order(CARE, record.order.id, OrderAction.APPROVE)
    assert store.commits == commits
    assert len(orders.get_order_for_customer(ALICE, record.order.id).events) == 1


def test_an_order_ships_to_a_saved_address_of_the_callers_own_book_only(store, campaign_id):
    from chalicelib.services import addresses

    saved = addresses.add_address(ALICE, {**shop.HOME.as_dict(), "city": "Lyon", "postal_code": "69001"})
    record, _ = orders.place_order(
        ALICE, campaign_id=campaign_id, lines=[RequestedLine("MUG-1", 1)], payment_mode=PaymentMode.PREPAID, address_id=saved.id
    )
    assert record.order.shipping_address is not None and record.order.shipping_address.city == "Lyon"
    with pytest.raises(RuleViolation) as err:
        orders.place_order(
            BOB, campaign_id=campaign_id, lines=[RequestedLine("MUG-1", 1)], payment_mode=PaymentMode.PREPAID, address_id=saved.id
        )
    assert err.value.code == "unknown_address"


# ---------------------------------------------------------------- notes, trails, the campaign's cancellation


def test_a_note_is_added_to_the_trail_without_changing_the_order(campaign_id):
    record = shop.place(ALICE, campaign_id, ("MUG-1", 1))
    note = orders.add_note(CARE, record.order.id, internal_note="rang the customer", customer_note="Ships Monday.")
    seen = orders.get_order_for_staff(CARE, record.order.id)
    assert [e.id for e in seen.events][-1] == note.id and seen.version == record.version
    assert seen.events[-1].internal_note == "rang the customer"
    with pytest.raises(RuleViolation):
        orders.add_note(CARE, record.order.id, internal_note=None, customer_note=None)
    with pytest.raises(NotFound):
        orders.add_note(CARE, "ord_nope", internal_note="x", customer_note=None)


def test_a_cancelled_campaign_cancels_each_of_its_open_orders_once(campaign_id):
    placed = [shop.place(ALICE, campaign_id, ("MUG-1", 1)) for _ in range(3)]
    orders.change_order(ALICE, placed[0].order.id, OrderAction.CANCEL)
    assert orders.cancel_orders_of_campaign(campaign_id, page_size=2) == 2
    for record in placed[1:]:
        seen = orders.get_order_for_customer(ALICE, record.order.id)
        assert seen.order.status is OrderStatus.CANCELLED
        # the cancellation, then (1 ms later) the refund of what the prepaid order paid, now kept in memory too
        cancelled, due = seen.events[-2:]
        assert (cancelled.customer_note or "").startswith(orders.CAMPAIGN_CANCELLED_NOTE)
        assert due.type == "order.refund_due" and due.data["amount_cents"] == record.order.total_cents
        assert [(p.payment_kind, p.status) for p in seen.payments] == [("payment", "succeeded"), ("refund", "pending")]
    assert orders.cancel_orders_of_campaign(campaign_id, page_size=2) == 0  # a redelivery changes nothing


# ---------------------------------------------------------------- searching (from test_order_search.py)


@dataclass(frozen=True)
class Expected:
    id: str
    customer: str
    campaign: str
    status: str


@pytest.fixture
def shop_orders(store: MemoryStore, monkeypatch: pytest.MonkeyPatch) -> dict:
    """Two campaigns, seven orders by two customers over seven minutes, in several statuses."""
    shop.suppliers()
    winter = shop.live_campaign(name="Winter")
    spring = shop.live_campaign(
        [Product("PEN-1", "Pen", "cove", 150, 40), Product("MUG-1", "Mug", "acme", 1200, 500)], name="Spring"
    )
    plan = [
        (ALICE, winter, [("MUG-1", 1)], None),
        (ALICE, winter, [("CAP-1", 1)], None),
        (BOB, winter, [("MUG-1", 1), ("CAP-1", 1)], OrderAction.CANCEL),
        (BOB, spring, [("PEN-1", 2)], None),
        (ALICE, spring, [("MUG-1", 50)], None),  # above the threshold: on hold
        (BOB, winter, [("MUG-2", 30), ("CAP-1", 1)], None),  # on hold
        (ALICE, spring, [("PEN-1", 1), ("MUG-1", 1)], None),
    ]
    expected = []
    for i, (who, campaign, lines, then) in enumerate(plan):
        at = T0 + timedelta(minutes=i)
        monkeypatch.setattr("chalicelib.services.orders.now", lambda at=at: at)
        record = shop.place(who, campaign, *lines)
        if then:
            record = orders.change_order(who, record.order.id, then)
        expected.append(Expected(record.order.id, record.order.customer_id, campaign, record.order.status.value))
    monkeypatch.undo()
    return {"winter": winter, "spring": spring, "orders": expected}


def test_the_searched_shop_has_orders_in_several_statuses(shop_orders):
    assert {o.status for o in shop_orders["orders"]} == {"placed", "on_hold", "cancelled"}


def test_a_supplier_search_summarises_the_whole_order(shop_orders):
    found, _ = orders.search_orders(CARE, OrderFilters(supplier_id="bolt", status=OrderStatus.CANCELLED), limit=10, cursor=None)
    (summary,) = found
    assert summary.supplier_ids == ["acme", "bolt"]
    assert summary.total_cents == 1200 + 900


def test_a_date_range_with_an_offset_finds_the_same_orders_as_in_utc(shop_orders):
    plus_two = timezone(timedelta(hours=2))
    utc = OrderFilters(created_from=T0 + timedelta(minutes=1), created_to=T0 + timedelta(minutes=4))
    assert utc.created_from is not None and utc.created_to is not None
    local = OrderFilters(created_from=utc.created_from.astimezone(plus_two), created_to=utc.created_to.astimezone(plus_two))
    in_utc, _ = orders.search_orders(CARE, utc, limit=50, cursor=None)
    in_local, _ = orders.search_orders(CARE, local, limit=50, cursor=None)
    assert [o.id for o in in_local] == [o.id for o in in_utc]
    assert len(in_utc) == 4


def test_a_date_range_that_ends_before_it_starts_is_refused(shop_orders):
    with pytest.raises(RuleViolation) as err:
        orders.search_orders(CARE, OrderFilters(created_from=T0 + timedelta(minutes=2), created_to=T0), limit=10, cursor=None)
    assert err.value.code == "invalid_range"


def test_customers_cannot_search_orders(shop_orders):
    with pytest.raises(Forbidden):
        orders.search_orders(ALICE, OrderFilters(), limit=10, cursor=None)


def test_my_orders_list_mine_newest_first_across_pages(shop_orders):
    mine = [o.id for o in reversed(shop_orders["orders"]) if o.customer == ALICE.sub]
    seen, cursor = orders.list_my_orders(ALICE, limit=2, cursor=None)
    while cursor is not None:
        more, cursor = orders.list_my_orders(ALICE, limit=2, cursor=cursor)
        seen += more
    assert [o.id for o in seen] == mine


def test_another_customers_cursor_is_refused(shop_orders):
    _, cursor = orders.list_my_orders(ALICE, limit=1, cursor=None)
    assert cursor is not None
    with pytest.raises(RuleViolation) as err:
        orders.list_my_orders(BOB, limit=1, cursor=cursor)
    assert err.value.code == "invalid_cursor"


def test_a_cursor_from_another_search_is_refused(shop_orders):
    _, cursor = orders.search_orders(CARE, OrderFilters(supplier_id="acme"), limit=1, cursor=None)
    with pytest.raises(RuleViolation) as err:
        orders.search_orders(CARE, OrderFilters(status=OrderStatus.PLACED), limit=1, cursor=cursor)
    assert err.value.code == "invalid_cursor"


def test_the_search_box_finds_an_order_by_id_by_email_or_by_its_parcels_tracking_number(store, shop_orders):
    first, third = shop_orders["orders"][0], shop_orders["orders"][2]
    by_id, _ = orders.find_orders(CARE, f" {first.id} ", OrderFilters(), limit=10, cursor=None)
    assert [o.id for o in by_id] == [first.id]
    by_email, _ = orders.find_orders(CARE, "BOB@example.com", OrderFilters(status=OrderStatus.CANCELLED), limit=10, cursor=None)
    assert [o.id for o in by_email] == [third.id]
    at = T0 + timedelta(hours=1)
    for order_id in (first.id, third.id):
        copy = ShipmentCopy("shp-1", order_id, "acme", "dhl", "TRK-9", "https://t.example/TRK-9", "in_transit", at, at, at)
        store.commit([Save(copy, None)], what="parcel", at=at)
    by_parcel, _ = orders.find_orders(CARE, "TRK-9", OrderFilters(), limit=10, cursor=None)
    assert [o.id for o in by_parcel] == [third.id, first.id]  # newest first
    filtered, _ = orders.find_orders(CARE, "TRK-9", OrderFilters(customer_id=ALICE.sub), limit=10, cursor=None)
    assert [o.id for o in filtered] == [first.id]
    assert orders.find_orders(CARE, "ord_nope", OrderFilters(), limit=10, cursor=None) == ([], None)
