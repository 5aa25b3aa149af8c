"""Customer money over HTTP: a pay-on-delivery order records the cash the carrier collected as each
delivery arrives; accounting records an offline payment and the order goes on; staff refund
outside complaints; every request is validated and the customer's and staff views agree."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.purchase_orders import Stage
from chalicelib.domain.shipments import TrackingStatus
from tests.api import po_support
from tests.api.po_support import accept_deliveries, make_po
from tests.api.support import assert_error
from tests.api.test_shipments import customer_view, gateway, order_of, scan, ship, three_supplier_campaign
from tests.aws import ADMIN, CARE, headers

aws, sfn_calls = po_support.aws, po_support.sfn_calls  # fixtures
_ = gateway  # fixture
ACCOUNTING = headers("acc-1", "accounting")
ORDER_CENTS = 2 * 1200 + 900 + 1500  # MUG-1 x2 (acme), CAP-1 (bolt), TEE-1 (cobalt)


def staff_view(api, order_id: str) -> dict[str, Any]:
    status, order = api.get(f"/staff/orders/{order_id}", CARE)
    assert status == 200, order
    return order


def test_pay_on_delivery_records_the_cash_collected_as_each_delivery_arrives(api, sfn_calls, gateway):
    campaign = three_supplier_campaign(api)
    order = order_of(api, campaign["id"], payment_mode="pay_on_delivery")
    assert order["payments"] == [] and order["money"]["balance_cents"] == ORDER_CENTS
    po = make_po(campaign["id"], "acme", stage=Stage.SHIPMENT, accepted=True)
    accept_deliveries("acme", order["id"])
    ship(api, po, "acme", "COD00001", order["id"])
    assert customer_view(api, order["id"])["payments"] == []  # nothing collected until it arrives

    assert scan("COD00001", TrackingStatus.DELIVERED, 5).startswith("moved")
    scan("COD00001", TrackingStatus.DELIVERED, 6)  # the carrier says it again: collected once

    mine = customer_view(api, order["id"])
    assert [(p["kind"], p["amount_cents"], p["status"]) for p in mine["payments"]] == [("cash_collected", 2 * 1200, "succeeded")]
    assert mine["money"]["paid_cents"] == 2 * 1200
    assert staff_view(api, order["id"])["money"] == mine["money"]  # the two views agree
    assert gateway.transactions == []  # cash never touches the gateway


def test_accounting_records_an_offline_payment_and_the_order_goes_on(api, sfn_calls):
    campaign = three_supplier_campaign(api)
    order = order_of(api, campaign["id"], payment_mode="offline")
    assert order["status"] == "awaiting_payment"
    assert order["status_text"].startswith("Your order is waiting for your payment")

    path = f"/staff/orders/{order['id']}/payments"
    assert_error(*api.post(path, CARE, {"kind": "offline_received", "amount_cents": 100}), 403)
    error = assert_error(*api.post(path, ACCOUNTING, {"kind": "offline_received", "amount_cents": 0}), 422)
    assert error["code"] == "invalid_amount"
    error = assert_error(*api.post(path, ACCOUNTING, {"kind": "cash_collected", "amount_cents": 100}), 422)
    assert error["code"] == "payment_kind_not_for_mode"
    assert_error(*api.post(path, ACCOUNTING, {"kind": "gift", "amount_cents": 100}), 422)

    status, body = api.post(
        path,
        ACCOUNTING,
        {
            "kind": "offline_received",
            "amount_cents": ORDER_CENTS,
            "reference": "TRF-2026-001",
            "expected_version": order_version(api, order),
        },
    )
    assert status == 201, body
    assert body["status"] == "placed" and body["money"]["paid_cents"] == ORDER_CENTS
    assert body["money"]["balance_cents"] == 0
    [received] = body["payments"]
    assert (received["kind"], received["gateway_reference"]) == ("offline_received", "TRF-2026-001")
    assert customer_view(api, order["id"])["status"] == "placed"


def order_version(api, order: dict[str, Any]) -> int:
    return int(staff_view(api, order["id"])["version"])


def test_a_staff_refund_is_validated_capped_and_approved_above_the_threshold(api, sfn_calls, gateway, monkeypatch):
    monkeypatch.setenv("WAYBILL_COMPLAINT_APPROVAL_THRESHOLD_CENTS", "1000")
    from chalicelib.config import settings

    settings.cache_clear()
    campaign = three_supplier_campaign(api)
    order = order_of(api, campaign["id"], payment_mode="prepaid")
    path = f"/staff/orders/{order['id']}/refunds"

    error = assert_error(
        *api.post(path, CARE, {"reason": "both", "amount_cents": 100, "lines": [{"sku": "MUG-1", "quantity": 1}]}), 422
    )
    assert error["code"] == "refund_lines_or_amount"
    assert_error(*api.post(path, CARE, {"amount_cents": 100}), 422)  # a reason is required
    error = assert_error(*api.post(path, CARE, {"reason": "x", "amount_cents": ORDER_CENTS + 1}), 422)
    assert error["code"] == "refund_exceeds_paid"
    error = assert_error(*api.post(path, CARE, {"reason": "x", "lines": [{"sku": "MUG-1", "quantity": 3}]}), 422)
    assert error["details"][0]["field"] == "body.lines[0].quantity"

    status, small = api.post(path, CARE, {"reason": "late", "lines": [{"sku": "CAP-1", "quantity": 1}]})
    assert status == 201, small
    refund = next(p for p in small["payments"] if p["kind"] == "refund")
    assert (refund["amount_cents"], refund["status"]) == (900, "pending")
    assert small["money"]["refund_pending_cents"] == 900

    status, big = api.post(path, CARE, {"reason": "the whole mug set broke", "amount_cents": 2400})
    assert status == 201, big
    waiting = next(p for p in big["payments"] if p["status"] == "awaiting_approval")
    decide = f"{path}/{waiting['id']}"
    assert_error(*api.post(f"{decide}/approve", CARE, {}), 403)
    assert_error(*api.post(f"{decide}/reject", ADMIN, {}), 422)  # a reason is required
    status, approved = api.post(f"{decide}/approve", ADMIN, {"note": "fair"})
    assert status == 200, approved
    assert next(p for p in approved["payments"] if p["id"] == waiting["id"])["status"] == "pending"
    assert_error(*api.post(f"{decide}/approve", ADMIN, {}), 409)  # decided once
    assert customer_view(api, order["id"])["money"] == staff_view(api, order["id"])["money"]
    settings.cache_clear()


def test_a_delivery_that_will_never_arrive_is_closed_its_capture_refunded_and_the_order_ends(api, sfn_calls, gateway):
    campaign = three_supplier_campaign(api)
    order = order_of(api, campaign["id"])  # authorise then capture
    for supplier in ("acme", "bolt", "cobalt"):
        po = make_po(campaign["id"], supplier, stage=Stage.SHIPMENT, accepted=True)
        accept_deliveries(supplier, order["id"])
        ship(api, po, supplier, f"{supplier.upper()}0001", order["id"])
        if supplier != "cobalt":
            assert scan(f"{supplier.upper()}0001", TrackingStatus.DELIVERED, 5).startswith("moved")
    assert customer_view(api, order["id"])["status"] == "partially_delivered"
    path = f"/staff/orders/{order['id']}/deliveries/cobalt/not-delivered"
    assert_error(*api.post(path, ACCOUNTING, {"reason": "returned to sender"}), 403)
    assert_error(
        *api.post(f"/staff/orders/{order['id']}/deliveries/acme/not-delivered", CARE, {"reason": "x"}), 409
    )  # it arrived: nothing to give up

    status, body = api.post(path, CARE, {"reason": "returned to sender; the supplier will not re-ship"})

    assert status == 200, body
    assert body["status"] == "completed"  # the rest arrived; the lost delivery costs nothing
    assert next(d for d in body["deliveries"] if d["supplier_id"] == "cobalt")["status"] == "not_delivered"
    refunds = [p for p in body["payments"] if p["kind"] == "refund"]
    assert [(p["amount_cents"], p["status"]) for p in refunds] == [(1500, "pending")]  # cobalt's capture goes back
    money = customer_view(api, order["id"])["money"]
    assert money["payable_cents"] == 2 * 1200 + 900 and money["paid_cents"] == ORDER_CENTS
    assert money["refund_pending_cents"] == 1500
