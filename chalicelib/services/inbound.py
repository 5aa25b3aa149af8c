"""Inbound webhooks (carriers, the bank, supplier systems): verify, store, acknowledge, then apply
from a queue.

Receiving (`receive`), before any 2xx:
1. the Standard Webhooks signature over id, timestamp and raw body, against every active secret of
   that sender (Secrets Manager, several during a rotation), timestamp within ±5 minutes either way;
2. the body parses as that sender's format (so a sender learns of a malformed payload at once);
3. one conditional write keeps the raw body as the webhook's `InboxEntry` (services/ports_consumers.py;
   the second delivery of an id is a `duplicate`, with no effect).
Nothing is stored for a request that fails 1 or 2.

Applying (`process`, the inbound-webhooks queue): the stream publisher turns each new inbox item
into a `webhook.received` event (carrying the body when it is small). Carrier events are applied
straight from it: each is idempotent on its own (a TRACK item per carrier event, the shipment's
version) and names its webhook, so they cost one read and one transaction each, and the consumer
takes its exactly-once record (claim + complete, handlers/batch.py) only for the events no recorded
parcel took (`once`: an unknown number's exception bump is not create-only). Bank and
supplier webhooks (stage actions and complaint answers, which must not run twice) are read back
from the inbox, applied once and marked processed with their outcome. A business refusal (the PO is not at that stage,
say) is recorded on the inbox item and raised as `inbound_webhook_failed` for staff; a lost race
is retried by the queue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..adapters import secrets
from ..domain import carrier_formats, json_text
from ..domain import shipments as shipment_rules
from ..domain.complaints import ComplaintAction
from ..domain.errors import AlreadyExists, Conflict, DomainError, RuleViolation
from ..domain.permissions import Principal, Role
from ..domain.purchase_orders import LineAcceptance, RejectReason
from ..domain.shipments import CarrierEvent, ShipmentStatus
from ..observability import logger
from . import complaints, exceptions, tracking, uow
from .clock import now
from .ports import Save
from .ports_consumers import InboxEntry
from .ports_shipments import ShipmentRecord, TrackEvent
from .retry import on_conflict

FOLLOWS = 1  # a carrier event kept for a parcel nobody recorded yet is written as it is, whatever is there

INBOX_TTL_S = 30 * 86400
BANK = "bank"
SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
MAX_BODY_BYTES = 256 * 1024
MAX_SUBJECT_ID = 200  # a longer id in a body names nothing we keep: the webhook is the subject then


def carrier_sender(carrier: str) -> str:
    return f"carrier:{carrier}"


def supplier_sender(supplier_id: str) -> str:
    return f"supplier:{supplier_id}"


class WebhookRejected(Exception):
    """The request is refused before anything is stored (status 400 or 401)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def verify(sender: str, raw: bytes, headers: dict[str, str]) -> dict[str, Any]:
    """Standard Webhooks: HMAC over id, timestamp and raw body with any current secret, ±5 minutes."""
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    lowered = {k.lower(): v for k, v in headers.items()}
    missing = [h for h in SIGNATURE_HEADERS if not lowered.get(h)]
    if missing:
        raise WebhookRejected(400, "missing_signature_headers", f"missing header(s): {', '.join(missing)}")
    if len(lowered["webhook-id"]) > 200:
        raise WebhookRejected(400, "invalid_webhook_id", "webhook-id is too long")
    if len(raw) > MAX_BODY_BYTES:
        raise WebhookRejected(400, "body_too_large", f"the body exceeds {MAX_BODY_BYTES} bytes")
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise WebhookRejected(400, "invalid_body", "the body is not UTF-8") from None
    for secret in secrets.webhook_secrets(sender):
        try:
            Webhook(secret).verify(text, lowered, json_parse=False)
        except WebhookVerificationError:
            continue
        except (ValueError, TypeError):  # a malformed signature header
            raise WebhookRejected(401, "invalid_signature", "the signature header is malformed") from None
        try:
            body = json_text.parse(text)
        except json_text.InvalidJson as exc:
            raise WebhookRejected(400, "invalid_json", str(exc)) from None
        if not isinstance(body, dict):
            raise WebhookRejected(400, "invalid_json", "the body must be a JSON object")
        return body
    raise WebhookRejected(401, "invalid_signature", "the signature does not match, or the timestamp is outside ±5 minutes")


@dataclass
class Received:
    status: str  # accepted, duplicate
    webhook_id: str


