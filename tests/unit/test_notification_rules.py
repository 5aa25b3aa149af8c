"""Notification rules as data: which event tells which role what, in which category."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain import exceptions as exc_rules
from chalicelib.domain.notifications import (
    RULES,
    AlertMode,
    Category,
    Disposition,
    Recipient,
    decide,
    event_types,
    normalise_address,
    rules_for,
)
from chalicelib.topology import TOPOLOGY


def fired(event: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(r.recipient.value, r.template, r.category.value) for r in rules_for(event)]


def exception_event(type_: str, *, kind: str = "po_not_acknowledged", top: str = "exception", **data: Any) -> dict:
    k = exc_rules.kind(kind)
    return {
        "id": "evt-1",
        "type": type_,
        "subject_type": top,
        "subject_id": "exc_1",
        "data": {
            "exception_id": "exc_1",
            "kind": kind,
            "title": k.title,
            "severity": k.severity.value,
            "owner": k.owner.value,
            "subject_type": "po",
            "subject_id": "po_1",
            "count": 1,
            "level": 0,
            "assignee": None,
            "details": {},
            **data,
        },
    }


def test_order_events_go_to_the_customer_as_transactional_mail():
    for type_ in ("order.placed", "order.approved", "order.shipped", "order.lines_rejected"):
        assert [(r, c) for r, _, c in fired({"type": type_})] == [("customer", "transactional")], type_


def test_a_note_is_mailed_only_when_it_has_a_customer_part():
    assert fired({"type": "order.note_added", "customer_note": None}) == []
    assert fired({"type": "order.note_added", "customer_note": "Ships Monday"}) == [("customer", "order_update", "transactional")]


def test_a_new_po_goes_to_the_supplier_who_must_act_and_a_copy_to_the_buyer():
    assert fired({"type": "po.created", "data": {}}) == [
        ("supplier", "po_created", "transactional"),
        ("buyer", "po_created", "alert"),
    ]


@pytest.mark.parametrize(
    ("stage", "who"),
    [
        ("acknowledge", "supplier"),
        ("invoice", "supplier"),
        ("payment_proposal", "supplier"),
        ("shipment", "supplier"),
        ("payment_approval", "accounting"),
    ],
)
def test_a_stage_prompt_goes_to_whoever_must_act_and_cannot_be_turned_off(stage, who):
    assert fired({"type": "po.stage_started", "data": {"stage": stage}}) == [(who, "po_stage_opened", "transactional")]
    assert fired({"type": "po.stage_reminded", "data": {"stage": stage}}) == [(who, "po_stage_reminder", "transactional")]


@pytest.mark.parametrize("stage", ["bank_payment", "settlement"])
def test_stages_the_system_or_the_bank_acts_in_tell_nobody(stage):
    assert fired({"type": "po.stage_started", "data": {"stage": stage}}) == []


def test_an_escalated_stage_alerts_the_buyer():
    assert fired({"type": "po.stage_escalated", "data": {"stage": "acknowledge"}}) == [("buyer", "po_stage_escalated", "alert")]


@pytest.mark.parametrize("kind", sorted(exc_rules.KINDS))
def test_a_raised_exception_tells_its_owning_team_at_once_only_when_urgent(kind):
    k = exc_rules.kind(kind)
    category = "alert" if k.severity.value in ("critical", "high") else "digest"
    assert (k.owner.value, "exception_raised", category) in fired(exception_event("exception.raised", kind=kind))
    assert [f for f in fired(exception_event("exception.raised", kind=kind)) if f[1] == "exception_raised"] == [
        (k.owner.value, "exception_raised", category)
    ]


def test_an_urgent_exception_is_an_alert_and_a_routine_one_waits_for_the_digest():
    assert fired(exception_event("exception.raised", kind="invoice_missing", severity="high")) == [
        ("accounting", "exception_raised", "alert")
    ]
    assert fired(exception_event("exception.raised", kind="invoice_missing", severity="low")) == [
        ("accounting", "exception_raised", "digest")
    ]


def test_a_severity_raised_above_the_kinds_makes_it_an_alert():
    assert fired(exception_event("exception.raised", kind="invoice_missing", severity="critical")) == [
        ("accounting", "exception_raised", "alert")
    ]


def test_a_stale_parcel_alerts_the_supplier_and_its_team():
    assert fired(exception_event("exception.raised", kind="tracking_stale", severity="medium")) == [
        ("logistics", "exception_raised", "digest"),
        ("supplier", "tracking_stale", "alert"),
    ]
    # each further silent spell (or the give-up) bumps it: the supplier is reminded, the team is not
    for abandoned in (False, True):
        assert fired(exception_event("exception.repeated", kind="tracking_stale", details={"abandoned": abandoned})) == [
            ("supplier", "tracking_stale", "alert")
        ]
    assert fired(exception_event("exception.repeated", kind="payment_failed")) == []


@pytest.mark.parametrize("target", ["assignee", "buyer", "accounting", "logistics", "admin"])
def test_an_escalation_goes_to_its_target(target):
    assert fired(exception_event("exception.escalated", target=target, level=2)) == [(target, "exception_escalated", "alert")]


def test_an_assignment_tells_the_assignee():
    assert fired(exception_event("exception.assigned", assignee="ops@waybill.example")) == [
        ("assignee", "exception_assigned", "alert")
    ]


@pytest.mark.parametrize("type_", ["exception.raised", "exception.escalated", "exception.assigned"])
def test_the_mirror_event_on_the_subjects_history_fires_nothing(type_):
    assert fired(exception_event(type_, top="po", target="buyer", assignee="ops@waybill.example")) == []


def test_other_exception_events_fire_nothing():
    for type_ in ("exception.acknowledged", "exception.snoozed", "exception.woke", "exception.resolved", "exception.pending"):
        assert fired(exception_event(type_)) == [], type_


def test_every_rule_event_type_is_routed_to_the_notifications_queue():
    (rule,) = [r for r in TOPOLOGY.rules if r.queue.endswith("-notifications")]
    assert set(rule.detail_types) == set(event_types()) == {r.event_type for r in RULES}


def test_every_role_some_rule_names_is_a_known_recipient_and_every_team_is_reachable():
    named = {r.recipient for r in RULES}
    assert named == set(Recipient)


@pytest.mark.parametrize(
    ("category", "opted_out", "alerts", "expected"),
    [
        (Category.TRANSACTIONAL, True, AlertMode.DAILY_DIGEST, Disposition.SEND),
        (Category.ALERT, False, AlertMode.IMMEDIATE, Disposition.SEND),
        (Category.ALERT, False, AlertMode.DAILY_DIGEST, Disposition.HOLD_FOR_DIGEST),
        (Category.ALERT, True, AlertMode.IMMEDIATE, Disposition.SKIP_OPTED_OUT),
        (Category.DIGEST, False, AlertMode.IMMEDIATE, Disposition.HOLD_FOR_DIGEST),
        (Category.DIGEST, True, AlertMode.DAILY_DIGEST, Disposition.SKIP_OPTED_OUT),
    ],
)
def test_preferences_never_touch_transactional_mail(category, opted_out, alerts, expected):
    assert decide(category, opted_out=opted_out, alerts=alerts) is expected


def test_addresses_are_kept_in_lower_case():
    assert normalise_address("  Ops@Waybill.Example ") == "ops@waybill.example"
