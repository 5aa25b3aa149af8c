"""Staff and money: accounting records money that arrived outside the gateway (an offline payment,
cash collected on delivery) or corrects the history by hand (an adjustment, with its reason); staff
refund outside complaints (goodwill), an admin approving refunds above the approval threshold; a
failed capture or refund is tried again.

Every change is one transaction under the order's version (`expected_version` → 409), with its
payment record and an audit event naming the actor and the reason. Money in is added to the
campaign's `received_cents` as it is recorded; a refund counts when it succeeded
(services/customer_payments.py).

Payments are the money area's records (`ports_money.Payment`), changed under the version the order's
one read (`Store.order_trail`) gave each; a change that leaves the order as it is still saves it under
its version, so two staff acting on one reading collide."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..config import settings
from ..domain import metrics
from ..domain import orders as order_rules
from ..domain import payments as money
from ..domain.audit import AuditEvent
from ..domain.errors import InvalidTransition, NotFound, RuleViolation
from ..domain.orders import OrderLine, PaymentMode, RequestedLine
from ..domain.payments import PaymentKind
from ..domain.permissions import (
    APPROVE_REFUNDS,
    GIVE_UP_DELIVERIES,
    RECORD_PAYMENTS,
    REFUND_ORDERS,
    SYSTEM,
    Principal,
)
from . import exceptions, uow
from .capture import capture_pending
from .clock import new_id, now
from .conflicts import stale_subject
from .customer_payments import (
    MANUAL_REFUND_KIND,
    OFFLINE_DUE_KIND,
    flag_transfers,
    money_back_changes,
    offline_deadline_clear,
    payments_in,
    refund_due_changes,
)
from .guard import require
from .orders import OrderRecord, _record
from .ports import Change, CountCampaign, Record, Save, Versioned
from .ports_money import Payment
from .retry import retried

AWAITING_APPROVAL, REJECTED = "awaiting_approval", "rejected"
# Which kind of money each payment mode can receive outside the gateway.
RECORDABLE: dict[PaymentKind, frozenset[PaymentMode]] = {
    PaymentKind.OFFLINE_RECEIVED: frozenset({PaymentMode.OFFLINE}),
    PaymentKind.CASH_COLLECTED: frozenset({PaymentMode.PAY_ON_DELIVERY}),
    PaymentKind.ADJUSTMENT: frozenset(PaymentMode),
}

# A payment change the caller did not pin to a version is tried again on a fresh read (a parcel
# delivered or a consumer's write changed the order meanwhile), at most this many times.
RETRIES = 3


@dataclass
class Recorded:
    record: OrderRecord
    payment: Payment


@dataclass
class _Read:
    """The order as its one read gave it, and the version of each of its payments (by id)."""

    record: OrderRecord
    versions: dict[str, int]

    def payment(self, payment_id: str, kind: PaymentKind | None = None) -> Versioned[Payment] | None:
        found = next((p for p in self.record.payments if p.id == payment_id), None)
        if found is None or (kind is not None and found.payment_kind != kind):
            return None
        return Versioned(found, self.versions[payment_id])


def _movements(payments: list[Payment]) -> list[money.Movement]:
    return [money.Movement(p.payment_kind, p.status, p.amount_cents) for p in payments]


def _load(order_id: str) -> _Read:
    """The order with its trail and its payments' versions: one read (a Query of the order's partition)."""
    trail = uow.store().order_trail(order_id)
    if trail is None:
        raise NotFound(f"order {order_id} not found")
    return _Read(_record(trail), {p.value.id: p.version for p in trail.payments})


def _order_for(actor: Principal, order_id: str, expected_version: int | None) -> _Read:
    read = _load(order_id)
    record = read.record
    if expected_version is not None and expected_version != record.version:
        raise stale_subject(f"order {order_id}", "order", order_id, record.version, expected_version, record.events)
    return read


def _touch(record: OrderRecord) -> Save:
    """The order's version moves with every money change, so two staff acting on one reading collide."""
    return Save(record.order, record.version)


