"""Outbound webhook signing: the headers our sender puts on a body verify with the Standard Webhooks
library, one signature per secret during a rotation, in the format subscribers already verify."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from chalicelib.adapters.webhooks_out import signed_headers
from chalicelib.domain import webhooks as rules

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"


def test_our_signature_verifies_with_the_standard_webhooks_library_with_one_or_two_secrets():
    body = rules.body({"type": "order.placed", "id": "evt_1"})
    headers = signed_headers([OTHER, SECRET], "msg_1", 1_900_000_000, body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (SECRET, OTHER):
        wh = Webhook(secret)
        assert wh.sign("msg_1", datetime.fromtimestamp(1_900_000_000), body) in headers["webhook-signature"].split(" ")


def test_a_payload_signed_by_our_sender_passes_the_libraries_own_verify_and_a_changed_body_does_not():
    body = rules.body({"type": "order.placed", "id": "evt_1", "data": {"subject_id": "ord_1"}})
    headers = signed_headers([SECRET], "msg_2", int(time.time()), body)
    assert Webhook(SECRET).verify(body.encode(), headers) == {
        "type": "order.placed",
        "id": "evt_1",
        "data": {"subject_id": "ord_1"},
    }
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body.replace("ord_1", "ord_2"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(OTHER).verify(body, headers)


def test_the_headers_keep_the_names_and_the_v1_hmac_format_subscribers_verify_today():
    body = rules.body({"type": "po.created", "id": "evt_3"})
    headers = signed_headers([SECRET], "msg_3", 1_900_000_123, body)
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    mac = hmac.new(key, f"msg_3.1900000123.{body}".encode(), hashlib.sha256).digest()
    assert headers == {
        "webhook-id": "msg_3",
        "webhook-timestamp": "1900000123",
        "webhook-signature": "v1," + base64.b64encode(mac).decode(),
        "content-type": "application/json",
    }
