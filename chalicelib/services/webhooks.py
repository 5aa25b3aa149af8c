"""Outbound webhooks: staff manage subscriptions; each offered domain event is delivered, signed per the
Standard Webhooks spec, to every active subscription that chose its type (rules in domain/webhooks.py).

A delivery is one record per (event, subscription), created only if it is absent and named by the
webhook id derived from both, so a redelivered event never makes a second one. Every attempt is
claimed on the record (under its version, with a lease in the due index) before the POST and logged
on it after: a consumer that dies mid-send leaves the record in the due index, and the escalation
sweep sends it again after the lease, with the same webhook id. Failed attempts wait in the due index
for the next step of the retry schedule; the last failure, or a 410, disables the subscription and
raises `webhook_delivery_failing`.

Signing secrets are stored sealed (KMS, bound to the subscription id: `port.seal_secret`), opened only
to sign, and answered in plaintext once, when created or rotated. A secret stored in plaintext before
sealing existed still signs, and is sealed by the subscription's next send or change."""

from __future__ import annotations

import base64
import contextlib
import secrets as random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from ..adapters import webhooks_out as port
from ..config import settings
from ..domain import webhooks as rules
from ..domain.audit import AuditEvent
from ..domain.errors import AlreadyExists, Conflict, InvalidTransition, NotFound, RuleViolation
from ..domain.permissions import MANAGE_WEBHOOKS, SYSTEM, Principal
from ..domain.webhooks import DeliveryStatus, Outcome
from ..events import DomainEvent, webhook_payload
from ..observability import logger
from . import exceptions, uow
from .clock import new_id, now
from .guard import require
from .ports import Record, Save, Versioned
from .ports_outbound import WebhookAttempt, WebhookDelivery, WebhookSubscription
from .retry import on_conflict

ADMINS = MANAGE_WEBHOOKS
FAILING = "webhook_delivery_failing"
SUBJECT = "subscription"
KEPT = timedelta(days=30)  # finished deliveries expire (TTL) after this
HISTORY_PAGE = 100
# How stale the publisher's view of the subscribed event types may be: a subscription created in another
# process takes effect within this long (the process that wrote it sees it at once). One Query per TTL.
SUBSCRIBED_TTL_S = 60.0


# ---------------------------------------------------------------- subscriptions


@dataclass
class Subscription:
    item: WebhookSubscription
    secret: str | None = None  # shown once: at creation and on rotation

    @property
    def id(self) -> str:
        return self.item.id


def new_secret() -> str:
    return rules.SECRET_PREFIX + base64.b64encode(random.token_bytes(24)).decode()


def check_url(url: str, event_types: list[str]) -> None:
    """Refuse (422, with details) a URL or event types the rules refuse; outside local mode also a URL
    whose host resolves to any private, loopback, link-local, multicast, reserved or unspecified address."""
    local = settings().is_local
    problems = rules.subscription_problems(url, event_types, local=local)
    if not problems and not local:
        parts = urlsplit(url)
        problems = rules.address_problems(parts.hostname or "", port.resolve(parts.hostname or "", parts.port))
    if problems:
        raise RuleViolation("invalid_subscription", "the subscription cannot be accepted", details=problems)


def _audit(sub: WebhookSubscription, type_: str, actor: Principal, at: datetime, data: dict[str, Any] | None = None) -> Record:
    return Record(
        AuditEvent(
            id=new_id("evt"),
            subject_type=SUBJECT,
            subject_id=sub.id,
            type=type_,
            actor=actor,
            at=at,
            to_status="active" if sub.active else "disabled",
            data={"url": sub.url, "event_types": list(sub.event_types), **(data or {})},
        )
    )


def _as_read(found: Versioned[WebhookSubscription]) -> WebhookSubscription:
    return replace(found.value, version=found.version)


def create_subscription(
    actor: Principal, *, url: str, event_types: list[str], description: str | None, active: bool = True
) -> Subscription:
    require(actor, ADMINS, "manage webhook subscriptions")
    types = list(dict.fromkeys(event_types))
    check_url(url, types)
    at, sub_id, secret = now(), new_id("whs"), new_secret()
    sub = WebhookSubscription(
        id=sub_id,
        url=url,
        event_types=types,
        description=description,
        active=active,
        secret=port.seal_secret(secret, sub_id),
        created_at=at,
        updated_at=at,
    )
    uow.store().commit(
        [Save(sub, None), _audit(sub, "webhook_subscription.created", actor, at)], what=f"subscription {sub_id}", at=at
    )
    forget_subscribed()
    sub.version = 1
    return Subscription(sub, secret)


