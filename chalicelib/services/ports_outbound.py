"""The outbound area's part of the storage port (`services.ports`): webhook subscriptions and their
deliveries, notification preferences and the e-mail outbox, as records the domain has no class for,
and the reads the webhooks and notify services make.

Subscriptions and deliveries are keyed by `id`; their `version` field repeats the version they were
read at for the views that show it (the store never reads it back). Preferences are keyed by address,
an outbox entry by (event id, address).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from ..domain.addresses import Address
from ..domain.notifications import AlertMode
from ..domain.purchase_orders import PurchaseOrder
from .ports_common import Page, Versioned


@dataclass
class WebhookSubscription:
    """A subscriber: where to POST which event types, and the secrets that sign them. `previous_secret`
    keeps signing beside `secret` until `previous_secret_expires_at` (a rotation's grace window);
    `failing`: disabled by failures, so its `webhook_delivery_failing` exception is live."""

    id: str
    url: str
    event_types: list[str]
    description: str | None
    active: bool
    secret: str
    created_at: datetime
    updated_at: datetime
    previous_secret: str | None = None
    previous_secret_expires_at: datetime | None = None
    secret_rotated_at: datetime | None = None
    disabled_reason: str | None = None
    disabled_at: datetime | None = None
    failing: bool = False
    version: int = 0


@dataclass
class WebhookAttempt:
    """One POST of a delivery and what came back (`status_code` None: no answer; `error` says why)."""

    number: int
    at: datetime
    status_code: int | None = None
    latency_ms: int = 0
    response_excerpt: str | None = None
    error: str | None = None


@dataclass
class WebhookDelivery:
    """One (event, subscription) delivery, named by its webhook id, with its attempts (oldest first).
    `next_attempt_at`: when the sweep may send it next (or take over an attempt whose lease ran out);
    None once finished, when `expires_at` (epoch seconds) says how long it is kept."""

    id: str
    subscription_id: str
    event_id: str
    event_type: str
    payload: str
    status: str
    attempts_started: int
    created_at: datetime
    updated_at: datetime
    attempts: list[WebhookAttempt] = field(default_factory=list)
    next_attempt_at: datetime | None = None
    replay_of: str | None = None
    expires_at: int | None = None
    version: int = 0


@dataclass
class Preferences:
    """A person's choice for non-transactional mail, kept per (normalised) address; nobody has chosen
    anything until they do (immediate alerts, not opted out)."""

    email: str
    opt_out: bool = False
    alerts: AlertMode = AlertMode.IMMEDIATE
    updated_at: datetime | None = None
    updated_by: str | None = None
    locale: str | None = None  # the language of their own mail (chalicelib/i18n); None: the default


@dataclass
class OutboxEntry:
    """One e-mail of one (event, address), written before it is sent: `sending` (claimed until
    `lease_until`), then `sent`, or `failed` (retried on redelivery), `skipped_opted_out`, or
    `held_for_digest` (listed by `held_mail` until a digest carries it, then `digested`). Kept until
    `expires_at` (epoch seconds)."""

    event_id: str
    address: str
    event_type: str
    recipient_role: str
    template: str
    category: str
    status: str
    attempts: int
    created_at: datetime
    updated_at: datetime
    last_error: str | None = None
    message_id: str | None = None
    subject: str | None = None  # the rendered subject: a digest line for held mail
    link: str | None = None
    lease_until: datetime | None = None
    sent_at: datetime | None = None
    held_at: datetime | None = None
    digested_at: datetime | None = None
    expires_at: int | None = None


@dataclass(frozen=True)
class MailState:
    """What deciding an event's mails reads per address: its preferences (absent: none chosen) and its
    outbox entry for the event (absent: none yet)."""

    preferences: dict[str, Preferences]
    outbox: dict[str, Versioned[OutboxEntry]]


@dataclass(frozen=True)
class NotificationFacts:
    """The stored facts an event's mails show beyond the event: the supplier's name and contacts, the
    campaign's name and buyer, the purchase order, a delivery's ship-to (empty when not asked or absent)."""

    supplier_name: str = ""
    supplier_contacts: list[str] = field(default_factory=list)
    campaign_name: str = ""
    buyer_email: str | None = None
    po: PurchaseOrder | None = None
    ship_to: Address | None = None
    link_generation: int = 0  # the order's (asked by `order_id`): its order-page link is minted from it


class OutboundReads(Protocol):
    """The outbound area's named access patterns."""

    def active_webhook_subscriptions(self) -> list[Versioned[WebhookSubscription]]:
        """Every active subscription, oldest first: one Query of a sparse index (all its pages), read
        for each event the webhooks-out consumer offers."""
        ...

    def webhook_subscriptions(self, *, limit: int, cursor: str | None = None) -> Page[Versioned[WebhookSubscription]]:
        """Every subscription, newest first (by creation, then id): one Query per page."""
        ...

    def webhook_deliveries(
        self, *, subscription_id: str | None, status: str | None, limit: int, cursor: str | None = None
    ) -> Page[Versioned[WebhookDelivery]]:
        """Deliveries newest first (by creation, then id): of one subscription, in one status, both, or
        all. One Query per page, except by subscription AND status, where the status filters the
        subscription's deliveries and Queries follow until the page is full or they end (bounded): never
        an empty page with a cursor while matching deliveries remain."""
        ...

    def mail_state(self, event_id: str, addresses: list[str]) -> MailState:
        """The addresses' preferences and their outbox entries for the event: one read of both kinds."""
        ...

    def held_mail(self) -> list[Versioned[OutboxEntry]]:
        """Every outbox entry held for the digest (status `held_for_digest`), in no promised order: one
        Query of a sparse index (all its pages)."""
        ...

    def notification_facts(
        self,
        *,
        supplier_id: str | None = None,
        campaign_id: str | None = None,
        po_id: str | None = None,
        delivery: tuple[str, str] | None = None,
        order_id: str | None = None,
    ) -> NotificationFacts:
        """What is asked of: the supplier, the campaign, the PO, the delivery (order id, supplier id), the
        order's link generation; one read of them all, none when nothing is asked."""
        ...

    def campaign_buyers(self, campaign_ids: list[str]) -> dict[str, str | None]:
        """The buyer's address of each of those campaigns that exists, by id: one read (none when no id)."""
        ...
