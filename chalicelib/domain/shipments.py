"""Shipments and carrier tracking.

A supplier records a shipment (carrier, tracking number, the orders it carries) for its
purchase order; carriers then report events about it by webhook. Every carrier's own codes
are normalised to one status set (`TrackingStatus`), the carrier's code kept beside it.

The rule that keeps a shipment from moving backwards (`moves_status`), whatever order events
arrive in: among scans, the one that happened last wins (on equal times the further status,
then the status name, so ties do not depend on arrival); `delivered` and `returned_to_sender`
end the shipment whenever they are reported (a scan stamped later cannot hold a delivery
back) and nothing moves it afterwards (if a carrier reports both, the first one reported
stands); `label_created` only ever replaces `dispatched`, and any scan replaces it; a repeat
of an event already recorded (same time, same carrier code) changes nothing. Events with a
code we do not map are kept in the record (internal), never shown to the customer and never
change the status.

When a carrier sends nothing, staff or the supplier record what happened by hand (`ByHand`):
it becomes a carrier event with a `manual:` code and the status a carrier would report, so the
same rules apply to it (`by_hand_event`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from .errors import InvalidTransition, NotFound, RuleViolation


class TrackingStatus(StrEnum):
    LABEL_CREATED = "label_created"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    ATTEMPTED = "attempted"
    DELIVERED = "delivered"
    EXCEPTION = "exception"
    RETURNED_TO_SENDER = "returned_to_sender"


class ShipmentStatus(StrEnum):
    DISPATCHED = "dispatched"  # recorded by the supplier; no carrier event yet
    LABEL_CREATED = "label_created"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    ATTEMPTED = "attempted"
    DELIVERED = "delivered"
    EXCEPTION = "exception"
    RETURNED_TO_SENDER = "returned_to_sender"
    SUPERSEDED = "superseded"  # the supplier corrected the tracking number: a new shipment record took over


T = TrackingStatus
S = ShipmentStatus

# How far along a status is; on equal event times the further one wins.
RANK: dict[TrackingStatus, int] = {
    T.LABEL_CREATED: 0,
    T.IN_TRANSIT: 1,
    T.EXCEPTION: 1,
    T.ATTEMPTED: 2,
    T.OUT_FOR_DELIVERY: 2,
    T.DELIVERED: 3,
    T.RETURNED_TO_SENDER: 3,
}
FINAL = frozenset({S.DELIVERED, S.RETURNED_TO_SENDER, S.SUPERSEDED})
ENDS_TRACKING = frozenset({T.DELIVERED, T.RETURNED_TO_SENDER})

# What the customer reads for each status (timeline and e-mails).
CUSTOMER_TEXT: dict[str, str] = {
    S.DISPATCHED: "Handed to the carrier",
    S.LABEL_CREATED: "Shipping label created",
    S.IN_TRANSIT: "On its way",
    S.OUT_FOR_DELIVERY: "Out for delivery",
    S.ATTEMPTED: "Delivery attempted",
    S.DELIVERED: "Delivered",
    S.EXCEPTION: "Delayed: the carrier reports a problem",
    S.RETURNED_TO_SENDER: "Returned to the sender",
    S.SUPERSEDED: "Tracking number corrected",
}

MAX_TIMELINE = 50  # entries kept on the shipment for the customer (the full record is kept as TRACK items)
MAX_ORDERS_PER_SHIPMENT = 20  # one parcel goes to one address; 20 keeps every change in one transaction


@dataclass(frozen=True)
class Carrier:
    code: str
    name: str
    format: str  # which payload format its webhooks use (domain.carrier_formats)
    tracking_url: str  # with {number}


CARRIERS: dict[str, Carrier] = {
    c.code: c
    for c in (
        Carrier("dhl", "DHL", "dhl", "https://www.dhl.com/track?tracking-id={number}"),
        Carrier("ups", "UPS", "ups", "https://www.ups.com/track?tracknum={number}"),
        Carrier("gls", "GLS", "generic", "https://gls-group.com/track/{number}"),
        Carrier("dpd", "DPD", "generic", "https://tracking.dpd.de/status/en_US/parcel/{number}"),
        Carrier("postnord", "PostNord", "generic", "https://tracking.postnord.com/?id={number}"),
    )
}


def carrier(code: str) -> Carrier:
    try:
        return CARRIERS[code]
    except KeyError:
        raise NotFound(f"unknown carrier {code!r}; known: {', '.join(sorted(CARRIERS))}") from None


def tracking_url(carrier_code: str, tracking_number: str) -> str:
    from urllib.parse import quote

    return CARRIERS[carrier_code].tracking_url.format(number=quote(tracking_number, safe=""))


def parcel_ref(carrier_code: str, tracking_number: str) -> str:
    """How a parcel is named as the subject of exceptions, deadlines and its audit events, and in a
    superseded record's pointer to its successor: `<carrier>#<tracking number>` (the one spelling)."""
    return f"{carrier_code}#{tracking_number}"


def utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def event_key(occurred_at: datetime, carrier_code: str) -> str:
    return f"{utc(occurred_at).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}#{carrier_code}"


@dataclass(frozen=True)
class CarrierEvent:
    """One normalised carrier event. `status` is None for a carrier code we do not map."""

    tracking_number: str
    carrier_code: str
    status: TrackingStatus | None
    occurred_at: datetime
    description: str = ""
    location: str | None = None

    @property
    def key(self) -> str:
        """Identifies the event across redeliveries: when it happened and what the carrier called it."""
        return event_key(self.occurred_at, self.carrier_code)

    @property
    def customer_facing(self) -> bool:
        return self.status is not None

    @property
    def by_hand(self) -> bool:
        """Recorded by staff or the supplier (`by_hand_event`), not reported by the carrier."""
        return self.carrier_code.startswith(BY_HAND_CODE_PREFIX)


@dataclass(frozen=True)
class TimelineEntry:
    status: str
    carrier_code: str
    occurred_at: datetime
    description: str = ""
    location: str | None = None

    @property
    def key(self) -> str:
        return event_key(self.occurred_at, self.carrier_code)


@dataclass
class Shipment:
    id: str
    carrier: str
    tracking_number: str
    po_id: str
    supplier_id: str
    campaign_id: str
    order_ids: list[str]
    created_at: datetime
    status: ShipmentStatus = ShipmentStatus.DISPATCHED
    status_at: datetime | None = None  # the latest event of the current status (what later events are compared to)
    last_event_at: datetime | None = None  # the latest carrier event seen (any code)
    timeline: list[TimelineEntry] = field(default_factory=list)
    corrections: int = 0

    @property
    def final(self) -> bool:
        return self.status in FINAL

    @property
    def ref(self) -> str:
        """The parcel as a subject (`parcel_ref`)."""
        return parcel_ref(self.carrier, self.tracking_number)


@dataclass(frozen=True)
class StatusChange:
    from_status: ShipmentStatus
    to_status: ShipmentStatus
    event: CarrierEvent


@dataclass(frozen=True)
class Applied:
    recorded: bool  # the customer's timeline changed
    change: StatusChange | None


def moves_status(shipment: Shipment, event: CarrierEvent) -> bool:
    """Whether this event sets the shipment's status (see the module docstring)."""
    if event.status is None or shipment.final:
        return False
    if event.status is T.LABEL_CREATED:
        return shipment.status is S.DISPATCHED
    if event.status in ENDS_TRACKING or shipment.status in (S.DISPATCHED, S.LABEL_CREATED):
        return True
    if shipment.status_at is None:
        return True
    at, current = utc(event.occurred_at), utc(shipment.status_at)
    if at != current:
        return at > current
    now_status = T(shipment.status.value)
    return (RANK[event.status], event.status.value) > (RANK[now_status], now_status.value)


def _entry(event: CarrierEvent) -> TimelineEntry:
    return TimelineEntry(str(event.status), event.carrier_code, utc(event.occurred_at), event.description, event.location)


