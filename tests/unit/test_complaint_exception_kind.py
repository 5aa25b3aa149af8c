"""`complaint_open`: customer complaints in the staff queue, owned by customer care, with their own
SLA (per-kind escalation thresholds, overridable by settings). Pure: no AWS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.config import load_settings
from chalicelib.domain import exceptions as rules
from chalicelib.domain.exceptions import (
    DEFAULT_ESCALATION_H,
    KINDS,
    LEVELS,
    SEVERITY_NAMES,
    Due,
    Owner,
    Policy,
    Severity,
    Status,
    parse_policy,
)
from chalicelib.domain.notifications import MAILBOXES, TEAMS, Recipient, rules_for

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
DEFAULT = Policy()
COMPLAINT = "complaint_open"
DETAILS = {
    "complaint_id": "cmp_1",
    "order_id": "ord_1",
    "supplier_id": "acme",
    "campaign_id": "cmp_camp",
    "po_id": "po_1",
    "reason": "damaged",
    "customer_email": "alice@example.com",
}


def opened(kind: str, policy: Policy = DEFAULT, at: datetime = T0) -> rules.ExceptionRecord:
    return rules.new_record("exc_1", kind, "complaint", "cmp_1", at, policy, DETAILS)


# ---------------------------------------------------------------- the kind


def test_the_kind_exists_owned_by_customer_care_high_with_its_own_sla():
    k = rules.kind(COMPLAINT)
    assert k.title == "Customer complaint waiting for customer care"
    assert (k.severity, k.owner, k.grace_s) == (Severity.HIGH, Owner.CUSTOMER_CARE, 0)
    assert k.clears_when == "the complaint is resolved or withdrawn"
    assert k.escalation_h == (4, 24, 48)
    assert Owner.CUSTOMER_CARE.value == "customer_care"


def test_a_complaint_opens_at_once_and_carries_what_care_needs():
    r = opened(COMPLAINT)
    assert (r.status, r.severity, r.owner) == (Status.OPEN, Severity.HIGH, Owner.CUSTOMER_CARE)
    assert (r.supplier_id, r.campaign_id) == ("acme", "cmp_camp")  # the queue's supplier/campaign filters
    assert r.title == "Customer complaint waiting for customer care"


def test_every_other_kind_has_no_sla_of_its_own():
    assert [name for name, k in KINDS.items() if k.escalation_h is not None] == [COMPLAINT]


def test_no_kind_is_named_like_a_severity():
    assert not SEVERITY_NAMES & set(KINDS)  # an escalation setting name is one or the other


# ---------------------------------------------------------------- its own SLA drives due times


def test_its_sla_drives_escalation_at_instead_of_its_severitys():
    assert [DEFAULT.escalation_at(Severity.HIGH, T0, n, COMPLAINT) for n in (1, 2, 3)] == [T0 + 4 * H, T0 + 24 * H, T0 + 48 * H]
    # the same severity without a kind (or for a kind without an SLA) keeps high's thresholds
    assert DEFAULT.escalation_at(Severity.HIGH, T0, 3) == T0 + 72 * H
    assert DEFAULT.escalation_at(Severity.HIGH, T0, 3, "payment_failed") == T0 + 72 * H
    assert DEFAULT.escalation_at(Severity.HIGH, T0, 0, COMPLAINT) is None
    assert DEFAULT.escalation_at(Severity.HIGH, T0, LEVELS + 1, COMPLAINT) is None


def test_due_at_for_a_complaint_differs_from_a_high_kind_without_an_sla():
    complaint, failed = opened(COMPLAINT), opened("payment_failed")
    assert complaint.severity is failed.severity is Severity.HIGH
    complaint.level = failed.level = 2
    assert rules.next_due(complaint, DEFAULT) == T0 + 48 * H
    assert rules.next_due(failed, DEFAULT) == T0 + 72 * H


def test_the_sweep_escalates_a_complaint_on_its_own_schedule():
    complaint, failed = opened(COMPLAINT), opened("payment_failed")
    complaint.level = failed.level = 2
    assert rules.on_due(complaint, T0 + 48 * H - timedelta(seconds=1), DEFAULT) == Due("none")
    assert rules.on_due(complaint, T0 + 48 * H, DEFAULT) == Due("escalate", 3)
    assert rules.on_due(failed, T0 + 48 * H, DEFAULT) == Due("none")  # high: not before 72 h
    late = opened(COMPLAINT)
    assert rules.on_due(late, T0 + 50 * H, DEFAULT) == Due("escalate", 3)  # a late sweep jumps to the last level


def test_its_sla_holds_whatever_severity_it_is_raised_or_bumped_with():
    policy = parse_policy(severities=f"{COMPLAINT}=critical")
    r = opened(COMPLAINT, policy)
    assert r.severity is Severity.CRITICAL  # ranks higher in the queue...
    assert rules.next_due(r, policy) == T0 + 4 * H  # ...but escalates on its own SLA, not critical's 1 h
    rules.bump(r, T0, {}, Severity.CRITICAL)
    r.level = 2
    assert rules.next_due(r, policy) == T0 + 48 * H


def test_a_snoozed_complaint_wakes_then_escalates_on_its_own_schedule():
    r = opened(COMPLAINT)
    rules.snooze(r, T0 + 30 * H, T0 + H)
    assert rules.next_due(r, DEFAULT) == T0 + 30 * H
    assert rules.on_due(r, T0 + 30 * H, DEFAULT) == Due("wake")
    rules.wake(r)
    assert rules.on_due(r, T0 + 30 * H, DEFAULT) == Due("escalate", 2)  # 24 h passed while it slept, not 48


# ---------------------------------------------------------------- the setting


def test_the_escalation_setting_takes_kind_names_as_well_as_severities():
    policy = parse_policy(escalation=f" {COMPLAINT} = 2/8/24 , high=5/25/80, payment_failed=1/2/3")
    assert policy.escalation_hours(Severity.HIGH, COMPLAINT) == (2, 8, 24)
    assert policy.escalation_hours(Severity.HIGH, "payment_failed") == (1, 2, 3)  # any kind may get one
    assert policy.escalation_hours(Severity.HIGH, "po_not_acknowledged") == (5, 25, 80)
    assert dict(policy.kind_escalation_h) == {COMPLAINT: (2, 8, 24), "payment_failed": (1, 2, 3)}
    assert policy.escalation_h[Severity.HIGH] == (5, 25, 80)
    assert rules.next_due(opened(COMPLAINT, policy), policy) == T0 + 2 * H


def test_a_severity_override_does_not_move_a_kinds_own_sla():
    policy = parse_policy(escalation="high=5/25/80")
    assert policy.escalation_hours(Severity.HIGH, COMPLAINT) == (4, 24, 48)
    assert rules.next_due(opened("payment_failed", policy), policy) == T0 + 5 * H


@pytest.mark.parametrize(
    "escalation",
    [
        "volcano=1/2/3",  # neither a severity nor a kind
        "complaint=1/2/3",  # not the kind's name
        f"{COMPLAINT}=1/2",  # two levels
        f"{COMPLAINT}=0/8/24",  # not positive
        f"{COMPLAINT}=8/8/24",  # not increasing
        f"{COMPLAINT}=2/x/24",
        COMPLAINT,  # no value
    ],
)
def test_a_malformed_per_kind_escalation_is_refused(escalation: str):
    with pytest.raises(ValueError):
        parse_policy(escalation=escalation)


def test_the_setting_is_read_and_checked_when_settings_load():
    policy = load_settings({"WAYBILL_EXCEPTION_ESCALATION_H": f"{COMPLAINT}=2/8/24"}).exception_policy()
    assert policy.escalation_hours(Severity.HIGH, COMPLAINT) == (2, 8, 24)
    with pytest.raises(ValueError, match="neither a severity nor an exception kind"):
        load_settings({"WAYBILL_EXCEPTION_ESCALATION_H": "complaints=2/8/24"})


# ---------------------------------------------------------------- other kinds unchanged


def test_an_empty_policy_has_no_per_kind_thresholds_and_the_severity_defaults():
    policy = parse_policy()
    assert dict(policy.kind_escalation_h) == {}
    assert dict(policy.escalation_h) == DEFAULT_ESCALATION_H


@pytest.mark.parametrize("name", sorted(set(KINDS) - {COMPLAINT}))
def test_every_other_kind_escalates_on_its_severitys_thresholds(name: str):
    k = KINDS[name]
    for level in range(1, LEVELS + 1):
        expected = T0 + DEFAULT_ESCALATION_H[k.severity][level - 1] * H
        assert DEFAULT.escalation_at(k.severity, T0, level, name) == expected
        assert DEFAULT.escalation_at(k.severity, T0, level) == expected
    r = rules.new_record("e", name, "po", "po_1", T0, DEFAULT, {})
    if r.status is Status.PENDING:
        rules.open_(r, T0)
    assert rules.next_due(r, DEFAULT) == T0 + DEFAULT_ESCALATION_H[k.severity][0] * H


# ---------------------------------------------------------------- customer care is a team


def test_customer_care_is_a_team_with_a_mailbox_and_every_owner_is_a_team():
    assert Recipient.CUSTOMER_CARE in TEAMS and Recipient.CUSTOMER_CARE in MAILBOXES
    assert {o.value for o in Owner} <= {t.value for t in TEAMS}
    settings = load_settings({})
    assert settings.mailbox_customer_care == "care@waybill.example"
    assert all(hasattr(settings, f"mailbox_{team.value}") for team in MAILBOXES)


def complaint_event(type_: str, **data: object) -> dict:
    k = rules.kind(COMPLAINT)
    return {
        "id": "evt-1",
        "type": type_,
        "subject_type": "exception",
        "subject_id": "exc_1",
        "data": {
            "exception_id": "exc_1",
            "kind": COMPLAINT,
            "title": k.title,
            "severity": k.severity.value,
            "owner": k.owner.value,
            "subject_type": "complaint",
            "subject_id": "cmp_1",
            "count": 1,
            "level": 0,
            "assignee": None,
            "details": DETAILS,
            **data,
        },
    }


def fired(event: dict) -> list[tuple[str, str, str]]:
    return [(r.recipient.value, r.template, r.category.value) for r in rules_for(event)]


def test_a_raised_complaint_alerts_customer_care_at_once_and_nobody_else():
    assert fired(complaint_event("exception.raised")) == [("customer_care", "exception_raised", "alert")]
    # the customer's address in the details makes no mail to the customer
    assert fired(complaint_event("exception.repeated")) == []


def test_a_routine_severity_sends_it_to_cares_digest():
    assert fired(complaint_event("exception.raised", severity="medium")) == [("customer_care", "exception_raised", "digest")]


@pytest.mark.parametrize("target", ["customer_care", "admin", "assignee"])
def test_an_escalated_complaint_goes_to_its_target(target: str):
    assert fired(complaint_event("exception.escalated", target=target, level=2)) == [(target, "exception_escalated", "alert")]
