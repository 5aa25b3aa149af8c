"""Complaints (chalicelib/domain/complaints.py): who may open one on which delivery and when,
what may be claimed, the handling life (role x status), plans, the refund cap, deterministic
refund ids, returns and the returned / partially_returned display states. Pure: no AWS."""

from __future__ import annotations

import copy
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.complaints import (
    COMPLAINT_ACTIONS,
    RESOLUTIONS_FOR,
    SUPPLIER_BEARS,
    ClaimedLine,
    Complaint,
    ComplaintAction,
    ComplaintPolicy,
    ComplaintReason,
    ComplaintStatus,
    DeliveryFacts,
    Photo,
    Plan,
    PlanLine,
    ProposedLine,
    Replacement,
    Resolution,
    ReturnAction,
    ReturnAuthorisation,
    ReturnLine,
    ReturnState,
    ReturnStatus,
    allowed_actions,
    already_claimed,
    apply_action,
    apply_return_action,
    build_plan,
    carry_out,
    check_eligible,
    check_refund_cap,
    check_refundable,
    delivered_quantities,
    delivery_facts,
    needs_approval,
    open_complaint,
    propose_plan,
    refund_id,
    refundable_cents,
    refunds_on_receipt,
    return_id,
    return_state,
    returned_quantities,
    supplier_bears,
    window_closes_at,
)
from chalicelib.domain.errors import Forbidden, InvalidTransition, RuleViolation
from chalicelib.domain.orders import Delivery, DeliveryStatus, Order, OrderLine, PaymentMode, RequestedLine
from chalicelib.domain.permissions import Principal, Role

R = ComplaintReason
C = ComplaintStatus
A = ComplaintAction
D = DeliveryStatus
RES = Resolution

DELIVERED_AT = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
EXPECTED_BY = datetime(2025, 3, 8, 18, 0, tzinfo=UTC)
NOW = DELIVERED_AT + timedelta(days=2)
US = timedelta(microseconds=1)
WINDOW = timedelta(days=14)
POLICY = ComplaintPolicy(
    window_s=int(WINDOW.total_seconds()),
    max_photos=3,
    max_photo_bytes=1000,
    approval_threshold_cents=5000,
    supplier_bears_lost_in_transit=False,
)

# acme's delivery: 3 mugs at 12.00 and 1 big mug at 25.00; bolt sends a cap.
ACME_LINES = (OrderLine("MUG-1", "Mug", "acme", 3, 1200), OrderLine("MUG-2", "Big mug", "acme", 1, 2500))
BOLT_LINE = OrderLine("CAP-1", "Cap", "bolt", 2, 900)

CUSTOMER = Principal(sub="cust-1", roles=frozenset({Role.CUSTOMER}))
CARE = Principal(sub="care-1", roles=frozenset({Role.CUSTOMER_CARE}))
ADMIN = Principal(sub="admin-1", roles=frozenset({Role.ADMIN}))
SUPPLIER = Principal(sub="sup-1", roles=frozenset({Role.SUPPLIER}), supplier_id="acme")


def who(role: Role) -> Principal:
    return Principal(sub=f"{role.value}-1", roles=frozenset({role}), supplier_id="acme" if role is Role.SUPPLIER else None)


def facts(
    status: DeliveryStatus = D.DELIVERED,
    *,
    delivered_at: datetime | None = DELIVERED_AT,
    expected_by: datetime | None = EXPECTED_BY,
) -> DeliveryFacts:
    return DeliveryFacts("ord-1", "acme", "cust-1", status, ACME_LINES, delivered_at, expected_by)


def photo(key: str = "complaints/ord-1/a.jpg", content_type: str = "image/jpeg", size: int = 500) -> Photo:
    return Photo(key, content_type, size)


def opened(
    *lines: tuple[str, int],
    reason: ComplaintReason = R.DAMAGED,
    wanted: Resolution = RES.REFUND,
    photos: list[Photo] | None = None,
    earlier: list[Complaint] | None = None,
    on: DeliveryFacts | None = None,
    actor: Principal = CUSTOMER,
    now: datetime = NOW,
    complaint_id: str = "cmp-1",
) -> Complaint:
    return open_complaint(
        complaint_id=complaint_id,
        facts=on or facts(),
        reason=reason,
        wanted=wanted,
        requested=[RequestedLine(sku, qty) for sku, qty in (lines or (("MUG-1", 2),))],
        photos=[photo()] if photos is None else photos,
        earlier=earlier or [],
        actor=actor,
        policy=POLICY,
        now=now,
        description="the handle came off",
    )


def refused(code: str, **kw: object) -> RuleViolation:
    lines = kw.pop("lines", ())
    with pytest.raises(RuleViolation) as err:
        opened(*lines, **kw)  # type: ignore[arg-type]
    assert err.value.code == code
    return err.value


# ---------------------------------------------------------------- opening


def test_a_customer_opens_a_complaint_on_a_delivered_delivery_with_the_prices_paid():
    c = opened(("MUG-1", 2), ("MUG-2", 1), wanted=RES.REPLACEMENT)
    assert (c.id, c.order_id, c.supplier_id, c.customer_id) == ("cmp-1", "ord-1", "acme", "cust-1")
    assert (c.status, c.reason, c.wanted, c.opened_at, c.plan) == (C.OPEN, R.DAMAGED, RES.REPLACEMENT, NOW, None)
    assert [(l.sku, l.quantity, l.unit_price_cents, l.paid_cents) for l in c.lines] == [
        ("MUG-1", 2, 1200, 2400),
        ("MUG-2", 1, 2500, 2500),
    ]
    assert c.photos == [photo()] and c.description == "the handle came off"