def _load_subscription(sub_id: str) -> Versioned[WebhookSubscription]:
    found = uow.store().load(WebhookSubscription, sub_id)
    if found is None:
        raise NotFound(f"webhook subscription {sub_id} not found")
    return found


def get_subscription(sub_id: str) -> WebhookSubscription:
    return _as_read(_load_subscription(sub_id))


def list_subscriptions(*, limit: int, cursor: str | None) -> tuple[list[WebhookSubscription], str | None]:
    page = uow.store().webhook_subscriptions(limit=limit, cursor=cursor)
    return [_as_read(s) for s in page.items], page.cursor


def _change(
    sub_id: str,
    expected_version: int | None,
    mutate: Callable[[WebhookSubscription, datetime], tuple[str, dict[str, Any]] | None],
    actor: Principal = SYSTEM,
    extra: Callable[[WebhookSubscription], None] | None = None,
) -> WebhookSubscription:
    """Load, `mutate`, commit with its audit event under the version read (a lost race runs it all
    again, unless the caller named the version it saw); `extra` runs once the change is written."""

    def attempt() -> tuple[WebhookSubscription, bool]:
        found = _load_subscription(sub_id)
        if expected_version is not None and found.version != expected_version:
            raise Conflict(f"subscription {sub_id} is at version {found.version}, not {expected_version}; reload")
        sub, at = _as_read(found), now()
        change = mutate(sub, at)
        if change is None:
            return sub, False
        sub.updated_at = at
        _seal_plaintext(sub)  # every write stores the secrets sealed, those kept from before sealing too
        uow.store().commit(
            [Save(sub, found.version), _audit(sub, change[0], actor, at, change[1])], what=f"subscription {sub_id}", at=at
        )
        forget_subscribed()
        sub.version = found.version + 1
        return sub, True

    sub, changed = on_conflict(attempt, expected_version=expected_version, what=f"subscription {sub_id}")
    if changed and extra:
        extra(sub)
    return sub


def update_subscription(
    actor: Principal,
    sub_id: str,
    *,
    url: str | None = None,
    event_types: list[str] | None = None,
    active: bool | None = None,
    description: str | None = None,
    expected_version: int | None = None,
) -> WebhookSubscription:
    """Change what staff set; re-enabling a disabled subscription resolves its failing exception."""
    require(actor, ADMINS, "manage webhook subscriptions")
    reenabled: list[bool] = []

    def apply(sub: WebhookSubscription, at: datetime) -> tuple[str, dict[str, Any]]:
        reenabled.clear()  # a lost race runs this again on what was read then
        new_url = url if url is not None else sub.url
        new_types = list(dict.fromkeys(event_types)) if event_types is not None else list(sub.event_types)
        if url is not None or event_types is not None:
            check_url(new_url, new_types)
        sub.url = new_url
        sub.event_types = new_types
        if description is not None:
            sub.description = description
        if active is not None and active != sub.active:
            sub.active = active
            if active:
                reenabled.append(sub.failing)
                sub.disabled_reason, sub.disabled_at, sub.failing = None, None, False
            else:
                sub.disabled_reason, sub.disabled_at = "disabled by staff", at
        return "webhook_subscription.updated", {"reenabled": bool(reenabled)}

    def after(sub: WebhookSubscription) -> None:
        if reenabled:
            exceptions.resolve(FAILING, SUBJECT, sub.id, note="re-enabled by staff")

    return _change(sub_id, expected_version, apply, actor, after)


def rotate_secret(actor: Principal, sub_id: str, *, expected_version: int | None = None) -> Subscription:
    """A new secret (shown once); the previous one keeps signing, beside it, for the grace window."""
    require(actor, ADMINS, "manage webhook subscriptions")
    fresh = new_secret()
    sealed = port.seal_secret(fresh, sub_id)

    def apply(sub: WebhookSubscription, at: datetime) -> tuple[str, dict[str, Any]]:
        grace_until = at + timedelta(seconds=settings().webhook_secret_grace_s)
        sub.previous_secret, sub.previous_secret_expires_at = sub.secret, grace_until
        sub.secret, sub.secret_rotated_at = sealed, at
        return "webhook_subscription.secret_rotated", {"previous_valid_until": grace_until.isoformat()}

    return Subscription(_change(sub_id, expected_version, apply, actor), fresh)


