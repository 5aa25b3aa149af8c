"""What the API refuses before it reads a body: one over the size limit (413), JSON it cannot parse or
that nests too deep (400), a signed webhook not declared as JSON (415); each in the house error shape,
nothing stored, never a 500."""

from __future__ import annotations

import json

import boto3
import pytest

from chalicelib.adapters import secrets
from chalicelib.adapters.dynamodb.models import InboxItem, Item
from chalicelib.config import settings
from chalicelib.local.signing import new_secret, signed_request
from tests.api.support import assert_error, raw
from tests.aws import ALICE, BUYER

BANK = new_secret()
HOOK = "/webhooks/bank"
DEEP = "[" * 990 + "]" * 990  # json.loads recursed on this until a RecursionError (a 500)


@pytest.fixture
def bank_secret(aws):
    boto3.client("secretsmanager", region_name="eu-west-1").put_secret_value(
        SecretId="waybill/webhooks/inbound", SecretString=json.dumps({"bank": [BANK]})
    )
    secrets.forget()
    yield
    secrets.forget()


def inbox() -> list[InboxItem]:
    return [i for i in Item.scan() if isinstance(i, InboxItem)]


def settlement(padding: int = 0) -> dict[str, object]:
    return {"type": "payment.settled", "data": {"payment_id": "pay_x", "amount_cents": 1, "padding": "x" * padding}}


def test_a_body_over_the_limit_is_a_413_before_it_is_parsed(api):
    limit = settings().max_body_bytes
    body = json.dumps({"name": "Big", "products": [], "notes": "x" * limit}).encode()
    r = raw(api, "POST", "/staff/campaigns", BUYER, body)
    error = assert_error(r.status_code, json.loads(r.body), 413, "body_too_large")
    assert str(limit) in error["message"]
    # Not JSON at all, and too big: the size is what is refused (nothing tried to parse it).
    r = raw(api, "POST", "/staff/campaigns", BUYER, b"{" * (limit + 1))
    assert_error(r.status_code, json.loads(r.body), 413, "body_too_large")


def test_a_body_at_the_limit_is_parsed_as_usual(api):
    limit = settings().max_body_bytes
    body = b" " * (limit - 2) + b"{}"
    r = raw(api, "POST", "/staff/campaigns", BUYER, body)
    assert_error(r.status_code, json.loads(r.body), 422, "validation_error")  # read, and found wanting


@pytest.mark.parametrize("body", [DEEP, '{"a":' * 990 + "1" + "}" * 990, "[" * 100_000])
def test_json_nested_too_deep_is_a_400_naming_the_depth_not_a_500(api, body):
    r = raw(api, "POST", "/orders", ALICE, body.encode())
    error = assert_error(r.status_code, json.loads(r.body), 400, "invalid_json")
    assert "deeper than 64" in error["message"]


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe{}", b'{"a": 1,}'])
def test_a_body_that_is_not_json_is_a_400_saying_why(api, body):
    r = raw(api, "POST", "/orders", ALICE, body)
    error = assert_error(r.status_code, json.loads(r.body), 400, "invalid_json")
    assert "not valid JSON" in error["message"]


def test_a_signed_webhook_over_its_limit_is_a_413_and_stores_nothing(api, bank_secret):
    data, hdrs = signed_request(settlement(padding=settings().max_webhook_body_bytes), BANK)
    r = raw(api, "POST", HOOK, None, data, hdrs)
    assert_error(r.status_code, json.loads(r.body), 413, "body_too_large")
    assert inbox() == []


def test_a_signed_webhook_nested_too_deep_is_a_400_and_stores_nothing(api, bank_secret):
    data, hdrs = signed_request(DEEP, BANK)
    r = raw(api, "POST", HOOK, None, data, {**hdrs, "Content-Type": "application/json"})
    error = assert_error(r.status_code, json.loads(r.body), 400, "invalid_json")
    assert "deeper than 64" in error["message"]
    assert inbox() == []


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
@pytest.mark.parametrize("route", [HOOK, "/webhooks/carriers/dhl", "/webhooks/suppliers/acme"])
def test_a_signed_webhook_not_declared_as_json_is_a_415_and_stores_nothing(api, bank_secret, route, content_type):
    data, hdrs = signed_request(settlement(), BANK)
    r = raw(api, "POST", route, None, data, {**hdrs, "Content-Type": content_type})
    assert r.headers["Content-Type"] == "application/json"
    assert_error(r.status_code, json.loads(r.body), 415, "unsupported_media_type")
    assert inbox() == []


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8", None])
def test_a_signed_webhook_declared_as_json_or_undeclared_is_received(api, bank_secret, content_type):
    # The local senders (sandbox bank, carrier simulator, demo) send application/json or, through
    # `requests` with raw bytes, no Content-Type at all: both are read as JSON.
    data, hdrs = signed_request(settlement(), BANK)
    sent = {**hdrs, **({"Content-Type": content_type} if content_type else {})}
    r = raw(api, "POST", HOOK, None, data, sent)
    assert r.status_code == 202, r.body
    assert len(inbox()) == 1
