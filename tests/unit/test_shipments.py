"""Shipments and carrier tracking (pure domain), plus how an order's status follows its deliveries.

The ordering rule (`apply_event` / `moves_status`) is the heart of it: events arrive in any
order and more than once, and the shipment must never move backwards. What the code actually
guarantees is derived and stated in `test_any_arrival_order_of_a_well_ordered_event_set_ends_in_the_same_state`;
the inputs where a naive "latest event wins" would depend on arrival order are pinned, one
each, further down.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.api.views import common as schemas
from chalicelib.domain.errors import InvalidTransition, NotFound
from chalicelib.domain.orders import (
    DeliveryAction,
    DeliveryStatus,
    OrderStatus,
    apply_delivery_action,
    derive_status,
)
from chalicelib.domain.shipments import (
    CARRIERS,
    ENDS_TRACKING,
    RANK,
    Applied,
    CarrierEvent,
    Shipment,
    ShipmentStatus,
    StatusChange,
    TimelineEntry,
    TrackingStatus,
    apply_event,
    carrier,
    correct_tracking,
    delivery_complete,
    milestones,
    moves_status,
    stale,
    tracking_url,
)

from .factories import place

T = TrackingStatus
S = ShipmentStatus
A = DeliveryAction
O = OrderStatus  # noqa: E741

BASE = datetime(2025, 3, 3, 0, 0, tzinfo=UTC)
CREATED = BASE - timedelta(hours=6)
NUMBER = "JD0146000012345"


def at(hours: float) -> datetime:
    return BASE + timedelta(hours=hours)


def shipment(**overrides: object) -> Shipment:
    values: dict[str, object] = {
        "id": "shp-1",
        "carrier": "dhl",
        "tracking_number": NUMBER,
        "po_id": "po-1",
        "supplier_id": "acme",
        "campaign_id": "cmp-1",
        "order_ids": ["ord-1", "ord-2"],
        "created_at": CREATED,
    }
    values.update(overrides)
    return Shipment(**values)  # type: ignore[arg-type]


# One carrier code always means one status, as with a real carrier's mapping table.
CODES: dict[str, TrackingStatus | None] = {
    "LBL": T.LABEL_CREATED,
    "PU": T.IN_TRANSIT,
    "AF": T.IN_TRANSIT,
    "EX": T.EXCEPTION,
    "OFD": T.OUT_FOR_DELIVERY,
    "AT": T.ATTEMPTED,
    "DL": T.DELIVERED,
    "RTS": T.RETURNED_TO_SENDER,
    "X1": None,
    "X2": None,
}
CODE_OF: dict[TrackingStatus, str] = {
    T.LABEL_CREATED: "LBL",
    T.IN_TRANSIT: "PU",
    T.EXCEPTION: "EX",
    T.OUT_FOR_DELIVERY: "OFD",
    T.ATTEMPTED: "AT",
    T.DELIVERED: "DL",
    T.RETURNED_TO_SENDER: "RTS",
}


def event(status: TrackingStatus | None, when: datetime, code: str | None = None) -> CarrierEvent:
    code = code or (CODE_OF[status] if status is not None else "X1")
    return CarrierEvent(NUMBER, code, status, when, description=f"{code} scan", location="Hub")


def apply(s: Shipment, e: CarrierEvent) -> Applied:
    """`apply_event` as the service calls it: with the events recorded before (its TRACK items)."""
    seen: list[CarrierEvent] = s.__dict__.setdefault("_recorded", [])
    result = apply_event(s, e, list(seen))
    seen.append(e)
    return result


def applied(*events: CarrierEvent, s: Shipment | None = None) -> Shipment:
    s = s or shipment()
    for e in events:
        apply(s, e)
    return s


def timeline_of(s: Shipment) -> list[tuple[datetime, str, str]]:
    return timeline_of_entries(s.timeline)


def timeline_of_entries(entries: list[TimelineEntry]) -> list[tuple[datetime, str, str]]:
    return [(e.occurred_at, e.status, e.carrier_code) for e in entries]


# --- the ordering rule, by example ------------------------------------------------------------


def test_an_earlier_scan_arriving_late_does_not_move_the_status_back_but_joins_the_timeline():
    s = shipment()
    first = apply(s, event(T.OUT_FOR_DELIVERY, at(12)))
    late = apply(s, event(T.IN_TRANSIT, at(10)))

    assert first == Applied(True, StatusChange(S.DISPATCHED, S.OUT_FOR_DELIVERY, event(T.OUT_FOR_DELIVERY, at(12))))
    assert late == Applied(True, None)
    assert s.status is S.OUT_FOR_DELIVERY
    assert s.status_at == at(12)
    assert s.last_event_at == at(12)
    assert timeline_of(s) == [(at(10), "in_transit", "PU"), (at(12), "out_for_delivery", "OFD")]


def test_a_later_scan_moves_the_status_even_to_a_lower_rank():
    # "the event that happened last wins": a problem reported after out-for-delivery is news
    s = applied(event(T.OUT_FOR_DELIVERY, at(12)), event(T.EXCEPTION, at(13)))
    assert (s.status, s.status_at) == (S.EXCEPTION, at(13))


def test_a_repeated_event_is_not_recorded_twice_and_moves_nothing():
    s = shipment()
    e = event(T.IN_TRANSIT, at(10))
    assert apply(s, e).change is not None
    before = copy.deepcopy(s)

    again = apply(s, e)
    assert again == Applied(False, None)
    assert s == before
    assert len(s.timeline) == 1


def test_a_repeat_is_recognised_by_time_and_code_whatever_else_changed():
    s = applied(event(T.IN_TRANSIT, at(10)), event(T.OUT_FOR_DELIVERY, at(12)))
    # the same carrier event redelivered with another description and a naive-but-equal time
    redelivered = CarrierEvent(NUMBER, "PU", T.IN_TRANSIT, at(10).replace(tzinfo=None), description="other")
    assert apply(s, redelivered) == Applied(False, None)
    assert len(s.timeline) == 2
    # another scan of a milestone already shown (same status, next hub) adds nothing for the customer
    assert apply(s, event(T.IN_TRANSIT, at(11), code="AF")) == Applied(False, None)
    assert len(s.timeline) == 2
    # an earlier scan of it moves the milestone back to when it began
    assert apply(s, event(T.IN_TRANSIT, at(9), code="AF")).recorded is True
    assert timeline_of(s)[0] == (at(9), "in_transit", "AF") and len(s.timeline) == 2


def test_a_repeat_of_the_event_that_set_the_status_does_not_move_it_again():
    s = shipment()
    e = event(T.DELIVERED, at(12))
    assert apply(s, e).change == StatusChange(S.DISPATCHED, S.DELIVERED, e)
    assert apply(s, e) == Applied(False, None)


@pytest.mark.parametrize("final", sorted(ENDS_TRACKING))
@pytest.mark.parametrize(
    "later", [T.IN_TRANSIT, T.OUT_FOR_DELIVERY, T.EXCEPTION, T.ATTEMPTED, T.LABEL_CREATED, T.DELIVERED, T.RETURNED_TO_SENDER]
)
def test_delivered_and_returned_to_sender_are_final(final, later):
    s = applied(event(T.IN_TRANSIT, at(9)), event(final, at(12)))
    assert s.final
    result = apply(s, event(later, at(20), code=f"{CODE_OF[later]}-late"))
    assert result.change is None
    # still shown on the timeline (the customer sees what the carrier said), unless it repeats the last milestone
    assert result.recorded is (later.value != final.value)
    assert (s.status, s.status_at) == (S(final.value), at(12))
    assert s.last_event_at == at(20)


@pytest.mark.parametrize("scan", [T.IN_TRANSIT, T.EXCEPTION, T.OUT_FOR_DELIVERY, T.ATTEMPTED])
@pytest.mark.parametrize("label_hours", [8, 10, 12])
def test_label_created_never_overrides_a_scan(scan, label_hours):
    s = applied(event(scan, at(10)), event(T.LABEL_CREATED, at(label_hours)))
    assert (s.status, s.status_at) == (S(scan.value), at(10))
    assert sorted((e.occurred_at, e.status) for e in s.timeline) == sorted(
        [(at(10), scan.value), (at(label_hours), "label_created")]
    )


def test_label_created_moves_a_freshly_dispatched_shipment_and_a_later_scan_overrides_it():
    s = shipment()
    assert apply(s, event(T.LABEL_CREATED, at(8))).change is not None
    assert (s.status, s.status_at) == (S.LABEL_CREATED, at(8))
    # a second label event changes nothing
    assert apply(s, event(T.LABEL_CREATED, at(7), code="LBL2")).change is None
    assert apply(s, event(T.IN_TRANSIT, at(9))).change is not None
    assert s.status is S.IN_TRANSIT


def test_a_scan_at_the_same_time_as_the_label_wins():
    s = applied(event(T.LABEL_CREATED, at(8)), event(T.IN_TRANSIT, at(8)))
    assert s.status is S.IN_TRANSIT


def test_an_unmapped_code_stays_out_of_the_timeline_moves_nothing_but_counts_as_news():
    s = applied(event(T.IN_TRANSIT, at(10)))
    result = apply(s, event(None, at(15), code="ZZ9"))
    assert result.change is None
    assert result.recorded is False
    assert (s.status, s.status_at) == (S.IN_TRANSIT, at(10))
    assert timeline_of(s) == [(at(10), "in_transit", "PU")]
    assert s.last_event_at == at(15)
    # an older unmapped code does not pull last_event_at back
    apply(s, event(None, at(11), code="ZZ8"))
    assert s.last_event_at == at(15)


def test_an_unmapped_code_on_a_fresh_shipment_sets_last_event_at_only():
    s = applied(event(None, at(3)))
    assert (s.status, s.status_at, s.timeline, s.last_event_at) == (S.DISPATCHED, None, [], at(3))
    assert not moves_status(s, event(None, at(4)))


@pytest.mark.parametrize(
    ("first", "second", "winner"),
    [
        (T.IN_TRANSIT, T.OUT_FOR_DELIVERY, T.OUT_FOR_DELIVERY),
        (T.OUT_FOR_DELIVERY, T.IN_TRANSIT, T.OUT_FOR_DELIVERY),
        (T.EXCEPTION, T.ATTEMPTED, T.ATTEMPTED),
        (T.ATTEMPTED, T.EXCEPTION, T.ATTEMPTED),
        (T.OUT_FOR_DELIVERY, T.DELIVERED, T.DELIVERED),
        (T.DELIVERED, T.OUT_FOR_DELIVERY, T.DELIVERED),
        (T.IN_TRANSIT, T.RETURNED_TO_SENDER, T.RETURNED_TO_SENDER),
        (T.LABEL_CREATED, T.IN_TRANSIT, T.IN_TRANSIT),
        (T.IN_TRANSIT, T.LABEL_CREATED, T.IN_TRANSIT),
    ],
)
def test_on_equal_times_the_further_status_wins_in_either_arrival_order(first, second, winner):
    s = applied(event(first, at(12)), event(second, at(12)))
    assert (s.status, s.status_at) == (S(winner.value), at(12))
    assert len(s.timeline) == 2


def test_events_with_naive_and_offset_times_compare_in_utc():
    from datetime import timezone

    cet = timezone(timedelta(hours=1))
    s = applied(event(T.OUT_FOR_DELIVERY, datetime(2025, 3, 3, 13, 0, tzinfo=cet)))  # 12:00 UTC
    apply(s, event(T.IN_TRANSIT, datetime(2025, 3, 3, 11, 30)))  # naive = UTC, earlier
    assert s.status is S.OUT_FOR_DELIVERY
    assert s.status_at == at(12)
    assert [e.occurred_at for e in s.timeline] == [at(11.5), at(12)]


def test_an_event_for_another_tracking_number_is_refused():
    with pytest.raises(ValueError, match="applied to shipment"):
        apply_event(shipment(), CarrierEvent("OTHER1", "PU", T.IN_TRANSIT, at(1)))


# --- the ordering rule, as a property ---------------------------------------------------------

minutes = st.one_of(st.integers(0, 3 * 24 * 60), st.sampled_from([0, 600, 720, 721]))  # a few days, some ties
raw_events = st.builds(
    lambda code, m: event(CODES[code], BASE + timedelta(minutes=m), code), st.sampled_from(sorted(CODES)), minutes
)


def dedup(events: list[CarrierEvent]) -> list[CarrierEvent]:
    return list({e.key: e for e in events}.values())


def order_key(e: CarrierEvent) -> tuple[datetime, int]:
    assert e.status is not None
    return (e.occurred_at, RANK[e.status])


def well_ordered(events: list[CarrierEvent]) -> list[CarrierEvent]:
    """Drop the events that make the result depend on arrival order (each case is pinned by an
    test below), keeping everything else:
    - a final event is followed in time by no other mapped event, and there is only one final
      event (`test_a_scan_after_delivery_arriving_first_hides_the_delivery`,
      `test_two_final_events_are_decided_by_arrival_order`);
    - no label_created is later than the furthest scan
      (`test_a_label_stamped_after_a_scan_and_arriving_first_blocks_the_scan`), and without any
      scan all labels share one time (otherwise status_at is the first label to *arrive*);
    - no two different statuses share the furthest (time, rank)
      (`test_equal_time_and_rank_is_decided_by_arrival_order`).
    Unmapped events are always kept: they never move anything."""
    unique = dedup(events)
    finals = sorted((e for e in unique if e.status in ENDS_TRACKING), key=lambda e: (e.occurred_at, e.carrier_code))
    if finals:
        f = finals[0]
        unique = [
            e
            for e in unique
            if e.status is None or (e.occurred_at <= f.occurred_at and (e.status not in ENDS_TRACKING or e.key == f.key))
        ]
    scans = [e for e in unique if e.status not in (None, T.LABEL_CREATED)]
    labels = [e for e in unique if e.status is T.LABEL_CREATED]
    if scans:
        top = max(scans, key=order_key)
        return [
            e
            for e in unique
            if not (e.status is T.LABEL_CREATED and e.occurred_at > top.occurred_at)
            and not (e in scans and order_key(e) == order_key(top) and e.status is not top.status)
        ]
    if labels:
        first = min(e.occurred_at for e in labels)
        return [e for e in unique if not (e.status is T.LABEL_CREATED and e.occurred_at > first)]
    return unique


def expected_state(events: list[CarrierEvent]) -> tuple[ShipmentStatus, datetime | None]:
    """The closed form for a well-ordered set: the furthest scan by (time, rank); else the label;
    else still dispatched."""
    scans = [e for e in events if e.status not in (None, T.LABEL_CREATED)]
    if scans:
        top = max(scans, key=order_key)
        assert top.status is not None
        return S(top.status.value), top.occurred_at
    labels = [e for e in events if e.status is T.LABEL_CREATED]
    if labels:
        return S.LABEL_CREATED, min(e.occurred_at for e in labels)
    return S.DISPATCHED, None


def with_repeats(data: st.DataObject, events: list[CarrierEvent]) -> list[CarrierEvent]:
    if not events:
        return events
    repeats = data.draw(st.lists(st.sampled_from(events), max_size=6), label="repeats")
    return data.draw(st.permutations([*events, *repeats]), label="arrival order")


@settings(max_examples=400, deadline=None)
@given(st.lists(raw_events, max_size=14), st.data())
def test_timeline_and_last_event_at_never_depend_on_arrival_order(events, data):
    arrived = applied(*with_repeats(data, events))
    in_time_order = applied(*sorted(events, key=lambda e: e.occurred_at))

    # the timeline is the milestones of every event (each run of one status once, at its first
    # scan), in time order, whatever order they arrived in
    assert timeline_of(arrived) == timeline_of(in_time_order) == timeline_of_entries(milestones(events))
    assert [e.occurred_at for e in arrived.timeline] == sorted(e.occurred_at for e in arrived.timeline)
    assert all(a.status != b.status for a, b in zip(arrived.timeline, arrived.timeline[1:], strict=False))
    assert arrived.last_event_at == in_time_order.last_event_at == max((e.occurred_at for e in events), default=None)


@settings(max_examples=400, deadline=None)
@given(st.lists(raw_events, max_size=14), st.data())
def test_every_status_change_goes_forwards_whatever_the_input(events, data):
    """For any input at all, each single step obeys the rule: only new mapped events move; nothing
    moves a final shipment; label_created only moves a shipment still `dispatched`; any other move
    goes to a strictly later (time, rank) than the event that set the current status; a later scan
    of the current status is no change, it only moves `status_at` forward."""
    s = shipment()
    for e in with_repeats(data, events):
        before = (s.status, s.status_at, s.final)
        result = apply(s, e)
        if result.change is None:
            assert s.status == before[0]
            if s.status_at != before[1]:  # a later scan of the same status moves only the time forward
                assert e.status is not None and e.status.value == s.status.value and s.status_at == e.occurred_at
                assert before[1] is None or e.occurred_at > before[1]
            continue
        assert result.recorded and e.status is not None and not before[2]
        assert result.change == StatusChange(before[0], s.status, e)
        if e.status is T.LABEL_CREATED:
            assert before[0] is S.DISPATCHED
            continue
        if e.status in (T.DELIVERED, T.RETURNED_TO_SENDER) or before[0] in (S.DISPATCHED, S.LABEL_CREATED):
            continue  # the end of a parcel counts whenever it is reported; any scan replaces a label
        assert before[1] is not None
        assert (e.occurred_at, RANK[e.status], e.status.value) > (before[1], RANK[T(before[0].value)], before[0].value)


@settings(max_examples=400, deadline=None)
@given(st.lists(raw_events, max_size=14), st.data())
def test_any_arrival_order_of_a_well_ordered_event_set_ends_in_the_same_state(events, data):
    """The invariant the code keeps: for events where no final event is followed in time by
    another mapped event (and is the only final one), no label is stamped after the furthest
    scan, and the furthest (time, rank) is not shared by two statuses, every arrival order, with
    any repeats, ends with status/status_at = the furthest scan by (time, rank) (else the
    earliest label, else `dispatched`), exactly as applying them in time order does. Outside
    those conditions the result depends on arrival order: see the tests below."""
    events = well_ordered(events)
    arrived = applied(*with_repeats(data, events))
    in_time_order = applied(*sorted(events, key=lambda e: e.occurred_at))

    expected = expected_state(events)
    assert (in_time_order.status, in_time_order.status_at) == expected
    assert (arrived.status, arrived.status_at) == expected
    assert sorted(timeline_of(arrived)) == sorted(timeline_of(in_time_order))
    assert arrived.last_event_at == in_time_order.last_event_at


# --- inputs where a naive "latest event wins" would depend on arrival order ---------------------


def both_orders(*events: CarrierEvent) -> tuple[Shipment, Shipment]:
    """(as they arrived, as they happened)"""
    return applied(*events), applied(*sorted(events, key=lambda e: e.occurred_at))


def test_a_scan_stamped_after_delivery_cannot_hold_the_delivery_back():
    arrived, happened = both_orders(event(T.IN_TRANSIT, at(14)), event(T.DELIVERED, at(12)))
    assert happened.status is S.DELIVERED
    assert arrived.status is S.DELIVERED


def test_a_label_stamped_after_a_scan_never_blocks_the_scan():
    arrived, happened = both_orders(event(T.LABEL_CREATED, at(12)), event(T.IN_TRANSIT, at(10)))
    assert happened.status is S.IN_TRANSIT
    assert arrived.status is S.IN_TRANSIT


def test_of_two_final_events_the_first_reported_stands():
    """Documented: nothing moves a final shipment (its deliveries may already be completed)."""
    arrived, happened = both_orders(event(T.RETURNED_TO_SENDER, at(14)), event(T.DELIVERED, at(12)))
    assert arrived.status is S.RETURNED_TO_SENDER
    assert happened.status is S.DELIVERED


def test_equal_time_and_rank_is_decided_by_the_status_not_by_arrival():
    one = applied(event(T.ATTEMPTED, at(12)), event(T.OUT_FOR_DELIVERY, at(12)))
    other = applied(event(T.OUT_FOR_DELIVERY, at(12)), event(T.ATTEMPTED, at(12)))
    assert one.status is other.status is S.OUT_FOR_DELIVERY


def test_unmapped_events_are_not_kept_on_the_shipment():
    """The customer's timeline never shows internal events (the service keeps them, once each, as
    TRACK items), and they never move anything."""
    s = shipment()
    e = event(None, at(3), code="ZZ9")
    assert apply(s, e) == Applied(False, None)
    assert apply(s, e) == Applied(False, None)
    assert s.timeline == [] and s.status is S.DISPATCHED


# --- correcting a tracking number -------------------------------------------------------------


def test_correct_tracking_supersedes_the_old_record_and_starts_a_fresh_one():
    old = applied(event(T.LABEL_CREATED, at(1)), event(T.IN_TRANSIT, at(2)), s=shipment(corrections=1))
    new = correct_tracking(old, "ups", "1Z999AA10123456784")

    assert old.status is S.SUPERSEDED and old.final
    assert (new.id, new.order_ids, new.po_id, new.supplier_id, new.campaign_id, new.created_at) == (
        old.id,
        old.order_ids,
        old.po_id,
        old.supplier_id,
        old.campaign_id,
        old.created_at,
    )
    assert new.order_ids is not old.order_ids
    assert (new.carrier, new.tracking_number, new.corrections) == ("ups", "1Z999AA10123456784", 2)
    assert (new.status, new.status_at, new.last_event_at, new.timeline) == (S.DISPATCHED, None, None, [])
    # the old record keeps its history
    assert len(old.timeline) == 2


def test_the_same_number_with_another_carrier_is_a_correction():
    new = correct_tracking(shipment(), "gls", NUMBER)
    assert (new.carrier, new.tracking_number, new.corrections) == ("gls", NUMBER, 1)


def test_correct_tracking_refuses_an_unchanged_number():
    s = shipment()
    with pytest.raises(InvalidTransition, match="already has"):
        correct_tracking(s, "dhl", NUMBER)
    assert s.status is S.DISPATCHED


@pytest.mark.parametrize("final", [T.DELIVERED, T.RETURNED_TO_SENDER])
def test_correct_tracking_refuses_a_final_shipment(final):
    s = applied(event(final, at(5)))
    before = copy.deepcopy(s)
    with pytest.raises(InvalidTransition, match="can no longer change"):
        correct_tracking(s, "dhl", "NEW-123")
    assert s == before


def test_a_superseded_record_cannot_be_corrected_again():
    old = shipment()
    correct_tracking(old, "dhl", "NEW-123")
    with pytest.raises(InvalidTransition):
        correct_tracking(old, "dhl", "NEW-456")


def test_correct_tracking_refuses_an_unknown_carrier():
    s = shipment()
    with pytest.raises(NotFound):
        correct_tracking(s, "nope", "NEW-123")
    assert s.status is S.DISPATCHED


@pytest.mark.parametrize("e", [event(T.DELIVERED, at(30)), event(T.IN_TRANSIT, at(30), code="NEW"), event(None, at(30))])
def test_a_superseded_shipment_ignores_events(e):
    old = applied(event(T.IN_TRANSIT, at(2)))
    correct_tracking(old, "ups", "1Z999")
    before = copy.deepcopy(old)

    assert apply(old, e) == Applied(False, None)
    assert old == before
    assert not moves_status(old, e)


# --- stale tracking ---------------------------------------------------------------------------

HOUR = 3600


def test_stale_counts_from_creation_while_no_event_came():
    s = shipment()
    assert not stale(s, CREATED + timedelta(hours=48) - timedelta(seconds=1), 48 * HOUR)
    assert stale(s, CREATED + timedelta(hours=48), 48 * HOUR)


def test_stale_counts_from_the_last_event_of_any_kind_afterwards():
    s = applied(event(T.IN_TRANSIT, at(10)), event(None, at(20)))
    assert s.last_event_at == at(20)
    assert not stale(s, at(20 + 47), 48 * HOUR)  # > 48h after creation, < 48h after the last event
    assert stale(s, at(20 + 48), 48 * HOUR)
    # a late-arriving older event does not reset the clock
    apply(s, event(T.IN_TRANSIT, at(15), code="AF"))
    assert stale(s, at(20 + 48), 48 * HOUR)


def test_stale_compares_naive_now_as_utc():
    s = shipment()
    assert stale(s, (CREATED + timedelta(hours=2)).replace(tzinfo=None), 2 * HOUR)


@pytest.mark.parametrize("make_final", ["delivered", "returned", "superseded"])
def test_a_final_shipment_is_never_stale(make_final):
    s = shipment()
    if make_final == "delivered":
        apply(s, event(T.DELIVERED, at(1)))
    elif make_final == "returned":
        apply(s, event(T.RETURNED_TO_SENDER, at(1)))
    else:
        correct_tracking(s, "ups", "1Z999")
    assert s.final
    assert not stale(s, at(24 * 365), 1)


# --- delivery complete ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statuses", "complete"),
    [
        ([], False),
        ([S.SUPERSEDED], False),
        ([S.SUPERSEDED, S.SUPERSEDED], False),
        ([S.DELIVERED], True),
        ([S.SUPERSEDED, S.DELIVERED], True),
        ([S.DELIVERED, S.DELIVERED, S.SUPERSEDED], True),
        ([S.DELIVERED, S.IN_TRANSIT], False),
        ([S.DELIVERED, S.DISPATCHED], False),
        ([S.DELIVERED, S.RETURNED_TO_SENDER], False),
        ([S.RETURNED_TO_SENDER], False),
        ([S.OUT_FOR_DELIVERY, S.SUPERSEDED], False),
    ],
)
def test_delivery_complete(statuses, complete):
    assert delivery_complete(statuses) is complete


# --- an order's status follows its deliveries -------------------------------------------------


def three_supplier_order():
    order = place(("MUG-1", 1), ("CAP-1", 1), ("PEN-1", 1))  # acme, bolt, cove
    assert order.supplier_ids == ["acme", "bolt", "cove"]
    assert order.status is O.PLACED
    return order


def run_steps(steps: list[tuple[str, DeliveryAction]]) -> list[tuple[str, str]]:
    order = three_supplier_order()
    seen = []
    for supplier_id, action in steps:
        t = apply_delivery_action(order, supplier_id, action)
        assert t.to_status == order.status.value == derive_status(order.deliveries, order.hold_rejected).value
        seen.append((t.from_status, t.to_status))
    return seen


PO_OUT = [("acme", A.SEND_PO), ("bolt", A.SEND_PO), ("cove", A.SEND_PO)]


def test_three_suppliers_one_rejected_pass_through_every_partial_state_to_completed():
    seen = run_steps(
        [
            *PO_OUT,
            ("acme", A.ACCEPT),
            ("bolt", A.ACCEPT),
            ("cove", A.REJECT),
            ("acme", A.DISPATCH),
            ("bolt", A.DISPATCH),
            ("acme", A.DELIVER),
            ("bolt", A.DELIVER),
        ]
    )
    assert [to for _, to in seen] == [
        "ordered",
        "ordered",
        "ordered",
        "ordered",
        "ordered",
        "ordered",
        "partially_dispatched",
        "dispatched",
        "partially_delivered",
        "completed",  # the refused delivery is final: nothing is left to wait for
    ]
    assert seen[0][0] == "placed"


def test_delivering_one_while_another_is_still_at_the_supplier_is_partially_delivered():
    seen = run_steps(
        [
            *PO_OUT,
            ("cove", A.REJECT),  # refused early: the rest is still open
            ("acme", A.ACCEPT),
            ("acme", A.DISPATCH),
            ("acme", A.DELIVER),  # bolt still only ordered
            ("bolt", A.ACCEPT),
            ("bolt", A.DISPATCH),
            ("bolt", A.DELIVER),
        ]
    )
    assert [to for _, to in seen] == [
        "ordered",
        "ordered",
        "ordered",
        "ordered",
        "ordered",
        "partially_dispatched",
        "partially_delivered",
        "partially_delivered",
        "partially_delivered",
        "completed",
    ]


def test_a_rejection_can_turn_partially_dispatched_into_dispatched():
    seen = run_steps(
        [
            *PO_OUT,
            ("acme", A.ACCEPT),
            ("acme", A.DISPATCH),
            ("bolt", A.ACCEPT),
            ("bolt", A.DISPATCH),
            ("cove", A.REJECT),  # the last open supply goes away
            ("acme", A.DELIVER),
            ("bolt", A.DELIVER),
        ]
    )
    assert [to for _, to in seen][3:] == [
        "ordered",
        "partially_dispatched",
        "partially_dispatched",
        "partially_dispatched",
        "dispatched",
        "partially_delivered",
        "completed",
    ]


PROGRESS = [O.PLACED, O.ORDERED, O.PARTIALLY_DISPATCHED, O.DISPATCHED, O.PARTIALLY_DELIVERED, O.COMPLETED]
HAPPY = [A.SEND_PO, A.ACCEPT, A.DISPATCH, A.DELIVER]
UNHAPPY = [A.SEND_PO, A.REJECT]


@st.composite
def interleavings(draw):
    paths = {s: list(draw(st.sampled_from([HAPPY, UNHAPPY]))) for s in ("acme", "bolt", "cove")}
    if all(p == UNHAPPY for p in paths.values()):  # someone ships
        paths["acme"] = list(HAPPY)
    steps = []
    while any(paths.values()):
        supplier_id = draw(st.sampled_from(sorted(s for s, p in paths.items() if p)))
        steps.append((supplier_id, paths[supplier_id].pop(0)))
    return steps


@settings(max_examples=300, deadline=None)
@given(interleavings())
def test_any_interleaving_of_three_suppliers_only_moves_forwards_and_ends_completed(steps):
    order = three_supplier_order()
    statuses = [order.status]
    for supplier_id, action in steps:
        apply_delivery_action(order, supplier_id, action)
        statuses.append(order.status)
    assert [PROGRESS.index(s) for s in statuses] == sorted(PROGRESS.index(s) for s in statuses)
    assert statuses[-1] is O.COMPLETED
    shipped = any(a is A.DISPATCH for _, a in steps)
    assert (O.DISPATCHED in statuses or O.PARTIALLY_DISPATCHED in statuses) is shipped
    # completed is reached exactly at the last step
    assert statuses.index(O.COMPLETED) == len(statuses) - 1


def test_a_delivery_action_out_of_turn_is_refused_and_changes_nothing():
    order = three_supplier_order()
    apply_delivery_action(order, "acme", A.SEND_PO)
    with pytest.raises(InvalidTransition):
        apply_delivery_action(order, "acme", A.DISPATCH)
    assert order.delivery("acme").status is DeliveryStatus.ORDERED
    assert order.status is O.ORDERED


# --- carriers ---------------------------------------------------------------------------------


def test_tracking_url_quotes_the_number():
    assert tracking_url("dhl", "AB 12/3?x&y=#") == "https://www.dhl.com/track?tracking-id=AB%2012%2F3%3Fx%26y%3D%23"
    assert tracking_url("gls", "ÄB1") == "https://gls-group.com/track/%C3%84B1"


@pytest.mark.parametrize("code", sorted(CARRIERS))
def test_every_carrier_builds_a_tracking_url_with_the_number(code):
    url = tracking_url(code, "AB-1234")
    assert url.startswith("https://")
    assert url == CARRIERS[code].tracking_url.replace("{number}", "AB-1234")


def test_carrier_looks_up_known_codes_and_refuses_unknown_ones():
    assert carrier("ups").name == "UPS"
    assert carrier("dhl").format == "dhl"
    with pytest.raises(NotFound, match="unknown carrier 'nope'"):
        carrier("nope")


def test_the_api_carrier_literal_matches_the_domain_carriers():
    assert set(get_args(schemas.Carrier)) == set(CARRIERS)
    assert all(code == c.code for code, c in CARRIERS.items())
