"""The one sender of e-mail: bus events -> notification rules -> recipients -> outbox -> SES.

Every e-mail of the system leaves from here. The notifications consumer hands over each domain
event; the rules (`domain/notifications.py`) say which roles hear of it, with which template and
in which category; roles become addresses (the customer on the event, the supplier's contacts
and the campaign's buyer read with one BatchGetItem, the team mailboxes from the settings, the
assignee on the event); each address's preferences decide whether the mail is sent, held for
the daily digest or skipped (opted out; never for transactional mail).

The outbox record of (event id, address) is written BEFORE anything is sent (created only if absent,
`sending` with a lease), then marked `sent` with SES's message id. If SES fails the record
becomes `failed` (attempts, last error) and the event is raised again so SQS redelivers it: a
redelivery reads the outbox records of the event and retries exactly the addresses not yet done.
A record left `sending` by a consumer that died is taken over once its lease has run out (the only
window in which one mail could go twice: SES accepted it and the process died before the write).

The rules in force are the settings' (`active_rules`: staff edit them on the settings screen; the
code's rules are the default), so a change reaches the consumer without a deploy.

The daily digest (`daily_digest`) goes out through the same outbox, once per (address, UTC day):
per team mailbox the open exceptions of the kinds the team owns, plus the mail held for that
address; people who opted out get nothing."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel

from .. import i18n
from ..adapters import mail
from ..config import settings
from ..domain.addresses import Address
from ..domain.audit import CUSTOMER_STATUS_TEXT
from ..domain.errors import AlreadyExists, Conflict, RuleViolation
from ..domain.exceptions import SEVERITY_RANK, ExceptionRecord, Severity
from ..domain.holds import HELD_AT_CLOSE_SETTING, reasons_text
from ..domain.notifications import (
    MAILBOXES,
    RULES,
    STAFF_EVENT,
    STAGE_TITLE,
    AlertMode,
    Category,
    Disposition,
    NotificationRule,
    Recipient,
    decide,
    normalise_address,
    rules_for,
)
from ..domain.permissions import Principal
from ..domain.purchase_orders import PurchaseOrder
from ..domain.shipments import CUSTOMER_TEXT as PARCEL_STATUS_TEXT
from ..events import (
    ComplaintData,
    DomainEvent,
    EventData,
    EventRefs,
    ExceptionData,
    ExceptionDetails,
    OrderData,
    POData,
)
from ..observability import logger
from ..topology import NOTIFICATIONS
from . import uow
from .clock import now
from .ports import Save, Versioned
from .ports_outbound import OutboxEntry
from .ports_outbound import Preferences as Preferences  # named notify.Preferences by the routes
from .retry import on_conflict

OUTBOX_TTL_S = 30 * 86400
LEASE_S = NOTIFICATIONS.visibility_timeout_s  # a claim outlives the message's invisibility, no longer
DONE = frozenset({"sent", "skipped_opted_out", "held_for_digest", "digested"})
DIGEST_OLDEST = 5  # oldest open exceptions listed (with links) per digest
ERROR_CHARS = 1000
DIGEST_PREFIX = "digest#"


class DeliveryFailed(Exception):
    """Some e-mails of an event could not be sent now; the message must come back (SQS redelivery)."""


# ---------------------------------------------------------------- preferences


def _preferences(address: str, chosen: Preferences | None) -> Preferences:
    return chosen if chosen is not None else Preferences(address)


def digest_event_id(day: str) -> str:
    """The outbox 'event' of one day's digest: one per (address, UTC day)."""
    return f"{DIGEST_PREFIX}{day}"


def my_address(actor: Principal) -> str:
    """The caller's address (the token's `email` claim): preferences are kept per address."""
    if not actor.email:
        raise RuleViolation(
            "no_email",
            "your token carries no e-mail address, so there are no preferences to keep",
            details=[{"field": "token.email", "message": "the token has no email claim"}],
        )
    return normalise_address(actor.email)


def get_preferences(address: str) -> Preferences:
    """One read; nobody has chosen anything until they do (immediate alerts, not opted out)."""
    address = normalise_address(address)
    found = uow.store().load(Preferences, address)
    return _preferences(address, found.value if found else None)


