"""The purchase-order services' rules on the in-memory store, where no AWS effect is involved: what a
supplier reads of its own POs and campaigns (and the same 404 for another supplier's), how staff list
and read POs, a stage opening storing its token once, a cancel between stages, and the payment rules
that refuse before anything is written. The stage completions themselves answer Step Functions and
stay on moto (tests/api/test_supplier_api.py, test_accounting.py, tests/workflows)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.adapters.memory import MemoryStore
from chalicelib.domain.campaigns import Campaign, CampaignStatus
from chalicelib.domain.errors import Forbidden, InvalidTransition, NotFound, RuleViolation
from chalicelib.domain.permissions import Role
from chalicelib.domain.purchase_orders import POLine, POStatus, PurchaseOrder, Stage, po_id
from chalicelib.events import StageOpened
from chalicelib.services import payments, stages, supplier_portal, supplier_workflow
from chalicelib.services.ports import CampaignRecord, Save
from chalicelib.services.ports_purchase_orders import InvoiceRecord, PaymentProposal, PORecord, proposal_id
from tests.services.conftest import ACME, ALICE, BOLT, BUYER, NOW, principal

ACCOUNTING = principal("acc-1", Role.ACCOUNTING)
DEADLINE = NOW + timedelta(days=1)


def make_po(
    store: MemoryStore,
    campaign_id: str = "cmp-1",
    supplier_id: str = "acme",
    *,
    stage: Stage | None = None,
    status: POStatus = POStatus.OPEN,
    minutes: int = 0,
    **money: int,
) -> PurchaseOrder:
    """A PO as the workflow leaves it: in `stage` (its token stored) or between stages."""
    po = PurchaseOrder(
        po_id(campaign_id, supplier_id),
        campaign_id,
        supplier_id,
        "EUR",
        [POLine("MUG-1", "Mug", 4, 500)],
        NOW + timedelta(minutes=minutes),
        order_count=2,
        stage=stage,
        status=status,
        **money,  # type: ignore[arg-type]
    )
    token = f"tok-{stage.value}" if stage else None
    store.commit([Save(PORecord(po, token, DEADLINE if stage else None, "arn:exec"), None)], what="the PO", at=po.created_at)
    return po


def make_campaign(store: MemoryStore, campaign_id: str = "cmp-1", *suppliers: str) -> None:
    campaign = Campaign(campaign_id, f"Drop {campaign_id}", "buyer-1", "EUR", CampaignStatus.LIVE, supplier_ids=set(suppliers))
    store.commit([Save(CampaignRecord(campaign, NOW, None), None)], what="the campaign", at=NOW)


def pending(po: PurchaseOrder, n: int = 1, status: str = "pending") -> PaymentProposal:
    at = NOW + timedelta(minutes=n)
    return PaymentProposal(proposal_id(po.id, f"pp-{n}"), po.id, po.supplier_id, po.campaign_id, 2000, "EUR", status, at, at)


# ---------------------------------------------------------------- the supplier's reads


def test_a_supplier_sees_its_campaigns_with_where_the_money_and_the_goods_are(store):
    make_campaign(store, "cmp-1", "acme", "bolt")
    make_campaign(store, "cmp-2", "acme")
    make_po(store, "cmp-1", stage=Stage.BANK_PAYMENT, invoiced_cents=2000, proposed_cents=2000)
    make_po(store, "cmp-2", status=POStatus.SHIPPED, minutes=1, invoiced_cents=2000, paid_cents=2000)
    make_po(store, "cmp-1", "bolt")
    rows = supplier_portal.list_campaigns(ACME)
    assert [
        (r.campaign_id, r.name, r.campaign_status, r.po_status, r.stage, r.payment_status, r.shipment_status) for r in rows
    ] == [
        ("cmp-2", "Drop cmp-2", "live", "shipped", None, "paid", "shipped"),
        ("cmp-1", "Drop cmp-1", "live", "open", "bank_payment", "approved", "pending"),
    ]


def test_a_supplier_lists_its_own_pos_newest_first_filtered_by_status_and_stage(store):
    make_po(store, "cmp-1", stage=Stage.INVOICE)
    make_po(store, "cmp-2", stage=Stage.SHIPMENT, minutes=1)
    make_po(store, "cmp-3", status=POStatus.CANCELLED, minutes=2)
    make_po(store, "cmp-1", "bolt", stage=Stage.INVOICE)
    every, cursor = supplier_portal.list_purchase_orders(ACME, status=None, stage=None, limit=10, cursor=None)
    assert [s.campaign_id for s in every] == ["cmp-3", "cmp-2", "cmp-1"] and cursor is None
    assert [(s.stage, s.stage_deadline, s.shipment_status) for s in every[1:]] == [
        ("shipment", DEADLINE, "awaiting_shipment"),
        ("invoice", DEADLINE, "pending"),
    ]
    assert every[0].shipment_status == "not_applicable"
    shipping, _ = supplier_portal.list_purchase_orders(ACME, status="open", stage="shipment", limit=10, cursor=None)
    assert [s.campaign_id for s in shipping] == ["cmp-2"]
    first, cursor = supplier_portal.list_purchase_orders(ACME, status=None, stage=None, limit=2, cursor=None)
    rest, _ = supplier_portal.list_purchase_orders(ACME, status=None, stage=None, limit=2, cursor=cursor)
    assert [s.campaign_id for s in first + rest] == ["cmp-3", "cmp-2", "cmp-1"]


def test_a_supplier_reads_its_po_with_its_documents_and_another_suppliers_po_is_not_found(store):
    po = make_po(store, stage=Stage.PAYMENT_APPROVAL, invoiced_cents=2000, proposed_cents=2000)
    invoice = InvoiceRecord("inv-1", po.id, "acme", "F-1", 2000, "EUR", "suppliers/acme/f.pdf", NOW)
    store.commit([Save(invoice, None), Save(pending(po), None)], what="documents", at=NOW)
    detail = supplier_portal.get_purchase_order(ACME, po.id)
    assert (detail.summary.id, detail.summary.payment_status, detail.lines) == (po.id, "proposed", po.lines)
    assert [(i.id, i.number, i.amount_cents) for i in detail.invoices] == [("inv-1", "F-1", 2000)]
    assert [(p.id, p.status) for p in detail.proposals] == [(pending(po).id, "pending")]
    with pytest.raises(NotFound):
        supplier_portal.get_purchase_order(BOLT, po.id)
    with pytest.raises(NotFound):
        stages.load_po(po.id, for_supplier="bolt")
    with pytest.raises(Forbidden):
        supplier_portal.get_purchase_order(ALICE, po.id)


def test_a_supplier_outside_a_campaign_cannot_reach_its_files(store):
    make_campaign(store, "cmp-1", "bolt")
    with pytest.raises(NotFound):
        supplier_portal.list_campaign_files(ACME, "cmp-1")
    with pytest.raises(NotFound):
        supplier_portal.campaign_file_upload(ACME, "cmp-9", "application/pdf", "a.pdf")


# ---------------------------------------------------------------- staff


def test_staff_list_pos_by_campaign_or_by_stage_and_must_give_one(store):
    make_po(store, "cmp-1", stage=Stage.ACKNOWLEDGE)
    make_po(store, "cmp-1", "bolt", stage=Stage.INVOICE)
    make_po(store, "cmp-2", stage=Stage.ACKNOWLEDGE, minutes=1)
    by_campaign, _ = supplier_workflow.list_pos(stage_or_status=None, campaign_id="cmp-1", limit=10, cursor=None)
    assert [s.supplier_id for s in by_campaign] == ["acme", "bolt"]
    in_campaign, _ = supplier_workflow.list_pos(stage_or_status="invoice", campaign_id="cmp-1", limit=10, cursor=None)
    assert [s.supplier_id for s in in_campaign] == ["bolt"]
    waiting, _ = supplier_workflow.list_pos(stage_or_status="acknowledge", campaign_id=None, limit=10, cursor=None)
    assert [s.campaign_id for s in waiting] == ["cmp-2", "cmp-1"]
    with pytest.raises(RuleViolation) as raised:
        supplier_workflow.list_pos(stage_or_status=None, campaign_id=None, limit=10, cursor=None)
    assert raised.value.code == "filter_required"


def test_staff_read_a_po_with_its_workflow_hold_and_version(store):
    po = make_po(store, stage=Stage.ACKNOWLEDGE)
    detail = supplier_workflow.get_po(po.id)
    assert (detail.po, detail.version) == (po, 1)
    assert (detail.record.task_token, detail.record.stage_deadline, detail.record.execution_arn) == (
        "tok-acknowledge",
        DEADLINE,
        "arn:exec",
    )
    with pytest.raises(NotFound):
        supplier_workflow.get_po(po_id("cmp-9", "acme"))


def test_cancelling_a_po_between_stages_cancels_it_at_once_and_a_finished_po_cannot_be_cancelled(store):
    po = make_po(store)
    cancelled = supplier_workflow.cancel_po(BUYER, po.id, internal_note="supplier closed")
    assert cancelled.status is POStatus.CANCELLED
    detail = supplier_workflow.get_po(po.id)
    assert (detail.po.status, detail.version, detail.record.execution_arn) == (POStatus.CANCELLED, 2, "arn:exec")
    assert [(e.type, e.from_status, e.to_status, e.internal_note) for e in detail.events] == [
        ("po.cancelled", "open", "cancelled", "supplier closed")
    ]
    with pytest.raises(InvalidTransition):
        supplier_workflow.cancel_po(BUYER, po.id)


# ---------------------------------------------------------------- the workflow's consumer


def test_a_stage_opening_stores_its_token_and_deadline_once(store):
    po = make_po(store)
    opened = StageOpened.model_validate(
        {"po_id": po.id, "stage": "acknowledge", "task_token": "tok-1", "deadline_s": 3600, "execution_arn": "arn:exec-2"}
    )
    assert supplier_workflow.stage_opened(opened).action == "stored"
    detail = supplier_workflow.get_po(po.id)
    record = detail.record
    assert (record.po.stage, record.task_token, record.execution_arn, detail.version) == (
        Stage.ACKNOWLEDGE,
        "tok-1",
        "arn:exec-2",
        2,
    )
    assert record.stage_deadline is not None and record.po.stage_due_at == record.stage_deadline
    assert [(e.type, e.data["stage"]) for e in detail.events] == [("po.stage_started", "acknowledge")]
    assert supplier_workflow.stage_opened(opened).action == "stored"  # a redelivery: nothing written again
    again = supplier_workflow.get_po(po.id)
    assert (again.version, len(again.events)) == (2, 1)


def test_a_deadline_passing_on_a_finished_po_is_ignored(store):
    from chalicelib.events import StageOverdue

    po = make_po(store, status=POStatus.CANCELLED)
    assert supplier_workflow.stage_overdue(StageOverdue(po_id=po.id, stage="acknowledge")).action == "ignored"
    assert supplier_workflow.get_po(po.id).version == 1


# ---------------------------------------------------------------- payments


def test_accounting_lists_proposals_by_status_oldest_first_and_others_may_not(store):
    acme, bolt = make_po(store), make_po(store, "cmp-1", "bolt")
    store.commit(
        [Save(pending(bolt, 2), None), Save(pending(acme, 1), None), Save(pending(acme, 3, "approved"), None)], what="p", at=NOW
    )
    listed, cursor = payments.list_proposals(ACCOUNTING, status="pending", limit=10, cursor=None)
    assert [(p.id, p.supplier_id) for p in listed] == [(pending(acme, 1).id, "acme"), (pending(bolt, 2).id, "bolt")]
    assert cursor is None
    with pytest.raises(Forbidden):
        payments.list_proposals(ACME, status="pending", limit=10, cursor=None)


def test_only_a_pending_proposal_is_decided_and_an_unknown_one_is_not_found(store):
    po = make_po(store, stage=Stage.PAYMENT_APPROVAL)
    store.commit([Save(pending(po, 1, "approved"), None)], what="p", at=NOW)
    with pytest.raises(InvalidTransition):
        payments.decide(ACCOUNTING, pending(po, 1).id, approve=False, note=None)
    for unknown in (proposal_id(po.id, "pp-9"), "not-a-proposal-id"):
        with pytest.raises(NotFound):
            payments.decide(ACCOUNTING, unknown, approve=True, note=None)
    with pytest.raises(Forbidden):
        payments.decide(BUYER, pending(po, 1).id, approve=True, note=None)


def test_the_bank_stage_is_skipped_unless_open_with_an_approved_proposal(store):
    between = make_po(store)
    assert payments.on_bank_payment_stage(between.id).result == "skipped"
    waiting = make_po(store, "cmp-2", stage=Stage.BANK_PAYMENT)
    store.commit([Save(pending(waiting, 1), None)], what="p", at=NOW)  # still pending: nothing to push
    assert payments.on_bank_payment_stage(waiting.id).result == "skipped"


def test_a_push_still_in_flight_is_left_alone(store):
    po = make_po(store, stage=Stage.BANK_PAYMENT)
    pushed = replace(pending(po, 1, "pushed"), updated_at=payments.now())
    store.commit([Save(pushed, None)], what="p", at=NOW)
    assert payments.on_bank_payment_stage(po.id) == payments.BankOutcome("in_flight", pushed.id)


def test_only_a_pushed_payment_settles_and_a_settlement_stage_waits_for_one(store):
    po = make_po(store, stage=Stage.SETTLEMENT)
    store.commit([Save(pending(po, 1, "approved"), None)], what="p", at=NOW)
    with pytest.raises(InvalidTransition):
        payments.settle(pending(po, 1).id)
    assert payments.on_settlement_stage(po.id) == "waiting"
    assert payments.apply_bank_event({"type": "payment.failed", "data": {"payment_id": pending(po, 1).id}}) == "ignored"