def signing_secrets(sub: WebhookSubscription, at: datetime) -> list[str]:
    """The secrets to sign with now, opened (they are stored sealed: `_seal_plaintext`)."""
    kept = sub.previous_secret and sub.previous_secret_expires_at and sub.previous_secret_expires_at > at
    stored = [sub.secret, str(sub.previous_secret)] if kept else [sub.secret]
    return [port.open_secret(secret, sub.id) for secret in stored]


def _seal_plaintext(sub: WebhookSubscription) -> bool:
    """Seal a secret still stored in plaintext (written before secrets were encrypted); True if any was."""
    sealed = False
    if not port.is_sealed(sub.secret):
        sub.secret, sealed = port.seal_secret(sub.secret, sub.id), True
    if sub.previous_secret and not port.is_sealed(sub.previous_secret):
        sub.previous_secret, sealed = port.seal_secret(sub.previous_secret, sub.id), True
    return sealed


def _seal_stored_secrets(sub_id: str) -> None:
    """A subscription whose secrets predate sealing is sealed at its first send (or any change before)."""

    def apply(sub: WebhookSubscription, at: datetime) -> tuple[str, dict[str, Any]] | None:
        return ("webhook_subscription.updated", {"secrets_sealed": True}) if _seal_plaintext(sub) else None

    try:
        _change(sub_id, None, apply)
    except (NotFound, Conflict):  # deleted or busy: the next send or change seals it
        logger.warning("subscription secrets not sealed yet", extra={"subscription_id": sub_id})


def _disable(sub_id: str, reason: str, details: dict[str, Any]) -> None:
    def apply(sub: WebhookSubscription, at: datetime) -> tuple[str, dict[str, Any]] | None:
        if not sub.active:
            return None
        sub.active, sub.failing, sub.disabled_reason, sub.disabled_at = False, True, reason, at
        return "webhook_subscription.disabled", {"reason": reason}

    try:
        _change(sub_id, None, apply)
    except (NotFound, Conflict):
        logger.warning("subscription not disabled", extra={"subscription_id": sub_id})
    exceptions.raise_or_bump(FAILING, SUBJECT, sub_id, {**details, "reason": reason})


def subscription_events(sub_id: str) -> list[AuditEvent]:
    """The subscription's audit events, oldest first."""
    found: list[AuditEvent] = []
    cursor: str | None = None
    while True:
        page = uow.store().history(SUBJECT, sub_id, limit=HISTORY_PAGE, cursor=cursor)
        found += page.items
        if page.cursor is None:
            return found
        cursor = page.cursor


# ---------------------------------------------------------------- what is offered to the queue

_subscribed_lock = threading.Lock()
_subscribed: tuple[float, frozenset[str]] | None = None  # (read at, monotonic; the active subscriptions' types)


def subscribed_types() -> frozenset[str]:
    """The event types (and patterns: `*`, `order.*`) some active subscription chose, read at most once
    per `SUBSCRIBED_TTL_S` in this process (one Query of the active-subscriptions index)."""
    global _subscribed
    with _subscribed_lock:
        cached = _subscribed
        if cached is not None and time.monotonic() - cached[0] < SUBSCRIBED_TTL_S:
            return cached[1]
        types = frozenset(t for s in uow.store().active_webhook_subscriptions() for t in s.value.event_types)
        _subscribed = (time.monotonic(), types)
        return types


def forget_subscribed() -> None:
    """Drop the cached subscribed types: the next `wanted` reads them again (called on every change)."""
    global _subscribed
    with _subscribed_lock:
        _subscribed = None


def wanted(event_type: str) -> bool:
    """Whether an event of this type goes to the webhooks-out queue: only offered types some active
    subscription chose (an event nobody subscribed to costs no message and, between refreshes, no read)."""
    return event_type in rules.OFFERED_EVENT_TYPES and rules.matches(event_type, subscribed_types())


# ---------------------------------------------------------------- deliveries


