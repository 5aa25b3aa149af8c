"""The supplier fulfilment state machine (infra/statemachines/supplier_fulfilment.asl.json),
executed on moto: every stage opens through the bus and the po-stages consumer, and every
action goes through services.stages.complete_stage."""

from __future__ import annotations

import pytest

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb import repository as repo
from chalicelib.adapters.dynamodb.models import AuditEventItem, ExceptionItem
from chalicelib.config import settings
from chalicelib.domain.errors import InvalidTransition
from chalicelib.domain.permissions import SYSTEM, Principal, Role
from chalicelib.domain.purchase_orders import (
    Decision,
    LineAcceptance,
    PurchaseOrder,
    RejectReason,
    Stage,
    acknowledge,
    decide_payment,
    propose_payment,
    record_invoice,
    record_shipment,
)
from chalicelib.services import stages
from chalicelib.services.exceptions import exception_id
from tests.aws import ACCOUNTING as ACCOUNTING_H
from tests.aws import ALICE, BUYER, Api
from tests.workflows.conftest import Flow, mail_to

ACCOUNTING = Principal(sub="acc-1", roles=frozenset({Role.ACCOUNTING}))


def ship_everything(po: PurchaseOrder) -> Decision:
    """The supplier's only order leaves in one parcel: the shipment stage is done."""
    po.orders_to_ship = 1
    decision = record_shipment(po, 1)
    assert decision is Decision.DONE
    return decision


def staff_api() -> Api:
    from chalice.test import Client

    from app import app

    return Api(Client(app, stage_name="test"))


def supplier(flow: Flow) -> Principal:
    return Principal(sub="sup-user", roles=frozenset({Role.SUPPLIER}), supplier_id=flow.item().supplier_id)


def accept_all(flow: Flow) -> None:
    stages.complete_stage(
        supplier(flow),
        flow.po_id,
        Stage.ACKNOWLEDGE,
        lambda po: acknowledge(po, [LineAcceptance("MUG-1", 10), LineAcceptance("CAP-1", 4)]),
    )


def test_a_po_walks_every_stage_to_shipped(flow: Flow, payments_calls: list[str]) -> None:
    flow.start()
    flow.wait_open(Stage.ACKNOWLEDGE)
    assert len(mail_to(flow.supplier_email, "acknowledge")) == 1
    accept_all(flow)

    flow.wait_open(Stage.INVOICE)
    stages.complete_stage(supplier(flow), flow.po_id, Stage.INVOICE, lambda po: record_invoice(po, 6200))
    flow.wait_open(Stage.PAYMENT_PROPOSAL)
    stages.complete_stage(supplier(flow), flow.po_id, Stage.PAYMENT_PROPOSAL, lambda po: propose_payment(po, 6200))
    flow.wait_open(Stage.PAYMENT_APPROVAL)
    assert [m for m in mail_to(settings().mailbox_accounting, "approve") if flow.po_id in m.subject], (
        "accounting's mailbox is asked to approve"
    )
    assert not mail_to(flow.buyer_email, "approve")
    stages.complete_stage(ACCOUNTING, flow.po_id, Stage.PAYMENT_APPROVAL, lambda po: decide_payment(po, True, 6200))
    flow.wait_open(Stage.BANK_PAYMENT)
    assert payments_calls == [flow.po_id]
    stages.complete_stage(SYSTEM, flow.po_id, Stage.BANK_PAYMENT, lambda po: Decision.DONE)
    flow.wait_open(Stage.SETTLEMENT)
    stages.complete_stage(SYSTEM, flow.po_id, Stage.SETTLEMENT, lambda po: Decision.DONE)
    flow.wait_open(Stage.SHIPMENT)
    stages.complete_stage(supplier(flow), flow.po_id, Stage.SHIPMENT, ship_everything)

    assert flow.wait_finished() == "SUCCEEDED"
    assert flow.states_entered()[-1] == "Shipped"
    item = flow.item()
    assert (item.status, item.stage, item.task_token) == ("shipped", None, None)
    history = flow.history()
    transitions = len(flow.states_entered())
    print(f"\nBENCH state transitions per PO (happy path): {transitions} states entered, {len(history)} history events")
    assert transitions <= 40


