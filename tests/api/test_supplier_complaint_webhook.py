"""The supplier answers customer care's question on a complaint through its system: a signed
`complaint.answer` webhook, stored once and applied from the queue exactly as
`POST /supplier/complaints/{id}/answer` would, as the supplier's system."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.local import carrier_sim
from chalicelib.services import exceptions
from tests.api import po_support, test_complaints, test_supplier_webhooks
from tests.api.support import assert_error, process_webhooks, raw
from tests.api.test_complaints import delivered_order, ok, open_complaint
from tests.aws import CARE

aws, sfn_calls = po_support.aws, po_support.sfn_calls  # fixtures
gateway = test_complaints.gateway  # fixture: the sandbox payment gateway

ACME_SECRET, BOLT_SECRET = test_supplier_webhooks.ACME_SECRET, test_supplier_webhooks.BOLT_SECRET
supplier_secrets = test_supplier_webhooks.supplier_secrets  # autouse fixture: the suppliers' signing secrets
SYSTEM_SUB = "supplier-system:acme"
QUESTION = "Was this mug packed in bubble wrap?"


def send(
    api, body: dict[str, Any], *, supplier: str = "acme", secret: str = ACME_SECRET, webhook_id: str = "msg_1"
) -> tuple[int, Any]:
    data, hdrs = carrier_sim.signed_request(body, secret, webhook_id=webhook_id)
    r = raw(api, "POST", f"/webhooks/suppliers/{supplier}", None, data, {**hdrs, "Content-Type": "application/json"})
    return r.status_code, json.loads(r.body)


def answer(complaint_id: str, text: str = "Yes, double wrapped.") -> dict[str, Any]:
    return {"type": "complaint.answer", "data": {"complaint_id": complaint_id, "answer": text}}


def asked(api) -> str:
    """A complaint on Alice's delivered acme parcel, on which care has asked acme its side."""
    order = delivered_order(api)
    cid = ok(open_complaint(api, order), 201)["id"]
    view = ok(api.get(f"/staff/complaints/{cid}", CARE))
    view = ok(
        api.post(f"/staff/complaints/{cid}/ask-supplier", CARE, {"question": QUESTION, "expected_version": view["version"]})
    )
    assert view["status"] == "awaiting_supplier"
    return cid


def answered_events(api, cid: str) -> list[dict[str, Any]]:
    view = ok(api.get(f"/staff/complaints/{cid}", CARE))
    return [e for e in view["events"] if e["type"] == "complaint.supplier_answered"]


def test_a_webhook_answer_has_the_effect_of_the_api_once(api, sfn_calls, gateway):
    cid = asked(api)

    status, ack = send(api, answer(cid))
    assert (status, ack) == (202, {"status": "accepted", "webhook_id": "msg_1"})
    assert ok(api.get(f"/staff/complaints/{cid}", CARE))["status"] == "awaiting_supplier"  # applied from the queue

    assert process_webhooks() == ["answered: supplier_answered"]
    view = ok(api.get(f"/staff/complaints/{cid}", CARE))
    assert view["status"] == "supplier_answered"
    assert view["supplier_question"] == QUESTION and view["supplier_answer"] == "Yes, double wrapped."
    [event] = answered_events(api, cid)
    assert event["actor"] == {"sub": SYSTEM_SUB, "role": "supplier", "name": "acme (supplier system)"}

    # The same delivery again (same webhook id) is a duplicate: one answer, one event.
    assert send(api, answer(cid))[0] == 200
    assert process_webhooks() == []
    assert len(answered_events(api, cid)) == 1


def test_another_suppliers_complaint_cannot_be_answered_and_is_raised_for_staff(api, sfn_calls, gateway):
    cid = asked(api)

    assert send(api, answer(cid, "Not ours."), supplier="bolt", secret=BOLT_SECRET, webhook_id="msg_bolt")[0] == 202
    [outcome] = process_webhooks()
    assert outcome.startswith("failed: not_found"), outcome
    failed = exceptions.get(exceptions.exception_id("inbound_webhook_failed", "complaint", cid))
    assert failed is not None and failed.status == "open"
    assert failed.details["code"] == "not_found" and failed.details["event_type"] == "complaint.answer"
    view = ok(api.get(f"/staff/complaints/{cid}", CARE))
    assert view["status"] == "awaiting_supplier" and view["supplier_answer"] is None
    assert answered_events(api, cid) == []


def test_an_answer_nobody_asked_for_fails_for_staff(api, sfn_calls, gateway):
    cid = ok(open_complaint(api, delivered_order(api)), 201)["id"]  # open: care has asked nothing

    assert send(api, answer(cid), webhook_id="msg_early")[0] == 202
    [outcome] = process_webhooks()
    assert outcome.startswith("failed: invalid_transition"), outcome
    assert exceptions.get(exceptions.exception_id("inbound_webhook_failed", "complaint", cid))
    assert ok(api.get(f"/staff/complaints/{cid}", CARE))["status"] == "open"


@pytest.mark.parametrize(
    "data",
    [
        {"complaint_id": "cmp_1", "answer": ""},
        {"complaint_id": "cmp_1", "answer": "x" * 4001},
        {"complaint_id": "cmp_1"},
        {"complaint_id": "cmp_1", "answer": "ok", "extra": 1},
    ],
)
def test_an_answer_that_does_not_match_its_schema_is_a_422_and_stores_nothing(api, sfn_calls, data):
    body = assert_error(*send(api, {"type": "complaint.answer", "data": data}), 422, "invalid_payload")
    assert body["details"]
    assert process_webhooks() == []
