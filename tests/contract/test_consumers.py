"""The consumers' idempotency records and the inbound webhooks' inbox (services.ports_consumers), on both
stores."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from chalicelib.services.ports import Save, Store
from chalicelib.services.ports_consumers import CLAIMED, COMPLETED, IN_PROGRESS, InboxEntry

AT = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
LEASE, TTL = 60, 3600


def claim(store: Store, at: datetime, consumer: str = "notifications", key: str = "evt-1") -> str:
    return store.claim_event(consumer, key, at, lease_seconds=LEASE, ttl_seconds=TTL)


def test_a_claimed_event_is_in_progress_for_another_run_until_its_lease_runs_out(store):
    assert claim(store, AT) == CLAIMED
    assert claim(store, AT + timedelta(seconds=10)) == IN_PROGRESS
    assert claim(store, AT + timedelta(seconds=LEASE + 5)) == CLAIMED  # the first run crashed: its lease ran out


def test_a_completed_event_is_skipped_until_its_record_expires(store):
    assert claim(store, AT) == CLAIMED
    store.complete_event("notifications", "evt-1", AT + timedelta(seconds=1))
    assert claim(store, AT + timedelta(seconds=LEASE + 5)) == COMPLETED
    assert claim(store, AT + timedelta(seconds=TTL + 5)) == CLAIMED


def test_a_released_claim_lets_the_redelivery_do_the_work(store):
    assert claim(store, AT) == CLAIMED
    store.release_event("notifications", "evt-1")
    assert claim(store, AT + timedelta(seconds=1)) == CLAIMED


def test_each_consumer_keeps_its_own_record_of_an_event(store):
    assert claim(store, AT, consumer="notifications") == CLAIMED
    store.complete_event("notifications", "evt-1", AT)
    assert claim(store, AT, consumer="webhooks_out") == CLAIMED
    assert claim(store, AT, key="evt-2") == CLAIMED


def webhook(webhook_id: str = "msg_1", sender: str = "carrier:dhl") -> InboxEntry:
    return InboxEntry(sender, webhook_id, '{"type": "tracking"}', "tracking", AT, int(AT.timestamp()) + TTL)


def test_a_webhook_is_kept_once_and_a_second_delivery_of_its_id_changes_nothing(store):
    assert store.load(InboxEntry, "carrier:dhl", "msg_1") is None
    assert store.keep_webhook(webhook()) is True
    assert store.keep_webhook(replace(webhook(), body="{}")) is False
    assert store.keep_webhook(webhook(sender="bank")) is True  # the id is the sender's

    found = store.load(InboxEntry, "carrier:dhl", "msg_1")
    assert found is not None and (found.value, found.version) == (webhook(), 1)


def test_a_kept_webhook_is_marked_processed_as_it_is_whatever_version_is_named(store):
    store.keep_webhook(webhook())
    found = store.load(InboxEntry, "carrier:dhl", "msg_1")
    assert found is not None
    done = replace(found.value, processed_at=AT + timedelta(seconds=3), outcome="applied")
    store.commit([Save(done, found.version)], what="webhook msg_1", at=AT)
    store.commit([Save(done, found.version)], what="webhook msg_1", at=AT)  # no version of its own: no conflict

    again = store.load(InboxEntry, "carrier:dhl", "msg_1")
    assert again is not None and (again.value, again.version) == (done, 1)
