"""The write path and the read path against DynamoDB (moto): one transaction per change,
optimistic locking, audit events beside their subject, one request per read."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime

import boto3
import pytest

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb import repository as repo
from chalicelib.adapters.dynamodb.metering import metered
from chalicelib.adapters.dynamodb.models import (
    AuditEventItem,
    CampaignItem,
    DeliveryIndexItem,
    Item,
    OrderItem,
    ProductItem,
    SupplierItem,
)
from chalicelib.domain.audit import AuditEvent
from chalicelib.domain.errors import Conflict
from chalicelib.domain.orders import OrderAction, apply_order_action
from chalicelib.services import catalogue, orders
from chalicelib.services.ports_trends import period_of
from chalicelib.topology import TOPOLOGY
from tests.adapters import shop
from tests.adapters.shop import ALICE, BOB, BUYER, CARE


@contextmanager
def transactions():
    """Capture the TransactItems of every TransactWriteItems request made meanwhile."""
    captured: list[list[dict]] = []
    events = Item._get_connection().connection.client.meta.events

    def grab(params, **_):
        captured.append(params["TransactItems"])

    events.register("provide-client-params.dynamodb.TransactWriteItems", grab, unique_id="test-capture-tx")
    try:
        yield captured
    finally:
        events.unregister("provide-client-params.dynamodb.TransactWriteItems", unique_id="test-capture-tx")


def puts(tx: list[dict]) -> list[dict]:
    return [entry["Put"]["Item"] for entry in tx if "Put" in entry]


def partition(pk: str) -> list[Item]:
    return list(Item.query(pk))


# ---------------------------------------------------------------- optimistic locking


def test_a_lost_race_is_a_conflict_and_the_first_change_is_kept(campaign_id):
    order_id = shop.place(BOB, campaign_id, ("MUG-2", 30)).order.id  # held for approval
    first_item = repo.get(keys.order(order_id), OrderItem)
    second_item = repo.get(keys.order(order_id), OrderItem)
    first, second = repo.order_from_item(first_item), repo.order_from_item(second_item)
    apply_order_action(first, OrderAction.APPROVE, CARE)
    apply_order_action(second, OrderAction.REJECT, CARE)
    now = datetime.now(UTC)

    repo.commit(repo.order_writes(first, version=int(first_item.version), now=now), what="order")
    with pytest.raises(Conflict):
        repo.commit(repo.order_writes(second, version=int(second_item.version), now=now), what="order")

    stored = repo.get(keys.order(order_id), OrderItem)
    assert stored.status == "placed" and stored.hold_rejected is False
    assert int(stored.version) == int(first_item.version) + 1
    assert {i.delivery_status for i in partition(keys.order_pk(order_id)) if isinstance(i, DeliveryIndexItem)} == {"pending"}


def test_a_change_against_a_stale_version_is_refused(campaign_id):
    record = shop.place(BOB, campaign_id, ("MUG-2", 30))
    orders.change_order(CARE, record.order.id, OrderAction.APPROVE, expected_version=record.version)
    with pytest.raises(Conflict):
        orders.change_order(BOB, record.order.id, OrderAction.CANCEL, expected_version=record.version)
    assert orders.get_order_for_customer(BOB, record.order.id).order.status.value == "placed"


def test_a_refused_transaction_writes_nothing_at_all(campaign_id):
    record = shop.place(ALICE, campaign_id, ("MUG-1", 1))
    order = record.order
    apply_order_action(order, OrderAction.CANCEL, ALICE)
    event = AuditEvent(
        id="evt-x",
        subject_type="order",
        subject_id=order.id,
        type="order.cancelled",
        actor=ALICE,
        at=datetime.now(UTC),
        from_status="placed",
        to_status="cancelled",
    )
    stale = repo.order_writes(order, version=record.version + 7, now=datetime.now(UTC))
    with pytest.raises(Conflict):
        repo.commit([*stale, repo.event_write(keys.order_pk(order.id), event)], what="order")
    items = partition(keys.order_pk(order.id))
    assert [i.id for i in items if isinstance(i, AuditEventItem)] == [record.events[0].id]
    assert [i.status for i in items if isinstance(i, OrderItem)] == ["placed"]


def test_a_new_item_never_overwrites_an_existing_one(aws):
    catalogue.create_supplier(BUYER, name="Acme", contact_emails=[], supplier_id="acme")
    with pytest.raises(Conflict):
        catalogue.create_supplier(BUYER, name="Other Acme", contact_emails=[], supplier_id="acme")
    assert catalogue.get_supplier(BUYER, "acme").name == "Acme"


# ---------------------------------------------------------------- one transaction per change


def test_changing_an_order_is_one_query_and_one_transaction(campaign_id):
    record = shop.place(BOB, campaign_id, ("MUG-2", 30), ("CAP-1", 1))
    with metered() as m, transactions() as txs:
        orders.change_order(CARE, record.order.id, OrderAction.APPROVE, internal_note="checked the card")
    assert m.requests == {"Query": 1, "TransactWriteItems": 1}
    (tx,) = txs
    items = puts(tx)
    assert [i["kind"]["S"] for i in items] == ["order", "delivery", "delivery", "event"]
    assert {i["PK"]["S"] for i in items} == {keys.order_pk(record.order.id)}  # the event beside its subject
    assert "ConditionExpression" in tx[0]["Put"]  # the version condition
    assert items[3]["type"]["S"] == "order.approved"


def test_placing_an_order_is_one_batch_read_and_one_transaction(campaign_id):
    with metered() as m, transactions() as txs:
        record = shop.place(ALICE, campaign_id, ("MUG-1", 1), ("CAP-1", 2), key="k-1")
    assert m.requests == {"BatchGetItem": 1, "TransactWriteItems": 1}
    (tx,) = txs
    # prepaid: the payment at checkout is recorded in the same transaction
    # and the staff search's find items (reference, e-mail, name) written with the order they find
    kinds = [i["kind"]["S"] for i in puts(tx)]
    assert kinds == ["order", "delivery", "delivery", "find", "find", "find", "event", "idempotency", "payment_txn"]
    # counters ADDed in place: one more order in its status, the campaign's metrics, the campaign's
    # sales per supplier and product (one sharded item, whatever the number of lines), and the orders
    # placed that day (the trend), each in the shard the order's id picks
    counters = [entry["Update"] for entry in tx if "Update" in entry]
    assert [(c["Key"]["PK"]["S"], c["Key"]["SK"]["S"]) for c in counters] == [
        keys.order_status_stats(record.order.id),
        keys.campaign_summary(campaign_id, record.order.id),
        keys.campaign_sales(campaign_id, record.order.id),
        keys.trend("orders", period_of("orders", record.order.created_at), record.order.id),
    ]
    event = puts(tx)[kinds.index("event")]
    assert event["PK"]["S"] == keys.order_pk(record.order.id)
    assert event["SK"]["S"] == keys.event_sk(record.events[0].at, record.events[0].id)


def test_a_note_is_one_read_and_one_write_of_its_event(campaign_id):
    record = shop.place(ALICE, campaign_id, ("MUG-1", 1))
    with metered() as m, transactions() as txs:
        orders.add_note(CARE, record.order.id, internal_note="rang the customer", customer_note=None)
    assert m.requests == {"GetItem": 1, "TransactWriteItems": 1}
    assert [i["kind"]["S"] for i in puts(txs[0])] == ["event"]


@pytest.mark.parametrize("what", ["campaign", "supplier", "customer"])
def test_the_audit_event_of_every_change_is_in_the_partition_of_its_subject(aws, what):
    if what == "supplier":
        pk = keys.supplier("acme")[0]
        catalogue.create_supplier(BUYER, name="Acme", contact_emails=[], supplier_id="acme")
        expected = ["supplier.created"]
    elif what == "campaign":
        shop.suppliers()
        cid = shop.live_campaign()
        pk = keys.campaign_pk(cid)
        expected = ["campaign.created", "campaign.went_live"]
    else:
        pk = keys.customer("cust-bob")[0]
        catalogue.set_customer_flag(CARE, "cust-bob", flagged=True, reason="chargebacks")
        catalogue.set_customer_flag(CARE, "cust-bob", flagged=False, reason=None)
        expected = ["customer.flagged", "customer.unflagged"]
    events = [i for i in partition(pk) if isinstance(i, AuditEventItem)]
    assert [e.type for e in events] == expected
    assert all(e.SK.startswith(keys.EVENT_PREFIX) for e in events)


# ---------------------------------------------------------------- one request per read


def test_reading_an_order_with_its_timeline_is_one_query(campaign_id):
    record = shop.place(ALICE, campaign_id, ("MUG-1", 1), ("CAP-1", 1))
    orders.change_order(ALICE, record.order.id, OrderAction.CANCEL)
    with metered() as m:
        seen = orders.get_order_for_customer(ALICE, record.order.id)
    assert m.requests == {"Query": 1}
    # prepaid: cancelling also makes the refund of what was paid due
    assert sorted(e.type for e in seen.events) == ["order.cancelled", "order.placed", "order.refund_due"]
    with metered() as m:
        orders.get_order_for_staff(CARE, record.order.id)
    assert m.requests == {"Query": 1}


def test_listing_my_orders_is_one_query(campaign_id):
    for _ in range(3):
        shop.place(ALICE, campaign_id, ("MUG-1", 1))
    with metered() as m:
        mine, _ = orders.list_my_orders(ALICE, limit=10, cursor=None)
    assert m.requests == {"Query": 1}
    assert len(mine) == 3


# ---------------------------------------------------------------- items and keys


def test_an_order_is_stored_under_the_keys_from_the_keys_module(campaign_id):
    record = shop.place(ALICE, campaign_id, ("MUG-1", 1), ("CAP-1", 1))
    order = record.order
    raw = boto3.client("dynamodb").get_item(
        TableName=TOPOLOGY.table.name, Key={"PK": {"S": keys.order_pk(order.id)}, "SK": {"S": keys.META}}
    )["Item"]
    created = keys.created_sk(order.created_at, order.id)
    assert {k: raw[k]["S"] for k in raw if k.startswith(("PK", "SK", "GSI"))} == {
        "PK": keys.order(order.id)[0],
        "SK": keys.order(order.id)[1],
        "GSI1PK": keys.customer_orders_pk(ALICE.sub),
        "GSI1SK": created,
        "GSI2PK": keys.campaign_orders_pk(campaign_id, order.id),
        "GSI2SK": created,
        "GSI3PK": keys.status_orders_pk("placed", order.id),
        "GSI3SK": created,
        "GSI4PK": keys.all_orders_pk(order.id),
        "GSI4SK": created,
    }
    assert raw["kind"]["S"] == "order" and raw["version"]["N"] == "1"


def test_serialized_items_carry_the_keys_from_the_keys_module(campaign_id):
    record = shop.place(ALICE, campaign_id, ("MUG-1", 1), ("CAP-1", 1))
    order, at = record.order, record.updated_at
    order_write, *delivery_writes = repo.order_writes(order, version=1, now=at)
    assert order_write.item.serialize()["PK"] == {"S": keys.order_pk(order.id)}
    for write, supplier_id in zip(delivery_writes, ["acme", "bolt"], strict=True):
        data = write.item.serialize()
        assert (data["PK"]["S"], data["SK"]["S"]) == keys.delivery(order.id, supplier_id)
        assert data["GSI1PK"]["S"] == keys.supplier_deliveries_pk(supplier_id, order.id)
        assert data["GSI1SK"]["S"] == keys.created_sk(order.created_at, order.id)
    placed = record.events[0]
    event = repo.event_write(keys.order_pk(order.id), placed).item.serialize()
    assert (event["PK"]["S"], event["SK"]["S"]) == (keys.order_pk(order.id), keys.event_sk(placed.at, placed.id))
    assert event["kind"] == {"S": "event"}

    view = catalogue.get_campaign(BUYER, campaign_id)
    item = repo.campaign_item(view.campaign, created_at=view.created_at, buyer_email=None, version=view.version)
    data = item.serialize()
    assert (data["PK"]["S"], data["SK"]["S"]) == keys.campaign(campaign_id)
    assert (data["GSI1PK"]["S"], data["GSI1SK"]["S"]) == keys.campaigns_by_status("live", view.campaign.ends_at, campaign_id)
    product = repo.product_item(campaign_id, shop.PRODUCTS[0]).serialize()
    assert (product["PK"]["S"], product["SK"]["S"]) == keys.product(campaign_id, "MUG-1")


def test_items_read_back_as_their_own_kind(campaign_id):
    kinds = {type(i) for i in partition(keys.campaign_pk(campaign_id))}
    assert kinds == {CampaignItem, ProductItem, AuditEventItem}
    assert isinstance(repo.get(keys.supplier("acme"), SupplierItem), SupplierItem)
    assert repo.get(keys.supplier("acme"), CampaignItem) is None  # wrong kind reads as absent
    assert repo.get(keys.supplier("nobody"), SupplierItem) is None


def test_a_consumer_claims_an_event_once_and_can_forget_it(aws):
    at = datetime.now(UTC)

    def claim(key: str) -> str:
        return repo.claim_event("notifications", key, at, lease_seconds=60, ttl_seconds=3600)

    assert claim("evt-1#a@example.com") == "claimed"
    assert claim("evt-1#a@example.com") == repo.IN_PROGRESS
    repo.complete_event("notifications", "evt-1#a@example.com", at)
    assert claim("evt-1#a@example.com") == repo.COMPLETED
    assert claim("evt-1#b@example.com") == "claimed"
    repo.release_event("notifications", "evt-1#a@example.com")
    assert claim("evt-1#a@example.com") == "claimed"
    raw = boto3.client("dynamodb").get_item(
        TableName=TOPOLOGY.table.name,
        Key={"PK": {"S": keys.processed("notifications", "evt-1#b@example.com")[0]}, "SK": {"S": keys.META}},
    )["Item"]
    assert int(raw[TOPOLOGY.table.ttl_attribute]["N"]) > at.timestamp()


def _cancelled(code: str) -> Exception:
    """What PynamoDB raises when DynamoDB cancels a transaction for `code` on its one item."""
    from pynamodb.exceptions import CancellationReason, TransactWriteError, VerboseClientError

    error = VerboseClientError(
        {"Error": {"Code": "TransactionCanceledException", "Message": f"cancelled [{code}]"}},
        "TransactWriteItems",
        cancellation_reasons=[CancellationReason(code=code)],
    )
    return TransactWriteError("Failed to write transaction items", error)


def _order_item(campaign_id: str) -> OrderItem:
    record = shop.place(ALICE, campaign_id, ("MUG-1", 1))
    item = repo.get(keys.order(record.order.id), OrderItem)
    assert item is not None
    return item


@pytest.mark.parametrize(
    "conflicts, commits", [(1, True), (repo.TRANSACTION_CONFLICT_RETRIES, True), (repo.TRANSACTION_CONFLICT_RETRIES + 1, False)]
)
def test_a_transaction_cancelled_by_another_in_flight_is_sent_again_a_few_times(campaign_id, monkeypatch, conflicts, commits):
    from pynamodb.transactions import TransactWrite

    item = _order_item(campaign_id)
    real, calls = TransactWrite._commit, []

    def busy_then_real(tx):  # another transaction holds an item for the first `conflicts` tries
        calls.append(1)
        if len(calls) <= conflicts:
            raise _cancelled("TransactionConflict")
        return real(tx)

    monkeypatch.setattr(TransactWrite, "_commit", busy_then_real)
    monkeypatch.setattr(repo.time, "sleep", lambda s: None)
    version = int(item.version)
    item.customer_email = "new@example.com"
    if commits:
        repo.commit([repo.Write(item)], what="order")
        fresh = repo.get(keys.order(item.id), OrderItem)
        assert fresh is not None and fresh.customer_email == "new@example.com" and int(fresh.version) == version + 1
    else:
        with pytest.raises(Conflict):
            repo.commit([repo.Write(item)], what="order")
    assert len(calls) == min(conflicts + 1, repo.TRANSACTION_CONFLICT_RETRIES + 1)


def test_a_failed_condition_is_a_conflict_at_once_never_retried(campaign_id, monkeypatch):
    from pynamodb.transactions import TransactWrite

    item = _order_item(campaign_id)
    calls = []

    def refused(tx):
        calls.append(1)
        raise _cancelled("ConditionalCheckFailed")

    monkeypatch.setattr(TransactWrite, "_commit", refused)
    with pytest.raises(Conflict):
        repo.commit([repo.Write(item)], what="order")
    assert calls == [1]