def test_delivery_facts_take_the_suppliers_lines_and_delivery_status_from_the_order():
    order = Order(
        id="ord-1",
        campaign_id="cmp-1",
        customer_id="cust-1",
        customer_email=None,
        currency="EUR",
        payment_mode=PaymentMode.PREPAID,
        lines=[*ACME_LINES, BOLT_LINE],
        deliveries=[Delivery("acme", D.DELIVERED), Delivery("bolt", D.DISPATCHED)],
        created_at=NOW,
    )
    f = delivery_facts(order, "bolt", delivered_at=None, expected_by=EXPECTED_BY)
    assert (f.order_id, f.supplier_id, f.customer_id, f.status) == ("ord-1", "bolt", "cust-1", D.DISPATCHED)
    assert f.lines == (BOLT_LINE,) and f.expected_by == EXPECTED_BY and f.delivered_at is None
    with pytest.raises(RuleViolation) as err:
        delivery_facts(order, "ghost", delivered_at=None, expected_by=None)
    assert err.value.code == "unknown_delivery"


@pytest.mark.parametrize("status", sorted(set(DeliveryStatus) - {D.DELIVERED, D.DISPATCHED, D.PARTIALLY_RETURNED}))
def test_no_complaint_on_a_delivery_neither_delivered_nor_on_its_way(status):
    with pytest.raises(InvalidTransition) as err:
        opened(on=facts(status))
    assert status.value in err.value.message and "delivered, dispatched" in err.value.message


@pytest.mark.parametrize("role", sorted(set(Role) - {Role.CUSTOMER}))
def test_only_a_customer_opens_a_complaint(role):
    with pytest.raises(Forbidden):
        opened(actor=who(role))


@pytest.mark.parametrize("reason", [R.DAMAGED, R.WRONG_ITEM, R.MISSING_ITEM, R.NOT_AS_DESCRIBED])
def test_a_delivered_delivery_takes_every_reason_but_lost_in_transit(reason):
    assert opened(reason=reason).reason is reason


def test_a_delivered_delivery_was_not_lost_in_transit():
    err = refused("reason_not_allowed", reason=R.LOST_IN_TRANSIT)
    assert "lost_in_transit" in err.message


def test_a_parcel_past_its_expected_date_can_be_claimed_lost():
    c = opened(reason=R.LOST_IN_TRANSIT, on=facts(D.DISPATCHED, delivered_at=None), now=EXPECTED_BY + US)
    assert c.reason is R.LOST_IN_TRANSIT and c.status is C.OPEN


@pytest.mark.parametrize("reason", [R.DAMAGED, R.WRONG_ITEM, R.MISSING_ITEM, R.NOT_AS_DESCRIBED])
def test_a_parcel_on_its_way_can_only_be_claimed_lost(reason):
    refused("reason_not_allowed", reason=reason, on=facts(D.DISPATCHED, delivered_at=None), now=EXPECTED_BY + US)


@pytest.mark.parametrize("now", [EXPECTED_BY, EXPECTED_BY - US, EXPECTED_BY - timedelta(days=3)])
def test_a_parcel_not_yet_past_its_expected_date_is_not_lost(now):
    refused("not_overdue", reason=R.LOST_IN_TRANSIT, on=facts(D.DISPATCHED, delivered_at=None), now=now)


def test_a_parcel_without_an_expected_date_is_never_claimed_lost():
    err = refused(
        "not_overdue",
        reason=R.LOST_IN_TRANSIT,
        on=facts(D.DISPATCHED, delivered_at=None, expected_by=None),
        now=NOW + timedelta(days=300),
    )
    assert "no expected date" in err.message


# ---------------------------------------------------------------- the window


def test_the_window_closes_the_policys_seconds_after_delivery():
    assert window_closes_at(DELIVERED_AT, POLICY) == DELIVERED_AT + WINDOW


@pytest.mark.parametrize("now", [DELIVERED_AT - timedelta(hours=1), DELIVERED_AT, DELIVERED_AT + WINDOW])
def test_a_complaint_is_taken_up_to_and_at_the_windows_last_instant(now):
    assert opened(now=now).opened_at == now


@pytest.mark.parametrize("late", [US, timedelta(seconds=1), timedelta(days=30)])
def test_a_complaint_after_the_window_is_refused(late):
    err = refused("complaint_window_closed", now=DELIVERED_AT + WINDOW + late)
    assert (DELIVERED_AT + WINDOW).isoformat() in err.message


def test_a_lost_parcels_window_counts_from_its_expected_date():
    lost = facts(D.DISPATCHED, delivered_at=None)
    assert opened(reason=R.LOST_IN_TRANSIT, on=lost, now=EXPECTED_BY + WINDOW).status is C.OPEN
    refused("complaint_window_closed", reason=R.LOST_IN_TRANSIT, on=lost, now=EXPECTED_BY + WINDOW + US)


def test_a_delivered_delivery_without_its_delivery_time_is_a_programming_error():
    with pytest.raises(ValueError):
        check_eligible(facts(delivered_at=None), R.DAMAGED, NOW, POLICY)


@pytest.mark.parametrize("bad", [{"window_s": 0}, {"max_photo_bytes": 0}, {"max_photos": -1}, {"approval_threshold_cents": -1}])
def test_a_policy_with_impossible_limits_is_refused(bad):
    with pytest.raises(ValueError):
        ComplaintPolicy(**bad)


# ---------------------------------------------------------------- lines and quantities


