"""`services.ports_consumers.ConsumerRecords` on the table: the `ProcessedItem` per (consumer, event),
through `repository.claim_event` / `complete_event` / `release_event` (one request each); an inbound
webhook's `InboxItem` (`INBOX#<sender>#<webhook id>`, TTL): kept by one conditional PutItem, loaded by
one GetItem, its processing marked by a put in the commit's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from ...services.ports_consumers import ClaimState, InboxEntry
from . import keys
from . import repository as repo
from .mapping import Mapper, Writes, register
from .models import InboxItem


def _inbox_item(entry: InboxEntry) -> InboxItem:
    return InboxItem(
        *keys.inbox(entry.sender, entry.webhook_id),
        provider=entry.sender,
        webhook_id=entry.webhook_id,
        body=entry.body,
        event_type=entry.event_type,
        received_at=entry.received_at,
        processed_at=entry.processed_at,
        outcome=entry.outcome,
        expires_at=entry.expires_at,
    )


def _load_inbox(sender: str, webhook_id: str) -> tuple[InboxEntry, int] | None:
    item = repo.get(keys.inbox(sender, webhook_id), InboxItem)
    if item is None:
        return None
    entry = InboxEntry(
        sender=item.provider,
        webhook_id=item.webhook_id,
        body=item.body,
        event_type=item.event_type,
        received_at=item.received_at,
        expires_at=int(item.expires_at or 0),
        processed_at=item.processed_at,
        outcome=item.outcome,
    )
    return entry, 1  # no version of its own


def _save_inbox(entry: InboxEntry, version: int | None, at: datetime) -> Writes:
    item = _inbox_item(entry)
    return [repo.new_item(item) if version is None else repo.Write(item)]  # a mark is written as it is


register(InboxEntry, Mapper(load=_load_inbox, save=_save_inbox))


class ConsumersDynamo:
    def claim_event(self, consumer: str, key: str, at: datetime, *, lease_seconds: int, ttl_seconds: int) -> ClaimState:
        return cast(ClaimState, repo.claim_event(consumer, key, at, lease_seconds=lease_seconds, ttl_seconds=ttl_seconds))

    def complete_event(self, consumer: str, key: str, at: datetime) -> None:
        repo.complete_event(consumer, key, at)

    def release_event(self, consumer: str, key: str) -> None:
        repo.release_event(consumer, key)

    def keep_webhook(self, entry: InboxEntry) -> bool:
        return repo.create(_inbox_item(entry))
