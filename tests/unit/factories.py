"""Small builders for the pure domain tests: campaigns, products, principals, orders in any status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.domain.campaigns import Campaign, CampaignStatus, Product
from chalicelib.domain.orders import (
    Delivery,
    DeliveryStatus,
    Order,
    OrderLine,
    OrderPolicy,
    OrderStatus,
    PaymentMode,
    RequestedLine,
    derive_status,
    place_order,
)
from chalicelib.domain.permissions import Principal, Role

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
POLICY = OrderPolicy(hold_threshold_cents=10_000, max_line_quantity=5, max_lines=4)

PRODUCTS = {
    p.sku: p
    for p in (
        Product("MUG-1", "Mug", "acme", unit_price_cents=1200, unit_cost_cents=500),
        Product("MUG-2", "Big mug", "acme", unit_price_cents=2500, unit_cost_cents=900),
        Product("CAP-1", "Cap", "bolt", unit_price_cents=900, unit_cost_cents=300),
        Product("PEN-1", "Pen", "cove", unit_price_cents=150, unit_cost_cents=40),
    )
}


def live_campaign(**overrides: object) -> Campaign:
    values: dict[str, object] = {
        "id": "cmp-1",
        "name": "Winter sale",
        "buyer_id": "buyer-1",
        "currency": "EUR",
        "status": CampaignStatus.LIVE,
        "starts_at": NOW - timedelta(days=1),
        "ends_at": NOW + timedelta(days=6),
        "product_count": len(PRODUCTS),
        "supplier_ids": {"acme", "bolt", "cove"},
    }
    values.update(overrides)
    return Campaign(**values)  # type: ignore[arg-type]


def who(*roles: Role, sub: str = "someone") -> Principal:
    return Principal(sub=sub, roles=frozenset(roles))


def place(
    *lines: tuple[str, int],
    campaign: Campaign | None = None,
    flagged: bool = False,
    policy: OrderPolicy = POLICY,
    now: datetime = NOW,
) -> Order:
    return place_order(
        order_id="ord-1",
        campaign=campaign or live_campaign(),
        products=PRODUCTS,
        requested=[RequestedLine(sku, qty) for sku, qty in lines],
        customer_id="cust-1",
        customer_email="cust@example.com",
        customer_flagged=flagged,
        payment_mode=PaymentMode.PREPAID,
        policy=policy,
        now=now,
    )


D = DeliveryStatus
O = OrderStatus  # noqa: E741

# Two-supplier delivery states that derive each order status (checked by a test).
DELIVERIES_FOR: dict[OrderStatus, tuple[tuple[DeliveryStatus, DeliveryStatus], bool]] = {
    O.ON_HOLD: ((D.ON_HOLD, D.ON_HOLD), False),
    O.AWAITING_PAYMENT: ((D.AWAITING_PAYMENT, D.AWAITING_PAYMENT), False),
    O.PLACED: ((D.PENDING, D.PENDING), False),
    O.REJECTED: ((D.CANCELLED, D.CANCELLED), True),
    O.CANCELLED: ((D.CANCELLED, D.CANCELLED), False),
    O.ORDERED: ((D.ORDERED, D.ACCEPTED), False),
    O.PARTIALLY_DISPATCHED: ((D.DISPATCHED, D.ACCEPTED), False),
    O.DISPATCHED: ((D.DISPATCHED, D.DISPATCHED), False),
    O.PARTIALLY_DELIVERED: ((D.DELIVERED, D.DISPATCHED), False),
    O.COMPLETED: ((D.DELIVERED, D.REJECTED), False),
    O.NOT_SUPPLIED: ((D.REJECTED, D.REJECTED), False),
    O.PARTIALLY_RETURNED: ((D.PARTIALLY_RETURNED, D.DELIVERED), False),
    O.RETURNED: ((D.RETURNED, D.REFUNDED), False),
}


def order_in(status: OrderStatus, customer_id: str = "cust-1") -> Order:
    (first, second), hold_rejected = DELIVERIES_FOR[status]
    deliveries = [Delivery("acme", first), Delivery("bolt", second)]
    order = Order(
        id="ord-1",
        campaign_id="cmp-1",
        customer_id=customer_id,
        customer_email="cust@example.com",
        currency="EUR",
        payment_mode=PaymentMode.PREPAID,
        lines=[OrderLine("MUG-1", "Mug", "acme", 1, 1200), OrderLine("CAP-1", "Cap", "bolt", 1, 900)],
        deliveries=deliveries,
        created_at=NOW,
        hold_rejected=hold_rejected,
    )
    order.status = derive_status(order.deliveries, order.hold_rejected)
    return order