def _commit(changes: list[Change], *, what: str, at: datetime) -> None:
    uow.store().commit(changes, what=what, at=at)


def _payment(
    order_id: str,
    kind: PaymentKind,
    amount: int,
    currency: str,
    status: str,
    actor: Principal,
    at: datetime,
    *,
    reason: str | None,
    reference: str | None,
    prefix: str = "pay",
) -> Payment:
    pay_id = new_id(prefix)
    return Payment(
        id=pay_id,
        order_id=order_id,
        payment_kind=kind.value,
        supplier_id="",
        amount_cents=amount,
        currency=currency,
        status=status,
        idempotency_key=pay_id,
        gateway_reference=reference,
        reason=reason,
        actor=actor.sub,
        created_at=at,
        updated_at=at,
    )


@retried(what="order payment", retries=RETRIES)
def record_payment(
    actor: Principal,
    order_id: str,
    *,
    kind: PaymentKind,
    amount_cents: int,
    reason: str | None,
    reference: str | None,
    expected_version: int | None = None,
) -> Recorded:
    """Money that arrived outside the gateway, or a correction by hand. An offline order whose payment
    now covers what it owes leaves `awaiting_payment` (it goes to the suppliers at close) and its
    `payment_overdue` deadline and exception are cleared."""
    require(actor, RECORD_PAYMENTS, "record payments")
    record = _order_for(actor, order_id, expected_version).record
    order = record.order
    if order.payment_mode not in RECORDABLE[kind]:
        raise RuleViolation(
            "payment_kind_not_for_mode",
            f"a {kind.value} payment is not recorded on a {order.payment_mode.value} order",
            details=[{"field": "body.kind", "message": f"not for {order.payment_mode.value} orders"}],
        )
    if kind is PaymentKind.ADJUSTMENT and (amount_cents == 0 or not reason):
        raise RuleViolation(
            "invalid_adjustment",
            "an adjustment needs a non-zero amount and its reason",
            details=[{"field": "body.reason", "message": "say why the money is corrected"}],
        )
    if kind is not PaymentKind.ADJUSTMENT and amount_cents <= 0:
        raise RuleViolation(
            "invalid_amount",
            "the amount received must be positive",
            details=[{"field": "body.amount_cents", "message": "must be at least 1"}],
        )
    at = now()
    item = _payment(order.id, kind, amount_cents, order.currency, money.SUCCEEDED, actor, at, reason=reason, reference=reference)
    before = order.status
    standing = money.money(order, _movements([*record.payments, item]))
    transition = None
    if order.payment_mode is PaymentMode.OFFLINE and standing.net_paid_cents >= order.payable_cents:
        transition = order_rules.record_offline_payment(order)
    amount = money.amount(amount_cents, order.currency)
    event = AuditEvent(
        id=new_id("evt"),
        subject_type="order",
        subject_id=order.id,
        type="order.payment_recorded",
        actor=actor,
        at=at,
        from_status=before.value,
        to_status=order.status.value,
        internal_note=reason,
        customer_note=(f"We have received your payment of {amount}." if kind is not PaymentKind.ADJUSTMENT else None),
        data={
            "order_id": order.id,
            "campaign_id": order.campaign_id,
            "payment_id": item.id,
            "kind": kind.value,
            "amount_cents": amount_cents,
            "currency": order.currency,
            "customer_email": order.customer_email,
            "status": order.status.value,
        },
    )
    changes: list[Change] = [
        Save(item, None),
        Record(event),
        CountCampaign(order.campaign_id, order.id, metrics.money_received(amount_cents)),
    ]
    if (
        transition is not None
        or order.offline_paid
        and not any(p.payment_kind == PaymentKind.OFFLINE_RECEIVED for p in record.payments)
    ):
        changes.append(Save(order, record.version, status_before=before.value))
        changes.append(offline_deadline_clear(order.id))
    else:
        changes.append(_touch(record))
    _commit(changes, what=f"order {order.id}", at=at)
    if order.offline_paid:
        exceptions.resolve(OFFLINE_DUE_KIND, "order", order.id, note=f"payment of {amount} recorded")
    version = record.version + 1
    return Recorded(OrderRecord(order, version, at, [*record.events, event], record.shipments, [*record.payments, item]), item)


