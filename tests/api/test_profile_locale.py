"""The language of a person's own e-mails over HTTP: `GET/PUT /me/profile` (by the token's e-mail
claim), and the `locale` an order is placed with; anything but a supported locale is a 422."""

from __future__ import annotations

import json

from chalicelib.services import notify
from tests.api.support import SUPPLIER_ACME, assert_error, order_body, raw
from tests.aws import ALICE, BOB, headers, live_campaign

PROFILE = "/me/profile"


def test_nobody_has_chosen_a_language_until_they_do(api):
    assert api.get(PROFILE, ALICE) == (200, {"email": "alice@example.com", "locale": "en", "chosen": False})


def test_a_customer_chooses_vietnamese_and_reads_it_back_and_their_other_preferences_stay(api):
    status, prefs = api.put("/me/notification-preferences", ALICE, {"opt_out": True, "alerts": "daily_digest"})
    assert status == 200, prefs
    status, body = api.put(PROFILE, ALICE, {"locale": "vi"})
    assert (status, body) == (200, {"email": "alice@example.com", "locale": "vi", "chosen": True})
    assert api.get(PROFILE, ALICE) == (200, body)
    kept = notify.get_preferences("alice@example.com")
    assert (kept.locale, kept.opt_out, kept.alerts.value) == ("vi", True, "daily_digest")
    status, prefs = api.put("/me/notification-preferences", ALICE, {"opt_out": False, "alerts": "immediate"})
    assert status == 200 and notify.get_preferences("alice@example.com").locale == "vi"  # one choice never undoes the other


def test_an_unsupported_or_missing_locale_is_a_422_naming_the_field(api):
    for body in ({"locale": "fr"}, {}, {"locale": "vi", "extra": 1}):
        status, answer = api.put(PROFILE, ALICE, body)
        error = assert_error(status, answer, 422, "validation_error")
        assert any(d["field"].startswith("body.") for d in error["details"]), (body, error)
    assert notify.get_preferences("alice@example.com").locale is None


def test_a_token_without_a_verified_email_claim_has_no_profile(api):
    impostor = headers("cust-mallory", "customer", email="alice@example.com", email_verified=False)
    for who in (SUPPLIER_ACME, impostor):
        for method, body in (("GET", None), ("PUT", {"locale": "vi"})):
            r = raw(api, method, PROFILE, who, body)
            assert_error(r.status_code, json.loads(r.body), 422, "no_email")
    assert notify.get_preferences("alice@example.com").locale is None


def test_an_order_takes_a_supported_locale_and_refuses_any_other(api):
    campaign = live_campaign(api)
    status, answer = api.post("/orders", ALICE, order_body(campaign["id"], ("MUG-1", 1), locale="fr"))
    error = assert_error(status, answer, 422, "validation_error")
    assert "body.locale" in [d["field"] for d in error["details"]]
    status, order = api.post("/orders", BOB, order_body(campaign["id"], ("MUG-1", 1), locale="vi"))
    assert status == 201, order
    assert "locale" not in order  # the language is the customer's, kept with their address by the mail sender
