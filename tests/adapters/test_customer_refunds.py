"""Money for lines a supplier refused moves as the payment mode says: a prepaid order's refund is
sent through the gateway by the payments consumer, once, whatever is redelivered; a decline or a
gateway that never answers ends in `refund_failed` for accounting; authorise-then-capture,
offline and pay-on-delivery orders are refunded nothing (nothing was taken) and are told so."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.adapters import gateway
from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb import repository as repo
from chalicelib.adapters.dynamodb.models import OrderItem, PaymentTxnItem
from chalicelib.domain.orders import PaymentMode
from chalicelib.domain.payments import PaymentKind
from chalicelib.domain.permissions import Principal, Role
from chalicelib.domain.purchase_orders import RejectReason
from chalicelib.handlers import payments, purchase_orders
from chalicelib.services import campaign_close, catalogue, exceptions, metrics, order_payments, orders
from chalicelib.services.clock import now
from chalicelib.topology import PAYMENTS
from tests.adapters import shop
from tests.adapters.conftest import point_gateway_at
from tests.adapters.events import deliver_mail, published, seen_so_far
from tests.adapters.shop import ALICE
from tests.adapters.test_refunds import acknowledged

OOS = RejectReason.OUT_OF_STOCK


def closed_order(campaign_id: str, mode: PaymentMode, paid_offline: bool = False) -> str:
    """Alice orders 3 mugs (acme) and 1 cap (bolt); the campaign closes (an offline order is paid first,
    or the close cancels it)."""
    order_id = shop.place(ALICE, campaign_id, ("MUG-1", 3), ("CAP-1", 1), payment_mode=mode).order.id
    if paid_offline and mode is PaymentMode.OFFLINE:
        accounting = Principal("acc-1", frozenset({Role.ACCOUNTING}))
        order_payments.record_payment(
            accounting, order_id, kind=PaymentKind.OFFLINE_RECEIVED, amount_cents=3 * 1200 + 900, reason=None, reference="TRF-1"
        )
    catalogue.end_due_campaigns(now() + timedelta(days=30))
    campaign_close.close_campaign(campaign_id)
    return order_id


def refund_records(order_id: str) -> list[PaymentTxnItem]:
    items = PaymentTxnItem.query(keys.order_pk(order_id), PaymentTxnItem.SK.startswith("PAYMENT#"))
    return [i for i in items if isinstance(i, PaymentTxnItem) and i.payment_kind == "refund"]


def refund_due_events(aws, seen) -> list[dict]:
    return [e for e in published(aws, PAYMENTS.name, seen) if e.type == "order.refund_due"]


def test_a_prepaid_orders_refused_lines_are_refunded_through_the_gateway_once(aws, campaign_id, gateway_up):
    order_id = closed_order(campaign_id, PaymentMode.PREPAID)
    seen = seen_so_far(aws)
    purchase_orders.handle(acknowledged(campaign_id, "acme", ("MUG-1", 1, OOS)))

    [due] = refund_due_events(aws, seen)
    assert due.data.amount_cents == 2 * 1200
    assert payments.handle(due) == "succeeded"
    assert payments.handle(due) == "skipped"  # redelivered: done already, the gateway is not called again

    [txn] = gateway_up.transactions
    assert (txn["kind"], txn["amount_cents"], txn["order_id"]) == ("refund", 2 * 1200, order_id)
    [record] = refund_records(order_id)
    assert (record.status, record.gateway_reference) == ("succeeded", txn["transaction_id"])
    # the customer sees it in the order's payment history and timeline, and is mailed once
    seen_by_customer = orders.get_order_for_customer(ALICE, order_id)
    notes = [v["note"] for v in (e.customer_view() for e in seen_by_customer.events) if v and v["note"]]
    assert "We have refunded 24.00 EUR to your original payment method." in notes
    mails = [e for e in deliver_mail(aws, seen) if e.type == "order.refund_succeeded"]
    assert len(mails) == 1
    # the campaign counts money that moved: the refund is counted once it succeeded
    assert metrics.campaign(campaign_id)[0].refunded_cents == 2 * 1200


def test_a_refund_is_not_counted_in_the_campaign_until_it_succeeded(aws, campaign_id, monkeypatch):
    closed_order(campaign_id, PaymentMode.PREPAID)
    point_gateway_at(monkeypatch, "http://127.0.0.1:9")  # nothing listens there
    purchase_orders.handle(acknowledged(campaign_id, "acme", ("MUG-1", 0, OOS)))
    assert metrics.campaign(campaign_id)[0].refunded_cents == 0


def test_a_declined_refund_is_failed_and_raised_to_accounting(aws, campaign_id, gateway_up, monkeypatch):
    order_id = closed_order(campaign_id, PaymentMode.PREPAID)
    seen = seen_so_far(aws)
    purchase_orders.handle(acknowledged(campaign_id, "acme", ("MUG-1", 0, OOS)))
    [due] = refund_due_events(aws, seen)
    record = refund_records(order_id)[0]
    record.reason = "decline this one"  # the sandbox declines references containing "decline"
    repo.commit([repo.Write(record)], what="test")

    assert payments.handle(due) == "failed"

    assert refund_records(order_id)[0].status == "failed" and gateway_up.transactions == []
    raised = exceptions.get(exceptions.exception_id("refund_failed", "order", order_id))
    assert raised.owner == "accounting" and raised.details["amount_cents"] == 3 * 1200


def test_a_gateway_that_never_answers_is_retried_by_the_queue_then_raised(aws, campaign_id, monkeypatch):
    order_id = closed_order(campaign_id, PaymentMode.PREPAID)
    seen = seen_so_far(aws)
    purchase_orders.handle(acknowledged(campaign_id, "acme", ("MUG-1", 0, OOS)))
    [due] = refund_due_events(aws, seen)
    point_gateway_at(monkeypatch, "http://127.0.0.1:9", refund_max_attempts=3)

    for attempt in (1, 2):
        with pytest.raises(gateway.GatewayUnavailable):  # the message goes back to the queue
            payments.handle(due)
        assert refund_records(order_id)[0].status == "pending"
        assert int(refund_records(order_id)[0].attempts) == attempt
    assert payments.handle(due) == "failed"
    assert exceptions.get(exceptions.exception_id("refund_failed", "order", order_id)) is not None


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        (PaymentMode.AUTHORISE_THEN_CAPTURE, "You will not be charged 24.00 EUR for these items"),
        # paid by transfer before the close: the money goes back the same way, by accounting
        (PaymentMode.OFFLINE, "We will pay 24.00 EUR back to you by bank transfer."),
        (PaymentMode.PAY_ON_DELIVERY, "You will pay 24.00 EUR less: 21.00 EUR in all, on delivery."),
    ],
)
def test_orders_not_paid_in_advance_get_no_refund_and_are_told_what_they_owe(aws, campaign_id, mode, words):
    order_id = closed_order(campaign_id, mode, paid_offline=True)
    seen = seen_so_far(aws)
    purchase_orders.handle(acknowledged(campaign_id, "acme", ("MUG-1", 1, OOS)))

    assert refund_due_events(aws, seen) == []  # nothing goes through the gateway
    transfers = [(int(r.amount_cents), r.status) for r in refund_records(order_id)]
    # money received offline goes back by a transfer accounting makes: a refund awaiting it, nothing else
    assert transfers == ([(2 * 1200, "awaiting_transfer")] if mode is PaymentMode.OFFLINE else [])
    order = repo.get(keys.order(order_id), OrderItem)
    assert int(order.total_cents) == 3 * 1200 + 900  # what was ordered
    view = orders.get_order_for_customer(ALICE, order_id)
    notes = [v["note"] for v in (e.customer_view() for e in view.events) if v and v["note"]]
    assert any(words in n for n in notes), notes
    assert not any("refund" in n.lower() for n in notes)
    manual = exceptions.get(exceptions.exception_id("manual_refund_due", "order", order_id))
    if mode is PaymentMode.OFFLINE:  # only accounting can make a transfer: it comes to them
        assert manual is not None and manual.owner == "accounting" and manual.details["amount_cents"] == 2 * 1200
    else:
        assert manual is None