# ---------------------------------------------------------------- refunds outside complaints


def _refund_amount(lines: list[OrderLine], wanted: list[RequestedLine] | None, amount_cents: int | None) -> int:
    if (wanted is None) == (amount_cents is None):
        raise RuleViolation(
            "refund_lines_or_amount",
            "give either the lines to refund or an amount, not both",
            details=[{"field": "body", "message": "lines or amount_cents"}],
        )
    if amount_cents is not None:
        if amount_cents <= 0:
            raise RuleViolation(
                "invalid_amount",
                "a refund is at least 1 cent",
                details=[{"field": "body.amount_cents", "message": "must be at least 1"}],
            )
        return amount_cents
    by_sku = {line.sku: line for line in lines}
    problems: list[dict[str, object]] = []
    total = 0
    for i, w in enumerate(wanted or []):
        line = by_sku.get(w.sku)
        if line is None:
            problems.append({"field": f"body.lines[{i}].sku", "message": f"{w.sku} is not on the order"})
        elif not 1 <= w.quantity <= line.quantity:
            problems.append({"field": f"body.lines[{i}].quantity", "message": f"1 to {line.quantity}"})
        else:
            total += w.quantity * line.unit_price_cents
    if problems or not wanted:
        raise RuleViolation(
            "invalid_refund",
            "the refund's lines are not on the order as asked",
            details=problems or [{"field": "body.lines", "message": "at least one line"}],
        )
    return total


@retried(what="order payment", retries=RETRIES)
def refund(
    actor: Principal,
    order_id: str,
    *,
    reason: str,
    lines: list[RequestedLine] | None = None,
    amount_cents: int | None = None,
    reference: str | None = None,
    expected_version: int | None = None,
) -> Recorded:
    """A goodwill refund: never above what the order paid net of refunds (422 `refund_exceeds_paid`).
    Above the approval threshold it waits for an admin. Money taken through the gateway goes back
    through it (pending → the payments consumer); money received offline or in cash was paid back by
    accounting, which gives the transfer's `reference`, and is recorded as done."""
    require(actor, REFUND_ORDERS, "refund orders")
    record = _order_for(actor, order_id, expected_version).record
    order = record.order
    amount = _refund_amount(order.lines, lines, amount_cents)
    standing = money.money(order, _movements(record.payments))
    refundable = money.refundable_cents(standing)
    if amount > refundable:
        raise RuleViolation(
            "refund_exceeds_paid",
            f"the order can refund at most {money.amount(refundable, order.currency)}"
            f" (paid, less what was or is being refunded), not {money.amount(amount, order.currency)}",
            details=[{"field": "body", "message": f"at most {refundable} cents"}],
        )
    manual = (
        not money.refunds_through_gateway(order.payment_mode) and order.payment_mode is not PaymentMode.AUTHORISE_THEN_CAPTURE
    )
    if manual and not reference:
        raise RuleViolation(
            "reference_required",
            "money received offline goes back by transfer: give its reference",
            details=[{"field": "body.reference", "message": "the transfer's reference"}],
        )
    at = now()
    needs_approval = amount > settings().complaint_approval_threshold_cents
    changes: list[Change] = [_touch(record)]
    if needs_approval:
        item = _payment(
            order.id,
            PaymentKind.REFUND,
            amount,
            order.currency,
            AWAITING_APPROVAL,
            actor,
            at,
            reason=reason,
            reference=reference,
            prefix="rfd",
        )
        event = AuditEvent(
            id=new_id("evt"),
            subject_type="order",
            subject_id=order.id,
            type="order.refund_needs_approval",
            actor=actor,
            at=at,
            internal_note=reason,
            data={
                "order_id": order.id,
                "refund_id": item.id,
                "amount_cents": amount,
                "currency": order.currency,
                "campaign_id": order.campaign_id,
                "reason": reason,
            },
        )
        changes += [Save(item, None), Record(event)]
    elif manual:
        item = _payment(
            order.id,
            PaymentKind.REFUND,
            amount,
            order.currency,
            money.SUCCEEDED,
            actor,
            at,
            reason=reason,
            reference=reference,
            prefix="rfd",
        )
        event = _refunded_event(order.id, item, actor, at, order.customer_email)
        changes += [
            Save(item, None),
            Record(event),
            CountCampaign(order.campaign_id, order.id, metrics.refund_succeeded(amount)),
        ]
    else:
        refund_changes = refund_due_changes(order, new_id("rfd"), amount, at, supplier_id=None, reason=reason, actor=actor)
        [item] = payments_in(refund_changes)
        event = AuditEvent(
            id=new_id("evt"),
            subject_type="order",
            subject_id=order.id,
            type="order.refund_started",
            actor=actor,
            at=at,
            internal_note=reason,
            customer_note=f"We are refunding {money.amount(amount, order.currency)} to your original payment method.",
            data={
                "order_id": order.id,
                "refund_id": item.id,
                "amount_cents": amount,
                "currency": order.currency,
                "customer_email": order.customer_email,
            },
        )
        changes += [*refund_changes, Record(event)]
    _commit(changes, what=f"order {order.id}", at=at)
    return Recorded(
        OrderRecord(order, record.version + 1, at, [*record.events, event], record.shipments, [*record.payments, item]), item
    )


