"""The outbound area's reads in memory (`services.ports_outbound.OutboundReads`), from the stored
subscriptions and deliveries, in the orders the DynamoDB store's indexes give them."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar

from ..services.ports_common import Page, Versioned
from ..services.ports_outbound import WebhookDelivery, WebhookSubscription

T = TypeVar("T")


def _ts(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%f")


class OutboundMemory:
    """Mixed into `MemoryStore`, whose dict and pager it uses."""

    _aggregates: dict[tuple[type, tuple[str, ...]], tuple[Any, int]]
    _paged: Callable[..., Page[Any]]  # memory._page: rows (sort key, value) paged with its cursors

    def _versioned(self, kind: type[T]) -> list[Versioned[T]]:
        return [Versioned(copy.deepcopy(v), n) for (k, _), (v, n) in self._aggregates.items() if k is kind]

    def _newest_first(self, listing: str, rows: Iterable[Any], *, limit: int, cursor: str | None) -> Page[Any]:
        keyed = [((_ts(r.value.created_at), r.value.id), r) for r in rows]
        return self._paged(listing, keyed, limit=limit, cursor=cursor, reverse=True)

    def active_webhook_subscriptions(self) -> list[Versioned[WebhookSubscription]]:
        active = [s for s in self._versioned(WebhookSubscription) if s.value.active]
        return sorted(active, key=lambda s: (_ts(s.value.created_at), s.value.id))

    def webhook_subscriptions(self, *, limit: int, cursor: str | None = None) -> Page[Versioned[WebhookSubscription]]:
        return self._newest_first("webhook_subscriptions", self._versioned(WebhookSubscription), limit=limit, cursor=cursor)

    def webhook_deliveries(
        self, *, subscription_id: str | None, status: str | None, limit: int, cursor: str | None = None
    ) -> Page[Versioned[WebhookDelivery]]:
        rows = [
            d
            for d in self._versioned(WebhookDelivery)
            if (not subscription_id or d.value.subscription_id == subscription_id) and (not status or d.value.status == status)
        ]
        listing = f"webhook_deliveries/{subscription_id or ''}/{status or ''}"
        return self._newest_first(listing, rows, limit=limit, cursor=cursor)