def test_a_redelivered_stage_opening_sends_no_second_email(flow: Flow) -> None:
    flow.start()
    token = flow.wait_open(Stage.ACKNOWLEDGE)
    opening = next(m for m in flow.handled if token in m["Body"])
    from chalicelib.handlers import batch, po_stages
    from chalicelib.topology import PO_STAGES

    # The queue delivers it again: the consumer's idempotency record says it was handled.
    assert batch.once("po_stages", PO_STAGES, batch.domain_event(opening["Body"]), po_stages.handle) is batch.SKIPPED
    assert len(mail_to(flow.supplier_email, "acknowledge")) == 1
    assert flow.item().task_token == token


def test_partial_acceptance_continues_to_the_invoice(flow: Flow) -> None:
    flow.start()
    flow.wait_open(Stage.ACKNOWLEDGE)
    _, decision = stages.complete_stage(
        supplier(flow),
        flow.po_id,
        Stage.ACKNOWLEDGE,
        lambda po: acknowledge(po, [LineAcceptance("MUG-1", 6, RejectReason.OUT_OF_STOCK), LineAcceptance("CAP-1", 4)]),
    )
    assert decision is Decision.PARTIALLY_ACCEPTED
    flow.wait_open(Stage.INVOICE)
    assert flow.status() == "RUNNING"
    assert int(flow.item().accepted_cents) == 6 * 500 + 4 * 300


def test_a_full_rejection_ends_the_execution_at_rejected(flow: Flow) -> None:
    flow.start()
    flow.wait_open(Stage.ACKNOWLEDGE)
    stages.complete_stage(
        supplier(flow),
        flow.po_id,
        Stage.ACKNOWLEDGE,
        lambda po: acknowledge(
            po, [LineAcceptance("MUG-1", 0, RejectReason.OUT_OF_STOCK), LineAcceptance("CAP-1", 0, RejectReason.OTHER)]
        ),
    )
    assert flow.wait_finished() == "SUCCEEDED"
    assert flow.states_entered()[-1] == "Rejected"
    assert flow.item().status == "rejected"


def test_repeated_and_out_of_stage_actions_change_nothing_and_never_reach_step_functions(flow: Flow) -> None:
    flow.start()
    flow.wait_open(Stage.ACKNOWLEDGE)
    stale = stages.load_po(flow.po_id)
    accept_all(flow)
    flow.wait_open(Stage.INVOICE)
    before, version = flow.history(), int(flow.item().version)

    with pytest.raises(InvalidTransition):  # the same acknowledgement again
        accept_all(flow)
    with pytest.raises(InvalidTransition):  # a stage that is not open
        stages.complete_stage(supplier(flow), flow.po_id, Stage.SHIPMENT, ship_everything)
    with pytest.raises(InvalidTransition):  # the domain refuses the wrong stage's action too
        stages.complete_stage(supplier(flow), flow.po_id, Stage.INVOICE, lambda po: propose_payment(po, 100))
    # a racing duplicate that read the PO before the first one landed: its write loses on the version, the
    # PO is read again, and the stage is no longer open (still a 409 to the caller, and nothing changes)
    with pytest.raises(InvalidTransition):
        stages.complete_stage(
            supplier(flow),
            flow.po_id,
            Stage.ACKNOWLEDGE,
            lambda po: acknowledge(po, [LineAcceptance("MUG-1", 10), LineAcceptance("CAP-1", 4)]),
            loaded=stale,
        )

    assert flow.history() == before
    assert int(flow.item().version) == version
    assert (flow.item().stage, flow.status()) == ("invoice", "RUNNING")