@retried(what="order payment", retries=RETRIES)
def record_transfer(
    actor: Principal, order_id: str, refund_id: str, *, reference: str, expected_version: int | None = None
) -> Recorded:
    """Accounting made the bank transfer a refund of offline money was waiting for: it succeeded, with the
    transfer's reference; the customer is told; `manual_refund_due` clears with the order's last one."""
    require(actor, RECORD_PAYMENTS, "record a transfer made")
    read = _order_for(actor, order_id, expected_version)
    record = read.record
    order = record.order
    found = read.payment(refund_id, PaymentKind.REFUND)
    if found is None:
        raise NotFound(f"refund {refund_id} of order {order_id} not found")
    item = found.value
    if item.status != money.AWAITING_TRANSFER:
        raise InvalidTransition(f"refund {refund_id} is {item.status}; only one awaiting a transfer is recorded so")
    at = now()
    item.status, item.gateway_reference, item.updated_at = money.SUCCEEDED, reference, at
    event = _refunded_event(order.id, item, actor, at, order.customer_email)
    _commit(
        [
            _touch(record),
            Save(item, found.version),
            Record(event),
            CountCampaign(order.campaign_id, order.id, metrics.refund_succeeded(item.amount_cents)),
        ],
        what=f"refund {refund_id}",
        at=at,
    )
    if not any(p.status == money.AWAITING_TRANSFER for p in record.payments if p.id != refund_id):
        exceptions.resolve(MANUAL_REFUND_KIND, "order", order.id, note=f"paid back by transfer {reference}")
    return Recorded(OrderRecord(order, record.version + 1, at, [*record.events, event], record.shipments, record.payments), item)


def _refunded_event(order_id: str, item: Payment, actor: Principal, at: datetime, customer_email: str | None) -> AuditEvent:
    amount = money.amount(item.amount_cents, item.currency)
    return AuditEvent(
        id=new_id("evt"),
        subject_type="order",
        subject_id=order_id,
        type="order.refund_succeeded",
        actor=actor,
        at=at,
        internal_note=item.reason,
        customer_note=f"We have paid {amount} back to you (reference {item.gateway_reference}).",
        data={
            "order_id": order_id,
            "refund_id": item.id,
            "amount_cents": int(item.amount_cents),
            "currency": item.currency,
            "customer_email": customer_email,
        },
    )


