"""Closing a campaign: one purchase order per supplier, deliveries ordered, workflows started,
and the PO e-mailed to the supplier and the buyer.

Orders still held for pre-approval are settled first, as `WAYBILL_HELD_AT_CLOSE` says
(domain/holds.py): `reject` refuses each (its customer told why and what happens to the money; the
audit event's internal note names the setting; its exception resolved with both notes); `wait` stops here, before
any order moves, raising `campaign_close_waiting` for the buyer and each held order's exception to
critical: the campaign stays `ended` until staff have decided the last held order; then a
`campaign.close_resumed` event (services/holds.py) has the purchase-orders consumer run it again.

Every step can run again after a crash at any point (the consumer's message is redelivered):
1. page the campaign's orders oldest first; each placed order moves its deliveries to
   `ordered` in its own transaction (an already ordered one is left as it is); each order's
   ordered lines are summed per (supplier, SKU) — sums only, so memory stays flat;
2. create each supplier's PO with its `po.created` event (a conditional put: an existing PO
   is kept as it is, so a second close creates no duplicate);
3. start each PO's execution (named after the PO; "already started" is fine) and store its ARN;
4. mark the campaign closed — last, so a closed campaign means all of the above is done.
The PO e-mail to the supplier and the buyer follows the `po.created` event (notification rules:
services/notify.py), once per (event, address).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..adapters import workflows
from ..config import settings
from ..domain import campaigns as campaign_rules
from ..domain import holds as hold_rules
from ..domain import metrics
from ..domain import orders as order_rules
from ..domain.audit import AuditEvent
from ..domain.campaigns import Campaign, CampaignAction, CampaignStatus, Product
from ..domain.errors import AlreadyExists, Conflict, InvalidTransition, NotFound, RuleViolation
from ..domain.holds import CLOSE_WAITING_KIND, HOLD_KIND, HeldAtClose
from ..domain.orders import DeliveryAction, DeliveryStatus, Order, OrderAction, OrderStatus
from ..domain.permissions import MANAGE_CATALOGUE, SYSTEM, Principal
from ..domain.purchase_orders import PurchaseOrder
from ..domain.supply import POAggregate
from ..observability import logger
from . import catalogue, exceptions, holds, uow
from . import orders as order_service
from .clock import new_id, now
from .guard import require
from .ports import CampaignRecord, CountCampaign, Record, Save, Versioned
from .ports_purchase_orders import PORecord
from .retry import on_conflict

SENT_TO_SUPPLIERS_NOTE = "sent to the suppliers with the campaign's purchase orders"
# Orders a close reads: placed ones to order, those a previous (interrupted) run ordered, and
# those still waiting for pre-approval (settled first; one the status index had not shown yet is met here).
CLOSE_READS = (OrderStatus.PLACED, OrderStatus.ORDERED, OrderStatus.ON_HOLD, OrderStatus.AWAITING_PAYMENT)
UNPAID_AT_CLOSE_NOTE = "cancelled at close: the offline payment was not recorded before the campaign closed"
UNPAID_AT_CLOSE_CUSTOMER_NOTE = (
    "We did not receive your payment before the campaign closed, so your order is cancelled. You owe nothing."
)
HELD_AT_CLOSE_NOTE = hold_rules.REJECTED_AT_CLOSE_CUSTOMER_NOTE  # how each such customer note begins
MAX_LISTED = 20  # held order ids named on the waiting exception (its count says how many in all)


@dataclass
class CloseResult:
    campaign_id: str
    po_ids: list[str] = field(default_factory=list)
    orders: int = 0  # orders on the campaign's POs
    already_closed: bool = False
    waiting_for: list[str] = field(default_factory=list)  # held orders the close waits for (`wait`)


def _load_campaign(campaign_id: str) -> tuple[Campaign, dict[str, Product]]:
    """The campaign and its products: one read (a query on the campaign's partition)."""
    found = uow.store().campaign_with_products(campaign_id)
    if found is None:
        raise NotFound(f"campaign {campaign_id} not found")
    return found.record.value.campaign, {p.sku: p for p in found.products}


def close_campaign(campaign_id: str, *, actor: Principal = SYSTEM, page_size: int = 100) -> CloseResult:
    """Close an ended campaign (steps in the module docstring). A closed one is left alone."""
    campaign, products = _load_campaign(campaign_id)
    if campaign.status is CampaignStatus.CLOSED:
        return CloseResult(campaign_id, already_closed=True)
    campaign_rules.check_campaign_action(campaign, CampaignAction.CLOSE, actor)
    waits = settings().held_at_close_policy() is HeldAtClose.WAIT
    held = holds.held_orders(campaign_id)
    if held and waits:
        return _wait_for(campaign, held)
    for order in held:
        _reject_held(order)

    aggregate = POAggregate()
    ordered = 0
    late_held: list[Order] = []
    cursor: str | None = None
    while True:
        page = uow.store().campaign_orders_to_close(campaign_id, CLOSE_READS, limit=page_size, cursor=cursor)
        for read in page.items:
            if read.value.status is OrderStatus.ON_HOLD:
                if waits:
                    late_held.append(read.value)
                else:
                    _reject_held(read.value)
                continue
            if read.value.status is OrderStatus.AWAITING_PAYMENT:
                _cancel_unpaid(read.value.id)
                continue
            order = _send_to_suppliers(read, actor)
            lines = [line for line in order.lines if order.delivery(line.supplier_id).status is DeliveryStatus.ORDERED]
            if lines:
                aggregate.add(lines)
                ordered += 1
        if page.cursor is None:
            break
        cursor = page.cursor
    if late_held:  # placed in the campaign's last moment: the index had not shown it yet
        return _wait_for(campaign, late_held)

    for po in aggregate.purchase_orders(campaign_id, campaign.currency, products, now()):
        _create_po(po, actor)
    po_ids = _start_workflows(campaign_id)
    _mark_closed(actor, campaign_id)
    exceptions.resolve(
        CLOSE_WAITING_KIND,
        "campaign",
        campaign_id,
        note="no order is held any more: the campaign closed into its purchase orders",
    )
    return CloseResult(campaign_id, po_ids=po_ids, orders=ordered)


def _cancel_unpaid(order_id: str, retries: int = 3) -> None:
    """An offline order still unpaid at close cannot go to the suppliers: cancelled, the customer told."""

    def cancel() -> None:
        try:
            order_service.change_order(
                SYSTEM,
                order_id,
                OrderAction.CANCEL,
                internal_note=UNPAID_AT_CLOSE_NOTE,
                customer_note=UNPAID_AT_CLOSE_CUSTOMER_NOTE,
            )
        except InvalidTransition:
            return  # paid meanwhile (now placed: the next close page or run sends it) or cancelled

    # A Conflict: paid or changed meanwhile, read it again.
    on_conflict(
        cancel, retries=retries, gave_up=f"order {order_id} kept changing while its campaign closed; the close will be retried"
    )


def _reject_held(order: Order, retries: int = 3) -> None:
    """A held order nobody decided before the close is refused (`reject`): its customer told why and
    what happens to the money, the internal note naming the setting, its exception resolved with both."""

    def reject() -> order_service.OrderRecord | None:
        try:
            return order_service.change_order(
                SYSTEM,
                order.id,
                OrderAction.REJECT,
                internal_note=hold_rules.REJECTED_AT_CLOSE_NOTE,
                customer_note=hold_rules.rejected_at_close_customer_note(order.payment_mode),
            )
        except InvalidTransition:
            return None  # decided meanwhile (its consumer resolves the exception); a placed order is closed normally

    # A Conflict: approved or changed meanwhile, read it again.
    record = on_conflict(
        reject, retries=retries, gave_up=f"order {order.id} kept changing while its campaign closed; the close will be retried"
    )
    if record is not None:
        told = record.events[-1].customer_note  # with the refund the order service promised, if any
        holds.resolve(order.id, f"{hold_rules.REJECTED_AT_CLOSE_NOTE} The customer was told: {told}")


def _wait_for(campaign: Campaign, held: list[Order]) -> CloseResult:
    """`wait`: nothing moves while an order is held. The buyer gets a critical `campaign_close_waiting`
    (bumped on each retry), each held order's exception turns critical (and is raised now for an order
    held before held orders raised exceptions)."""
    ids = [o.id for o in held]
    note = hold_rules.close_waiting_note(len(held))
    exceptions.raise_or_bump(
        CLOSE_WAITING_KIND,
        "campaign",
        campaign.id,
        {
            "campaign_id": campaign.id,
            "campaign_name": campaign.name,
            "held_count": len(ids),
            "held_order_ids": ids[:MAX_LISTED],
            "setting": f"{hold_rules.HELD_AT_CLOSE_SETTING}={HeldAtClose.WAIT.value}",
            "reason": note,
        },
    )
    at = now()
    for order in held:
        exceptions.raise_or_bump(
            HOLD_KIND,
            "order",
            order.id,
            {**holds.details(order, campaign.ends_at, at, with_deadline=False), "close_waiting": True},
            severity="critical",
        )
    logger.info("campaign close waits for held orders", extra={"campaign_id": campaign.id, "held": len(ids)})
    return CloseResult(campaign.id, waiting_for=ids)


def close_by_staff(actor: Principal, campaign_id: str) -> catalogue.CampaignView:
    """Staff close by hand: a live campaign is ended first; a closed one is a 409."""
    require(actor, MANAGE_CATALOGUE, "close campaigns")
    read = uow.store().load(CampaignRecord, campaign_id)
    if read is None:
        raise NotFound(f"campaign {campaign_id} not found")
    if read.value.campaign.status is CampaignStatus.LIVE:
        # Ending is the schedule's action (system only); staff closing early ends it on their behalf.
        catalogue._transition(SYSTEM, campaign_id, CampaignAction.END, item=read, note=f"ended early by {actor.sub} to close it")
    else:
        campaign_rules.check_campaign_action(read.value.campaign, CampaignAction.CLOSE, actor)
    result = close_campaign(campaign_id, actor=actor)
    if result.waiting_for:
        raise RuleViolation(
            "held_orders_undecided",
            f"campaign {campaign_id} has ended but cannot close yet: " + hold_rules.close_waiting_note(len(result.waiting_for)),
            details=[{"field": "order_id", "message": f"order {o} is still on hold"} for o in result.waiting_for],
        )
    return catalogue._view(_require(uow.store().load(CampaignRecord, campaign_id), campaign_id))


def _require(read: Versioned[CampaignRecord] | None, campaign_id: str) -> Versioned[CampaignRecord]:
    if read is None:
        raise NotFound(f"campaign {campaign_id} not found")
    return read


# ---------------------------------------------------------------- steps


def _send_to_suppliers(read: Versioned[Order], actor: Principal, retries: int = 3) -> Order:
    """Move a placed order's deliveries to ordered (one transaction with its audit event);
    return the order as it now stands. Already ordered, or changed meanwhile: left as it is."""
    current: Versioned[Order] | None = read
    order_id = read.value.id

    def send() -> Order:
        nonlocal current
        loaded = current if current is not None else uow.store().load(Order, order_id)  # a cancellation meanwhile?
        current = None  # a lost race reads the order again
        if loaded is None:
            raise Conflict(f"order {order_id} is gone")
        order = loaded.value
        if order.status is not OrderStatus.PLACED:
            return order
        before = order.status
        for d in order.deliveries:
            if d.status is DeliveryStatus.PENDING:
                order_rules.apply_delivery_action(order, d.supplier_id, DeliveryAction.SEND_PO)
        at = now()
        event = AuditEvent(
            id=new_id("evt"),
            subject_type="order",
            subject_id=order.id,
            type="order.sent_to_suppliers",
            actor=actor,
            at=at,
            from_status=before.value,
            to_status=order.status.value,
            internal_note=SENT_TO_SUPPLIERS_NOTE,
            data={
                "order_id": order.id,
                "campaign_id": order.campaign_id,
                "supplier_ids": order.supplier_ids,
                "status": order.status.value,
            },
        )
        uow.store().commit(
            [Save(order, loaded.version, status_before=before.value), Record(event)], what=f"order {order.id}", at=at
        )
        return order

    return on_conflict(send, retries=retries, gave_up=f"order {order_id} kept changing; the close will be retried")


def _create_po(po: PurchaseOrder, actor: Principal) -> bool:
    """Create the PO with its `po.created` event; False when it already exists."""
    event = AuditEvent(
        id=new_id("evt"),
        subject_type="po",
        subject_id=po.id,
        type="po.created",
        actor=actor,
        at=po.created_at,
        to_status=po.status.value,
        data={
            "po_id": po.id,
            "campaign_id": po.campaign_id,
            "supplier_id": po.supplier_id,
            "ordered_cents": po.ordered_cents,
            "currency": po.currency,
            "lines": len(po.lines),
            "order_count": po.order_count,
        },
    )
    try:
        uow.store().commit(
            [Save(po, None), Record(event), CountCampaign(po.campaign_id, po.id, metrics.po_created())],
            what=f"purchase order {po.id}",
            at=po.created_at,
        )
    except (AlreadyExists, Conflict):
        return False  # created by an earlier run: never a duplicate
    return True


def _execution_arn(po_id: str) -> str:
    """An execution's ARN from its state machine's and its name (as Step Functions forms it)."""
    return settings().supplier_fulfilment_arn.replace(":stateMachine:", ":execution:") + f":{po_id}"


def _start_workflows(campaign_id: str) -> list[str]:
    """Start every PO's execution (one query for the campaign's POs); store each ARN once."""
    reads = _campaign_pos(campaign_id)
    for read in reads:
        po_id = read.value.po.id
        arn = workflows.start_supplier_fulfilment(po_id, {"po_id": po_id, "deadlines": settings().stage_deadlines()})
        if read.value.execution_arn is None:
            _store_execution_arn(read, arn or _execution_arn(po_id))
    return [r.value.po.id for r in reads]


def _campaign_pos(campaign_id: str) -> list[Versioned[PORecord]]:
    pos: list[Versioned[PORecord]] = []
    cursor: str | None = None
    while True:
        page = uow.store().campaign_pos(campaign_id, limit=100, cursor=cursor)
        pos += page.items
        if page.cursor is None:
            return pos
        cursor = page.cursor


def _store_execution_arn(read: Versioned[PORecord], arn: str, retries: int = 3) -> None:
    current: Versioned[PORecord] | None = read
    po_id = read.value.po.id

    def store() -> None:
        nonlocal current
        loaded = current
        current = None  # a lost race reads the PO again
        if loaded is None:
            loaded = uow.store().load(PORecord, po_id)  # the stage consumer stored a token meanwhile
            if loaded is None or loaded.value.execution_arn:
                return
        at = now()
        event = AuditEvent(
            id=new_id("evt"),
            subject_type="po",
            subject_id=po_id,
            type="po.workflow_started",
            actor=SYSTEM,
            at=at,
            data={"po_id": po_id, "execution_arn": arn},
        )
        uow.store().commit(
            [Save(replace(loaded.value, execution_arn=arn), loaded.version), Record(event)],
            what=f"purchase order {po_id}",
            at=at,
        )

    on_conflict(store, retries=retries, gave_up=f"purchase order {po_id} kept changing; the close will be retried")


def _mark_closed(actor: Principal, campaign_id: str) -> None:
    try:
        catalogue._transition(actor, campaign_id, CampaignAction.CLOSE, note="purchase orders generated")
    except (Conflict, InvalidTransition):
        read = uow.store().load(CampaignRecord, campaign_id)
        if read is None or read.value.campaign.status is not CampaignStatus.CLOSED:
            raise  # not closed by a concurrent run: let the caller retry
