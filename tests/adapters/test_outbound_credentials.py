"""The bank and the payment gateway receive the credential a deployment keeps in Secrets Manager
(`WAYBILL_BANK_SECRET` / `WAYBILL_PAYMENT_GATEWAY_SECRET` name it); locally none is configured and
no secret is read."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from chalicelib.adapters import bank, gateway, secrets
from chalicelib.config import settings
from tests.api.po_support import ScriptedBank

ORDER = bank.PaymentOrder(payment_id="po_1.pp_1", amount_cents=3800, currency="EUR", supplier_id="acme", reference="cmp_1/po_1")
CAPTURE = gateway.CaptureRequest(capture_id="cap_1", order_id="o_1", amount_cents=1200, currency="EUR", reference="o_1")


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with mock_aws():
        sm = boto3.client("secretsmanager", region_name="eu-west-1")
        sm.create_secret(Name="waybill/prod/bank", SecretString=json.dumps({"header": "Authorization", "value": "Bearer b"}))
        sm.create_secret(Name="waybill/prod/payment-gateway", SecretString=json.dumps({"header": "X-Api-Key", "value": "g"}))
        monkeypatch.setenv("WAYBILL_BANK_SECRET", "waybill/prod/bank")
        monkeypatch.setenv("WAYBILL_PAYMENT_GATEWAY_SECRET", "waybill/prod/payment-gateway")
        settings.cache_clear()
        secrets.forget()
        try:
            yield
        finally:
            monkeypatch.delenv("WAYBILL_BANK_SECRET")
            monkeypatch.delenv("WAYBILL_PAYMENT_GATEWAY_SECRET")
            settings.cache_clear()
            secrets.forget()


def test_a_payment_order_carries_the_banks_credential_header(credentials):
    with ScriptedBank([(202, 0.0)]) as server:
        bank.push_payment(ORDER, url=server.url, retries=0, timeout_s=2)
    [request] = server.requests
    assert request["headers"]["Authorization"] == "Bearer b"
    assert request["headers"]["Idempotency-Key"] == "po_1.pp_1"  # the credential adds, never replaces


def test_a_capture_carries_the_gateways_credential_header(credentials):
    with ScriptedBank([(200, 0.0)]) as server:
        gateway.capture(CAPTURE, url=server.url, retries=0, timeout_s=2)
    [request] = server.requests
    assert request["headers"]["X-Api-Key"] == "g" and "Authorization" not in request["headers"]


def test_without_a_configured_secret_no_credential_is_sent_and_no_secret_read():
    assert settings().bank_secret == "" and settings().payment_gateway_secret == ""
    assert secrets.credential_header("") == {}  # returns before any AWS call (none is mocked here)
    with ScriptedBank([(202, 0.0)]) as server:
        bank.push_payment(ORDER, url=server.url, retries=0, timeout_s=2)
    assert "Authorization" not in server.requests[0]["headers"]


def test_an_empty_credential_secret_sends_nothing(credentials):
    boto3.client("secretsmanager", region_name="eu-west-1").put_secret_value(SecretId="waybill/prod/bank", SecretString="{}")
    secrets.forget()
    assert secrets.credential_header("waybill/prod/bank") == {}