def deliver_event(event: DomainEvent) -> int:
    """The webhooks-out consumer: one delivery per active subscription that chose this event's type.
    Returns the number of deliveries created now (0 on a redelivered event)."""
    if event.type not in rules.OFFERED_EVENT_TYPES:
        return 0
    subs = [_as_read(s) for s in uow.store().active_webhook_subscriptions() if rules.matches(event.type, s.value.event_types)]
    if not subs:
        return 0
    thin = rules.thin_payload(event, settings().public_url)  # read from the typed event's fields
    webhook_payload(thin)  # what subscribers validate against (the OpenAPI document's webhooks)
    payload = rules.body(thin)
    created = 0
    for sub in subs:
        delivery = _claimed_new(rules.webhook_id(event.id, sub.id), sub.id, event.id, event.type, payload)
        if delivery is None:
            continue  # made by an earlier run of this event: its attempts are the sweep's now
        created += 1
        _attempt(delivery, sub, now())
    return created


def _claimed_new(
    delivery_id: str, sub_id: str, event_id: str, event_type: str, payload: str, replay_of: str | None = None
) -> WebhookDelivery | None:
    """Create the delivery already claimed for its first attempt (a create only); None if it exists."""
    at = now()
    delivery = WebhookDelivery(
        id=delivery_id,
        subscription_id=sub_id,
        event_id=event_id,
        event_type=event_type,
        payload=payload,
        status=DeliveryStatus.SENDING.value,
        attempts_started=1,
        attempts=[],
        replay_of=replay_of,
        created_at=at,
        updated_at=at,
    )
    _lease(delivery, at)
    try:
        uow.store().commit([Save(delivery, None)], what=f"webhook delivery {delivery_id}", at=at)
    except AlreadyExists:
        return None
    delivery.version = 1
    return delivery


def _lease(delivery: WebhookDelivery, at: datetime) -> None:
    """While an attempt runs, the sweep may take it over only after the lease."""
    delivery.next_attempt_at = at + timedelta(seconds=settings().webhook_attempt_lease_s)


def _save(delivery: WebhookDelivery, at: datetime) -> None:
    """Write the delivery under the version it was read at (a lost race raises Conflict)."""
    delivery.updated_at = at
    if delivery.status in (DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED, DeliveryStatus.ABANDONED):
        delivery.next_attempt_at = None
        delivery.expires_at = int((at + KEPT).timestamp())
    uow.store().commit([Save(delivery, delivery.version)], what=f"webhook delivery {delivery.id}", at=at)
    delivery.version += 1


def _attempt(delivery: WebhookDelivery, sub: WebhookSubscription, started: datetime) -> Outcome:
    """Send the claimed attempt (at `started`: the sweep's time) and log it; schedule the next one from
    then, or give up and disable."""
    number = delivery.attempts_started
    result = _send(delivery, sub, started)
    delivery.attempts = [
        *delivery.attempts,
        WebhookAttempt(
            number=number,
            at=started,
            status_code=result.status_code,
            latency_ms=result.latency_ms,
            response_excerpt=rules.excerpt(result.response) if result.response else None,
            error=result.error,
        ),
    ]
    outcome = rules.outcome(rules.Result(result.status_code, result.error), number)
    at = started + timedelta(milliseconds=result.latency_ms)
    if outcome is Outcome.SUCCEEDED:
        delivery.status = DeliveryStatus.SUCCEEDED.value
    elif outcome is Outcome.RETRY:
        delivery.status = DeliveryStatus.PENDING.value
        delay = rules.delay_before(number + 1, settings().webhook_retry_scale_percent) or 0.0
        delivery.next_attempt_at = at + timedelta(seconds=delay)
    else:
        delivery.status = DeliveryStatus.FAILED.value
    _save(delivery, at)
    if outcome is Outcome.SUCCEEDED and sub.failing:
        exceptions.resolve(FAILING, SUBJECT, sub.id, note="a delivery to the subscriber succeeded")
        _clear_failing(sub.id)
    if rules.disables(outcome):
        reason = "the endpoint answered 410 Gone" if outcome is Outcome.GONE else f"{rules.MAX_ATTEMPTS} attempts failed"
        _disable(
            sub.id,
            reason,
            {"delivery_id": delivery.id, "url": sub.url, "status_code": result.status_code, "error": result.error},
        )
    logger.info(
        "webhook attempt",
        extra={"delivery_id": delivery.id, "attempt": number, "outcome": outcome.value, "status_code": result.status_code},
    )
    return outcome


