"""Notification rules staff change without a deploy, over HTTP on moto: every staff role reads the rules
in force with what each field may be; admins replace them naming the settings' version (a bad rule is a
422 naming `rules[i].field`, a stale version a 409 naming who changed the settings); the next event the
notifications consumer handles is delivered per the new rules; null brings back the code's rules."""

from __future__ import annotations

from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from chalicelib.adapters.aws import client
from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.models import OutboxItem
from chalicelib.config import settings
from chalicelib.domain.notifications import default_rule_data
from chalicelib.handlers import notifications
from tests.adapters.events import typed
from tests.api.support import assert_error
from tests.aws import ADMIN, BUYER, headers

OTHER_ADMIN = headers("admin-2", "admin", email="bea.admin@waybill.example", name="Bea Admin")
ROUTE = "/staff/settings/notification-rules"


def sent() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages)


def placed(n: int) -> Any:
    return typed(
        {
            "id": f"evt-ord-{n}",
            "type": "order.placed",
            "subject_type": "order",
            "subject_id": f"ord_{n}",
            "to_status": "placed",
            "data": {"order_id": f"ord_{n}", "customer_email": "alice@example.com", "total_cents": 1200, "currency": "EUR"},
        }
    )


def test_staff_read_the_rules_in_force_and_what_each_field_may_be(api):
    status, body = api.get(ROUTE, BUYER)
    assert status == 200, body
    assert body["version"] == 0 and body["default"] is True
    assert body["rules"] == default_rule_data()
    assert body["choices"]["channels"] == ["email"] and body["choices"]["timings"] == ["immediate", "digest"]
    assert "order.placed" in body["choices"]["events"] and "customer_care" in body["choices"]["recipients"]


def test_a_bad_rule_is_a_422_naming_its_rule_and_field_and_only_admins_change_them(api):
    rules = default_rule_data()
    rules[3] = {**rules[3], "channel": "sms"}
    status, body = api.put(ROUTE, BUYER, {"expected_version": 0, "rules": rules})
    assert_error(status, body, 403, "forbidden")
    status, body = api.put(ROUTE, ADMIN, {"expected_version": 0, "rules": rules})
    assert_error(status, body, 422, "invalid_notification_rules")
    assert [d["field"] for d in body["error"]["details"]] == ["rules[3].channel"]
    assert api.get(ROUTE, BUYER)[1]["version"] == 0


def test_a_stale_version_is_a_409_naming_who_changed_the_settings(api):
    assert api.put("/staff/settings", OTHER_ADMIN, {"expected_version": 0, "values": {"max_stage_reminders": 1}})[0] == 200
    status, body = api.put(ROUTE, ADMIN, {"expected_version": 0, "rules": None})
    assert_error(status, body, 409, "conflict")
    assert body["error"]["details"][0]["changed_by"] == "Bea Admin"


def test_a_changed_rule_decides_the_next_event_and_null_brings_back_the_codes(api):
    customer_care_too = [*default_rule_data(), {"event": "order.placed", "recipient": "customer_care", "channel": "email",
                                                "timing": "immediate"}]  # fmt: skip
    customer_digest = [
        {**r, "timing": "digest", "mandatory": False} if (r["event"], r["recipient"]) == ("order.placed", "customer") else r
        for r in customer_care_too
    ]
    status, body = api.put(ROUTE, ADMIN, {"expected_version": 0, "rules": customer_digest})
    assert status == 200, body
    assert body["version"] == 1 and body["default"] is False and body["updated_by"] == "admin@waybill.example"

    client("ses").verify_email_identity(EmailAddress=settings().mail_from)
    event = placed(1)
    assert notifications.handle(event) == 1  # care's copy sent; the customer's held for the digest
    assert [m.destinations["ToAddresses"] for m in sent()] == [["care@waybill.example"]]
    held = OutboxItem.get(*keys.outbox(event.id, "alice@example.com"))
    assert held.status == "held_for_digest"

    status, history = api.get("/staff/settings/history", BUYER)
    (change,) = history["items"]
    assert change["changes"]["notification_rules"]["added"] == [
        "order.placed -> customer by email, digest",
        "order.placed -> customer_care by email, immediate",
    ]

    status, body = api.put(ROUTE, ADMIN, {"expected_version": 1, "rules": None})
    assert status == 200 and body["default"] is True and body["version"] == 2
    assert notifications.handle(placed(2)) == 1
    assert [m.destinations["ToAddresses"] for m in sent()][-1] == ["alice@example.com"]
