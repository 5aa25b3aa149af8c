"""Outbound webhooks: staff manage subscriptions; each offered domain event is delivered, signed per the
Standard Webhooks spec, to every active subscription that chose its type (rules in domain/webhooks.py).

A delivery is one record per (event, subscription), created with a conditional put and named by the
webhook id derived from both, so a redelivered event never makes a second one. Every attempt is
claimed on the record (under its version, with a lease in the due index) before the POST and logged
on it after: a consumer that dies mid-send leaves the record in the due index, and the escalation
sweep sends it again after the lease, with the same webhook id. Failed attempts wait in the due index
for the next step of the retry schedule; the last failure, or a 410, disables the subscription and
raises `webhook_delivery_failing`."""

from __future__ import annotations

import base64
import contextlib
import secrets as random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from ..adapters import webhooks_out as port
from ..adapters.dynamodb import keys
from ..adapters.dynamodb import repository as repo
from ..adapters.dynamodb.models import (
    AuditEventItem,
    Item,
    WebhookAttemptMap,
    WebhookDeliveryItem,
    WebhookSubscriptionItem,
)
from ..config import settings
from ..domain import webhooks as rules
from ..domain.audit import AuditEvent
from ..domain.errors import Conflict, InvalidTransition, NotFound, RuleViolation
from ..domain.permissions import MANAGE_WEBHOOKS, SYSTEM, Principal
from ..domain.webhooks import DeliveryStatus, Outcome
from ..events import DomainEvent, webhook_payload
from ..observability import logger
from . import exceptions
from .clock import new_id, now
from .guard import require

ADMINS = MANAGE_WEBHOOKS
FAILING = "webhook_delivery_failing"
SUBJECT = "subscription"
KEPT = timedelta(days=30)  # finished deliveries expire (TTL) after this


# ---------------------------------------------------------------- subscriptions


@dataclass
class Subscription:
    item: WebhookSubscriptionItem
    secret: str | None = None  # shown once: at creation and on rotation

    @property
    def id(self) -> str:
        return str(self.item.id)


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


def _audit(
    item: WebhookSubscriptionItem, type_: str, actor: Principal, at: datetime, data: dict[str, Any] | None = None
) -> repo.Write:
    event = AuditEvent(
        id=new_id("evt"),
        subject_type=SUBJECT,
        subject_id=item.id,
        type=type_,
        actor=actor,
        at=at,
        to_status="active" if item.active else "disabled",
        data={"url": item.url, "event_types": list(item.event_types), **(data or {})},
    )
    return repo.event_write(keys.webhook_subscription_pk(item.id), event)


def _index(item: WebhookSubscriptionItem) -> WebhookSubscriptionItem:
    item.GSI1PK, item.GSI1SK = keys.WEBHOOK_SUBSCRIPTIONS_PK, keys.created_sk(item.created_at, item.id)
    item.GSI2PK, item.GSI2SK = (keys.ACTIVE_WEBHOOK_SUBSCRIPTIONS_PK, item.GSI1SK) if item.active else (None, None)
    return item


def create_subscription(
    actor: Principal, *, url: str, event_types: list[str], description: str | None, active: bool = True
) -> Subscription:
    require(actor, ADMINS, "manage webhook subscriptions")
    types = list(dict.fromkeys(event_types))
    check_url(url, types)
    at, sub_id, secret = now(), new_id("whs"), new_secret()
    pk, sk = keys.webhook_subscription(sub_id)
    item = _index(
        WebhookSubscriptionItem(
            pk,
            sk,
            id=sub_id,
            url=url,
            event_types=types,
            description=description,
            active=active,
            secret=secret,
            created_at=at,
            updated_at=at,
        )
    )
    repo.commit([repo.new_item(item), _audit(item, "webhook_subscription.created", actor, at)], what=f"subscription {sub_id}")
    return Subscription(item, secret)


def get_subscription(sub_id: str) -> WebhookSubscriptionItem:
    item = repo.get(keys.webhook_subscription(sub_id), WebhookSubscriptionItem)
    if item is None:
        raise NotFound(f"webhook subscription {sub_id} not found")
    return item


def list_subscriptions(*, limit: int, cursor: str | None) -> tuple[list[WebhookSubscriptionItem], str | None]:
    page = repo.query_page(Item.gsi1, keys.WEBHOOK_SUBSCRIPTIONS_PK, limit=limit, cursor=cursor)
    return [i for i in page.items if isinstance(i, WebhookSubscriptionItem)], page.cursor