def _clear_failing(sub_id: str) -> None:
    def apply(sub: WebhookSubscription, at: datetime) -> tuple[str, dict[str, Any]] | None:
        if not sub.failing:
            return None
        sub.failing = False
        return "webhook_subscription.recovered", {}

    with contextlib.suppress(Conflict):  # it kept changing meanwhile; the next success clears it
        _change(sub_id, None, apply)


def _send(delivery: WebhookDelivery, sub: WebhookSubscription, at: datetime) -> port.Sent:
    """Check the address again (DNS may have changed since the subscription was saved), then POST to it."""
    parts = urlsplit(sub.url)
    host = parts.hostname or ""
    pinned: str | None = None
    if not settings().is_local:
        problems = rules.subscription_problems(sub.url, list(sub.event_types), local=False)
        addresses = port.resolve(host, parts.port)
        problems += rules.address_problems(host, addresses)
        if problems:
            return port.Sent(None, 0, "", error="refused: " + "; ".join(p["message"] for p in problems)[:480])
        pinned = addresses[0]
    timestamp = int(at.timestamp())
    headers = port.signed_headers(signing_secrets(sub, at), delivery.id, timestamp, delivery.payload)
    if not port.is_sealed(sub.secret) or (sub.previous_secret and not port.is_sealed(sub.previous_secret)):
        _seal_stored_secrets(sub.id)
    return port.post(sub.url, delivery.payload, headers, timeout_s=settings().webhook_timeout_s, pinned=pinned)


def retry_due(entry: WebhookDelivery, at: datetime | None = None) -> str:
    """The sweep found a delivery due: its next attempt, or an attempt whose sender died (lease passed).
    Claims the attempt under the version the index returned (`entry.version`: the one the sweep read),
    so two sweeps never both send it."""
    at = at or now()
    if entry.status not in (DeliveryStatus.PENDING, DeliveryStatus.SENDING):
        return "webhook_none"
    found = uow.store().load(WebhookSubscription, entry.subscription_id)
    sub = None if found is None else _as_read(found)
    if entry.status == DeliveryStatus.SENDING:  # the sender stopped before logging its outcome
        entry.attempts = [
            *entry.attempts,
            WebhookAttempt(
                number=entry.attempts_started,
                at=entry.updated_at,
                latency_ms=0,
                error="interrupted: no outcome was recorded (sent again with the same webhook id)",
            ),
        ]
    if sub is None or not sub.active:
        entry.status = DeliveryStatus.ABANDONED.value
        _save(entry, at)
        return "webhook_abandoned"
    if entry.status == DeliveryStatus.PENDING:
        entry.attempts_started += 1
    entry.status = DeliveryStatus.SENDING.value
    _lease(entry, at)
    _save(entry, at)  # the claim
    return f"webhook_{_attempt(entry, sub, at).value}"


def replay(actor: Principal, delivery_id: str) -> WebhookDelivery:
    """Send a delivery's body again as a NEW delivery (new webhook id) linked to the original."""
    require(actor, ADMINS, "replay webhook deliveries")
    original = get_delivery(delivery_id)
    sub = get_subscription(original.subscription_id)
    if not sub.active:
        raise InvalidTransition(f"subscription {sub.id} is disabled; re-enable it before replaying")
    delivery = _claimed_new(
        new_id("msg"), sub.id, original.event_id, original.event_type, original.payload, replay_of=original.id
    )
    assert delivery is not None  # a fresh id
    _attempt(delivery, sub, now())
    return delivery


def _as_read_delivery(found: Versioned[WebhookDelivery]) -> WebhookDelivery:
    return replace(found.value, version=found.version)


def get_delivery(delivery_id: str) -> WebhookDelivery:
    found = uow.store().load(WebhookDelivery, delivery_id)
    if found is None:
        raise NotFound(f"webhook delivery {delivery_id} not found")
    return _as_read_delivery(found)


def list_deliveries(
    *, subscription_id: str | None, status: str | None, limit: int, cursor: str | None
) -> tuple[list[WebhookDelivery], str | None]:
    """Newest first: by subscription, by status, both, or all (`OutboundReads.webhook_deliveries`: a
    page by subscription and status reads on until it is full, never empty with a cursor while
    matching deliveries remain)."""
    page = uow.store().webhook_deliveries(subscription_id=subscription_id, status=status, limit=limit, cursor=cursor)
    return [_as_read_delivery(d) for d in page.items], page.cursor
