"""The money services on the in-memory store (moved from tests/adapters/test_order_money.py): what
accounting records and corrects by hand, refunds paid back by transfer, a staff refund racing another
write to the order. Everything that calls the payment gateway, Step Functions or SES stays on moto."""

from __future__ import annotations

import pytest

from chalicelib.adapters.memory import MemoryStore
from chalicelib.domain.errors import Conflict, Forbidden, RuleViolation
from chalicelib.domain.orders import Order, PaymentMode
from chalicelib.domain.payments import PaymentKind
from chalicelib.domain.permissions import Principal, Role
from chalicelib.services import metrics, order_payments
from chalicelib.services.clock import now
from chalicelib.services.ports import Save
from tests.adapters import shop
from tests.adapters.shop import ALICE, CARE

ACCOUNTING = Principal("acc-1", frozenset({Role.ACCOUNTING}), email="accounts@waybill.example")
OFFLINE, PREPAID = PaymentMode.OFFLINE, PaymentMode.PREPAID
ORDER_CENTS = 2 * 1200 + 900  # MUG-1 x2 (acme) + CAP-1 (bolt)


@pytest.fixture
def campaign_id(store: MemoryStore) -> str:
    shop.suppliers()
    return shop.live_campaign()


def place(campaign_id: str, mode: PaymentMode) -> str:
    return shop.place(ALICE, campaign_id, ("MUG-1", 2), ("CAP-1", 1), payment_mode=mode).order.id


def payments_of(store: MemoryStore, order_id: str) -> list[tuple[str, int, str]]:
    return sorted((p.value.payment_kind, p.value.amount_cents, p.value.status) for p in store.payments_of(order_id))


def test_an_adjustment_needs_a_reason_and_is_audited_with_its_actor(campaign_id):
    order_id = place(campaign_id, PREPAID)
    with pytest.raises(RuleViolation) as err:
        order_payments.record_payment(
            ACCOUNTING, order_id, kind=PaymentKind.ADJUSTMENT, amount_cents=-200, reason=None, reference=None
        )
    assert err.value.code == "invalid_adjustment"
    with pytest.raises(RuleViolation):  # a prepaid order receives no offline money
        order_payments.record_payment(
            ACCOUNTING, order_id, kind=PaymentKind.OFFLINE_RECEIVED, amount_cents=100, reason=None, reference=None
        )
    with pytest.raises(Forbidden):
        order_payments.record_payment(
            CARE, order_id, kind=PaymentKind.ADJUSTMENT, amount_cents=-200, reason="fee", reference=None
        )
    done = order_payments.record_payment(
        ACCOUNTING, order_id, kind=PaymentKind.ADJUSTMENT, amount_cents=-200, reason="bank fee charged back", reference=None
    )
    assert done.payment.actor == "acc-1" and done.payment.reason == "bank fee charged back"
    assert done.record.events[-1].type == "order.payment_recorded"
    assert done.record.events[-1].internal_note == "bank fee charged back"
    assert done.record.events[-1].customer_note is None  # a correction is internal
    with pytest.raises(Conflict):  # acted on an old reading
        order_payments.record_payment(
            ACCOUNTING, order_id, kind=PaymentKind.ADJUSTMENT, amount_cents=5, reason="again", reference=None, expected_version=1
        )


def test_money_received_offline_is_paid_back_by_transfer_with_its_reference(store, campaign_id):
    order_id = place(campaign_id, OFFLINE)
    order_payments.record_payment(
        ACCOUNTING, order_id, kind=PaymentKind.OFFLINE_RECEIVED, amount_cents=ORDER_CENTS, reason=None, reference="TRF-1"
    )
    with pytest.raises(RuleViolation) as err:
        order_payments.refund(ACCOUNTING, order_id, reason="goodwill", amount_cents=500)
    assert err.value.code == "reference_required"
    done = order_payments.refund(ACCOUNTING, order_id, reason="goodwill", amount_cents=500, reference="TRF-BACK-1")
    assert done.payment.status == "succeeded" and done.payment.gateway_reference == "TRF-BACK-1"
    assert metrics.campaign(campaign_id)[0].revenue_cents == ORDER_CENTS - 500
    assert payments_of(store, order_id) == [
        ("offline_received", ORDER_CENTS, "succeeded"),
        ("refund", 500, "succeeded"),
    ]


def test_a_staff_refund_racing_another_write_to_the_order_is_tried_again_on_a_fresh_read(store, campaign_id, monkeypatch):
    order_id = place(campaign_id, PREPAID)
    real_load, raced = order_payments._load, []

    def load_then_race(oid: str):
        record = real_load(oid)
        if not raced:  # a consumer writes the order between our read and our write (a parcel delivered, say)
            raced.append(oid)
            found = store.load(Order, oid)
            assert found is not None
            store.commit([Save(found.value, found.version)], what="a consumer's write", at=now())
        return record

    monkeypatch.setattr(order_payments, "_load", load_then_race)
    done = order_payments.refund(CARE, order_id, reason="late", amount_cents=100)

    assert raced == [order_id] and done.payment.status == "pending"
    assert [p for p in payments_of(store, order_id) if p[0] == "refund"] == [("refund", 100, "pending")]  # once