def _change(
    sub_id: str,
    expected_version: int | None,
    mutate: Callable[[WebhookSubscriptionItem, datetime], tuple[str, dict[str, Any]] | None],
    actor: Principal = SYSTEM,
    extra: Callable[[WebhookSubscriptionItem], None] | None = None,
) -> WebhookSubscriptionItem:
    item = get_subscription(sub_id)
    if expected_version is not None and int(item.version) != expected_version:
        raise Conflict(f"subscription {sub_id} is at version {item.version}, not {expected_version}; reload")
    at = now()
    change = mutate(item, at)
    if change is None:
        return item
    item.updated_at = at
    _index(item)
    repo.commit([repo.Write(item), _audit(item, change[0], actor, at, change[1])], what=f"subscription {sub_id}")
    if extra:
        extra(item)
    return item


def update_subscription(
    actor: Principal,
    sub_id: str,
    *,
    url: str | None = None,
    event_types: list[str] | None = None,
    active: bool | None = None,
    description: str | None = None,
    expected_version: int | None = None,
) -> WebhookSubscriptionItem:
    """Change what staff set; re-enabling a disabled subscription resolves its failing exception."""
    require(actor, ADMINS, "manage webhook subscriptions")
    reenabled: list[bool] = []

    def apply(item: WebhookSubscriptionItem, at: datetime) -> tuple[str, dict[str, Any]]:
        new_url = url if url is not None else item.url
        new_types = list(dict.fromkeys(event_types)) if event_types is not None else _types(item)
        if url is not None or event_types is not None:
            check_url(new_url, new_types)
        item.url = new_url
        item.event_types = new_types  # type: ignore[assignment]
        if description is not None:
            item.description = description
        if active is not None and active != item.active:
            item.active = active
            if active:
                reenabled.append(bool(item.failing))
                item.disabled_reason, item.disabled_at, item.failing = None, None, False
            else:
                item.disabled_reason, item.disabled_at = "disabled by staff", at
        return "webhook_subscription.updated", {"reenabled": bool(reenabled)}

    def after(item: WebhookSubscriptionItem) -> None:
        if reenabled:
            exceptions.resolve(FAILING, SUBJECT, item.id, note="re-enabled by staff")

    return _change(sub_id, expected_version, apply, actor, after)


def rotate_secret(actor: Principal, sub_id: str, *, expected_version: int | None = None) -> Subscription:
    """A new secret (shown once); the previous one keeps signing, beside it, for the grace window."""
    require(actor, ADMINS, "manage webhook subscriptions")
    fresh = new_secret()

    def apply(item: WebhookSubscriptionItem, at: datetime) -> tuple[str, dict[str, Any]]:
        grace_until = at + timedelta(seconds=settings().webhook_secret_grace_s)
        item.previous_secret, item.previous_secret_expires_at = item.secret, grace_until
        item.secret, item.secret_rotated_at = fresh, at
        return "webhook_subscription.secret_rotated", {"previous_valid_until": grace_until.isoformat()}

    return Subscription(_change(sub_id, expected_version, apply, actor), fresh)


def _types(item: WebhookSubscriptionItem) -> list[str]:
    return [str(t) for t in item.event_types or []]


def signing_secrets(item: WebhookSubscriptionItem, at: datetime) -> list[str]:
    kept = item.previous_secret and item.previous_secret_expires_at and item.previous_secret_expires_at > at
    return [item.secret, str(item.previous_secret)] if kept else [item.secret]


def _disable(sub_id: str, reason: str, details: dict[str, Any]) -> None:
    def apply(item: WebhookSubscriptionItem, at: datetime) -> tuple[str, dict[str, Any]] | None:
        if not item.active:
            return None
        item.active, item.failing, item.disabled_reason, item.disabled_at = False, True, reason, at
        return "webhook_subscription.disabled", {"reason": reason}

    try:
        _change(sub_id, None, apply)
    except (NotFound, Conflict):
        logger.warning("subscription not disabled", extra={"subscription_id": sub_id})
    exceptions.raise_or_bump(FAILING, SUBJECT, sub_id, {**details, "reason": reason})


# ---------------------------------------------------------------- deliveries