def receive(sender: str, raw: bytes, headers: dict[str, str], parse: Callable[[dict[str, Any]], object]) -> Received:
    """Verify, check the format, store once (see the module docstring)."""
    body = verify(sender, raw, headers)
    parse(body)
    webhook_id = {k.lower(): v for k, v in headers.items()}["webhook-id"]
    at = now()
    event_type = body.get("type")
    entry = InboxEntry(
        sender=sender,
        webhook_id=webhook_id,
        body=raw.decode(),
        event_type=str(event_type)[:100] if event_type is not None else None,
        received_at=at,
        expires_at=int(at.timestamp()) + INBOX_TTL_S,
    )
    return Received("accepted" if uow.store().keep_webhook(entry) else "duplicate", webhook_id)


# ---------------------------------------------------------------- per-sender formats


def parse_carrier(carrier: str) -> Callable[[dict[str, Any]], list[shipment_rules.CarrierEvent]]:
    fmt = shipment_rules.carrier(carrier).format
    return lambda body: carrier_formats.parse(fmt, body)


def parse_bank(body: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(body.get("type"), str):
        raise RuleViolation(
            "invalid_payload", "a bank event has a string `type`", details=[{"field": "type", "message": "required string"}]
        )
    return body


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AckLine(_Strict):
    sku: str = Field(min_length=1, max_length=64)
    accepted_quantity: int = Field(ge=0)
    reason: RejectReason | None = None


class AckData(_Strict):
    po_id: str = Field(min_length=1, max_length=64)
    lines: list[AckLine] = Field(min_length=1, max_length=500)


class NoticeData(_Strict):
    po_id: str = Field(min_length=1, max_length=64)
    carrier: str
    tracking_number: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9-]+$")
    order_ids: list[str] = Field(min_length=1, max_length=shipment_rules.MAX_ORDERS_PER_SHIPMENT)

    @field_validator("carrier")
    @classmethod
    def _known_carrier(cls, value: str) -> str:
        if value not in shipment_rules.CARRIERS:
            raise ValueError(f"unknown carrier; one of {', '.join(sorted(shipment_rules.CARRIERS))}")
        return value


class AnswerData(_Strict):
    complaint_id: str = Field(min_length=1, max_length=64)
    answer: str = Field(min_length=1, max_length=4000)


class Acknowledgement(_Strict):
    type: Literal["po.acknowledgement"]
    id: str | None = None
    data: AckData


class ShipmentNotice(_Strict):
    type: Literal["shipment.notice"]
    id: str | None = None
    data: NoticeData


class ComplaintAnswer(_Strict):
    """The supplier's answer to customer care's question on a complaint (as `POST
    /supplier/complaints/{id}/answer`)."""

    type: Literal["complaint.answer"]
    id: str | None = None
    data: AnswerData


SupplierEvent = Acknowledgement | ShipmentNotice | ComplaintAnswer
SUPPLIER_TYPES: dict[str, type[Acknowledgement] | type[ShipmentNotice] | type[ComplaintAnswer]] = {
    "po.acknowledgement": Acknowledgement,
    "shipment.notice": ShipmentNotice,
    "complaint.answer": ComplaintAnswer,
}


def parse_supplier(body: dict[str, Any]) -> SupplierEvent:
    model = SUPPLIER_TYPES.get(str(body.get("type")))
    if model is None:
        raise RuleViolation(
            "invalid_payload",
            f"`type` must be one of {', '.join(SUPPLIER_TYPES)}",
            details=[{"field": "type", "message": f"unknown event type {body.get('type')!r}"}],
        )
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        problems = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
        raise RuleViolation(
            "invalid_payload",
            "the event does not match its schema: " + "; ".join(f"{p['field']}: {p['message']}" for p in problems),
            details=problems,
        ) from None


# ---------------------------------------------------------------- carrier events: where each one goes


# Runs `work` under the consumer's exactly-once record for the message; None when the message was
# handled already (the inbound consumer's: handlers/inbound.py).
Once = Callable[[Callable[[], list[str]]], list[str] | None]


def apply_carrier_events(
    carrier: str, events: list[CarrierEvent], *, webhook_id: str | None = None, once: Once | None = None
) -> list[str]:
    """Each event routed (`apply_carrier_event`); their outcomes, in order. With `once`, the events a
    recorded parcel takes are applied without it (the parcel's create-only TRACK item in the same
    transaction makes a repeat a `duplicate`), and the others, together, under it (see `_keep`); a
    message handled already gives those `duplicate`. Without it the caller guards the whole message."""
    if once is None:
        return [apply_carrier_event(carrier, event, webhook_id=webhook_id) for event in events]
    routed = [_to_shipment(carrier, event, webhook_id) for event in events]
    rest = [(i, event, known) for i, (event, (outcome, known)) in enumerate(zip(events, routed, strict=True)) if outcome is None]
    kept = once(lambda: [_keep(carrier, event, webhook_id, known) for _, event, known in rest]) if rest else []
    outcomes = [outcome or "" for outcome, _ in routed]
    for n, (i, _, _) in enumerate(rest):
        outcomes[i] = kept[n] if kept is not None else "duplicate"
    return outcomes


