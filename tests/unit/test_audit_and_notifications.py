"""Audit events as the customer sees them, and which events notify whom."""

from __future__ import annotations

import pytest

from chalicelib.domain.audit import CUSTOMER_STATUS_TEXT, AuditEvent, event_type
from chalicelib.domain.notifications import RULES, Recipient, rules_for
from chalicelib.domain.orders import OrderStatus
from chalicelib.domain.permissions import Role

from .factories import NOW, who


def event(**kw) -> AuditEvent:
    values = {
        "id": "evt-1",
        "subject_type": "order",
        "subject_id": "ord-1",
        "type": "order.cancelled",
        "actor": who(Role.CUSTOMER_CARE),
        "at": NOW,
    }
    values.update(kw)
    return AuditEvent(**values)


@pytest.mark.parametrize(
    ("subject", "action", "expected"),
    [
        ("order", "place", "order.placed"),
        ("order", "add_note", "order.note_added"),
        ("campaign", "go_live", "campaign.went_live"),
        ("campaign", "add_products", "campaign.products_added"),
        ("customer", "flag", "customer.flagged"),
        ("order", "teleport", "order.teleport"),
    ],
)
def test_event_types_name_facts_in_the_past_tense(subject, action, expected):
    assert event_type(subject, action) == expected


def test_the_customer_sees_a_status_change_in_customer_words_and_never_the_internal_note():
    view = event(
        from_status="placed",
        to_status="cancelled",
        internal_note="fraud suspected, do not tell",
        customer_note="Sorry about that.",
    ).customer_view()
    assert view == {"at": NOW, "status": "cancelled", "message": CUSTOMER_STATUS_TEXT["cancelled"], "note": "Sorry about that."}
    assert "fraud" not in repr(view)


def test_an_event_with_only_an_internal_note_is_hidden_from_the_customer():
    assert event(from_status="placed", to_status="placed", internal_note="called the bank").customer_view() is None


def test_a_customer_note_without_a_status_change_says_what_it_is_about():
    view = event(
        type="order.note_added",
        from_status="ordered",
        to_status="ordered",
        customer_note="Your mug ships Monday.",
        internal_note="supplier late",
    ).customer_view()
    assert view == {"at": NOW, "status": None, "message": "News about your order.", "note": "Your mug ships Monday."}
    corrected = event(
        type="order.tracking_corrected",
        from_status="dispatched",
        to_status="dispatched",
        customer_note="It is now 1Z999 with UPS.",
    ).customer_view()
    assert corrected is not None and corrected["message"] == "New tracking number for your parcel."


ORDER_EVENT_TYPES = sorted({r.event_type for r in RULES if r.event_type.startswith("order.")} | {"order.teleported"})
STATUS_PAIRS = [(None, None), ("ordered", "ordered"), ("placed", "ordered"), ("ordered", "not_a_status"), (None, "on_hold")]


@pytest.mark.parametrize("type_", ORDER_EVENT_TYPES)
@pytest.mark.parametrize(("from_status", "to_status"), STATUS_PAIRS)
@pytest.mark.parametrize("note", [None, "A word from us."])
def test_a_customer_timeline_entry_always_has_a_message(type_, from_status, to_status, note):
    view = event(type=type_, from_status=from_status, to_status=to_status, customer_note=note).customer_view()
    if view is None:  # nothing to say: no entry at all
        assert not note
        return
    assert view["message"], view  # never an entry with neither status nor message


def test_the_first_event_of_an_order_tells_the_customer_its_status():
    view = event(type="order.placed", to_status="on_hold").customer_view()
    assert view is not None
    assert view["status"] == "on_hold" and view["message"] == CUSTOMER_STATUS_TEXT["on_hold"]


def test_a_status_without_customer_wording_and_no_note_is_hidden():
    assert event(subject_type="campaign", from_status="draft", to_status="live").customer_view() is None


def test_every_order_status_has_customer_wording():
    assert set(CUSTOMER_STATUS_TEXT) == {s.value for s in OrderStatus}


def test_a_placed_order_notifies_the_customer():
    rules = rules_for({"type": "order.placed", "data": {"customer_email": "a@example.com"}})
    assert [(r.recipient, r.template) for r in rules] == [(Recipient.CUSTOMER, "order_update")]
    assert rules[0].headline == "We have received your order"


@pytest.mark.parametrize("event_type_", ["order.approved", "order.rejected", "order.cancelled"])
def test_a_staff_decision_on_an_order_notifies_the_customer(event_type_):
    assert [r.event_type for r in rules_for({"type": event_type_})] == [event_type_]


def test_a_note_notifies_the_customer_only_when_it_has_a_customer_facing_part():
    assert rules_for({"type": "order.note_added", "customer_note": None}) == []
    assert rules_for({"type": "order.note_added", "customer_note": ""}) == []
    assert len(rules_for({"type": "order.note_added", "customer_note": "Good news"})) == 1


@pytest.mark.parametrize("event_type_", ["campaign.went_live", "customer.flagged", "supplier.created", "", None])
def test_events_nobody_needs_to_hear_about_notify_nobody(event_type_):
    assert rules_for({"type": event_type_}) == []


def test_no_two_notification_rules_say_the_same_thing():
    said = [(r.event_type, r.recipient, r.needs_customer_note, r.conditions) for r in RULES]
    assert len(said) == len(set(said))