def test_a_complaint_names_at_least_one_line():
    with pytest.raises(RuleViolation) as err:
        open_complaint(
            complaint_id="c",
            facts=facts(),
            reason=R.DAMAGED,
            wanted=RES.REFUND,
            requested=[],
            photos=[],
            earlier=[],
            actor=CUSTOMER,
            policy=POLICY,
            now=NOW,
        )
    assert err.value.code == "invalid_complaint"
    assert err.value.details == [{"field": "lines", "message": "name at least one line"}]


def test_a_line_from_another_suppliers_delivery_is_refused():
    err = refused("invalid_complaint", lines=[("MUG-1", 1), ("CAP-1", 1)])
    assert err.details == [{"field": "lines[1].sku", "message": "SKU CAP-1 is not in this delivery"}]


def test_a_line_named_twice_is_refused_on_each_occurrence():
    err = refused("invalid_complaint", lines=[("MUG-1", 1), ("MUG-1", 1)])
    assert [d["field"] for d in err.details] == ["lines[0].sku", "lines[1].sku"]


@pytest.mark.parametrize("quantity", [0, -1, 4])
def test_a_quantity_outside_one_to_what_was_delivered_is_refused(quantity):
    err = refused("invalid_complaint", lines=[("MUG-1", quantity)])
    assert err.details == [
        {"field": "lines[0].quantity", "message": "MUG-1: between 1 and 3 can be claimed (3 delivered, 0 claimed before)"}
    ]


def test_the_whole_delivered_quantity_can_be_claimed():
    assert opened(("MUG-1", 3), ("MUG-2", 1)).lines[0].quantity == 3


def complaint(
    status: C = C.OPEN,
    *lines: tuple[str, int],
    order_id: str = "ord-1",
    supplier_id: str = "acme",
    reason: R = R.DAMAGED,
    complaint_id: str = "cmp-0",
) -> Complaint:
    prices = {l.sku: l.unit_price_cents for l in (*ACME_LINES, BOLT_LINE)}
    return Complaint(
        id=complaint_id,
        order_id=order_id,
        supplier_id=supplier_id,
        customer_id="cust-1",
        reason=reason,
        wanted=RES.REFUND,
        lines=[ClaimedLine(sku, q, prices[sku]) for sku, q in (lines or (("MUG-1", 2),))],
        photos=[],
        opened_at=NOW,
        status=status,
    )


def test_earlier_complaints_on_the_same_lines_cap_what_is_left():
    earlier = [complaint(C.RESOLVED, ("MUG-1", 2))]
    assert opened(("MUG-1", 1), earlier=earlier).lines[0].quantity == 1
    err = refused("invalid_complaint", lines=[("MUG-1", 2)], earlier=earlier)
    assert err.details[0]["message"] == "MUG-1: between 1 and 1 can be claimed (3 delivered, 2 claimed before)"


def test_claims_add_up_across_several_earlier_complaints():
    earlier = [complaint(C.IN_PROGRESS, ("MUG-1", 1)), complaint(C.OPEN, ("MUG-1", 2), ("MUG-2", 1))]
    err = refused("invalid_complaint", lines=[("MUG-1", 1), ("MUG-2", 1)], earlier=earlier)
    assert [d["field"] for d in err.details] == ["lines[0].quantity", "lines[1].quantity"]
    assert "between 1 and 0" in err.details[0]["message"]


def test_a_withdrawn_complaint_gives_its_quantity_back():
    earlier = [complaint(C.WITHDRAWN, ("MUG-1", 3))]
    assert opened(("MUG-1", 3), earlier=earlier).lines[0].quantity == 3


def test_complaints_on_other_deliveries_or_orders_do_not_count():
    earlier = [complaint(C.OPEN, ("MUG-1", 3), order_id="ord-2"), complaint(C.OPEN, ("CAP-1", 2), supplier_id="bolt")]
    assert opened(("MUG-1", 3), earlier=earlier).lines[0].quantity == 3


def test_already_claimed_sums_per_sku_over_the_deliverys_live_complaints():
    complaints = [
        complaint(C.OPEN, ("MUG-1", 1)),
        complaint(C.RESOLVED, ("MUG-1", 1), ("MUG-2", 1)),
        complaint(C.WITHDRAWN, ("MUG-1", 1)),
        complaint(C.OPEN, ("MUG-1", 1), order_id="ord-9"),
    ]
    assert already_claimed(complaints, "ord-1", "acme") == Counter({"MUG-1": 2, "MUG-2": 1})


# ---------------------------------------------------------------- photos and the wanted resolution


def test_photos_up_to_the_limit_are_accepted_and_none_is_fine():
    three = [photo(f"k{i}") for i in range(3)]
    assert len(opened(photos=three).photos) == 3
    assert opened(photos=[]).photos == []


def test_more_photos_than_the_limit_are_refused():
    err = refused("invalid_complaint", photos=[photo(f"k{i}") for i in range(4)])
    assert err.details == [{"field": "photos", "message": "at most 3 photos"}]


@pytest.mark.parametrize("content_type", ["image/jpeg", "image/png", "image/webp"])
def test_jpeg_png_and_webp_photos_are_accepted(content_type):
    assert opened(photos=[photo(content_type=content_type)]).photos[0].content_type == content_type


@pytest.mark.parametrize("content_type", ["image/gif", "application/pdf", "IMAGE/JPEG", ""])
def test_other_content_types_are_refused(content_type):
    err = refused("invalid_complaint", photos=[photo(content_type=content_type)])
    assert err.details[0]["field"] == "photos[0].content_type"


@pytest.mark.parametrize("size", [1, 1000])
def test_a_photo_within_the_size_limit_is_accepted(size):
    assert opened(photos=[photo(size=size)]).photos[0].size_bytes == size


