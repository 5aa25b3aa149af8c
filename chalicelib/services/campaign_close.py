"""Closing a campaign: one purchase order per supplier, deliveries ordered, workflows started,
and the PO e-mailed to the supplier and the buyer.

A close runs as a chain of bounded chunks through the purchase-orders queue (docs/design-notes.md,
"Closing a big campaign"): `start_close` checks the campaign, records its `CloseProgress` (a new run)
and queues chunk 0; each chunk (`run_chunk`, one queue message, one invocation) reads one page of
the campaign's orders (`close_chunk_orders` of them), does their work, records what it summed as a
`CloseChunk` in the same transaction that moves the progress on, and queues the next chunk with the
page's cursor; after the last page the chunk sums the run's chunk records into the POs. The staff
route only starts it (202); the campaign shows `orders_done` of `orders_total` meanwhile.
`close_campaign` runs the same chain in one process (tools, tests, the bench's baseline).

Orders still held for pre-approval are settled as `WAYBILL_HELD_AT_CLOSE` says (domain/holds.py):
`reject` refuses each as its chunk meets it (its customer told why and what happens to the money; the
audit event's internal note names the setting; its exception resolved with both notes); `wait` stops at the start, before
any order moves, raising `campaign_close_waiting` for the buyer and each held order's exception to
critical: the campaign stays `ended` until staff have decided the last held order; then a
`campaign.close_resumed` event (services/holds.py) has the purchase-orders consumer run it again
(a new run: the chunks of the one that waited are not reused).

Every step can run again after a crash at any point (each chunk's message is redelivered):
1. each chunk pages the campaign's orders oldest first; each placed order moves its deliveries to
   `ordered` in its own transaction (an already ordered one is left as it is); each order's
   ordered lines are summed per (supplier, SKU); the chunk record is created once with a condition
   (a redelivered chunk that finds it adds nothing and queues the same next chunk);
2. create each supplier's PO with its `po.created` event (a conditional put: an existing PO
   is kept as it is, so a second close creates no duplicate);
3. start each PO's execution (named after the PO; "already started" is fine) and store its ARN;
4. mark the campaign closed — last, so a closed campaign means all of the above is done.
The PO e-mail to the supplier and the buyer follows the `po.created` event (notification rules:
services/notify.py), once per (event, address).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from ..adapters import queues, workflows
from ..config import settings
from ..domain import campaigns as campaign_rules
from ..domain import holds as hold_rules
from ..domain import metrics
from ..domain import orders as order_rules
from ..domain.audit import AuditEvent
from ..domain.campaigns import Campaign, CampaignAction, CampaignStatus, Product
from ..domain.errors import AlreadyExists, Conflict, InvalidTransition, NotFound, RuleViolation
from ..domain.holds import CLOSE_WAITING_KIND, HOLD_KIND, HeldAtClose
from ..domain.metrics import CampaignSummary
from ..domain.orders import DeliveryAction, DeliveryStatus, Order, OrderAction, OrderStatus
from ..domain.permissions import MANAGE_CATALOGUE, SYSTEM, Principal, Role
from ..domain.purchase_orders import PurchaseOrder
from ..domain.supply import POAggregate
from ..events import ChunkDue
from ..observability import logger
from ..topology import PURCHASE_ORDERS
from . import catalogue, exceptions, holds, uow
from . import orders as order_service
from .clock import new_id, now
from .guard import require
from .ports import CampaignRecord, CountCampaign, CounterScope, Record, Save, Versioned
from .ports_close import DONE, RUNNING, WAITING, CloseChunk, CloseProgress
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
    chunks: int = 0  # chunks the run took


@dataclass
class ChunkStep:
    """What one chunk did: its counts and time (logged, and the bench's figures), then either the
    next chunk to run (`next_cursor`, with `number + 1`) or the close's result (after the last)."""

    campaign_id: str
    number: int
    orders_read: int = 0
    ordered: int = 0
    ms: float = 0.0
    replayed: bool = False  # recorded by an earlier delivery: nothing done again
    stale: bool = False  # of a run that is over (or not this campaign's latest): nothing done
    next_cursor: str | None = None
    result: CloseResult | None = None

    @property
    def more(self) -> bool:
        return self.result is None and not self.stale


def _load_campaign(campaign_id: str) -> tuple[Campaign, dict[str, Product], Versioned[CampaignRecord], CloseProgress | None]:
    """The campaign, its products and its close progress: one read (a query on the campaign's partition)."""
    found = uow.store().campaign_with_products(campaign_id)
    if found is None:
        raise NotFound(f"campaign {campaign_id} not found")
    return found.record.value.campaign, {p.sku: p for p in found.products}, found.record, found.close


def close_campaign(campaign_id: str, *, actor: Principal = SYSTEM, page_size: int | None = None) -> CloseResult:
    """Close an ended campaign in this process: the same chunks the queue runs, one after another
    (a run under way is resumed where it stands). A closed one is left alone."""
    started = _begin(campaign_id, actor)
    if isinstance(started, CloseResult):
        return started
    number, cursor = started.chunks_done, started.cursor
    while True:
        step = run_chunk(campaign_id, started.run_id, number, cursor, page_size=page_size)
        if step.result is not None:
            return step.result
        if step.stale:  # another process finished or restarted the run meanwhile
            return _outcome(campaign_id)
        number, cursor = number + 1, step.next_cursor


def start_close(campaign_id: str, *, actor: Principal = SYSTEM) -> CloseResult | CloseProgress:
    """Start the close (or find the run under way) and queue its next chunk; a closed campaign, or a
    close that must wait for held orders, answers its result at once."""
    started = _begin(campaign_id, actor)
    if isinstance(started, CloseResult):
        return started
    queue_chunk("close", campaign_id, started.run_id, started.chunks_done, started.cursor)
    return started


def queue_chunk(job: str, subject_id: str, run_id: str, number: int, cursor: str | None) -> None:
    """The chunk's message on the purchase-orders queue (a second one of the same chunk is skipped
    by the consumer's idempotency record, keyed on job, subject, run and number)."""
    detail = {"job": job, "subject_id": subject_id, "run_id": run_id, "number": number, "cursor": cursor}
    queues.send(PURCHASE_ORDERS.name, ChunkDue.type, detail)


def run_queued_chunk(campaign_id: str, run_id: str, number: int, cursor: str | None) -> ChunkStep:
    """One chunk as the consumer runs it: the chunk, then the next one queued."""
    step = run_chunk(campaign_id, run_id, number, cursor)
    if step.more:
        queue_chunk("close", campaign_id, run_id, number + 1, step.next_cursor)
    return step


def _begin(campaign_id: str, actor: Principal) -> CloseResult | CloseProgress:
    """Check the campaign (and, `wait`, that no order is held), and record a new run's progress (or
    answer the run under way)."""
    campaign, _, _, progress = _load_campaign(campaign_id)
    if campaign.status is CampaignStatus.CLOSED:
        return CloseResult(campaign_id, already_closed=True)
    campaign_rules.check_campaign_action(campaign, CampaignAction.CLOSE, actor)
    if progress is not None and progress.state == RUNNING:
        return progress
    if settings().held_at_close_policy() is HeldAtClose.WAIT:
        held = holds.held_orders(campaign_id)
        if held:
            return _wait_for(campaign, held)
    # `reject`: each chunk refuses the held orders of its page, so the start stays one bounded step
    # however many are held (the route answers within API Gateway's 29 s).
    return _new_run(campaign_id, actor)


def _new_run(campaign_id: str, actor: Principal) -> CloseProgress:
    """A new run's progress (over a finished or waiting run's, under its version); a start that lost the
    race to another answers that one's run."""
    summary = CampaignSummary.of(uow.store().counters(CounterScope("campaign", campaign_id)).summary)
    at = now()
    progress = CloseProgress(
        campaign_id=campaign_id,
        run_id=new_id("close"),
        state=RUNNING,
        orders_total=max(0, summary.orders),
        started_at=at,
        updated_at=at,
        actor_sub=actor.sub,
        actor_roles=sorted(r.value for r in actor.roles),
    )
    before = uow.store().load(CloseProgress, campaign_id)
    try:
        uow.store().commit(
            [Save(progress, None if before is None else before.version)], what=f"campaign {campaign_id}'s close", at=at
        )
    except (AlreadyExists, Conflict):
        again = uow.store().load(CloseProgress, campaign_id)
        if again is None or again.value.state != RUNNING:
            raise
        return again.value
    return progress


def _actor(progress: CloseProgress) -> Principal:
    if progress.actor_sub == SYSTEM.sub:
        return SYSTEM
    return Principal(sub=progress.actor_sub, roles=frozenset(Role(r) for r in progress.actor_roles))


def run_chunk(campaign_id: str, run_id: str, number: int, cursor: str | None, *, page_size: int | None = None) -> ChunkStep:
    """One chunk of the run (see the module docstring): at most `close_chunk_orders` orders read."""
    started = time.perf_counter()
    step = ChunkStep(campaign_id, number)
    read = uow.store().load(CloseProgress, campaign_id)
    if read is None or read.value.run_id != run_id or read.value.state != RUNNING:
        step.stale = True
        logger.info("close chunk of a run that is over", extra={"campaign_id": campaign_id, "run_id": run_id, "chunk": number})
        return step
    progress = read.value
    done = uow.store().load(CloseChunk, campaign_id, run_id, str(number))
    if done is None:
        chunk = _do_chunk(campaign_id, run_id, number, cursor, _actor(progress), page_size or settings().close_chunk_orders)
        moved = replace(
            progress,
            orders_done=progress.orders_done + chunk.orders_read,
            chunks_done=number + 1,
            cursor=chunk.next_cursor,
            updated_at=chunk.at,
        )
        try:
            changes = [Save(chunk, None), Save(moved, read.version)]  # the chunk first: its failure reads AlreadyExists
            uow.store().commit(changes, what=f"campaign {campaign_id}'s close", at=chunk.at)
        except AlreadyExists:  # a redelivery of this chunk got there first: its record stands
            done = uow.store().load(CloseChunk, campaign_id, run_id, str(number))
            if done is None:
                raise
            step.replayed = True
        else:
            done = Versioned(chunk, 1)
    else:
        step.replayed = True
    recorded = done.value
    step.orders_read, step.ordered, step.next_cursor = recorded.orders_read, recorded.ordered, recorded.next_cursor
    if recorded.next_cursor is None:
        step.result = _finish(campaign_id, run_id, number + 1, _actor(progress))
    step.ms = (time.perf_counter() - started) * 1000
    logger.info(
        "close chunk",
        extra={
            "campaign_id": campaign_id,
            "run_id": run_id,
            "chunk": number,
            "orders_read": step.orders_read,
            "ordered": step.ordered,
            "replayed": step.replayed,
            "ms": round(step.ms, 1),
        },
    )
    return step


def _do_chunk(campaign_id: str, run_id: str, number: int, cursor: str | None, actor: Principal, limit: int) -> CloseChunk:
    """The chunk's work on one page of the campaign's orders; its record (not stored yet)."""
    waits = settings().held_at_close_policy() is HeldAtClose.WAIT
    aggregate = POAggregate()
    ordered = 0
    held: list[str] = []
    page = uow.store().campaign_orders_to_close(campaign_id, CLOSE_READS, limit=limit, cursor=cursor)
    for read in page.items:
        if read.value.status is OrderStatus.ON_HOLD:
            if waits:
                held.append(read.value.id)
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
    return CloseChunk(
        campaign_id=campaign_id,
        run_id=run_id,
        number=number,
        orders_read=len(page.items),
        ordered=ordered,
        quantities=aggregate.quantities,
        order_counts=aggregate.order_counts,
        held=held,
        next_cursor=page.cursor,
        at=now(),
    )


def _finish(campaign_id: str, run_id: str, chunks: int, actor: Principal) -> CloseResult:
    """After the last chunk: the run's chunk records summed into the POs, their workflows started, the
    campaign closed (or, `wait`, the close waits for the held orders the chunks met)."""
    campaign, products, _, _ = _load_campaign(campaign_id)
    recorded = uow.store().close_chunks(campaign_id, run_id)
    if len(recorded) != chunks:
        raise Conflict(f"campaign {campaign_id}'s close: {len(recorded)} of {chunks} chunk records read; will retry")
    late = [o for c in recorded for o in c.held]
    if late:  # placed in the campaign's last moment: the index had not shown it yet
        orders = [found.value for o in late if (found := uow.store().load(Order, o)) is not None]
        _set_state(campaign_id, run_id, WAITING)
        return _wait_for(campaign, orders)
    aggregate = POAggregate()
    for chunk in recorded:
        for supplier_id, per_sku in chunk.quantities.items():
            mine = aggregate.quantities.setdefault(supplier_id, {})
            for sku, qty in per_sku.items():
                mine[sku] = mine.get(sku, 0) + qty
        for supplier_id, n in chunk.order_counts.items():
            aggregate.order_counts[supplier_id] = aggregate.order_counts.get(supplier_id, 0) + n
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
    _set_state(campaign_id, run_id, DONE)
    return CloseResult(campaign_id, po_ids=po_ids, orders=sum(c.ordered for c in recorded), chunks=len(recorded))


def _set_state(campaign_id: str, run_id: str, state: str, retries: int = 3) -> None:
    def set_state() -> None:
        read = uow.store().load(CloseProgress, campaign_id)
        if read is None or read.value.run_id != run_id or read.value.state == state:
            return
        at = now()
        uow.store().commit(
            [Save(replace(read.value, state=state, updated_at=at), read.version)], what=f"campaign {campaign_id}'s close", at=at
        )

    on_conflict(set_state, retries=retries, gave_up=f"campaign {campaign_id}'s close kept changing; will retry")


def _outcome(campaign_id: str) -> CloseResult:
    """What a close another process carried on came to, as far as the campaign shows."""
    campaign, _, _, _ = _load_campaign(campaign_id)
    return CloseResult(campaign_id, already_closed=campaign.status is CampaignStatus.CLOSED)


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
    """Staff close by hand: a live campaign is ended first; a closed one is a 409. Only starts the close
    (its chunks run from the queue): the campaign is answered with the close's progress."""
    require(actor, MANAGE_CATALOGUE, "close campaigns")
    read = uow.store().load(CampaignRecord, campaign_id)
    if read is None:
        raise NotFound(f"campaign {campaign_id} not found")
    if read.value.campaign.status is CampaignStatus.LIVE:
        # Ending is the schedule's action (system only); staff closing early ends it on their behalf.
        catalogue._transition(SYSTEM, campaign_id, CampaignAction.END, item=read, note=f"ended early by {actor.sub} to close it")
    else:
        campaign_rules.check_campaign_action(read.value.campaign, CampaignAction.CLOSE, actor)
    result = start_close(campaign_id, actor=actor)
    if isinstance(result, CloseResult) and result.waiting_for:
        raise RuleViolation(
            "held_orders_undecided",
            f"campaign {campaign_id} has ended but cannot close yet: " + hold_rules.close_waiting_note(len(result.waiting_for)),
            details=[{"field": "order_id", "message": f"order {o} is still on hold"} for o in result.waiting_for],
        )
    return catalogue.get_campaign(actor, campaign_id)  # with its close's progress


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
