"""Staff search orders, read the full audit trail, review held orders and write notes."""

from __future__ import annotations

import copy

import pytest

from chalicelib.domain.errors import Conflict
from chalicelib.domain.orders import OrderAction
from chalicelib.domain.permissions import Principal, Role
from chalicelib.services import orders as order_service
from tests.api.support import (
    CARE_NAMED,
    LOGISTICS,
    assert_error,
    follow_pages,
    place,
    place_on_hold,
    staff_order,
)
from tests.aws import ACCOUNTING, ADMIN, ALICE, BUYER, CARE, live_campaign

# ---------------------------------------------------------------- search follows changes


def test_the_status_filter_follows_transitions(api):
    campaign = live_campaign(api)
    held = place(api, campaign["id"], ("CAP-1", 99))
    assert held["status"] == "on_hold"

    def found(query: str) -> list[str]:
        return [o["id"] for o in follow_pages(api, f"/staff/orders?{query}", CARE, limit=100)[0]]

    assert found("status=on_hold") == [held["id"]]
    assert api.post(f"/staff/orders/{held['id']}/transitions", CARE, {"action": "approve"})[0] == 200
    assert found("status=on_hold") == []
    assert found("status=placed") == [held["id"]]
    assert found("supplier_id=bolt&status=placed") == [held["id"]]
    assert found("customer_id=cust-alice&status=on_hold") == []


# ---------------------------------------------------------------- one order, as staff see it


def test_staff_see_the_full_audit_trail_with_internal_notes_and_actors(api):
    campaign = live_campaign(api)
    held = place_on_hold(api, campaign["id"])
    api.post(f"/staff/orders/{held['id']}/notes", CARE_NAMED, {"internal_note": "checking with the bank"})
    api.post(
        f"/staff/orders/{held['id']}/transitions",
        CARE_NAMED,
        {"action": "approve", "internal_note": "bank ok", "customer_note": "All good!"},
    )

    order = staff_order(api, held["id"], ACCOUNTING)
    assert order["customer_id"] == "cust-alice" and order["customer_email"] == "alice@example.com"
    assert order["status"] == "placed" and order["version"] == 2
    assert order["hold_reasons"] == ["total_above_threshold"]
    trail = [
        (e["type"], e["from_status"], e["to_status"], e["internal_note"], e["customer_note"], e["actor"]["sub"])
        for e in order["events"]
    ]
    assert trail == [
        ("order.placed", None, "on_hold", None, None, "cust-alice"),
        ("order.note_added", "on_hold", "on_hold", "checking with the bank", None, "care-7"),
        ("order.approved", "on_hold", "placed", "bank ok", "All good!", "care-7"),
    ]
    assert order["events"][2]["actor"] == {"sub": "care-7", "role": "customer_care", "name": "Carla Care"}
    assert order["updated_at"] >= order["created_at"]


def test_staff_reading_an_unknown_order_get_a_404(api):
    assert_error(*api.get("/staff/orders/ord_nope", CARE), 404, "not_found")


@pytest.mark.parametrize(
    "who, on_hold_actions, placed_actions",
    [
        (CARE, ["approve", "reject", "cancel", "add_note"], ["cancel", "add_note"]),
        (ADMIN, ["approve", "reject", "cancel", "add_note"], ["cancel", "add_note"]),
        (ACCOUNTING, ["add_note"], ["add_note"]),
        (BUYER, ["add_note"], ["add_note"]),
        (LOGISTICS, ["add_note"], ["add_note"]),
    ],
)
def test_allowed_actions_depend_on_the_role_and_the_status(api, who, on_hold_actions, placed_actions):
    campaign = live_campaign(api)
    held = place_on_hold(api, campaign["id"])
    placed = place(api, campaign["id"], ("MUG-1", 1))
    assert staff_order(api, held["id"], who)["allowed_actions"] == on_hold_actions
    assert staff_order(api, placed["id"], who)["allowed_actions"] == placed_actions
    api.post(f"/orders/{placed['id']}/cancel", ALICE)
    assert staff_order(api, placed["id"], who)["allowed_actions"] == ["add_note"]


# ---------------------------------------------------------------- transitions


