"""The catalogue of outbound event types (each with its payload's schema and an example that the
schema accepts), and subscriptions that take every type (`*`) or a subject's (`order.*`)."""

from __future__ import annotations

import dataclasses

import jsonschema

from chalicelib.config import settings
from chalicelib.domain import webhooks as rules
from chalicelib.events import webhook_payload
from chalicelib.services import webhooks as svc
from tests.adapters.events import typed
from tests.adapters.test_webhooks_out import Receiver, event
from tests.api.support import assert_error
from tests.aws import ADMIN, ALICE, CARE

PUBLIC = "https://93.184.216.34/hooks"


def test_every_offered_type_is_listed_with_its_payload_schema_and_an_example_the_schema_accepts(api):
    status, body = api.get("/staff/webhook-event-types", CARE)
    assert status == 200, body
    assert [i["type"] for i in body["items"]] == list(rules.OFFERED_EVENT_TYPES)
    for item in body["items"]:
        jsonschema.validate(item["example"], item["payload_schema"])
        assert webhook_payload(item["example"]).type == item["type"]  # the sender's own check accepts it too
        assert item["example"]["data"]["subject_type"] == item["subject"] == item["type"].split(".")[0]
    shipped = next(i for i in body["items"] if i["type"] == "shipment.recorded")
    assert shipped["example"]["data"]["tracking_number"] and shipped["example"]["data"]["links"]
    assert_error(*api.get("/staff/webhook-event-types", ALICE), 403, "forbidden")


def test_the_422_for_an_unknown_type_points_to_the_catalogue(api):
    status, body = api.post("/staff/webhook-subscriptions", ADMIN, {"url": PUBLIC, "event_types": ["customer.*"]})
    error = assert_error(status, body, 422, "invalid_subscription")
    assert "/staff/webhook-event-types" in error["details"][0]["message"]
    assert_error(*api.post("/staff/webhook-subscriptions", ADMIN, {"url": PUBLIC, "event_types": ["order*"]}), 422)


def test_a_pattern_subscription_receives_the_matching_events_only(api, monkeypatch):
    monkeypatch.setattr(svc, "settings", lambda: dataclasses.replace(settings(), stage="local"))
    orders, everything = Receiver(), Receiver()
    try:
        for r, types in ((orders, ["order.*"]), (everything, ["*"])):
            status, sub = api.post("/staff/webhook-subscriptions", ADMIN, {"url": r.url, "event_types": types})
            assert status == 201 and sub["event_types"] == types, sub
        svc.deliver_event(typed(event(1, "order.placed")))
        svc.deliver_event(typed({**event(2, "po.created"), "subject_type": "po", "subject_id": "po_1"}))
        assert len(orders.received) == 1 and len(everything.received) == 2
    finally:
        orders.close()
        everything.close()
