"""Which held orders a campaign's close waits for, on the in-memory store. The exception side of held
orders (raised when placed, resolved when decided, the close resumed after the last decision) runs
through services/exceptions, not yet on the storage port: tests/adapters/test_held_orders.py keeps it
on moto."""

from __future__ import annotations

from chalicelib.domain.orders import OrderStatus
from chalicelib.events import domain_event
from chalicelib.services import holds
from tests.services.conftest import placed, save_new


def test_a_campaigns_held_orders_are_all_of_its_orders_on_hold_oldest_first_however_many_pages(store):
    held = [placed(f"ord-{n:03d}", ("MUG-1", 1), minutes=n, on_hold=True) for n in range(holds.PAGE + 5)]
    save_new(store, *reversed(held))
    save_new(store, placed("ord-placed", ("MUG-1", 1)), placed("ord-other", ("MUG-1", 1), campaign_id="cmp-2", on_hold=True))
    found = holds.held_orders("cmp-1")
    assert [o.id for o in found] == [o.id for o in held]  # two pages, nothing twice, nothing of cmp-2
    assert {o.status for o in found} == {OrderStatus.ON_HOLD}


def test_a_campaign_with_no_held_order_waits_for_none(store):
    save_new(store, placed("ord-1", ("MUG-1", 1)))
    assert holds.held_orders("cmp-1") == []


def test_an_event_that_is_no_decision_on_a_held_order_resolves_nothing_and_writes_nothing(store):
    """The campaign-orders consumer hands every order event over; only a decision that left on_hold counts."""
    envelope = {"id": "evt-1", "subject_type": "order", "subject_id": "ord-1", "at": "2030-01-01T00:00:00+00:00"}
    envelope["actor"] = {"sub": "system", "role": "admin"}
    placed = domain_event({**envelope, "type": "order.placed", "data": {"order_id": "ord-1"}})
    cancelled = domain_event({**envelope, "type": "order.cancelled", "from_status": "placed"})
    assert holds.decided(placed) is False
    assert holds.decided(cancelled) is False
    assert store.commits == 0