def set_preferences(actor: Principal, address: str, *, opt_out: bool, alerts: AlertMode) -> Preferences:
    """Replace the address's preferences (the last choice wins: a lost race is made again over the winner)."""
    address = normalise_address(address)

    def replace_them() -> Preferences:
        found = uow.store().load(Preferences, address)
        at = now()
        locale = found.value.locale if found else None  # the language is chosen on its own (`set_locale`)
        chosen = Preferences(
            address, opt_out=opt_out, alerts=alerts, updated_at=at, updated_by=actor.email or actor.sub, locale=locale
        )
        uow.store().commit([Save(chosen, found.version if found else None)], what=f"preferences of {address}", at=at)
        return chosen

    return on_conflict(replace_them, what=f"preferences of {address}")


def set_locale(address: str, locale: str, *, by: str) -> Preferences:
    """The language of the address's own mail (`PUT /me/profile`, or the locale an order was placed in);
    the rest of its preferences stay as they are."""
    address, chosen_locale = normalise_address(address), i18n.supported(locale)
    if chosen_locale is None:
        raise RuleViolation(
            "unsupported_locale",
            f"the e-mails speak {', '.join(i18n.SUPPORTED)}",
            details=[{"field": "locale", "message": f"one of {', '.join(i18n.SUPPORTED)}"}],
        )

    def record_it() -> Preferences:
        found = uow.store().load(Preferences, address)
        at = now()
        before = _preferences(address, found.value if found else None)
        chosen = Preferences(address, before.opt_out, before.alerts, updated_at=at, updated_by=by, locale=chosen_locale)
        uow.store().commit([Save(chosen, found.version if found else None)], what=f"preferences of {address}", at=at)
        return chosen

    return on_conflict(record_it, what=f"preferences of {address}")


# ---------------------------------------------------------------- what one event needs


@dataclass
class Loaded:
    """The event and the stored facts its rules read (one read, only what is needed)."""

    event: DomainEvent
    po: PurchaseOrder | None = None
    supplier_name: str = ""
    supplier_contacts: list[str] = field(default_factory=list)
    campaign_name: str = ""
    buyer_email: str | None = None
    ship_to: Address | None = None  # the supplier's delivery's ship-to, once the supplier may see it
    link_generation: int = 0  # the order's link generation: its order-page link is minted from it

    @property
    def refs(self) -> EventRefs:
        """The order, campaign, supplier and PO the event names (none for an event of another subject)."""
        data = self.event.data
        return data if isinstance(data, EventRefs) else EventRefs()


# Supplier mails about one order after the close: the order's reference and lines, never the customer's e-mail.
SUPPLIER_ORDER_TEMPLATES = ("supplier_cancellation_request", "supplier_lines_cancelled", "supplier_ship_to_changed")
SHIP_TO_TEMPLATE = "supplier_ship_to_changed"

Facts = TypeVar("Facts", bound=EventData)


def _facts(event: DomainEvent, kind: type[Facts]) -> Facts:
    """The event's data as the model its rule's template reads (each rule's event type has one)."""
    if not isinstance(event.data, kind):
        raise TypeError(f"a {event.type} event carries no {kind.__name__}")
    return event.data


PARCEL_FACTS = ("carrier_name", "tracking_number", "tracking_url")  # what a parcel's mail shows of it


def _named(facts: BaseModel, names: tuple[str, ...], event: DomainEvent) -> None:
    """A mail that shows these facts is never sent without them (a 'None' in a customer's mail): the
    event fails and comes back, as a template missing them would."""
    if missing := [n for n in names if n not in facts.model_fields_set]:
        raise LookupError(f"{event.type} {event.id} names no {', '.join(missing)}")


def _details(data: ExceptionData) -> ExceptionDetails:
    return data.details if data.details is not None else ExceptionDetails()


