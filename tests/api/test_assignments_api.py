"""Assignments and "My work" over HTTP on moto: staff assign an order to a person and a team, read who has
it, see it in "My work" ranked with their exceptions, and unassign it; a customer may not; an unknown
subject kind is a 422, a subject that does not exist a 404, a stale version a 409."""

from __future__ import annotations

from chalicelib.adapters.dynamodb.metering import metered
from tests.api.support import assert_error, place
from tests.aws import ALICE, BUYER, CARE, live_campaign


def test_an_order_assigned_to_care_is_in_cares_work_until_unassigned(api):
    order = place(api, live_campaign(api)["id"], ("MUG-1", 1))
    path = f"/staff/assignments/order/{order['id']}"
    assert api.get(path, CARE) == (
        200,
        {
            "subject": "order",
            "subject_id": order["id"],
            "assigned": False,
            "assignee": None,
            "team": None,
            "priority": None,
            "note": None,
            "assigned_at": None,
            "assigned_by": None,
            "version": 0,
        },
    )
    with metered() as m:
        status, body = api.put(
            path,
            BUYER,
            {
                "assignee": "care@waybill.example",
                "team": "customer_care",
                "priority": "high",
                "note": "VIP",
                "expected_version": 0,
            },
        )
    assert status == 200, body
    assert body["assigned"] and body["version"] == 1 and body["assigned_by"] == "buyer@waybill.example"
    assert m.requests["TransactWriteItems"] == 1 and m.requests["GetItem"] <= 3  # the order, its assignment (+ settings)

    status, work = api.get("/staff/my-work", CARE)
    assert status == 200, work
    assert [(w["kind"], w["id"], w["priority"]) for w in work["items"] if w["kind"] == "order"] == [
        ("order", order["id"], "high")
    ]
    status, team = api.get("/staff/my-work?team=customer_care", BUYER)
    assert status == 200 and order["id"] in {w["id"] for w in team["items"]}

    status, body = api.put(path, BUYER, {"assignee": "someone@waybill.example", "expected_version": 0})
    assert_error(status, body, 409, "conflict")
    status, body = api.call("DELETE", path + "?expected_version=1", CARE)
    assert status == 200 and body["assigned"] is False
    assert [w for w in api.get("/staff/my-work", CARE)[1]["items"] if w["kind"] == "order"] == []


def test_bad_subjects_and_customers_are_refused(api):
    status, body = api.put("/staff/assignments/parcel/x", BUYER, {"assignee": "care@waybill.example"})
    assert_error(status, body, 422, "unknown_subject")
    status, body = api.put("/staff/assignments/order/ord-nope", BUYER, {"assignee": "care@waybill.example"})
    assert_error(status, body, 404, "not_found")
    status, body = api.put("/staff/assignments/order/x", BUYER, {"priority": "high"})
    assert_error(status, body, 422, "nobody_assigned")
    status, body = api.get("/staff/my-work", ALICE)
    assert_error(status, body, 403, "forbidden")
