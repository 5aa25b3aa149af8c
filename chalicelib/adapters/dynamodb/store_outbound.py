"""The outbound area on the single table: webhook subscriptions and deliveries (`services.ports_outbound`).

A subscription is `SUBSCRIPTION#<id>` / `#META` (its audit events in the same partition), in GSI1
`WEBHOOKSUBS` and, while active, in sparse GSI2 `WEBHOOKSUBS#ACTIVE`. A delivery is
`WHDELIVERY#<id>` / `#META` with its attempts inline, listed by subscription (GSI1), by status (GSI2)
and all together (GSI3), and in the sweep's due index (GSI4) while `next_attempt_at` is set. The
requests are those the webhooks service made before it moved: a GetItem per load, one Query per page.

Notification preferences are `NOTIFYPREF#<address>` / `#META`; an outbox entry `OUTBOX#<event>` /
`TO#<address>`, in sparse GSI1 `DIGEST#PENDING` while held for the digest. The notify service's reads
are its BatchGetItems (preferences with the event's outbox entries; the facts a mail shows; the
campaigns' buyers) and its Query of the held mail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...config import settings
from ...domain.notifications import AlertMode
from ...services.ports import Page, Versioned
from ...services.ports_outbound import (
    MailState,
    NotificationFacts,
    OutboxEntry,
    Preferences,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from . import keys
from . import repository as repo
from .mapping import Mapper, Writes, register
from .models import (
    CampaignItem,
    DeliveryIndexItem,
    Item,
    NotificationPreferenceItem,
    OrderItem,
    OutboxItem,
    PurchaseOrderItem,
    SupplierItem,
    WebhookAttemptMap,
    WebhookDeliveryItem,
    WebhookSubscriptionItem,
)


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


def _preferences(item: NotificationPreferenceItem) -> Preferences:
    return Preferences(item.address, bool(item.opt_out), AlertMode(item.alerts), item.updated_at, item.updated_by, item.locale)


def _load_preferences(address: str) -> tuple[Preferences, int] | None:
    item = repo.get(keys.notification_preferences(address), NotificationPreferenceItem)
    return None if item is None else (_preferences(item), 1)


def _save_preferences(p: Preferences, version: int | None, _at: datetime) -> Writes:
    """Preferences carry no version attribute (the last choice wins): a create is conditional on the
    item being absent, a change on it being there."""
    item = NotificationPreferenceItem(
        *keys.notification_preferences(p.email),
        address=p.email,
        opt_out=p.opt_out,
        alerts=p.alerts.value,
        updated_at=p.updated_at,
        updated_by=p.updated_by,
        locale=p.locale,
    )
    return [repo.Write(item, Item.PK.does_not_exist() if version is None else Item.PK.exists())]


def outbox_record(item: OutboxItem) -> Versioned[OutboxEntry]:
    entry = OutboxEntry(
        event_id=item.event_id,
        address=item.address,
        event_type=item.event_type,
        recipient_role=item.recipient_role,
        template=item.template,
        category=item.category,
        status=item.status,
        attempts=int(item.attempts or 0),
        created_at=item.created_at,
        updated_at=item.updated_at,
        last_error=item.last_error,
        message_id=item.message_id,
        subject=item.subject,
        link=item.link,
        lease_until=item.lease_until,
        sent_at=item.sent_at,
        held_at=item.held_at,
        digested_at=item.digested_at,
        expires_at=None if item.expires_at is None else int(item.expires_at),
    )
    return Versioned(entry, int(item.version or 0))


def _load_outbox(event_id: str, address: str) -> tuple[OutboxEntry, int] | None:
    item = repo.get(keys.outbox(event_id, address), OutboxItem)
    if item is None:
        return None
    found = outbox_record(item)
    return found.value, found.version


def _save_outbox(e: OutboxEntry, version: int | None, _at: datetime) -> Writes:
    held = e.status == "held_for_digest" and e.held_at is not None  # in the digest's index until it is carried
    item = OutboxItem(
        *keys.outbox(e.event_id, e.address),
        GSI1PK=keys.DIGEST_PENDING_PK if held else None,
        GSI1SK=keys.digest_pending_sk(e.address, e.held_at, e.event_id) if held and e.held_at else None,
        event_id=e.event_id,
        event_type=e.event_type,
        address=e.address,
        recipient_role=e.recipient_role,
        template=e.template,
        category=e.category,
        status=e.status,
        attempts=e.attempts,
        last_error=e.last_error,
        message_id=e.message_id,
        subject=e.subject,
        link=e.link,
        lease_until=e.lease_until,
        created_at=e.created_at,
        updated_at=e.updated_at,
        sent_at=e.sent_at,
        held_at=e.held_at,
        digested_at=e.digested_at,
        expires_at=e.expires_at,
    )
    return [repo.Write(repo.with_version(item, version), _new(version))]


register(WebhookSubscription, Mapper(_load_subscription, _save_subscription))
register(WebhookDelivery, Mapper(_load_delivery, _save_delivery))
register(Preferences, Mapper(_load_preferences, _save_preferences))
register(OutboxEntry, Mapper(_load_outbox, _save_outbox))


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

    def mail_state(self, event_id: str, addresses: list[str]) -> MailState:
        if not addresses:
            return MailState({}, {})
        found = repo.batch_get([k for a in addresses for k in (keys.notification_preferences(a), keys.outbox(event_id, a))])
        return MailState(
            {i.address: _preferences(i) for i in found if isinstance(i, NotificationPreferenceItem)},
            {i.address: outbox_record(i) for i in found if isinstance(i, OutboxItem)},
        )

    def held_mail(self) -> list[Versioned[OutboxEntry]]:
        return [
            outbox_record(i)
            for i in Item.gsi1.query(keys.DIGEST_PENDING_PK)
            if isinstance(i, OutboxItem) and i.status == "held_for_digest"
        ]

    def notification_facts(
        self,
        *,
        supplier_id: str | None = None,
        campaign_id: str | None = None,
        po_id: str | None = None,
        delivery: tuple[str, str] | None = None,
        order_id: str | None = None,
    ) -> NotificationFacts:
        wanted = [
            *([keys.order(order_id)] if order_id else []),
            *([keys.supplier(supplier_id)] if supplier_id else []),
            *([keys.campaign(campaign_id)] if campaign_id else []),
            *([keys.po(po_id)] if po_id else []),
            *([keys.delivery(*delivery)] if delivery else []),
        ]
        facts: dict[str, Any] = {}
        for item in repo.batch_get(wanted) if wanted else []:
            if isinstance(item, SupplierItem):
                facts.update(supplier_name=item.name, supplier_contacts=[str(e) for e in item.contact_emails or []])
            elif isinstance(item, CampaignItem):
                facts.update(campaign_name=item.name, buyer_email=item.buyer_email)
            elif isinstance(item, PurchaseOrderItem):
                facts["po"] = repo.po_from_item(item)
            elif isinstance(item, OrderItem):
                facts["link_generation"] = int(item.link_generation or 0)
            elif isinstance(item, DeliveryIndexItem) and item.ship_to is not None:
                facts["ship_to"] = repo.address_from_map(item.ship_to)
        return NotificationFacts(**facts)

    def campaign_buyers(self, campaign_ids: list[str]) -> dict[str, str | None]:
        if not campaign_ids:
            return {}
        return {
            i.id: i.buyer_email for i in repo.batch_get(keys.campaign(c) for c in campaign_ids) if isinstance(i, CampaignItem)
        }
