"""Notification rules as data: which event tells whom what, with which template, in which category.

A rule names an event type, a recipient role, a template and a category, plus conditions on the
event's fields (`When`). The notifications consumer (`services/notify.py`) is the only sender of
e-mail: it finds the rules of each bus event here, resolves each role to addresses, applies the
recipient's preferences by category and sends each (event, address) once.

Categories:
- transactional: the recipient's own order, a purchase order to its supplier, a stage prompt to
  whoever must act. Always sent, whatever the preferences.
- alert: something needs attention (an exception, an escalation). Recipients may opt out of
  non-transactional mail or take their alerts in the daily digest instead.
- digest: worth knowing, not urgent: held for the recipient's daily digest.

Each rule must prompt the recipient to act or inform them of a change to their own business;
anything else is noise."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Any


class Recipient(StrEnum):
    CUSTOMER = "customer"  # data.customer_email
    SUPPLIER = "supplier"  # the supplier's contact_emails (data.supplier_id)
    BUYER = "buyer"  # the campaign's buyer_email (data.campaign_id)
    ACCOUNTING = "accounting"  # settings mailbox_accounting
    LOGISTICS = "logistics"  # settings mailbox_logistics
    CUSTOMER_CARE = "customer_care"  # settings mailbox_customer_care
    ADMIN = "admin"  # settings mailbox_admin
    ASSIGNEE = "assignee"  # data.assignee (an address)


TEAMS: tuple[Recipient, ...] = (
    Recipient.BUYER,
    Recipient.ACCOUNTING,
    Recipient.LOGISTICS,
    Recipient.CUSTOMER_CARE,
    Recipient.ADMIN,
)
MAILBOXES: tuple[Recipient, ...] = (Recipient.ACCOUNTING, Recipient.LOGISTICS, Recipient.CUSTOMER_CARE, Recipient.ADMIN)


class Category(StrEnum):
    TRANSACTIONAL = "transactional"
    ALERT = "alert"
    DIGEST = "digest"


class AlertMode(StrEnum):
    """How a person takes alert-category mail (when not opted out)."""

    IMMEDIATE = "immediate"
    DAILY_DIGEST = "daily_digest"


class Disposition(StrEnum):
    """What the consumer does with one (rule, address): the outbox record's outcome."""

    SEND = "send"
    SKIP_OPTED_OUT = "skipped_opted_out"
    HOLD_FOR_DIGEST = "held_for_digest"


def decide(category: Category, *, opted_out: bool, alerts: AlertMode) -> Disposition:
    """Preferences never touch transactional mail; opting out drops alerts and digests; a digest
    person gets alerts in the daily digest; digest-category mail always waits for the digest."""
    if category is Category.TRANSACTIONAL:
        return Disposition.SEND
    if opted_out:
        return Disposition.SKIP_OPTED_OUT
    if category is Category.DIGEST or alerts is AlertMode.DAILY_DIGEST:
        return Disposition.HOLD_FOR_DIGEST
    return Disposition.SEND


def normalise_address(address: str) -> str:
    return address.strip().lower()


_MISSING = object()


def _part(value: Any, name: str) -> Any:
    if isinstance(value, Mapping):
        return value.get(name, _MISSING)
    return getattr(value, name, _MISSING)


def field_value(event: object, path: str) -> Any:
    """`subject_type`, `data.stage`, `data.details.abandoned`: a dotted path into the event. The event
    is its typed model (read by attribute: the notifications consumer's way) or its JSON form."""
    value: Any = event
    for part in path.split("."):
        if value is None or value is _MISSING:
            return _MISSING
        value = _part(value, part)
    return value


def _present(value: Any) -> bool:
    return value is not _MISSING and bool(value)


@dataclass(frozen=True)
class When:
    """A condition: the event field at `path` is one of `values`."""

    path: str
    values: tuple[Any, ...]

    def holds(self, event: object) -> bool:
        value = field_value(event, self.path)
        return value is not _MISSING and value in self.values


def when(path: str, *values: Any) -> When:
    return When(path, tuple(values))


@dataclass(frozen=True)
class NotificationRule:
    event_type: str
    recipient: Recipient
    template: str
    category: Category
    headline: str
    needs_customer_note: bool = False
    conditions: tuple[When, ...] = field(default=())

    def fires(self, event: object) -> bool:
        return (
            self.event_type == field_value(event, "type")
            and (not self.needs_customer_note or _present(field_value(event, "customer_note")))
            and all(c.holds(event) for c in self.conditions)
        )


