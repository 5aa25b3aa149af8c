"""Capturing an authorise_then_capture order's payment when a delivery ships: against moto and
the sandbox payment gateway over real HTTP; plus the gateway port against a scripted server."""

from __future__ import annotations

import dataclasses
import json
import urllib.error
import urllib.request

import pytest

from chalicelib.adapters import gateway
from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb import repository as repo
from chalicelib.adapters.dynamodb.models import AuditEventItem, PaymentTxnItem
from chalicelib.adapters.dynamodb.store import DynamoStore
from chalicelib.domain.campaigns import Product
from chalicelib.domain.errors import RuleViolation
from chalicelib.domain.orders import PaymentMode
from chalicelib.local.sandbox_gateway import SandboxGateway
from chalicelib.services import catalogue, exceptions, orders
from chalicelib.services.capture import capture_delivery, capture_id, payment_history
from chalicelib.services.clock import now
from tests.adapters import shop
from tests.adapters.conftest import point_gateway_at
from tests.adapters.shop import ALICE, BUYER
from tests.api.po_support import ScriptedBank

CAPTURE = PaymentMode.AUTHORISE_THEN_CAPTURE
# acme: MUG-1 2 x 1200 + MUG-2 1 x 2500; bolt: CAP-1 3 x 900
ACME_CENTS = 2 * 1200 + 2500


def place(campaign_id: str, mode: PaymentMode = CAPTURE) -> str:
    return shop.place(ALICE, campaign_id, ("MUG-1", 2), ("MUG-2", 1), ("CAP-1", 3), payment_mode=mode).order.id


def payment_item(order_id: str, supplier_id: str) -> PaymentTxnItem | None:
    return repo.get(keys.order_payment(order_id, capture_id(order_id, supplier_id)), PaymentTxnItem)


def payment_events(order_id: str) -> list[AuditEventItem]:
    return [
        i
        for i in repo.query_all(keys.order_pk(order_id))
        if isinstance(i, AuditEventItem) and i.type.startswith("order.payment_")
    ]


def payment_failed(order_id: str) -> exceptions.ExceptionRecord | None:
    return exceptions.get(exceptions.exception_id("payment_failed", "order", order_id))


# ---------------------------------------------------------------- the capture use case


def test_a_capture_charges_only_the_shipping_suppliers_lines_and_records_the_transaction(aws, campaign_id, gateway_up):
    order_id = place(campaign_id)

    record = capture_delivery(order_id, "acme")

    [txn] = gateway_up.transactions
    assert (txn["kind"], txn["amount_cents"], txn["currency"], txn["order_id"]) == ("capture", ACME_CENTS, "EUR", order_id)
    assert txn["idempotency_key"] == capture_id(order_id, "acme")
    assert record is not None
    assert (record.id, record.kind, record.supplier_id, record.status) == (
        capture_id(order_id, "acme"),
        "capture",
        "acme",
        "succeeded",
    )
    assert (record.amount_cents, record.currency, record.gateway_reference) == (ACME_CENTS, "EUR", txn["transaction_id"])
    assert record.failure is None
    stored = payment_item(order_id, "acme")
    assert stored is not None and stored.status == "succeeded" and stored.gateway_reference == txn["transaction_id"]
    assert stored.order_id == order_id and stored.idempotency_key == record.id
    [event] = payment_events(order_id)
    assert event.type == "order.payment_captured" and event.actor.sub == "system"
    assert event.data.as_dict() == {
        "payment_id": record.id,
        "supplier_id": "acme",
        "amount_cents": ACME_CENTS,
        "currency": "EUR",
        "transaction_id": txn["transaction_id"],
    }
    assert [r for r in payment_history(p.value for p in DynamoStore().payments_of(order_id)) if r.kind == "capture"] == [record]
    assert payment_failed(order_id) is None
    # the payment item does not disturb the order's own views
    assert orders.get_order_for_customer(ALICE, order_id).order.id == order_id


