"""A stale write's 409 names who changed the item last and when, so the page can say so and offer a
reload; the body keeps the usual error shape."""

from __future__ import annotations

from datetime import datetime

from chalicelib.services import exceptions
from tests.api.support import assert_error
from tests.aws import ADMIN, BUYER


def test_a_stale_exception_action_says_who_changed_it_and_when(api):
    exc = exceptions.raise_or_bump("out_of_stock", "po", "po-409", {})
    path = f"/staff/exceptions/{exc.id}"
    status, _ = api.post(f"{path}/assign", BUYER, {"assignee": "a@waybill.example", "expected_version": 1})
    assert status == 200

    status, body = api.post(f"{path}/acknowledge", ADMIN, {"expected_version": 1})

    assert_error(status, body, 409, "conflict")
    assert "reload" in body["error"]["message"]
    [detail] = body["error"]["details"]
    assert detail["field"] == "expected_version"
    assert detail["current_version"] == 2
    assert detail["changed_by"] == "Bea Buyer"
    assert detail["change"].startswith("exception.")
    assert datetime.fromisoformat(detail["changed_at"]).tzinfo is not None
    assert exceptions.get(exc.id).status.value == "open"


def test_a_stale_version_of_an_untouched_exception_names_the_system_that_raised_it(api):
    exc = exceptions.raise_or_bump("out_of_stock", "po", "po-410", {})

    status, body = api.post(f"/staff/exceptions/{exc.id}/acknowledge", BUYER, {"expected_version": 7})

    assert_error(status, body, 409, "conflict")
    [detail] = body["error"]["details"]
    assert detail["current_version"] == 1 and detail["changed_by"] and detail["changed_at"]