# What a stage asks for, in mail wording; who acts is domain.purchase_orders.STAGE_ACTOR.
STAGE_TITLE: dict[str, str] = {
    "acknowledge": "acknowledge the purchase order (accept or reject each line)",
    "invoice": "upload the invoice",
    "payment_proposal": "propose the payment",
    "payment_approval": "approve or reject the payment proposal",
    "bank_payment": "push the payment to the bank",
    "settlement": "wait for the bank to settle the payment",
    "shipment": "upload the shipment tracking",
}
SUPPLIER_STAGES = ("acknowledge", "invoice", "payment_proposal", "shipment")
ACCOUNTING_STAGES = ("payment_approval",)

T, A, D = Category.TRANSACTIONAL, Category.ALERT, Category.DIGEST
ON_EXCEPTION = when("subject_type", "exception")  # not the mirror events on the subject's partition
URGENT = ("critical", "high")
ROUTINE = ("medium", "low")


def _order(event_type: str, template: str, headline: str, **kw: Any) -> NotificationRule:
    return NotificationRule(event_type, Recipient.CUSTOMER, template, T, headline, **kw)


def _complaint(event_type: str, headline: str, **kw: Any) -> NotificationRule:
    """The customer hears of their complaint's steps (the event's customer_note says what happens)."""
    return NotificationRule(event_type, Recipient.CUSTOMER, "complaint_update", T, headline, **kw)