def test_approving_an_order_on_hold_places_it_and_writes_an_audit_event(api):
    campaign = live_campaign(api)
    held = place(api, campaign["id"], ("MUG-2", 21), ("CAP-1", 1))
    status, order = api.post(
        f"/staff/orders/{held['id']}/transitions",
        CARE,
        {"action": "approve", "internal_note": "verified by phone", "expected_version": 1},
    )
    assert status == 200, order
    assert order["status"] == "placed" and order["version"] == 2
    assert {d["status"] for d in order["deliveries"]} == {"pending"}
    last = order["events"][-1]
    assert (last["type"], last["from_status"], last["to_status"], last["internal_note"]) == (
        "order.approved",
        "on_hold",
        "placed",
        "verified by phone",
    )
    assert last["actor"]["sub"] == "care-1" and last["actor"]["role"] == "customer_care"
    assert order["allowed_actions"] == ["cancel", "add_note"]
    assert api.get(f"/orders/{held['id']}", ALICE)[1]["status"] == "placed"


def test_rejecting_an_order_on_hold_tells_the_customer_and_cancels_its_deliveries(api):
    campaign = live_campaign(api)
    held = place(api, campaign["id"], ("MUG-2", 21), ("CAP-1", 1))
    status, order = api.post(
        f"/staff/orders/{held['id']}/transitions",
        CARE,
        {"action": "reject", "internal_note": "stolen card", "customer_note": "We could not verify your payment."},
    )
    assert status == 200, order
    assert order["status"] == "rejected"
    assert {d["status"] for d in order["deliveries"]} == {"cancelled"}
    last = order["events"][-1]
    assert (last["type"], last["from_status"], last["to_status"]) == ("order.rejected", "on_hold", "rejected")
    mine = api.get(f"/orders/{held['id']}", ALICE)[1]
    assert mine["status"] == "rejected" and mine["allowed_actions"] == []
    assert mine["timeline"][-1]["note"].startswith("We could not verify your payment. We are refunding the ")
    assert "stolen" not in str(mine)


def test_staff_cancel_a_placed_order(api):
    campaign = live_campaign(api)
    placed = place(api, campaign["id"], ("MUG-1", 1))
    status, order = api.post(f"/staff/orders/{placed['id']}/transitions", ADMIN, {"action": "cancel"})
    assert status == 200 and order["status"] == "cancelled"
    assert order["events"][-1]["from_status"] == "placed"


def test_customer_care_cancel_an_order_on_hold_which_is_cancelled_not_rejected(api):
    campaign = live_campaign(api)
    held = place_on_hold(api, campaign["id"])
    status, order = api.post(
        f"/staff/orders/{held['id']}/transitions", CARE, {"action": "cancel", "customer_note": "Cancelled at your request."}
    )
    assert status == 200 and order["status"] == "cancelled"
    assert (order["events"][-1]["from_status"], order["events"][-1]["to_status"]) == ("on_hold", "cancelled")
    assert api.get(f"/orders/{held['id']}", ALICE)[1]["status_text"] == "Your order was cancelled."


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_approving_or_rejecting_an_order_that_is_not_on_hold_is_an_invalid_transition(api, action):
    campaign = live_campaign(api)
    placed = place(api, campaign["id"], ("MUG-1", 1))
    status, body = api.post(f"/staff/orders/{placed['id']}/transitions", CARE, {"action": action})
    error = assert_error(status, body, 409, "invalid_transition")
    assert "placed" in error["message"] and "on_hold" in error["message"]
    order = staff_order(api, placed["id"], CARE)
    assert order["status"] == "placed" and len(order["events"]) == 1


def test_a_rejected_order_cannot_be_approved_afterwards(api):
    campaign = live_campaign(api)
    held = place_on_hold(api, campaign["id"])
    assert api.post(f"/staff/orders/{held['id']}/transitions", CARE, {"action": "reject"})[0] == 200
    assert_error(*api.post(f"/staff/orders/{held['id']}/transitions", CARE, {"action": "approve"}), 409, "invalid_transition")


def test_a_stale_expected_version_is_a_conflict_and_changes_nothing(api):
    campaign = live_campaign(api)
    held = place_on_hold(api, campaign["id"])
    before = staff_order(api, held["id"], CARE)
    status, body = api.post(f"/staff/orders/{held['id']}/transitions", CARE, {"action": "approve", "expected_version": 7})
    assert "version 1" in assert_error(status, body, 409, "conflict")["message"]
    assert staff_order(api, held["id"], CARE) == before


