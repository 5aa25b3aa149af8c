"""Parcel events recorded by hand (issue 16): the event a record by hand becomes, the times it
takes, what a parcel that already ended answers, and how a parcel sent again after a return to
sender lets the delivery complete."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import get_args

import pytest

from chalicelib.api.views import common as schemas
from chalicelib.domain.errors import InvalidTransition, RuleViolation
from chalicelib.domain.shipments import (
    BY_HAND_STATUS,
    PROOF_PHOTO_TYPES,
    ByHand,
    CarrierEvent,
    Shipment,
    ShipmentStatus,
    TrackingStatus,
    apply_event,
    by_hand_event,
    counted_parcels,
    delivery_complete,
)

S = ShipmentStatus
T = TrackingStatus
CREATED = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
NOW = CREATED + timedelta(days=4)


def shipment(status: ShipmentStatus = S.IN_TRANSIT) -> Shipment:
    return Shipment(
        id="shp-1",
        carrier="dhl",
        tracking_number="JD0001",
        po_id="po-1",
        supplier_id="acme",
        campaign_id="cmp-1",
        order_ids=["ord-1"],
        created_at=CREATED,
        status=status,
        status_at=CREATED + timedelta(hours=5),
        last_event_at=CREATED + timedelta(hours=5),
    )


@pytest.mark.parametrize("what", list(ByHand))
def test_a_record_by_hand_is_the_carriers_status_for_the_same_fact_under_a_manual_code(what):
    event = by_hand_event(shipment(), what, at=None, now=NOW, by_supplier=True)
    assert event is not None
    assert (event.status, event.carrier_code, event.occurred_at) == (BY_HAND_STATUS[what], f"manual:{what.value}", NOW)
    assert event.by_hand and event.customer_facing
    assert event.description.endswith("by the supplier")


def test_the_failed_attempt_and_the_return_are_the_statuses_carrier_formats_map_them_to():
    assert BY_HAND_STATUS == {
        ByHand.DELIVERED: T.DELIVERED,
        ByHand.DELIVERY_FAILED: T.ATTEMPTED,
        ByHand.RETURNED_TO_SENDER: T.RETURNED_TO_SENDER,
    }


def test_a_carriers_own_code_is_never_taken_for_a_record_by_hand():
    assert not CarrierEvent("JD0001", "delivered", T.DELIVERED, NOW).by_hand


def test_staff_records_say_our_team_and_never_carry_the_note():
    event = by_hand_event(shipment(), ByHand.DELIVERED, at=None, now=NOW, by_supplier=False)
    assert event is not None and event.description == "Delivery confirmed by our team"


def test_a_delivery_confirmed_by_hand_ends_the_parcel_like_the_carriers():
    s = shipment()
    event = by_hand_event(s, ByHand.DELIVERED, at=CREATED + timedelta(hours=2), now=NOW, by_supplier=True)
    assert event is not None
    applied = apply_event(s, event)  # dated before the last scan: delivered still ends the parcel
    assert applied.change is not None and s.status is S.DELIVERED and s.final


def test_a_time_in_the_future_is_refused_naming_the_field():
    with pytest.raises(RuleViolation) as refused:
        by_hand_event(
            shipment(), ByHand.DELIVERED, at=NOW + timedelta(minutes=5), now=NOW, by_supplier=True, at_field="body.delivered_at"
        )
    assert refused.value.code == "invalid_event_time"
    assert refused.value.details == [{"field": "body.delivered_at", "message": "must not be in the future"}]


def test_a_browser_clock_a_little_ahead_is_taken_as_now():
    event = by_hand_event(shipment(), ByHand.DELIVERED, at=NOW + timedelta(seconds=30), now=NOW, by_supplier=True)
    assert event is not None and event.occurred_at == NOW


def test_a_time_before_the_parcel_was_recorded_is_refused():
    with pytest.raises(RuleViolation) as refused:
        by_hand_event(shipment(), ByHand.DELIVERY_FAILED, at=CREATED - timedelta(seconds=1), now=NOW, by_supplier=False)
    assert refused.value.details[0]["field"] == "body.at"
    assert "before the parcel was recorded" in refused.value.message


@pytest.mark.parametrize(("final", "what"), [(S.DELIVERED, ByHand.DELIVERED), (S.RETURNED_TO_SENDER, ByHand.RETURNED_TO_SENDER)])
def test_a_parcel_that_already_ended_the_same_way_needs_nothing(final, what):
    assert by_hand_event(shipment(final), what, at=None, now=NOW, by_supplier=True) is None


@pytest.mark.parametrize(
    ("final", "what"),
    [
        (S.DELIVERED, ByHand.RETURNED_TO_SENDER),
        (S.DELIVERED, ByHand.DELIVERY_FAILED),
        (S.RETURNED_TO_SENDER, ByHand.DELIVERED),
        (S.SUPERSEDED, ByHand.DELIVERED),
    ],
)
def test_a_parcel_that_ended_otherwise_cannot_take_a_record_by_hand(final, what):
    with pytest.raises(InvalidTransition):
        by_hand_event(shipment(final), what, at=None, now=NOW, by_supplier=True)


def test_the_api_offers_exactly_the_photo_types_and_events_the_domain_takes():
    assert set(get_args(schemas.ProofPhotoType)) == PROOF_PHOTO_TYPES
    status = schemas.ParcelEventIn.model_fields["status"].annotation
    assert set(get_args(status)) == {w.value for w in ByHand} - {ByHand.DELIVERED.value}


# --- a parcel sent again after a return to sender ------------------------------------------------


def at(hours: float) -> datetime:
    return CREATED + timedelta(hours=hours)


def test_a_parcel_recorded_after_a_return_replaces_it():
    parcels = [(S.RETURNED_TO_SENDER, at(0), at(30)), (S.DELIVERED, at(40), at(60))]
    assert counted_parcels(parcels) == [S.DELIVERED]
    assert delivery_complete(counted_parcels(parcels))


def test_a_returned_half_of_a_split_delivery_still_holds_it_open():
    """Both halves left together; one came back: the other's arrival does not complete the delivery."""
    parcels = [(S.RETURNED_TO_SENDER, at(0), at(30)), (S.DELIVERED, at(0.1), at(20))]
    assert counted_parcels(parcels) == [S.RETURNED_TO_SENDER, S.DELIVERED]
    assert not delivery_complete(counted_parcels(parcels))


def test_a_return_with_nothing_sent_again_holds_the_delivery_open():
    assert not delivery_complete(counted_parcels([(S.RETURNED_TO_SENDER, at(0), at(30))]))


def test_a_parcel_sent_again_and_returned_again_replaces_nothing():
    parcels = [(S.RETURNED_TO_SENDER, at(0), at(30)), (S.RETURNED_TO_SENDER, at(40), at(70))]
    assert not delivery_complete(counted_parcels(parcels))
    parcels.append((S.DELIVERED, at(80), at(90)))
    assert counted_parcels(parcels) == [S.DELIVERED]


def test_a_superseded_record_never_stands_in_for_goods_sent_again():
    parcels = [(S.RETURNED_TO_SENDER, at(0), at(30)), (S.SUPERSEDED, at(40), None)]
    assert counted_parcels(parcels) == [S.RETURNED_TO_SENDER, S.SUPERSEDED]


def test_a_return_without_a_time_counts_from_when_the_parcel_was_recorded():
    parcels = [(S.RETURNED_TO_SENDER, at(10), None), (S.DELIVERED, at(11), at(20))]
    assert counted_parcels(parcels) == [S.DELIVERED]
