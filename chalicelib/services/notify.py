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

The daily digest (`daily_digest`) goes out through the same outbox, once per (address, UTC day):
per team mailbox the open exceptions of the kinds the team owns, plus the mail held for that
address; people who opted out get nothing."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ..adapters import mail
from ..config import settings
from ..domain.addresses import Address
from ..domain.audit import status_text
from ..domain.errors import AlreadyExists, Conflict, RuleViolation
from ..domain.exceptions import SEVERITY_RANK, ExceptionRecord, Severity
from ..domain.holds import HELD_AT_CLOSE_SETTING, reasons_text
from ..domain.notifications import (
    MAILBOXES,
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
from ..events import DomainEvent
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
        chosen = Preferences(address, opt_out=opt_out, alerts=alerts, updated_at=at, updated_by=actor.email or actor.sub)
        uow.store().commit([Save(chosen, found.version if found else None)], what=f"preferences of {address}", at=at)
        return chosen

    return on_conflict(replace_them, what=f"preferences of {address}")


# ---------------------------------------------------------------- what one event needs


@dataclass
class Loaded:
    """The event and the stored facts its rules read (one read, only what is needed)."""

    event: dict[str, Any]
    data: dict[str, Any]
    po: PurchaseOrder | None = None
    supplier_name: str = ""
    supplier_contacts: list[str] = field(default_factory=list)
    campaign_name: str = ""
    buyer_email: str | None = None
    ship_to: Address | None = None  # the supplier's delivery's ship-to, once the supplier may see it


# Supplier mails about one order after the close: the order's reference and lines, never the customer's e-mail.
SUPPLIER_ORDER_TEMPLATES = ("supplier_cancellation_request", "supplier_lines_cancelled", "supplier_ship_to_changed")
SHIP_TO_TEMPLATE = "supplier_ship_to_changed"


def load(event: dict[str, Any], rules: list[NotificationRule]) -> Loaded:
    data = event.get("data") or {}
    loaded = Loaded(event, data)
    roles = {r.recipient for r in rules}
    templates = {r.template for r in rules}
    supplier_id = str(data["supplier_id"]) if data.get("supplier_id") else None
    facts = uow.store().notification_facts(
        supplier_id=supplier_id if Recipient.SUPPLIER in roles or templates & {"po_created", "tracking_stale"} else None,
        campaign_id=str(data["campaign_id"])
        if data.get("campaign_id") and (Recipient.BUYER in roles or "po_created" in templates)
        else None,
        po_id=str(data["po_id"]) if data.get("po_id") and "po_created" in templates else None,
        delivery=(str(data["order_id"]), supplier_id)  # the ship-to is not on the bus: read here
        if data.get("order_id") and supplier_id and SHIP_TO_TEMPLATE in templates
        else None,
    )
    loaded.po, loaded.ship_to = facts.po, facts.ship_to
    loaded.supplier_name, loaded.supplier_contacts = facts.supplier_name, facts.supplier_contacts
    loaded.campaign_name, loaded.buyer_email = facts.campaign_name, facts.buyer_email
    return loaded


def mailboxes() -> dict[Recipient, str]:
    """Each team mailbox's address, from the settings (`mailbox_<team>`, e.g. `mailbox_customer_care`)."""
    cfg = settings()
    return {team: str(getattr(cfg, f"mailbox_{team.value}")) for team in MAILBOXES}


def addresses(recipient: Recipient, loaded: Loaded) -> list[str]:
    """The addresses a role stands for on this event (possibly none)."""
    data = loaded.data
    found: list[Any]
    if recipient is Recipient.CUSTOMER:  # an exception about an order carries it in its details
        found = [data.get("customer_email") or (data.get("details") or {}).get("customer_email")]
    elif recipient is Recipient.SUPPLIER:
        found = list(loaded.supplier_contacts)
    elif recipient is Recipient.BUYER:
        found = [loaded.buyer_email]
    elif recipient is Recipient.ASSIGNEE:
        found = [data.get("assignee")]
    else:
        found = [mailboxes()[recipient]]
    return [normalise_address(str(a)) for a in found if a and "@" in str(a)]


# ---------------------------------------------------------------- templates


def _url(path: str) -> str:
    return settings().public_url.rstrip("/") + path


def link(rule: NotificationRule, loaded: Loaded) -> str | None:
    """Where the mail points (kept on held mail: the digest lists it)."""
    data = loaded.data
    if rule.recipient is Recipient.CUSTOMER and rule.event_type.startswith("exception."):
        order_id = (data.get("details") or {}).get("order_id")
        return _url(f"/orders/{order_id}") if order_id else None
    if rule.event_type.startswith("exception.") and data.get("exception_id"):
        return _url(f"/staff/exceptions/{data['exception_id']}")
    if rule.event_type.startswith("complaint.") and data.get("complaint_id"):
        cid = data["complaint_id"]
        if rule.recipient is Recipient.CUSTOMER:
            return _url(f"/orders/{data.get('order_id')}/complaints/{cid}")
        return _url(f"/supplier/complaints/{cid}" if rule.recipient is Recipient.SUPPLIER else f"/staff/complaints/{cid}")
    if data.get("po_id"):
        supplier_side = rule.recipient is Recipient.SUPPLIER
        return _url(f"/supplier/purchase-orders/{data['po_id']}" if supplier_side else f"/staff/purchase-orders/{data['po_id']}")
    if data.get("order_id"):
        staff_side = rule.recipient not in (Recipient.CUSTOMER, Recipient.SUPPLIER)
        return _url(f"/staff/orders/{data['order_id']}" if staff_side else f"/orders/{data['order_id']}")
    return None


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _utc(value: Any) -> datetime | None:
    when = _when(value)
    return when.astimezone(UTC) if when is not None else None


def context(rule: NotificationRule, loaded: Loaded) -> dict[str, Any]:
    """What the rule's template is rendered with."""
    data, event = loaded.data, loaded.event
    ctx: dict[str, Any] = {
        "headline": rule.headline,
        "category": rule.category.value,
        "link": link(rule, loaded),
        "preferences_url": _url("/me/notification-preferences"),
    }
    t = rule.template
    if t in ("order_update", "order_shipment"):
        status = data.get("status") or event.get("to_status") or ""
        ctx.update(
            order_id=data.get("order_id"),
            status_text=status_text(status) if status else "",
            total_cents=data.get("total_cents", 0),
            currency=data.get("currency", ""),
            note=event.get("customer_note"),
            shipment=data,
        )
    elif t == "order_lines_rejected":
        ctx.update(
            order_id=data.get("order_id"),
            note=event.get("customer_note"),
            lines=data.get("lines") or [],
            refund_cents=int(data.get("refund_cents") or 0),
            currency=data.get("currency", ""),
            payable_cents=int(data.get("payable_cents") or 0),
        )
        if data.get("whole_order"):
            ctx["headline"] = "Your order cannot be supplied"
    elif t == "order_refund_approval":
        ctx.update(
            order_id=data.get("order_id"),
            amount_cents=int(data.get("amount_cents") or 0),
            currency=data.get("currency", ""),
            reason=str(data.get("reason") or "").replace("_", " "),
        )
    elif t == "order_payment_reminder":
        details = data.get("details") or {}
        ctx.update(
            order_id=details.get("order_id"),
            amount_cents=int(details.get("amount_cents") or 0),
            currency=details.get("currency", ""),
        )
    elif t in SUPPLIER_ORDER_TEMPLATES:
        ctx.update(
            order_id=data.get("order_id"),
            reference=data.get("reference") or data.get("order_id"),
            po_id=data.get("po_id"),
            lines=data.get("lines") or [],
            whole_delivery=bool(data.get("whole_delivery")),
            request_id=data.get("request_id"),
            ship_to=loaded.ship_to.as_dict() if loaded.ship_to is not None else None,
            supplier_name=loaded.supplier_name,
        )
    elif t == "order_refund":
        ctx.update(
            order_id=data.get("order_id"),
            note=event.get("customer_note"),
            amount_cents=int(data.get("amount_cents") or 0),
            currency=data.get("currency", ""),
        )
    elif t.startswith("complaint_"):
        ctx.update(
            complaint_id=data.get("complaint_id"),
            order_id=data.get("order_id"),
            po_id=data.get("po_id"),
            supplier_id=data.get("supplier_id"),
            reason=str(data.get("reason") or "").replace("_", " "),
            note=event.get("customer_note"),
            question=data.get("question"),
            refund_cents=data.get("refund_cents"),
            amount_cents=data.get("amount_cents"),
            currency=data.get("currency") or "",
            carrier=str(data.get("carrier") or "").upper(),
            tracking_number=data.get("tracking_number"),
            lines_text=data.get("lines_text") or "",
        )
    elif t == "po_created":
        if loaded.po is None:
            raise LookupError(f"purchase order {data.get('po_id')} not found")
        ctx.update(
            po=loaded.po,
            supplier_name=loaded.supplier_name,
            campaign_name=loaded.campaign_name,
            audience="supplier" if rule.recipient is Recipient.SUPPLIER else "buyer",
        )
    elif t.startswith("po_stage_"):
        stage = str(data.get("stage") or "")
        ctx.update(
            po_id=data.get("po_id"),
            campaign_id=data.get("campaign_id"),
            supplier_id=data.get("supplier_id"),
            stage=stage,
            stage_title=STAGE_TITLE.get(stage, stage),
            deadline=data.get("deadline"),
            ordered_cents=int(data.get("ordered_cents") or 0),
            currency=data.get("currency", ""),
            reminders=data.get("reminders", 0),
        )
    elif t == "tracking_stale":
        details = data.get("details") or {}
        ctx.update(
            shipment=details,
            abandoned=bool(details.get("abandoned")),
            last_event_at=_when(details.get("last_event_at")),
            supplier_name=loaded.supplier_name,
        )
    elif t == "held_order_warning":
        details = data.get("details") or {}
        ctx.update(
            exception_id=data.get("exception_id"),
            order_id=details.get("order_id") or data.get("subject_id"),
            campaign_id=data.get("campaign_id"),
            total_cents=int(details.get("total_cents") or 0),
            currency=details.get("currency") or "",
            reasons=reasons_text(list(details.get("hold_reasons") or [])),
            decide_by=_utc(details.get("decide_by")),
            ends_at=_utc(details.get("campaign_ends_at")),
            at_close=settings().held_at_close_policy().value,
            setting=HELD_AT_CLOSE_SETTING,
            campaign_name=loaded.campaign_name,
        )
    elif t.startswith("exception_"):
        ctx.update(
            exception_id=data.get("exception_id"),
            kind=data.get("kind"),
            title=data.get("title"),
            severity=data.get("severity"),
            owner=data.get("owner"),
            subject_type=data.get("subject_type"),
            subject_id=data.get("subject_id"),
            count=data.get("count", 1),
            level=data.get("level", 0),
            assignee=data.get("assignee"),
            target=data.get("target"),
            details=data.get("details") or {},
            supplier_id=data.get("supplier_id"),
            campaign_id=data.get("campaign_id"),
        )
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


def handle(typed: DomainEvent) -> Outcome:
    """Deliver what the rules say for one domain event. Every address is tried; if any failed,
    DeliveryFailed is raised at the end so the message comes back for exactly those."""
    # The rules and the templates read the event's facts by name (domain/notifications.py takes
    # plain mappings: the domain knows no pydantic), so they get its JSON form, every fact included.
    event = typed.payload()
    rules = rules_for(event)
    outcome = Outcome()
    if not rules:
        return outcome
    event_id = typed.id
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
        rendered = (
            None if disposition is Disposition.SKIP_OPTED_OUT else mail.render(rule.template, address, **context(rule, loaded))
        )
        planned = Planned(
            event_id,
            typed.type,
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
                    "link": _url(f"/staff/exceptions/{r.id}"),
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
            _url("/staff/exceptions"),
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