def milestones(events: Iterable[CarrierEvent]) -> list[TimelineEntry]:
    """The customer's timeline from carrier events: customer-facing ones in time order, a run of
    scans of one status being one milestone dated by its first scan (carriers scan a parcel at
    every hub; the customer wants to know it is on its way). Repeats count once."""
    unique: dict[str, CarrierEvent] = {}
    for e in events:
        if e.customer_facing:
            unique.setdefault(e.key, e)  # a repeat keeps what was recorded first
    out: list[TimelineEntry] = []
    for e in sorted(unique.values(), key=lambda e: (utc(e.occurred_at), e.carrier_code)):
        if not out or out[-1].status != e.status:
            out.append(_entry(e))
    return out[-MAX_TIMELINE:]


def needs_history(shipment: Shipment, event: CarrierEvent) -> bool:
    """An event not later than every event seen so far may fall inside the timeline: placing it
    needs the events already recorded (`apply_event(..., history=...)`)."""
    return event.customer_facing and shipment.last_event_at is not None and utc(event.occurred_at) <= utc(shipment.last_event_at)


def apply_event(shipment: Shipment, event: CarrierEvent, history: Iterable[CarrierEvent] = ()) -> Applied:
    """Apply a carrier event to the shipment (in place). `recorded`: the customer's timeline
    changed; `change`: the status moved. A repeat changes neither (the service also keeps each
    carrier event once, as its TRACK item). The timeline is `milestones` of every event, whatever
    order they arrive in: a later event extends it, an earlier one rebuilds it from `history`."""
    if event.tracking_number != shipment.tracking_number:
        raise ValueError(f"event for {event.tracking_number} applied to shipment {shipment.tracking_number}")
    if shipment.status is S.SUPERSEDED:
        return Applied(False, None)
    recorded = False
    if needs_history(shipment, event):
        rebuilt = milestones([*history, event])
        recorded, shipment.timeline = rebuilt != shipment.timeline, rebuilt
    elif event.customer_facing and (not shipment.timeline or shipment.timeline[-1].status != event.status):
        shipment.timeline = [*shipment.timeline, _entry(event)][-MAX_TIMELINE:]
        recorded = True
    if shipment.last_event_at is None or utc(event.occurred_at) > utc(shipment.last_event_at):
        shipment.last_event_at = utc(event.occurred_at)
    if not moves_status(shipment, event):
        return Applied(recorded, None)
    assert event.status is not None
    if event.status.value == shipment.status.value:  # a later scan of the same status: nothing to tell
        shipment.status_at = utc(event.occurred_at)
        return Applied(recorded, None)
    before = shipment.status
    shipment.status = S(event.status.value)
    shipment.status_at = utc(event.occurred_at)
    return Applied(True, StatusChange(before, shipment.status, event))


def correct_tracking(shipment: Shipment, carrier_code: str, tracking_number: str) -> Shipment:
    """The supplier gave the wrong number: the record under the old number is superseded and a
    fresh one (same id and orders, no events yet) takes over. Not after the parcel arrived."""
    carrier(carrier_code)
    if shipment.final:
        raise InvalidTransition(f"shipment {shipment.id} is {shipment.status.value}; its tracking can no longer change")
    if (carrier_code, tracking_number) == (shipment.carrier, shipment.tracking_number):
        raise InvalidTransition(f"shipment {shipment.id} already has tracking number {tracking_number}")
    successor = Shipment(
        id=shipment.id,
        carrier=carrier_code,
        tracking_number=tracking_number,
        po_id=shipment.po_id,
        supplier_id=shipment.supplier_id,
        campaign_id=shipment.campaign_id,
        order_ids=list(shipment.order_ids),
        created_at=shipment.created_at,
        corrections=shipment.corrections + 1,
    )
    shipment.status = S.SUPERSEDED
    return successor


def stale(shipment: Shipment, now: datetime, threshold_s: int) -> bool:
    """Tracking has gone quiet: nothing from the carrier for `threshold_s` (counted from the
    shipment's creation while nothing has come yet). Final shipments are never stale."""
    if shipment.final:
        return False
    since = shipment.last_event_at or shipment.created_at
    return (utc(now) - utc(since)).total_seconds() >= threshold_s