def load(event: DomainEvent, rules: list[NotificationRule]) -> Loaded:
    loaded = Loaded(event)
    refs = loaded.refs
    roles = {r.recipient for r in rules}
    templates = {r.template for r in rules}
    supplier_id = refs.supplier_id or None
    facts = uow.store().notification_facts(
        supplier_id=supplier_id if Recipient.SUPPLIER in roles or templates & {"po_created", "tracking_stale"} else None,
        campaign_id=refs.campaign_id if refs.campaign_id and (Recipient.BUYER in roles or "po_created" in templates) else None,
        po_id=refs.po_id if refs.po_id and "po_created" in templates else None,
        delivery=(refs.order_id, supplier_id)  # the ship-to is not on the bus: read here
        if refs.order_id and supplier_id and SHIP_TO_TEMPLATE in templates
        else None,
        order_id=_order_of(event.data) if Recipient.CUSTOMER in roles else None,
    )
    loaded.po, loaded.ship_to, loaded.link_generation = facts.po, facts.ship_to, facts.link_generation
    loaded.supplier_name, loaded.supplier_contacts = facts.supplier_name, facts.supplier_contacts
    loaded.campaign_name, loaded.buyer_email = facts.campaign_name, facts.buyer_email
    return loaded


def mailboxes() -> dict[Recipient, str]:
    """Each team mailbox's address, from the settings (`mailbox_<team>`, e.g. `mailbox_customer_care`)."""
    cfg = settings()
    return {team: str(getattr(cfg, f"mailbox_{team.value}")) for team in MAILBOXES}


def _customer_email(data: EventData) -> str | None:
    """The customer an event is about: on an order's or a complaint's event, or in an exception's
    details (an overdue offline payment names its order's customer there)."""
    if isinstance(data, OrderData | ComplaintData):
        return data.customer_email
    if isinstance(data, ExceptionData):
        return data.customer_email or _details(data).customer_email
    return None


def addresses(recipient: Recipient, loaded: Loaded) -> list[str]:
    """The addresses a role stands for on this event (possibly none)."""
    data = loaded.event.data
    found: list[str | None]
    if recipient is Recipient.CUSTOMER:
        found = [_customer_email(data)]
    elif recipient is Recipient.SUPPLIER:
        found = list(loaded.supplier_contacts)
    elif recipient is Recipient.BUYER:
        found = [loaded.buyer_email]
    elif recipient is Recipient.ASSIGNEE:
        found = [data.assignee if isinstance(data, ExceptionData) else None]
    else:
        found = [mailboxes()[recipient]]
    return [normalise_address(a) for a in found if a and "@" in a]


# ---------------------------------------------------------------- templates


def _url(path: str) -> str:
    return settings().public_url.rstrip("/") + path


def _site(path: str) -> str:
    """A page of the site (`/#/...` the admin page, `/track/`, `/supplier/`): where e-mail links go."""
    return settings().site_base + path


def staff_link(kind: str, subject_id: str) -> str:
    """The admin page's screen of an exception, order, PO or complaint (`kind`: its hash route)."""
    return _site(f"/#/{kind}/{subject_id}")


def supplier_link(kind: str, subject_id: str) -> str:
    """The supplier front office's screen of a PO or complaint."""
    return _site(f"/supplier/#/{kind}/{subject_id}")


def customer_link(order_id: str, loaded: Loaded) -> str:
    """The order page of the event's order, with a token minted now from the order's link generation."""
    from . import track

    return track.order_page_url(order_id, loaded.link_generation)


def _order_of(data: EventData) -> str | None:
    """The order a customer's mail is about: on the event, or in an exception's details."""
    if isinstance(data, ExceptionData):
        return _details(data).order_id
    order_id = data.order_id if isinstance(data, EventRefs) else None
    return order_id or None


def link(rule: NotificationRule, loaded: Loaded) -> str | None:
    """Where the mail points (kept on held mail: the digest lists it): customers to their order page,
    staff to the admin page's screen of the subject, suppliers to the front office's."""
    data, refs = loaded.event.data, loaded.refs
    if rule.recipient is Recipient.CUSTOMER:
        order_id = _order_of(data)
        return customer_link(order_id, loaded) if order_id else None
    supplier_side = rule.recipient is Recipient.SUPPLIER
    if isinstance(data, ExceptionData) and rule.event_type.startswith("exception."):
        if supplier_side:
            po_id = data.po_id or _details(data).po_id
            return supplier_link("purchase-orders", po_id) if po_id else None
        if data.exception_id:
            return staff_link("exceptions", data.exception_id)
    if isinstance(data, ComplaintData) and rule.event_type.startswith("complaint.") and data.complaint_id:
        cid = data.complaint_id
        return supplier_link("complaints", cid) if supplier_side else staff_link("complaints", cid)
    if refs.po_id:
        return supplier_link("purchase-orders", refs.po_id) if supplier_side else staff_link("purchase-orders", refs.po_id)
    if refs.order_id and not supplier_side:
        return staff_link("orders", refs.order_id)
    return None


