"""The outbound area's reads in memory (`services.ports_outbound.OutboundReads`), from the stored
subscriptions, deliveries, preferences, outbox entries and the other areas' suppliers, campaigns, POs
and orders, in the orders the DynamoDB store's indexes give them."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar

from ..domain.orders import Order
from ..domain.packing import on_packing_list
from ..domain.purchase_orders import PurchaseOrder
from ..services.ports import CampaignRecord, Supplier
from ..services.ports_common import Page, Versioned
from ..services.ports_outbound import (
    MailState,
    NotificationFacts,
    OutboxEntry,
    Preferences,
    WebhookDelivery,
    WebhookSubscription,
)

# The area's kinds whose key is not `obj.id` (memory.py adds them to its KEYS).
OUTBOUND_KEYS: dict[type, Callable[[Any], tuple[str, ...]]] = {
    Preferences: lambda p: (p.email,),
    OutboxEntry: lambda e: (e.event_id, e.address),
}

T = TypeVar("T")


def _ts(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%f")


class OutboundMemory:
    """Mixed into `MemoryStore`, whose dict and pager it uses."""

    _aggregates: dict[tuple[type, tuple[str, ...]], tuple[Any, int]]
    _page: Callable[..., Page[Any]]  # memory._page: rows (sort key, value) paged with its cursors
    load: Callable[..., Versioned[Any] | None]  # MemoryStore.load (a PO is kept as its PORecord)

    _versioned: Callable[[type], list[Versioned[Any]]]  # MemoryStore._versioned: every stored one of a kind

    def _newest_first(self, listing: str, rows: Iterable[Any], *, limit: int, cursor: str | None) -> Page[Any]:
        keyed = [((_ts(r.value.created_at), r.value.id), r) for r in rows]
        return self._page(listing, keyed, limit=limit, cursor=cursor, reverse=True)

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

    def _one(self, kind: type[T], *key: str) -> Versioned[T] | None:
        found = self._aggregates.get((kind, key))
        return None if found is None else Versioned(copy.deepcopy(found[0]), found[1])

    def mail_state(self, event_id: str, addresses: list[str]) -> MailState:
        prefs = {a: p.value for a in addresses if (p := self._one(Preferences, a)) is not None}
        outbox = {a: e for a in addresses if (e := self._one(OutboxEntry, event_id, a)) is not None}
        return MailState(prefs, outbox)

    def held_mail(self) -> list[Versioned[OutboxEntry]]:
        return [e for e in self._versioned(OutboxEntry) if e.value.status == "held_for_digest" and e.value.held_at is not None]

    def notification_facts(
        self,
        *,
        supplier_id: str | None = None,
        campaign_id: str | None = None,
        po_id: str | None = None,
        delivery: tuple[str, str] | None = None,
        order_id: str | None = None,
    ) -> NotificationFacts:
        facts: dict[str, Any] = {}
        if order_id and (linked := self._one(Order, order_id)) is not None:
            facts["link_generation"] = linked.value.link_generation
        if supplier_id and (supplier := self._one(Supplier, supplier_id)) is not None:
            facts.update(supplier_name=supplier.value.name, supplier_contacts=list(supplier.value.contact_emails))
        if campaign_id and (campaign := self._one(CampaignRecord, campaign_id)) is not None:
            facts.update(campaign_name=campaign.value.campaign.name, buyer_email=campaign.value.buyer_email)
        if po_id and (po := self.load(PurchaseOrder, po_id)) is not None:  # kept as its PORecord
            facts["po"] = po.value
        if delivery and (order := self._one(Order, delivery[0])) is not None:
            d = next((d for d in order.value.deliveries if d.supplier_id == delivery[1]), None)
            if d is not None and on_packing_list(d.status):  # the supplier sees where it goes once it packs it
                ship_to = d.ship_to or order.value.shipping_address
                if ship_to is not None:
                    facts["ship_to"] = ship_to
        return NotificationFacts(**facts)

    def campaign_buyers(self, campaign_ids: list[str]) -> dict[str, str | None]:
        found = {c: self._one(CampaignRecord, c) for c in campaign_ids}
        return {c: r.value.buyer_email for c, r in found.items() if r is not None}