@retried(what="order payment", retries=RETRIES)
def decide_refund(
    actor: Principal, order_id: str, refund_id: str, *, approve: bool, note: str | None, expected_version: int | None = None
) -> Recorded:
    """An admin approves a refund above the threshold (it goes out as any other) or rejects it (a reason)."""
    require(actor, APPROVE_REFUNDS, "approve refunds")
    if not approve and not note:
        raise RuleViolation(
            "reason_required",
            "say why the refund is rejected",
            details=[{"field": "body.note", "message": "required when rejecting"}],
        )
    read = _order_for(actor, order_id, expected_version)
    record = read.record
    order = record.order
    found = read.payment(refund_id, PaymentKind.REFUND)
    if found is None:
        raise NotFound(f"refund {refund_id} of order {order_id} not found")
    item = found.value
    if item.status != AWAITING_APPROVAL:
        raise InvalidTransition(f"refund {refund_id} is {item.status}; only one awaiting approval is decided")
    at = now()
    others = [p for p in record.payments if p.id != refund_id]
    if approve and int(item.amount_cents) > money.refundable_cents(money.money(order, _movements(others))):
        raise RuleViolation("refund_exceeds_paid", "what the order paid no longer covers this refund")
    item.status, item.updated_at = (money.PENDING if approve else REJECTED), at
    event = AuditEvent(
        id=new_id("evt"),
        subject_type="order",
        subject_id=order.id,
        type="order.refund_approved" if approve else "order.refund_rejected",
        actor=actor,
        at=at,
        internal_note=note,
        customer_note=(
            f"We are refunding {money.amount(int(item.amount_cents), order.currency)} to your original payment method."
            if approve
            else None
        ),
        data={
            "order_id": order.id,
            "refund_id": item.id,
            "amount_cents": int(item.amount_cents),
            "currency": order.currency,
            "customer_email": order.customer_email,
        },
    )
    changes: list[Change] = [_touch(record), Save(item, found.version), Record(event)]
    if approve:
        due = AuditEvent(
            id=new_id("evt"),
            subject_type="order",
            subject_id=order.id,
            type="order.refund_due",
            actor=actor,
            at=at,
            internal_note=item.reason,
            data={"order_id": order.id, "refund_id": item.id, "amount_cents": int(item.amount_cents), "currency": order.currency},
        )
        changes.append(Record(due))
    _commit(changes, what=f"refund {refund_id}", at=at)
    return Recorded(OrderRecord(order, record.version + 1, at, [*record.events, event], record.shipments, [*others, item]), item)


def retry_capture(actor: Principal, order_id: str, payment_id: str) -> Recorded:
    """Accounting tries a declined capture again: a new attempt with its own idempotency key (the
    gateway remembers the decline for the old one), recorded on the same payment."""
    require(actor, RECORD_PAYMENTS, "retry payments")
    read = _load(order_id)
    found = read.payment(payment_id, PaymentKind.CAPTURE)
    if found is None:
        raise NotFound(f"capture {payment_id} of order {order_id} not found")
    if found.value.status != money.FAILED:
        raise InvalidTransition(f"capture {payment_id} is {found.value.status}; only a failed capture is tried again")
    return _retry(read, payment_id, by=actor.sub)


def retry_failed_captures(order_id: str) -> int:
    """The sweep's automatic retry (a `capture_retry` deadline passed): every declined capture of the
    order still within `capture_auto_retries` is tried again. Returns how many succeeded."""
    record = _load(order_id).record
    failed = [
        p.id
        for p in record.payments
        if p.payment_kind == PaymentKind.CAPTURE and p.status == money.FAILED and p.attempts < settings().capture_auto_retries
    ]
    return sum(1 for pay_id in failed if _retry(_load(order_id), pay_id, by=SYSTEM.sub).payment.status == money.SUCCEEDED)