def _when(value: str | None) -> datetime | None:
    if value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _utc(value: str | None) -> datetime | None:
    when = _when(value)
    return when.astimezone(UTC) if when is not None else None


def _words(code: str | None) -> str:
    return str(code or "").replace("_", " ")


# ---------------------------------------------------------------- the customer's language

WHOLE_ORDER_HEADLINE = "headline.order.lines_rejected.whole_order"


def _headline_key(rule: NotificationRule) -> str:
    return f"headline.{rule.event_type}"  # one customer rule per event type


def catalogue_keys() -> frozenset[str]:
    """The catalogue keys asked for here rather than by a template: each customer rule's headline and
    the wording of every status a customer's mail can name (chalicelib/i18n)."""
    customer = [_headline_key(r) for r in rules_for_customers()]
    statuses = [f"status.{code}" for code in {*CUSTOMER_STATUS_TEXT, *PARCEL_STATUS_TEXT}]
    return frozenset({*customer, *statuses, WHOLE_ORDER_HEADLINE})


def active_rules() -> tuple[NotificationRule, ...]:
    """The rules in force: staff's (the settings screen), else the code's; read through the cached
    settings, so a change reaches every consumer within `settings_cache_s` without a deploy."""
    return settings().notification_rule_set()


def rules_for_customers() -> list[NotificationRule]:
    return [r for r in RULES if r.recipient is Recipient.CUSTOMER]


def _status_text(status: str, text: i18n.Messages) -> str:
    """A status as the customer reads it, in their language (a code without wording: in words)."""
    return text.get(f"status.{status}") or _words(status)


def _ordered_in(loaded: Loaded) -> str | None:
    data = loaded.event.data
    return i18n.supported(data.customer_locale) if isinstance(data, OrderData) else None


def mail_locale(rule: NotificationRule, loaded: Loaded, chosen: Preferences) -> str | None:
    """The language of a customer's mail: the one the order was just placed in, else the one they
    chose, else the default. Staff and supplier mail stays English (None)."""
    if rule.recipient is not Recipient.CUSTOMER:
        return None
    return i18n.resolve(_ordered_in(loaded), chosen.locale, default=settings().default_locale)


def _order_context(rule: NotificationRule, event: DomainEvent, loaded: Loaded, text: i18n.Messages) -> dict[str, Any]:
    """An order's mails: the customer's (its status, parcels, lines lost, refunds) and the supplier's
    after the close (a cancellation asked or accepted, a new ship-to), and the refund an admin approves."""
    t, order = rule.template, _facts(event, OrderData)
    currency = order.currency or ""
    if t in ("order_update", "order_shipment"):
        if t == "order_shipment":
            _named(order, PARCEL_FACTS, event)
        status = str(order.status or event.to_status or "")
        return {
            "order_id": order.order_id,
            "at": event.at,
            "status_text": _status_text(status, text) if status else "",
            "total_cents": order.total_cents if order.total_cents is not None else 0,
            "currency": currency,
            "note": event.customer_note,
            "shipment": order,  # a parcel's event names its carrier, tracking number and link
        }
    if t == "order_lines_rejected":
        ctx: dict[str, Any] = {
            "order_id": order.order_id,
            "note": event.customer_note,
            "lines": order.lines or [],
            "refund_cents": order.refund_cents or 0,
            "currency": currency,
            "payable_cents": order.payable_cents or 0,
        }
        if order.whole_order:
            ctx["headline"] = text(WHOLE_ORDER_HEADLINE)
        return ctx
    if t == "order_refund_approval":
        return {
            "order_id": order.order_id,
            "amount_cents": order.amount_cents or 0,
            "currency": currency,
            "reason": _words(order.reason),
        }
    if t in SUPPLIER_ORDER_TEMPLATES:
        return {
            "order_id": order.order_id,
            "reference": order.reference or order.order_id,
            "po_id": order.po_id,
            "lines": order.lines or [],
            "whole_delivery": order.whole_delivery,
            "request_id": order.request_id,
            "ship_to": loaded.ship_to.as_dict() if loaded.ship_to is not None else None,
            "supplier_name": loaded.supplier_name,
        }
    if t == "order_refund":
        return {
            "order_id": order.order_id,
            "note": event.customer_note,
            "amount_cents": order.amount_cents or 0,
            "currency": currency,
        }
    return {}