RULES: tuple[NotificationRule, ...] = (
    # ---------------------------------------------------------------- customers: their own orders
    _order("order.placed", "order_update", "We have received your order"),
    _order("order.approved", "order_update", "Your order is confirmed"),
    _order("order.rejected", "order_update", "We could not accept your order"),
    _order("order.cancelled", "order_update", "Your order was cancelled"),
    _order("order.note_added", "order_update", "News about your order", needs_customer_note=True),
    # Parcels: each carries the carrier, the tracking number and the carrier's tracking link.
    _order("order.shipped", "order_shipment", "Your order is on its way"),
    _order("order.out_for_delivery", "order_shipment", "Your parcel is out for delivery"),
    _order("order.delivered", "order_shipment", "Your parcel has been delivered"),
    _order("order.delayed", "order_shipment", "Your parcel is delayed"),
    _order("order.tracking_corrected", "order_shipment", "New tracking number for your parcel"),
    _order("order.lines_rejected", "order_lines_rejected", "Part of your order cannot be supplied"),
    # Money that moved back (or could not yet): the amount and what happens next.
    _order("order.refund_succeeded", "order_refund", "Your refund has been paid"),
    _order("order.refund_failed", "order_refund", "Your refund is delayed"),
    _order("order.refund_started", "order_refund", "Your refund is on its way"),
    _order("order.delivery_not_delivered", "order_update", "Part of your order could not be delivered"),
    _order("order.refund_approved", "order_refund", "Your refund is on its way"),
    _order(
        "order.payment_recorded",
        "order_update",
        "We have received your payment",
        conditions=(when("data.kind", "offline_received", "cash_collected"),),
    ),
    # An offline order still unpaid past its deadline: the customer is reminded (accounting has the exception).
    NotificationRule(
        "exception.raised",
        Recipient.CUSTOMER,
        "order_payment_reminder",
        T,
        "Your payment is still due",
        conditions=(ON_EXCEPTION, when("data.kind", "payment_overdue")),
    ),
    NotificationRule(
        "order.refund_needs_approval", Recipient.ADMIN, "order_refund_approval", T, "Refund waiting for your approval"
    ),
    # ---------------------------------------------------------------- after the close, before dispatch
    # A cancellation request: the customer hears once per request (not once per supplier it concerns),
    # each supplier concerned is asked to decide (care may decide first), and hears what was cancelled.
    _order(
        "order.cancellation_requested",
        "order_update",
        "We have received your cancellation request",
        conditions=(when("data.tell_customer", True),),
    ),
    _order("order.lines_cancelled", "order_update", "Your cancellation request was accepted"),
    _order("order.cancellation_refused", "order_update", "Your cancellation request was declined"),
    _order("order.address_corrected", "order_update", "Your shipping address was corrected"),
    NotificationRule(
        "order.cancellation_requested",
        Recipient.SUPPLIER,
        "supplier_cancellation_request",
        T,
        "A customer asks to cancel an order",
    ),
    NotificationRule(
        "order.lines_cancelled", Recipient.SUPPLIER, "supplier_lines_cancelled", T, "Order lines cancelled: do not ship them"
    ),
    # Each supplier whose delivery is on a PO and has not left (one event each): ship to the new address.
    NotificationRule(
        "order.ship_to_changed", Recipient.SUPPLIER, "supplier_ship_to_changed", T, "New ship-to address for an order"
    ),
    # ---------------------------------------------------------------- complaints
    _complaint("complaint.opened", "We have received your complaint"),
    _complaint("complaint.plan_offered", "Our proposal for your complaint"),
    _complaint("complaint.started", "Your complaint is being handled"),
    _complaint("complaint.refund_issued", "Your refund has been issued"),
    _complaint("complaint.replacement_shipped", "Your replacement is on its way"),
    _complaint("complaint.return_received", "Your return has arrived"),
    _complaint("complaint.resolved", "Your complaint is resolved"),
    _complaint("complaint.note_added", "News about your complaint", needs_customer_note=True),
    # Whoever must act next: the supplier answers care's question, an admin approves a large plan.
    NotificationRule(
        "complaint.supplier_asked", Recipient.SUPPLIER, "complaint_supplier_asked", T, "A question about a complaint"
    ),
    NotificationRule(
        "complaint.replacement_requested", Recipient.SUPPLIER, "complaint_replacement", T, "Please send a replacement"
    ),
    NotificationRule(
        "complaint.plan_needs_approval", Recipient.ADMIN, "complaint_plan_approval", T, "Complaint plan waiting for your approval"
    ),
    # ---------------------------------------------------------------- purchase orders
    NotificationRule("po.created", Recipient.SUPPLIER, "po_created", T, "Your purchase order"),
    # The buyer's copy informs, it asks nothing: a buyer may take it in the digest.
    NotificationRule("po.created", Recipient.BUYER, "po_created", A, "Purchase order sent"),
    # A stage prompt goes to whoever must act in it (nobody for the bank and system stages).
    NotificationRule(
        "po.stage_started",
        Recipient.SUPPLIER,
        "po_stage_opened",
        T,
        "Purchase order waiting for you",
        conditions=(when("data.stage", *SUPPLIER_STAGES),),
    ),
    NotificationRule(
        "po.stage_started",
        Recipient.ACCOUNTING,
        "po_stage_opened",
        T,
        "Payment proposal waiting for approval",
        conditions=(when("data.stage", *ACCOUNTING_STAGES),),
    ),
    NotificationRule(
        "po.stage_reminded",
        Recipient.SUPPLIER,
        "po_stage_reminder",
        T,
        "Purchase order overdue",
        conditions=(when("data.stage", *SUPPLIER_STAGES),),
    ),
    NotificationRule(
        "po.stage_reminded",
        Recipient.ACCOUNTING,
        "po_stage_reminder",
        T,
        "Payment approval overdue",
        conditions=(when("data.stage", *ACCOUNTING_STAGES),),
    ),
    NotificationRule("po.stage_escalated", Recipient.BUYER, "po_stage_escalated", A, "Purchase order stuck"),
    # ---------------------------------------------------------------- exceptions (staff queue)
    # Raised (entered the staff queue): the owning team, at once when urgent, in the digest otherwise.
    *(
        NotificationRule(
            "exception.raised",
            team,
            "exception_raised",
            A,
            "New exception",
            conditions=(ON_EXCEPTION, when("data.owner", team.value), when("data.severity", *URGENT)),
        )
        for team in TEAMS
    ),
    *(
        NotificationRule(
            "exception.raised",
            team,
            "exception_raised",
            D,
            "New exception",
            conditions=(ON_EXCEPTION, when("data.owner", team.value), when("data.severity", *ROUTINE)),
        )
        for team in TEAMS
    ),
    # A parcel gone quiet: the supplier is asked to check it, reminded at each further silent spell
    # (each bumps the exception), and told when tracking is abandoned (the template says which).
    *(
        NotificationRule(
            type_,
            Recipient.SUPPLIER,
            "tracking_stale",
            A,
            "Please check your parcel",
            conditions=(ON_EXCEPTION, when("data.kind", "tracking_stale")),
        )
        for type_ in ("exception.raised", "exception.repeated")
    ),
    # A held order's decision deadline passed (level 2 of `order_on_hold`): the campaign's buyer is
    # warned before the close, with the order and what the close will do with it. Transactional: it
    # asks for a decision before a date, which a digest could deliver too late. Before the generic
    # escalation rule, so the buyer's address takes this one.
    NotificationRule(
        "exception.escalated",
        Recipient.BUYER,
        "held_order_warning",
        T,
        "An order still waits for pre-approval",
        conditions=(ON_EXCEPTION, when("data.kind", "order_on_hold"), when("data.target", "buyer")),
    ),
    # Escalated: the level's target (already resolved by the exceptions service).
    *(
        NotificationRule(
            "exception.escalated",
            target,
            "exception_escalated",
            A,
            "Exception escalated",
            conditions=(ON_EXCEPTION, when("data.target", target.value)),
        )
        for target in (Recipient.ASSIGNEE, *TEAMS)
    ),
    NotificationRule(
        "exception.assigned", Recipient.ASSIGNEE, "exception_assigned", A, "Exception assigned to you", conditions=(ON_EXCEPTION,)
    ),
)


