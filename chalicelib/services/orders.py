"""Use cases for orders: placing, reading, searching and the staff actions on them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from pynamodb.expressions.condition import Condition

from .. import observability
from ..adapters.dynamodb import keys
from ..adapters.dynamodb import repository as repo
from ..adapters.dynamodb.models import (
    AddressItem,
    AuditEventItem,
    CampaignItem,
    CancellationRequestItem,
    CustomerItem,
    DeliveryIndexItem,
    IdempotencyItem,
    Item,
    OrderItem,
    OrderShipmentItem,
    PaymentTxnItem,
    ProductItem,
    ShipmentItem,
)
from ..config import settings
from ..domain import addresses as address_rules
from ..domain import metrics
from ..domain import orders as domain
from ..domain.addresses import Address
from ..domain.audit import AuditEvent, event_type
from ..domain.errors import Conflict, InvalidTransition, NotFound, RuleViolation
from ..domain.orders import Order, OrderAction, OrderPolicy, OrderStatus, PaymentMode, RequestedLine
from ..domain.payments import amount as money_text
from ..domain.payments import back_by_transfer
from ..domain.permissions import READ_STAFF, SYSTEM, Principal, Role
from . import customer_payments, exceptions, holds
from .clock import new_id, now
from .guard import require
from .retry import on_conflict

CUSTOMERS = frozenset({Role.CUSTOMER})


@dataclass
class OrderRecord:
    order: Order
    version: int
    updated_at: datetime
    events: list[AuditEvent] = field(default_factory=list)
    shipments: list[OrderShipmentItem] = field(default_factory=list)  # the customer's copies, oldest first
    payments: list[PaymentTxnItem] = field(default_factory=list)  # payment history, oldest first
    # cancellation requests after the close (services/cancellations.py), oldest first
    cancellation_requests: list[CancellationRequestItem] = field(default_factory=list)


@dataclass
class OrderSummary:
    id: str
    campaign_id: str
    customer_id: str
    customer_email: str | None
    status: str
    total_cents: int
    currency: str
    created_at: datetime
    supplier_ids: list[str]


def _policy() -> OrderPolicy:
    s = settings()
    return OrderPolicy(
        hold_threshold_cents=s.hold_threshold_cents, max_line_quantity=s.max_line_quantity, max_lines=s.max_order_lines
    )


def _refs(order: Order) -> dict[str, Any]:
    """What consumers of order events need without reading the order again."""
    return {
        "order_id": order.id,
        "campaign_id": order.campaign_id,
        "customer_id": order.customer_id,
        "customer_email": order.customer_email,
        "supplier_ids": order.supplier_ids,
        "total_cents": order.total_cents,
        "currency": order.currency,
        "status": order.status.value,
    }


def _request_hash(
    campaign_id: str, lines: list[RequestedLine], payment_mode: PaymentMode, ship_to: Address | None, address_id: str | None
) -> str:
    where = ["address", ship_to.as_dict()] if ship_to is not None else ["book", address_id]
    body = json.dumps([campaign_id, [(l.sku, l.quantity) for l in lines], payment_mode.value, where])
    return hashlib.sha256(body.encode()).hexdigest()


def _ship_to(shipping_address: Address | Mapping[str, Any] | None, address_id: str | None) -> Address | None:
    """The address given inline (validated), None when the order names a book entry; exactly one is needed."""
    if shipping_address is None and address_id is None:
        raise address_rules.shipping_address_required()
    if shipping_address is not None and address_id is not None:
        raise address_rules.one_address_only()
    if shipping_address is None:
        return None
    fields = shipping_address.as_dict() if isinstance(shipping_address, Address) else shipping_address
    return address_rules.parse_address(fields, where="body.shipping_address")


def place_order(
    actor: Principal,
    *,
    campaign_id: str,
    lines: list[RequestedLine],
    payment_mode: PaymentMode,
    idempotency_key: str | None = None,
    shipping_address: Address | Mapping[str, Any] | None = None,
    address_id: str | None = None,
) -> tuple[OrderRecord, bool]:
    """Place an order: one BatchGetItem (campaign, products, profile, idempotency, the address-book
    entry it names) + one transaction. The order ships to `shipping_address` or to the caller's saved
    address `address_id` (exactly one), of which it keeps a snapshot.

    Returns the order and whether it was created now (False: an earlier request with the
    same idempotency key already created it)."""
    require(actor, CUSTOMERS, "place orders")
    ship_to = _ship_to(shipping_address, address_id)
    scope = f"orders#{actor.sub}"
    wanted = [keys.campaign(campaign_id), keys.customer(actor.sub)]
    wanted += [keys.product(campaign_id, sku) for sku in dict.fromkeys(l.sku for l in lines)][:95]
    if idempotency_key:
        wanted.append(keys.idempotency(scope, idempotency_key))
    if address_id is not None:
        wanted.append(keys.customer_address(actor.sub, address_id))  # the caller's own book only
    found = repo.batch_get(wanted)
    request_hash = _request_hash(campaign_id, lines, payment_mode, ship_to, address_id)
    previous = next((i for i in found if isinstance(i, IdempotencyItem)), None)
    if previous is not None:
        if previous.request_hash != request_hash:
            raise RuleViolation("idempotency_key_reused", "this Idempotency-Key was already used for a different order request")
        return get_order_for_customer(actor, previous.result_id), False

    campaign_item = next((i for i in found if isinstance(i, CampaignItem)), None)
    if campaign_item is None:
        raise RuleViolation(
            "unknown_campaign",
            f"campaign {campaign_id} does not exist",
            details=[{"field": "campaign_id", "message": "no such campaign"}],
        )
    if ship_to is None:
        saved = next((i for i in found if isinstance(i, AddressItem)), None)
        if saved is None:
            raise RuleViolation(
                "unknown_address",
                f"there is no address {address_id} in your address book",
                details=[{"field": "body.address_id", "message": "not in your address book"}],
            )
        ship_to = repo.address_from_map(saved.address)
    profile = next((i for i in found if isinstance(i, CustomerItem)), None)
    products = {p.sku: repo.product_from_item(p) for p in found if isinstance(p, ProductItem)}
    at = now()
    campaign = repo.campaign_from_item(campaign_item)
    order = domain.place_order(
        order_id=new_id("ord"),
        campaign=campaign,
        products=products,
        requested=lines,
        customer_id=actor.sub,
        customer_email=actor.email,
        customer_flagged=bool(profile and profile.flagged),
        payment_mode=payment_mode,
        policy=_policy(),
        now=at,
        shipping_address=ship_to,
    )
    event = AuditEvent(
        id=new_id("evt"),
        subject_type="order",
        subject_id=order.id,
        type=event_type("order", "place"),
        actor=actor,
        at=at,
        to_status=order.status.value,
        data={**_refs(order), "hold_reasons": order.hold_reasons},
    )
    writes: list[repo.Write | repo.Update] = [
        *repo.order_writes(order, version=None, now=at),
        *repo.order_status_counts(order.id, None, order.status.value),
        repo.event_write(keys.order_pk(order.id), event),
    ]
    if idempotency_key:
        writes.append(repo.idempotency_write(scope, idempotency_key, request_hash, order.id, at))
    writes.append(
        repo.campaign_summary_update(
            order.campaign_id,
            order.id,
            {**metrics.order_placed(order.total_cents), **customer_payments.received_at_checkout(order)},
        )
    )
    paid = customer_payments.checkout_writes(order, actor, at)
    writes += paid + customer_payments.offline_deadline_writes(order, at)
    if order.status is OrderStatus.ON_HOLD:
        writes += holds.raise_writes(order, campaign, at)  # care hears at once; nothing can lose it
    repo.commit(writes, what=f"order {order.id}")
    observability.order_placed()
    return OrderRecord(order, 1, at, [event], payments=customer_payments.payment_items(paid)), True


def _load(order_id: str) -> OrderRecord:
    """The order with its audit trail: one query on the order's partition."""
    items = repo.query_all(keys.order_pk(order_id))
    meta = next((i for i in items if isinstance(i, OrderItem)), None)
    if meta is None:
        raise NotFound(f"order {order_id} not found")
    events = [repo.event_from_item(i) for i in items if isinstance(i, AuditEventItem)]
    shipments = sorted((i for i in items if isinstance(i, OrderShipmentItem)), key=lambda i: i.created_at)
    payments = sorted((i for i in items if isinstance(i, PaymentTxnItem)), key=lambda i: i.created_at)
    requests = sorted((i for i in items if isinstance(i, CancellationRequestItem)), key=lambda i: i.requested_at)
    return OrderRecord(repo.order_from_item(meta), int(meta.version), meta.updated_at, events, shipments, payments, requests)