def _complaint_context(event: DomainEvent) -> dict[str, Any]:
    complaint = _facts(event, ComplaintData)
    return {
        "complaint_id": complaint.complaint_id,
        "order_id": complaint.order_id,
        "po_id": complaint.po_id,
        "supplier_id": complaint.supplier_id,
        "reason": _words(complaint.reason),
        "note": event.customer_note,
        "question": complaint.question,
        "refund_cents": complaint.refund_cents,
        "amount_cents": complaint.amount_cents,
        "currency": complaint.currency or "",
        "carrier": str(complaint.carrier or "").upper(),
        "tracking_number": complaint.tracking_number,
        "lines_text": complaint.lines_text or "",
    }


def _po_context(rule: NotificationRule, event: DomainEvent, loaded: Loaded) -> dict[str, Any]:
    po = _facts(event, POData)
    if rule.template == "po_created":
        if loaded.po is None:
            raise LookupError(f"purchase order {po.po_id} not found")
        return {
            "po": loaded.po,
            "supplier_name": loaded.supplier_name,
            "campaign_name": loaded.campaign_name,
            "audience": "supplier" if rule.recipient is Recipient.SUPPLIER else "buyer",
        }
    stage = po.stage or ""
    return {
        "po_id": po.po_id,
        "campaign_id": po.campaign_id,
        "supplier_id": po.supplier_id,
        "stage": stage,
        "stage_title": STAGE_TITLE.get(stage, stage),
        "deadline": po.deadline,
        "ordered_cents": po.ordered_cents or 0,
        "currency": po.currency or "",
        "reminders": po.reminders if po.reminders is not None else 0,
    }


def _exception_context(rule: NotificationRule, event: DomainEvent, loaded: Loaded) -> dict[str, Any]:
    """The staff queue's mails, and the ones an exception's kind asks for: the customer's payment
    reminder, the supplier's quiet parcel, the buyer's held order."""
    t, exc = rule.template, _facts(event, ExceptionData)
    details = _details(exc)
    if t == "order_payment_reminder":
        return {"order_id": details.order_id, "amount_cents": details.amount_cents or 0, "currency": details.currency or ""}
    if t == "tracking_stale":
        _named(details, (*PARCEL_FACTS, "po_id", "order_ids"), event)
        return {
            "shipment": details,  # the quiet parcel: services/shipment_records.py `refs`
            "abandoned": details.abandoned,
            "last_event_at": _when(details.last_event_at),
            "supplier_name": loaded.supplier_name,
            "po_link": supplier_link("purchase-orders", str(details.po_id)),
        }
    if t == "held_order_warning":
        return {
            "exception_id": exc.exception_id,
            "exception_link": staff_link("exceptions", str(exc.exception_id)),
            "order_link": staff_link("orders", str(details.order_id or exc.subject_id)),
            "order_id": details.order_id or exc.subject_id,
            "campaign_id": exc.campaign_id,
            "total_cents": details.total_cents or 0,
            "currency": details.currency or "",
            "reasons": reasons_text(list(details.hold_reasons or [])),
            "decide_by": _utc(details.decide_by),
            "ends_at": _utc(details.campaign_ends_at),
            "at_close": settings().held_at_close_policy().value,
            "setting": HELD_AT_CLOSE_SETTING,
            "campaign_name": loaded.campaign_name,
        }
    if t.startswith("exception_"):
        return {
            "exception_id": exc.exception_id,
            "exception_link": staff_link("exceptions", str(exc.exception_id)),
            "kind": exc.kind,
            "title": exc.title,
            "severity": exc.severity,
            "owner": exc.owner,
            "subject_type": exc.subject_type,
            "subject_id": exc.subject_id,
            "count": exc.count if exc.count is not None else 1,
            "level": exc.level if exc.level is not None else 0,
            "assignee": exc.assignee,
            "target": exc.target,
            "details": details,
            "supplier_id": exc.supplier_id,
            "campaign_id": exc.campaign_id,
        }
    return {}


