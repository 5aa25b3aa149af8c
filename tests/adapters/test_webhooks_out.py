"""Outbound webhooks end to end on moto: the consumer delivers signed webhooks, over real HTTP, that an
independent implementation of the Standard Webhooks spec verifies; failures retry on the spec's schedule
through the sweep; 410 or the last failure disables the subscriber and raises webhook_delivery_failing; a
crash never loses a delivery nor sends it under two ids. The service's rules without the sweep or AWS
(redelivery, rotation, replay, the send-time address check) run on the in-memory store in
tests/services/test_outbound.py."""

from __future__ import annotations

import base64
import dataclasses
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import botocore.exceptions
import pytest
from standardwebhooks.webhooks import Webhook

from chalicelib.adapters import webhooks_out as port
from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb import repository as repo
from chalicelib.adapters.dynamodb.models import WebhookDeliveryItem, WebhookSubscriptionItem
from chalicelib.config import settings
from chalicelib.domain import webhooks as rules
from chalicelib.domain.permissions import SYSTEM
from chalicelib.handlers import batch
from chalicelib.handlers import webhooks_out as consumer
from chalicelib.local.provision import Provisioned
from chalicelib.services import escalations, exceptions
from chalicelib.services import webhooks as svc
from chalicelib.topology import TOPOLOGY
from tests.adapters.events import typed


