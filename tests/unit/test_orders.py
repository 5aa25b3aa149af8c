"""Placing orders, the order actions (role x status matrix) and the derived order status."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest

from chalicelib.domain.campaigns import CampaignStatus
from chalicelib.domain.errors import Forbidden, InvalidTransition, RuleViolation
from chalicelib.domain.orders import (
    LEGACY_ORDER_STATUSES,
    ORDER_ACTIONS,
    Delivery,
    DeliveryAction,
    OrderAction,
    OrderPolicy,
    OrderStatus,
    RequestedLine,
    allowed_actions,
    apply_delivery_action,
    apply_order_action,
    derive_status,
    record_offline_payment,
)
from chalicelib.domain.permissions import STAFF_ROLES, Role

from .factories import NOW, D, O, live_campaign, order_in, place, who

# ---------------------------------------------------------------- placing

LIVE_STATUSES = [s for s in OrderStatus if s not in LEGACY_ORDER_STATUSES]


def test_an_order_gets_one_delivery_per_supplier_in_first_seen_order():
    order = place(("CAP-1", 1), ("MUG-1", 2), ("PEN-1", 1), ("MUG-2", 1))
    assert [d.supplier_id for d in order.deliveries] == ["bolt", "acme", "cove"]
    assert order.supplier_ids == ["bolt", "acme", "cove"]
    assert all(d.status is D.PENDING for d in order.deliveries)
    assert order.status is O.PLACED


def test_order_lines_take_name_supplier_and_price_from_the_campaign_products():
    order = place(("MUG-2", 3))
    (line,) = order.lines
    assert (line.sku, line.name, line.supplier_id, line.quantity, line.unit_price_cents) == ("MUG-2", "Big mug", "acme", 3, 2500)
    assert line.total_cents == 7500


def test_the_order_total_is_the_sum_of_its_line_totals():
    order = place(("MUG-1", 2), ("CAP-1", 3))
    assert order.total_cents == 2 * 1200 + 3 * 900


def test_a_new_order_records_campaign_customer_currency_and_time():
    order = place(("MUG-1", 1))
    assert (order.campaign_id, order.customer_id, order.currency, order.created_at) == ("cmp-1", "cust-1", "EUR", NOW)
    assert order.hold_reasons == [] and order.hold_rejected is False


def test_an_order_above_the_threshold_waits_on_hold():
    order = place(("MUG-2", 5))  # 12_500 > 10_000
    assert order.status is O.ON_HOLD
    assert order.hold_reasons == ["total_above_threshold"]
    assert all(d.status is D.ON_HOLD for d in order.deliveries)


def test_an_order_at_exactly_the_threshold_is_not_held():
    policy = OrderPolicy(hold_threshold_cents=2 * 2500, max_line_quantity=5, max_lines=4)
    order = place(("MUG-2", 2), policy=policy)
    assert order.status is O.PLACED and order.hold_reasons == []


def test_an_order_from_a_flagged_customer_waits_on_hold():
    order = place(("PEN-1", 1), ("CAP-1", 1), flagged=True)
    assert order.status is O.ON_HOLD
    assert order.hold_reasons == ["customer_flagged"]
    assert [d.status for d in order.deliveries] == [D.ON_HOLD, D.ON_HOLD]


def test_a_large_order_from_a_flagged_customer_names_both_hold_reasons():
    order = place(("MUG-2", 5), flagged=True)
    assert order.hold_reasons == ["total_above_threshold", "customer_flagged"]


@pytest.mark.parametrize("status", [CampaignStatus.DRAFT, CampaignStatus.ENDED, CampaignStatus.CLOSED, CampaignStatus.CANCELLED])
def test_a_campaign_that_is_not_live_takes_no_orders(status):
    with pytest.raises(RuleViolation) as err:
        place(("MUG-1", 1), campaign=live_campaign(status=status))
    assert err.value.code == "campaign_not_live"


@pytest.mark.parametrize("after", [timedelta(0), timedelta(seconds=1), timedelta(days=3)])
def test_a_live_campaign_past_its_end_takes_no_orders_even_before_the_sweep_ends_it(after):
    with pytest.raises(RuleViolation) as err:
        place(("MUG-1", 1), campaign=live_campaign(ends_at=NOW - after))
    assert err.value.code == "campaign_not_live"


def test_a_live_campaign_takes_orders_until_just_before_its_end():
    order = place(("MUG-1", 1), campaign=live_campaign(ends_at=NOW + timedelta(microseconds=1)))
    assert order.status is O.PLACED


def test_a_live_campaign_without_an_end_takes_no_orders():
    with pytest.raises(RuleViolation) as err:
        place(("MUG-1", 1), campaign=live_campaign(ends_at=None))
    assert err.value.code == "campaign_not_live"


def _problems(*lines, **kw):
    with pytest.raises(RuleViolation) as err:
        place(*lines, **kw)
    assert err.value.code == "invalid_order"
    return err.value


def test_an_unknown_sku_is_named_with_its_line():
    err = _problems(("MUG-1", 1), ("NOPE-9", 1))
    assert err.details == [{"field": "lines[1].sku", "message": "SKU NOPE-9 is not sold in campaign cmp-1"}]
    assert "NOPE-9" in err.message


def test_a_sku_ordered_twice_is_named_on_each_of_its_lines():
    err = _problems(("MUG-1", 1), ("CAP-1", 1), ("MUG-1", 2))
    assert [d["field"] for d in err.details] == ["lines[0].sku", "lines[2].sku"]
    assert all("MUG-1 appears more than once" in d["message"] for d in err.details)


@pytest.mark.parametrize("quantity", [0, -1, 6, 1000])
def test_a_quantity_outside_the_bounds_is_refused(quantity):
    err = _problems(("MUG-1", quantity))
    assert err.details == [{"field": "lines[0].quantity", "message": "quantity must be between 1 and 5"}]


@pytest.mark.parametrize("quantity", [1, 5])
def test_quantities_at_the_bounds_are_accepted(quantity):
    assert place(("PEN-1", quantity)).lines[0].quantity == quantity


def test_an_order_without_lines_is_refused():
    err = _problems()
    assert err.details == [{"field": "lines", "message": "an order has 1 to 4 lines"}]


def test_an_order_with_more_lines_than_allowed_is_refused():
    err = _problems(("MUG-1", 1), ("MUG-2", 1), ("CAP-1", 1), ("PEN-1", 1), ("NOPE-1", 1))
    assert {"field": "lines", "message": "an order has 1 to 4 lines"} in err.details


def test_an_order_with_as_many_lines_as_allowed_is_accepted():
    assert len(place(("MUG-1", 1), ("MUG-2", 1), ("CAP-1", 1), ("PEN-1", 1)).lines) == 4


def test_every_problem_with_a_request_is_named_at_once():
    err = _problems(("NOPE-1", 1), ("MUG-1", 0), ("MUG-1", 9))
    assert sorted(d["field"] for d in err.details) == sorted(
        [
            "lines[0].sku",
            "lines[1].sku",
            "lines[1].quantity",
            "lines[2].sku",
            "lines[2].quantity",
        ]
    )
    for detail in err.details:
        assert detail["message"] in err.message


# ---------------------------------------------------------------- the role x status matrix

# Written out by hand: the specification that ORDER_ACTIONS must implement.
EXPECTED_ROLES = {
    OrderAction.APPROVE: {Role.CUSTOMER_CARE, Role.ADMIN},
    OrderAction.REJECT: {Role.CUSTOMER_CARE, Role.ADMIN},
    OrderAction.CANCEL: {Role.CUSTOMER, Role.CUSTOMER_CARE, Role.ADMIN},
    OrderAction.ADD_NOTE: set(STAFF_ROLES),
}
EXPECTED_FROM = {
    OrderAction.APPROVE: {O.ON_HOLD},
    OrderAction.REJECT: {O.ON_HOLD},
    OrderAction.CANCEL: {O.ON_HOLD, O.AWAITING_PAYMENT, O.PLACED},
    OrderAction.ADD_NOTE: set(OrderStatus),
}
EXPECTED_OUTCOME = {  # (action, from) -> (order status after, delivery status after)
    (OrderAction.APPROVE, O.ON_HOLD): (O.PLACED, D.PENDING),
    (OrderAction.REJECT, O.ON_HOLD): (O.REJECTED, D.CANCELLED),
    (OrderAction.CANCEL, O.ON_HOLD): (O.CANCELLED, D.CANCELLED),
    (OrderAction.CANCEL, O.PLACED): (O.CANCELLED, D.CANCELLED),
    (OrderAction.CANCEL, O.AWAITING_PAYMENT): (O.CANCELLED, D.CANCELLED),
}


def test_the_order_action_table_matches_the_specification():
    assert {a: set(r.roles) for a, r in ORDER_ACTIONS.items()} == EXPECTED_ROLES
    assert {a: set(r.from_statuses) for a, r in ORDER_ACTIONS.items()} == EXPECTED_FROM


def test_every_order_status_fixture_derives_its_status():
    for status in LIVE_STATUSES:
        assert order_in(status).status is status


def test_only_the_legacy_delivered_status_is_never_derived():
    assert set(OrderStatus) - set(LIVE_STATUSES) == {O.DELIVERED}


@pytest.mark.parametrize("action", [OrderAction.APPROVE, OrderAction.REJECT, OrderAction.CANCEL])
@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("status", LIVE_STATUSES)
def test_an_order_action_is_taken_only_by_an_allowed_role_in_an_allowed_status(action, role, status):
    order = order_in(status)
    before = copy.deepcopy(order)
    if role not in EXPECTED_ROLES[action]:
        with pytest.raises(Forbidden):
            apply_order_action(order, action, who(role))
        assert order == before
    elif status not in EXPECTED_FROM[action]:
        with pytest.raises(InvalidTransition) as err:
            apply_order_action(order, action, who(role))
        assert status.value in err.value.message
        assert order == before
    else:
        after, delivery_after = EXPECTED_OUTCOME[(action, status)]
        transition = apply_order_action(order, action, who(role))
        assert (transition.action, transition.from_status, transition.to_status) == (action.value, status.value, after.value)
        assert order.status is after
        assert [d.status for d in order.deliveries] == [delivery_after, delivery_after]


def test_a_role_check_comes_before_the_status_check():
    with pytest.raises(Forbidden):
        apply_order_action(order_in(O.COMPLETED), OrderAction.APPROVE, who(Role.SUPPLIER))


def test_a_principal_with_several_roles_may_act_through_any_of_them():
    order = order_in(O.ON_HOLD)
    apply_order_action(order, OrderAction.APPROVE, who(Role.CUSTOMER, Role.CUSTOMER_CARE))
    assert order.status is O.PLACED


def test_rejecting_a_held_order_marks_it_rejected_not_cancelled():
    order = order_in(O.ON_HOLD)
    apply_order_action(order, OrderAction.REJECT, who(Role.ADMIN))
    assert order.hold_rejected is True
    assert order.status is O.REJECTED


def test_cancelling_a_held_order_is_a_cancellation_not_a_rejection():
    order = order_in(O.ON_HOLD)
    apply_order_action(order, OrderAction.CANCEL, who(Role.CUSTOMER))
    assert order.hold_rejected is False
    assert order.status is O.CANCELLED


@pytest.mark.parametrize("status", LIVE_STATUSES)
def test_adding_a_note_never_changes_the_order(status):
    order = order_in(status)
    before = copy.deepcopy(order)
    transition = apply_order_action(order, OrderAction.ADD_NOTE, who(Role.LOGISTICS))
    assert order == before
    assert transition.from_status == transition.to_status == status.value


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.SUPPLIER])
def test_customers_and_suppliers_may_not_add_notes(role):
    with pytest.raises(Forbidden):
        apply_order_action(order_in(O.PLACED), OrderAction.ADD_NOTE, who(role))


# ---------------------------------------------------------------- allowed actions


@pytest.mark.parametrize(
    ("status", "roles", "expected"),
    [
        (O.PLACED, (Role.CUSTOMER,), ["cancel"]),
        (O.ON_HOLD, (Role.CUSTOMER,), ["cancel"]),
        (O.ORDERED, (Role.CUSTOMER,), []),
        (O.ON_HOLD, (Role.CUSTOMER_CARE,), ["approve", "reject", "cancel", "add_note"]),
        (O.ON_HOLD, (Role.ADMIN,), ["approve", "reject", "cancel", "add_note"]),
        (O.PLACED, (Role.CUSTOMER_CARE,), ["cancel", "add_note"]),
        (O.DISPATCHED, (Role.CUSTOMER_CARE,), ["add_note"]),
        (O.ON_HOLD, (Role.ACCOUNTING,), ["add_note"]),
        (O.ON_HOLD, (Role.BUYER,), ["add_note"]),
        (O.ON_HOLD, (Role.SUPPLIER,), []),
        (O.CANCELLED, (Role.ADMIN,), ["add_note"]),
    ],
)
def test_allowed_actions_are_the_buttons_the_actor_may_press_now(status, roles, expected):
    assert allowed_actions(order_in(status), who(*roles)) == expected


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("status", LIVE_STATUSES)
def test_every_allowed_action_succeeds_and_every_other_one_is_refused(role, status):
    allowed = allowed_actions(order_in(status), who(role))
    for action in OrderAction:
        order = order_in(status)
        if action.value in allowed:
            apply_order_action(order, action, who(role))
        else:
            with pytest.raises((Forbidden, InvalidTransition)):
                apply_order_action(order, action, who(role))


# ---------------------------------------------------------------- deliveries


def test_a_delivery_walks_from_pending_to_delivered_and_the_order_follows():
    order = place(("MUG-1", 1), ("CAP-1", 1))
    steps = [
        ("acme", DeliveryAction.SEND_PO, O.ORDERED),
        ("bolt", DeliveryAction.SEND_PO, O.ORDERED),
        ("acme", DeliveryAction.ACCEPT, O.ORDERED),
        ("acme", DeliveryAction.DISPATCH, O.PARTIALLY_DISPATCHED),
        ("bolt", DeliveryAction.REJECT, O.DISPATCHED),
        ("acme", DeliveryAction.DELIVER, O.COMPLETED),  # the refused delivery is final: nothing left
    ]
    for supplier, action, expected in steps:
        before = order.status
        transition = apply_delivery_action(order, supplier, action)
        assert order.status is expected, (supplier, action)
        assert (transition.from_status, transition.to_status) == (before.value, expected.value)


def test_a_delivery_step_out_of_order_is_an_invalid_transition():
    order = place(("MUG-1", 1))
    before = copy.deepcopy(order)
    with pytest.raises(InvalidTransition) as err:
        apply_delivery_action(order, "acme", DeliveryAction.DISPATCH)
    assert "pending" in err.value.message
    assert order == before


def test_a_held_order_sends_no_purchase_order_until_approved():
    order = place(("MUG-2", 5))
    with pytest.raises(InvalidTransition):
        apply_delivery_action(order, "acme", DeliveryAction.SEND_PO)
    apply_order_action(order, OrderAction.APPROVE, who(Role.CUSTOMER_CARE))
    apply_delivery_action(order, "acme", DeliveryAction.SEND_PO)
    assert order.status is O.ORDERED


def test_an_action_on_a_supplier_without_a_delivery_names_the_problem():
    order = place(("MUG-1", 1))
    with pytest.raises(RuleViolation) as err:
        apply_delivery_action(order, "bolt", DeliveryAction.SEND_PO)
    assert err.value.code == "unknown_delivery"


def test_an_order_cannot_be_cancelled_once_its_purchase_order_went_out():
    order = place(("MUG-1", 1), ("CAP-1", 1))
    apply_delivery_action(order, "acme", DeliveryAction.SEND_PO)
    with pytest.raises(InvalidTransition):
        apply_order_action(order, OrderAction.CANCEL, who(Role.CUSTOMER))
    assert [d.status for d in order.deliveries] == [D.ORDERED, D.PENDING]


# ---------------------------------------------------------------- derive_status


@pytest.mark.parametrize(
    ("statuses", "hold_rejected", "expected"),
    [
        ([D.ON_HOLD], False, O.ON_HOLD),
        ([D.ON_HOLD, D.ON_HOLD], False, O.ON_HOLD),
        ([D.PENDING], False, O.PLACED),
        ([D.PENDING, D.PENDING], False, O.PLACED),
        ([D.CANCELLED, D.CANCELLED], False, O.CANCELLED),
        ([D.CANCELLED], True, O.REJECTED),
        ([D.ORDERED, D.PENDING], False, O.ORDERED),
        ([D.ACCEPTED, D.REJECTED], False, O.ORDERED),
        ([D.REJECTED], False, O.NOT_SUPPLIED),
        ([D.REJECTED, D.REFUNDED], False, O.NOT_SUPPLIED),
        ([D.REJECTED, D.CANCELLED], False, O.NOT_SUPPLIED),
        ([D.DISPATCHED, D.PENDING], False, O.PARTIALLY_DISPATCHED),
        ([D.DISPATCHED, D.ACCEPTED], False, O.PARTIALLY_DISPATCHED),
        ([D.DISPATCHED], False, O.DISPATCHED),
        ([D.DISPATCHED, D.REJECTED], False, O.DISPATCHED),
        ([D.DISPATCHED, D.REFUNDED], False, O.DISPATCHED),
        ([D.DELIVERED, D.DISPATCHED], False, O.PARTIALLY_DELIVERED),
        ([D.DELIVERED, D.ORDERED], False, O.PARTIALLY_DELIVERED),
        ([D.DELIVERED, D.REJECTED], False, O.COMPLETED),
        ([D.DELIVERED], False, O.COMPLETED),
        ([D.DELIVERED, D.REFUNDED], False, O.COMPLETED),
        ([D.REFUNDED], False, O.NOT_SUPPLIED),
        ([D.DELIVERED, D.CANCELLED], False, O.COMPLETED),
        ([D.PENDING, D.CANCELLED], False, O.PLACED),
        ([D.PARTIALLY_RETURNED, D.DELIVERED], False, O.PARTIALLY_RETURNED),
        ([D.RETURNED, D.DISPATCHED], False, O.PARTIALLY_DELIVERED),
        ([D.PARTIALLY_RETURNED], False, O.PARTIALLY_RETURNED),
        ([D.RETURNED, D.REFUNDED, D.CANCELLED], False, O.RETURNED),
        ([D.RETURNED], False, O.RETURNED),
    ],
)
def test_the_order_status_is_derived_from_its_deliveries(statuses, hold_rejected, expected):
    assert derive_status([Delivery(f"s{i}", s) for i, s in enumerate(statuses)], hold_rejected) is expected


def test_an_order_without_deliveries_has_no_status():
    with pytest.raises(ValueError):
        derive_status([], False)


# ---------------------------------------------------------------- offline payment


def offline(*lines, flagged: bool = False):
    from chalicelib.domain.orders import PaymentMode, place_order

    from .factories import PRODUCTS

    return place_order(
        order_id="ord-off",
        campaign=live_campaign(),
        products=PRODUCTS,
        requested=[RequestedLine(sku, q) for sku, q in lines],
        customer_id="cust-1",
        customer_email=None,
        customer_flagged=flagged,
        payment_mode=PaymentMode.OFFLINE,
        policy=OrderPolicy(hold_threshold_cents=1_000_000),
        now=NOW,
    )


def test_an_offline_order_waits_for_its_payment_and_then_goes_to_the_suppliers():
    order = offline(("MUG-1", 1), ("CAP-1", 1))
    assert order.status is O.AWAITING_PAYMENT
    assert {d.status for d in order.deliveries} == {D.AWAITING_PAYMENT}
    with pytest.raises(InvalidTransition):  # the close never sends an unpaid order
        apply_delivery_action(order, "acme", DeliveryAction.SEND_PO)
    transition = record_offline_payment(order)
    assert transition is not None and (transition.from_status, transition.to_status) == ("awaiting_payment", "placed")
    assert order.offline_paid and {d.status for d in order.deliveries} == {D.PENDING}
    assert record_offline_payment(order) is None  # recorded twice: nothing more moves


def test_a_held_offline_order_approved_before_its_payment_waits_for_it_and_after_it_is_placed():
    unpaid = offline(("MUG-1", 1), flagged=True)
    assert unpaid.status is O.ON_HOLD
    apply_order_action(unpaid, OrderAction.APPROVE, who(Role.CUSTOMER_CARE))
    assert unpaid.status is O.AWAITING_PAYMENT

    paid = offline(("MUG-1", 1), flagged=True)
    assert record_offline_payment(paid) is None and paid.status is O.ON_HOLD  # remembered, nothing moves
    apply_order_action(paid, OrderAction.APPROVE, who(Role.CUSTOMER_CARE))
    assert paid.status is O.PLACED