def context(rule: NotificationRule, loaded: Loaded, locale: str | None = None) -> dict[str, Any]:
    """What the rule's template is rendered with: the facts of its event's model, never its JSON form.
    A customer's mail speaks `locale` (else the default); staff and supplier mail stays English."""
    event = loaded.event
    customer = rule.recipient is Recipient.CUSTOMER
    text = i18n.Messages(i18n.resolve(locale, default=settings().default_locale) if customer else "en")
    ctx: dict[str, Any] = {
        "locale": text.locale,
        "headline": text(_headline_key(rule)) if customer else rule.headline,
        "category": rule.category.value,
        "link": link(rule, loaded),
        "preferences_url": _url("/me/notification-preferences"),
    }
    t = rule.template
    if t == STAFF_EVENT:  # the plain staff mail a stored rule may send for any event
        ctx.update(event_type=event.type, subject_type=event.subject_type, subject_id=event.subject_id, at=event.at)
        return ctx
    if isinstance(event.data, ExceptionData):
        ctx.update(_exception_context(rule, event, loaded))
    elif t.startswith("complaint_"):
        ctx.update(_complaint_context(event))
    elif t.startswith("po_"):
        ctx.update(_po_context(rule, event, loaded))
    elif t.startswith(("order_", "supplier_")):
        ctx.update(_order_context(rule, event, loaded, text))
    return ctx


# ---------------------------------------------------------------- the outbox


@dataclass
class Planned:
    """One e-mail to deliver (or hold, or skip) for one (event, address)."""

    event_id: str
    event_type: str
    address: str
    role: str
    template: str
    category: Category
    disposition: Disposition
    mail: mail.Mail | None
    link: str | None = None


def _save(entry: Versioned[OutboxEntry]) -> Versioned[OutboxEntry] | None:
    """Write the entry under the version it was read at; None when someone else changed it first."""
    try:
        uow.store().commit(
            [Save(entry.value, entry.version)], what=f"e-mail of {entry.value.event_id}", at=entry.value.updated_at
        )
    except Conflict:
        return None
    return Versioned(entry.value, entry.version + 1)


def _claim(p: Planned, existing: Versioned[OutboxEntry] | None, at: datetime) -> Versioned[OutboxEntry] | None:
    """Write the record before sending. None: already done (or taken by another consumer just now)."""
    sending = p.disposition is Disposition.SEND
    status = "sending" if sending else p.disposition.value
    held_at = at if p.disposition is Disposition.HOLD_FOR_DIGEST else None
    if existing is None:
        entry = OutboxEntry(
            event_id=p.event_id,
            address=p.address,
            event_type=p.event_type,
            recipient_role=p.role,
            template=p.template,
            category=p.category.value,
            status=status,
            attempts=1 if sending else 0,
            created_at=at,
            updated_at=at,
            subject=p.mail.subject if p.mail else None,
            link=p.link,
            lease_until=at + timedelta(seconds=LEASE_S) if sending else None,
            held_at=held_at,
            expires_at=int(at.timestamp()) + OUTBOX_TTL_S,
        )
        try:
            uow.store().commit([Save(entry, None)], what=f"e-mail of {p.event_id}", at=at)
        except AlreadyExists:
            return None
        return Versioned(entry, 1)
    record = existing.value
    if record.status in DONE:
        return None
    if record.status == "sending" and record.lease_until is not None and record.lease_until > at:
        raise DeliveryFailed(f"{p.event_id} to {p.address} is being sent by another consumer")
    # Failed before (or claimed by a consumer that died): take it again.
    record.status = status
    record.attempts += 1 if sending else 0
    record.lease_until = at + timedelta(seconds=LEASE_S) if sending else None
    record.updated_at = at
    if p.mail is not None:
        record.subject = p.mail.subject
    if held_at is not None:
        record.held_at = held_at
    return _save(existing)