@pytest.mark.parametrize("size", [0, 1001])
def test_an_empty_or_oversized_photo_is_refused(size):
    err = refused("invalid_complaint", photos=[photo(), photo("k2", size=size)])
    assert err.details == [{"field": "photos[1].size_bytes", "message": "a photo has 1 to 1000 bytes"}]


def test_the_same_photo_twice_is_refused():
    err = refused("invalid_complaint", photos=[photo("k"), photo("k")])
    assert [d["field"] for d in err.details] == ["photos[0].key", "photos[1].key"]


@pytest.mark.parametrize("reason", [R.MISSING_ITEM, R.LOST_IN_TRANSIT])
def test_nothing_that_never_arrived_can_be_returned(reason):
    assert RES.RETURN_FOR_REFUND not in RESOLUTIONS_FOR[reason]
    on = facts(D.DISPATCHED, delivered_at=None) if reason is R.LOST_IN_TRANSIT else facts()
    now = EXPECTED_BY + US if reason is R.LOST_IN_TRANSIT else NOW
    err = refused("invalid_complaint", reason=reason, wanted=RES.RETURN_FOR_REFUND, on=on, now=now)
    assert err.details == [{"field": "wanted", "message": f"return_for_refund is not possible for {reason.value}"}]


def test_every_problem_with_a_complaint_is_named_at_once():
    err = refused(
        "invalid_complaint",
        lines=[("NOPE", 1)],
        photos=[photo(content_type="image/gif")],
        reason=R.MISSING_ITEM,
        wanted=RES.RETURN_FOR_REFUND,
    )
    assert [d["field"] for d in err.details] == ["lines[0].sku", "photos[0].content_type", "wanted"]
    assert "NOPE" in err.message and "image/gif" in err.message


# ---------------------------------------------------------------- handling: every action x status x role

SMALL_PLAN = [ProposedLine("MUG-1", RES.REFUND, 1, 1200)]
CARE_ROLES = {Role.CUSTOMER_CARE, Role.ADMIN}
WITH_CARE = {C.OPEN, C.AWAITING_SUPPLIER, C.SUPPLIER_ANSWERED, C.DISPUTED}

# The rules, spelled out independently of the module's tables.
EXPECTED: dict[ComplaintAction, tuple[set[Role], set[ComplaintStatus], ComplaintStatus]] = {
    A.ASK_SUPPLIER: (CARE_ROLES, {C.OPEN, C.SUPPLIER_ANSWERED, C.DISPUTED}, C.AWAITING_SUPPLIER),
    A.ANSWER: ({Role.SUPPLIER}, {C.AWAITING_SUPPLIER}, C.SUPPLIER_ANSWERED),
    A.PROPOSE_PLAN: (CARE_ROLES, WITH_CARE | {C.PLAN_PROPOSED}, C.PLAN_PROPOSED),
    A.SUBMIT_PLAN: (CARE_ROLES, {C.PLAN_PROPOSED}, C.PLAN_APPROVED),  # a plan within the threshold
    A.APPROVE_PLAN: ({Role.ADMIN}, {C.NEEDS_APPROVAL}, C.PLAN_APPROVED),
    A.REJECT_PLAN: ({Role.ADMIN}, {C.NEEDS_APPROVAL}, C.PLAN_PROPOSED),
    A.ACCEPT_PLAN: ({Role.CUSTOMER}, {C.PLAN_APPROVED}, C.ACCEPTED),
    A.DISPUTE_PLAN: ({Role.CUSTOMER}, {C.PLAN_APPROVED}, C.DISPUTED),
    A.START: (CARE_ROLES, {C.ACCEPTED}, C.IN_PROGRESS),
    A.RESOLVE: (CARE_ROLES, {C.IN_PROGRESS}, C.RESOLVED),
    A.WITHDRAW: ({Role.CUSTOMER}, WITH_CARE, C.WITHDRAWN),
}


def with_plan(status: C, proposed: list[ProposedLine] | None = None, **kw: object) -> Complaint:
    c = complaint(status, ("MUG-1", 3), ("MUG-2", 1), **kw)  # type: ignore[arg-type]
    c.plan = build_plan(c, proposed or SMALL_PLAN, policy=POLICY, by="care-1", at=NOW)
    return c


def act(c: Complaint, action: ComplaintAction, actor: Principal, policy: ComplaintPolicy = POLICY):
    if action is A.PROPOSE_PLAN:
        return propose_plan(c, SMALL_PLAN, actor, policy, NOW)
    return apply_action(c, action, actor, policy)


def test_the_expected_matrix_names_every_action():
    assert set(EXPECTED) == set(ComplaintAction) == set(COMPLAINT_ACTIONS)


@pytest.mark.parametrize("status", list(ComplaintStatus))
@pytest.mark.parametrize("action", list(ComplaintAction))
def test_each_action_is_allowed_only_to_its_roles_in_its_statuses(action, status):
    allowed_roles, from_statuses, to = EXPECTED[action]
    for role in Role:
        c = with_plan(status)
        before = copy.deepcopy(c)
        if role not in allowed_roles:
            with pytest.raises(Forbidden):
                act(c, action, who(role))
            assert c == before
        elif status not in from_statuses:
            with pytest.raises(InvalidTransition) as err:
                act(c, action, who(role))
            assert status.value in err.value.message
            assert c == before
        else:
            t = act(c, action, who(role))
            assert (t.action, t.from_status, t.to_status) == (action.value, status.value, to.value)
            assert c.status is to


