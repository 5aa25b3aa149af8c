"""Complaint e-mail (issue 9: "the customer is told the outcome"): the customer hears of each step
of their complaint, the supplier of care's question, the admin mailbox of a plan waiting for its
approval; each (event, address) once.

The complaint runs through the HTTP API and the complaints consumer (the helpers of
tests/api/test_complaints.py); its events take the real write path (table stream -> publisher ->
bus -> notifications queue) to the notifications consumer; SES is moto's."""

from __future__ import annotations

from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from chalicelib.config import settings
from chalicelib.domain.shipments import TrackingStatus
from chalicelib.handlers import notifications
from chalicelib.services import notify
from tests.adapters.events import deliver_mail, seen_so_far, typed
from tests.api import po_support, test_complaints
from tests.api.po_support import ACME
from tests.api.test_complaints import accept, carried_out, delivered_order, ok, open_complaint, propose_and_offer
from tests.api.test_shipments import scan
from tests.aws import ADMIN, CARE

sfn_calls = po_support.sfn_calls  # fixture (aws: the adapters' full account, with the stream and queues)
gateway = test_complaints.gateway  # fixture: the sandbox payment gateway

CUSTOMER = "alice@example.com"
SUPPLIER = "orders@acme.example"  # acme's contact address (tests.api.test_shipments.three_supplier_campaign)
QUESTION = "Was this mug packed in bubble wrap?"


def sent() -> list:
    return list(ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages)


def to(address: str, contains: str = "") -> list:
    return [m for m in sent() if m.destinations["ToAddresses"] == [address] and contains in m.subject]


def one(address: str, contains: str) -> Any:
    found = to(address, contains)
    assert len(found) == 1, [m.subject for m in to(address)]
    return found[0]


def order_page(order_id: str) -> str:
    """The customer's order page (its link's token minted from the order's first link generation)."""
    from chalicelib.services import track

    return track.order_page_url(order_id, 0)


def test_the_customer_hears_each_step_and_the_supplier_is_asked_once(aws, api, sfn_calls, gateway):
    order = delivered_order(api)
    seen = seen_so_far(aws)  # the order's own mails are not this test's
    before = {m.subject for m in to(CUSTOMER)}

    cid = ok(open_complaint(api, order), 201)["id"]
    deliver_mail(aws, seen)
    opened = one(CUSTOMER, f"We have received your complaint (order {order['id']})")
    assert "We have received your complaint and will get back to you." in opened.body
    assert order_page(order["id"]) in opened.body

    # Care asks the supplier: acme's contact gets the question, the order and how to answer.
    view = ok(api.get(f"/staff/complaints/{cid}", CARE))
    ok(api.post(f"/staff/complaints/{cid}/ask-supplier", CARE, {"question": QUESTION, "expected_version": view["version"]}))
    deliver_mail(aws, seen)
    asked = one(SUPPLIER, f"Complaint {cid}: customer care has a question")
    assert QUESTION in asked.body and order["id"] in asked.body and order["po_id"] in asked.body
    assert f"/supplier/complaints/{cid}/answer" in asked.body
    assert f"{settings().site_base}/supplier/#/complaints/{cid}" in asked.body  # the front office's screen
    assert CUSTOMER not in asked.body  # the supplier gets no customer details

    # The answer and the proposal mail nobody (they do not even reach the notifications queue);
    # the offer reaches the customer.
    ok(api.post(f"/supplier/complaints/{cid}/answer", ACME, {"answer": "Yes, double wrapped."}))
    propose_and_offer(api, cid, [{"sku": "MUG-1", "resolution": "refund", "quantity": 1, "refund_cents": 1200}])
    events = deliver_mail(aws, seen)
    assert [e.type for e in events if e.subject_type == "complaint"] == ["complaint.plan_offered"]
    offer = one(CUSTOMER, "Our proposal for your complaint")
    assert "We propose: 1 x MUG-1: a refund of 12.00 EUR. Please accept or dispute this plan." in offer.body
    assert order_page(order["id"]) in offer.body
    assert len(to(SUPPLIER)) == 1

    accept(api, order["id"], cid)
    assert carried_out(cid) == "refunds:1"
    deliver_mail(aws, seen)
    started = one(CUSTOMER, "Your complaint is being handled")
    assert "we are refunding 12.00 EUR" in started.body
    refunded = one(CUSTOMER, "Your refund has been issued")
    assert "Refunded: <strong>12.00 EUR</strong>" in refunded.body  # (moto keeps the HTML part)
    resolved = one(CUSTOMER, "Your complaint is resolved")
    assert "Your complaint is resolved. Thank you for your patience." in resolved.body

    complaint_mail = [m.subject.split(" (")[0] for m in to(CUSTOMER) if m.subject not in before]
    assert complaint_mail == [
        "We have received your complaint",
        "Our proposal for your complaint",
        "Your complaint is being handled",
        "Your refund has been issued",
        "Your complaint is resolved",
    ]
    assert to(settings().mailbox_admin) == []  # under the threshold: no admin is asked
    assert len(to(SUPPLIER)) == 1  # a refund needs nothing from the supplier


