"""Typed events: every event type the code can emit has a model, a JSON Schema in the OpenAPI document
that a sample of it validates against, and a queue message becomes its typed event or is refused."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from chalicelib import events
from chalicelib.api.openapi import document
from chalicelib.domain import webhooks as webhook_rules
from chalicelib.domain.notifications import RULES
from chalicelib.topology import TOPOLOGY

SERVICES = Path(__file__).resolve().parents[2] / "chalicelib" / "services"
# `type="order.placed"` and friends: the event types the services write by name.
LITERAL_TYPE = re.compile(r'type(?:_)?=\s*"([a-z_]+\.[a-z_]+)"')
TYPE_IN_MAP = re.compile(r'"((?:order|po|campaign|complaint|shipment|exception|export|payment)\.[a-z_]+)"')
NOT_EVENTS = {"complaints.approve", "complaints.handle", "complaints.read"}  # capabilities, not event types


def emitted_types() -> set[str]:
    """Every event type the code can put on the bus: what the rules route, what subscribers are offered,
    what the mail rules name, what the services write by name, the state machines' events."""
    found = {t for rule in TOPOLOGY.rules for t in rule.detail_types}
    found |= set(webhook_rules.OFFERED_EVENT_TYPES) | {r.event_type for r in RULES}
    for path in SERVICES.glob("*.py"):
        text = path.read_text()
        found |= set(LITERAL_TYPE.findall(text)) | set(TYPE_IN_MAP.findall(text))
    return (found - NOT_EVENTS) | {"webhook.received"}


def sample(event_type: str) -> dict[str, Any]:
    """A minimal event of this type as it travels on the bus."""
    if event_type in events.WORKFLOW_EVENTS:
        return {
            "po.stage_opened": {"po_id": "po_1", "stage": "acknowledge", "task_token": "tok", "deadline_s": 60},
            "po.stage_overdue": {"po_id": "po_1", "stage": "acknowledge", "overdue_at": "2030-01-01T00:00:00Z"},
            "shipment.tracking_opened": {"shipment_id": "shp_1", "carrier": "dhl", "tracking_number": "T1", "task_token": "tok"},
            "shipment.tracking_stale": {
                "shipment_id": "shp_1",
                "carrier": "dhl",
                "tracking_number": "T1",
                "stale_at": "2030-01-01T00:00:00Z",
            },
        }[event_type]
    data: dict[str, Any] = {"order_id": "ord_1"}
    if event_type.startswith("shipment."):
        data = {"carrier": "dhl", "tracking_number": "T1"}
    if event_type == "webhook.received":
        data = {"provider": "carrier:dhl", "webhook_id": "msg_1", "event_type": "tracking", "body": "{}"}
    if event_type == "order.refund_due":
        data = {"order_id": "ord_1", "refund_id": "ref_1", "amount_cents": 1200}
    return {
        "id": "evt_1",
        "type": event_type,
        "subject_type": event_type.split(".", 1)[0],
        "subject_id": "sub_1",
        "at": "2030-01-02T03:04:05+00:00",
        "actor": {"sub": "system", "role": "admin"},
        "from_status": None,
        "to_status": "x",
        "customer_note": None,
        "has_internal_note": False,
        "data": data,
    }


def validator(doc: dict[str, Any], ref: str) -> Draft202012Validator:
    """A validator of one schema of the document, its `#/components/schemas/...` references resolved in it."""
    return Draft202012Validator({**doc, "$ref": ref})


def test_every_event_type_the_code_can_emit_has_a_model():
    assert sorted(emitted_types() - set(events.EVENT_MODELS) - set(events.WORKFLOW_EVENTS)) == []


@pytest.mark.parametrize("event_type", sorted(emitted_types()))
def test_a_sample_of_every_event_type_validates_against_its_published_schema(event_type):
    doc = document("test")
    ref = doc["x-bus-events"][event_type]["$ref"]
    payload = sample(event_type)
    assert list(validator(doc, ref).iter_errors(payload)) == []
    assert list(validator(doc, ref).iter_errors({k: v for k, v in payload.items() if k != next(iter(payload))})) != []
    parsed = events.parse(json.dumps({"detail-type": event_type, "detail": payload}))
    assert parsed.type == event_type


