"""Use cases for orders: placing, reading, searching and the staff actions on them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from .. import observability
from ..config import settings
from ..domain import addresses as address_rules
from ..domain import metrics
from ..domain import orders as domain
from ..domain.addresses import Address
from ..domain.audit import AuditEvent, event_type
from ..domain.errors import AlreadyExists, Conflict, InvalidTransition, NotFound, RuleViolation
from ..domain.orders import Order, OrderAction, OrderPolicy, OrderStatus, PaymentMode, RequestedLine
from ..domain.payments import amount as money_text
from ..domain.payments import back_by_transfer
from ..domain.permissions import PLACE_ORDERS, READ_STAFF, SYSTEM, Principal, Role
from . import customer_payments, exceptions, holds, sales, uow
from .clock import new_id, now
from .conflicts import stale_subject
from .guard import require
from .ports import Change, CountCampaign, Record, Save
from .ports_money import Payment
from .ports_orders import OrderFilters as OrderFilters  # (callers name them services.orders.*)
from .ports_orders import OrderSummary as OrderSummary
from .ports_orders import OrderTrail, Placement, RequestRead, ShipmentCopy
from .retry import on_conflict

CUSTOMERS = frozenset({Role.CUSTOMER})
STOREFRONTS = frozenset({Role.STOREFRONT})


@dataclass
class OrderRecord:
    order: Order
    version: int
    updated_at: datetime
    events: list[AuditEvent] = field(default_factory=list)
    shipments: list[ShipmentCopy] = field(default_factory=list)  # the customer's copies, oldest first
    # payment history, oldest first (`ports_money.Payment`: the money area's records)
    payments: list[Payment] = field(default_factory=list)
    # cancellation requests after the close (services/cancellations.py), oldest first
    cancellation_requests: list[RequestRead] = field(default_factory=list)


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
    locale: str | None = None,
) -> tuple[OrderRecord, bool]:
    """Place an order: one BatchGetItem (campaign, products, profile, idempotency, the address-book
    entry it names) + one transaction. The order ships to `shipping_address` or to the caller's saved
    address `address_id` (exactly one), of which it keeps a snapshot.

    A storefront places it for the customer it names (`actor.on_behalf_of`, with the e-mail it gives
    as `actor.email`); the audit records the storefront as the actor, and only it reads the order back.

    Returns the order and whether it was created now (False: an earlier request with the
    same idempotency key already created it). `locale`: the language the customer's e-mails speak
    from now on (the notifications consumer keeps it with their address)."""
    require(actor, PLACE_ORDERS, "place orders")
    storefront = Role.STOREFRONT in actor.roles
    if storefront and address_id is not None:
        raise RuleViolation("address_book_private", "a storefront gives the shipping address; a customer's book is theirs")
    ship_to = _ship_to(shipping_address, address_id)
    customer_id = actor.customer_id
    # a storefront's keys are its own, per customer: one key reused for two customers is two orders
    scope = f"orders#{actor.sub}#{customer_id}" if storefront else f"orders#{actor.sub}"
    context = uow.store().placement_context(
        campaign_id,
        customer_id,
        [l.sku for l in lines],
        placement=(scope, idempotency_key) if idempotency_key else None,
        address_id=address_id,  # the caller's own book only
    )
    request_hash = _request_hash(campaign_id, lines, payment_mode, ship_to, address_id)
    previous = context.placement
    if previous is not None:
        if previous.request_hash != request_hash:
            raise RuleViolation("idempotency_key_reused", "this Idempotency-Key was already used for a different order request")
        return (get_order_for_storefront if storefront else get_order_for_customer)(actor, previous.order_id), False

    campaign = context.campaign
    if campaign is None:
        raise RuleViolation(
            "unknown_campaign",
            f"campaign {campaign_id} does not exist",
            details=[{"field": "campaign_id", "message": "no such campaign"}],
        )
    if ship_to is None:
        if context.address is None:
            raise RuleViolation(
                "unknown_address",
                f"there is no address {address_id} in your address book",
                details=[{"field": "body.address_id", "message": "not in your address book"}],
            )
        ship_to = context.address
    at = now()
    order = domain.place_order(
        order_id=new_id("ord"),
        campaign=campaign,
        products=context.products,
        requested=lines,
        customer_id=customer_id,
        customer_email=actor.email,
        customer_flagged=context.customer_flagged,
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
        data={**_refs(order), "hold_reasons": order.hold_reasons, **({"customer_locale": locale} if locale else {})},
    )
    changes: list[Change] = [Save(order, None), Record(event)]
    if idempotency_key:
        changes.append(Save(Placement(scope, idempotency_key, request_hash, order.id, at), None))
    changes.append(
        CountCampaign(
            order.campaign_id,
            order.id,
            {**metrics.order_placed(order.total_cents), **customer_payments.received_at_checkout(order)},
        )
    )
    changes.append(sales.placed(order))  # one more update whatever the lines: see adapters/dynamodb/store_sales.py
    paid = customer_payments.checkout_changes(order, actor, at)
    changes += paid
    changes += customer_payments.offline_deadline_changes(order, at)
    if order.status is OrderStatus.ON_HOLD:
        changes += holds.raise_changes(order, campaign, at)  # care hears at once; nothing can lose it
    try:
        uow.store().commit(changes, what=f"order {order.id}", at=at)
    except AlreadyExists as exc:  # the same key placed at the same moment: a lost race, as it always answered
        raise Conflict(f"order {order.id} was changed by someone else; reload and try again") from exc
    observability.order_placed()
    return OrderRecord(order, 1, at, [event], payments=customer_payments.payments_in(paid)), True


def _record(trail: OrderTrail) -> OrderRecord:
    return OrderRecord(
        trail.order,
        trail.version,
        trail.updated_at,
        trail.events,
        trail.shipments,
        [p.value for p in trail.payments],
        trail.cancellation_requests,
    )


def _load(order_id: str) -> OrderRecord:
    """The order with its audit trail: one read (a Query of the order's partition)."""
    trail = uow.store().order_trail(order_id)
    if trail is None:
        raise NotFound(f"order {order_id} not found")
    return _record(trail)


def _load_meta(order_id: str) -> Order:
    found = uow.store().load(Order, order_id)
    if found is None:
        raise NotFound(f"order {order_id} not found")
    return found.value


def get_order_for_customer(actor: Principal, order_id: str) -> OrderRecord:
    require(actor, CUSTOMERS, "read customer orders")
    record = _load(order_id)
    if record.order.customer_id != actor.sub:
        raise NotFound(f"order {order_id} not found")  # never confirm another customer's order exists
    return record


def get_order_for_storefront(actor: Principal, order_id: str) -> OrderRecord:
    """An order this storefront placed (its placing event names the storefront's client as the actor);
    any other order, a customer's own or another storefront's, does not exist for it."""
    require(actor, STOREFRONTS, "read the orders a storefront placed")
    record = _load(order_id)
    placed = next((e for e in record.events if e.type == event_type("order", "place")), None)
    if placed is None or Role.STOREFRONT not in placed.actor.roles or placed.actor.sub != actor.sub:
        raise NotFound(f"order {order_id} not found")
    return record


def get_order_for_staff(actor: Principal, order_id: str) -> OrderRecord:
    require(actor, READ_STAFF, "read orders")
    return _load(order_id)


def list_my_orders(actor: Principal, *, limit: int, cursor: str | None) -> tuple[list[OrderSummary], str | None]:
    require(actor, CUSTOMERS, "list customer orders")
    page = uow.store().search_orders(OrderFilters(customer_id=actor.sub), limit=limit, cursor=cursor)
    return page.items, page.cursor


def search_orders(
    actor: Principal, filters: OrderFilters, *, limit: int, cursor: str | None
) -> tuple[list[OrderSummary], str | None]:
    """One query per page: the most selective filter picks the index, the rest filter within it."""
    require(actor, READ_STAFF, "search orders")
    f = filters
    if f.created_from and f.created_to and f.created_from > f.created_to:
        raise RuleViolation("invalid_range", "created_from must not be after created_to")
    page = uow.store().search_orders(f, limit=limit, cursor=cursor)
    return page.items, page.cursor


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
        one = uow.store().load(Order, text)
        found = [one.value] if one is not None else []
    else:
        found = uow.store().orders_shipped_as(text)
    summaries = [OrderSummary.of(o) for o in sorted(found, key=lambda o: o.created_at, reverse=True)]
    return [s for s in summaries if _matches(s, filters)][:limit], None


def _matches(s: OrderSummary, f: OrderFilters) -> bool:
    return (
        (not f.wanted_statuses or s.status in {w.value for w in f.wanted_statuses})
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
        raise stale_subject(f"order {order_id}", "order", order_id, record.version, expected_version, record.events)
    transition = domain.apply_order_action(order, action, actor)
    at = now()
    withdrawn = metrics.order_changed(transition.from_status, transition.to_status, order.total_cents)
    refund = (
        customer_payments.refund_everything_changes(order, record.payments, transition.to_status, actor, at) if withdrawn else []
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
    changes: list[Change] = [Save(order, record.version, status_before=transition.from_status), Record(event)]
    if withdrawn:
        changes += [CountCampaign(order.campaign_id, order.id, withdrawn), sales.withdrawn(order)]
    changes += refund
    if transition.to_status == OrderStatus.AWAITING_PAYMENT.value:  # released from its hold, now unpaid
        changes += customer_payments.offline_deadline_changes(order, at)
    unpaid_gone = transition.from_status == OrderStatus.AWAITING_PAYMENT.value
    if unpaid_gone:  # withdrawn before its payment came: nothing is overdue any more
        changes.append(customer_payments.offline_deadline_clear(order.id))
    uow.store().commit(changes, what=f"order {order_id}", at=at)
    customer_payments.flag_transfers(order, refund)
    if unpaid_gone:
        exceptions.resolve(customer_payments.OFFLINE_DUE_KIND, "order", order.id, note=f"order {transition.to_status}")
    return OrderRecord(
        order,
        record.version + 1,
        at,
        [*record.events, event],
        payments=[*record.payments, *customer_payments.payments_in(refund)],
        cancellation_requests=record.cancellation_requests,
    )


def add_note(actor: Principal, order_id: str, *, internal_note: str | None, customer_note: str | None) -> AuditEvent:
    """A note changes no status: one GetItem for the checks, one put of the event."""
    if not (internal_note or customer_note):
        raise RuleViolation("empty_note", "give an internal note, a customer-facing note, or both")
    order = _load_meta(order_id)
    domain.check_order_action(order, OrderAction.ADD_NOTE, actor)
    at = now()
    event = AuditEvent(
        id=new_id("evt"),
        subject_type="order",
        subject_id=order_id,
        type=event_type("order", OrderAction.ADD_NOTE.value),
        actor=actor,
        at=at,
        from_status=order.status.value,
        to_status=order.status.value,
        internal_note=internal_note,
        customer_note=customer_note,
        data=_refs(order),
    )
    uow.store().commit([Record(event)], what=f"order {order_id}", at=at)
    return event


CAMPAIGN_CANCELLED_NOTE = "The campaign was cancelled, so your order is cancelled. You will not be charged."


def cancel_orders_of_campaign(campaign_id: str, *, page_size: int = 100, retries: int = 3) -> int:
    """After a campaign is cancelled: cancel each of its orders that is still cancellable.

    Pages through the campaign's orders (bounded memory); safe to run again after a
    redelivery, since orders already cancelled are filtered out or refuse the transition."""
    cancellable = list(domain.CANCELLABLE)
    cursor: str | None = None
    cancelled = 0
    while True:
        page = uow.store().campaign_orders_in(campaign_id, cancellable, limit=page_size, cursor=cursor)
        for order in page.items:
            if _cancel_for_campaign(order.id, retries):
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