class Receiver:
    """A subscriber on 127.0.0.1: answers each POST with the next scripted status (then 200)."""

    def __init__(self, *statuses: int) -> None:
        self.script = list(statuses)
        self.received: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.received.append(({k.lower(): v for k, v in self.headers.items()}, data))
                status = outer.script.pop(0) if outer.script else 200
                self.send_response(status)
                self.send_header("Content-Length", "9")
                self.end_headers()
                self.wfile.write(b"not today" if status >= 300 else b"thank you")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def ids(self) -> list[str]:
        return [h["webhook-id"] for h, _ in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def use(monkeypatch: pytest.MonkeyPatch, **changes: Any) -> None:
    """Settings for the webhook service (read once elsewhere): local mode (subscribers on 127.0.0.1)
    unless a test says otherwise."""
    patched = dataclasses.replace(settings(), **{"stage": "local", **changes})
    monkeypatch.setattr(svc, "settings", lambda: patched)


@pytest.fixture(autouse=True)
def local_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    use(monkeypatch)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def event(n: int = 1, type_: str = "order.placed") -> dict[str, Any]:
    """A domain event as the publisher puts it on the bus (internal detail included: it must not leak)."""
    return {
        "id": f"evt_{n:04d}",
        "type": type_,
        "subject_type": "order",
        "subject_id": f"ord_{n}",
        "at": "2030-01-02T03:04:05+00:00",
        "actor": {"sub": "care-1", "role": "customer_care"},
        "from_status": None,
        "to_status": "placed",
        "customer_note": None,
        "has_internal_note": True,
        "data": {"campaign_id": "cmp_1", "customer_email": "alice@example.com", "total_cents": 1200},
    }


def subscribe(url: str, types: tuple[str, ...] = ("order.placed",)) -> svc.Subscription:
    return svc.create_subscription(SYSTEM, url=url, event_types=list(types), description="test")


def delivery(delivery_id: str) -> WebhookDeliveryItem:
    item = repo.get(keys.webhook_delivery(delivery_id), WebhookDeliveryItem)
    assert item is not None
    return item


def subscription(sub_id: str) -> WebhookSubscriptionItem:
    item = repo.get(keys.webhook_subscription(sub_id), WebhookSubscriptionItem)
    assert item is not None
    return item


def failing(sub_id: str) -> exceptions.ExceptionRecord | None:
    return exceptions.get(exceptions.exception_id("webhook_delivery_failing", "subscription", sub_id))


def test_a_delivered_webhook_verifies_with_the_standard_webhooks_library_and_carries_a_thin_payload(
    aws: Provisioned, receiver: Receiver
):
    sub = subscribe(receiver.url)
    other = subscribe(receiver.url, ("po.created",))
    assert sub.secret and sub.secret.startswith("whsec_")
    sqs_record = type("R", (), {"body": json.dumps({"detail": event()}), "to_dict": lambda self: {"messageId": "m1"}})
    assert batch.process([sqs_record()], consumer.handle) == {"batchItemFailures": []}  # as the Lambda runs it
    assert len(receiver.received) == 1  # only the subscription that chose order.placed
    headers, body = receiver.received[0]
    payload = Webhook(sub.secret).verify(body, headers)
    assert headers["webhook-id"] == rules.webhook_id("evt_0001", sub.id)
    assert payload == {
        "type": "order.placed",
        "id": "evt_0001",
        "timestamp": "2030-01-02T03:04:05+00:00",
        "data": {
            "subject_type": "order",
            "subject_id": "ord_1",
            "status": "placed",
            "campaign_id": "cmp_1",
            "links": {
                "order": f"{settings().public_url}/staff/orders/ord_1",
                "campaign": f"{settings().public_url}/staff/campaigns/cmp_1",
            },
        },
    }
    assert b"alice@example.com" not in body and b"1200" not in body
    with pytest.raises(Exception):  # noqa: B017 (the library's own verification error)
        Webhook(other.secret or "").verify(body, headers)
    d = delivery(headers["webhook-id"])
    assert d.status == "succeeded" and d.GSI4PK is None
    [attempt] = d.attempts
    assert (int(attempt.status_code), attempt.response_excerpt) == (200, "thank you")
    assert attempt.latency_ms >= 0


def test_failures_retry_on_the_scaled_schedule_with_the_same_webhook_id_then_succeed(
    aws: Provisioned, monkeypatch: pytest.MonkeyPatch
):
    use(monkeypatch, webhook_retry_scale_percent=10)
    r = Receiver(500, 503, 429)
    try:
        sub = subscribe(r.url)
        consumer.handle(typed(event()))
        wid = rules.webhook_id("evt_0001", sub.id)
        d = delivery(wid)
        assert d.status == "pending" and len(d.attempts) == 1
        at = datetime.now(UTC)
        for expected_delay in (0.5, 30.0):  # 10 % of 5 s, then of 5 min
            gap = (d.next_attempt_at - d.attempts[-1].at).total_seconds()
            assert expected_delay <= gap < expected_delay + 1, gap
            assert (
                escalations.sweep(d.next_attempt_at - timedelta(milliseconds=400)).actions.get("webhook_retry") is None
            )  # not due yet
            at = d.next_attempt_at + timedelta(seconds=1)
            escalations.sweep(at)
            d = delivery(wid)
        gap = (d.next_attempt_at - at).total_seconds()
        assert 180 <= gap < 181, gap  # the third failure waits 10 % of 30 min
        escalations.sweep(d.next_attempt_at + timedelta(seconds=1))
        d = delivery(wid)
        assert d.status == "succeeded"
        assert [a.status_code for a in d.attempts] == [500, 503, 429, 200]
        assert r.ids() == [wid] * 4
        assert escalations.sweep(datetime.now(UTC) + timedelta(days=3)).read == 0  # out of the due index
        assert subscription(sub.id).active
    finally:
        r.close()


def test_410_gone_disables_the_subscription_at_once_and_raises_webhook_delivery_failing(aws: Provisioned):
    r = Receiver(410)
    try:
        sub = subscribe(r.url)
        consumer.handle(typed(event()))
        d = delivery(rules.webhook_id("evt_0001", sub.id))
        assert d.status == "failed" and len(d.attempts) == 1
        item = subscription(sub.id)
        assert not item.active and "410" in (item.disabled_reason or "")
        record = failing(sub.id)
        assert record is not None and record.status.value in ("pending", "open")
        assert consumer.handle(typed(event(2))) == 0  # a disabled subscription gets nothing
        assert len(r.received) == 1
        svc.update_subscription(SYSTEM, sub.id, active=True)  # staff re-enable it: the exception resolves
        after = failing(sub.id)
        assert after is not None and after.status.value == "resolved"
    finally:
        r.close()


def test_the_last_failed_attempt_disables_the_subscription(aws: Provisioned, monkeypatch: pytest.MonkeyPatch):
    use(monkeypatch, webhook_retry_scale_percent=1)
    r = Receiver(*([500] * rules.MAX_ATTEMPTS))
    try:
        sub = subscribe(r.url)
        consumer.handle(typed(event()))
        wid = rules.webhook_id("evt_0001", sub.id)
        for _ in range(rules.MAX_ATTEMPTS - 1):
            escalations.sweep(delivery(wid).next_attempt_at + timedelta(seconds=1))
        d = delivery(wid)
        assert d.status == "failed" and len(d.attempts) == rules.MAX_ATTEMPTS == len(r.received)
        assert not subscription(sub.id).active
        assert failing(sub.id) is not None
    finally:
        r.close()


def test_a_consumer_crash_loses_nothing_and_the_rerun_sends_the_same_id(
    aws: Provisioned, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
):
    sub = subscribe(receiver.url)
    real_post = port.post

    def crash_after_sending(*args: Any, **kwargs: Any) -> port.Sent:
        real_post(*args, **kwargs)  # the subscriber got it; we die before logging the outcome
        raise RuntimeError("Lambda timed out")

    monkeypatch.setattr(port, "post", crash_after_sending)
    with pytest.raises(RuntimeError):
        consumer.handle(typed(event()))
    monkeypatch.setattr(port, "post", real_post)
    assert consumer.handle(typed(event())) == 0  # SQS redelivers: the delivery exists, no second id
    wid = rules.webhook_id("evt_0001", sub.id)
    d = delivery(wid)
    assert d.status == "sending"
    assert escalations.sweep(datetime.now(UTC)).read == 0  # its lease still runs
    escalations.sweep(d.next_attempt_at + timedelta(seconds=1))
    d = delivery(wid)
    assert d.status == "succeeded"
    assert receiver.ids() == [wid, wid]
    assert "interrupted" in (d.attempts[0].error or "") and int(d.attempts[1].status_code) == 200


# ---------------------------------------------------------------- secrets sealed with KMS


def kms() -> Any:
    import boto3

    return boto3.client("kms", region_name="eu-west-1")


def opened(stored: str, subscription_id: str) -> str:
    """What KMS itself gives back for a stored secret under that subscription's encryption context."""
    assert stored.startswith(port.SEALED_PREFIX), stored
    blob = base64.b64decode(stored.removeprefix(port.SEALED_PREFIX))
    return kms().decrypt(CiphertextBlob=blob, EncryptionContext={"subscription_id": subscription_id})["Plaintext"].decode()


def test_a_subscriptions_secrets_are_stored_encrypted_with_the_webhook_key_bound_to_the_subscription(
    aws: Provisioned, receiver: Receiver
):
    sub = subscribe(receiver.url)
    item = subscription(sub.id)
    assert sub.secret and sub.secret not in item.secret and item.secret.startswith(port.SEALED_PREFIX)
    assert opened(item.secret, sub.id) == sub.secret
    key_id = aws.keys[TOPOLOGY.keys[0].alias]
    blob = base64.b64decode(item.secret.removeprefix(port.SEALED_PREFIX))
    assert kms().decrypt(CiphertextBlob=blob, EncryptionContext={"subscription_id": sub.id})["KeyId"].endswith(key_id)
    with pytest.raises(botocore.exceptions.ClientError, match="InvalidCiphertext"):  # copied onto another subscription
        opened(item.secret, "whs_other")
    assert kms().get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"]

    rotated = svc.rotate_secret(SYSTEM, sub.id)
    item = subscription(sub.id)
    assert rotated.secret and opened(item.secret, sub.id) == rotated.secret
    assert item.previous_secret and opened(item.previous_secret, sub.id) == sub.secret
    consumer.handle(typed(event()))  # signed with both, opened at send time
    headers, body = receiver.received[0]
    for secret in (sub.secret, rotated.secret):
        Webhook(secret).verify(body, headers)


def test_a_secret_stored_in_plaintext_before_sealing_still_signs_and_is_sealed_at_its_first_send(
    aws: Provisioned, receiver: Receiver
):
    sub = subscribe(receiver.url)
    legacy = subscription(sub.id)
    legacy.secret = "whsec_" + "A" * 32  # as items were written before this change
    legacy.save()
    consumer.handle(typed(event()))
    headers, body = receiver.received[0]
    Webhook(legacy.secret).verify(body, headers)
    item = subscription(sub.id)
    assert item.secret.startswith(port.SEALED_PREFIX) and opened(item.secret, sub.id) == legacy.secret
    consumer.handle(typed(event(2)))  # and keeps signing with the same secret, now opened from KMS
    Webhook(legacy.secret).verify(receiver.received[1][1], receiver.received[1][0])
