"""Placing and changing orders through the services, against DynamoDB (moto)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.metering import metered
from chalicelib.adapters.dynamodb.models import IdempotencyItem, Item, OrderItem, PaymentTxnItem
from chalicelib.domain.errors import Forbidden, InvalidTransition, NotFound, RuleViolation
from chalicelib.domain.orders import OrderAction, PaymentMode, RequestedLine
from chalicelib.services import catalogue, orders
from tests.adapters import shop
from tests.adapters.shop import ALICE, BOB, CARE


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


@pytest.mark.parametrize(
    "changed",
    [
        {"lines": [RequestedLine("MUG-1", 3)]},
        {"lines": [RequestedLine("CAP-1", 2)]},
        {"payment_mode": PaymentMode.OFFLINE},
        {"shipping_address": replace(shop.HOME, city="Lyon", postal_code="69001")},
    ],
)
def test_the_same_idempotency_key_with_a_different_request_is_refused(campaign_id, changed):
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
    assert len(order_items()) == 1


def test_idempotency_keys_belong_to_their_customer(campaign_id):
    mine = shop.place(ALICE, campaign_id, ("MUG-1", 1), key="shared-key")
    theirs = shop.place(BOB, campaign_id, ("MUG-1", 1), key="shared-key")
    assert mine.order.id != theirs.order.id
    assert theirs.order.customer_id == BOB.sub
    stored = [i for i in Item.scan() if isinstance(i, IdempotencyItem)]
    assert sorted(i.result_id for i in stored) == sorted([mine.order.id, theirs.order.id])


def test_orders_without_an_idempotency_key_are_each_new(campaign_id):
    a = shop.place(ALICE, campaign_id, ("MUG-1", 1))
    b = shop.place(ALICE, campaign_id, ("MUG-1", 1))
    assert a.order.id != b.order.id and len(order_items()) == 2


def test_an_order_from_a_flagged_customer_waits_for_approval(campaign_id):
    catalogue.set_customer_flag(CARE, BOB.sub, flagged=True, reason="chargebacks")
    record = shop.place(BOB, campaign_id, ("PEN-1", 1))
    assert record.order.status.value == "on_hold"
    assert record.order.hold_reasons == ["customer_flagged"]
    approved = orders.change_order(CARE, record.order.id, OrderAction.APPROVE)
    assert approved.order.status.value == "placed" and approved.version == 2


def test_an_order_for_an_unknown_campaign_is_refused(aws):
    with pytest.raises(RuleViolation) as err:
        shop.place(ALICE, "cmp_nope", ("MUG-1", 1))
    assert err.value.code == "unknown_campaign"


def test_an_order_for_a_sku_the_campaign_does_not_sell_is_refused_with_details(campaign_id):
    with pytest.raises(RuleViolation) as err:
        shop.place(ALICE, campaign_id, ("MUG-1", 1), ("HAT-9", 1))
    assert err.value.code == "invalid_order"
    assert [d["field"] for d in err.value.details] == ["lines[1].sku"]
    assert order_items() == []


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
    assert keys.status_orders_pk("cancelled") == meta.GSI3PK
