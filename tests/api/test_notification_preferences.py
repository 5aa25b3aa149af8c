"""Notification preferences over HTTP: anyone signed in sets their own (by the token's e-mail
claim); admins set anyone's, team mailboxes included. Transactional mail cannot be turned off."""

from __future__ import annotations

import json

from chalicelib.services import notify
from tests.api.support import LOGISTICS, SUPPLIER_ACME, assert_error, raw
from tests.aws import ADMIN, ALICE, BUYER, headers

MINE = "/me/notification-preferences"
STAFF = "/staff/notification-preferences"
DEFAULTS = {"opt_out": False, "alerts": "immediate", "transactional": "always", "updated_at": None, "updated_by": None}


def test_nobody_has_chosen_anything_until_they_do(api):
    assert api.get(MINE, ALICE) == (200, {"email": "alice@example.com", **DEFAULTS})


def test_a_customer_takes_alerts_in_a_daily_digest_and_reads_it_back(api):
    status, body = api.put(MINE, ALICE, {"opt_out": False, "alerts": "daily_digest"})
    assert status == 200, body
    assert (body["email"], body["opt_out"], body["alerts"], body["updated_by"]) == (
        "alice@example.com",
        False,
        "daily_digest",
        "alice@example.com",
    )
    assert body["updated_at"]
    assert api.get(MINE, ALICE) == (200, body)
    assert notify.get_preferences("ALICE@example.com").alerts.value == "daily_digest"  # kept per address


def test_every_role_may_keep_its_own_preferences(api):
    for who, address in (
        (BUYER, "buyer@waybill.example"),
        (headers("sup-2", "supplier", supplier_id="acme", email="Orders@Acme.example"), "orders@acme.example"),
    ):
        status, body = api.put(MINE, who, {"opt_out": True, "alerts": "immediate"})
        assert status == 200 and (body["email"], body["opt_out"]) == (address, True), body


def test_a_token_without_an_email_claim_has_no_preferences(api):
    for method, body in (("GET", None), ("PUT", {"opt_out": True, "alerts": "immediate"})):
        r = raw(api, method, MINE, SUPPLIER_ACME, body)
        error = assert_error(r.status_code, json.loads(r.body), 422, "no_email")
        assert error["details"][0]["field"] == "token.email"


def test_bad_bodies_are_4xx_with_details(api):
    for body, where in (
        ({"opt_out": "yes", "alerts": "immediate"}, "body.opt_out"),
        ({"opt_out": False, "alerts": "weekly"}, "body.alerts"),
        ({"opt_out": False}, "body.alerts"),
        ({"opt_out": False, "alerts": "immediate", "transactional": "never"}, "body.transactional"),
    ):
        status, answer = api.put(MINE, ALICE, body)
        error = assert_error(status, answer, 422, "validation_error")
        assert where in [d["field"] for d in error["details"]], (body, error)
    status, answer = api.call("PUT", MINE, ALICE, "not json")
    assert_error(status, answer, 400, "invalid_json")
    status, answer = api.get(MINE)
    assert status == 401


def test_an_admin_sets_a_team_mailbox_and_reads_it_back(api):
    path = f"{STAFF}/Accounting@Waybill.example"
    status, body = api.put(path, ADMIN, {"opt_out": False, "alerts": "daily_digest"})
    assert status == 200, body
    assert (body["email"], body["alerts"], body["updated_by"]) == (
        "accounting@waybill.example",
        "daily_digest",
        "admin@waybill.example",
    )
    assert api.get(f"{STAFF}/accounting@waybill.example", ADMIN) == (200, body)
    assert api.get(f"{STAFF}/accounting%40waybill.example", ADMIN) == (200, body)  # percent-encoded too
    assert api.get(f"{STAFF}/logistics@waybill.example", ADMIN) == (200, {"email": "logistics@waybill.example", **DEFAULTS})


def test_only_admins_manage_other_peoples_preferences(api):
    for who in (BUYER, LOGISTICS, ALICE):
        status, body = api.put(f"{STAFF}/alice@example.com", who, {"opt_out": True, "alerts": "immediate"})
        assert_error(status, body, 403, "forbidden")
    assert api.get(MINE, ALICE)[1]["opt_out"] is False


def test_a_path_that_is_no_address_is_a_404(api):
    for bad in ("not-an-address", "a@b", "x" * 300 + "@example.com"):
        status, body = api.get(f"{STAFF}/{bad}", ADMIN)
        assert_error(status, body, 404, "not_found")
