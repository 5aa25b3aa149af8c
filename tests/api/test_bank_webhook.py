"""The bank settles payments through a Standard Webhooks signed callback: verified, stored once,
then applied once."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from standardwebhooks.webhooks import Webhook

from chalicelib.adapters import secrets
from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb import repository as repo
from chalicelib.adapters.dynamodb.models import InboxItem, PaymentProposalItem
from chalicelib.domain.purchase_orders import Stage
from chalicelib.services import exceptions, payments
from tests.api import po_support
from tests.api.po_support import (
    ACME,
    ORDERED_CENTS,
    make_po,
    open_stage,
    po_item,
)
from tests.api.support import assert_error, process_webhooks, raw
from tests.aws import ACCOUNTING, live_campaign

aws, sfn_calls = po_support.aws, po_support.sfn_calls  # fixtures

HOOK = "/webhooks/bank"


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


SECRET, OLD_SECRET, STRANGER = new_secret(), new_secret(), new_secret()


@pytest.fixture(autouse=True)
def bank_secrets(aws):
    boto3.client("secretsmanager", region_name="eu-west-1").put_secret_value(
        SecretId="waybill/webhooks/inbound", SecretString=json.dumps({"bank": [SECRET, OLD_SECRET]})
    )
    secrets.forget()
    yield
    secrets.forget()


def signed(body: str, secret: str = SECRET, *, msg_id: str = "msg_1", at: datetime | None = None) -> dict[str, str]:
    at = at or datetime.now(UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body),
        "Content-Type": "application/json",
    }


def settled_event(payment_id: str, amount: int = ORDERED_CENTS) -> str:
    return json.dumps(
        {
            "type": "payment.settled",
            "data": {"payment_id": payment_id, "amount_cents": amount, "currency": "EUR", "reference": "ref-1"},
        }
    )


def post(api, body: str, hdrs: dict[str, str]):
    r = raw(api, "POST", HOOK, None, body.encode(), hdrs)
    return r.status_code, json.loads(r.body)


def pushed(api, sfn_calls, *, settlement_open: bool = True) -> tuple[str, str]:
    """A PO whose approved payment the bank has: its settlement stage open (or not yet)."""
    campaign = live_campaign(api)
    po = make_po(campaign["id"], stage=Stage.PAYMENT_PROPOSAL, accepted=True, invoiced=ORDERED_CENTS)
    pid = api.post(f"/supplier/purchase-orders/{po}/payment-proposals", ACME, {"amount_cents": ORDERED_CENTS})[1]["id"]
    open_stage(po, Stage.PAYMENT_APPROVAL)
    assert api.post(f"/staff/payment-proposals/{pid}/approve", ACCOUNTING, {})[0] == 200
    item = repo.get(keys.proposal(pid), PaymentProposalItem)  # type: ignore[arg-type]
    assert item is not None
    item.status, item.GSI3PK = "pushed", keys.proposals_pk("pushed")
    repo.commit([repo.Write(item)], what="test")
    if settlement_open:
        open_stage(po, Stage.SETTLEMENT, token="tok-settle")
    sfn_calls.clear()
    return po, pid


def proposal_status(pid: str) -> str:
    item = repo.get(keys.proposal(pid), PaymentProposalItem)  # type: ignore[arg-type]
    assert item is not None
    return item.status


def inbox(msg_id: str) -> InboxItem | None:
    return repo.get(keys.inbox("bank", msg_id), InboxItem)


def test_a_signed_settlement_is_stored_and_settles_the_payment_once(api, sfn_calls):
    po, pid = pushed(api, sfn_calls)
    body = settled_event(pid)
    status, ack = post(api, body, signed(body))
    assert status == 202, ack
    assert ack == {"status": "accepted", "webhook_id": "msg_1"}
    stored = inbox("msg_1")
    assert stored is not None and stored.body == body and stored.expires_at
    assert proposal_status(pid) == "pushed"  # acknowledged once stored; applied from the queue
    assert process_webhooks() == ["completed"]
    assert proposal_status(pid) == "settled"
    assert int(po_item(po).paid_cents) == ORDERED_CENTS and po_item(po).stage is None
    assert sfn_calls == [("tok-settle", {"decision": "done", "stage": "settlement"})]
    # The same delivery again (the bank did not see our answer): acknowledged, no second effect.
    status, ack = post(api, body, signed(body))
    assert status == 200 and ack["status"] == "duplicate"
    assert process_webhooks() == []
    assert len(sfn_calls) == 1 and int(po_item(po).paid_cents) == ORDERED_CENTS


def test_a_second_event_for_a_settled_payment_has_no_second_effect(api, sfn_calls):
    po, pid = pushed(api, sfn_calls)
    body = settled_event(pid)
    assert post(api, body, signed(body, msg_id="msg_a"))[0] == 202
    assert post(api, body, signed(body, msg_id="msg_b"))[0] == 202
    assert process_webhooks() == ["completed", "already_settled"]
    assert len(sfn_calls) == 1 and int(po_item(po).paid_cents) == ORDERED_CENTS


def test_a_secret_being_rotated_out_still_verifies(api, sfn_calls):
    _, pid = pushed(api, sfn_calls)
    body = settled_event(pid)
    assert post(api, body, signed(body, OLD_SECRET))[0] == 202
    process_webhooks()
    assert proposal_status(pid) == "settled"


@pytest.mark.parametrize("case", ["wrong_secret", "tampered_body", "old_timestamp", "future_timestamp", "bad_signature_format"])
def test_an_unverifiable_webhook_is_a_401_and_stores_nothing(api, sfn_calls, case):
    _, pid = pushed(api, sfn_calls)
    body = settled_event(pid)
    hdrs = signed(body)
    if case == "wrong_secret":
        hdrs = signed(body, STRANGER)
    elif case == "tampered_body":
        body = settled_event(pid, amount=1)
    elif case == "old_timestamp":
        hdrs = signed(body, at=datetime.now(UTC) - timedelta(minutes=6))
    elif case == "future_timestamp":
        hdrs = signed(body, at=datetime.now(UTC) + timedelta(minutes=6))
    else:
        hdrs["webhook-signature"] = "v1,not-base64!!"
    status, error = post(api, body, hdrs)
    assert_error(status, error, 401)
    assert inbox("msg_1") is None and proposal_status(pid) == "pushed" and sfn_calls == []


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_webhook_without_signature_headers_is_a_400(api, sfn_calls, missing):
    body = settled_event("po_x.pp_y")
    hdrs = {k: v for k, v in signed(body).items() if k != missing}
    assert_error(*post(api, body, hdrs), 400, "missing_signature_headers")
    assert inbox("msg_1") is None


def test_a_settlement_that_overtakes_the_workflow_completes_the_stage_when_it_opens(api, sfn_calls):
    po, pid = pushed(api, sfn_calls, settlement_open=False)
    body = settled_event(pid)
    assert post(api, body, signed(body))[0] == 202
    process_webhooks()
    assert proposal_status(pid) == "settled" and sfn_calls == []
    open_stage(po, Stage.SETTLEMENT, token="tok-late")
    assert payments.on_settlement_stage(po) == "completed"
    assert payments.on_settlement_stage(po) == "already_settled"  # a redelivered stage event
    assert sfn_calls == [("tok-late", {"decision": "done", "stage": "settlement"})]
    assert int(po_item(po).paid_cents) == ORDERED_CENTS


def test_an_event_for_an_unknown_payment_is_stored_and_acknowledged(api, sfn_calls):
    body = settled_event("po_nothing.pp_nothing")
    status, ack = post(api, body, signed(body))
    assert status == 202 and ack["status"] == "accepted"
    [outcome] = process_webhooks()
    assert outcome.startswith("failed: not_found")
    stored = inbox("msg_1")
    assert stored is not None and stored.processed_at is not None and stored.outcome == outcome and sfn_calls == []
    problem = exceptions.get(exceptions.exception_id("inbound_webhook_failed", "payment", "po_nothing.pp_nothing"))
    assert problem is not None and problem.status == "open" and "po_nothing" in problem.details["error"]