def rules_for(event: object, rules: Sequence[NotificationRule] = RULES) -> list[NotificationRule]:
    """The rules (by default the code's; the notifications consumer passes the settings') that fire for
    a domain event (its typed model, or its JSON form as published on the bus), in declaration order."""
    return [r for r in rules if r.fires(event)]


def event_types() -> tuple[str, ...]:
    """Every event type some rule fires on: what the notifications queue subscribes to."""
    return tuple(sorted({r.event_type for r in RULES}))


def templates() -> tuple[str, ...]:
    return tuple(sorted({r.template for r in RULES} | {"daily_digest", STAFF_EVENT}))


# ---------------------------------------------------------------- the rules as data (issue 21, item 6)
# Staff change the rules on the settings screen: the set above is the default, a stored set replaces
# it (config.Settings.notification_rules, read through the cached settings). A stored rule names its
# event, role, channel and timing (and optionally conditions and a template); what it cannot choose
# is taken from the default rules, so a stored rule never asks for a mail nobody wrote:
# - the event must be one the notifications queue subscribes to (the default rules' event types);
# - the template is one a default rule of that event sends to that role, else to a role on the same
#   side (customer, supplier, staff): a mail written for a customer never goes to staff;
# - the headline (and "only with a customer note") come from the default rule it borrows from.
# Staff may also be told of any event no default rule tells them of: the plain `staff_event` mail
# (what happened, to what, with a link to its screen).

STAFF_EVENT = "staff_event"
CHANNELS: tuple[str, ...] = ("email",)  # the only channel the consumer sends through


class Timing(StrEnum):
    IMMEDIATE = "immediate"
    DIGEST = "digest"  # held for the recipient's daily digest (`notify.daily_digest`)


MAX_RULES = 200
MAX_CONDITIONS = 5
MAX_VALUES = 20
_PATH_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz_.")
SUBSCRIBED: tuple[str, ...] = tuple(sorted({r.event_type for r in RULES}))


def side(recipient: Recipient) -> str:
    if recipient in (Recipient.CUSTOMER, Recipient.SUPPLIER):
        return recipient.value
    return "staff"


def category_of(timing: Timing, *, mandatory: bool) -> Category:
    if timing is Timing.DIGEST:
        return Category.DIGEST
    return Category.TRANSACTIONAL if mandatory else Category.ALERT


def rule_data(rule: NotificationRule) -> dict[str, Any]:
    """A rule as stored and as the settings screen edits it."""
    return {
        "event": rule.event_type,
        "recipient": rule.recipient.value,
        "channel": CHANNELS[0],
        "timing": (Timing.DIGEST if rule.category is Category.DIGEST else Timing.IMMEDIATE).value,
        "mandatory": rule.category is Category.TRANSACTIONAL,
        "when": [{"path": c.path, "values": list(c.values)} for c in rule.conditions],
        "template": rule.template,
    }


def default_rule_data() -> list[dict[str, Any]]:
    return [rule_data(r) for r in RULES]


def templates_for(event_type: str, recipient: Recipient) -> list[str]:
    """The templates a stored rule of this event may send this role: the default rules' for the role
    first, then those for a role on its side."""
    own = [r.template for r in RULES if r.event_type == event_type and r.recipient is recipient]
    near = [r.template for r in RULES if r.event_type == event_type and side(r.recipient) == side(recipient)]
    plain = [STAFF_EVENT] if side(recipient) == "staff" and event_type in SUBSCRIBED else []
    return list(dict.fromkeys(own + near + plain))


def _borrowed(event_type: str, template: str, recipient: Recipient) -> NotificationRule:
    same = [r for r in RULES if r.event_type == event_type and r.template == template]
    if not same:  # the plain staff mail: headlined by the event in words
        words = event_type.replace(".", " ").replace("_", " ")
        return NotificationRule(event_type, recipient, template, Category.ALERT, words[:1].upper() + words[1:])
    mine = [r for r in same if r.recipient is recipient] + [r for r in same if side(r.recipient) == side(recipient)]
    return (mine or same)[0]