def counted_parcels(parcels: Iterable[tuple[ShipmentStatus, datetime, datetime | None]]) -> list[ShipmentStatus]:
    """The statuses a delivery's completeness depends on, from its parcels' (status, recorded at,
    status at). A parcel returned to sender stops counting once a parcel recorded after the return
    carries the delivery: the supplier sent the goods again. Compared with the return's time, not
    the parcel's recording, so one half of a split delivery coming back still holds the delivery open."""
    items = list(parcels)
    resent = [utc(created) for status, created, _ in items if status not in (S.SUPERSEDED, S.RETURNED_TO_SENDER)]
    return [
        status
        for status, created, status_at in items
        if status is not S.RETURNED_TO_SENDER or not any(c > utc(status_at or created) for c in resent)
    ]


def delivery_complete(statuses: list[ShipmentStatus]) -> bool:
    """A delivery (one supplier's share of an order) is delivered when every shipment carrying
    it (superseded records aside) is delivered."""
    live = [s for s in statuses if s is not S.SUPERSEDED]
    return bool(live) and all(s is S.DELIVERED for s in live)


# ---------------------------------------------------------------- recorded by hand (issue 16)


class ByHand(StrEnum):
    """What staff or the supplier may record about a parcel when its carrier sends nothing."""

    DELIVERED = "delivered"
    DELIVERY_FAILED = "delivery_failed"
    RETURNED_TO_SENDER = "returned_to_sender"


# Each is the status the carrier formats report for the same fact, so a record by hand takes the
# carriers' path (`apply_event`) and has every effect a carrier's event would have.
BY_HAND_STATUS: dict[ByHand, TrackingStatus] = {
    ByHand.DELIVERED: T.DELIVERED,
    ByHand.DELIVERY_FAILED: T.ATTEMPTED,
    ByHand.RETURNED_TO_SENDER: T.RETURNED_TO_SENDER,
}
BY_HAND_CODE_PREFIX = "manual:"  # the TRACK item's carrier code: `manual:delivered`, ... (no carrier uses a colon)
BY_HAND_TEXT: dict[ByHand, str] = {  # the customer's timeline entry says who reported it, never the note
    ByHand.DELIVERED: "Delivery confirmed",
    ByHand.DELIVERY_FAILED: "Failed delivery attempt reported",
    ByHand.RETURNED_TO_SENDER: "Return to the sender reported",
}
CLOCK_SKEW_S = 60  # a time "now" from a browser whose clock runs a little fast is still now
PROOF_PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})


def by_hand_event(
    shipment: Shipment, what: ByHand, *, at: datetime | None, now: datetime, by_supplier: bool, at_field: str = "body.at"
) -> CarrierEvent | None:
    """The event a record by hand applies, dated `at` (default now): not in the future, not before
    the parcel was recorded (`at_field` names the field in the error). None when the parcel already
    ended the same way (the carrier or an earlier record said so): a repeat, nothing to apply. A
    parcel that ended the other way (or was superseded) cannot take it: 409."""
    when = utc(at or now)
    if when > utc(now) + timedelta(seconds=CLOCK_SKEW_S):
        raise RuleViolation(
            "invalid_event_time",
            f"{at_field.rsplit('.', 1)[-1]} is in the future",
            details=[{"field": at_field, "message": "must not be in the future"}],
        )
    when = min(when, utc(now))
    if when < utc(shipment.created_at):
        message = f"must not be before the parcel was recorded ({utc(shipment.created_at).isoformat()})"
        raise RuleViolation(
            "invalid_event_time", f"{at_field.rsplit('.', 1)[-1]} {message}", details=[{"field": at_field, "message": message}]
        )
    status = BY_HAND_STATUS[what]
    if shipment.final:
        if shipment.status.value == status.value:
            return None
        raise InvalidTransition(
            f"parcel {shipment.id} is {shipment.status.value}; it cannot be recorded as {what.value} any more"
        )
    who = "the supplier" if by_supplier else "our team"
    return CarrierEvent(
        tracking_number=shipment.tracking_number,
        carrier_code=f"{BY_HAND_CODE_PREFIX}{what.value}",
        status=status,
        occurred_at=when,
        description=f"{BY_HAND_TEXT[what]} by {who}",
    )
