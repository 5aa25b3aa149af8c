"""Placing and changing orders through the services, against DynamoDB (moto): the request counts and what
the items look like. The service rules run on the in-memory store in tests/services/test_orders.py."""

from __future__ import annotations

import pytest

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.metering import metered
from chalicelib.adapters.dynamodb.models import Item, OrderItem, PaymentTxnItem
from chalicelib.domain.errors import InvalidTransition
from chalicelib.domain.orders import OrderAction, PaymentMode, RequestedLine
from chalicelib.services import orders
from tests.adapters import shop
from tests.adapters.shop import ALICE, CARE


def order_items() -> list[OrderItem]:
    return [i for i in Item.scan() if isinstance(i, OrderItem)]


def test_retrying_with_the_same_idempotency_key_returns_the_same_order(campaign_id):
    first, created = orders.place_order(
        ALICE,
        campaign_id=campaign_id,
        lines=[RequestedLine("MUG-1", 2)],
        payment_mode=PaymentMode.PREPAID,
        idempotency_key="retry-1",
        shipping_address=shop.HOME,
    )
    assert created is True
    with metered() as m:
        again, created_again = orders.place_order(
            ALICE,
            campaign_id=campaign_id,
            lines=[RequestedLine("MUG-1", 2)],
            payment_mode=PaymentMode.PREPAID,
            idempotency_key="retry-1",
            shipping_address=shop.HOME,
        )
    assert created_again is False
    assert again.order.id == first.order.id and again.order.total_cents == 2400
    assert "TransactWriteItems" not in m.requests
    assert [i.id for i in order_items()] == [first.order.id]


def test_a_refused_transition_writes_nothing(campaign_id):
    record = shop.place(ALICE, campaign_id, ("MUG-1", 1))
    with metered() as m, pytest.raises(InvalidTransition):
        orders.change_order(CARE, record.order.id, OrderAction.APPROVE)
    assert m.requests == {"Query": 1}
    assert len(orders.get_order_for_customer(ALICE, record.order.id).events) == 1


def test_cancelling_keeps_every_index_in_step_with_the_order(campaign_id):
    record = shop.place(ALICE, campaign_id, ("MUG-1", 1), ("CAP-1", 1))
    orders.change_order(ALICE, record.order.id, OrderAction.CANCEL, customer_note="changed my mind")
    partition = list(Item.query(keys.order_pk(record.order.id)))
    statuses = [
        (type(i).__name__, getattr(i, "status", None) or getattr(i, "order_status", None))
        for i in partition
        if not i.SK.startswith(keys.EVENT_PREFIX) and not isinstance(i, PaymentTxnItem)
    ]
    assert sorted(statuses) == [("DeliveryIndexItem", "cancelled")] * 2 + [("OrderItem", "cancelled")]
    # paid in advance: the payment at checkout, and the refund of it, due in the same transaction
    money = sorted((i.payment_kind, i.status) for i in partition if isinstance(i, PaymentTxnItem))
    assert money == [("payment", "succeeded"), ("refund", "pending")]
    (meta,) = [i for i in partition if isinstance(i, OrderItem)]
    assert keys.status_orders_pk("cancelled", record.order.id) == meta.GSI3PK