def apply_carrier_event(carrier: str, event: CarrierEvent, *, webhook_id: str | None = None) -> str:
    """The one place a carrier event is routed; returns what happened (moved:<status>, recorded,
    duplicate, unknown_tracking, superseded, or a complaint parcel's outcome).

    A recorded shipment's event is applied to it (`tracking`, under its version: a lost race reads
    again). Any other event is kept under its tracking number (a `TRACK#` item) and then: a
    complaint's return or replacement parcel hears of it (`complaints.on_parcel_event`, once per
    carrier event); a number nobody knows raises `unknown_tracking` (the shipment recorded later
    replays it: `tracking.replay_early_events` on `shipment.recorded`); a superseded number keeps it."""
    outcome, known = _to_shipment(carrier, event, webhook_id)
    if outcome is not None:
        return outcome
    return _keep(carrier, event, webhook_id, known)


def _to_shipment(carrier: str, event: CarrierEvent, webhook_id: str | None) -> tuple[str | None, bool]:
    """The event applied to its recorded shipment (None when there is none, or it was superseded),
    and whether the number is recorded at all."""

    def to_shipment() -> tuple[str | None, bool]:
        found = uow.store().load(ShipmentRecord, carrier, event.tracking_number)
        if found is None or found.value.shipment.status is ShipmentStatus.SUPERSEDED:
            return None, found is not None
        return tracking.apply_to_shipment(found, event, webhook_id=webhook_id), True

    return on_conflict(to_shipment, what=f"shipment {shipment_rules.parcel_ref(carrier, event.tracking_number)}")


def _keep(carrier: str, event: CarrierEvent, webhook_id: str | None, known: bool) -> str:
    """An event no recorded parcel took, kept under its tracking number (see `apply_carrier_event`).
    Not idempotent on its own (the kept item is written as it is, the exception bumped): the caller
    runs it once per message."""
    ref = shipment_rules.parcel_ref(carrier, event.tracking_number)
    track = TrackEvent(carrier, event, now(), webhook_id)
    parcel = complaints.parcel_for(carrier, event.tracking_number) if not known else None
    if parcel is not None:  # a complaint's return or replacement parcel
        try:
            uow.store().commit([Save(track, None)], what=f"tracking {ref}", at=track.received_at)
        except AlreadyExists:
            return "duplicate"
        return complaints.on_parcel_event(parcel, event)
    # Kept as it is (a redelivery writes it again): the shipment recorded later replays it.
    uow.store().commit([Save(track, FOLLOWS)], what=f"tracking {ref}", at=track.received_at)
    if not known:
        exceptions.raise_or_bump(
            "unknown_tracking",
            "tracking",
            ref,
            {
                "carrier": carrier,
                "tracking_number": event.tracking_number,
                "carrier_code": event.carrier_code,
                "webhook_id": webhook_id,
            },
        )
        return "unknown_tracking"
    return "superseded"


# ---------------------------------------------------------------- applying (queue consumer)


def process(sender: str, webhook_id: str, body: str | None = None, *, once: Once | None = None) -> str:
    """Apply one stored webhook; returns its outcome (see the module docstring). `once`: the consumer's
    exactly-once record, for what is not idempotent on its own (None: the caller holds it already)."""
    kind, _, name = sender.partition(":")
    if kind == "carrier" and body is not None:
        try:
            events = parse_carrier(name)(json_text.parse(body))
        except (DomainError, ValueError):
            pass  # checked on receipt, so not expected: the stored copy decides (and records why)
        else:
            return ", ".join(apply_carrier_events(name, events, webhook_id=webhook_id, once=once)) or "no events"
    if once is None:
        return _from_inbox(sender, webhook_id)
    done = once(lambda: [_from_inbox(sender, webhook_id)])
    return done[0] if done is not None else "duplicate"