def test_two_reviewers_acting_on_the_same_version_one_wins_and_the_other_gets_a_conflict(api):
    campaign = live_campaign(api)
    held = place_on_hold(api, campaign["id"])
    approve = api.post(f"/staff/orders/{held['id']}/transitions", CARE, {"action": "approve", "expected_version": 1})
    reject = api.post(f"/staff/orders/{held['id']}/transitions", ADMIN, {"action": "reject", "expected_version": 1})
    assert approve[0] == 200
    assert_error(*reject, 409, "conflict")
    order = staff_order(api, held["id"], CARE)
    assert order["status"] == "placed"
    assert [e["type"] for e in order["events"]] == ["order.placed", "order.approved"]


def test_a_lost_race_between_two_loads_of_the_same_version_is_refused_by_the_write(api, monkeypatch):
    """Both reviewers read version 1 before either writes: the version condition on the
    transaction lets exactly one through and leaves one audit event."""
    campaign = live_campaign(api)
    held = place_on_hold(api, campaign["id"])
    stale = order_service._load(held["id"])
    assert stale.version == 1
    monkeypatch.setattr(order_service, "_load", lambda order_id: copy.deepcopy(stale))
    care = Principal(sub="care-1", roles=frozenset({Role.CUSTOMER_CARE}))
    admin = Principal(sub="admin-1", roles=frozenset({Role.ADMIN}))

    outcomes = []
    for actor, action in ((care, OrderAction.APPROVE), (admin, OrderAction.REJECT)):
        try:
            order_service.change_order(actor, held["id"], action, internal_note=f"{action.value} by {actor.sub}")
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")
    monkeypatch.undo()

    assert outcomes == ["ok", "conflict"]
    order = staff_order(api, held["id"], CARE)
    assert order["status"] == "placed" and order["version"] == 2
    assert [(e["type"], e["actor"]["sub"]) for e in order["events"]] == [
        ("order.placed", "cust-alice"),
        ("order.approved", "care-1"),
    ]
    assert {d["status"] for d in order["deliveries"]} == {"pending"}
    assert api.get("/staff/orders?status=rejected", CARE)[1]["items"] == []


def test_a_lost_race_reaches_the_client_as_a_409(api, monkeypatch):
    campaign = live_campaign(api)
    held = place_on_hold(api, campaign["id"])
    stale = order_service._load(held["id"])
    assert api.post(f"/staff/orders/{held['id']}/transitions", CARE, {"action": "approve"})[0] == 200
    monkeypatch.setattr(order_service, "_load", lambda order_id: copy.deepcopy(stale))
    status, body = api.post(f"/staff/orders/{held['id']}/transitions", ADMIN, {"action": "reject"})
    monkeypatch.undo()
    assert_error(status, body, 409, "conflict")
    assert [e["type"] for e in staff_order(api, held["id"], CARE)["events"]] == ["order.placed", "order.approved"]


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"action": "ship"}, "body.action"),
        ({}, "body.action"),
        ({"action": "approve", "expected_version": 0}, "body.expected_version"),
        ({"action": "approve", "expected_version": "1"}, "body.expected_version"),
        ({"action": "approve", "internal_note": ""}, "body.internal_note"),
        ({"action": "approve", "status": "placed"}, "body.status"),
    ],
)
def test_an_invalid_transition_request_is_refused_naming_the_field(api, payload, field):
    status, body = api.post("/staff/orders/ord_any/transitions", CARE, payload)
    assert field in [d["field"] for d in assert_error(status, body, 422, "validation_error")["details"]]


def test_an_invalid_transition_request_leaves_the_order_as_it_was(api):
    campaign = live_campaign(api)
    held = place_on_hold(api, campaign["id"])
    before = staff_order(api, held["id"], CARE)
    status, body = api.post(f"/staff/orders/{held['id']}/transitions", CARE, {"action": "approve", "force": True})
    assert_error(status, body, 422, "validation_error")
    assert staff_order(api, held["id"], CARE) == before


def test_a_transition_on_an_unknown_order_is_a_404(api):
    assert_error(*api.post("/staff/orders/ord_nope/transitions", CARE, {"action": "approve"}), 404, "not_found")


# ---------------------------------------------------------------- notes


