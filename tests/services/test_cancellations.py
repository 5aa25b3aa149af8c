"""Cancellation requests after the close through the service, on the in-memory store: asking (one request
per supplier delivery, one at a time each), the supplier's list, refusing and accepting. The HTTP flows,
the request counts, the money's and the exceptions' items and the shipment stage a cancelled delivery
completes stay on moto (tests/api/test_cancellation_requests.py)."""

from __future__ import annotations

import pytest

from chalicelib.adapters.memory import MemoryStore
from chalicelib.domain.errors import Conflict, Forbidden, InvalidTransition, NotFound, RuleViolation
from chalicelib.domain.orders import DeliveryAction, DeliveryStatus, Order, OrderStatus, RequestedLine, apply_delivery_action
from chalicelib.domain.purchase_orders import POLine, PurchaseOrder, po_id
from chalicelib.services import cancellations, orders
from chalicelib.services.ports import Save
from chalicelib.services.ports_orders import CancellationRequest
from tests.services.conftest import ACME, ALICE, BOB, BOLT, CARE, placed, save_new
from tests.unit.factories import NOW


def with_the_suppliers(store: MemoryStore) -> Order:
    """An order of two deliveries, both on their POs (the campaign closed), with the POs themselves."""
    order = placed("ord-1", ("MUG-1", 2), ("CAP-1", 1))
    for supplier in ("acme", "bolt"):
        apply_delivery_action(order, supplier, DeliveryAction.SEND_PO)
    save_new(store, order)
    for supplier in ("acme", "bolt"):
        po = PurchaseOrder(
            id=po_id("cmp-1", supplier),
            campaign_id="cmp-1",
            supplier_id=supplier,
            currency="EUR",
            lines=[POLine("X", "X", ordered_quantity=1, unit_cost_cents=1)],
            created_at=NOW,
            order_count=1,
        )
        store.commit([Save(po, None)], what=po.id, at=NOW)
    return order


def test_asking_makes_one_request_per_supplier_delivery_concerned_and_tells_the_order(store):
    order = with_the_suppliers(store)
    made = cancellations.request_cancellation(ALICE, order.id, lines=None, reason="Changed my mind")
    assert [(r.value.supplier_id, r.value.status, r.version) for r in made] == [
        ("acme", "requested", 1),
        ("bolt", "requested", 1),
    ]
    assert [r.value.id for r in made] == [f"{order.id}.crq1", f"{order.id}.crq2"]
    assert {l.sku: l.quantity for l in made[0].value.lines} == {"MUG-1": 2} and made[0].value.everything
    seen = orders.get_order_for_customer(ALICE, order.id)
    assert [r.value.id for r in seen.cancellation_requests] == [r.value.id for r in made]
    asked = [e for e in seen.events if e.type == cancellations.REQUESTED_EVENT]
    assert sorted(e.data["supplier_id"] for e in asked) == ["acme", "bolt"]
    assert [e.data["supplier_id"] for e in asked if e.customer_note] == ["acme"]  # the customer is told once


def test_a_delivery_with_a_request_waiting_cannot_be_asked_again_and_another_customers_order_is_not_found(store):
    order = with_the_suppliers(store)
    cancellations.request_cancellation(ALICE, order.id, lines=[RequestedLine("MUG-1", 1)], reason="one is enough")
    with pytest.raises(InvalidTransition):
        cancellations.request_cancellation(ALICE, order.id, lines=[RequestedLine("MUG-1", 1)], reason="again")
    with pytest.raises(NotFound):
        cancellations.request_cancellation(BOB, order.id, lines=None, reason="not mine")
    bolt = cancellations.request_cancellation(ALICE, order.id, lines=[RequestedLine("CAP-1", 1)], reason="no cap")
    assert [r.value.id for r in bolt] == [f"{order.id}.crq2"]  # numbered after the one waiting


def test_an_order_before_the_close_is_cancelled_itself_not_asked(store):
    order = placed("ord-2", ("MUG-1", 1))
    save_new(store, order)
    with pytest.raises(InvalidTransition):
        cancellations.request_cancellation(ALICE, order.id, lines=None, reason="too early")


