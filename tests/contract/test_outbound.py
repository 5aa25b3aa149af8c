"""What every store does with the outbound area's records (`services.ports_outbound`), on both stores:
webhook subscriptions and deliveries load and save under versions, a second create of either is
AlreadyExists, and the listings (active subscriptions, all subscriptions, deliveries by subscription
and/or status) come in their order, page by cursor and refuse another listing's cursor."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.domain.audit import AuditEvent
from chalicelib.domain.errors import AlreadyExists, Conflict, RuleViolation
from chalicelib.domain.permissions import SYSTEM
from chalicelib.services.ports import Record, Save, Store
from chalicelib.services.ports_outbound import WebhookAttempt, WebhookDelivery, WebhookSubscription
from tests.unit.factories import NOW


def subscription(n: int, *, active: bool = True) -> WebhookSubscription:
    at = NOW + timedelta(minutes=n)
    return WebhookSubscription(
        id=f"whs_{n}",
        url=f"https://hooks.example.com/{n}",
        event_types=["order.placed", "po.created"],
        description=f"subscriber {n}",
        active=active,
        secret=f"whsec_{n}",
        created_at=at,
        updated_at=at,
    )


def delivery(n: int, sub_id: str = "whs_1", status: str = "pending") -> WebhookDelivery:
    at = NOW + timedelta(minutes=n)
    return WebhookDelivery(
        id=f"msg_{n}",
        subscription_id=sub_id,
        event_id=f"evt_{n}",
        event_type="order.placed",
        payload='{"type":"order.placed"}',
        status=status,
        attempts_started=1,
        created_at=at,
        updated_at=at,
        next_attempt_at=at + timedelta(seconds=30),
    )


def create(store: Store, *objs: WebhookSubscription | WebhookDelivery) -> None:
    for obj in objs:
        store.commit([Save(obj, None)], what=obj.id, at=NOW)


def test_a_subscription_loads_as_saved_and_each_save_moves_its_version_on(store: Store):
    sub = subscription(1)
    create(store, sub)
    found = store.load(WebhookSubscription, "whs_1")
    assert found is not None and found.version == 1
    assert replace(found.value, version=0) == sub
    rotated = replace(
        found.value,
        previous_secret="whsec_1",
        previous_secret_expires_at=NOW + timedelta(days=1),
        secret="whsec_new",
        secret_rotated_at=NOW,
        active=False,
        failing=True,
        disabled_reason="410",
        disabled_at=NOW,
    )
    store.commit([Save(rotated, 1)], what="subscription", at=NOW)
    again = store.load(WebhookSubscription, "whs_1")
    assert again is not None and again.version == 2
    assert replace(again.value, version=0) == replace(rotated, version=0)


def test_a_subscription_saved_under_a_stale_version_is_a_conflict_and_created_twice_already_exists(store: Store):
    create(store, subscription(1))
    store.commit([Save(replace(subscription(1), url="https://a.example.com/x"), 1)], what="subscription", at=NOW)
    with pytest.raises(Conflict):
        store.commit([Save(replace(subscription(1), url="https://b.example.com/x"), 1)], what="subscription", at=NOW)
    with pytest.raises(AlreadyExists):
        create(store, subscription(1))
    found = store.load(WebhookSubscription, "whs_1")
    assert found is not None and found.value.url == "https://a.example.com/x"


def test_a_subscriptions_audit_events_are_kept_in_its_history(store: Store):
    sub = subscription(1)
    event = AuditEvent("evt_a", "subscription", sub.id, "webhook_subscription.created", SYSTEM, NOW, to_status="active")
    store.commit([Save(sub, None), Record(event)], what="subscription", at=NOW)
    assert [e.id for e in store.history("subscription", sub.id, limit=10).items] == ["evt_a"]


def test_a_delivery_keeps_its_attempts_and_schedule_and_is_created_once(store: Store):
    d = delivery(1)
    create(store, d)
    with pytest.raises(AlreadyExists):
        create(store, replace(d, payload="another body"))
    found = store.load(WebhookDelivery, "msg_1")
    assert found is not None and found.version == 1 and found.value.payload == d.payload
    done = replace(
        found.value,
        status="succeeded",
        attempts=[
            WebhookAttempt(1, NOW, None, 0, None, "refused: loopback"),
            WebhookAttempt(2, NOW + timedelta(seconds=5), 200, 42, "thank you", None),
        ],
        attempts_started=2,
        next_attempt_at=None,
        expires_at=int((NOW + timedelta(days=30)).timestamp()),
        replay_of="msg_0",
    )
    store.commit([Save(done, 1)], what="delivery", at=NOW)
    with pytest.raises(Conflict):
        store.commit([Save(replace(done, status="failed"), 1)], what="delivery", at=NOW)
    again = store.load(WebhookDelivery, "msg_1")
    assert again is not None and again.version == 2
    assert replace(again.value, version=0) == replace(done, version=0)
    assert store.load(WebhookDelivery, "msg_2") is None


def test_only_active_subscriptions_are_offered_events_oldest_first(store: Store):
    create(store, subscription(3), subscription(1), subscription(2, active=False))
    assert [s.value.id for s in store.active_webhook_subscriptions()] == ["whs_1", "whs_3"]
    found = store.load(WebhookSubscription, "whs_3")
    assert found is not None
    store.commit([Save(replace(found.value, active=False), found.version)], what="subscription", at=NOW)
    assert [(s.value.id, s.version) for s in store.active_webhook_subscriptions()] == [("whs_1", 1)]


def test_subscriptions_list_newest_first_across_pages(store: Store):
    create(store, *(subscription(n, active=n % 2 == 0) for n in range(1, 6)))
    first = store.webhook_subscriptions(limit=2)
    assert [s.value.id for s in first.items] == ["whs_5", "whs_4"] and first.cursor
    second = store.webhook_subscriptions(limit=2, cursor=first.cursor)
    third = store.webhook_subscriptions(limit=2, cursor=second.cursor)
    assert [s.value.id for s in second.items + third.items] == ["whs_3", "whs_2", "whs_1"]
    assert third.cursor is None
    with pytest.raises(RuleViolation):
        store.webhook_deliveries(subscription_id=None, status=None, limit=2, cursor=first.cursor)


def test_deliveries_list_newest_first_by_subscription_by_status_by_both_or_all(store: Store):
    statuses = ["pending", "succeeded", "pending", "failed", "pending", "succeeded"]
    create(store, *(delivery(n, "whs_1" if n % 2 else "whs_2", s) for n, s in enumerate(statuses, start=1)))

    def ids(subscription_id: str | None, status: str | None, limit: int = 10) -> list[str]:
        found: list[str] = []
        cursor: str | None = None
        while True:
            page = store.webhook_deliveries(subscription_id=subscription_id, status=status, limit=limit, cursor=cursor)
            found += [d.value.id for d in page.items]
            if page.cursor is None:
                return found
            cursor = page.cursor

    assert ids(None, None) == ["msg_6", "msg_5", "msg_4", "msg_3", "msg_2", "msg_1"]
    assert ids(None, None, limit=4) == ids(None, None)
    assert ids("whs_1", None, limit=2) == ["msg_5", "msg_3", "msg_1"]
    assert ids(None, "succeeded", limit=1) == ["msg_6", "msg_2"]
    assert ids("whs_1", "pending", limit=2) == ["msg_5", "msg_3", "msg_1"]
    assert ids("whs_2", "pending") == [] and ids("whs_9", None) == []
    page = store.webhook_deliveries(subscription_id="whs_1", status="pending", limit=2)
    assert [d.value.id for d in page.items] == ["msg_5", "msg_3"]  # a filtered page is filled
    found = store.load(WebhookDelivery, "msg_5")
    assert found is not None
    store.commit([Save(replace(found.value, status="succeeded"), found.version)], what="delivery", at=NOW)
    assert ids("whs_1", "pending") == ["msg_3", "msg_1"] and ids(None, "succeeded") == ["msg_6", "msg_5", "msg_2"]