@pytest.mark.parametrize("event_type", sorted(webhook_rules.OFFERED_EVENT_TYPES))
def test_every_offered_event_type_is_a_documented_webhook_its_payload_validates_against(event_type):
    doc = document("test")
    schema = doc["webhooks"][event_type]["post"]["requestBody"]["content"]["application/json"]["schema"]
    body = sample(event_type) if event_type not in events.WORKFLOW_EVENTS else sample("order.placed") | {"type": event_type}
    payload = webhook_rules.thin_payload(body, "https://shop.example")
    assert list(validator(doc, schema["$ref"]).iter_errors(payload)) == []
    assert events.webhook_payload(payload).type == event_type


@pytest.mark.parametrize("event_type", sorted(set(webhook_rules.OFFERED_EVENT_TYPES) - set(events.WORKFLOW_EVENTS)))
def test_the_thin_payload_of_a_typed_event_is_the_one_of_its_json_form(event_type):
    body = sample(event_type)
    body["data"] = {
        "po_id": "po_1",
        "campaign_id": "cmp_1",
        "complaint_id": "cpl_1",
        "tracking_url": "https://track.example/T1",
        "order_ids": ["ord_1", "ord_2"],
        "shipment_id": "shp_1",
        "customer_email": "alice@example.com",
        **body["data"],
    }
    typed = events.domain_event(body)
    from_model = webhook_rules.thin_payload(typed, "https://shop.example")
    assert from_model == webhook_rules.thin_payload(typed.payload(), "https://shop.example")
    assert {"po_id", "order_ids", "shipment_id"} <= set(from_model["data"]) and "customer_email" not in from_model["data"]


def test_a_domain_event_keeps_every_fact_the_publisher_wrote():
    payload = sample("order.placed") | {"data": {"order_id": "ord_1", "total_cents": 1200, "supplier_ids": ["acme"]}}
    parsed = events.parse(json.dumps({"detail-type": "order.placed", "detail": payload}))
    assert isinstance(parsed, events.DomainEvent)
    assert parsed.payload() == payload
    assert parsed.data.facts()["supplier_ids"] == ["acme"]


def test_a_state_machines_event_is_told_by_its_detail_type_and_keyed_by_what_makes_it_unique():
    stale = sample("shipment.tracking_stale")
    parsed = events.parse(json.dumps({"detail-type": "shipment.tracking_stale", "detail": stale}))
    assert isinstance(parsed, events.TrackingStale)
    assert parsed.idempotency_key == "dhl#T1#2030-01-01T00:00:00Z"
    again = events.parse(json.dumps({"detail-type": "shipment.tracking_stale", "detail": {**stale, "stale_at": "later"}}))
    assert again.idempotency_key != parsed.idempotency_key
    bare = events.parse(json.dumps(sample("po.stage_opened")))  # a detail without its envelope
    assert isinstance(bare, events.StageOpened) and bare.idempotency_key.startswith("opened#")


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        "[]",
        json.dumps({"detail": {"type": "order.placed", "data": {}}}),  # no id, no envelope
        json.dumps({"detail": sample("order.placed") | {"type": "no.such_event"}}),
        json.dumps({"detail": sample("shipment.recorded") | {"data": {"carrier": "dhl"}}}),  # no tracking number
        json.dumps({"detail-type": "po.stage_opened", "detail": {"po_id": "po_1"}}),
    ],
)
def test_a_message_that_is_no_event_of_the_catalogue_is_refused(body):
    with pytest.raises(events.BadEvent):
        events.parse(body)


def test_the_event_schemas_do_not_replace_an_api_schema_of_the_same_name(monkeypatch):
    document.cache_clear()
    monkeypatch.setattr(events, "schemas", dict)
    api_only = set(document("test")["components"]["schemas"])
    document.cache_clear()
    monkeypatch.undo()
    assert sorted(api_only & set(events.schemas())) == []
    assert set(events.schemas()) <= set(document("test")["components"]["schemas"])