def test_a_redelivered_complaint_event_is_mailed_once(aws, api, sfn_calls, gateway):
    order = delivered_order(api)
    seen = seen_so_far(aws)
    ok(open_complaint(api, order), 201)
    [opened] = [e for e in deliver_mail(aws, seen) if e.type == "complaint.opened"]
    assert len(to(CUSTOMER, "We have received your complaint")) == 1

    outcome = notify.handle(opened)  # SQS delivers it again
    assert (outcome.sent, outcome.duplicates) == (0, 1)
    assert notifications.handle(opened) == 0
    assert len(to(CUSTOMER, "We have received your complaint")) == 1


def test_a_plan_above_the_threshold_asks_the_admin_mailbox(aws, api, sfn_calls, gateway, monkeypatch):
    monkeypatch.setenv("WAYBILL_COMPLAINT_APPROVAL_THRESHOLD_CENTS", "2000")
    settings.cache_clear()
    order = delivered_order(api)
    cid = ok(open_complaint(api, order, quantity=2), 201)["id"]
    seen = seen_so_far(aws)
    admin = settings().mailbox_admin

    waiting = propose_and_offer(api, cid, [{"sku": "MUG-1", "resolution": "refund", "quantity": 2, "refund_cents": 2400}])
    assert waiting["status"] == "needs_approval"
    deliver_mail(aws, seen)
    mail = one(admin, f"Complaint {cid}: a plan waits for your approval")
    assert "above the approval threshold" in mail.body and order["id"] in mail.body and "acme" in mail.body
    # (the event carries no refund_cents yet: services/complaints.act sets it only once a plan is approved)
    assert f"{settings().site_base}/#/complaints/{cid}" in mail.body
    assert to(CUSTOMER, "Our proposal") == []  # not offered yet

    approved = ok(api.post(f"/staff/complaints/{cid}/approve", ADMIN, {"expected_version": waiting["version"]}))
    assert approved["status"] == "plan_approved"
    deliver_mail(aws, seen)
    assert "a refund of 24.00 EUR" in one(CUSTOMER, "Our proposal for your complaint").body
    assert len(to(admin)) == 1


def test_a_replacement_and_a_customer_note_reach_the_customer_an_internal_note_does_not(aws, api, sfn_calls, gateway):
    order = delivered_order(api)
    cid = ok(open_complaint(api, order, reason="wrong_item", wanted="replacement"), 201)["id"]
    propose_and_offer(api, cid, [{"sku": "MUG-1", "resolution": "replacement", "quantity": 1, "refund_cents": 0}])
    seen = seen_so_far(aws)
    accept(api, order["id"], cid)
    assert carried_out(cid) == "refunds:0"

    ok(api.post(f"/staff/complaints/{cid}/notes", CARE, {"internal_note": "Supplier says stock is low."}))
    ok(api.post(f"/staff/complaints/{cid}/notes", CARE, {"customer_note": "The supplier ships it this week."}))
    ok(api.post(f"/supplier/complaints/{cid}/replacement-shipment", ACME, {"carrier": "dhl", "tracking_number": "REPL0001"}))
    deliver_mail(aws, seen)

    asked = one(SUPPLIER, f"Complaint {cid}: please send a replacement")  # once, when the plan started
    assert "1 x MUG-1" in asked.body and f"/supplier/complaints/{cid}/replacement-shipment" in asked.body
    assert "alice" not in asked.body.lower()  # no customer details for the supplier
    noted = one(CUSTOMER, "News about your complaint")
    assert "The supplier ships it this week." in noted.body and "stock is low" not in noted.body
    shipped = one(CUSTOMER, "Your replacement is on its way")
    assert "Carrier: DHL" in shipped.body and "Tracking number: <strong>REPL0001</strong>" in shipped.body

    assert scan("REPL0001", TrackingStatus.DELIVERED, 50) == "replacement_delivered"
    deliver_mail(aws, seen)
    assert len(one(CUSTOMER, "Your complaint is resolved").body) > 0


@pytest.mark.parametrize("missing", [None, "", "not-an-address"])
def test_a_complaint_event_without_a_customer_address_mails_nobody(aws, missing):
    event = {
        "id": "evt_nomail",
        "type": "complaint.opened",
        "subject_type": "complaint",
        "subject_id": "cmp_1",
        "customer_note": "We have received your complaint and will get back to you.",
        "data": {
            "complaint_id": "cmp_1",
            "order_id": "ord_1",
            "supplier_id": "acme",
            "campaign_id": "cam_1",
            "po_id": "po_1",
            "customer_email": missing,
            "reason": "damaged",
            "status": "open",
        },
    }
    outcome = notify.handle(typed(event))
    assert (outcome.sent, outcome.failed) == (0, [])
    assert sent() == []


def test_the_admin_mail_gives_the_refund_when_the_event_carries_it(aws):
    event = {
        "id": "evt_approval",
        "type": "complaint.plan_needs_approval",
        "subject_type": "complaint",
        "subject_id": "cmp_1",
        "customer_note": None,
        "data": {
            "complaint_id": "cmp_1",
            "order_id": "ord_1",
            "supplier_id": "acme",
            "campaign_id": "cam_1",
            "po_id": "po_1",
            "customer_email": CUSTOMER,
            "reason": "damaged",
            "status": "needs_approval",
            "refund_cents": 2400,
            "currency": "EUR",
        },
    }
    assert notify.handle(typed(event)).sent == 1
    (mail,) = sent()
    assert mail.destinations["ToAddresses"] == [settings().mailbox_admin]
    assert "Refund: <strong>24.00 EUR</strong>" in mail.body and f"{settings().site_base}/#/complaints/cmp_1" in mail.body