def test_a_plan_is_proposed_only_through_propose_plan():
    with pytest.raises(ValueError):
        apply_action(complaint(C.OPEN), A.PROPOSE_PLAN, CARE, POLICY)


def test_nobody_acts_on_a_resolved_or_withdrawn_complaint():
    for status in (C.RESOLVED, C.WITHDRAWN):
        assert all(allowed_actions(with_plan(status), who(role)) == [] for role in Role)


def test_allowed_actions_are_the_buttons_for_this_role_now():
    assert allowed_actions(with_plan(C.PLAN_APPROVED), CUSTOMER) == ["accept_plan", "dispute_plan"]
    assert allowed_actions(with_plan(C.OPEN), CUSTOMER) == ["withdraw"]
    assert allowed_actions(with_plan(C.OPEN), CARE) == ["ask_supplier", "propose_plan"]
    assert allowed_actions(with_plan(C.AWAITING_SUPPLIER), SUPPLIER) == ["answer"]
    assert allowed_actions(with_plan(C.NEEDS_APPROVAL), CARE) == []
    assert allowed_actions(with_plan(C.NEEDS_APPROVAL), ADMIN) == ["approve_plan", "reject_plan"]


def test_a_complaint_walks_from_open_to_resolved_through_supplier_approval_and_acceptance():
    c = opened(("MUG-1", 3), ("MUG-2", 1))
    steps = [
        act(c, A.ASK_SUPPLIER, CARE),
        act(c, A.ANSWER, SUPPLIER),
        propose_plan(
            c, [ProposedLine("MUG-1", RES.REFUND, 3, 3600), ProposedLine("MUG-2", RES.REFUND, 1, 2500)], CARE, POLICY, NOW
        ),
        act(c, A.SUBMIT_PLAN, CARE),
        act(c, A.APPROVE_PLAN, ADMIN),
        act(c, A.ACCEPT_PLAN, CUSTOMER),
        act(c, A.START, CARE),
        act(c, A.RESOLVE, CARE),
    ]
    assert [(t.from_status, t.to_status) for t in steps] == [
        ("open", "awaiting_supplier"),
        ("awaiting_supplier", "supplier_answered"),
        ("supplier_answered", "plan_proposed"),
        ("plan_proposed", "needs_approval"),
        ("needs_approval", "plan_approved"),
        ("plan_approved", "accepted"),
        ("accepted", "in_progress"),
        ("in_progress", "resolved"),
    ]


def test_a_disputed_plan_goes_back_to_care_and_a_new_plan_replaces_it():
    c = with_plan(C.PLAN_APPROVED)
    act(c, A.DISPUTE_PLAN, CUSTOMER)
    assert c.status is C.DISPUTED
    propose_plan(c, [ProposedLine("MUG-1", RES.REPLACEMENT, 2)], CARE, POLICY, NOW + timedelta(hours=1))
    assert c.status is C.PLAN_PROPOSED
    assert c.plan is not None and [l.resolution for l in c.plan.lines] == [RES.REPLACEMENT]
    assert c.plan.proposed_at == NOW + timedelta(hours=1) and c.plan.proposed_by == "care-1"


def test_an_admin_sends_a_plan_back_to_care():
    c = with_plan(C.NEEDS_APPROVAL)
    assert act(c, A.REJECT_PLAN, ADMIN).to_status == "plan_proposed"
    assert c.plan is not None  # kept for care to revise


# ---------------------------------------------------------------- the approval threshold


@pytest.mark.parametrize(
    "threshold, expected", [(3601, C.PLAN_APPROVED), (3600, C.PLAN_APPROVED), (3599, C.NEEDS_APPROVAL), (0, C.NEEDS_APPROVAL)]
)
def test_a_plan_refunding_more_than_the_threshold_needs_an_admin(threshold, expected):
    policy = ComplaintPolicy(approval_threshold_cents=threshold)
    c = with_plan(C.PLAN_PROPOSED, [ProposedLine("MUG-1", RES.REFUND, 3, 3600)])
    assert c.plan is not None and needs_approval(c.plan, policy) is (expected is C.NEEDS_APPROVAL)
    assert act(c, A.SUBMIT_PLAN, CARE, policy).to_status == expected.value


def test_refunds_on_receipt_count_towards_the_threshold_and_replacements_do_not():
    c = with_plan(
        C.PLAN_PROPOSED, [ProposedLine("MUG-1", RES.REPLACEMENT, 3), ProposedLine("MUG-2", RES.RETURN_FOR_REFUND, 1, 2500)]
    )
    assert act(c, A.SUBMIT_PLAN, CARE, ComplaintPolicy(approval_threshold_cents=2499)).to_status == "needs_approval"
    c = with_plan(C.PLAN_PROPOSED, [ProposedLine("MUG-1", RES.REPLACEMENT, 3)])
    assert act(c, A.SUBMIT_PLAN, CARE, ComplaintPolicy(approval_threshold_cents=0)).to_status == "plan_approved"


# ---------------------------------------------------------------- plans


def plan_of(*proposed: ProposedLine, reason: R = R.DAMAGED, policy: ComplaintPolicy = POLICY) -> Plan:
    c = complaint(C.OPEN, ("MUG-1", 3), ("MUG-2", 1), reason=reason)
    return build_plan(c, list(proposed), policy=policy, by="care-1", at=NOW)


def bad_plan(*proposed: ProposedLine, reason: R = R.DAMAGED) -> list[dict[str, object]]:
    with pytest.raises(RuleViolation) as err:
        plan_of(*proposed, reason=reason)
    assert err.value.code == "invalid_plan"
    return err.value.details


