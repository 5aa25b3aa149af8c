"""The bank port over real HTTP (a local http.server), and the sandbox bank of the local stack."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from chalicelib.adapters import bank
from chalicelib.local.sandbox_bank import SandboxBank, new_secret
from tests.api.po_support import ScriptedBank

ORDER = bank.PaymentOrder(payment_id="po_1.pp_1", amount_cents=3800, currency="EUR", supplier_id="acme", reference="cmp_1/po_1")


def test_a_payment_is_posted_as_json_with_the_proposal_id_as_idempotency_key():
    with ScriptedBank([(202, 0.0)]) as server:
        accepted = bank.push_payment(ORDER, url=server.url, retries=0, timeout_s=2)
    assert accepted.status == 202 and accepted.body["reference"] == "ref-1"
    [request] = server.requests
    assert request["headers"]["Idempotency-Key"] == "po_1.pp_1"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["body"] == {
        "payment_id": "po_1.pp_1",
        "amount_cents": 3800,
        "currency": "EUR",
        "supplier_id": "acme",
        "reference": "cmp_1/po_1",
    }


def test_server_errors_are_retried_with_the_same_idempotency_key():
    with ScriptedBank([(500, 0.0), (502, 0.0), (202, 0.0)]) as server:
        assert bank.push_payment(ORDER, url=server.url, retries=2, timeout_s=2, backoff_s=0.01).status == 202
    assert len(server.requests) == 3
    assert {r["headers"]["Idempotency-Key"] for r in server.requests} == {"po_1.pp_1"}


def test_retries_run_out_into_bank_unavailable():
    with ScriptedBank([(500, 0.0)] * 3) as server, pytest.raises(bank.BankUnavailable, match="3 attempt"):
        bank.push_payment(ORDER, url=server.url, retries=2, timeout_s=2, backoff_s=0.01)
    assert len(server.requests) == 3


def test_a_client_error_is_a_refusal_and_is_not_retried():
    with ScriptedBank([(422, 0.0), (202, 0.0)]) as server, pytest.raises(bank.PaymentRefused) as refused:
        bank.push_payment(ORDER, url=server.url, retries=3, timeout_s=2, backoff_s=0.01)
    assert refused.value.status == 422 and len(server.requests) == 1


def test_a_bank_that_does_not_answer_in_time_is_unavailable():
    slow = ScriptedBank([(202, 3.0), (202, 3.0)])
    with slow as server, pytest.raises(bank.BankUnavailable, match="TimeoutError|timed out"):
        bank.push_payment(ORDER, url=server.url, retries=1, timeout_s=0.2, backoff_s=0.01)
    assert len(server.requests) == 2


def test_no_listener_is_unavailable():
    with ScriptedBank() as server:
        url = server.url
    with pytest.raises(bank.BankUnavailable):
        bank.push_payment(ORDER, url=url, retries=1, timeout_s=1, backoff_s=0.01)


class Receiver:
    """The API's side of the sandbox's callback: verifies each delivery like the real route."""

    def __init__(self, secret: str) -> None:
        self.verified: list[dict[str, Any]] = []
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_POST(self) -> None:  # noqa: N802
                data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.verified.append(Webhook(secret).verify(data, dict(self.headers)))
                self.send_response(204)
                self.end_headers()
                receiver.arrived.set()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/bank"


def test_the_sandbox_bank_accepts_a_payment_once_and_settles_it_by_signed_webhook():
    secret = new_secret()
    receiver = Receiver(secret)
    sandbox = SandboxBank(webhook_url=receiver.url, secret=secret, settle_delay_s=0.05)
    sandbox.start()
    try:
        first = bank.push_payment(ORDER, url=sandbox.url, retries=0, timeout_s=2)
        again = bank.push_payment(ORDER, url=sandbox.url, retries=0, timeout_s=2)
        assert first.status == again.status == 202 and first.body == again.body
        assert receiver.arrived.wait(10)
        sandbox.stop()  # no second settlement is pending
    finally:
        receiver.server.shutdown()
    assert list(sandbox.payments) == ["po_1.pp_1"] and sandbox.settled == ["po_1.pp_1"]
    [event] = receiver.verified
    assert event["type"] == "payment.settled"
    assert event["data"]["payment_id"] == "po_1.pp_1" and event["data"]["amount_cents"] == 3800
    assert event["data"]["reference"] == first.body["reference"]


def test_the_sandbox_bank_refuses_an_order_without_an_idempotency_key():
    import urllib.error
    import urllib.request

    sandbox = SandboxBank(webhook_url=None, secret=None)
    sandbox.start()
    try:
        request = urllib.request.Request(sandbox.url, data=json.dumps({"payment_id": "x"}).encode(), method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=2)
        assert refused.value.code == 400
    finally:
        sandbox.stop()
    assert sandbox.payments == {}
