"""Orders and their deliveries.

An order belongs to one customer and one campaign. Its lines may span several suppliers;
each supplier's share is a *delivery*. Deliveries move through their own statuses and the
order's status is derived from them (plus the pre-approval decision), never set freely:
`derive_status` is the single definition, and every command re-derives it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from .addresses import Address
from .campaigns import Campaign, Product
from .errors import InvalidTransition, RuleViolation
from .permissions import STAFF_ROLES, ActionRule, Principal, Role, check_rule, roles


class PaymentMode(StrEnum):
    PREPAID = "prepaid"
    AUTHORISE_THEN_CAPTURE = "authorise_then_capture"  # captured when the delivery ships
    OFFLINE = "offline"
    PAY_ON_DELIVERY = "pay_on_delivery"


class DeliveryStatus(StrEnum):
    ON_HOLD = "on_hold"  # the whole order waits for staff pre-approval
    AWAITING_PAYMENT = "awaiting_payment"  # an offline order waits for accounting to record its payment
    PENDING = "pending"  # waiting for the campaign to close and the PO to go out
    ORDERED = "ordered"  # on the supplier's purchase order
    ACCEPTED = "accepted"  # supplier acknowledged the lines
    REJECTED = "rejected"  # supplier refused every line (e.g. out of stock): final; its money is settled
    #                        per payment mode by payment records (refund, nothing captured, less due)
    DISPATCHED = "dispatched"
    DELIVERED = "delivered"
    REFUNDED = "refunded"  # kept for orders written before `rejected` became final; nothing moves here now
    CANCELLED = "cancelled"
    PARTIALLY_RETURNED = "partially_returned"  # some delivered units came back (a complaint's return)
    RETURNED = "returned"  # every delivered unit came back
    NOT_DELIVERED = "not_delivered"  # it left but never reached the customer (returned to sender, lost), and
    #                                   will not be sent again: final, nothing is owed for it


class OrderStatus(StrEnum):
    ON_HOLD = "on_hold"
    AWAITING_PAYMENT = "awaiting_payment"  # offline: not sent to suppliers until the payment is recorded
    PLACED = "placed"
    REJECTED = "rejected"  # pre-approval refused by staff
    CANCELLED = "cancelled"
    ORDERED = "ordered"
    PARTIALLY_DISPATCHED = "partially_dispatched"
    DISPATCHED = "dispatched"
    PARTIALLY_DELIVERED = "partially_delivered"
    DELIVERED = "delivered"  # legacy: every delivery arrived but a refused one; that is `completed` now
    COMPLETED = "completed"
    PARTIALLY_RETURNED = "partially_returned"  # goods of a delivery came back (complaints)
    RETURNED = "returned"  # every delivered unit came back
    NOT_SUPPLIED = "not_supplied"  # every supplier refused its delivery: nothing will ship


class OrderAction(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    CANCEL = "cancel"
    ADD_NOTE = "add_note"


class DeliveryAction(StrEnum):
    SEND_PO = "send_po"
    ACCEPT = "accept"
    REJECT = "reject"
    DISPATCH = "dispatch"
    DELIVER = "deliver"
    GIVE_UP = "give_up"  # staff: a dispatched delivery will never arrive (not sent again)
    PAYMENT_RECEIVED = "payment_received"  # an offline order's payment was recorded: it can go to suppliers
    CANCEL = "cancel"  # a cancellation request accepted after close, before the delivery left
    RETURN_PART = "return_part"
    RETURN_ALL = "return_all"


D = DeliveryStatus
O = OrderStatus  # noqa: E741 - short alias keeps the tables readable

# Delivery transitions as data: action -> (statuses it applies in, status it leads to).
DELIVERY_TRANSITIONS: dict[DeliveryAction, tuple[frozenset[DeliveryStatus], DeliveryStatus]] = {
    DeliveryAction.SEND_PO: (frozenset({D.PENDING}), D.ORDERED),
    DeliveryAction.PAYMENT_RECEIVED: (frozenset({D.AWAITING_PAYMENT}), D.PENDING),
    DeliveryAction.GIVE_UP: (frozenset({D.DISPATCHED}), D.NOT_DELIVERED),
    DeliveryAction.ACCEPT: (frozenset({D.ORDERED}), D.ACCEPTED),
    DeliveryAction.REJECT: (frozenset({D.ORDERED}), D.REJECTED),
    DeliveryAction.DISPATCH: (frozenset({D.ACCEPTED}), D.DISPATCHED),
    DeliveryAction.CANCEL: (frozenset({D.ORDERED, D.ACCEPTED}), D.CANCELLED),
    DeliveryAction.DELIVER: (frozenset({D.DISPATCHED}), D.DELIVERED),
    DeliveryAction.RETURN_PART: (frozenset({D.DELIVERED, D.PARTIALLY_RETURNED}), D.PARTIALLY_RETURNED),
    DeliveryAction.RETURN_ALL: (frozenset({D.DELIVERED, D.PARTIALLY_RETURNED}), D.RETURNED),
}
RETURNED_STATUSES = frozenset({D.PARTIALLY_RETURNED, D.RETURNED})
ARRIVED = frozenset({D.DELIVERED}) | RETURNED_STATUSES  # the goods reached the customer
REFUSED = frozenset({D.REJECTED, D.REFUNDED})  # the supplier supplies nothing: final, nothing is owed for it
NOTHING_OWED = REFUSED | {D.NOT_DELIVERED}  # final deliveries the customer pays nothing for
# A delivery in one of these has reached its end; every other one still moves.
FINAL_DELIVERY_STATUSES = ARRIVED | NOTHING_OWED | {D.CANCELLED}
# An order in one of these has nothing left to happen to it (a complaint may still bring goods back,
# which moves `completed` to a returned status, itself final).
FINAL_ORDER_STATUSES = frozenset({O.REJECTED, O.CANCELLED, O.NOT_SUPPLIED, O.COMPLETED, O.PARTIALLY_RETURNED, O.RETURNED})

# Statuses older orders may hold that `derive_status` no longer produces.
LEGACY_ORDER_STATUSES = frozenset({O.DELIVERED})
CANCELLABLE = frozenset({O.ON_HOLD, O.AWAITING_PAYMENT, O.PLACED})
# On a purchase order and not left yet: after the close, a cancellation request can still stop such a
# delivery, and a corrected shipping address must reach its supplier.
ON_PO_NOT_LEFT = frozenset({D.ORDERED, D.ACCEPTED})
# Not left yet, whether or not on a purchase order: the shipping address may still be corrected.
YET_TO_LEAVE = ON_PO_NOT_LEFT | {D.ON_HOLD, D.AWAITING_PAYMENT, D.PENDING}
ALL_ORDER_STATUSES = frozenset(OrderStatus)

# How a delivery that still moves can go on, one step at a time: every path ends in a final status.
FINISHING_STEPS: dict[DeliveryStatus, tuple[DeliveryAction, ...]] = {
    D.AWAITING_PAYMENT: (DeliveryAction.PAYMENT_RECEIVED,),
    D.PENDING: (DeliveryAction.SEND_PO,),
    D.ORDERED: (DeliveryAction.ACCEPT, DeliveryAction.REJECT, DeliveryAction.CANCEL),
    D.ACCEPTED: (DeliveryAction.DISPATCH, DeliveryAction.CANCEL),
    D.DISPATCHED: (DeliveryAction.DELIVER, DeliveryAction.GIVE_UP),
}

# Order-level actions: who may take them and in which order statuses (the role x status matrix).
ORDER_ACTIONS: dict[OrderAction, ActionRule] = {
    OrderAction.APPROVE: ActionRule(
        roles(Role.CUSTOMER_CARE, Role.ADMIN), frozenset({O.ON_HOLD}), "release an order held for pre-approval"
    ),
    OrderAction.REJECT: ActionRule(
        roles(Role.CUSTOMER_CARE, Role.ADMIN), frozenset({O.ON_HOLD}), "refuse an order held for pre-approval"
    ),
    OrderAction.CANCEL: ActionRule(
        roles(Role.CUSTOMER, Role.CUSTOMER_CARE, Role.ADMIN), CANCELLABLE, "cancel before the campaign closes"
    ),
    OrderAction.ADD_NOTE: ActionRule(STAFF_ROLES, ALL_ORDER_STATUSES, "add an internal or customer-facing note"),
}

# What each order action does to the deliveries.
ORDER_ACTION_EFFECTS: dict[OrderAction, tuple[frozenset[DeliveryStatus], DeliveryStatus] | None] = {
    OrderAction.APPROVE: (frozenset({D.ON_HOLD}), D.PENDING),
    OrderAction.REJECT: (frozenset({D.ON_HOLD}), D.CANCELLED),
    OrderAction.CANCEL: (frozenset({D.ON_HOLD, D.AWAITING_PAYMENT, D.PENDING}), D.CANCELLED),
    OrderAction.ADD_NOTE: None,
}


@dataclass(frozen=True)
class OrderPolicy:
    """Settings that shape order placement."""

    hold_threshold_cents: int
    max_line_quantity: int = 99
    max_lines: int = 50


@dataclass(frozen=True)
class RequestedLine:
    sku: str
    quantity: int


@dataclass(frozen=True)
class OrderLine:
    sku: str
    name: str
    supplier_id: str
    quantity: int
    unit_price_cents: int

    @property
    def total_cents(self) -> int:
        return self.quantity * self.unit_price_cents


@dataclass
class Delivery:
    supplier_id: str
    status: DeliveryStatus
    # When it arrived (stamped by the repository on the first write that shows it arrived): the
    # supplier's view of the ship-to address closes a complaint window after it (domain.packing).
    delivered_at: datetime | None = None
    # Where it went, kept when staff later correct the order's address (it left for the old one);
    # None: the order's address.
    ship_to: Address | None = None


@dataclass
class Order:
    id: str
    campaign_id: str
    customer_id: str
    customer_email: str | None
    currency: str
    payment_mode: PaymentMode
    lines: list[OrderLine]
    deliveries: list[Delivery]
    created_at: datetime
    hold_reasons: list[str] = field(default_factory=list)
    hold_rejected: bool = False
    status: OrderStatus = OrderStatus.PLACED
    ordered_cents: int | None = None  # what was ordered, fixed at placement (None: the lines' sum)
    offline_paid: bool = False  # an offline order's payment was recorded in full
    shipping_address: Address | None = None  # a snapshot taken at placement (None: placed before addresses)
    link_generation: int = 0  # bumped to revoke the order page's links (domain/track_links.py)

    @property
    def total_cents(self) -> int:
        """What the customer ordered: never changes, whatever suppliers later refuse."""
        return self.ordered_cents if self.ordered_cents is not None else sum(line.total_cents for line in self.lines)

    @property
    def payable_cents(self) -> int:
        """What the customer owes now: the lines of the deliveries that still stand (cut to what their
        supplier accepted); refused and cancelled deliveries cost nothing."""
        standing = {d.supplier_id for d in self.deliveries if d.status not in NOTHING_OWED and d.status is not D.CANCELLED}
        return sum(line.total_cents for line in self.lines if line.supplier_id in standing)

    def delivery_cents(self, supplier_id: str) -> int:
        return sum(line.total_cents for line in self.lines if line.supplier_id == supplier_id)

    @property
    def supplier_ids(self) -> list[str]:
        return [d.supplier_id for d in self.deliveries]

    def delivery(self, supplier_id: str) -> Delivery:
        for d in self.deliveries:
            if d.supplier_id == supplier_id:
                return d
        raise RuleViolation("unknown_delivery", f"order {self.id} has no delivery from supplier {supplier_id}")


@dataclass(frozen=True)
class Transition:
    action: str
    from_status: str
    to_status: str


def derive_status(deliveries: list[Delivery], hold_rejected: bool) -> OrderStatus:
    """The order's status as a function of its deliveries: the one definition of consistency.

    Refused deliveries (`rejected`) are final and count for nothing: an order whose other deliveries
    all arrived is `completed`, one with nothing left to supply is `not_supplied`. A returned status
    shows only once every standing delivery has arrived (until then the order shows its progress)."""
    statuses = [d.status for d in deliveries]
    if not statuses:
        raise ValueError("an order has at least one delivery")
    if all(s is D.ON_HOLD for s in statuses):
        return O.ON_HOLD
    if all(s is D.AWAITING_PAYMENT for s in statuses):
        return O.AWAITING_PAYMENT
    if all(s is D.CANCELLED for s in statuses):
        return O.REJECTED if hold_rejected else O.CANCELLED
    live = [s for s in statuses if s is not D.CANCELLED]
    goods = [s for s in live if s not in NOTHING_OWED]
    if not goods:
        return O.NOT_SUPPLIED
    if all(s in ARRIVED for s in goods):
        if any(s in RETURNED_STATUSES for s in goods):
            return O.RETURNED if all(s is D.RETURNED for s in goods) else O.PARTIALLY_RETURNED
        return O.COMPLETED
    if all(s is D.PENDING for s in live):  # a refused delivery was on a PO: the order is past `placed`
        return O.PLACED
    if not any(s is D.DISPATCHED or s in ARRIVED for s in goods):
        return O.ORDERED
    open_supply = any(s in (D.PENDING, D.ORDERED, D.ACCEPTED) for s in goods)
    if any(s in ARRIVED for s in goods):
        return O.PARTIALLY_DELIVERED  # something arrived, something has not: not everything arrived
    return O.PARTIALLY_DISPATCHED if open_supply else O.DISPATCHED


def hold_reasons(total_cents: int, customer_flagged: bool, policy: OrderPolicy) -> list[str]:
    reasons = []
    if total_cents > policy.hold_threshold_cents:
        reasons.append("total_above_threshold")
    if customer_flagged:
        reasons.append("customer_flagged")
    return reasons


def place_order(
    *,
    order_id: str,
    campaign: Campaign,
    products: dict[str, Product],
    requested: list[RequestedLine],
    customer_id: str,
    customer_email: str | None,
    customer_flagged: bool,
    payment_mode: PaymentMode,
    policy: OrderPolicy,
    now: datetime,
    shipping_address: Address | None = None,
) -> Order:
    """Build a new order, or raise a RuleViolation naming every problem with the request."""
    if not campaign.is_orderable(now):
        raise RuleViolation("campaign_not_live", f"campaign {campaign.id} is {campaign.status.value} and does not take orders")
    problems: list[dict[str, object]] = []
    if not 1 <= len(requested) <= policy.max_lines:
        problems.append({"field": "lines", "message": f"an order has 1 to {policy.max_lines} lines"})
    counts = Counter(r.sku for r in requested)
    for i, req in enumerate(requested):
        where = f"lines[{i}]"
        if counts[req.sku] > 1:
            problems.append({"field": f"{where}.sku", "message": f"SKU {req.sku} appears more than once"})
        if req.sku not in products:
            problems.append({"field": f"{where}.sku", "message": f"SKU {req.sku} is not sold in campaign {campaign.id}"})
        if not 1 <= req.quantity <= policy.max_line_quantity:
            problems.append(
                {"field": f"{where}.quantity", "message": f"quantity must be between 1 and {policy.max_line_quantity}"}
            )
    if problems:
        raise RuleViolation(
            "invalid_order", "the order cannot be placed: " + "; ".join(str(p["message"]) for p in problems), details=problems
        )

    lines = [
        OrderLine(
            sku=r.sku,
            name=products[r.sku].name,
            supplier_id=products[r.sku].supplier_id,
            quantity=r.quantity,
            unit_price_cents=products[r.sku].unit_price_cents,
        )
        for r in requested
    ]
    total = sum(line.total_cents for line in lines)
    reasons = hold_reasons(total, customer_flagged, policy)
    first = D.ON_HOLD if reasons else _released(payment_mode, paid=False)
    suppliers = list(dict.fromkeys(line.supplier_id for line in lines))  # first-seen order
    order = Order(
        id=order_id,
        campaign_id=campaign.id,
        customer_id=customer_id,
        customer_email=customer_email,
        currency=campaign.currency,
        payment_mode=payment_mode,
        lines=lines,
        deliveries=[Delivery(s, first) for s in suppliers],
        created_at=now,
        hold_reasons=reasons,
        ordered_cents=total,
        shipping_address=shipping_address,
    )
    order.status = derive_status(order.deliveries, order.hold_rejected)
    return order


def check_order_action(order: Order, action: OrderAction, actor: Principal) -> None:
    check_rule(
        ORDER_ACTIONS[action],
        action=action.value,
        noun="orders",
        subject=f"order {order.id}",
        status=order.status.value,
        actor=actor,
    )


def apply_order_action(order: Order, action: OrderAction, actor: Principal) -> Transition:
    """Check and apply an order-level action in place; return the status transition."""
    check_order_action(order, action, actor)
    before = order.status
    effect = ORDER_ACTION_EFFECTS[action]
    if effect is not None:
        applies_to, target = effect
        if action is OrderAction.APPROVE:  # an offline order still unpaid waits for its payment next
            target = _released(order.payment_mode, paid=order.offline_paid)
        for d in order.deliveries:
            if d.status in applies_to:
                d.status = target
        if action is OrderAction.REJECT:
            order.hold_rejected = True
    order.status = derive_status(order.deliveries, order.hold_rejected)
    return Transition(action.value, before.value, order.status.value)


def _released(mode: PaymentMode, *, paid: bool) -> DeliveryStatus:
    """Where a delivery goes once nothing holds it: an offline order waits for its payment first."""
    return D.AWAITING_PAYMENT if mode is PaymentMode.OFFLINE and not paid else D.PENDING


def record_offline_payment(order: Order) -> Transition | None:
    """Accounting recorded an offline order's payment in full: it can go to the suppliers at close.
    A held order only remembers it (approving it then skips the wait). None when nothing moves."""
    order.offline_paid = True
    waiting = [d for d in order.deliveries if d.status is D.AWAITING_PAYMENT]
    if not waiting:
        return None
    before = order.status
    for d in waiting:
        d.status = D.PENDING
    order.status = derive_status(order.deliveries, order.hold_rejected)
    return Transition(DeliveryAction.PAYMENT_RECEIVED.value, before.value, order.status.value)


def apply_delivery_action(order: Order, supplier_id: str, action: DeliveryAction) -> Transition:
    """Move one delivery (system and supplier steps); the order status follows."""
    delivery = order.delivery(supplier_id)
    applies_to, target = DELIVERY_TRANSITIONS[action]
    if delivery.status not in applies_to:
        raise InvalidTransition(
            f"delivery {order.id}/{supplier_id} is {delivery.status.value}; {action.value} needs " + ", ".join(sorted(applies_to))
        )
    before = order.status
    delivery.status = target
    order.status = derive_status(order.deliveries, order.hold_rejected)
    return Transition(action.value, before.value, order.status.value)


def allowed_actions(order: Order, actor: Principal) -> list[str]:
    """Actions this actor may take on this order now: what the admin page shows as buttons."""
    return [
        action.value for action, rule in ORDER_ACTIONS.items() if actor.has_any(rule.roles) and order.status in rule.from_statuses
    ]


@dataclass(frozen=True)
class LostLine:
    """Quantity of one order line a supplier did not accept: refunded to the customer."""

    sku: str
    name: str
    quantity: int
    unit_price_cents: int

    @property
    def amount_cents(self) -> int:
        return self.quantity * self.unit_price_cents


def settle_acknowledgement(order: Order, supplier_id: str, kept: dict[str, int]) -> tuple[Transition, list[LostLine]]:
    """Apply a supplier's acknowledgement to one ordered delivery: `kept` is the quantity each
    of its lines keeps. Nothing kept rejects the delivery (its lines stay, as the record of what
    is refunded); otherwise it is accepted with each line cut to what it keeps (lines keeping
    nothing are dropped). Returns the transition and what was lost."""
    lines = [line for line in order.lines if line.supplier_id == supplier_id]
    for line in lines:
        if not 0 <= kept.get(line.sku, 0) <= line.quantity:
            raise RuleViolation(
                "invalid_allocation", f"order {order.id}: {line.sku} keeps 0 to {line.quantity}, not {kept.get(line.sku)}"
            )
    lost = [
        LostLine(line.sku, line.name, line.quantity - kept.get(line.sku, 0), line.unit_price_cents)
        for line in lines
        if kept.get(line.sku, 0) < line.quantity
    ]
    if all(kept.get(line.sku, 0) == 0 for line in lines):
        return apply_delivery_action(order, supplier_id, DeliveryAction.REJECT), lost
    transition = apply_delivery_action(order, supplier_id, DeliveryAction.ACCEPT)
    reduced: list[OrderLine] = []
    for line in order.lines:
        if line.supplier_id != supplier_id:
            reduced.append(line)
        elif kept.get(line.sku, 0) > 0:
            reduced.append(OrderLine(line.sku, line.name, line.supplier_id, kept[line.sku], line.unit_price_cents))
    order.lines = reduced
    return transition, lost


def kept_quantities(order: Order, supplier_id: str) -> dict[str, int] | None:
    """What an already settled delivery kept per SKU (for replaying an allocation); None while
    it is not settled yet (still `ordered`) or was never on a purchase order."""
    status = order.delivery(supplier_id).status
    if status in (D.REJECTED, D.REFUNDED):
        return {}
    if status in (D.ACCEPTED, D.DISPATCHED) or status in ARRIVED:
        return {line.sku: line.quantity for line in order.lines if line.supplier_id == supplier_id}
    return None


# ---------------------------------------------------------------- after the close: cancellation requests, address corrections

_LEFT_TEXT: dict[DeliveryStatus, str] = {
    D.DISPATCHED: "has left (dispatched)",
    D.DELIVERED: "has arrived",
    D.PARTIALLY_RETURNED: "has arrived",
    D.RETURNED: "has arrived",
    D.REJECTED: "was refused by its supplier",
    D.REFUNDED: "was refused by its supplier",
    D.CANCELLED: "is cancelled",
    D.NOT_DELIVERED: "has left (it did not arrive)",
}


def _why_not(status: DeliveryStatus) -> str:
    return _LEFT_TEXT.get(status, f"is {status.value}")


def cancellation_scope(order: Order, requested: Sequence[RequestedLine] | None) -> dict[str, dict[str, int]]:
    """What a customer's cancellation request after the close asks of each supplier: the quantity per SKU,
    per supplier whose delivery is on a PO and has not left. `requested` None asks for everything not yet
    dispatched. Before the close the order itself is cancelled instead, and an order with nothing left to
    stop cannot be asked (InvalidTransition); a request naming lines is refused with a RuleViolation naming
    each problem (unknown SKU, more than is left, a delivery that left, arrived or was refused)."""
    if order.status in CANCELLABLE:
        raise InvalidTransition(
            f"order {order.id} is {order.status.value}: its campaign has not closed yet, so cancel the order itself "
            f"(POST /orders/{order.id}/cancel); cancellation requests are for orders already with the suppliers"
        )
    stoppable = [d for d in order.deliveries if d.status in ON_PO_NOT_LEFT]
    if not stoppable:
        raise InvalidTransition(
            f"order {order.id} is {order.status.value}: nothing of it can be cancelled any more "
            "(every delivery has left, arrived, or was refused or cancelled)"
        )
    if requested is None:
        return {
            d.supplier_id: {line.sku: line.quantity for line in order.lines if line.supplier_id == d.supplier_id}
            for d in stoppable
        }
    problems: list[dict[str, object]] = []
    counts = Counter(r.sku for r in requested)
    lines = {line.sku: line for line in order.lines}
    scope: dict[str, dict[str, int]] = {}
    for i, req in enumerate(requested):
        where = f"lines[{i}]"
        line = lines.get(req.sku)
        if counts[req.sku] > 1:
            problems.append({"field": f"{where}.sku", "message": f"SKU {req.sku} appears more than once"})
        if line is None:
            problems.append({"field": f"{where}.sku", "message": f"SKU {req.sku} is not in order {order.id}"})
            continue
        status = order.delivery(line.supplier_id).status
        if status not in ON_PO_NOT_LEFT:
            problems.append(
                {
                    "field": f"{where}.sku",
                    "message": f"{req.sku} is in the delivery from {line.supplier_id}, which {_why_not(status)}",
                }
            )
        elif not 1 <= req.quantity <= line.quantity:
            problems.append(
                {"field": f"{where}.quantity", "message": f"{req.sku}: 1 to {line.quantity} can be cancelled, not {req.quantity}"}
            )
        else:
            scope.setdefault(line.supplier_id, {})[req.sku] = req.quantity
    if problems:
        raise RuleViolation(
            "invalid_cancellation",
            "the cancellation cannot be requested: " + "; ".join(str(p["message"]) for p in problems),
            details=problems,
        )
    return scope


def cancel_lines(order: Order, supplier_id: str, quantities: Mapping[str, int]) -> tuple[Transition, list[LostLine]]:
    """Accept a cancellation request: remove `quantities` (per SKU) from one supplier's delivery, each at
    most what is left of its line (the supplier may have accepted fewer since the request). A delivery left
    with nothing is cancelled (its lines stay, the record of what was cancelled); the order status follows.
    InvalidTransition when the delivery left or ended since, or when nothing asked for is left.
    Returns the transition and what was cancelled."""
    delivery = order.delivery(supplier_id)
    if delivery.status not in ON_PO_NOT_LEFT:
        raise InvalidTransition(
            f"the delivery of order {order.id} from {supplier_id} {_why_not(delivery.status)} "
            "since the request: it can no longer be cancelled"
        )
    mine = [line for line in order.lines if line.supplier_id == supplier_id]
    cut = {line.sku: max(0, min(quantities.get(line.sku, 0), line.quantity)) for line in mine}
    cancelled = [LostLine(line.sku, line.name, cut[line.sku], line.unit_price_cents) for line in mine if cut[line.sku]]
    if not cancelled:
        raise InvalidTransition(
            f"order {order.id}: nothing asked for is left in the delivery from {supplier_id} "
            "(its supplier did not accept those lines)"
        )
    if all(cut[line.sku] == line.quantity for line in mine):
        return apply_delivery_action(order, supplier_id, DeliveryAction.CANCEL), cancelled
    before = order.status
    order.lines = [
        line
        if line.supplier_id != supplier_id
        else OrderLine(line.sku, line.name, line.supplier_id, line.quantity - cut[line.sku], line.unit_price_cents)
        for line in order.lines
        if line.supplier_id != supplier_id or line.quantity > cut[line.sku]
    ]
    order.status = derive_status(order.deliveries, order.hold_rejected)
    return Transition(DeliveryAction.CANCEL.value, before.value, order.status.value), cancelled


def correct_shipping_address(order: Order, address: Address) -> list[str]:
    """Staff correct where the order ships, while some delivery has not left: deliveries that left keep the
    address they left for. Returns the suppliers to tell (their delivery is on a PO and has not left).
    InvalidTransition once every delivery has left or ended."""
    if not any(d.status in YET_TO_LEAVE for d in order.deliveries):
        raise InvalidTransition(
            f"every delivery of order {order.id} has left or ended: its shipping address can no longer be corrected"
        )
    for d in order.deliveries:
        if d.status not in YET_TO_LEAVE and d.ship_to is None:
            d.ship_to = order.shipping_address
    order.shipping_address = address
    return [d.supplier_id for d in order.deliveries if d.status in ON_PO_NOT_LEFT]
