"""The one declaration of every AWS resource is consistent with itself and with the code."""

from __future__ import annotations

from dataclasses import fields

import pytest

from chalicelib.config import Settings
from chalicelib.domain.notifications import RULES
from chalicelib.topology import EVENT_SOURCE, NOTIFICATIONS, SUBSCRIBED, TOPOLOGY, WEBHOOK_MARK, WEBHOOKS_OUT


def _unique(names: list[str]) -> bool:
    return len(names) == len(set(names))


def test_every_rule_targets_a_declared_queue():
    queues = {q.name for q in TOPOLOGY.queues}
    assert TOPOLOGY.rules
    for rule in TOPOLOGY.rules:
        assert rule.queue in queues, rule.name


def test_resource_names_are_unique():
    queue_names = [q.name for q in TOPOLOGY.queues] + [q.dlq_name for q in TOPOLOGY.queues]
    assert _unique(queue_names)
    assert _unique([r.name for r in TOPOLOGY.rules])
    assert _unique([b.name for b in TOPOLOGY.buckets])
    assert _unique([s.name for s in TOPOLOGY.schedules])
    assert _unique([ix.name for ix in TOPOLOGY.table.indexes])
    assert _unique([q.handler for q in TOPOLOGY.queues])


def test_index_key_attributes_are_distinct_from_the_table_keys_and_each_other():
    t = TOPOLOGY.table
    attrs = [t.pk, t.sk] + [a for ix in t.indexes for a in (ix.pk, ix.sk)]
    assert _unique(attrs)


def test_every_dead_letter_queue_is_named_after_its_queue():
    for q in TOPOLOGY.queues:
        assert q.dlq_name == f"{q.name}-dlq"
        assert q.max_receive_count >= 1 and q.visibility_timeout_s > 0 and 1 <= q.batch_size <= 10


def test_rules_match_only_events_from_waybill():
    for rule in TOPOLOGY.rules:
        # the webhooks-out rule also needs the publisher's mark: only events a subscription chose are queued
        marked = {"detail": {WEBHOOK_MARK: [SUBSCRIBED]}} if rule.queue == WEBHOOKS_OUT.name else {}
        assert rule.pattern == {"source": [EVENT_SOURCE], "detail-type": list(rule.detail_types), **marked}
        assert rule.detail_types


def test_every_notification_rule_event_reaches_the_notifications_queue():
    routed = {t for r in TOPOLOGY.rules if r.queue == NOTIFICATIONS.name for t in r.detail_types}
    assert {r.event_type for r in RULES} <= routed


def test_a_queue_looked_up_by_name_is_that_queue():
    assert TOPOLOGY.queue(NOTIFICATIONS.name) is NOTIFICATIONS
    with pytest.raises(StopIteration):
        TOPOLOGY.queue("nope")


def test_every_schedule_rate_is_an_integer_setting():
    int_settings = {f.name for f in fields(Settings) if f.type == "int"}
    for schedule in TOPOLOGY.schedules:
        assert schedule.rate_setting in int_settings


def test_every_queue_and_schedule_handler_is_a_function_of_the_app():
    from app import app

    for name in [q.handler for q in TOPOLOGY.queues] + [s.handler for s in TOPOLOGY.schedules]:
        assert name in app.handler_map, name


def test_the_table_models_declare_exactly_the_topology_indexes():
    from chalicelib.adapters.dynamodb.models import Item

    declared = {getattr(Item, f"gsi{i}").Meta.index_name for i in range(1, 5)}
    assert declared == {ix.name for ix in TOPOLOGY.table.indexes}
