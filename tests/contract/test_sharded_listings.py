"""Listings over a key every order writes (all orders, orders in a status, a campaign's orders, a
supplier's deliveries, and the exports' source of orders), on both stores: on DynamoDB each reads every
write shard at once and merges them; paging with the cursor returns every order exactly once, in order,
whatever the page size, with filters that drop some orders on the way."""

from __future__ import annotations

from datetime import timedelta

import pytest
from moto import mock_aws

from chalicelib.adapters.aws import reset_clients
from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.metering import metered
from chalicelib.adapters.dynamodb.store import DynamoStore
from chalicelib.domain.errors import RuleViolation
from chalicelib.domain.exports import ExportKind
from chalicelib.domain.orders import OrderStatus
from chalicelib.services.ports import Store
from chalicelib.services.ports_orders import OrderFilters
from tests.aws import SFN_CONFIG, provisioned
from tests.contract.conftest import _SESSION
from tests.contract.test_orders import create, order
from tests.unit.factories import NOW

O = OrderStatus  # noqa: E741
COUNT = 23  # more orders than shards, so every shard holds some and most hold several


def shop(store: Store) -> list[tuple[str, OrderStatus, str, tuple[str, ...]]]:
    """COUNT orders a minute apart over two campaigns, three statuses and two suppliers; (id, status,
    campaign, suppliers) oldest first."""
    made = []
    for n in range(COUNT):
        status = (O.PLACED, O.ON_HOLD, O.CANCELLED)[n % 3]
        campaign = "cmp-1" if n % 4 else "cmp-2"
        suppliers = ("acme",) if n % 2 else ("acme", "bolt")
        made.append((f"ord-{n:02d}", status, campaign, suppliers))
    create(store, *(order(i, minutes=n, status=s, campaign_id=c, suppliers=sup) for n, (i, s, c, sup) in enumerate(made)))
    return made


def walk(fetch, limit: int) -> list[str]:
    ids: list[str] = []
    cursor = None
    for _ in range(COUNT + 2):  # each page takes at least one order or ends
        page = fetch(limit, cursor)
        ids += page[0]
        cursor = page[1]
        if cursor is None:
            return ids
    raise AssertionError("the cursor never ended")


LISTINGS = {
    "all orders": (OrderFilters(), lambda o: True),
    "in a status": (OrderFilters(status=O.PLACED), lambda o: o[1] is O.PLACED),
    "of a campaign": (OrderFilters(campaign_id="cmp-1"), lambda o: o[2] == "cmp-1"),
    "of a supplier": (OrderFilters(supplier_id="bolt"), lambda o: "bolt" in o[3]),
    "campaign and status": (
        OrderFilters(campaign_id="cmp-1", status=O.CANCELLED),
        lambda o: o[2] == "cmp-1" and o[1] is O.CANCELLED,
    ),
}


@pytest.mark.parametrize("limit", [1, 2, 5, 50])
@pytest.mark.parametrize("listing", list(LISTINGS))
def test_paging_a_sharded_search_returns_every_order_once_newest_first(store: Store, listing: str, limit: int):
    made = shop(store)
    filters, wanted = LISTINGS[listing]
    expected = [o[0] for o in reversed(made) if wanted(o)]
    ids = walk(
        lambda n, c: (lambda p: ([s.id for s in p.items], p.cursor))(store.search_orders(filters, limit=n, cursor=c)), limit
    )
    assert ids == expected


@pytest.mark.parametrize("limit", [1, 3, 50])
def test_paging_a_campaigns_orders_in_some_statuses_returns_each_once_oldest_first(store: Store, limit: int):
    made = shop(store)
    expected = [o[0] for o in made if o[2] == "cmp-1" and o[1] in (O.PLACED, O.ON_HOLD)]
    ids = walk(
        lambda n, c: (lambda p: ([o.id for o in p.items], p.cursor))(
            store.campaign_orders_in("cmp-1", [O.PLACED, O.ON_HOLD], limit=n, cursor=c)
        ),
        limit,
    )
    assert ids == expected


@pytest.mark.parametrize("limit", [1, 4])
def test_paging_the_orders_to_export_returns_each_once_oldest_first(store: Store, limit: int):
    made = shop(store)
    ids = walk(
        lambda n, c: (lambda p: ([r.id for r in p.items], p.cursor))(
            store.export_source(ExportKind.ORDERS, None, NOW + timedelta(hours=1), limit=n, cursor=c)
        ),
        limit,
    )
    assert ids == [o[0] for o in made]


def test_a_sharded_cursor_is_good_only_for_its_own_listing(store: Store):
    shop(store)
    placed = store.search_orders(OrderFilters(status=O.PLACED), limit=1)
    assert placed.cursor is not None
    for other in (OrderFilters(status=O.CANCELLED), OrderFilters(campaign_id="cmp-1"), OrderFilters()):
        with pytest.raises(RuleViolation):
            store.search_orders(other, limit=1, cursor=placed.cursor)


@pytest.fixture
def dynamo_store():
    with mock_aws(config=SFN_CONFIG):  # type: ignore[arg-type]
        reset_clients()
        provisioned(session=_SESSION)
        yield DynamoStore()
    reset_clients()


def test_on_dynamodb_a_sharded_page_is_one_query_per_shard_and_the_orders_are_spread_over_them(dynamo_store: DynamoStore):
    made = shop(dynamo_store)
    with metered() as m:
        page = dynamo_store.search_orders(OrderFilters(), limit=5)
    assert m.requests == {"Query": keys.INDEX_SHARDS}
    assert [s.id for s in page.items] == [o[0] for o in reversed(made)][:5]
    assert len({keys.all_orders_pk(o[0]) for o in made}) > keys.INDEX_SHARDS // 2  # not all on one key