def test_a_plan_records_each_lines_cap_and_the_suppliers_share():
    plan = plan_of(ProposedLine("MUG-1", RES.REFUND, 2, 1000), ProposedLine("MUG-2", RES.RETURN_FOR_REFUND, 1, 2500))
    assert plan.lines == (
        PlanLine("MUG-1", RES.REFUND, 2, 1000, 2400, 1000),
        PlanLine("MUG-2", RES.RETURN_FOR_REFUND, 1, 2500, 2500, 2500),
    )
    assert (plan.refund_cents, plan.charge_back_cents, plan.supplier_bears) == (3500, 3500, True)
    assert (plan.proposed_by, plan.proposed_at) == ("care-1", NOW)


@pytest.mark.parametrize("reason", [R.DAMAGED, R.WRONG_ITEM, R.MISSING_ITEM, R.NOT_AS_DESCRIBED])
def test_the_supplier_bears_goods_that_arrived_wrong(reason):
    assert SUPPLIER_BEARS[reason] is True and supplier_bears(reason, POLICY) is True
    assert plan_of(ProposedLine("MUG-1", RES.REFUND, 1, 700), reason=reason).charge_back_cents == 700


@pytest.mark.parametrize("bears", [True, False])
def test_who_bears_a_lost_parcel_is_the_policys_choice(bears):
    policy = ComplaintPolicy(supplier_bears_lost_in_transit=bears)
    assert supplier_bears(R.LOST_IN_TRANSIT, policy) is bears
    plan = plan_of(ProposedLine("MUG-1", RES.REFUND, 3, 3600), reason=R.LOST_IN_TRANSIT, policy=policy)
    assert plan.supplier_bears is bears
    assert (plan.refund_cents, plan.charge_back_cents) == (3600, 3600 if bears else 0)


def test_every_reason_has_a_bearer():
    assert set(SUPPLIER_BEARS) | {R.LOST_IN_TRANSIT} == set(ComplaintReason)


@pytest.mark.parametrize("resolution", [RES.REFUND, RES.RETURN_FOR_REFUND])
def test_a_refund_may_be_full_or_partial_for_the_quantity_in_the_plan(resolution):
    assert plan_of(ProposedLine("MUG-1", resolution, 2, 2400)).refund_cents == 2400
    assert plan_of(ProposedLine("MUG-1", resolution, 2, 1)).refund_cents == 1


@pytest.mark.parametrize("resolution", [RES.REFUND, RES.RETURN_FOR_REFUND])
@pytest.mark.parametrize("cents", [0, -5, 2401])
def test_a_refund_is_at_least_a_cent_and_never_more_than_the_quantity_paid(resolution, cents):
    details = bad_plan(ProposedLine("MUG-1", resolution, 2, cents))
    assert details == [{"field": "lines[0].refund_cents", "message": "MUG-1: refund between 1 and 2400 cents (paid for 2)"}]


def test_a_replacement_refunds_nothing():
    assert plan_of(ProposedLine("MUG-1", RES.REPLACEMENT, 3)).refund_cents == 0
    details = bad_plan(ProposedLine("MUG-1", RES.REPLACEMENT, 3, 100))
    assert details == [{"field": "lines[0].refund_cents", "message": "MUG-1: a replacement refunds nothing"}]


@pytest.mark.parametrize("quantity", [0, 4])
def test_a_plan_line_covers_one_to_the_claimed_quantity(quantity):
    details = bad_plan(ProposedLine("MUG-1", RES.REPLACEMENT, quantity))
    assert details == [{"field": "lines[0].quantity", "message": "MUG-1: quantity between 1 and 3 (claimed)"}]


def test_a_plan_only_covers_claimed_lines_once_each():
    assert bad_plan() == [{"field": "lines", "message": "a plan has at least one line"}]
    assert bad_plan(ProposedLine("CAP-1", RES.REFUND, 1, 100)) == [
        {"field": "lines[0].sku", "message": "SKU CAP-1 is not claimed by this complaint"}
    ]
    twice = bad_plan(ProposedLine("MUG-1", RES.REFUND, 1, 100), ProposedLine("MUG-1", RES.REPLACEMENT, 1))
    assert [d["field"] for d in twice] == ["lines[0].sku", "lines[1].sku"]


def test_a_plan_leaving_a_claimed_line_out_gives_it_nothing():
    plan = plan_of(ProposedLine("MUG-2", RES.REFUND, 1, 2500))
    assert [l.sku for l in plan.lines] == ["MUG-2"] and plan.refund_cents == 2500


@pytest.mark.parametrize("reason", [R.MISSING_ITEM, R.LOST_IN_TRANSIT])
def test_a_plan_cannot_ask_back_what_never_arrived(reason):
    details = bad_plan(ProposedLine("MUG-1", RES.RETURN_FOR_REFUND, 1, 1200), reason=reason)
    assert details == [{"field": "lines[0].resolution", "message": f"return_for_refund is not possible for {reason.value}"}]


def test_an_invalid_plan_leaves_the_complaint_as_it_was():
    c = with_plan(C.SUPPLIER_ANSWERED)
    before = copy.deepcopy(c)
    with pytest.raises(RuleViolation):
        propose_plan(c, [ProposedLine("MUG-1", RES.REFUND, 1, 99_999)], CARE, POLICY, NOW)
    assert c == before


# ---------------------------------------------------------------- the refund cap


def test_a_plan_may_refund_exactly_what_is_left():
    plan = plan_of(ProposedLine("MUG-1", RES.REFUND, 3, 3600))
    check_refund_cap(10_000, 6_400, plan)  # nothing raised: 3600 left
    assert refundable_cents(10_000, 6_400) == 3600