def deliver(p: Planned, existing: Versioned[OutboxEntry] | None) -> str:
    """Record, then send (or hold, or skip). Returns the outcome: sent / held_for_digest /
    skipped_opted_out / duplicate. Raises when SES refuses (the record says `failed`)."""
    at = now()
    claimed = _claim(p, existing, at)
    if claimed is None:
        return "duplicate"
    if p.disposition is not Disposition.SEND:
        return p.disposition.value
    assert p.mail is not None
    entry = claimed.value
    try:
        message_id = mail.send(p.mail)
    except Exception as exc:
        entry.status, entry.lease_until, entry.updated_at = "failed", None, now()
        entry.last_error = f"{type(exc).__name__}: {exc}"[:ERROR_CHARS]
        _save(claimed)
        raise
    entry.status, entry.message_id, entry.lease_until = "sent", message_id, None
    entry.sent_at = entry.updated_at = now()
    if _save(claimed) is None:
        logger.warning("outbox record changed while sending", extra={"event_id": p.event_id, "to": p.address})
    return "sent"


@dataclass
class Outcome:
    sent: int = 0
    held: int = 0
    skipped: int = 0
    duplicates: int = 0
    failed: list[str] = field(default_factory=list)


def handle(event: DomainEvent) -> Outcome:
    """Deliver what the rules say for one domain event. Every address is tried; if any failed,
    DeliveryFailed is raised at the end so the message comes back for exactly those."""
    # The rules read the event's fields by attribute and the templates get the facts of its model.
    rules = rules_for(event, active_rules())
    outcome = Outcome()
    if not rules:
        return outcome
    event_id = event.id
    loaded = load(event, rules)
    targets: dict[str, NotificationRule] = {}
    for rule in rules:  # first rule wins for an address two roles share
        for address in addresses(rule.recipient, loaded):
            targets.setdefault(address, rule)
    if not targets:
        return outcome
    state = uow.store().mail_state(event_id, list(targets))
    prefs, records = state.preferences, state.outbox
    for address, rule in targets.items():
        existing = records.get(address)
        if existing is not None and existing.value.status in DONE:
            outcome.duplicates += 1
            continue
        chosen = _preferences(address, prefs.get(address))
        disposition = decide(rule.category, opted_out=chosen.opt_out, alerts=chosen.alerts)
        locale = mail_locale(rule, loaded, chosen)
        if locale is not None and locale != chosen.locale and _ordered_in(loaded) == locale:
            # An order placed in a language makes it the customer's (one write, only when it changes).
            set_locale(address, locale, by=address)
        rendered = (
            None
            if disposition is Disposition.SKIP_OPTED_OUT
            else mail.render(rule.template, address, **context(rule, loaded, locale))
        )
        planned = Planned(
            event_id,
            event.type,
            address,
            rule.recipient.value,
            rule.template,
            rule.category,
            disposition,
            rendered,
            link(rule, loaded),
        )
        try:
            result = deliver(planned, existing)
        except Exception as exc:
            logger.warning(
                "e-mail not sent; the event will be redelivered", extra={"event_id": event_id, "to": address, "error": str(exc)}
            )
            outcome.failed.append(address)
            continue
        if result == "sent":
            outcome.sent += 1
        elif result == "held_for_digest":
            outcome.held += 1
        elif result == "skipped_opted_out":
            outcome.skipped += 1
        else:
            outcome.duplicates += 1
    if outcome.failed:
        raise DeliveryFailed(f"event {event_id}: not sent to {', '.join(outcome.failed)}")
    return outcome


# ---------------------------------------------------------------- the daily digest


@dataclass
class KindSummary:
    kind: str
    title: str
    by_severity: dict[str, int]
    total: int


@dataclass
class DigestResult:
    day: str
    sent: list[str] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)
    opted_out: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "sent": len(self.sent),
            "already_sent": len(self.already_sent),
            "opted_out": len(self.opted_out),
            "failed": len(self.failed),
        }


def summarise(records: list[ExceptionRecord]) -> list[KindSummary]:
    """Counts per kind and severity, the worst kinds first."""
    by_kind: dict[str, list[ExceptionRecord]] = defaultdict(list)
    for r in records:
        by_kind[r.kind].append(r)
    out = [
        KindSummary(kind, rs[0].title, {s.value: sum(1 for r in rs if r.severity is s) for s in Severity}, len(rs))
        for kind, rs in by_kind.items()
    ]
    return sorted(out, key=lambda k: (min(SEVERITY_RANK[Severity(s)] for s, n in k.by_severity.items() if n), -k.total, k.kind))


