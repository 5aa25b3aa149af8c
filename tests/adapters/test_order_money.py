"""Payment modes are real: an offline order waits for accounting to record its payment (reminded,
raised as `payment_overdue`, cancelled if still unpaid at close), pay on delivery records the cash
the carrier collected, accounting corrects money by hand with a reason, staff refund outside
complaints (an admin above the threshold), and a declined capture is tried again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb import repository as repo
from chalicelib.adapters.dynamodb.models import OrderItem, PaymentTxnItem
from chalicelib.domain.campaigns import Product
from chalicelib.domain.errors import Forbidden, InvalidTransition, NotFound, RuleViolation
from chalicelib.domain.orders import OrderAction, PaymentMode, RequestedLine
from chalicelib.domain.payments import PaymentKind
from chalicelib.domain.permissions import Principal, Role
from chalicelib.handlers import payments
from chalicelib.local import sandbox_gateway
from chalicelib.services import (
    campaign_close,
    capture,
    catalogue,
    escalations,
    exceptions,
    metrics,
    order_payments,
    orders,
)
from chalicelib.services.clock import now
from chalicelib.topology import PAYMENTS
from tests.adapters import shop
from tests.adapters.events import deliver_mail, published, seen_so_far
from tests.adapters.shop import ADMIN, ALICE, BUYER, CARE

ACCOUNTING = Principal("acc-1", frozenset({Role.ACCOUNTING}), email="accounts@waybill.example")
OFFLINE, POD, PREPAID = PaymentMode.OFFLINE, PaymentMode.PAY_ON_DELIVERY, PaymentMode.PREPAID
ORDER_CENTS = 2 * 1200 + 900  # MUG-1 x2 (acme) + CAP-1 (bolt)


def place(campaign_id: str, mode: PaymentMode) -> str:
    return shop.place(ALICE, campaign_id, ("MUG-1", 2), ("CAP-1", 1), payment_mode=mode).order.id


def status(order_id: str) -> str:
    return repo.get(keys.order(order_id), OrderItem).status


def payments_of(order_id: str) -> list[tuple[str, int, str]]:
    items = repo.query_all(keys.order_pk(order_id))
    return sorted((i.payment_kind, int(i.amount_cents), i.status) for i in items if isinstance(i, PaymentTxnItem))


def close(campaign_id: str) -> None:
    catalogue.end_due_campaigns(now() + timedelta(days=30))
    campaign_close.close_campaign(campaign_id)


def test_an_offline_order_waits_for_its_payment_then_goes_to_the_suppliers(aws, campaign_id):
    order_id = place(campaign_id, OFFLINE)
    assert status(order_id) == "awaiting_payment" and payments_of(order_id) == []

    half = order_payments.record_payment(
        ACCOUNTING, order_id, kind=PaymentKind.OFFLINE_RECEIVED, amount_cents=1000, reason=None, reference="TRF-1"
    )
    assert half.record.order.status.value == "awaiting_payment"  # 10.00 of 33.00: still waiting
    rest = order_payments.record_payment(
        ACCOUNTING, order_id, kind=PaymentKind.OFFLINE_RECEIVED, amount_cents=ORDER_CENTS - 1000, reason=None, reference="TRF-2"
    )
    assert rest.record.order.status.value == "placed" and status(order_id) == "placed"
    assert payments_of(order_id) == [
        ("offline_received", 1000, "succeeded"),
        ("offline_received", ORDER_CENTS - 1000, "succeeded"),
    ]
    seen = orders.get_order_for_customer(ALICE, order_id)
    notes = [v["note"] for v in (e.customer_view() for e in seen.events) if v and v["note"]]
    assert "We have received your payment of 23.00 EUR." in notes

    close(campaign_id)  # paid: it goes to the suppliers like any other
    assert status(order_id) == "ordered"
    assert metrics.campaign(campaign_id)[0].received_cents == ORDER_CENTS


def test_an_offline_order_still_unpaid_at_close_is_cancelled_and_told_why(aws, campaign_id):
    order_id = place(campaign_id, OFFLINE)
    close(campaign_id)
    assert status(order_id) == "cancelled"
    seen = orders.get_order_for_customer(ALICE, order_id)
    assert seen.events[-1].customer_note == campaign_close.UNPAID_AT_CLOSE_CUSTOMER_NOTE
    assert seen.events[-1].internal_note == campaign_close.UNPAID_AT_CLOSE_NOTE
    assert payments_of(order_id) == []  # nothing was paid: nothing to refund


def test_an_unpaid_offline_order_is_raised_to_accounting_and_the_customer_reminded_once(aws, campaign_id):
    order_id = place(campaign_id, OFFLINE)
    seen = seen_so_far(aws)
    assert escalations.sweep(now() + timedelta(days=1)).actions.get("deadline_passed", 0) == 0  # not yet due

    result = escalations.sweep(now() + timedelta(days=4))

    assert result.actions["deadline_passed"] == 1
    raised = exceptions.get(exceptions.exception_id("payment_overdue", "order", order_id))
    assert raised is not None and raised.owner == "accounting"
    reminders = [e for e in deliver_mail(aws, seen) if e.type == "exception.raised"]
    to_alice = [
        m
        for m in ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages
        if m.destinations["ToAddresses"] == ["alice@example.com"]
    ]
    assert len(reminders) == 1 and len(to_alice) == 1
    assert "33.00 EUR" in to_alice[0].body and f"/track/#/o/{order_id}." in to_alice[0].body  # the order page
    assert escalations.sweep(now() + timedelta(days=5)).actions.get("deadline_passed", 0) == 0  # once

    order_payments.record_payment(
        ACCOUNTING, order_id, kind=PaymentKind.OFFLINE_RECEIVED, amount_cents=ORDER_CENTS, reason=None, reference="TRF-9"
    )
    assert exceptions.get(raised.id).status.value == "resolved"


def test_a_goodwill_refund_goes_through_the_gateway_once_and_never_above_what_was_paid(aws, campaign_id, gateway_up):
    order_id = place(campaign_id, PREPAID)
    seen = seen_so_far(aws)
    with pytest.raises(RuleViolation) as err:
        order_payments.refund(CARE, order_id, reason="too much", amount_cents=ORDER_CENTS + 1)
    assert err.value.code == "refund_exceeds_paid"

    done = order_payments.refund(CARE, order_id, reason="late delivery", lines=[RequestedLine("CAP-1", 1)])
    assert (done.payment.status, int(done.payment.amount_cents)) == ("pending", 900)
    [due] = [e for e in published(aws, PAYMENTS.name, seen) if e.type == "order.refund_due"]
    assert payments.handle(due) == "succeeded" and payments.handle(due) == "skipped"
    assert [t["amount_cents"] for t in gateway_up.transactions] == [900]
    with pytest.raises(RuleViolation):  # 33.00 paid, 9.00 refunded: 24.01 is too much
        order_payments.refund(CARE, order_id, reason="again", amount_cents=ORDER_CENTS - 900 + 1)


def test_a_refund_above_the_threshold_waits_for_an_admin(aws, campaign_id, gateway_up, monkeypatch):
    import dataclasses

    from chalicelib.config import settings

    patched = dataclasses.replace(settings(), complaint_approval_threshold_cents=1000)
    monkeypatch.setattr(order_payments, "settings", lambda: patched)
    order_id = place(campaign_id, PREPAID)
    seen = seen_so_far(aws)

    asked = order_payments.refund(CARE, order_id, reason="broken on arrival", amount_cents=2000)
    assert asked.payment.status == "awaiting_approval"
    assert [e for e in published(aws, PAYMENTS.name, seen) if e.type == "order.refund_due"] == []
    with pytest.raises(Forbidden):
        order_payments.decide_refund(CARE, order_id, asked.payment.id, approve=True, note=None)
    with pytest.raises(RuleViolation):
        order_payments.decide_refund(ADMIN, order_id, asked.payment.id, approve=False, note=None)

    approved = order_payments.decide_refund(ADMIN, order_id, asked.payment.id, approve=True, note="ok")
    assert approved.payment.status == "pending"
    [due] = [e for e in published(aws, PAYMENTS.name, seen) if e.type == "order.refund_due"]
    assert payments.handle(due) == "succeeded"
    with pytest.raises(InvalidTransition):
        order_payments.decide_refund(ADMIN, order_id, asked.payment.id, approve=True, note="twice")


def declined_capture() -> tuple[str, capture.PaymentRecord]:
    """An authorise-then-capture order of 2 x BAD-1 (14.00) from a supplier whose captures the sandbox declines."""
    shop.suppliers()
    catalogue.create_supplier(BUYER, name="Decline Co", contact_emails=["orders@decline.example"], supplier_id="decline-co")
    campaign_id = shop.live_campaign([*shop.PRODUCTS, Product("BAD-1", "Bad", "decline-co", 700, 100)])
    order_id = shop.place(ALICE, campaign_id, ("BAD-1", 2), payment_mode=PaymentMode.AUTHORISE_THEN_CAPTURE).order.id
    declined = capture.capture_delivery(order_id, "decline-co")
    assert declined is not None
    return order_id, declined


def test_accounting_retries_a_declined_capture_with_a_new_key(aws, gateway_up, monkeypatch):
    order_id, declined = declined_capture()
    assert declined is not None and declined.status == "failed"
    with pytest.raises(NotFound):  # only a capture is retried
        order_payments.retry_capture(ACCOUNTING, order_id, "nope")

    monkeypatch.setattr(sandbox_gateway, "DECLINE_MARKER", "\x00never")  # the customer's card works now
    retried = order_payments.retry_capture(ACCOUNTING, order_id, declined.id)

    assert retried.payment.status == "succeeded" and retried.payment.idempotency_key == f"{declined.id}-r1"
    assert [t["idempotency_key"] for t in gateway_up.transactions] == [f"{declined.id}-r1"]
    assert exceptions.get(exceptions.exception_id("payment_failed", "order", order_id)).status.value == "resolved"
    with pytest.raises(InvalidTransition):
        order_payments.retry_capture(ACCOUNTING, order_id, declined.id)


def test_a_declined_capture_is_retried_by_itself_a_bounded_number_of_times(aws, gateway_up, monkeypatch):
    order_id, declined = declined_capture()
    assert declined is not None and declined.status == "failed"

    assert escalations.sweep(now() + timedelta(minutes=30)).actions.get("deadline_acted", 0) == 0  # not yet
    first = escalations.sweep(now() + timedelta(hours=1, minutes=1))
    assert first.actions["deadline_acted"] == 1  # tried again: the card still declines
    assert escalations.sweep(now() + timedelta(hours=2)).actions.get("deadline_acted", 0) == 0  # waits longer now
    second = escalations.sweep(now() + timedelta(hours=5, minutes=2))
    assert second.actions["deadline_acted"] == 1
    assert escalations.sweep(now() + timedelta(days=30)).actions.get("deadline_acted", 0) == 0  # bounded: 2 in all
    item = repo.get(keys.order_payment(order_id, declined.id), PaymentTxnItem)
    assert (item.status, int(item.attempts)) == ("failed", 2) and gateway_up.transactions == []
    assert exceptions.get(exceptions.exception_id("payment_failed", "order", order_id)).status.value == "open"


def test_an_automatic_capture_retry_that_goes_through_resolves_the_failure(aws, gateway_up, monkeypatch):
    order_id, declined = declined_capture()
    monkeypatch.setattr(sandbox_gateway, "DECLINE_MARKER", "\x00never")  # the card was topped up

    assert escalations.sweep(now() + timedelta(hours=2)).actions["deadline_acted"] == 1

    item = repo.get(keys.order_payment(order_id, declined.id), PaymentTxnItem)
    assert item.status == "succeeded" and [t["amount_cents"] for t in gateway_up.transactions] == [1400]
    assert exceptions.get(exceptions.exception_id("payment_failed", "order", order_id)).status.value == "resolved"


def test_a_paid_offline_order_cancelled_before_close_is_paid_back_by_accounting(aws, campaign_id):
    order_id = place(campaign_id, OFFLINE)
    order_payments.record_payment(
        ACCOUNTING, order_id, kind=PaymentKind.OFFLINE_RECEIVED, amount_cents=ORDER_CENTS, reason=None, reference="TRF-1"
    )

    cancelled = orders.change_order(ALICE, order_id, OrderAction.CANCEL, customer_note="changed my mind")

    assert cancelled.events[-1].customer_note == (
        "changed my mind We will pay the 33.00 EUR you paid back to you by bank transfer."
    )
    flagged = exceptions.get(exceptions.exception_id("manual_refund_due", "order", order_id))
    assert flagged is not None and flagged.details["amount_cents"] == ORDER_CENTS
    [awaiting] = [p for p in cancelled.payments if p.payment_kind == "refund"]
    assert (awaiting.status, int(awaiting.amount_cents)) == ("awaiting_transfer", ORDER_CENTS)
    with pytest.raises(Forbidden):
        order_payments.record_transfer(CARE, order_id, awaiting.id, reference="TRF-BACK")
    done = order_payments.record_transfer(ACCOUNTING, order_id, awaiting.id, reference="TRF-BACK")
    assert (done.payment.status, done.payment.gateway_reference) == ("succeeded", "TRF-BACK")
    assert exceptions.get(flagged.id).status.value == "resolved"
    assert metrics.campaign(campaign_id)[0].refunded_cents == ORDER_CENTS
    with pytest.raises(InvalidTransition):  # made once
        order_payments.record_transfer(ACCOUNTING, order_id, awaiting.id, reference="TRF-BACK")
