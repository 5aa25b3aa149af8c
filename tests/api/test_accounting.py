"""Accounting decides on payment proposals; approved payments go to the bank once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb import repository as repo
from chalicelib.adapters.dynamodb.metering import metered
from chalicelib.adapters.dynamodb.models import PaymentProposalItem
from chalicelib.domain.purchase_orders import Stage
from chalicelib.local.sandbox_bank import SandboxBank
from chalicelib.services import exceptions, payments
from tests.api import po_support
from tests.api.po_support import (
    ACME,
    ORDERED_CENTS,
    ScriptedBank,
    bank_settings,
    make_po,
    open_stage,
    po_item,
)
from tests.api.support import assert_error, follow_pages
from tests.aws import ACCOUNTING, ADMIN, BUYER, live_campaign

aws, sfn_calls = po_support.aws, po_support.sfn_calls  # fixtures

PROPOSALS = "/staff/payment-proposals"


def proposed(api, *, amount: int = ORDERED_CENTS) -> tuple[str, str]:
    """A PO waiting for accounting, and its pending proposal."""
    campaign = live_campaign(api)
    po = make_po(campaign["id"], stage=Stage.PAYMENT_PROPOSAL, accepted=True, invoiced=ORDERED_CENTS)
    status, proposal = api.post(f"/supplier/purchase-orders/{po}/payment-proposals", ACME, {"amount_cents": amount})
    assert status == 201, proposal
    open_stage(po, Stage.PAYMENT_APPROVAL, token="tok-approval")
    return po, proposal["id"]


def proposal(proposal_id: str) -> PaymentProposalItem:
    key = keys.proposal(proposal_id)
    assert key is not None
    item = repo.get(key, PaymentProposalItem)
    assert item is not None
    return item


@pytest.fixture
def sandbox():
    bank = SandboxBank(webhook_url=None, secret=None)
    bank.start()
    yield bank
    bank.stop()


def test_accounting_lists_pending_proposals_oldest_first_and_pages(api, sfn_calls):
    ids = [proposed(api, amount=a)[1] for a in (100, 200, 300)]
    items, pages = follow_pages(api, PROPOSALS, ACCOUNTING, limit=2)
    assert [p["id"] for p in items] == ids and pages == 2
    assert [p["status"] for p in items] == ["pending"] * 3
    assert api.get(PROPOSALS, ADMIN)[0] == 200
    assert_error(*api.get(PROPOSALS, BUYER), 403)
    assert_error(*api.get(PROPOSALS, ACME), 403)
    assert_error(*api.get(f"{PROPOSALS}?status=lost", ACCOUNTING), 422)


def test_approving_completes_the_approval_stage_once_and_moves_the_proposal(api, sfn_calls):
    po, pid = proposed(api)
    sfn_calls.clear()
    status, body = api.post(f"{PROPOSALS}/{pid}/approve", ACCOUNTING, {"note": "matches the invoice"})
    assert status == 200, body
    assert body["status"] == "approved" and body["note"] == "matches the invoice"
    assert sfn_calls == [("tok-approval", {"decision": "approved", "stage": "payment_approval"})]
    assert_error(*api.post(f"{PROPOSALS}/{pid}/approve", ACCOUNTING, {}), 409, "invalid_transition")
    assert_error(*api.post(f"{PROPOSALS}/{pid}/reject", ACCOUNTING, {"note": "too late"}), 409)
    assert len(sfn_calls) == 1
    assert api.get(PROPOSALS, ACCOUNTING)[1]["items"] == []
    assert [p["id"] for p in api.get(f"{PROPOSALS}?status=approved", ACCOUNTING)[1]["items"]] == [pid]
    assert po_item(po).stage is None and po_item(po).task_token is None


def test_rejecting_gives_the_amount_back_for_a_new_proposal(api, sfn_calls):
    po, pid = proposed(api)
    sfn_calls.clear()
    error = assert_error(*api.post(f"{PROPOSALS}/{pid}/reject", ACCOUNTING, {}), 422, "validation_error")
    assert [d["field"] for d in error["details"]] == ["body.note"]  # a rejection says why
    assert sfn_calls == [] and int(po_item(po).proposed_cents) > 0
    status, body = api.post(f"{PROPOSALS}/{pid}/reject", ACCOUNTING, {"note": "wrong amount"})
    assert status == 200 and body["status"] == "rejected"
    assert sfn_calls == [("tok-approval", {"decision": "rejected", "stage": "payment_approval"})]
    assert int(po_item(po).proposed_cents) == 0


def test_only_accounting_decides(api, sfn_calls):
    _, pid = proposed(api)
    sfn_calls.clear()
    for who in (ADMIN, BUYER, ACME):
        assert_error(*api.post(f"{PROPOSALS}/{pid}/approve", who, {}), 403)
    assert_error(*api.post(f"{PROPOSALS}/nothing-here/approve", ACCOUNTING, {}), 404)
    assert_error(*api.post(f"{PROPOSALS}/po_x.pp_y/approve", ACCOUNTING, {}), 404)
    assert sfn_calls == []


def test_a_decision_while_the_approval_stage_is_not_open_is_a_409(api, sfn_calls):
    campaign = live_campaign(api)
    po = make_po(campaign["id"], stage=Stage.PAYMENT_PROPOSAL, accepted=True, invoiced=ORDERED_CENTS)
    pid = api.post(f"/supplier/purchase-orders/{po}/payment-proposals", ACME, {"amount_cents": 5})[1]["id"]
    sfn_calls.clear()
    assert_error(*api.post(f"{PROPOSALS}/{pid}/approve", ACCOUNTING, {}), 409, "invalid_transition")
    assert sfn_calls == [] and proposal(pid).status == "pending"


# ---------------------------------------------------------------- the bank payment stage


def approved(api, sfn_calls) -> tuple[str, str]:
    po, pid = proposed(api)
    assert api.post(f"{PROPOSALS}/{pid}/approve", ACCOUNTING, {})[0] == 200
    open_stage(po, Stage.BANK_PAYMENT, token="tok-bank")
    sfn_calls.clear()
    return po, pid


def test_the_bank_payment_stage_pushes_once_and_completes(api, sfn_calls, sandbox, monkeypatch):
    po, pid = approved(api, sfn_calls)
    with bank_settings(monkeypatch, sandbox.url):
        assert payments.on_bank_payment_stage(po).result == "paid"
        assert payments.on_bank_payment_stage(po).result == "skipped"  # redelivered stage event
    assert sandbox.requests == 1 and list(sandbox.payments) == [pid]
    order = sandbox.payments[pid]["order"]
    assert order == {
        "payment_id": pid,
        "amount_cents": ORDERED_CENTS,
        "currency": "EUR",
        "supplier_id": "acme",
        "reference": f"{po_item(po).campaign_id}/{po}",
    }
    assert sfn_calls == [("tok-bank", {"decision": "done", "stage": "bank_payment"})]
    assert proposal(pid).status == "pushed"


def test_a_push_in_flight_is_not_pushed_again_until_its_lease_runs_out(api, sfn_calls, sandbox, monkeypatch):
    po, pid = approved(api, sfn_calls)
    item = proposal(pid)
    item.status, item.GSI3PK = "pushed", keys.proposals_pk("pushed")
    repo.commit([repo.Write(item)], what="test")  # as if another delivery had claimed the push just now
    with bank_settings(monkeypatch, sandbox.url):
        assert payments.on_bank_payment_stage(po).result == "in_flight"
        assert sandbox.requests == 0 and sfn_calls == []
        # That delivery died mid-push: after the lease the stage is pushed again, same idempotency key.
        monkeypatch.setattr(payments, "_lease", lambda: timedelta(seconds=-1))
        assert payments.on_bank_payment_stage(po).result == "paid"
        assert payments.on_bank_payment_stage(po).result == "skipped"
    assert list(sandbox.payments) == [pid] and len(sfn_calls) == 1


def test_a_refused_payment_raises_payment_failed_and_reopens_the_proposal_stage(api, sfn_calls, monkeypatch):
    po, pid = approved(api, sfn_calls)
    with ScriptedBank([(422, 0.0)]) as bank, bank_settings(monkeypatch, bank.url):
        assert payments.on_bank_payment_stage(po).result == "refused"
    assert sfn_calls == [("tok-bank", {"decision": "rejected", "stage": "bank_payment"})]
    assert proposal(pid).status == "failed" and int(po_item(po).proposed_cents) == 0
    record = exceptions.get(exceptions.exception_id("payment_failed", "po", po))
    assert record is not None and record.status == "open"


def test_a_bank_that_does_not_answer_keeps_the_stage_open_and_raises_payment_failed(api, sfn_calls, monkeypatch):
    po, pid = approved(api, sfn_calls)
    with ScriptedBank([(503, 0.0), (503, 0.0)]) as bank, bank_settings(monkeypatch, bank.url, retries=1):
        with pytest.raises(Exception, match="did not take payment"):
            payments.on_bank_payment_stage(po)
        assert len(bank.requests) == 2
    assert sfn_calls == [] and po_item(po).stage == "bank_payment" and proposal(pid).status == "pushed"
    assert exceptions.get(exceptions.exception_id("payment_failed", "po", po)) is not None


def test_an_approval_racing_the_workflows_own_write_to_the_po_is_applied_once_not_refused(api, sfn_calls, monkeypatch):
    po, pid = proposed(api)
    sfn_calls.clear()
    real_commit, commits = repo.commit, []

    def after_the_stage_consumer_wrote(writes, **kw):
        commits.append(1)
        if len(commits) == 1:  # between our read and our write, the workflow's consumer saves the PO
            item = po_item(po)
            item.reminders = {"payment_approval": 1}
            item.save()
        return real_commit(writes, **kw)

    monkeypatch.setattr(repo, "commit", after_the_stage_consumer_wrote)  # the DynamoDB store's transaction
    status, body = api.post(f"{PROPOSALS}/{pid}/approve", ACCOUNTING, {"note": "ok"})
    assert status == 200 and body["status"] == "approved", body
    assert len(commits) == 2  # read again, checked again, written once
    assert sfn_calls == [("tok-approval", {"decision": "approved", "stage": "payment_approval"})]
    assert po_item(po).stage is None


def test_approving_reads_the_proposal_and_its_po_in_one_request_and_writes_once(api, sfn_calls):
    _, pid = proposed(api)
    with metered() as m:
        status, body = api.post(f"{PROPOSALS}/{pid}/approve", ACCOUNTING, {})
    assert status == 200 and body["status"] == "approved", body
    assert dict(m.requests) == {"BatchGetItem": 1, "TransactWriteItems": 1}, "a proposal id names its PO: one read"