def test_an_internal_note_is_recorded_for_staff_and_hidden_from_the_customer(api):
    campaign = live_campaign(api)
    placed = place(api, campaign["id"], ("MUG-1", 1))
    status, note = api.post(f"/staff/orders/{placed['id']}/notes", ACCOUNTING, {"internal_note": "refund risk"})
    assert status == 201, note
    event = note["event"]
    assert event["type"] == "order.note_added" and event["internal_note"] == "refund risk"
    assert event["customer_note"] is None and event["actor"]["sub"] == "acc-1"
    assert event["from_status"] == event["to_status"] == "placed"
    assert staff_order(api, placed["id"], CARE)["events"][-1]["id"] == event["id"]
    mine = api.get(f"/orders/{placed['id']}", ALICE)[1]
    assert len(mine["timeline"]) == 1 and "refund risk" not in str(mine)


def test_a_customer_facing_note_appears_in_the_customers_timeline(api):
    campaign = live_campaign(api)
    placed = place(api, campaign["id"], ("MUG-1", 1))
    status, note = api.post(
        f"/staff/orders/{placed['id']}/notes",
        CARE_NAMED,
        {"customer_note": "  Your mug ships in blue.  ", "internal_note": "red is out"},
    )
    assert status == 201
    assert note["event"]["customer_note"] == "Your mug ships in blue."
    timeline = api.get(f"/orders/{placed['id']}", ALICE)[1]["timeline"]
    assert timeline[-1] == {
        "at": note["event"]["at"],
        "status": None,
        "message": "News about your order.",
        "note": "Your mug ships in blue.",
    }
    assert "red is out" not in str(timeline)


def test_notes_do_not_change_the_order_version_or_status(api):
    campaign = live_campaign(api)
    held = place_on_hold(api, campaign["id"])
    api.post(f"/staff/orders/{held['id']}/notes", CARE, {"internal_note": "one"})
    order = staff_order(api, held["id"], CARE)
    assert order["status"] == "on_hold" and order["version"] == 1
    assert api.post(f"/staff/orders/{held['id']}/transitions", CARE, {"action": "approve", "expected_version": 1})[0] == 200


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"internal_note": ""}, "body.internal_note"),
        ({"customer_note": "   "}, "body.customer_note"),
        ({"internal_note": "x" * 4001}, "body.internal_note"),
        ({"note": "hello"}, "body.note"),
    ],
)
def test_a_malformed_note_is_refused_naming_the_field(api, payload, field):
    status, body = api.post("/staff/orders/ord_any/notes", CARE, payload)
    assert field in [d["field"] for d in assert_error(status, body, 422, "validation_error")["details"]]


@pytest.mark.parametrize("payload", [{}, {"internal_note": None, "customer_note": None}])
def test_a_note_with_no_text_is_refused_and_records_nothing(api, payload):
    campaign = live_campaign(api)
    placed = place(api, campaign["id"], ("MUG-1", 1))
    assert_error(*api.post(f"/staff/orders/{placed['id']}/notes", CARE, payload), 422, "empty_note")
    assert len(staff_order(api, placed["id"], CARE)["events"]) == 1


def test_a_note_on_an_unknown_order_is_a_404(api):
    assert_error(*api.post("/staff/orders/ord_nope/notes", CARE, {"internal_note": "hello"}), 404, "not_found")


def test_notes_can_be_added_to_a_closed_order(api):
    campaign = live_campaign(api)
    placed = place(api, campaign["id"], ("MUG-1", 1))
    api.post(f"/orders/{placed['id']}/cancel", ALICE)
    status, _ = api.post(f"/staff/orders/{placed['id']}/notes", CARE, {"customer_note": "Sorry to see you go"})
    assert status == 201
    assert api.get(f"/orders/{placed['id']}", ALICE)[1]["timeline"][-1]["note"] == "Sorry to see you go"


def test_customers_cannot_add_notes_or_transition_orders(api):
    campaign = live_campaign(api)
    held = place_on_hold(api, campaign["id"])
    assert_error(*api.post(f"/staff/orders/{held['id']}/notes", ALICE, {"customer_note": "hi"}), 403, "forbidden")
    assert_error(*api.post(f"/staff/orders/{held['id']}/transitions", ALICE, {"action": "approve"}), 403, "forbidden")
    assert staff_order(api, held["id"], CARE)["status"] == "on_hold"