def _team_exceptions(records: list[ExceptionRecord]) -> dict[str, list[ExceptionRecord]]:
    """Open exceptions per team address: the mailboxes by owner, the campaign's buyer for buyer kinds
    (one BatchGetItem of those campaigns)."""
    mailbox = {role.value: address for role, address in mailboxes().items()}
    campaign_ids = sorted({r.campaign_id for r in records if r.owner.value == "buyer" and r.campaign_id})
    buyers = uow.store().campaign_buyers(campaign_ids)
    out: dict[str, list[ExceptionRecord]] = defaultdict(list)
    for r in records:
        owner = r.owner.value
        address = buyers.get(r.campaign_id or "") if owner == "buyer" else mailbox.get(owner)
        if address:
            out[normalise_address(address)].append(r)
    return out


def _clear(lines: list[Versioned[OutboxEntry]], status: str, at: datetime) -> None:
    """Held mail leaves the digest's list: carried by today's digest, or its reader opted out."""
    for line in lines:
        line.value.status, line.value.digested_at, line.value.updated_at = status, at, at
        if _save(line) is None:
            logger.warning("held mail changed while clearing it", extra={"event_id": line.value.event_id})


def daily_digest(at: datetime | None = None) -> DigestResult:
    """One digest per (address, UTC day): a team's open exceptions and the mail held for it.
    Reads: one Query of the open exceptions, one Query of the held mail, one BatchGetItem of the
    buyers' campaigns, one BatchGetItem of preferences and today's digest records."""
    from . import exceptions as exception_service  # the exceptions service is only needed here

    at = at or now()
    day = at.astimezone(UTC).date().isoformat()
    result = DigestResult(day)
    records = [r for r in exception_service.open_records() if r.status.value != "pending"]
    teams = _team_exceptions(records)
    held: dict[str, list[Versioned[OutboxEntry]]] = defaultdict(list)
    for entry in uow.store().held_mail():
        held[entry.value.address].append(entry)
    everyone = sorted(set(teams) | set(held))
    if not everyone:
        return result
    event_id = digest_event_id(day)
    state = uow.store().mail_state(event_id, everyone)
    prefs, sent_today = state.preferences, state.outbox
    for address in everyone:
        chosen = _preferences(address, prefs.get(address))
        lines = sorted(held.get(address, []), key=lambda i: i.value.held_at or i.value.created_at)
        if chosen.opt_out:
            _clear(lines, "skipped_opted_out", at)
            result.opted_out.append(address)
            continue
        existing = sent_today.get(address)
        if existing is not None and existing.value.status in DONE:
            result.already_sent.append(address)  # what was held since waits for tomorrow's
            continue
        open_ = sorted(teams.get(address, []), key=lambda r: (r.opened_at, r.id))
        rendered = mail.render(
            "daily_digest",
            address,
            day=day,
            total=len(open_),
            kinds=summarise(open_),
            oldest=[
                {
                    "id": r.id,
                    "title": r.title,
                    "severity": r.severity.value,
                    "status": r.status.value,
                    "subject_type": r.subject_type,
                    "subject_id": r.subject_id,
                    "opened_at": r.opened_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
                    "link": staff_link("exceptions", r.id),
                }
                for r in open_[:DIGEST_OLDEST]
            ],
            held=[{"subject": i.value.subject or i.value.template, "link": i.value.link} for i in lines],
            category=Category.DIGEST.value,
            preferences_url=_url("/me/notification-preferences"),
        )
        planned = Planned(
            event_id,
            "daily_digest",
            address,
            "digest",
            "daily_digest",
            Category.DIGEST,
            Disposition.SEND,
            rendered,
            _site("/#/exceptions"),
        )
        try:
            outcome = deliver(planned, existing)
        except Exception as exc:
            logger.warning("digest not sent", extra={"to": address, "error": str(exc)})
            result.failed.append(address)
            continue
        if outcome == "sent":
            _clear(lines, "digested", at)
            result.sent.append(address)
        else:
            result.already_sent.append(address)
    if result.failed:
        raise DeliveryFailed(f"daily digest {day}: not sent to {', '.join(result.failed)}")
    return result