def _from_inbox(sender: str, webhook_id: str) -> str:
    """A webhook applied from its stored copy, then marked processed with its outcome."""
    kind, _, name = sender.partition(":")
    found = uow.store().load(InboxEntry, sender, webhook_id)
    if found is None:
        logger.warning("inbound webhook not found (expired?)", extra={"sender": sender, "webhook_id": webhook_id})
        return "missing"
    item = found.value
    if item.processed_at is not None:
        return f"already processed: {item.outcome}"
    try:
        outcome = _apply(sender, json_text.parse(item.body), webhook_id)
    except DomainError as exc:
        if isinstance(exc, Conflict) and not isinstance(exc, AlreadyExists):
            raise  # a lost race: the queue redelivers and the retry reads fresh state
        outcome = f"failed: {exc.code}: {exc.message}"
        logger.warning("inbound webhook not applied", extra={"sender": sender, "webhook_id": webhook_id, "error": exc.message})
        subject_type, subject_id = failure_subject(sender, webhook_id, item.body)
        details = {
            "sender": sender,
            "webhook_id": webhook_id,
            "event_type": item.event_type,
            "error": exc.message,
            "code": exc.code,
        }
        if kind == "supplier":
            details["supplier_id"] = name  # the staff queue filters by supplier
        exceptions.raise_or_bump("inbound_webhook_failed", subject_type, subject_id, details)
    item.processed_at = now()
    item.outcome = outcome[:500]
    uow.store().commit([Save(item, found.version)], what=f"webhook {webhook_id}", at=item.processed_at)
    return outcome


def failure_subject(sender: str, webhook_id: str, raw: str) -> tuple[str, str]:
    """What a webhook that cannot be applied is about: the PO, complaint, payment or parcel it names.
    Every delivery of it — a sender sending it again under new webhook ids, racing — then counts
    towards ONE `inbound_webhook_failed` exception (one record per kind and subject, bumped by each
    repeat, announced once) instead of one per delivery. The webhook itself when it names none."""
    kind, _, name = sender.partition(":")
    try:
        body = json_text.parse(raw)
    except ValueError:
        body = None
    data = body.get("data") if isinstance(body, dict) else None
    data = data if isinstance(data, dict) else {}

    def named(field: str) -> str | None:
        value = data.get(field)
        return value if isinstance(value, str) and 0 < len(value) <= MAX_SUBJECT_ID else None

    if kind == "supplier" and named("complaint_id"):
        return "complaint", str(named("complaint_id"))
    if kind == "supplier" and named("po_id"):
        return "po", str(named("po_id"))
    if sender == BANK and named("payment_id"):
        return "payment", str(named("payment_id"))
    if kind == "carrier" and isinstance(body, dict):
        try:
            numbers = {e.tracking_number for e in parse_carrier(name)(body)}
        except (DomainError, ValueError):
            numbers = set()
        if len(numbers) == 1:
            return "tracking", shipment_rules.parcel_ref(name, numbers.pop())
    return "webhook", f"{sender}/{webhook_id}"


def _apply(sender: str, body: dict[str, Any], webhook_id: str) -> str:
    kind, _, name = sender.partition(":")
    if sender == BANK:
        from . import payments

        return payments.apply_bank_event(body)
    if kind == "carrier":
        outcomes = apply_carrier_events(name, parse_carrier(name)(body), webhook_id=webhook_id)
        return ", ".join(outcomes) or "no events"
    if kind == "supplier":
        return _apply_supplier(name, parse_supplier(body))
    raise RuleViolation("unknown_sender", f"no webhook sender {sender!r}")


def _apply_supplier(supplier_id: str, event: SupplierEvent) -> str:
    from . import shipments, supplier_portal

    actor = Principal(
        sub=f"supplier-system:{supplier_id}",
        roles=frozenset({Role.SUPPLIER}),
        supplier_id=supplier_id,
        name=f"{supplier_id} (supplier system)",
    )
    if isinstance(event, Acknowledgement):
        summary = supplier_portal.acknowledge(
            actor,
            event.data.po_id,
            [
                LineAcceptance(sku=line.sku, accepted_quantity=line.accepted_quantity, reason=line.reason)
                for line in event.data.lines
            ],
        )
        return f"acknowledged: {summary.status}"
    if isinstance(event, ComplaintAnswer):  # another supplier's complaint is a NotFound, as in the API
        record = complaints.act(
            actor, event.data.complaint_id, ComplaintAction.ANSWER, expected_version=None, answer=event.data.answer
        )
        return f"answered: {record.complaint.status.value}"
    d = event.data
    shipment = shipments.record_shipment(
        actor, d.po_id, carrier=d.carrier, tracking_number=d.tracking_number, order_ids=d.order_ids
    )
    return f"shipment recorded: {shipment.id}"