def test_a_missed_deadline_reminds_then_escalates_and_the_stage_reopens(flow: Flow, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAYBILL_MAX_STAGE_REMINDERS", "1")
    settings.cache_clear()
    try:
        flow.start(acknowledge=1)
        first = flow.wait_open(Stage.ACKNOWLEDGE)
        flow.until(lambda: flow.item().reminders.as_dict().get("acknowledge", 0) >= 1, why="a reminder")
        assert len(mail_to(flow.supplier_email, "Reminder 1")) == 1
        exc = repo.get(keys.exception(exception_id("po_not_acknowledged", "po", flow.po_id)), ExceptionItem)
        assert exc is not None and exc.status == "open" and int(exc.count) == 1
        assert exc.GSI3PK == keys.OPEN_EXCEPTIONS_PK

        flow.until(lambda: flow.item().reminders.as_dict().get("acknowledge", 0) >= 2, why="an escalation")
        # The 1 s deadline keeps passing: a slow machine may already have escalated again. Each
        # escalation e-mails the buyer exactly once.
        escalations = [
            i for i in repo.query_all(keys.po_pk(flow.po_id)) if isinstance(i, AuditEventItem) and i.type == "po.stage_escalated"
        ]
        assert escalations and len(mail_to(flow.buyer_email, "Escalation")) == len(escalations)
        exc = repo.get(keys.exception(exception_id("po_not_acknowledged", "po", flow.po_id)), ExceptionItem)
        assert exc is not None and int(exc.count) == 1 + len(escalations) and exc.severity == "critical"

        reopened = flow.wait_open(Stage.ACKNOWLEDGE, not_token=first)
        assert reopened != first
        assert "Acknowledge overdue" in flow.states_entered()
    finally:
        settings.cache_clear()
    # A stage that keeps timing out still ends cleanly: cancelled by staff, the next opening
    # answers 'cancelled' even if the token staff's call answered had just timed out.
    status, body = staff_api().post(f"/staff/purchase-orders/{flow.po_id}/cancel", BUYER, {})
    assert status == 200, body
    assert flow.wait_finished() == "SUCCEEDED"
    assert flow.states_entered()[-1] == "Cancelled"


def test_staff_cancel_a_po_in_an_open_stage_and_the_execution_ends(flow: Flow) -> None:
    flow.start()
    flow.wait_open(Stage.ACKNOWLEDGE)
    accept_all(flow)
    flow.wait_open(Stage.INVOICE)
    api = staff_api()

    status, body = api.post(f"/staff/purchase-orders/{flow.po_id}/cancel", ACCOUNTING_H, {})
    assert status == 403, body
    status, body = api.post(f"/staff/purchase-orders/{flow.po_id}/cancel", BUYER, {"internal_note": "supplier gone"})
    assert status == 200, body
    assert (body["status"], body["stage"], body["stage_open"]) == ("cancelled", None, False)
    assert any(
        e["type"] == "po.invoice_completed" and e["to_status"] == "cancelled" and e["internal_note"] == "supplier gone"
        for e in body["events"]
    )
    assert flow.wait_finished() == "SUCCEEDED"
    assert flow.states_entered()[-1] == "Cancelled"

    status, body = api.post(f"/staff/purchase-orders/{flow.po_id}/cancel", BUYER, {})
    assert status == 409, body
    assert body["error"]["code"]


def test_staff_see_a_po_with_its_stage_deadline_and_trail_and_find_it_by_stage_and_campaign(flow: Flow) -> None:
    flow.start()
    token = flow.wait_open(Stage.ACKNOWLEDGE)
    api = staff_api()

    status, body = api.get(f"/staff/purchase-orders/{flow.po_id}", BUYER)
    assert status == 200, body
    assert (body["stage"], body["stage_open"], body["status"]) == ("acknowledge", True, "open")
    assert body["stage_deadline"] and body["execution_arn"] == flow.execution_arn
    assert [line["sku"] for line in body["lines"]] == ["MUG-1", "CAP-1"]
    assert [e["type"] for e in body["events"]] == ["po.stage_started"]
    assert token not in str(body), "the task token never leaves the service"

    status, page = api.get("/staff/purchase-orders?stage=acknowledge&limit=100", BUYER)
    assert status == 200 and flow.po_id in [p["id"] for p in page["items"]], page
    campaign_id = flow.item().campaign_id
    status, page = api.get(f"/staff/purchase-orders?campaign_id={campaign_id}", BUYER)
    assert status == 200 and [p["id"] for p in page["items"]] == [flow.po_id], page
    status, page = api.get(f"/staff/purchase-orders?campaign_id={campaign_id}&stage=invoice", BUYER)
    assert status == 200 and page["items"] == [], page
    status, body = api.get("/staff/purchase-orders", BUYER)
    assert status == 422 and body["error"]["code"] == "filter_required", body
    status, body = api.get("/staff/purchase-orders/po_nope", BUYER)
    assert status == 404, body
    status, body = api.get(f"/staff/purchase-orders/{flow.po_id}", ALICE)
    assert status == 403, body
