"""The money area of `DynamoStore` (see `services.ports_money`): an order's payment is the item
`ORDER#<order>` / `PAYMENT#<id>` (`PaymentTxnItem`), in its order's partition.

The same requests the services made before: a load is one GetItem, a create one conditional put (the
key must not exist), a change one put under the item's version; an order's payments one Query of its
partition's `PAYMENT#` records; a campaign's orders supplied by one supplier a Query page of the
campaign's orders index, filtered on the supplier; the orders a close reads the same, filtered on
their status.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ...domain.orders import Order, OrderStatus
from ...services.ports_common import Page, Versioned
from ...services.ports_money import Payment, PaymentRead
from . import keys
from . import repository as repo
from .fan_in import query_shards, query_shards_in_turn
from .mapping import Mapper, Writes, register
from .models import Item, OrderItem, PaymentTxnItem


def payment_from_item(item: PaymentTxnItem) -> Payment:
    """The port's record of a payment item. Public for the orders area, whose trail read finds the
    order's payment items among the partition's."""
    return Payment(
        id=item.id,
        order_id=item.order_id,
        payment_kind=item.payment_kind,
        supplier_id=item.supplier_id,
        amount_cents=int(item.amount_cents),
        currency=item.currency,
        status=item.status,
        idempotency_key=item.idempotency_key,
        created_at=item.created_at,
        updated_at=item.updated_at,
        complaint_id=item.complaint_id,
        sku=item.sku,
        gateway_reference=item.gateway_reference,
        failure=item.failure,
        reason=item.reason,
        actor=item.actor,
        attempts=int(item.attempts or 0),
    )


def payment_item(payment: Payment, version: int | None = None) -> PaymentTxnItem:
    pk, sk = keys.order_payment(payment.order_id, payment.id)
    item = PaymentTxnItem(
        pk,
        sk,
        id=payment.id,
        order_id=payment.order_id,
        payment_kind=payment.payment_kind,
        supplier_id=payment.supplier_id,
        complaint_id=payment.complaint_id,
        sku=payment.sku,
        amount_cents=payment.amount_cents,
        currency=payment.currency,
        status=payment.status,
        idempotency_key=payment.idempotency_key,
        gateway_reference=payment.gateway_reference,
        failure=payment.failure,
        reason=payment.reason,
        actor=payment.actor,
        attempts=payment.attempts,
        created_at=payment.created_at,
        updated_at=payment.updated_at,
    )
    return repo.with_version(item, version)


def _load_payment(order_id: str, payment_id: str) -> tuple[Payment, int] | None:
    item = repo.get(keys.order_payment(order_id, payment_id), PaymentTxnItem)
    return None if item is None else (payment_from_item(item), int(item.version))


def _save_payment(payment: Payment, version: int | None, at: datetime) -> Writes:
    item = payment_item(payment, version)
    # created once (the item's version condition is PynamoDB's own); changed under its version
    return [repo.Write(item, Item.PK.does_not_exist()) if version is None else repo.Write(item)]


register(Payment, Mapper(load=_load_payment, save=_save_payment))


class MoneyDynamo:
    def payments_of(self, order_id: str) -> list[PaymentRead]:
        pk, _ = keys.order_payment(order_id, "")
        found = repo.query_all(pk, range_key_condition=Item.SK.startswith("PAYMENT#"))
        items = sorted((i for i in found if isinstance(i, PaymentTxnItem)), key=lambda i: (i.created_at, i.id))
        return [Versioned(payment_from_item(i), int(i.version)) for i in items]

    def campaign_orders_supplied_by(
        self, campaign_id: str, supplier_id: str, *, limit: int, cursor: str | None = None
    ) -> Page[Versioned[Order]]:
        page = query_shards(
            Item.gsi2,
            keys.campaign_orders_pks(campaign_id),
            filter_condition=OrderItem.supplier_ids.contains(supplier_id),
            limit=limit,
            cursor=cursor,
            newest_first=False,
        )
        orders = [Versioned(repo.order_from_item(i), int(i.version)) for i in page.items if isinstance(i, OrderItem)]
        return Page(orders, page.cursor)

    def campaign_orders_to_close(
        self, campaign_id: str, statuses: Sequence[OrderStatus], *, limit: int, cursor: str | None = None
    ) -> Page[Versioned[Order]]:
        page = query_shards_in_turn(
            Item.gsi2,
            keys.campaign_orders_pks(campaign_id),
            filter_condition=OrderItem.status.is_in(*(s.value for s in statuses)),
            limit=limit,
            cursor=cursor,
            newest_first=False,
        )
        orders = [Versioned(repo.order_from_item(i), int(i.version)) for i in page.items if isinstance(i, OrderItem)]
        return Page(orders, page.cursor)