def test_each_delivery_is_its_own_capture(aws, campaign_id, gateway_up):
    order_id = place(campaign_id)
    acme, bolt = capture_delivery(order_id, "acme"), capture_delivery(order_id, "bolt")
    assert acme is not None and bolt is not None and acme.id != bolt.id
    assert sorted(t["amount_cents"] for t in gateway_up.transactions) == sorted([ACME_CENTS, 3 * 900])
    history = payment_history(p.value for p in DynamoStore().payments_of(order_id))
    assert [r.kind for r in history] == ["authorisation", "capture", "capture"]  # the hold at checkout first
    assert [r.id for r in history[1:]] == [acme.id, bolt.id]


def test_a_redelivered_shipment_captures_nothing_more(aws, campaign_id, gateway_up):
    order_id = place(campaign_id)
    first = capture_delivery(order_id, "acme")
    version = int(payment_item(order_id, "acme").version)
    requests = gateway_up.requests

    again = capture_delivery(order_id, "acme")

    assert again == first
    assert gateway_up.requests == requests and len(gateway_up.transactions) == 1
    assert int(payment_item(order_id, "acme").version) == version and len(payment_events(order_id)) == 1


@pytest.mark.parametrize("gateway_took_it", [False, True], ids=["crash-before-the-call", "crash-after-the-call"])
def test_a_pending_capture_left_by_a_crash_is_finished_with_one_transaction(aws, campaign_id, gateway_up, gateway_took_it):
    order_id = place(campaign_id)
    pay_id = capture_id(order_id, "acme")
    reference = f"order {order_id} / supplier acme"
    earlier = None
    if gateway_took_it:  # the gateway charged, then the process died before the record was finished
        earlier = gateway.capture(gateway.CaptureRequest(pay_id, order_id, ACME_CENTS, "EUR", reference))
    pk, sk = keys.order_payment(order_id, pay_id)
    at = now()
    repo.commit(
        [
            repo.new_item(
                PaymentTxnItem(
                    pk,
                    sk,
                    id=pay_id,
                    order_id=order_id,
                    payment_kind="capture",
                    supplier_id="acme",
                    amount_cents=ACME_CENTS,
                    currency="EUR",
                    status="pending",
                    idempotency_key=pay_id,
                    created_at=at,
                    updated_at=at,
                )
            )
        ],
        what="test",
    )

    record = capture_delivery(order_id, "acme")

    [txn] = gateway_up.transactions
    assert record is not None and record.status == "succeeded" and record.gateway_reference == txn["transaction_id"]
    if earlier is not None:
        assert earlier.transaction_id == txn["transaction_id"]
    assert payment_item(order_id, "acme").status == "succeeded"
    assert [e.type for e in payment_events(order_id)] == ["order.payment_captured"]


def test_a_declined_capture_is_recorded_failed_raised_to_staff_and_left_alone(aws, gateway_up):
    shop.suppliers()
    catalogue.create_supplier(BUYER, name="Decline Co", contact_emails=["orders@decline.example"], supplier_id="decline-co")
    campaign_id = shop.live_campaign([*shop.PRODUCTS, Product("BAD-1", "Bad", "decline-co", 700, 100)])
    order_id = shop.place(ALICE, campaign_id, ("BAD-1", 2), ("MUG-1", 1), payment_mode=CAPTURE).order.id

    record = capture_delivery(order_id, "decline-co")

    assert record is not None and record.status == "failed" and record.gateway_reference is None
    assert record.amount_cents == 1400 and "decline" in (record.failure or "")
    assert gateway_up.transactions == []
    [event] = payment_events(order_id)
    assert event.type == "order.payment_failed"
    assert event.data.as_dict()["status"] == 402 and event.data.as_dict()["amount_cents"] == 1400
    raised = payment_failed(order_id)
    assert raised is not None and raised.status == "open" and raised.severity == "high" and raised.count == 1
    assert raised.details["payment_id"] == record.id and raised.details["supplier_id"] == "decline-co"

    requests = gateway_up.requests
    assert capture_delivery(order_id, "decline-co") == record  # staff's to handle: no new call, no new exception
    assert gateway_up.requests == requests and payment_failed(order_id).count == 1
    # the other supplier's delivery is unaffected
    assert capture_delivery(order_id, "acme").status == "succeeded"