def _retry(read: _Read, payment_id: str, *, by: str) -> Recorded:
    order_id = read.record.order.id
    found = read.payment(payment_id)
    if found is None:
        raise NotFound(f"capture {payment_id} of order {order_id} not found")
    item, at = found.value, now()
    attempt = item.attempts + 1
    item.status, item.failure, item.attempts = money.PENDING, None, attempt
    item.idempotency_key, item.updated_at = f"{item.id}-r{attempt}", at
    _commit([Save(item, found.version)], what=f"capture {payment_id}", at=at)  # the loaded version is the condition
    capture_pending(Versioned(item, found.version + 1), read.record.order.campaign_id)
    fresh = _load(order_id).record
    done = next(p for p in fresh.payments if p.id == payment_id)
    if done.status == money.SUCCEEDED:
        exceptions.resolve("payment_failed", "order", order_id, note=f"capture {payment_id} retried by {by}")
    return Recorded(fresh, done)


# ---------------------------------------------------------------- a delivery that will never arrive


@retried(what="order payment", retries=RETRIES)
def give_up_delivery(
    actor: Principal, order_id: str, supplier_id: str, *, reason: str, expected_version: int | None = None
) -> OrderRecord:
    """A dispatched delivery will never reach the customer (returned to sender and not sent again, or
    lost with the carrier): it ends `not_delivered` and costs nothing, so the order can end. The money
    follows in the same transaction (`money_back_changes`): what the customer paid for it goes back
    through the gateway (prepaid, or its capture) or, received offline, by a transfer accounting makes;
    pay on delivery collected nothing."""
    require(actor, GIVE_UP_DELIVERIES, "close a delivery that will not arrive")
    record = _order_for(actor, order_id, expected_version).record
    order = record.order
    before = order.status.value
    lost_cents = order.delivery_cents(supplier_id)
    transition = order_rules.apply_delivery_action(order, supplier_id, order_rules.DeliveryAction.GIVE_UP)
    at = now()
    standing = money.money(order, _movements(record.payments))
    back = min(max(0, -standing.balance_cents), money.refundable_cents(standing))
    changes: list[Change] = [Save(order, record.version, status_before=before)]
    money_back = money_back_changes(
        order,
        money.refund_id(order.id, f"not delivered\x00{supplier_id}"),
        back,
        at,
        actor=actor,
        supplier_id=supplier_id,
        reason=f"delivery {supplier_id} not delivered",
    )
    changes += money_back
    gateway_back = back > 0 and not money.back_by_transfer(order.payment_mode)
    amount = money.amount(back, order.currency)
    if gateway_back:
        money_note = f"We are refunding {amount} to your original payment method."
    elif back > 0:
        money_note = f"We will pay {amount} back to you by bank transfer."
    else:
        money_note = "You will not pay for it."
    event = AuditEvent(
        id=new_id("evt"),
        subject_type="order",
        subject_id=order.id,
        type="order.delivery_not_delivered",
        actor=actor,
        at=at,
        from_status=transition.from_status,
        to_status=transition.to_status,
        internal_note=reason,
        customer_note=f"We are sorry: part of your order could not be delivered and will not be sent again. {money_note}",
        data={
            "order_id": order.id,
            "supplier_id": supplier_id,
            "customer_email": order.customer_email,
            "status": order.status.value,
            "amount_cents": lost_cents,
            "refund_cents": back if gateway_back else 0,
            "currency": order.currency,
        },
    )
    changes.append(Record(event))
    _commit(changes, what=f"order {order.id}", at=at)
    flag_transfers(order, money_back)
    return OrderRecord(
        order, record.version + 1, at, [*record.events, event], record.shipments, [*record.payments, *payments_in(money_back)]
    )
