"""Properties of the order state machine under any sequence of commands (hypothesis).

Commands are order actions taken by any mix of roles and delivery actions on any supplier
(including one the order does not have). Whatever is thrown at an order, it never
reaches an illegal state."""

from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.errors import DomainError, Forbidden, InvalidTransition, RuleViolation
from chalicelib.domain.orders import (
    CANCELLABLE,
    DELIVERY_TRANSITIONS,
    FINAL_DELIVERY_STATUSES,
    FINAL_ORDER_STATUSES,
    FINISHING_STEPS,
    ORDER_ACTION_EFFECTS,
    ORDER_ACTIONS,
    DeliveryAction,
    DeliveryStatus,
    Order,
    OrderAction,
    OrderPolicy,
    OrderStatus,
    apply_delivery_action,
    apply_order_action,
    derive_status,
)
from chalicelib.domain.permissions import Principal, Role

from .factories import PRODUCTS, place

TERMINAL = {OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.COMPLETED, OrderStatus.NOT_SUPPLIED}


@dataclass(frozen=True)
class OrderCommand:
    action: OrderAction
    roles: frozenset[Role]


@dataclass(frozen=True)
class DeliveryCommand:
    supplier_id: str
    action: DeliveryAction


role_sets = st.frozensets(st.sampled_from(list(Role)), min_size=1, max_size=2)
commands = st.one_of(
    st.builds(OrderCommand, st.sampled_from(list(OrderAction)), role_sets),
    st.builds(DeliveryCommand, st.sampled_from(["acme", "bolt", "cove", "ghost"]), st.sampled_from(list(DeliveryAction))),
)
orders = st.builds(
    lambda skus, flagged, threshold: place(
        *[(sku, 1) for sku in skus],
        flagged=flagged,
        policy=OrderPolicy(hold_threshold_cents=threshold, max_line_quantity=5, max_lines=4),
    ),
    st.lists(st.sampled_from(sorted(PRODUCTS)), min_size=1, max_size=4, unique=True),
    st.booleans(),
    st.sampled_from([100, 1_000_000]),
)


def snapshot(order: Order) -> tuple[object, ...]:
    return (order.status, order.hold_rejected, [(d.supplier_id, d.status) for d in order.deliveries])


def run(order: Order, command: OrderCommand | DeliveryCommand) -> object:
    if isinstance(command, OrderCommand):
        return apply_order_action(order, command.action, Principal(sub="actor", roles=command.roles))
    return apply_delivery_action(order, command.supplier_id, command.action)


def allowed_delivery_step(
    command: OrderCommand | DeliveryCommand, supplier_id: str, before: DeliveryStatus, after: DeliveryStatus
) -> bool:
    if isinstance(command, DeliveryCommand):
        applies_to, target = DELIVERY_TRANSITIONS[command.action]
        return supplier_id == command.supplier_id and before in applies_to and after is target
    effect = ORDER_ACTION_EFFECTS[command.action]
    return effect is not None and before in effect[0] and after is effect[1]


@settings(max_examples=300, deadline=None)
@given(orders, st.lists(commands, max_size=30))
def test_no_sequence_of_commands_takes_an_order_into_an_illegal_state(order, sequence):
    for command in sequence:
        before = copy.deepcopy(order)
        try:
            transition = run(order, command)
        except DomainError as err:
            # (a) a refused command leaves the order exactly as it was
            assert order == before
            assert isinstance(err, (Forbidden, InvalidTransition, RuleViolation))
            continue
        # (a) every delivery status change is one the transition tables allow
        for old, new in zip(before.deliveries, order.deliveries, strict=True):
            assert old.supplier_id == new.supplier_id
            if old.status is not new.status:
                assert allowed_delivery_step(command, old.supplier_id, old.status, new.status), (command, old, new)
        # (b) the order status is always the derived one, and a real status
        assert isinstance(order.status, OrderStatus)
        assert order.status is derive_status(order.deliveries, order.hold_rejected)
        assert (transition.from_status, transition.to_status) == (before.status.value, order.status.value)
        # (c) an order action succeeds only for a role and status its rule allows
        if isinstance(command, OrderCommand):
            rule = ORDER_ACTIONS[command.action]
            assert command.roles & rule.roles
            assert before.status in rule.from_statuses
        # a finished order stays finished
        if before.status in TERMINAL:
            assert order.status is before.status
        assert order.hold_rejected == (order.status is OrderStatus.REJECTED)


@settings(max_examples=200, deadline=None)
@given(orders, st.lists(commands, max_size=30))
def test_an_order_action_by_a_role_outside_its_rule_is_always_forbidden(order, sequence):
    for command in sequence:
        if isinstance(command, OrderCommand) and not command.roles & ORDER_ACTIONS[command.action].roles:
            before = snapshot(order)
            try:
                run(order, command)
            except Forbidden:
                assert snapshot(order) == before
            else:
                raise AssertionError(f"{command} was not refused")
        else:
            with contextlib.suppress(DomainError):
                run(order, command)


@settings(max_examples=200, deadline=None)
@given(orders, st.lists(commands, max_size=30))
def test_a_held_order_is_released_or_ended_only_by_an_order_action_of_an_allowed_role(order, sequence):
    for command in sequence:
        before = order.status
        try:
            run(order, command)
        except DomainError:
            continue
        if order.status is before:
            continue
        if isinstance(command, DeliveryCommand) and command.action is DeliveryAction.CANCEL:
            # a cancellation request accepted after the close: never for a held order, nor before the close
            assert before not in CANCELLABLE, (before, command)
            continue
        if before is OrderStatus.ON_HOLD or order.status in (OrderStatus.REJECTED, OrderStatus.CANCELLED):
            assert isinstance(command, OrderCommand), command
            assert command.action in (OrderAction.APPROVE, OrderAction.REJECT, OrderAction.CANCEL)
            assert command.roles & ORDER_ACTIONS[command.action].roles


@settings(max_examples=300, deadline=None)
@given(orders, st.lists(commands, max_size=30), st.randoms(use_true_random=False), st.sampled_from(["approve", "reject"]))
def test_finishing_every_delivery_one_way_or_another_reaches_a_final_order_status(order, sequence, rnd, decision):
    """From any reachable state: decide a held order, then walk every delivery still moving through
    any of its finishing steps until none is left. The order always ends in a final status."""
    for command in sequence:
        with contextlib.suppress(DomainError):
            run(order, command)
    staff = Principal(sub="care", roles=frozenset({Role.CUSTOMER_CARE}))
    if order.status is OrderStatus.ON_HOLD:
        apply_order_action(order, OrderAction(decision), staff)
    for _ in range(4 * len(order.deliveries)):
        moving = [d for d in order.deliveries if d.status in FINISHING_STEPS]
        if not moving:
            break
        delivery = rnd.choice(moving)
        apply_delivery_action(order, delivery.supplier_id, rnd.choice(FINISHING_STEPS[delivery.status]))
    assert all(d.status in FINAL_DELIVERY_STATUSES for d in order.deliveries), order.deliveries
    assert order.status in FINAL_ORDER_STATUSES, order
