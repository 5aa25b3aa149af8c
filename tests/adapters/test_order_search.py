"""Staff order search: every filter and combination is one parallel step of Queries (one Query on a
customer's own key; one per write shard on a key every order writes) and finds exactly the orders it
should, newest first; cursors walk a listing without loss or repetition, across the shards.

The shop is built once for the module (the searches only read it). The search's rules (summaries,
time zones, ranges, who may search, cursors) run on the in-memory store in tests/services/test_orders.py,
and each store's listings in tests/contract/test_orders.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from moto import mock_aws

from chalicelib.adapters.aws import reset_clients
from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.metering import metered
from chalicelib.domain.campaigns import Product
from chalicelib.domain.orders import OrderAction, OrderStatus
from chalicelib.services import orders
from chalicelib.services.orders import OrderFilters
from tests.adapters import shop
from tests.adapters.conftest import _SESSION
from tests.adapters.shop import ALICE, BOB, CARE
from tests.aws import provisioned

T0 = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)


@dataclass(frozen=True)
class Expected:
    id: str
    customer: str
    campaign: str
    suppliers: tuple[str, ...]
    status: str
    created: datetime


@pytest.fixture(scope="module")
def shop_orders():
    """Two campaigns, seven orders by two customers over seven minutes, in several statuses."""
    with mock_aws(), pytest.MonkeyPatch.context() as mp:
        reset_clients()
        provisioned(session=_SESSION)
        shop.suppliers()
        winter = shop.live_campaign(name="Winter")
        spring = shop.live_campaign(
            [Product("PEN-1", "Pen", "cove", 150, 40), Product("MUG-1", "Mug", "acme", 1200, 500)], name="Spring"
        )
        plan = [  # (who, campaign, lines, then)
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
            mp.setattr("chalicelib.services.orders.now", lambda at=at: at)
            record = shop.place(who, campaign, *lines)
            if then:
                record = orders.change_order(who, record.order.id, then)
            o = record.order
            expected.append(Expected(o.id, o.customer_id, campaign, tuple(o.supplier_ids), o.status.value, at))
        mp.undo()
        yield {"winter": winter, "spring": spring, "orders": expected}
    reset_clients()


def _resolve(shop_orders, raw: dict) -> OrderFilters:
    values = dict(raw)
    if "campaign_id" in values:
        values["campaign_id"] = shop_orders[values["campaign_id"]]
    if "status" in values:
        values["status"] = OrderStatus(values["status"])
    for name in ("created_from", "created_to"):
        if name in values:
            values[name] = T0 + timedelta(minutes=values[name])
    return OrderFilters(**values)


def _matches(o: Expected, f: OrderFilters) -> bool:
    return (
        (f.status is None or o.status == f.status.value)
        and (f.campaign_id is None or o.campaign == f.campaign_id)
        and (f.supplier_id is None or f.supplier_id in o.suppliers)
        and (f.customer_id is None or o.customer == f.customer_id)
        and (f.created_from is None or o.created >= f.created_from)
        and (f.created_to is None or o.created <= f.created_to)
    )


FILTERS = [
    {},
    {"status": "placed"},
    {"status": "on_hold"},
    {"status": "cancelled"},
    {"status": "completed"},
    {"campaign_id": "winter"},
    {"campaign_id": "spring"},
    {"supplier_id": "acme"},
    {"supplier_id": "bolt"},
    {"supplier_id": "cove"},
    {"supplier_id": "nobody"},
    {"customer_id": "cust-alice"},
    {"customer_id": "cust-bob"},
    {"created_from": 2},
    {"created_to": 2},
    {"created_from": 1, "created_to": 4},
    {"created_from": 3, "created_to": 3},
    {"campaign_id": "winter", "status": "placed"},
    {"supplier_id": "acme", "status": "on_hold"},
    {"supplier_id": "acme", "campaign_id": "spring"},
    {"supplier_id": "bolt", "created_from": 2},
    {"customer_id": "cust-bob", "supplier_id": "bolt"},
    {"customer_id": "cust-alice", "status": "placed", "created_from": 1, "created_to": 5},
    {"customer_id": "cust-alice", "campaign_id": "spring"},
    {"status": "placed", "created_to": 3},
    {"campaign_id": "spring", "created_from": 4, "created_to": 6},
    {
        "status": "placed",
        "campaign_id": "spring",
        "supplier_id": "cove",
        "customer_id": "cust-alice",
        "created_from": 0,
        "created_to": 6,
    },
]


@pytest.mark.parametrize("raw", FILTERS, ids=lambda f: ",".join(f"{k}={v}" for k, v in f.items()) or "all")
def test_each_search_filter_is_one_parallel_step_that_finds_exactly_its_orders_newest_first(shop_orders, raw):
    filters = _resolve(shop_orders, raw)
    expected = [o for o in reversed(shop_orders["orders"]) if _matches(o, filters)]
    with metered() as m:
        found, cursor = orders.search_orders(CARE, filters, limit=50, cursor=None)
    assert m.requests == {"Query": _queries(raw)}
    assert [o.id for o in found] == [o.id for o in expected]
    assert [(o.status, o.campaign_id, o.customer_id) for o in found] == [(o.status, o.campaign, o.customer) for o in expected]
    assert cursor is None


def _queries(raw):
    """A customer's own orders are one key (one Query); every other listing reads every write shard."""
    return 1 if "customer_id" in raw else keys.INDEX_SHARDS


def _walk(fetch, limit, queries=1):
    ids, cursor, pages = [], None, 0
    while True:
        with metered() as m:
            page, cursor = fetch(limit, cursor)
        # the first page asks every shard; later pages only those not yet finished
        assert m.requests == {"Query": queries} if pages == 0 else 1 <= m.requests["Query"] <= queries
        assert set(m.requests) == {"Query"}
        pages += 1
        ids += [o.id for o in page]
        if cursor is None:
            return ids, pages


@pytest.mark.parametrize(
    "raw",
    [
        {},
        {"status": "placed"},
        {"supplier_id": "acme"},
        {"campaign_id": "winter"},
        {"customer_id": "cust-alice", "status": "placed"},
    ],
    ids=lambda f: ",".join(f"{k}={v}" for k, v in f.items()) or "all",
)
@pytest.mark.parametrize("limit", [1, 2, 3])
def test_paging_through_a_search_returns_every_order_exactly_once(shop_orders, raw, limit):
    filters = _resolve(shop_orders, raw)
    expected = [o.id for o in reversed(shop_orders["orders"]) if _matches(o, filters)]
    ids, pages = _walk(lambda n, c: orders.search_orders(CARE, filters, limit=n, cursor=c), limit, _queries(raw))
    assert ids == expected
    assert pages >= -(-len(expected) // limit)


def test_paging_through_my_orders_returns_each_of_mine_exactly_once(shop_orders):
    mine = [o.id for o in reversed(shop_orders["orders"]) if o.customer == ALICE.sub]
    ids, pages = _walk(lambda n, c: orders.list_my_orders(ALICE, limit=n, cursor=c), 2)
    assert ids == mine and pages >= 2