@pytest.mark.parametrize("mode", [PaymentMode.PREPAID, PaymentMode.OFFLINE, PaymentMode.PAY_ON_DELIVERY])
def test_orders_not_paid_by_capture_are_left_alone(aws, campaign_id, gateway_up, mode):
    order_id = place(campaign_id, mode)
    assert capture_delivery(order_id, "acme") is None
    assert gateway_up.requests == 0 and payment_item(order_id, "acme") is None and payment_events(order_id) == []


def test_a_supplier_without_a_delivery_on_the_order_is_refused(aws, campaign_id, gateway_up):
    order_id = shop.place(ALICE, campaign_id, ("MUG-1", 1), payment_mode=CAPTURE).order.id
    with pytest.raises(RuleViolation):
        capture_delivery(order_id, "bolt")
    assert gateway_up.requests == 0 and payment_item(order_id, "bolt") is None


def test_a_gateway_that_is_down_leaves_the_capture_pending_and_the_retry_finishes_it(aws, campaign_id, monkeypatch):
    order_id = place(campaign_id)
    closed = SandboxGateway()
    down_url = closed.url  # bound, never served, then closed: nothing listens there
    closed.stop()
    point_gateway_at(monkeypatch, down_url)

    with pytest.raises(gateway.GatewayUnavailable, match="2 attempt"):
        capture_delivery(order_id, "acme")

    stored = payment_item(order_id, "acme")
    assert stored is not None and stored.status == "pending" and int(stored.amount_cents) == ACME_CENTS
    assert payment_events(order_id) == [] and payment_failed(order_id) is None

    up = SandboxGateway()  # the queue retries once the gateway is back
    up.start()
    try:
        point_gateway_at(monkeypatch, up.url)
        record = capture_delivery(order_id, "acme")
    finally:
        up.stop()
    assert record is not None and record.status == "succeeded" and len(up.transactions) == 1
    assert up.transactions[0]["idempotency_key"] == stored.idempotency_key
    assert [e.type for e in payment_events(order_id)] == ["order.payment_captured"]


# ---------------------------------------------------------------- the gateway port


REQUEST = gateway.CaptureRequest(
    capture_id="cap_1", order_id="ord_1", amount_cents=4900, currency="EUR", reference="order ord_1 / supplier acme"
)


def test_a_capture_is_posted_as_json_with_the_capture_id_as_idempotency_key():
    with ScriptedBank([(201, 0.0)]) as server:
        result = gateway.capture(REQUEST, url=server.url, retries=0, timeout_s=2)
    assert (result.status, result.http_status, result.transaction_id) == ("succeeded", 201, "ref-1")
    [request] = server.requests
    assert request["headers"]["Idempotency-Key"] == "cap_1"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["body"] == {
        "capture_id": "cap_1",
        "order_id": "ord_1",
        "amount_cents": 4900,
        "currency": "EUR",
        "reference": "order ord_1 / supplier acme",
    }


def test_gateway_server_errors_are_retried_with_the_same_key_then_succeed():
    with ScriptedBank([(500, 0.0), (503, 0.0), (201, 0.0)]) as server:
        assert gateway.capture(REQUEST, url=server.url, retries=2, timeout_s=2, backoff_s=0.01).status == "succeeded"
    assert len(server.requests) == 3 and {r["headers"]["Idempotency-Key"] for r in server.requests} == {"cap_1"}