def test_a_supplier_lists_the_requests_waiting_on_its_own_pos_only(store):
    order = with_the_suppliers(store)
    acme_request, _ = cancellations.request_cancellation(ALICE, order.id, lines=None, reason="Too many")
    acme_po, bolt_po = po_id("cmp-1", "acme"), po_id("cmp-1", "bolt")
    page = cancellations.pending_for_po(ACME, acme_po, limit=10, cursor=None)
    assert [r.value.id for r in page.items] == [acme_request.value.id] and page.cursor is None
    with pytest.raises(NotFound):
        cancellations.pending_for_po(ACME, bolt_po, limit=10, cursor=None)
    cancellations.decide(BOLT, f"{order.id}.crq2", accept=False, note="Already packed", by_supplier=True)
    assert cancellations.pending_for_po(BOLT, bolt_po, limit=10, cursor=None).items == []  # decided: off the list
    with pytest.raises(NotFound):
        cancellations.pending_for_po(ACME, po_id("cmp-1", "nobody"), limit=10, cursor=None)
    with pytest.raises(Forbidden):
        cancellations.pending_for_po(CARE, acme_po, limit=10, cursor=None)


def test_refusing_needs_a_note_and_a_request_is_decided_once_under_its_version(store):
    order = with_the_suppliers(store)
    request, _ = cancellations.request_cancellation(ALICE, order.id, lines=None, reason="Too many")
    rid = request.value.id
    with pytest.raises(RuleViolation) as err:
        cancellations.decide(CARE, rid, accept=False)
    assert err.value.code == "note_required"
    with pytest.raises(Conflict):
        cancellations.decide(CARE, rid, accept=False, note="no", expected_version=7)
    with pytest.raises(NotFound):
        cancellations.decide(ACME, f"{order.id}.crq2", accept=True, by_supplier=True)  # bolt's, not acme's
    with pytest.raises(NotFound):
        cancellations.decide(CARE, rid, accept=True, order_id="ord-other")
    refused = cancellations.decide(CARE, rid, accept=False, note="Already packed", expected_version=1)
    assert (refused.value.status, refused.version, refused.value.decision_note) == ("refused", 2, "Already packed")
    stored = store.load(CancellationRequest, rid)
    assert stored is not None and stored.version == 2 and stored.value.decided_by == CARE.sub
    with pytest.raises(InvalidTransition):
        cancellations.decide(CARE, rid, accept=True)
    seen = orders.get_order_for_customer(ALICE, order.id)
    assert seen.order.lines == order.lines  # nothing left the order
    assert seen.events[-1].type == cancellations.REFUSED_EVENT and "Already packed" in (seen.events[-1].customer_note or "")


def test_accepting_takes_the_lines_out_of_the_order_and_says_so(store):
    order = with_the_suppliers(store)
    (request,) = cancellations.request_cancellation(ALICE, order.id, lines=[RequestedLine("MUG-1", 1)], reason="one is enough")
    accepted = cancellations.decide(ACME, request.value.id, accept=True, by_supplier=True)
    assert (accepted.value.status, accepted.version, accepted.value.cancelled_cents) == ("accepted", 2, 1200)
    seen = orders.get_order_for_customer(ALICE, order.id)
    assert {l.sku: l.quantity for l in seen.order.lines} == {"MUG-1": 1, "CAP-1": 1}
    assert seen.version == 2 and seen.order.status is not OrderStatus.CANCELLED
    event, due = seen.events[-2:]  # the cancellation, then (1 ms later) the refund it made due
    assert event.type == cancellations.CANCELLED_EVENT and event.data["cancelled_cents"] == 1200
    assert (event.customer_note or "").startswith("As you asked, we cancelled 1 x Mug.")
    assert due.type == "order.refund_due" and due.data["amount_cents"] == 1200
    assert [(p.payment_kind, p.amount_cents, p.status) for p in seen.payments][-1] == ("refund", 1200, "pending")


def test_accepting_a_whole_delivery_not_yet_accepted_cancels_that_delivery(store):
    order = with_the_suppliers(store)
    (request,) = cancellations.request_cancellation(ALICE, order.id, lines=[RequestedLine("CAP-1", 1)], reason="no cap")
    cancellations.decide(CARE, request.value.id, accept=True)
    seen = orders.get_order_for_staff(CARE, order.id)
    assert seen.order.delivery("bolt").status is DeliveryStatus.CANCELLED
    assert seen.order.delivery("acme").status is DeliveryStatus.ORDERED
    assert seen.order.payable_cents == 2 * 1200  # the cap costs nothing any more
