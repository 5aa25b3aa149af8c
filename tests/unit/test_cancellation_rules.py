"""After the close, before dispatch: what a cancellation request may ask, what accepting it does to the
order, and when a shipping address may still be corrected. Pure rules, no AWS."""

from __future__ import annotations

import pytest

from chalicelib.domain.addresses import Address
from chalicelib.domain.errors import InvalidTransition, RuleViolation
from chalicelib.domain.orders import (
    DeliveryAction,
    OrderLine,
    RequestedLine,
    apply_delivery_action,
    cancel_lines,
    cancellation_scope,
    correct_shipping_address,
)

from .factories import D, O, order_in, place

LYON = Address("Alice Martin", ("3 quai de la Gare",), "Lyon", "69002", "FR")
PARIS = Address("Alice Martin", ("12 rue des Lilas",), "Paris", "75011", "FR")


def with_the_suppliers():
    """MUG-1 x2 and MUG-2 x1 from acme (accepted), CAP-1 x1 from bolt (on its PO, not answered yet)."""
    order = place(("MUG-1", 2), ("MUG-2", 1), ("CAP-1", 1))
    for supplier in ("acme", "bolt"):
        apply_delivery_action(order, supplier, DeliveryAction.SEND_PO)
    apply_delivery_action(order, "acme", DeliveryAction.ACCEPT)
    return order


def test_nothing_named_asks_for_everything_on_a_po_that_has_not_left():
    order = with_the_suppliers()
    apply_delivery_action(order, "acme", DeliveryAction.DISPATCH)
    assert cancellation_scope(order, None) == {"bolt": {"CAP-1": 1}}


def test_before_the_close_the_order_itself_is_cancelled_instead():
    with pytest.raises(InvalidTransition, match=r"POST /orders/ord-1/cancel"):
        cancellation_scope(place(("MUG-1", 1)), None)


@pytest.mark.parametrize("status", [O.DISPATCHED, O.COMPLETED, O.NOT_SUPPLIED, O.CANCELLED])
def test_an_order_with_nothing_left_to_stop_cannot_be_asked(status):
    with pytest.raises(InvalidTransition):
        cancellation_scope(order_in(status), None)


def test_a_request_naming_lines_is_refused_with_every_problem_named():
    order = with_the_suppliers()
    apply_delivery_action(order, "bolt", DeliveryAction.REJECT)
    with pytest.raises(RuleViolation) as refused:
        cancellation_scope(
            order,
            [
                RequestedLine("MUG-1", 3),
                RequestedLine("CAP-1", 1),
                RequestedLine("PEN-1", 1),
                RequestedLine("MUG-2", 1),
                RequestedLine("MUG-2", 1),
            ],
        )
    assert refused.value.code == "invalid_cancellation"
    assert [(d["field"], d["message"]) for d in refused.value.details] == [
        ("lines[0].quantity", "MUG-1: 1 to 2 can be cancelled, not 3"),
        ("lines[1].sku", "CAP-1 is in the delivery from bolt, which was refused by its supplier"),
        ("lines[2].sku", "SKU PEN-1 is not in order ord-1"),
        ("lines[3].sku", "SKU MUG-2 appears more than once"),
        ("lines[4].sku", "SKU MUG-2 appears more than once"),
    ]


def test_accepting_part_of_a_delivery_cuts_its_lines_and_keeps_it_going():
    order = with_the_suppliers()
    transition, cancelled = cancel_lines(order, "acme", {"MUG-1": 1, "MUG-2": 1})
    assert [(c.sku, c.quantity, c.amount_cents) for c in cancelled] == [("MUG-1", 1, 1200), ("MUG-2", 1, 2500)]
    assert [(l.sku, l.quantity) for l in order.lines] == [("MUG-1", 1), ("CAP-1", 1)]
    assert order.delivery("acme").status is D.ACCEPTED
    assert (transition.from_status, transition.to_status) == ("ordered", "ordered")
    assert order.payable_cents == 1200 + 900


def test_accepting_all_of_a_delivery_cancels_it_and_the_order_follows():
    order = with_the_suppliers()
    cancel_lines(order, "acme", {"MUG-1": 2, "MUG-2": 1})
    assert order.delivery("acme").status is D.CANCELLED and order.status is O.ORDERED
    assert [l.sku for l in order.lines] == ["MUG-1", "MUG-2", "CAP-1"]  # kept: the record of what was cancelled
    assert order.payable_cents == 900
    transition, _ = cancel_lines(order, "bolt", {"CAP-1": 1})
    assert (transition.to_status, order.status) == ("cancelled", O.CANCELLED)


def test_accepting_cancels_at_most_what_the_supplier_kept_and_never_a_delivery_that_left():
    order = with_the_suppliers()
    order.lines = [OrderLine("MUG-1", "Mug", "acme", 1, 1200) if l.sku == "MUG-1" else l for l in order.lines]
    _, cancelled = cancel_lines(order, "acme", {"MUG-1": 2})  # asked for 2; acme accepted only 1 since
    assert [(c.sku, c.quantity) for c in cancelled] == [("MUG-1", 1)]
    apply_delivery_action(order, "bolt", DeliveryAction.ACCEPT)
    apply_delivery_action(order, "bolt", DeliveryAction.DISPATCH)
    with pytest.raises(InvalidTransition, match="has left"):
        cancel_lines(order, "bolt", {"CAP-1": 1})


def test_a_corrected_address_reaches_the_suppliers_with_an_order_to_ship_and_a_left_delivery_keeps_its_own():
    order = with_the_suppliers()
    order.shipping_address = PARIS
    apply_delivery_action(order, "acme", DeliveryAction.DISPATCH)
    assert correct_shipping_address(order, LYON) == ["bolt"]
    assert order.shipping_address == LYON
    assert (order.delivery("acme").ship_to, order.delivery("bolt").ship_to) == (PARIS, None)
    apply_delivery_action(order, "bolt", DeliveryAction.ACCEPT)
    apply_delivery_action(order, "bolt", DeliveryAction.DISPATCH)
    with pytest.raises(InvalidTransition, match="can no longer be corrected"):
        correct_shipping_address(order, PARIS)


def test_before_the_close_the_address_may_change_and_no_supplier_is_told_yet():
    order = place(("MUG-1", 1))
    assert correct_shipping_address(order, LYON) == [] and order.shipping_address == LYON
