"""Outbound webhooks cost nothing for events nobody subscribed to: the stream publisher marks only the
offered events some active subscription chose (its view of them cached for `SUBSCRIBED_TTL_S`), and
the bus queues only marked events to the webhooks-out consumer."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib.adapters.dynamodb.metering import metered
from chalicelib.domain.orders import OrderAction
from chalicelib.domain.permissions import SYSTEM
from chalicelib.handlers import publisher
from chalicelib.services import orders
from chalicelib.services import webhooks as svc
from chalicelib.topology import WEBHOOKS_OUT
from tests.adapters import shop
from tests.adapters.events import bodies, drain, seen_so_far, stream_records
from tests.adapters.shop import ALICE, CARE
from tests.adapters.test_webhooks_out import use

URL = "http://127.0.0.1:9/hooks"


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The cache lives in the process: a view left by an earlier test's account must not count. Local
    mode, so a subscriber may be on 127.0.0.1 (it is never called here)."""
    use(monkeypatch)
    svc.forget_subscribed()
    yield
    svc.forget_subscribed()


def publish_new(aws: Any, seen: set[str]) -> int:
    """Publish the stream's records not seen yet; the DynamoDB requests publishing made."""
    fresh = [r for r in stream_records(aws.stream_arn) if r["eventID"] not in seen]
    seen.update(r["eventID"] for r in fresh)
    with metered() as m:
        publisher.publish(fresh)
    return m.total


def queued_types(aws: Any) -> list[str]:
    return [m["detail-type"] for m in bodies(drain(aws.queue_urls[WEBHOOKS_OUT.name]))]


def place_and_cancel(campaign_id: str) -> None:
    placed = shop.place(ALICE, campaign_id, ("MUG-1", 1))
    orders.change_order(CARE, placed.order.id, OrderAction.CANCEL, customer_note="Sorry.")


def test_with_no_subscription_an_order_queues_no_outbound_message_and_the_publisher_reads_once_per_period(aws, campaign_id):
    seen: set[str] = set()
    place_and_cancel(campaign_id)
    assert publish_new(aws, seen) == 1  # the subscribed types, read once (one Query), then cached
    assert queued_types(aws) == []

    place_and_cancel(campaign_id)
    assert publish_new(aws, seen) == 0  # within the cache period: no read at all
    assert queued_types(aws) == []


def test_with_one_subscription_exactly_the_types_it_chose_are_queued(aws, campaign_id):
    svc.create_subscription(SYSTEM, url=URL, event_types=["order.placed", "campaign.*"], description="test")
    seen = seen_so_far(aws)  # the campaign's own events were written before the subscription
    place_and_cancel(campaign_id)
    shop.live_campaign(name="Spring")
    publish_new(aws, seen)
    # order.cancelled (offered, not chosen) and the order's refund (not offered) stay off the queue
    assert queued_types(aws) == ["order.placed", "campaign.went_live"]


def test_a_subscription_made_in_this_process_takes_effect_at_once(aws, campaign_id):
    seen = seen_so_far(aws)
    place_and_cancel(campaign_id)
    publish_new(aws, seen)  # caches "nobody subscribed"
    assert queued_types(aws) == []

    svc.create_subscription(SYSTEM, url=URL, event_types=["order.*"], description="test")
    place_and_cancel(campaign_id)
    publish_new(aws, seen)
    assert queued_types(aws) == ["order.placed", "order.cancelled"]


def test_a_subscription_made_elsewhere_takes_effect_within_the_cache_period(aws, campaign_id, monkeypatch):
    seen = seen_so_far(aws)
    clock = [1000.0]
    monkeypatch.setattr(svc, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    place_and_cancel(campaign_id)
    publish_new(aws, seen)  # caches "nobody subscribed"
    assert queued_types(aws) == []
    with monkeypatch.context() as m:  # another process: this one's cache is not told
        m.setattr(svc, "forget_subscribed", lambda: None)
        svc.create_subscription(SYSTEM, url=URL, event_types=["order.placed"], description="test")

    place_and_cancel(campaign_id)
    clock[0] += svc.SUBSCRIBED_TTL_S - 1
    publish_new(aws, seen)
    assert queued_types(aws) == []  # still the cached view

    place_and_cancel(campaign_id)
    clock[0] += 1
    assert publish_new(aws, seen) == 1  # the period is over: read again
    assert queued_types(aws) == ["order.placed"]


def test_a_deactivated_subscription_stops_its_events_being_queued(aws, campaign_id):
    sub = svc.create_subscription(SYSTEM, url=URL, event_types=["order.placed"], description="test")
    seen = seen_so_far(aws)
    place_and_cancel(campaign_id)
    publish_new(aws, seen)
    assert queued_types(aws) == ["order.placed"]

    svc.update_subscription(SYSTEM, sub.id, active=False)
    place_and_cancel(campaign_id)
    publish_new(aws, seen)
    assert queued_types(aws) == []
