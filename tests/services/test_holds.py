"""Held orders on the in-memory store: which held orders a campaign's close waits for, a decision
resolving the held order's exception, and the last decision resuming a waiting close. The flows through
HTTP, the consumers and the e-mails stay on moto in tests/adapters/test_held_orders.py."""

from __future__ import annotations

from chalicelib.domain.exceptions import Status
from chalicelib.domain.holds import CLOSE_WAITING_KIND, HOLD_KIND
from chalicelib.domain.orders import Order, OrderStatus
from chalicelib.events import domain_event
from chalicelib.services import exceptions, holds
from chalicelib.services.clock import now
from chalicelib.services.ports import Save
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


def decision(order_id: str, type_: str = "order.approved", from_status: str = "on_hold") -> object:
    return domain_event(
        {
            "id": f"evt-{order_id}",
            "type": type_,
            "subject_type": "order",
            "subject_id": order_id,
            "at": "2030-01-01T00:00:00+00:00",
            "actor": {"sub": "care-1", "role": "customer_care"},
            "from_status": from_status,
            "to_status": "placed",
            "data": {"order_id": order_id, "campaign_id": "cmp-1"},
        }
    )


def test_deciding_a_held_order_resolves_its_exception_saying_who_decided(store):
    order = placed("ord-1", ("MUG-1", 1), on_hold=True)
    store.commit(exceptions.opening_changes(HOLD_KIND, "order", order.id, {"order_id": order.id}, now()), what="o", at=now())
    assert holds.decided(decision(order.id)) is True  # type: ignore[arg-type]
    record = exceptions.get(exceptions.exception_id(HOLD_KIND, "order", order.id))
    assert record is not None and record.status is Status.RESOLVED
    assert record.resolution == "the order was approved by care-1 (customer_care)"
    assert holds.decided(decision(order.id)) is False  # a redelivery: nothing left to resolve


def test_the_last_decision_resumes_a_waiting_close_once_with_its_event_in_the_same_commit(store):
    exceptions.raise_or_bump(CLOSE_WAITING_KIND, "campaign", "cmp-1", {"campaign_id": "cmp-1"})
    save_new(store, placed("ord-1", ("MUG-1", 1), on_hold=True), placed("ord-2", ("MUG-1", 1), on_hold=True))
    assert holds.close_waiting("cmp-1") is True
    assert holds.resume_if_last("cmp-1", "ord-1") is False  # ord-2 still waits for a decision

    for n in ("1", "2"):
        loaded = store.load(Order, f"ord-{n}")
        assert loaded is not None
        loaded.value.status = OrderStatus.PLACED
        store.commit([Save(loaded.value, loaded.version, status_before="on_hold")], what="decided", at=now())
    assert holds.resume_if_last("cmp-1", "ord-2") is True
    assert holds.resume_if_last("cmp-1", "ord-2") is False  # resumed once
    assert holds.close_waiting("cmp-1") is False
    resumed = [e for e in store.history("campaign", "cmp-1", limit=10).items if e.type == "campaign.close_resumed"]
    assert [e.data["last_decided_order_id"] for e in resumed] == ["ord-2"]
