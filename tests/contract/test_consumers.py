"""The consumers' idempotency records (services.ports_consumers), on both stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.services.ports import Store
from chalicelib.services.ports_consumers import CLAIMED, COMPLETED, IN_PROGRESS

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
