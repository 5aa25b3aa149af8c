"""The token's e-mail claim counts only when the issuer verified it (`email_verified`, a boolean or
Cognito's string "true"): a token that merely names a team mailbox cannot act for it."""

from __future__ import annotations

import json

import pytest

from chalicelib.api.auth import verify_token
from tests.api.support import assert_error, place, raw
from tests.aws import ADMIN, BUYER, headers, live_campaign, token

MINE = "/me/notification-preferences"
CARE_BOX = "care@waybill.example"
OPT_OUT = {"opt_out": True, "alerts": "daily_digest"}


@pytest.mark.parametrize("verified", [None, False, "false", "False", "", "yes"])
def test_a_customer_token_naming_the_care_mailbox_unverified_cannot_change_its_preferences(api, verified):
    impostor = headers("cust-mallory", "customer", email=CARE_BOX, email_verified=verified)
    for method, body in (("PUT", OPT_OUT), ("GET", None)):
        r = raw(api, method, MINE, impostor, body)
        error = assert_error(r.status_code, json.loads(r.body), 422, "no_email")
        assert "verified" in error["message"] and error["details"][0]["field"] == "token.email"
    status, care = api.get(f"/staff/notification-preferences/{CARE_BOX}", ADMIN)
    assert status == 200 and (care["opt_out"], care["alerts"], care["updated_by"]) == (False, "immediate", None)


@pytest.mark.parametrize("verified", [True, "true", "TRUE"])
def test_a_verified_address_keeps_its_own_preferences(api, verified):
    who = headers("cust-vera", "customer", email="vera@example.com", email_verified=verified)
    status, body = api.put(MINE, who, OPT_OUT)
    assert status == 200, body
    assert (body["email"], body["opt_out"], body["updated_by"]) == ("vera@example.com", True, "vera@example.com")


def test_the_principal_has_an_email_only_when_it_is_verified(aws):
    assert verify_token(token("c-1", "customer", email="c1@example.com")).email == "c1@example.com"  # dev issuer: verified
    assert verify_token(token("c-1", "customer", email="c1@example.com", email_verified=None)).email is None
    assert verify_token(token("c-1", "customer", email="c1@example.com", email_verified="true")).email == "c1@example.com"
    assert verify_token(token("c-1", "customer", email_verified=True)).email is None  # verified, but no address


def test_an_order_placed_with_an_unverified_address_records_none_to_mail(api):
    campaign = live_campaign(api)
    who = headers("cust-una", "customer", email="una@example.com", email_verified="false")
    order = place(api, campaign["id"], ("MUG-1", 1), who=who)
    status, found = api.get(f"/staff/orders/{order['id']}", BUYER)
    assert status == 200 and found["customer_email"] is None