def _load_meta(order_id: str) -> OrderRecord:
    item = repo.get(keys.order(order_id), OrderItem)
    if item is None:
        raise NotFound(f"order {order_id} not found")
    return OrderRecord(repo.order_from_item(item), int(item.version), item.updated_at)


def get_order_for_customer(actor: Principal, order_id: str) -> OrderRecord:
    require(actor, CUSTOMERS, "read customer orders")
    record = _load(order_id)
    if record.order.customer_id != actor.sub:
        raise NotFound(f"order {order_id} not found")  # never confirm another customer's order exists
    return record


def get_order_for_staff(actor: Principal, order_id: str) -> OrderRecord:
    require(actor, READ_STAFF, "read orders")
    return _load(order_id)


def _summary(item: Item) -> OrderSummary:
    if isinstance(item, OrderItem):
        return OrderSummary(
            item.id,
            item.campaign_id,
            item.customer_id,
            item.customer_email,
            item.status,
            int(item.total_cents),
            item.currency,
            item.created_at,
            [str(s) for s in item.supplier_ids],
        )
    assert isinstance(item, DeliveryIndexItem)
    return OrderSummary(
        item.order_id,
        item.campaign_id,
        item.customer_id,
        item.customer_email,
        item.order_status,
        int(item.total_cents),
        item.currency,
        item.created_at,
        [str(s) for s in item.supplier_ids] or [item.supplier_id],
    )