def test_gateway_retries_run_out_into_unavailable():
    with ScriptedBank([(502, 0.0)] * 3) as server, pytest.raises(gateway.GatewayUnavailable, match="3 attempt"):
        gateway.capture(REQUEST, url=server.url, retries=2, timeout_s=2, backoff_s=0.01)
    assert len(server.requests) == 3


def test_a_gateway_client_error_is_a_decline_and_is_not_retried():
    with ScriptedBank([(402, 0.0), (201, 0.0)]) as server, pytest.raises(gateway.GatewayDeclined) as declined:
        gateway.capture(REQUEST, url=server.url, retries=3, timeout_s=2, backoff_s=0.01)
    assert declined.value.status == 402 and len(server.requests) == 1


def test_no_gateway_configured_is_unavailable(monkeypatch):
    point_gateway_at(monkeypatch, "")
    with pytest.raises(gateway.GatewayUnavailable, match="no payment gateway"):
        gateway.capture(REQUEST)


# ---------------------------------------------------------------- the sandbox gateway


def test_the_sandbox_answers_a_repeated_key_with_the_first_transaction(sandbox):
    first = gateway.capture(REQUEST, url=sandbox.url, retries=0, timeout_s=2)
    again = gateway.capture(REQUEST, url=sandbox.url, retries=0, timeout_s=2)
    assert first == again and first.http_status == 201 and (first.transaction_id or "").startswith("txn_")
    assert first.body == {"transaction_id": first.transaction_id, "status": "succeeded", "amount_cents": 4900, "currency": "EUR"}
    assert len(sandbox.transactions) == 1 and sandbox.requests == 2
    with pytest.raises(gateway.GatewayDeclined) as reused:
        gateway.capture(dataclasses.replace(REQUEST, amount_cents=5000), url=sandbox.url, retries=0, timeout_s=2)
    assert reused.value.status == 422 and len(sandbox.transactions) == 1


def test_the_sandbox_declines_a_reference_containing_decline_and_remembers_it(sandbox):
    declining = dataclasses.replace(REQUEST, reference="please DECLINE this")
    for _ in range(2):
        with pytest.raises(gateway.GatewayDeclined) as declined:
            gateway.capture(declining, url=sandbox.url, retries=0, timeout_s=2)
        assert declined.value.status == 402 and json.loads(declined.value.body)["status"] == "declined"
    assert sandbox.transactions == []


def test_the_sandbox_refunds_a_known_capture_up_to_its_amount(sandbox):
    captured = gateway.capture(REQUEST, url=sandbox.url, retries=0, timeout_s=2)
    refund = gateway.RefundRequest(
        refund_id="rfd_1",
        order_id="ord_1",
        amount_cents=4000,
        currency="EUR",
        reference="lines not supplied",
        transaction_id=captured.transaction_id,
    )
    done = gateway.refund(refund, url=sandbox.url, retries=0, timeout_s=2)
    assert done.status == "succeeded" and done.transaction_id != captured.transaction_id
    [txn] = sandbox.transactions_for("rfd_1")
    assert (txn["kind"], txn["amount_cents"], txn["refunds"]) == ("refund", 4000, captured.transaction_id)
    with pytest.raises(gateway.GatewayDeclined) as too_much:
        gateway.refund(dataclasses.replace(refund, refund_id="rfd_2", amount_cents=901), url=sandbox.url, retries=0)
    assert too_much.value.status == 422
    with pytest.raises(gateway.GatewayDeclined) as unknown:
        gateway.refund(dataclasses.replace(refund, refund_id="rfd_3", transaction_id="txn_nope"), url=sandbox.url, retries=0)
    assert unknown.value.status == 404
    assert len(sandbox.transactions) == 2


def test_the_sandbox_refuses_a_request_without_an_idempotency_key(sandbox):
    request = urllib.request.Request(f"{sandbox.url}/captures", data=json.dumps({"capture_id": "x"}).encode(), method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=2)
    assert refused.value.code == 400 and sandbox.transactions == []