class RulesInvalid(ValueError):
    """A stored or sent rule set that does not hold: `problems` are (field, message), e.g.
    ("rules[3].channel", "must be one of email")."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))
        self.problems = problems


def _conditions(raw: Any, where: str, problems: list[tuple[str, str]]) -> tuple[When, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > MAX_CONDITIONS:
        problems.append((where, f"a list of at most {MAX_CONDITIONS} conditions"))
        return ()
    out: list[When] = []
    for j, c in enumerate(raw):
        at = f"{where}[{j}]"
        path = c.get("path") if isinstance(c, Mapping) else None
        values = c.get("values") if isinstance(c, Mapping) else None
        if not isinstance(path, str) or not path or not set(path) <= _PATH_CHARS or ".." in path or path[0] == ".":
            problems.append((f"{at}.path", "a field of the event, such as data.severity"))
            continue
        if (
            not isinstance(values, list)
            or not 1 <= len(values) <= MAX_VALUES
            or not all(isinstance(v, str | bool | int) and v != "" for v in values)
        ):
            problems.append((f"{at}.values", f"1 to {MAX_VALUES} values (text, numbers, true or false)"))
            continue
        out.append(When(path, tuple(values)))
    return tuple(out)


def _one_of(raw: Any, choices: tuple[str, ...], where: str, problems: list[tuple[str, str]]) -> str | None:
    if isinstance(raw, str) and raw in choices:
        return raw
    shown = ", ".join(choices) if len(choices) <= 10 else "one of the events the notifications queue receives"
    problems.append((where, f"must be one of {shown}" if len(choices) <= 10 else f"must be {shown}"))
    return None


def parse_rules(raw: Any) -> tuple[NotificationRule, ...]:
    """The rules a stored (or sent) list stands for, every problem named by its field; RulesInvalid if any."""
    problems: list[tuple[str, str]] = []
    if not isinstance(raw, list) or len(raw) > MAX_RULES:
        raise RulesInvalid([("rules", f"a list of at most {MAX_RULES} rules")])
    roles = tuple(r.value for r in Recipient)
    out: list[NotificationRule] = []
    for i, item in enumerate(raw):
        at = f"rules[{i}]"
        if not isinstance(item, Mapping):
            problems.append((at, "a rule: event, recipient, channel, timing"))
            continue
        found = len(problems)
        event = _one_of(item.get("event"), SUBSCRIBED, f"{at}.event", problems)
        role = _one_of(item.get("recipient"), roles, f"{at}.recipient", problems)
        _one_of(item.get("channel"), CHANNELS, f"{at}.channel", problems)
        timing = _one_of(item.get("timing"), tuple(t.value for t in Timing), f"{at}.timing", problems)
        mandatory = item.get("mandatory", False)
        if not isinstance(mandatory, bool):
            problems.append((f"{at}.mandatory", "true or false"))
        elif mandatory and timing == Timing.DIGEST:
            problems.append(
                (f"{at}.mandatory", "a digest waits for the recipient's choice: only an immediate mail is always sent")
            )
        conditions = _conditions(item.get("when"), f"{at}.when", problems)
        if event is None or role is None or timing is None or len(problems) > found:
            continue
        recipient = Recipient(role)
        allowed = templates_for(event, recipient)
        if not allowed:
            problems.append((f"{at}.recipient", f"no e-mail is written for the {role.replace('_', ' ')} on {event}"))
            continue
        template = item.get("template") or allowed[0]
        if template not in allowed:
            problems.append((f"{at}.template", f"must be one of {', '.join(allowed)}"))
            continue
        source = _borrowed(event, template, recipient)
        out.append(
            NotificationRule(
                event,
                recipient,
                template,
                category_of(Timing(timing), mandatory=bool(mandatory)),
                source.headline,
                needs_customer_note=source.needs_customer_note,
                conditions=conditions,
            )
        )
    if problems:
        raise RulesInvalid(problems)
    return tuple(out)


def rules_from_text(text: str) -> tuple[NotificationRule, ...]:
    """The rules a setting's value stands for: empty for the default rules, else their JSON list."""
    if not text.strip():
        return RULES
    return _parsed(text)


@lru_cache(maxsize=4)
def _parsed(text: str) -> tuple[NotificationRule, ...]:
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise RulesInvalid([("rules", f"not JSON: {exc}")]) from exc
    return parse_rules(raw)


def rule_label(data: Mapping[str, Any]) -> str:
    """A rule in words for the audit trail: 'po.created -> buyer by email, digest'."""
    when = "; ".join(f"{c['path']}={','.join(str(v) for v in c['values'])}" for c in data.get("when") or [])
    always = ", always" if data.get("mandatory") else ""
    return f"{data['event']} -> {data['recipient']} by {data['channel']}, {data['timing']}{always}" + (
        f" when {when}" if when else ""
    )
