"""The outbound area on the single table: webhook subscriptions and deliveries (`services.ports_outbound`).

A subscription is `SUBSCRIPTION#<id>` / `#META` (its audit events in the same partition), in GSI1
`WEBHOOKSUBS` and, while active, in sparse GSI2 `WEBHOOKSUBS#ACTIVE`. A delivery is
`WHDELIVERY#<id>` / `#META` with its attempts inline, listed by subscription (GSI1), by status (GSI2)
and all together (GSI3), and in the sweep's due index (GSI4) while `next_attempt_at` is set. The
requests are those the webhooks service made before it moved: a GetItem per load, one Query per page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...config import settings
from ...services.ports import Page, Versioned
from ...services.ports_outbound import WebhookAttempt, WebhookDelivery, WebhookSubscription
from . import keys
from . import repository as repo
from .mapping import Mapper, Writes, register
from .models import Item, WebhookAttemptMap, WebhookDeliveryItem, WebhookSubscriptionItem


def subscription_record(item: WebhookSubscriptionItem) -> Versioned[WebhookSubscription]:
    version = int(item.version or 0)
    sub = WebhookSubscription(
        id=item.id,
        url=item.url,
        event_types=[str(t) for t in item.event_types or []],
        description=item.description,
        active=bool(item.active),
        secret=item.secret,
        created_at=item.created_at,
        updated_at=item.updated_at,
        previous_secret=item.previous_secret,
        previous_secret_expires_at=item.previous_secret_expires_at,
        secret_rotated_at=item.secret_rotated_at,
        disabled_reason=item.disabled_reason,
        disabled_at=item.disabled_at,
        failing=bool(item.failing),
        version=version,
    )
    return Versioned(sub, version)


def delivery_record(item: WebhookDeliveryItem) -> Versioned[WebhookDelivery]:
    """Public for the sweep, which finds due deliveries in the shared due index (`services.uow`)."""
    version = int(item.version or 0)
    delivery = WebhookDelivery(
        id=item.id,
        subscription_id=item.subscription_id,
        event_id=item.event_id,
        event_type=item.event_type,
        payload=item.payload,
        status=item.status,
        attempts_started=int(item.attempts_started or 0),
        created_at=item.created_at,
        updated_at=item.updated_at,
        attempts=[
            WebhookAttempt(
                number=int(a.number),
                at=a.at,
                status_code=None if a.status_code is None else int(a.status_code),
                latency_ms=int(a.latency_ms or 0),
                response_excerpt=a.response_excerpt,
                error=a.error,
            )
            for a in item.attempts or []
        ],
        next_attempt_at=item.next_attempt_at,
        replay_of=item.replay_of,
        expires_at=None if item.expires_at is None else int(item.expires_at),
        version=version,
    )
    return Versioned(delivery, version)


def _new(version: int | None) -> Any:
    return Item.PK.does_not_exist() if version is None else None


def _save_subscription(sub: WebhookSubscription, version: int | None, _at: datetime) -> Writes:
    created = keys.created_sk(sub.created_at, sub.id)
    item = WebhookSubscriptionItem(
        *keys.webhook_subscription(sub.id),
        GSI1PK=keys.WEBHOOK_SUBSCRIPTIONS_PK,
        GSI1SK=created,
        GSI2PK=keys.ACTIVE_WEBHOOK_SUBSCRIPTIONS_PK if sub.active else None,
        GSI2SK=created if sub.active else None,
        id=sub.id,
        url=sub.url,
        event_types=list(sub.event_types),
        description=sub.description,
        active=sub.active,
        secret=sub.secret,
        previous_secret=sub.previous_secret,
        previous_secret_expires_at=sub.previous_secret_expires_at,
        secret_rotated_at=sub.secret_rotated_at,
        disabled_reason=sub.disabled_reason,
        disabled_at=sub.disabled_at,
        failing=sub.failing,
        created_at=sub.created_at,
        updated_at=sub.updated_at,
    )
    return [repo.Write(repo.with_version(item, version), _new(version))]


def _save_delivery(d: WebhookDelivery, version: int | None, _at: datetime) -> Writes:
    created = keys.created_sk(d.created_at, d.id)
    due = keys.due_index(d.id, d.next_attempt_at, settings().due_index_shards) if d.next_attempt_at is not None else None
    item = WebhookDeliveryItem(
        *keys.webhook_delivery(d.id),
        GSI1PK=keys.subscription_deliveries_pk(d.subscription_id),
        GSI1SK=created,
        GSI2PK=keys.deliveries_in_status_pk(d.status),
        GSI2SK=created,
        GSI3PK=keys.WEBHOOK_DELIVERIES_PK,
        GSI3SK=created,
        GSI4PK=due[0] if due else None,
        GSI4SK=due[1] if due else None,
        id=d.id,
        subscription_id=d.subscription_id,
        event_id=d.event_id,
        event_type=d.event_type,
        payload=d.payload,
        status=d.status,
        attempts_started=d.attempts_started,
        attempts=[
            WebhookAttemptMap(  # type: ignore[no-untyped-call]
                number=a.number,
                at=a.at,
                status_code=a.status_code,
                latency_ms=a.latency_ms,
                response_excerpt=a.response_excerpt,
                error=a.error,
            )
            for a in d.attempts
        ],
        next_attempt_at=d.next_attempt_at,
        replay_of=d.replay_of,
        expires_at=d.expires_at,
        created_at=d.created_at,
        updated_at=d.updated_at,
    )
    return [repo.Write(repo.with_version(item, version), _new(version))]


def _load_subscription(sub_id: str) -> tuple[WebhookSubscription, int] | None:
    item = repo.get(keys.webhook_subscription(sub_id), WebhookSubscriptionItem)
    if item is None:
        return None
    found = subscription_record(item)
    return found.value, found.version


def _load_delivery(delivery_id: str) -> tuple[WebhookDelivery, int] | None:
    item = repo.get(keys.webhook_delivery(delivery_id), WebhookDeliveryItem)
    if item is None:
        return None
    found = delivery_record(item)
    return found.value, found.version


register(WebhookSubscription, Mapper(_load_subscription, _save_subscription))
register(WebhookDelivery, Mapper(_load_delivery, _save_delivery))


class OutboundDynamo:
    """`services.ports_outbound.OutboundReads` on the single table."""

    def active_webhook_subscriptions(self) -> list[Versioned[WebhookSubscription]]:
        found = Item.gsi2.query(keys.ACTIVE_WEBHOOK_SUBSCRIPTIONS_PK)
        return [subscription_record(i) for i in found if isinstance(i, WebhookSubscriptionItem)]

    def webhook_subscriptions(self, *, limit: int, cursor: str | None = None) -> Page[Versioned[WebhookSubscription]]:
        page = repo.query_page(Item.gsi1, keys.WEBHOOK_SUBSCRIPTIONS_PK, limit=limit, cursor=cursor)
        return Page([subscription_record(i) for i in page.items if isinstance(i, WebhookSubscriptionItem)], page.cursor)

    def webhook_deliveries(
        self, *, subscription_id: str | None, status: str | None, limit: int, cursor: str | None = None
    ) -> Page[Versioned[WebhookDelivery]]:
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
        return Page([delivery_record(i) for i in page.items if isinstance(i, WebhookDeliveryItem)], page.cursor)
