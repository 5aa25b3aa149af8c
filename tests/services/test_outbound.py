"""Outbound webhooks through the webhooks service, on the in-memory store: one delivery per (event,
subscription), secret rotation, replay, the send-time address check, staff changes under versions and
the delivery log's listings. The subscriber is a stand-in for our HTTP adapter (`webhooks_out.post`), the
sealer one for its KMS sealing of secrets (`seal_secret`/`open_secret`); tests/adapters/test_webhooks_out.py
keeps the real POSTs to a local server, KMS, the retry schedule and the
sweep, the failing-subscription exception and the request-level checks on moto."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from chalicelib.adapters import webhooks_out as port
from chalicelib.adapters.memory import MemoryStore
from chalicelib.config import settings
from chalicelib.domain import webhooks as rules
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.permissions import SYSTEM
from chalicelib.handlers import webhooks_out as consumer
from chalicelib.services import webhooks as svc
from chalicelib.services.ports_outbound import WebhookDelivery, WebhookSubscription
from tests.adapters.events import typed

URL = "http://127.0.0.1:8765/hooks"


class Receiver:
    """The subscriber, as our HTTP adapter would have reached it: answers each POST with the next
    scripted status (then 200) and keeps what it received."""

    def __init__(self, *statuses: int) -> None:
        self.script = list(statuses)
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.urls: list[str] = []

    def post(self, url: str, body: str, headers: dict[str, str], *, timeout_s: float, pinned: str | None = None) -> port.Sent:
        self.urls.append(url)
        self.received.append(({k.lower(): v for k, v in headers.items()}, body.encode()))
        status = self.script.pop(0) if self.script else 200
        return port.Sent(status, 3, "not today" if status >= 300 else "thank you")

    def ids(self) -> list[str]:
        return [h["webhook-id"] for h, _ in self.received]


class Sealer:
    """Our port's sealing of signing secrets, as it behaves: a sealed value is not the secret, and opens
    only for the subscription it was sealed for (KMS with an encryption context, on moto, in tests/adapters)."""

    def seal(self, secret: str, subscription_id: str) -> str:
        return port.SEALED_PREFIX + secret[::-1] + "@" + subscription_id

    def open(self, stored: str, subscription_id: str) -> str:
        if not port.is_sealed(stored):
            return stored
        body, _, sealed_for = stored.removeprefix(port.SEALED_PREFIX).rpartition("@")
        assert sealed_for == subscription_id, "opened for another subscription"
        return body[::-1]


def use(monkeypatch: pytest.MonkeyPatch, **changes: Any) -> None:
    """Settings for the webhook service: local mode (subscribers on 127.0.0.1) unless a test says otherwise."""
    patched = dataclasses.replace(settings(), **{"stage": "local", **changes})
    monkeypatch.setattr(svc, "settings", lambda: patched)


@pytest.fixture(autouse=True)
def receiver(monkeypatch: pytest.MonkeyPatch) -> Receiver:
    use(monkeypatch)
    r = Receiver()
    monkeypatch.setattr(port, "post", r.post)
    sealer = Sealer()
    monkeypatch.setattr(port, "seal_secret", sealer.seal)
    monkeypatch.setattr(port, "open_secret", sealer.open)
    return r


def event(n: int = 1, type_: str = "order.placed") -> dict[str, Any]:
    return {
        "id": f"evt_{n:04d}",
        "type": type_,
        "subject_type": "order",
        "subject_id": f"ord_{n}",
        "at": "2030-01-02T03:04:05+00:00",
        "actor": {"sub": "care-1", "role": "customer_care"},
        "to_status": "placed",
        "has_internal_note": True,
        "data": {"campaign_id": "cmp_1", "customer_email": "alice@example.com", "total_cents": 1200},
    }


def subscribe(url: str = URL, types: tuple[str, ...] = ("order.placed",)) -> svc.Subscription:
    return svc.create_subscription(SYSTEM, url=url, event_types=list(types), description="test")


def test_a_redelivered_event_makes_no_second_delivery(receiver: Receiver):
    subscribe()
    assert consumer.handle(typed(event())) == 1
    assert consumer.handle(typed(event())) == 0
    assert len(receiver.received) == 1


def test_only_active_subscriptions_that_chose_the_type_get_a_delivery_each(receiver: Receiver):
    first, second = subscribe(), subscribe(types=("order.placed", "po.created"))
    subscribe(types=("po.created",))
    svc.update_subscription(SYSTEM, subscribe().id, active=False)
    assert svc.deliver_event(typed(event())) == 2
    assert sorted(receiver.ids()) == sorted(rules.webhook_id("evt_0001", s.id) for s in (first, second))
    assert svc.deliver_event(typed(event(2, "campaign.created"))) == 0  # not an offered type: nothing


def test_a_delivered_webhook_is_signed_logged_and_leaves_the_due_schedule(receiver: Receiver):
    sub = subscribe()
    consumer.handle(typed(event()))
    headers, body = receiver.received[0]
    assert Webhook(sub.secret or "").verify(body, headers)["id"] == "evt_0001"
    assert b"alice@example.com" not in body and b"1200" not in body
    d = svc.get_delivery(headers["webhook-id"])
    assert (d.status, d.next_attempt_at, d.version) == ("succeeded", None, 2)
    assert d.expires_at is not None and d.expires_at > datetime.now(UTC).timestamp() + 29 * 86400
    [attempt] = d.attempts
    assert (attempt.number, attempt.status_code, attempt.response_excerpt) == (1, 200, "thank you")


def test_during_a_rotation_both_secrets_verify_until_the_grace_window_ends(receiver: Receiver):
    sub = subscribe()
    rotated = svc.rotate_secret(SYSTEM, sub.id)
    assert rotated.secret != sub.secret
    consumer.handle(typed(event()))
    headers, body = receiver.received[0]
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (sub.secret, rotated.secret):
        Webhook(secret or "").verify(body, headers)
    item = svc.get_subscription(sub.id)
    assert {item.secret, item.previous_secret}.isdisjoint({sub.secret, rotated.secret})  # stored sealed
    after_grace = (item.previous_secret_expires_at or datetime.now(UTC)) + timedelta(seconds=1)
    assert svc.signing_secrets(item, after_grace) == [rotated.secret]


def test_a_failed_attempt_waits_in_the_schedule_and_the_due_retry_sends_the_same_id(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
):
    use(monkeypatch, webhook_retry_scale_percent=10)
    receiver.script = [500]
    sub = subscribe()
    consumer.handle(typed(event()))
    wid = rules.webhook_id("evt_0001", sub.id)
    d = svc.get_delivery(wid)
    assert d.status == "pending" and d.next_attempt_at is not None
    assert 0.5 <= (d.next_attempt_at - d.attempts[-1].at).total_seconds() < 1.5  # 10 % of 5 s
    due = d.next_attempt_at + timedelta(seconds=1)
    same_read = dataclasses.replace(d, attempts=list(d.attempts))
    assert svc.retry_due(d, due) == "webhook_succeeded"
    assert [a.status_code for a in svc.get_delivery(wid).attempts] == [500, 200]
    assert receiver.ids() == [wid, wid]
    with pytest.raises(Conflict):  # a second sweep holding the same read loses the claim
        svc.retry_due(same_read, due)
    assert len(receiver.received) == 2


def test_a_due_delivery_of_a_disabled_subscription_is_abandoned(receiver: Receiver):
    receiver.script = [500]
    sub = subscribe()
    consumer.handle(typed(event()))
    svc.update_subscription(SYSTEM, sub.id, active=False)
    d = svc.get_delivery(rules.webhook_id("evt_0001", sub.id))
    assert svc.retry_due(d) == "webhook_abandoned"
    assert svc.get_delivery(d.id).status == "abandoned" and len(receiver.received) == 1


def test_replay_sends_a_new_delivery_with_a_new_id_linked_to_the_original(receiver: Receiver):
    sub = subscribe()
    consumer.handle(typed(event()))
    original = rules.webhook_id("evt_0001", sub.id)
    replayed = svc.replay(SYSTEM, original)
    assert replayed.id != original and replayed.replay_of == original and replayed.status == "succeeded"
    assert receiver.ids() == [original, replayed.id]
    assert receiver.received[0][1] == receiver.received[1][1]  # the same body
    Webhook(sub.secret or "").verify(receiver.received[1][1], receiver.received[1][0])


def test_outside_local_mode_a_private_address_is_refused_at_send_time(receiver: Receiver, monkeypatch: pytest.MonkeyPatch):
    sub = subscribe()  # accepted in local mode; the deployment then "moves" to production
    use(monkeypatch, stage="prod")
    consumer.handle(typed(event()))
    d = svc.get_delivery(rules.webhook_id("evt_0001", sub.id))
    assert receiver.received == []
    assert d.status == "pending" and d.attempts[0].status_code is None
    assert "refused" in (d.attempts[0].error or "") and "loopback" in (d.attempts[0].error or "")


def test_a_staff_change_naming_an_old_version_is_a_conflict_and_changes_nothing(store: MemoryStore):
    sub = subscribe()
    changed = svc.update_subscription(SYSTEM, sub.id, description="first", expected_version=1)
    assert changed.version == 2 and changed.description == "first"
    with pytest.raises(Conflict):
        svc.update_subscription(SYSTEM, sub.id, description="second", expected_version=1)
    assert svc.get_subscription(sub.id).description == "first"
    assert [e.type for e in svc.subscription_events(sub.id)] == ["webhook_subscription.created", "webhook_subscription.updated"]


def test_a_change_that_lost_a_race_is_made_again_on_what_won(monkeypatch: pytest.MonkeyPatch):
    sub = subscribe()
    raced: list[bool] = []
    real_now = svc.now

    def now_with_a_rival() -> datetime:  # between the service's read and its commit, someone else writes
        if not raced:
            raced.append(True)
            svc.update_subscription(SYSTEM, sub.id, description="the rival's")
        return real_now()

    monkeypatch.setattr(svc, "now", now_with_a_rival)
    svc.update_subscription(SYSTEM, sub.id, url="http://127.0.0.1:9999/new")
    kept = svc.get_subscription(sub.id)
    assert (kept.url, kept.description, kept.version) == ("http://127.0.0.1:9999/new", "the rival's", 3)


def test_unknown_subscriptions_and_deliveries_are_not_found():
    with pytest.raises(NotFound):
        svc.get_subscription("whs_nope")
    with pytest.raises(NotFound):
        svc.get_delivery("msg_nope")
    with pytest.raises(NotFound):
        svc.update_subscription(SYSTEM, "whs_nope", description="x")


def test_the_delivery_log_lists_newest_first_by_subscription_and_status(receiver: Receiver):
    receiver.script = [500, 200, 500]
    a, b = subscribe(), subscribe(types=("po.created",))
    for n in (1, 2, 3):
        svc.deliver_event(typed(event(n)))
    svc.deliver_event(typed(event(4, "po.created")))
    wid = rules.webhook_id
    items, cursor = svc.list_deliveries(subscription_id=a.id, status="pending", limit=5, cursor=None)
    assert [d.id for d in items] == [wid("evt_0003", a.id), wid("evt_0001", a.id)] and cursor is None
    items, _ = svc.list_deliveries(subscription_id=None, status=None, limit=10, cursor=None)
    assert [d.event_id for d in items] == ["evt_0004", "evt_0003", "evt_0002", "evt_0001"]
    items, _ = svc.list_deliveries(subscription_id=b.id, status=None, limit=10, cursor=None)
    assert [(d.id, d.status) for d in items] == [(wid("evt_0004", b.id), "succeeded")]
    subs, _ = svc.list_subscriptions(limit=10, cursor=None)
    assert [s.id for s in subs] == [b.id, a.id]
    assert all(isinstance(s, WebhookSubscription) for s in subs) and all(isinstance(d, WebhookDelivery) for d in items)


def test_the_thin_payload_is_read_from_the_typed_event_never_its_json_form(monkeypatch: pytest.MonkeyPatch, receiver: Receiver):
    subscribe()
    placed = typed(event() | {"data": {"order_id": "ord_1", "campaign_id": "cmp_1", "customer_email": "alice@example.com"}})
    from_json_form = rules.thin_payload(placed.payload(), settings().public_url)

    def refuse(*_: object) -> Any:
        raise AssertionError("the webhooks consumer asked for the event's JSON form")

    monkeypatch.setattr(type(placed), "payload", refuse)
    assert svc.deliver_event(placed) == 1
    (_, body) = receiver.received[0]
    assert body.decode() == rules.body(from_json_form)
    assert from_json_form["timestamp"] == "2030-01-02T03:04:05+00:00"
    assert {"order_id": "ord_1", "campaign_id": "cmp_1", "status": "placed"}.items() <= from_json_form["data"].items()