def list_my_orders(actor: Principal, *, limit: int, cursor: str | None) -> tuple[list[OrderSummary], str | None]:
    require(actor, CUSTOMERS, "list customer orders")
    page = repo.query_page(Item.gsi1, keys.customer_orders_pk(actor.sub), limit=limit, cursor=cursor)
    return [_summary(i) for i in page.items], page.cursor


@dataclass(frozen=True)
class OrderFilters:
    status: OrderStatus | None = None
    campaign_id: str | None = None
    supplier_id: str | None = None
    customer_id: str | None = None
    customer_email: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


def _and(conditions: list[Condition]) -> Condition | None:
    result: Condition | None = None
    for c in conditions:
        result = c if result is None else result & c
    return result


def search_orders(
    actor: Principal, filters: OrderFilters, *, limit: int, cursor: str | None
) -> tuple[list[OrderSummary], str | None]:
    """One query per page: the most selective filter picks the index, the rest filter within it."""
    require(actor, READ_STAFF, "search orders")
    f = filters
    if f.created_from and f.created_to and f.created_from > f.created_to:
        raise RuleViolation("invalid_range", "created_from must not be after created_to")
    status_attr = OrderItem.status
    extra: list[Condition] = []
    if f.customer_id:
        source, hash_key, sk = Item.gsi1, keys.customer_orders_pk(f.customer_id), Item.GSI1SK
    elif f.customer_email:
        source, hash_key, sk = Item.gsi2, keys.customer_email_orders_pk(f.customer_email), Item.GSI2SK
        status_attr = DeliveryIndexItem.order_status
    elif f.campaign_id:
        source, hash_key, sk = Item.gsi2, keys.campaign_orders_pk(f.campaign_id), Item.GSI2SK
    elif f.supplier_id:
        source, hash_key, sk = Item.gsi1, keys.supplier_deliveries_pk(f.supplier_id), Item.GSI1SK
        status_attr = DeliveryIndexItem.order_status
    elif f.status:
        source, hash_key, sk = Item.gsi3, keys.status_orders_pk(f.status.value), Item.GSI3SK
    else:
        source, hash_key, sk = Item.gsi4, keys.ALL_ORDERS_PK, Item.GSI4SK
    if f.status and source is not Item.gsi3:
        extra.append(status_attr == f.status.value)
    if f.campaign_id and hash_key != keys.campaign_orders_pk(f.campaign_id):
        extra.append(OrderItem.campaign_id == f.campaign_id)
    if f.customer_email and f.customer_id:
        extra.append(OrderItem.customer_email == f.customer_email)
    if f.supplier_id and hash_key != keys.supplier_deliveries_pk(f.supplier_id):
        extra.append(OrderItem.supplier_ids.contains(f.supplier_id))
    lo = keys.ts(f.created_from) if f.created_from else None
    hi = keys.ts(f.created_to) + "#~" if f.created_to else None
    range_condition: Condition | None = None
    if lo and hi:
        range_condition = sk.between(lo, hi)
    elif lo:
        range_condition = sk >= lo
    elif hi:
        range_condition = sk <= hi
    page = repo.query_page(
        source, hash_key, range_key_condition=range_condition, filter_condition=_and(extra), limit=limit, cursor=cursor
    )
    return [_summary(i) for i in page.items], page.cursor


