"""Settings staff change without a deploy, over HTTP on moto: every staff role reads them, admins change
them naming the version read, a bad value is a 422 naming its field, a stale version a 409 naming who
changed them; a change moves what the system does (an order above a lowered hold threshold is held),
and the history says who changed what."""

from __future__ import annotations

from chalicelib.adapters.dynamodb.metering import metered
from chalicelib.config import environment_settings
from tests.api.support import assert_error, place
from tests.aws import ADMIN, BUYER, headers, live_campaign

OTHER_ADMIN = headers("admin-2", "admin", email="bea.admin@waybill.example", name="Bea Admin")


def test_staff_read_the_settings_with_their_defaults_and_bounds(api):
    status, body = api.get("/staff/settings", BUYER)
    assert status == 200, body
    assert body["version"] == 0 and body["cache_seconds"] == environment_settings().settings_cache_s
    by_name = {i["name"]: i for i in body["items"]}
    ack = by_name["deadline_acknowledge_s"]
    assert ack["unit"] == "duration" and ack["value"] == ack["default"] == environment_settings().deadline_acknowledge_s
    assert ack["minimum"] == 3600 and not ack["overridden"]
    assert by_name["held_at_close"]["choices"] == ["reject", "wait"]


def test_an_admin_lowers_the_hold_threshold_and_the_next_order_above_it_is_held(api):
    campaign = live_campaign(api)
    assert place(api, campaign["id"], ("MUG-2", 1))["status"] != "on_hold"

    status, body = api.put("/staff/settings", ADMIN, {"expected_version": 0, "values": {"hold_threshold_cents": 100}})
    assert status == 200, body
    assert body["version"] == 1 and body["updated_by"] == "admin@waybill.example"

    assert place(api, campaign["id"], ("MUG-2", 1))["status"] == "on_hold"
    status, history = api.get("/staff/settings/history", BUYER)
    assert status == 200
    (change,) = history["items"]
    assert change["by"] and change["changes"]["hold_threshold_cents"]["to"] == 100


def test_a_change_costs_one_read_and_one_transaction(api):
    with metered() as m:
        status, body = api.put("/staff/settings", ADMIN, {"expected_version": 0, "values": {"max_stage_reminders": 4}})
    assert status == 200, body
    assert m.requests["TransactWriteItems"] == 1
    assert m.requests["GetItem"] <= 2  # the record, and (once per cache time) the overrides


def test_only_admins_change_them_and_bad_values_name_their_field(api):
    status, body = api.put("/staff/settings", BUYER, {"expected_version": 0, "values": {"max_stage_reminders": 4}})
    assert_error(status, body, 403, "forbidden")
    status, body = api.put("/staff/settings", ADMIN, {"expected_version": 0, "values": {"deadline_invoice_s": 5}})
    assert_error(status, body, 422, "invalid_setting")
    assert [d["field"] for d in body["error"]["details"]] == ["values.deadline_invoice_s"]
    status, body = api.put("/staff/settings", ADMIN, {"expected_version": 0, "values": {}})
    assert status in (400, 422) and "values" in str(body)
    assert api.get("/staff/settings", BUYER)[1]["version"] == 0


def test_a_stale_version_is_a_409_naming_who_changed_them(api):
    assert api.put("/staff/settings", OTHER_ADMIN, {"expected_version": 0, "values": {"max_stage_reminders": 1}})[0] == 200
    status, body = api.put("/staff/settings", ADMIN, {"expected_version": 0, "values": {"max_stage_reminders": 5}})
    assert_error(status, body, 409, "conflict")
    [detail] = body["error"]["details"]
    assert detail["changed_by"] == "Bea Admin" and detail["current_version"] == 1
    assert {i["name"]: i["value"] for i in api.get("/staff/settings", BUYER)[1]["items"]}["max_stage_reminders"] == 1