def deliver_event(event: DomainEvent) -> int:
    """The webhooks-out consumer: one delivery per active subscription that chose this event's type.
    Returns the number of deliveries created now (0 on a redelivered event)."""
    if event.type not in rules.OFFERED_EVENT_TYPES:
        return 0
    subs = [
        i
        for i in Item.gsi2.query(keys.ACTIVE_WEBHOOK_SUBSCRIPTIONS_PK)
        if isinstance(i, WebhookSubscriptionItem) and rules.matches(event.type, _types(i))
    ]
    if not subs:
        return 0
    thin = rules.thin_payload(event.payload(), settings().public_url)
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
) -> WebhookDeliveryItem | None:
    """Create the delivery already claimed for its first attempt (conditional put); None if it exists."""
    at = now()
    pk, sk = keys.webhook_delivery(delivery_id)
    item = WebhookDeliveryItem(
        pk,
        sk,
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
    _lease(item, at)
    _delivery_index(item)
    if not repo.create(item):
        return None
    return item


def _delivery_index(item: WebhookDeliveryItem) -> None:
    created = keys.created_sk(item.created_at, item.id)
    item.GSI1PK, item.GSI1SK = keys.subscription_deliveries_pk(item.subscription_id), created
    item.GSI2PK, item.GSI2SK = keys.deliveries_in_status_pk(item.status), created
    item.GSI3PK, item.GSI3SK = keys.WEBHOOK_DELIVERIES_PK, created
    if item.next_attempt_at is not None:
        item.GSI4PK, item.GSI4SK = keys.due_index(item.id, item.next_attempt_at, settings().due_index_shards)
    else:
        item.GSI4PK, item.GSI4SK = None, None


def _lease(item: WebhookDeliveryItem, at: datetime) -> None:
    """While an attempt runs, the sweep may take it over only after the lease."""
    item.next_attempt_at = at + timedelta(seconds=settings().webhook_attempt_lease_s)


def _save(item: WebhookDeliveryItem, at: datetime) -> None:
    """Write the delivery under the version it was read at (a lost race raises Conflict)."""
    item.updated_at = at
    if item.status in (DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED, DeliveryStatus.ABANDONED):
        item.next_attempt_at = None
        item.expires_at = int((at + KEPT).timestamp())
    _delivery_index(item)
    repo.commit([repo.Write(item)], what=f"webhook delivery {item.id}")


def _attempt(item: WebhookDeliveryItem, sub: WebhookSubscriptionItem, started: datetime) -> Outcome:
    """Send the claimed attempt (at `started`: the sweep's time) and log it; schedule the next one from
    then, or give up and disable."""
    number = int(item.attempts_started)
    result = _send(item, sub, started)
    item.attempts = [
        *(item.attempts or []),
        WebhookAttemptMap(  # type: ignore[no-untyped-call]
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
        item.status = DeliveryStatus.SUCCEEDED.value
    elif outcome is Outcome.RETRY:
        item.status = DeliveryStatus.PENDING.value
        delay = rules.delay_before(number + 1, settings().webhook_retry_scale_percent) or 0.0
        item.next_attempt_at = at + timedelta(seconds=delay)
    else:
        item.status = DeliveryStatus.FAILED.value
    _save(item, at)
    if outcome is Outcome.SUCCEEDED and sub.failing:
        exceptions.resolve(FAILING, SUBJECT, sub.id, note="a delivery to the subscriber succeeded")
        _clear_failing(sub.id)
    if rules.disables(outcome):
        reason = "the endpoint answered 410 Gone" if outcome is Outcome.GONE else f"{rules.MAX_ATTEMPTS} attempts failed"
        _disable(
            sub.id, reason, {"delivery_id": item.id, "url": sub.url, "status_code": result.status_code, "error": result.error}
        )
    logger.info(
        "webhook attempt",
        extra={"delivery_id": item.id, "attempt": number, "outcome": outcome.value, "status_code": result.status_code},
    )
    return outcome


def _clear_failing(sub_id: str) -> None:
    def apply(item: WebhookSubscriptionItem, at: datetime) -> tuple[str, dict[str, Any]] | None:
        if not item.failing:
            return None
        item.failing = False
        return "webhook_subscription.recovered", {}

    with contextlib.suppress(Conflict):  # someone changed it meanwhile; the next success clears it
        _change(sub_id, None, apply)


def _send(item: WebhookDeliveryItem, sub: WebhookSubscriptionItem, at: datetime) -> port.Sent:
    """Check the address again (DNS may have changed since the subscription was saved), then POST to it."""
    parts = urlsplit(sub.url)
    host = parts.hostname or ""
    pinned: str | None = None
    if not settings().is_local:
        problems = rules.subscription_problems(sub.url, _types(sub), local=False)
        addresses = port.resolve(host, parts.port)
        problems += rules.address_problems(host, addresses)
        if problems:
            return port.Sent(None, 0, "", error="refused: " + "; ".join(p["message"] for p in problems)[:480])
        pinned = addresses[0]
    timestamp = int(at.timestamp())
    headers = port.signed_headers(signing_secrets(sub, at), item.id, timestamp, item.payload)
    return port.post(sub.url, item.payload, headers, timeout_s=settings().webhook_timeout_s, pinned=pinned)


def retry_due(entry: WebhookDeliveryItem, at: datetime | None = None) -> str:
    """The sweep found a delivery due: its next attempt, or an attempt whose sender died (lease passed).
    Claims the attempt under the version the index returned, so two sweeps never both send it."""
    at = at or now()
    if entry.status not in (DeliveryStatus.PENDING, DeliveryStatus.SENDING):
        return "webhook_none"
    sub = repo.get(keys.webhook_subscription(entry.subscription_id), WebhookSubscriptionItem)
    if entry.status == DeliveryStatus.SENDING:  # the sender stopped before logging its outcome
        entry.attempts = [
            *(entry.attempts or []),
            WebhookAttemptMap(  # type: ignore[no-untyped-call]
                number=int(entry.attempts_started),
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
        entry.attempts_started = int(entry.attempts_started) + 1
    entry.status = DeliveryStatus.SENDING.value
    _lease(entry, at)
    _save(entry, at)  # the claim
    return f"webhook_{_attempt(entry, sub, at).value}"


def replay(actor: Principal, delivery_id: str) -> WebhookDeliveryItem:
    """Send a delivery's body again as a NEW delivery (new webhook id) linked to the original."""
    require(actor, ADMINS, "replay webhook deliveries")
    original = get_delivery(delivery_id)
    sub = get_subscription(original.subscription_id)
    if not sub.active:
        raise InvalidTransition(f"subscription {sub.id} is disabled; re-enable it before replaying")
    item = _claimed_new(new_id("msg"), sub.id, original.event_id, original.event_type, original.payload, replay_of=original.id)
    assert item is not None  # a fresh id
    _attempt(item, sub, now())
    return item


def get_delivery(delivery_id: str) -> WebhookDeliveryItem:
    item = repo.get(keys.webhook_delivery(delivery_id), WebhookDeliveryItem)
    if item is None:
        raise NotFound(f"webhook delivery {delivery_id} not found")
    return item


def list_deliveries(
    *, subscription_id: str | None, status: str | None, limit: int, cursor: str | None
) -> tuple[list[WebhookDeliveryItem], str | None]:
    """One Query per page: by subscription, by status, or all. By subscription and status the status
    is a filter, so a page reads on until it is full or the subscription's deliveries end (bounded,
    `repo.query_filled`): never an empty page with a cursor while matching deliveries remain."""
    if subscription_id and status:
        page = repo.query_filled(
            Item.gsi1,
            keys.subscription_deliveries_pk(subscription_id),
            limit=limit,
            cursor=cursor,
            filter_condition=WebhookDeliveryItem.status == status,
        )
    elif subscription_id:
        page = repo.query_page(Item.gsi1, keys.subscription_deliveries_pk(subscription_id), limit=limit, cursor=cursor)
    elif status:
        page = repo.query_page(Item.gsi2, keys.deliveries_in_status_pk(status), limit=limit, cursor=cursor)
    else:
        page = repo.query_page(Item.gsi3, keys.WEBHOOK_DELIVERIES_PK, limit=limit, cursor=cursor)
    return [i for i in page.items if isinstance(i, WebhookDeliveryItem)], page.cursor


def subscription_events(sub_id: str) -> list[AuditEventItem]:
    return [
        i
        for i in repo.query_all(keys.webhook_subscription_pk(sub_id), range_key_condition=Item.SK.startswith(keys.EVENT_PREFIX))
        if isinstance(i, AuditEventItem)
    ]