ORDER_ID_PREFIX = "ord_"


def find_orders(
    actor: Principal, text: str, filters: OrderFilters, *, limit: int, cursor: str | None
) -> tuple[list[OrderSummary], str | None]:
    """Staff's search box: `text` is an order id, a customer's e-mail or a tracking number.

    An e-mail searches that customer's orders with the other filters (one query per page); an
    order id is one GetItem, a tracking number one Query on the tracking index plus one
    BatchGetItem of the parcel's orders, with the other filters applied to that handful."""
    require(actor, READ_STAFF, "search orders")
    text = text.strip()
    if "@" in text:
        return search_orders(actor, replace(filters, customer_email=text), limit=limit, cursor=cursor)
    if text.startswith(ORDER_ID_PREFIX):
        item = repo.get(keys.order(text), OrderItem)
        found = [item] if item is not None else []
    else:
        order_ids = sorted(
            {str(o) for s in Item.gsi1.query(keys.tracking_index_pk(text)) if isinstance(s, ShipmentItem) for o in s.order_ids}
        )
        found = [i for i in repo.batch_get(keys.order(o) for o in order_ids) if isinstance(i, OrderItem)]
    summaries = [_summary(i) for i in sorted(found, key=lambda i: i.created_at, reverse=True)]
    return [s for s in summaries if _matches(s, filters)][:limit], None


def _matches(s: OrderSummary, f: OrderFilters) -> bool:
    return (
        (f.status is None or s.status == f.status.value)
        and (f.campaign_id is None or s.campaign_id == f.campaign_id)
        and (f.supplier_id is None or f.supplier_id in s.supplier_ids)
        and (f.customer_id is None or s.customer_id == f.customer_id)
        and (f.customer_email is None or (s.customer_email or "").lower() == f.customer_email.strip().lower())
        and (f.created_from is None or s.created_at >= f.created_from)
        and (f.created_to is None or s.created_at <= f.created_to)
    )