def test_a_plan_refunding_a_cent_more_than_is_left_is_refused_with_the_figures():
    plan = plan_of(ProposedLine("MUG-1", RES.REFUND, 3, 3600))
    with pytest.raises(RuleViolation) as err:
        check_refund_cap(10_000, 6_401, plan)
    assert err.value.code == "refund_exceeds_captured"
    assert err.value.message == (
        "a refund of 36.00 exceeds what the order can still refund: 100.00 captured, 64.01 already refunded, 35.99 left"
    )


def test_nothing_is_left_once_more_was_refunded_than_captured():
    assert refundable_cents(1000, 1500) == 0
    with pytest.raises(RuleViolation):
        check_refundable(1, 1000, 1500)


def test_negative_money_is_a_programming_error():
    with pytest.raises(ValueError):
        refundable_cents(-1, 0)
    with pytest.raises(ValueError):
        refundable_cents(0, -1)


proposed_refunds = st.lists(
    st.tuples(st.sampled_from([RES.REFUND, RES.RETURN_FOR_REFUND, RES.REPLACEMENT]), st.integers(1, 3600)), min_size=1, max_size=2
)


@settings(max_examples=200, deadline=None)
@given(captured=st.integers(0, 20_000), refunded=st.integers(0, 20_000), lines=proposed_refunds)
def test_a_plan_passes_the_cap_exactly_when_it_fits_in_captured_minus_refunded(captured, refunded, lines):
    skus = ["MUG-1", "MUG-2"]
    caps = {"MUG-1": 3600, "MUG-2": 2500}
    proposed = [
        ProposedLine(sku, res, 3 if sku == "MUG-1" else 1, 0 if res is RES.REPLACEMENT else min(cents, caps[sku]))
        for sku, (res, cents) in zip(skus, lines, strict=False)
    ]
    plan = plan_of(*proposed)
    try:
        check_refund_cap(captured, refunded, plan)
    except RuleViolation as err:
        assert err.code == "refund_exceeds_captured"
        assert plan.refund_cents > max(0, captured - refunded)
    else:  # a plan paying nothing back (replacements only) passes even when the order is over-refunded
        assert plan.refund_cents == 0 or plan.refund_cents <= captured - refunded


@settings(max_examples=200, deadline=None)
@given(captured=st.integers(0, 10_000), attempts=st.lists(st.integers(1, 5_000), max_size=8))
def test_refunds_checked_one_by_one_never_add_up_to_more_than_was_captured(captured, attempts):
    refunded = 0
    for amount in attempts:
        try:
            check_refundable(amount, captured, refunded)
        except RuleViolation:
            assert amount > captured - refunded
            continue
        refunded += amount
        assert refunded <= captured


# ---------------------------------------------------------------- deterministic ids and carrying out


def test_a_refund_id_depends_only_on_complaint_and_sku():
    assert refund_id("cmp-1", "MUG-1") == refund_id("cmp-1", "MUG-1")
    assert refund_id("cmp-1", "MUG-1").startswith("rfd_") and len(refund_id("cmp-1", "MUG-1")) == 4 + 24
    ids = {refund_id("cmp-1", "MUG-1"), refund_id("cmp-1", "MUG-2"), refund_id("cmp-2", "MUG-1"), refund_id("cmp-1M", "UG-1")}
    assert len(ids) == 4


def test_a_return_id_depends_only_on_the_complaint():
    assert return_id("cmp-1") == return_id("cmp-1") != return_id("cmp-2")
    assert return_id("cmp-1").startswith("rma_")


MIXED = [ProposedLine("MUG-1", RES.REFUND, 1, 1200), ProposedLine("MUG-2", RES.RETURN_FOR_REFUND, 1, 2000)]


def test_an_accepted_plan_sets_refunds_replacements_and_a_return_going():
    ex = carry_out(with_plan(C.ACCEPTED, MIXED), NOW)
    assert [(r.id, r.sku, r.amount_cents, r.charge_back_cents, r.order_id) for r in ex.refunds] == [
        (refund_id("cmp-0", "MUG-1"), "MUG-1", 1200, 1200, "ord-1")
    ]
    assert ex.replacements == ()
    assert ex.rma is not None
    assert (ex.rma.id, ex.rma.complaint_id, ex.rma.supplier_id, ex.rma.status, ex.rma.authorised_at) == (
        return_id("cmp-0"),
        "cmp-0",
        "acme",
        ReturnStatus.AUTHORISED,
        NOW,
    )
    assert ex.rma.lines == (ReturnLine("MUG-2", 1, 2000, 2000),)
    replacement_only = carry_out(with_plan(C.ACCEPTED, [ProposedLine("MUG-1", RES.REPLACEMENT, 2)]), NOW)
    assert replacement_only.replacements == (Replacement("MUG-1", 2),)
    assert replacement_only.refunds == () and replacement_only.rma is None


def test_carrying_out_twice_names_the_same_refunds_and_return():
    c = with_plan(C.ACCEPTED, MIXED)
    first = carry_out(c, NOW)
    act(c, A.START, CARE)
    assert carry_out(c, NOW) == first


@pytest.mark.parametrize("status", sorted(set(ComplaintStatus) - {C.ACCEPTED, C.IN_PROGRESS}))
def test_only_an_accepted_plan_is_carried_out(status):
    with pytest.raises(InvalidTransition):
        carry_out(with_plan(status), NOW)


def test_a_complaint_without_a_plan_has_nothing_to_carry_out():
    with pytest.raises(InvalidTransition):
        carry_out(complaint(C.ACCEPTED), NOW)


# ---------------------------------------------------------------- returns

