"""After a supplier acknowledges its PO: share out what it accepted, settle the money of what it
did not.

The accepted quantity per SKU goes to the campaign's orders first come, first served by
creation time (`domain.supply.Allocator`). Each order with a delivery on the PO is settled in
one transaction: the delivery accepted (its lines cut to what they keep) or rejected (nothing
kept, final) and an audit event, with a customer-facing note when something was lost that says
what happens to the money in the order's payment mode (`domain.payments.refused_money_text`):
a prepaid order gets one pending refund record for the lost lines (a conditional create, id
derived from order and PO: never twice) and an `order.refund_due` event that the payments
consumer carries out through the gateway (`services.customer_payments`); authorise-then-capture
captures only what ships; offline and pay-on-delivery simply owe less. The
`order.lines_rejected` event is what e-mails the customer (a notification rule: services/notify.py).

Redelivery-safe: orders settled by an earlier run are replayed into the allocator (what they
kept is read off the order), never settled twice, so a rerun shares out exactly as the first.

Bounded: the orders are settled in chunks of `close_chunk_orders`, one purchase-orders queue
message each (as a campaign close runs: services/campaign_close.py). Each chunk is recorded once
with what is left to share out after it, so the next chunk, or a redelivery of one that crashed
half-way, starts from exactly there.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass

from ..config import settings
from ..domain import orders as order_rules
from ..domain import payments as money
from ..domain.audit import AuditEvent
from ..domain.errors import AlreadyExists, Conflict
from ..domain.orders import DeliveryStatus, LostLine, Order, OrderStatus
from ..domain.payments import refunds_through_gateway
from ..domain.permissions import SYSTEM
from ..domain.purchase_orders import PurchaseOrder, RejectReason
from ..domain.supply import Allocator, accepted_quantities
from ..observability import logger
from . import sales, uow
from .campaign_close import queue_chunk
from .clock import new_id, now
from .customer_payments import flag_transfers, money_back_changes
from .ports import Change, Record, Save, Versioned
from .ports_close import SettleChunk
from .ports_purchase_orders import PORecord
from .retry import on_conflict
from .stages import load_po

LINES_REJECTED = "order.lines_rejected"

REASON_TEXT: dict[RejectReason | None, str] = {
    RejectReason.OUT_OF_STOCK: "is out of stock",
    RejectReason.DISCONTINUED: "is discontinued",
    RejectReason.PRICE_CHANGED: "is no longer available at the campaign's price",
    RejectReason.OTHER: "cannot be supplied",
    None: "cannot be supplied",
}


@dataclass
class Settlement:
    po_id: str
    settled: int = 0  # orders settled now
    replayed: int = 0  # orders an earlier run had settled
    refunds: int = 0
    lost: int = 0  # orders that lost lines (each gets an order.lines_rejected event: the customer's e-mail)
    accepted: int = 0  # orders whose delivery keeps something: what the supplier must ship


def customer_note(lost: list[LostLine], reasons: dict[str, RejectReason | None], order: Order) -> str:
    """What was lost and why, and what happens to the money (`order` is already settled)."""
    parts = [f"{line.quantity} x {line.name} ({REASON_TEXT[reasons.get(line.sku)]})" for line in lost]
    total = sum(line.amount_cents for line in lost)
    opening = (
        "We are sorry: none of your order can be supplied"
        if order.status is OrderStatus.NOT_SUPPLIED
        else "The supplier could not supply part of your order"
    )
    return f"{opening}: {'; '.join(parts)}. " + money.refused_money_text(
        order.payment_mode, total, order.payable_cents, order.currency, paid_offline=order.offline_paid
    )


def settle_acknowledgement(po_id: str, *, page_size: int | None = None, run_id: str = "once") -> Settlement:
    """Share out an acknowledged PO over its orders in this process: the same chunks the queue runs
    (see `settle_chunk`), one after another; the counts of them all."""
    total = Settlement(po_id)
    number, cursor = 0, None
    while True:
        step = settle_chunk(po_id, run_id, number, cursor, page_size=page_size)
        for name in ("settled", "replayed", "refunds", "lost"):
            setattr(total, name, getattr(total, name) + getattr(step.settlement, name))
        total.accepted = step.settlement.accepted
        if step.next_cursor is None:
            return total
        number, cursor = number + 1, step.next_cursor


@dataclass
class SettleStep:
    """One chunk of a settlement: its counts (`accepted`: the run's so far), where the next starts (None:
    it was the last)."""

    settlement: Settlement
    next_cursor: str | None = None
    orders_read: int = 0


def settle_queued_chunk(po_id: str, run_id: str, number: int, cursor: str | None) -> SettleStep:
    """One chunk as the purchase-orders consumer runs it (the acknowledgement's event runs chunk 0):
    the chunk, then the next one queued on the same queue."""
    step = settle_chunk(po_id, run_id, number, cursor)
    if step.next_cursor is not None:
        queue_chunk("settle", po_id, run_id, number + 1, step.next_cursor)
    return step


def settle_chunk(po_id: str, run_id: str, number: int, cursor: str | None, *, page_size: int | None = None) -> SettleStep:
    """Settle one page of the PO's orders (at most `close_chunk_orders`), oldest first, from what the
    chunk before left to share out; record the chunk once (a redelivered chunk finds its record and
    answers its orders as replayed, changing nothing). After the last page, the PO's orders to ship."""
    po = load_po(po_id).po
    step = SettleStep(Settlement(po_id))
    if any(line.accepted_quantity is None for line in po.lines):
        logger.warning("purchase order not acknowledged yet", extra={"po_id": po_id})
        return step
    done = uow.store().load(SettleChunk, po_id, run_id, str(number))
    if done is None:
        if number == 0:
            allocator, accepted_before = Allocator(accepted_quantities(po)), 0
        else:
            before = uow.store().load(SettleChunk, po_id, run_id, str(number - 1))
            if before is None:
                raise Conflict(f"purchase order {po_id}: settlement chunk {number - 1} not recorded yet; will retry")
            allocator, accepted_before, cursor = (
                Allocator(before.value.remaining),
                before.value.accepted_total,
                before.value.next_cursor,
            )
        limit = page_size or settings().close_chunk_orders
        page = uow.store().campaign_orders_supplied_by(po.campaign_id, po.supplier_id, limit=limit, cursor=cursor)
        result = step.settlement
        for read in page.items:
            _settle_order(read, po, allocator, result)
        chunk = SettleChunk(
            po_id=po_id,
            run_id=run_id,
            number=number,
            remaining=dict(allocator.remaining),
            accepted_total=accepted_before + result.accepted,
            orders_read=len(page.items),
            settled=result.settled,
            replayed=result.replayed,
            refunds=result.refunds,
            lost=result.lost,
            next_cursor=page.cursor,
            at=now(),
        )
        with suppress(AlreadyExists):  # a redelivery of this chunk recorded it first: the same shares
            uow.store().commit([Save(chunk, None)], what=f"purchase order {po_id}'s settlement", at=chunk.at)
        recorded = chunk
    else:  # recorded by an earlier delivery: every order of it is settled already
        recorded = done.value
        step.settlement.replayed = recorded.settled + recorded.replayed
    step.settlement.accepted = recorded.accepted_total
    step.next_cursor, step.orders_read = recorded.next_cursor, recorded.orders_read
    if recorded.next_cursor is None:
        _set_orders_to_ship(po_id, recorded.accepted_total)
    logger.info(
        "settlement chunk",
        extra={
            "po_id": po_id,
            "run_id": run_id,
            "chunk": number,
            "orders_read": recorded.orders_read,
            "replayed": done is not None,
        },
    )
    return step


def _set_orders_to_ship(po_id: str, count: int, retries: int = 5) -> None:
    """Record how many orders the supplier must ship (the shipment stage ends when all have left)."""

    def record() -> None:
        found = uow.store().load(PORecord, po_id)
        if found is None or found.value.po.orders_to_ship == count:
            return
        found.value.po.orders_to_ship = count
        uow.store().commit([Save(found.value, found.version)], what=f"purchase order {po_id}", at=now())

    on_conflict(record, retries=retries, gave_up=f"purchase order {po_id} kept changing; the settlement will be retried")


def _settle_order(read: Versioned[Order], po: PurchaseOrder, allocator: Allocator, result: Settlement, retries: int = 3) -> None:
    current: Versioned[Order] | None = read
    order_id = read.value.id

    def settle() -> None:
        nonlocal current
        loaded = current if current is not None else uow.store().load(Order, order_id)
        current = None  # a lost race reads the order again
        if loaded is None:
            raise Conflict(f"order {order_id} is gone")
        order = loaded.value
        kept_before = order_rules.kept_quantities(order, po.supplier_id)
        if kept_before is not None:  # settled by an earlier run: account for it, change nothing
            for sku, qty in kept_before.items():
                allocator.replay(sku, qty)
            result.replayed += 1
            result.accepted += 1 if any(kept_before.values()) else 0
            return
        if order.delivery(po.supplier_id).status is not DeliveryStatus.ORDERED:
            return  # never on the PO (held, cancelled)
        kept = {line.sku: allocator.offer(line.sku, line.quantity) for line in order.lines if line.supplier_id == po.supplier_id}
        lost, refunds = _commit_settlement(order, loaded.version, po, kept)
        for sku, qty in kept.items():
            allocator.replay(sku, qty)
        result.settled += 1
        result.accepted += 1 if any(kept.values()) else 0
        result.refunds += refunds
        result.lost += 1 if lost else 0

    on_conflict(settle, retries=retries, gave_up=f"order {order_id} kept changing; the settlement will be retried")


def _commit_settlement(order: Order, version: int, po: PurchaseOrder, kept: dict[str, int]) -> tuple[bool, int]:
    """One transaction: order (+ delivery index), the refund record of a prepaid order's lost lines,
    audit events. Returns whether something was lost, and the refund count."""
    reasons = {line.sku: line.reject_reason for line in po.lines}
    transition, lost = order_rules.settle_acknowledgement(order, po.supplier_id, kept)
    at = now()
    lost_cents = sum(line.amount_cents for line in lost)
    note = customer_note(lost, reasons, order) if lost else None
    back = money.owed_back(order, lost_cents)
    refund_id = money.lines_refund_id(order.id, po.id) if back else None
    data = {
        "order_id": order.id,
        "campaign_id": order.campaign_id,
        "po_id": po.id,
        "supplier_id": po.supplier_id,
        "customer_email": order.customer_email,
        "currency": order.currency,
        "status": order.status.value,
        "delivery_status": order.delivery(po.supplier_id).status.value,
        "payment_mode": order.payment_mode.value,
        "lost_cents": lost_cents,
        "refund_cents": back if refunds_through_gateway(order.payment_mode) else 0,
        "refund_id": refund_id,
        "payable_cents": order.payable_cents,
        "whole_order": order.status is OrderStatus.NOT_SUPPLIED,
        "lines": [
            {"sku": line.sku, "name": line.name, "quantity": line.quantity, "amount_cents": line.amount_cents} for line in lost
        ],
    }
    event = AuditEvent(
        id=new_id("evt"),
        subject_type="order",
        subject_id=order.id,
        type=LINES_REJECTED if lost else "order.supplier_accepted",
        actor=SYSTEM,
        at=at,
        from_status=transition.from_status,
        to_status=transition.to_status,
        internal_note=f"purchase order {po.id} acknowledged",
        customer_note=note,
        data=data,
    )
    changes: list[Change] = [Save(order, version, status_before=transition.from_status)]
    money_back = (
        money_back_changes(
            order, refund_id, back, at, supplier_id=po.supplier_id, po_id=po.id, reason=f"lines refused on purchase order {po.id}"
        )
        if refund_id
        else []
    )
    changes += [*money_back, Record(event), *sales.lines_lost(order, po.supplier_id, lost)]
    uow.store().commit(changes, what=f"order {order.id}", at=at)
    flag_transfers(order, money_back)
    return bool(lost), 1 if refund_id else 0
