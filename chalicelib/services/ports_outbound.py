"""The outbound area's part of the storage port (`services.ports`): webhook subscriptions and their
deliveries, as records the domain has no class for, and the listings the webhooks service reads.

Both kinds are keyed by `id` and versioned by the store (`Versioned`); their `version` field repeats
the version they were read at for the views that show it (the store never reads it back).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

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