RETURN_EXPECTED: dict[ReturnAction, tuple[set[Role], set[ReturnStatus], ReturnStatus]] = {
    ReturnAction.SHIP: ({Role.CUSTOMER, Role.CUSTOMER_CARE, Role.ADMIN}, {ReturnStatus.AUTHORISED}, ReturnStatus.IN_TRANSIT),
    ReturnAction.RECEIVE: (
        {Role.SUPPLIER, Role.CUSTOMER_CARE, Role.ADMIN},
        {ReturnStatus.AUTHORISED, ReturnStatus.IN_TRANSIT},
        ReturnStatus.RECEIVED,
    ),
}


def rma(status: ReturnStatus = ReturnStatus.AUTHORISED, *lines: tuple[str, int]) -> ReturnAuthorisation:
    return ReturnAuthorisation(
        "rma-1",
        "cmp-1",
        "ord-1",
        "acme",
        tuple(ReturnLine(sku, q, q * 1000, q * 500) for sku, q in (lines or (("MUG-1", 1),))),
        NOW,
        status,
    )


@pytest.mark.parametrize("status", list(ReturnStatus))
@pytest.mark.parametrize("action", list(ReturnAction))
def test_each_return_step_is_allowed_only_to_its_roles_in_its_statuses(action, status):
    allowed_roles, from_statuses, to = RETURN_EXPECTED[action]
    later = NOW + timedelta(days=5)
    for role in Role:
        r = rma(status)
        if role not in allowed_roles:
            with pytest.raises(Forbidden):
                apply_return_action(r, action, who(role), later)
            assert r.status is status
        elif status not in from_statuses:
            with pytest.raises(InvalidTransition):
                apply_return_action(r, action, who(role), later)
            assert r.status is status
        else:
            t = apply_return_action(r, action, who(role), later)
            assert (t.from_status, t.to_status, r.status) == (status.value, to.value, to)
            assert r.received_at == (later if to is ReturnStatus.RECEIVED else None)


def test_a_returns_refund_is_due_only_once_received_and_under_the_complaints_refund_id():
    c = with_plan(C.ACCEPTED, MIXED)
    r = carry_out(c, NOW).rma
    assert r is not None
    with pytest.raises(InvalidTransition):
        refunds_on_receipt(r)
    apply_return_action(r, ReturnAction.SHIP, CUSTOMER, NOW)
    apply_return_action(r, ReturnAction.RECEIVE, SUPPLIER, NOW + timedelta(days=3))
    (due,) = refunds_on_receipt(r)
    assert (due.id, due.complaint_id, due.order_id, due.sku, due.amount_cents, due.charge_back_cents) == (
        refund_id("cmp-0", "MUG-2"),
        "cmp-0",
        "ord-1",
        "MUG-2",
        2000,
        2000,
    )
    assert refunds_on_receipt(r) == (due,)
    assert due.id not in {x.id for x in carry_out(c, NOW).refunds}


# ---------------------------------------------------------------- returned / partially_returned


def test_returned_quantities_count_received_returns_only():
    rmas = [
        rma(ReturnStatus.RECEIVED, ("MUG-1", 1), ("MUG-2", 1)),
        rma(ReturnStatus.RECEIVED, ("MUG-1", 2)),
        rma(ReturnStatus.IN_TRANSIT, ("MUG-1", 5)),
        rma(ReturnStatus.AUTHORISED, ("CAP-1", 1)),
    ]
    assert returned_quantities(rmas) == Counter({"MUG-1": 3, "MUG-2": 1})


@pytest.mark.parametrize(
    "returned, expected",
    [
        ({}, None),
        ({"MUG-1": 0}, None),
        ({"MUG-1": 1}, ReturnState.PARTIALLY_RETURNED),
        ({"MUG-1": 3}, ReturnState.PARTIALLY_RETURNED),  # the big mug is still with the customer
        ({"MUG-2": 1}, ReturnState.PARTIALLY_RETURNED),
        ({"MUG-1": 3, "MUG-2": 1}, ReturnState.RETURNED),
    ],
)
def test_the_return_state_compares_returned_with_delivered_quantities(returned, expected):
    assert return_state({"MUG-1": 3, "MUG-2": 1}, returned) is expected


@pytest.mark.parametrize("returned", [{"MUG-1": 4}, {"CAP-1": 1}, {"MUG-1": -1}])
def test_more_returned_than_delivered_is_inconsistent_data(returned):
    with pytest.raises(ValueError):
        return_state({"MUG-1": 3, "MUG-2": 1}, returned)


def test_delivered_quantities_count_delivered_deliveries_only():
    order = Order(
        id="ord-1",
        campaign_id="cmp-1",
        customer_id="cust-1",
        customer_email=None,
        currency="EUR",
        payment_mode=PaymentMode.PREPAID,
        lines=[*ACME_LINES, BOLT_LINE],
        deliveries=[Delivery("acme", D.DELIVERED), Delivery("bolt", D.DISPATCHED)],
        created_at=NOW,
    )
    assert delivered_quantities(order) == Counter({"MUG-1": 3, "MUG-2": 1})
    assert delivered_quantities(order, "bolt") == Counter()
    order.deliveries[1].status = D.DELIVERED
    assert delivered_quantities(order, "bolt") == Counter({"CAP-1": 2})
    returned = returned_quantities([rma(ReturnStatus.RECEIVED, ("MUG-1", 3), ("MUG-2", 1))])
    assert return_state(delivered_quantities(order), returned) is ReturnState.PARTIALLY_RETURNED
    assert return_state(delivered_quantities(order, "acme"), returned) is ReturnState.RETURNED