def change_order(
    actor: Principal,
    order_id: str,
    action: OrderAction,
    *,
    internal_note: str | None = None,
    customer_note: str | None = None,
    expected_version: int | None = None,
) -> OrderRecord:
    """Approve, reject or cancel: one Query (the order with its trail, which the caller shows
    next), then one transaction (order, delivery index items, event)."""
    record = _load(order_id)
    order = record.order
    if actor.roles == CUSTOMERS and order.customer_id != actor.sub:
        raise NotFound(f"order {order_id} not found")
    if expected_version is not None and expected_version != record.version:
        raise Conflict(f"order {order_id} is at version {record.version}, not {expected_version}")
    transition = domain.apply_order_action(order, action, actor)
    at = now()
    withdrawn = metrics.order_changed(transition.from_status, transition.to_status, order.total_cents)
    refund = (
        customer_payments.refund_everything_writes(order, record.payments, transition.to_status, actor, at) if withdrawn else []
    )
    if refund:  # the customer's timeline and e-mail say what happens to the money paid in advance
        told = (
            customer_payments.TRANSFER_ON_WITHDRAWAL
            if back_by_transfer(order.payment_mode)
            else customer_payments.REFUND_ON_WITHDRAWAL
        )
        customer_note = " ".join(
            filter(None, [customer_note, told.format(amount=money_text(customer_payments.refund_amount(refund), order.currency))])
        )
    event = AuditEvent(
        id=new_id("evt"),
        subject_type="order",
        subject_id=order.id,
        type=event_type("order", action.value),
        actor=actor,
        at=at,
        from_status=transition.from_status,
        to_status=transition.to_status,
        internal_note=internal_note,
        customer_note=customer_note,
        data=_refs(order),
    )
    writes: list[repo.Write | repo.Update | repo.Delete] = [
        *repo.order_writes(order, version=record.version, now=at),
        *repo.order_status_counts(order.id, transition.from_status, transition.to_status),
        repo.event_write(keys.order_pk(order.id), event),
    ]
    if withdrawn:
        writes.append(repo.campaign_summary_update(order.campaign_id, order.id, withdrawn))
    writes += refund
    if transition.to_status == OrderStatus.AWAITING_PAYMENT.value:  # released from its hold, now unpaid
        writes += customer_payments.offline_deadline_writes(order, at)
    unpaid_gone = transition.from_status == OrderStatus.AWAITING_PAYMENT.value
    if unpaid_gone:  # withdrawn before its payment came: nothing is overdue any more
        writes.append(customer_payments.offline_deadline_delete(order.id))
    repo.commit(writes, what=f"order {order_id}")
    customer_payments.flag_transfers(order, refund)
    if unpaid_gone:
        exceptions.resolve(customer_payments.OFFLINE_DUE_KIND, "order", order.id, note=f"order {transition.to_status}")
    return OrderRecord(
        order,
        record.version + 1,
        at,
        [*record.events, event],
        payments=[*record.payments, *customer_payments.payment_items(refund)],
        cancellation_requests=record.cancellation_requests,
    )


def add_note(actor: Principal, order_id: str, *, internal_note: str | None, customer_note: str | None) -> AuditEvent:
    """A note changes no status: one GetItem for the checks, one put of the event."""
    if not (internal_note or customer_note):
        raise RuleViolation("empty_note", "give an internal note, a customer-facing note, or both")
    record = _load_meta(order_id)
    domain.check_order_action(record.order, OrderAction.ADD_NOTE, actor)
    at = now()
    event = AuditEvent(
        id=new_id("evt"),
        subject_type="order",
        subject_id=order_id,
        type=event_type("order", OrderAction.ADD_NOTE.value),
        actor=actor,
        at=at,
        from_status=record.order.status.value,
        to_status=record.order.status.value,
        internal_note=internal_note,
        customer_note=customer_note,
        data=_refs(record.order),
    )
    repo.commit([repo.event_write(keys.order_pk(order_id), event)], what=f"order {order_id}")
    return event


CAMPAIGN_CANCELLED_NOTE = "The campaign was cancelled, so your order is cancelled. You will not be charged."


def cancel_orders_of_campaign(campaign_id: str, *, page_size: int = 100, retries: int = 3) -> int:
    """After a campaign is cancelled: cancel each of its orders that is still cancellable.

    Pages through the campaign's orders (bounded memory); safe to run again after a
    redelivery, since orders already cancelled are filtered out or refuse the transition."""
    cancellable = [s.value for s in domain.CANCELLABLE]
    cursor: str | None = None
    cancelled = 0
    while True:
        page = repo.query_page(
            Item.gsi2,
            keys.campaign_orders_pk(campaign_id),
            filter_condition=OrderItem.status.is_in(*cancellable),
            limit=page_size,
            cursor=cursor,
            newest_first=False,
        )
        for item in page.items:
            if isinstance(item, OrderItem) and _cancel_for_campaign(item.id, retries):
                cancelled += 1
        if page.cursor is None:
            return cancelled
        cursor = page.cursor


def _cancel_for_campaign(order_id: str, retries: int) -> bool:
    def cancel() -> bool:
        try:
            change_order(
                SYSTEM,
                order_id,
                OrderAction.CANCEL,
                customer_note=CAMPAIGN_CANCELLED_NOTE,
                internal_note="cancelled with its campaign",
            )
            return True
        except InvalidTransition:
            return False  # it moved on meanwhile (already cancelled or rejected)

    # A Conflict: a concurrent change, read it again.
    return on_conflict(
        cancel, retries=retries, gave_up=f"order {order_id} kept changing; the campaign's cancellation will be retried"
    )
