"""Held orders (chalicelib/domain/holds.py) and the decision deadline their exception escalates on
(chalicelib/domain/exceptions.py). Pure: no AWS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain import exceptions as rules
from chalicelib.domain import holds
from chalicelib.domain.exceptions import KINDS, LEVELS, Due, Owner, Policy, Severity, Status
from chalicelib.domain.orders import PaymentMode

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
DEFAULT = Policy()


def held_record(
    deadline: datetime | None, *, opened_at: datetime = T0, level: int = 0, severity: Severity = Severity.HIGH
) -> rules.ExceptionRecord:
    details = holds.exception_details(
        order_id="ord_1",
        campaign_id="cmp_1",
        customer_id="cust-1",
        total_cents=60_000,
        currency="EUR",
        reasons=["total_above_threshold"],
        campaign_ends_at=deadline + 24 * H if deadline else None,
        deadline=deadline,
    )
    record = rules.new_record("exc_1", holds.HOLD_KIND, "order", "ord_1", opened_at, DEFAULT, details, severity)
    record.level = level
    return record


def test_a_held_order_is_customer_cares_and_its_deadline_goes_to_the_buyer():
    kind = KINDS[holds.HOLD_KIND]
    assert (kind.owner, kind.severity, kind.grace_s, kind.escalates_to) == (Owner.CUSTOMER_CARE, Severity.HIGH, 0, Owner.BUYER)
    waiting = KINDS[holds.CLOSE_WAITING_KIND]
    assert (waiting.owner, waiting.severity) == (Owner.BUYER, Severity.CRITICAL)
    assert held_record(T0 + 100 * H).status is Status.OPEN  # in the queue at once, no grace period


def test_the_decision_is_due_the_lead_before_the_end_but_never_before_the_order_was_placed():
    ends = T0 + 7 * 24 * H
    assert holds.decide_by(ends, 86400, T0) == ends - 24 * H
    assert holds.decide_by(ends, 0, T0) == ends
    late = ends - 2 * H  # placed inside the last day: due at once
    assert holds.decide_by(ends, 86400, late) == late


def test_the_details_carry_the_deadline_the_record_escalates_on():
    deadline = T0 + 30 * H
    record = held_record(deadline)
    assert record.details["decide_by"] == deadline.isoformat()
    assert record.deadline == deadline
    assert record.details["campaign_ends_at"] == (deadline + 24 * H).isoformat()
    assert record.details["hold_reasons"] == ["total_above_threshold"]
    assert record.campaign_id == "cmp_1"
    assert held_record(None).deadline is None
    assert "decide_by" not in held_record(None).details


def test_with_a_far_deadline_care_is_reminded_after_its_hours_and_the_buyer_hears_at_the_deadline():
    deadline = T0 + 100 * H
    record = held_record(deadline)
    assert rules.next_due(record, DEFAULT) == T0 + 4 * H  # high: care reminded after 4 h
    assert rules.on_due(record, T0 + 4 * H, DEFAULT) == Due("escalate", 1)
    record.level = 1
    assert rules.next_due(record, DEFAULT) == deadline  # not the severity's 24 h
    assert rules.on_due(record, deadline - timedelta(seconds=1), DEFAULT) == Due("none")
    assert rules.on_due(record, deadline, DEFAULT) == Due("escalate", 2)
    record.level = 2
    assert rules.next_due(record, DEFAULT) == deadline + (72 - 24) * H  # level 3 as far after level 2 as usual
    record.level = LEVELS
    assert rules.next_due(record, DEFAULT) is None


def test_a_deadline_sooner_than_cares_hours_brings_level_1_forward_and_a_sweep_after_it_goes_straight_to_the_buyer():
    deadline = T0 + 2 * H
    record = held_record(deadline)
    assert rules.next_due(record, DEFAULT) == deadline
    assert rules.on_due(record, deadline, DEFAULT) == Due("escalate", 2)


def test_an_order_placed_after_its_deadline_point_is_due_at_once():
    record = held_record(T0)  # clamped to the placing time
    assert rules.next_due(record, DEFAULT) == T0
    assert rules.on_due(record, T0, DEFAULT) == Due("escalate", 2)


def test_a_critical_bump_at_the_close_keeps_the_deadline_and_brings_level_3_closer():
    deadline = T0 + 100 * H
    record = held_record(deadline, level=2)
    rules.bump(record, deadline + H, {"close_waiting": True}, Severity.CRITICAL)
    assert record.deadline == deadline  # a repeat's details merge: the deadline stands
    assert rules.next_due(record, DEFAULT) == deadline + (24 - 4) * H


@given(opened_h=st.integers(0, 500), deadline_h=st.integers(-50, 500), severity=st.sampled_from(list(Severity)))
def test_with_any_deadline_the_levels_never_go_backwards(opened_h: int, deadline_h: int, severity: Severity):
    opened = T0 + opened_h * H
    deadline = T0 + deadline_h * H
    at = [DEFAULT.escalation_at(severity, opened, level, holds.HOLD_KIND, deadline) for level in (1, 2, 3)]
    assert all(a is not None for a in at)
    assert at[0] <= at[1] < at[2]  # type: ignore[operator]
    assert at[0] <= opened + DEFAULT.escalation_hours(severity, holds.HOLD_KIND)[0] * H  # type: ignore[operator]


def test_the_setting_takes_reject_or_wait_only():
    assert holds.held_at_close(" Wait ") is holds.HeldAtClose.WAIT
    assert holds.held_at_close("reject") is holds.HeldAtClose.REJECT
    with pytest.raises(ValueError, match="WAYBILL_HELD_AT_CLOSE must be 'reject' or 'wait', not 'later'"):
        holds.held_at_close("later")


def test_hold_reasons_read_as_words_and_an_automatic_rejection_names_its_setting_to_staff_and_the_money_to_the_customer():
    assert holds.reasons_text(["total_above_threshold", "customer_flagged"]) == (
        "its total is above the pre-approval threshold; the customer is flagged"
    )
    assert holds.reasons_text(["new_reason"]) == "new reason"  # never a raw code
    assert "WAYBILL_HELD_AT_CLOSE=reject" in holds.REJECTED_AT_CLOSE_NOTE
    for mode in PaymentMode:
        note = holds.rejected_at_close_customer_note(mode)
        assert note.startswith(holds.REJECTED_AT_CLOSE_CUSTOMER_NOTE)
        assert "WAYBILL_HELD_AT_CLOSE" not in note  # the customer reads words, not settings
        # paid in advance: the refund is promised (by the order service, with its amount), never "not charged"
        assert ("not been charged" in note) is (mode is not PaymentMode.PREPAID)
    assert "WAYBILL_HELD_AT_CLOSE=wait" in holds.close_waiting_note(2)
