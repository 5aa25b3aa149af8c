"""A supplier's own system acknowledges POs and notifies shipments by Standard Webhooks signed
callbacks: checked and stored on receipt, then applied from the queue exactly as the supplier API
would, as the supplier's system."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from chalicelib.adapters import secrets
from chalicelib.adapters.dynamodb import keys, shipment_items
from chalicelib.adapters.dynamodb import repository as repo
from chalicelib.adapters.dynamodb.models import AuditEventItem, ExceptionItem, InboxItem, Item
from chalicelib.domain.notifications import rules_for
from chalicelib.domain.purchase_orders import Stage
from chalicelib.local import carrier_sim
from chalicelib.services import exceptions, shipments
from tests.adapters.events import typed
from tests.api import po_support
from tests.api.po_support import ACME, accept_deliveries, make_po, po_item
from tests.api.support import assert_error, place, process_webhooks, raw
from tests.aws import ALICE, BUYER, live_campaign

aws, sfn_calls = po_support.aws, po_support.sfn_calls  # fixtures

ACME_SECRET, BOLT_SECRET = carrier_sim.new_secret(), carrier_sim.new_secret()
SYSTEM_SUB = "supplier-system:acme"
PARTIAL = [{"sku": "MUG-1", "accepted_quantity": 4}, {"sku": "MUG-2", "accepted_quantity": 1, "reason": "out_of_stock"}]
NOTHING = [
    {"sku": "MUG-1", "accepted_quantity": 0, "reason": "discontinued"},
    {"sku": "MUG-2", "accepted_quantity": 0, "reason": "out_of_stock"},
]


@pytest.fixture(autouse=True)
def supplier_secrets(aws):
    boto3.client("secretsmanager", region_name="eu-west-1").put_secret_value(
        SecretId="waybill/webhooks/inbound",
        SecretString=json.dumps({"supplier:acme": [ACME_SECRET], "supplier:bolt": [BOLT_SECRET]}),
    )
    secrets.forget()
    yield
    secrets.forget()


@pytest.fixture
def campaign(api) -> dict[str, Any]:
    return live_campaign(api)


# ---------------------------------------------------------------- helpers


def send(
    api, body: dict[str, Any], *, supplier: str = "acme", secret: str = ACME_SECRET, webhook_id: str = "msg_1"
) -> tuple[int, Any]:
    data, hdrs = carrier_sim.signed_request(body, secret, webhook_id=webhook_id)
    r = raw(api, "POST", f"/webhooks/suppliers/{supplier}", None, data, {**hdrs, "Content-Type": "application/json"})
    return r.status_code, json.loads(r.body)


def acknowledgement(po: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "po.acknowledgement", "data": {"po_id": po, "lines": lines}}


def notice(po: str, order_ids: list[str], tracking: str = "JD0001", carrier: str = "dhl") -> dict[str, Any]:
    return {
        "type": "shipment.notice",
        "data": {"po_id": po, "carrier": carrier, "tracking_number": tracking, "order_ids": order_ids},
    }


def inbox_items() -> list[InboxItem]:
    return [i for i in Item.scan() if isinstance(i, InboxItem)]


def supplier_view(api, po: str) -> dict[str, Any]:
    status, detail = api.get(f"/supplier/purchase-orders/{po}", ACME)
    assert status == 200, detail
    return detail


def staff_events(api, po: str) -> list[dict[str, Any]]:
    status, detail = api.get(f"/staff/purchase-orders/{po}", BUYER)
    assert status == 200, detail
    return detail["events"]


def problem(kind: str, subject_type: str, subject_id: str) -> exceptions.ExceptionRecord | None:
    return exceptions.get(exceptions.exception_id(kind, subject_type, subject_id))


# ---------------------------------------------------------------- acknowledgements


def test_an_electronic_acknowledgement_has_the_same_effect_as_the_api(api, campaign, sfn_calls):
    by_api = make_po(campaign["id"], token="tok-api")
    by_hook = make_po(live_campaign(api)["id"], token="tok-hook")
    assert api.post(f"/supplier/purchase-orders/{by_api}/acknowledge", ACME, {"lines": PARTIAL})[0] == 200

    status, ack = send(api, acknowledgement(by_hook, PARTIAL))
    assert (status, ack) == (202, {"status": "accepted", "webhook_id": "msg_1"})
    [stored] = inbox_items()
    assert stored.provider == "supplier:acme" and stored.event_type == "po.acknowledgement"
    assert po_item(by_hook).stage == "acknowledge" and len(sfn_calls) == 1  # applied from the queue, not yet

    assert process_webhooks() == ["acknowledged: open"]  # the PO's status: open, stage done
    assert sfn_calls == [
        ("tok-api", {"decision": "partially_accepted", "stage": "acknowledge"}),
        ("tok-hook", {"decision": "partially_accepted", "stage": "acknowledge"}),
    ]
    api_view, hook_view = supplier_view(api, by_api), supplier_view(api, by_hook)
    for field in ("status", "stage", "accepted_cents", "ordered_cents", "lines"):
        assert hook_view[field] == api_view[field], field
    assert hook_view["stage"] is None and hook_view["accepted_cents"] == 4 * 500 + 900
    assert po_item(by_hook).task_token is None

    [completed] = [e for e in staff_events(api, by_hook) if e["type"] == "po.acknowledge_completed"]
    assert completed["actor"] == {"sub": SYSTEM_SUB, "role": "supplier", "name": "acme (supplier system)"}
    assert completed["to_status"] == "partially_accepted"
    [by_person] = [e for e in staff_events(api, by_api) if e["type"] == "po.acknowledge_completed"]
    assert by_person["actor"]["sub"] == "sup-acme-1"

    for po in (by_api, by_hook):  # refused lines are raised the same way by either channel
        out_of_stock = problem("out_of_stock", "po", po)
        assert out_of_stock is not None and out_of_stock.severity == "high" and out_of_stock.status == "open"
        assert out_of_stock.details["lines"] == [{"sku": "MUG-2", "refused": 1, "reason": "out_of_stock"}]
        assert problem("supplier_rejected", "po", po) is None
    [stored] = inbox_items()
    assert stored.outcome == "acknowledged: open"

    # The same delivery again is a duplicate; nothing is applied twice.
    assert send(api, acknowledgement(by_hook, PARTIAL))[0] == 200
    assert process_webhooks() == [] and len(sfn_calls) == 2


def test_an_electronic_full_rejection_rejects_the_po_and_raises_a_critical_exception(api, campaign, sfn_calls):
    po = make_po(campaign["id"])
    assert send(api, acknowledgement(po, NOTHING))[0] == 202
    assert process_webhooks() == ["acknowledged: rejected"]
    assert sfn_calls == [("tok", {"decision": "rejected", "stage": "acknowledge"})]
    assert supplier_view(api, po)["status"] == "rejected"
    rejected = problem("supplier_rejected", "po", po)
    assert rejected is not None and rejected.severity == "critical" and rejected.status == "open"
    assert {line["sku"] for line in rejected.details["lines"]} == {"MUG-1", "MUG-2"}
    assert problem("out_of_stock", "po", po) is None


def test_a_full_acceptance_raises_nothing(api, campaign, sfn_calls):
    po = make_po(campaign["id"])
    lines = [{"sku": "MUG-1", "accepted_quantity": 4}, {"sku": "MUG-2", "accepted_quantity": 2}]
    assert send(api, acknowledgement(po, lines))[0] == 202
    assert process_webhooks() == ["acknowledged: open"]
    assert sfn_calls == [("tok", {"decision": "accepted", "stage": "acknowledge"})]
    assert problem("out_of_stock", "po", po) is None and problem("supplier_rejected", "po", po) is None


# ---------------------------------------------------------------- shipment notices


def test_a_shipment_notice_records_the_shipment_like_the_api(api, campaign, sfn_calls):
    order = place(api, campaign["id"], ("MUG-1", 1))
    po = make_po(campaign["id"], stage=Stage.SHIPMENT, accepted=True, token="tok-ship")
    accept_deliveries("acme", order["id"])
    assert send(api, notice(po, [order["id"]]))[0] == 202
    assert shipment_items.load("dhl", "JD0001") is None  # not before the queue applies it
    [outcome] = process_webhooks()
    assert outcome.startswith("shipment recorded: shp_"), outcome

    item = shipment_items.load("dhl", "JD0001")
    assert item is not None and outcome == f"shipment recorded: {item.id}"
    assert (item.po_id, item.supplier_id, list(item.order_ids), item.status) == (po, "acme", [order["id"]], "dispatched")
    assert sfn_calls == [("tok-ship", {"decision": "done", "stage": "shipment"})]
    detail = supplier_view(api, po)
    assert detail["status"] == "shipped" and detail["shipment_status"] == "shipped"
    assert [(s["id"], s["carrier"], s["tracking_number"], s["order_ids"]) for s in detail["shipments"]] == [
        (item.id, "dhl", "JD0001", [order["id"]])
    ]
    [completed] = [e for e in staff_events(api, po) if e["type"] == "po.shipment_completed"]
    assert completed["actor"]["sub"] == SYSTEM_SUB

    # What follows is the same as for a shipment recorded by API: the customer sees the parcel.
    shipments.on_recorded(typed({"type": "shipment.recorded", "data": {"carrier": "dhl", "tracking_number": "JD0001"}}))
    [delivery] = api.get(f"/orders/{order['id']}", ALICE)[1]["deliveries"]
    assert delivery["status"] == "dispatched" and [p["tracking_number"] for p in delivery["shipments"]] == ["JD0001"]


def test_a_second_notice_for_a_known_tracking_number_is_recorded_as_failed(api, campaign, sfn_calls):
    order = place(api, campaign["id"], ("MUG-1", 1))
    po = make_po(campaign["id"], stage=Stage.SHIPMENT, accepted=True, orders_to_ship=2)  # the stage stays open
    accept_deliveries("acme", order["id"])
    assert send(api, notice(po, [order["id"]]), webhook_id="msg_a")[0] == 202
    assert send(api, notice(po, [order["id"]]), webhook_id="msg_b")[0] == 202
    first, second = process_webhooks()
    assert first.startswith("shipment recorded: ")
    assert second.startswith("failed: already_exists"), second
    failed = problem("inbound_webhook_failed", "po", po)
    assert failed is not None and failed.status == "open"
    assert process_webhooks() == []


# ---------------------------------------------------------------- refused on receipt


@pytest.mark.parametrize(
    "body, fields",
    [
        ({"type": "po.cancelled", "data": {"po_id": "po_x"}}, {"type"}),
        ({"data": {"po_id": "po_x", "lines": [{"sku": "MUG-1", "accepted_quantity": 1}]}}, {"type"}),
        ({"type": "po.acknowledgement", "data": {"po_id": "po_x"}}, {"data.lines"}),
        ({"type": "po.acknowledgement", "data": {"po_id": "po_x", "lines": []}}, {"data.lines"}),
        (
            {
                "type": "po.acknowledgement",
                "data": {"po_id": "po_x", "lines": [{"sku": "MUG-1", "accepted_quantity": -1, "reason": "bored"}]},
            },
            {"data.lines.0.accepted_quantity", "data.lines.0.reason"},
        ),
        (
            {
                "type": "po.acknowledgement",
                "data": {"po_id": "po_x", "lines": [{"sku": "MUG-1", "accepted_quantity": 1}]},
                "extra": 1,
            },
            {"extra"},
        ),
        (
            {
                "type": "shipment.notice",
                "data": {"po_id": "po_x", "carrier": "pigeon", "tracking_number": "JD0001", "order_ids": ["ord_1"]},
            },
            {"data.carrier"},
        ),
        (
            {
                "type": "shipment.notice",
                "data": {"po_id": "po_x", "carrier": "dhl", "tracking_number": "JD 0001", "order_ids": []},
            },
            {"data.tracking_number", "data.order_ids"},
        ),
        ({"type": "shipment.notice", "data": {"po_id": "po_x", "carrier": "dhl"}}, {"data.tracking_number", "data.order_ids"}),
    ],
)
def test_a_payload_that_does_not_match_its_schema_is_a_422_with_details_and_stores_nothing(api, sfn_calls, body, fields):
    error = assert_error(*send(api, body), 422, "invalid_payload")
    assert {d["field"] for d in error["details"]} == fields, error
    assert all(d["message"] for d in error["details"])
    assert inbox_items() == [] and sfn_calls == []


def test_a_suppliers_secret_does_not_verify_another_suppliers_route(api, campaign, sfn_calls):
    po = make_po(campaign["id"])
    assert_error(*send(api, acknowledgement(po, PARTIAL), supplier="acme", secret=BOLT_SECRET), 401, "invalid_signature")
    assert_error(*send(api, acknowledgement(po, PARTIAL), supplier="bolt", secret=ACME_SECRET), 401, "invalid_signature")
    assert_error(
        *send(api, acknowledgement(po, PARTIAL), supplier="zeta", secret=ACME_SECRET), 401, "invalid_signature"
    )  # a supplier with no secret at all
    assert inbox_items() == [] and sfn_calls == [] and po_item(po).stage == "acknowledge"


def test_a_supplier_system_cannot_act_on_another_suppliers_po(api, campaign, sfn_calls):
    theirs = make_po(campaign["id"], "bolt")
    body = acknowledgement(theirs, [{"sku": "CAP-1", "accepted_quantity": 3}])
    assert send(api, body, supplier="acme", secret=ACME_SECRET)[0] == 202  # well signed by acme, for acme
    [outcome] = process_webhooks()
    assert outcome.startswith("failed: not_found"), outcome
    assert sfn_calls == [] and po_item(theirs).stage == "acknowledge"


# ---------------------------------------------------------------- business refusals after receipt


@pytest.mark.parametrize("stage", [Stage.INVOICE, Stage.SHIPMENT])
def test_an_acknowledgement_outside_the_stage_is_accepted_then_fails_for_staff(api, campaign, sfn_calls, stage):
    po = make_po(campaign["id"], stage=stage, accepted=True)
    status, ack = send(api, acknowledgement(po, PARTIAL), webhook_id="msg_late")
    assert (status, ack) == (202, {"status": "accepted", "webhook_id": "msg_late"})
    [outcome] = process_webhooks()
    assert outcome.startswith("failed: invalid_transition"), outcome
    [stored] = inbox_items()
    assert stored.processed_at is not None and stored.outcome == outcome
    failed = problem("inbound_webhook_failed", "po", po)
    assert failed is not None and failed.status == "open"
    assert failed.details["code"] == "invalid_transition" and failed.details["event_type"] == "po.acknowledgement"
    assert sfn_calls == []
    assert po_item(po).stage == stage.value and po_item(po).task_token == "tok"
    assert [line["accepted_quantity"] for line in supplier_view(api, po)["lines"]] == [4, 2]  # unchanged
    assert problem("out_of_stock", "po", po) is None
    assert process_webhooks() == []  # processed once: the queue does not retry a business refusal


def test_racing_deliveries_of_an_event_that_cannot_be_applied_raise_one_exception(api, campaign, sfn_calls, monkeypatch):
    """25 deliveries of one acknowledgement (the supplier's system sent it again and again, each time
    under a new webhook id) for a PO past its acknowledgement: staff get ONE exception, about the PO,
    seen 25 times and announced once. The race is staged: every delivery reads "no exception yet"
    before any of them writes (moto's in-process DynamoDB does not make concurrent transactions atomic)."""
    po = make_po(campaign["id"], stage=Stage.INVOICE, accepted=True)
    for n in range(25):
        assert send(api, acknowledgement(po, PARTIAL), webhook_id=f"msg_{n:02d}")[0] == 202
    real_raise, real_get, stale = exceptions.raise_or_bump, repo.get, []

    def raise_having_read_nothing(*args: Any, **kwargs: Any) -> Any:
        stale.append(True)
        return real_raise(*args, **kwargs)

    def racing_get(key: tuple[str, str], kind: type) -> Any:
        if kind is ExceptionItem and stale:
            stale.pop()
            return None  # what this delivery read, before the others wrote
        return real_get(key, kind)

    monkeypatch.setattr(exceptions, "raise_or_bump", raise_having_read_nothing)
    monkeypatch.setattr(repo, "get", racing_get)
    outcomes = process_webhooks()
    monkeypatch.undo()

    assert len(outcomes) == 25 and all(o.startswith("failed: invalid_transition") for o in outcomes), outcomes
    raised = [i for i in Item.scan() if isinstance(i, ExceptionItem) and i.kind_name == "inbound_webhook_failed"]
    assert [(i.subject_type, i.subject_id, int(i.count), i.status) for i in raised] == [("po", po, 25, "open")]
    assert raised[0].details["code"] == "invalid_transition" and raised[0].details["supplier_id"] == "acme"
    events = [e for e in repo.query_all(keys.exception_pk(raised[0].id)) if isinstance(e, AuditEventItem)]
    assert sorted(e.type for e in events) == ["exception.raised"] + ["exception.repeated"] * 24
    told = [
        r
        for e in map(repo.event_from_item, events)
        for r in rules_for({"type": e.type, "subject_type": e.subject_type, "data": e.data})
    ]
    assert [(r.event_type, r.recipient.value) for r in told] == [("exception.raised", "admin")]  # one e-mail
    assert sfn_calls == [] and po_item(po).stage == "invoice"


def test_a_shipment_notice_before_the_shipment_stage_fails_for_staff(api, campaign, sfn_calls):
    order = place(api, campaign["id"], ("MUG-1", 1))
    po = make_po(campaign["id"])  # still at acknowledge
    assert send(api, notice(po, [order["id"]]), webhook_id="msg_early")[0] == 202
    [outcome] = process_webhooks()
    assert outcome.startswith("failed: invalid_transition"), outcome
    assert problem("inbound_webhook_failed", "po", po) is not None
    assert shipment_items.load("dhl", "JD0001") is None and sfn_calls == []
