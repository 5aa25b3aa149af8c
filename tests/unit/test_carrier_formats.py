"""Carrier webhook formats (generic, DHL-like, UPS-like) and the carrier simulator that builds them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from chalicelib.domain.carrier_formats import FORMATS, MAX_EVENTS, parse
from chalicelib.domain.errors import RuleViolation
from chalicelib.domain.shipments import CARRIERS, CarrierEvent, TrackingStatus
from chalicelib.local import carrier_sim

T = TrackingStatus
AT = datetime(2026, 11, 23, 14, 25, tzinfo=UTC)


def problems(format: str, body: object) -> dict[str, str]:
    with pytest.raises(RuleViolation) as caught:
        parse(format, body)  # type: ignore[arg-type]
    assert caught.value.code == "invalid_carrier_payload"
    return {d["field"]: d["message"] for d in caught.value.details}


# ---------------------------------------------------------------- round trips through the simulator


def test_every_carrier_uses_a_known_format():
    assert {c.format for c in CARRIERS.values()} <= set(FORMATS)


@pytest.mark.parametrize("format", FORMATS)
@pytest.mark.parametrize("status", list(TrackingStatus))
def test_every_status_round_trips_through_the_simulator(format, status):
    body = carrier_sim.payload(format, "TRK-1", status, AT, description="Scanned", location="Berlin, DE")
    (event,) = parse(format, body)
    assert (event.tracking_number, event.status, event.occurred_at) == ("TRK-1", status, AT)
    assert (event.description, event.location) == ("Scanned", "Berlin, DE")


@pytest.mark.parametrize("format", FORMATS)
def test_a_plain_string_status_is_sent_as_an_unmapped_carrier_code(format):
    code = {"generic": "held_at_customs", "dhl": "unknown/customs-hold", "ups": "Z/99"}[format]
    (event,) = parse(format, carrier_sim.payload(format, "TRK-1", code, AT))
    assert (event.status, event.carrier_code, event.customer_facing) == (None, code, False)


@settings(max_examples=60, deadline=None)
@given(
    format=st.sampled_from(FORMATS),
    status=st.sampled_from(list(TrackingStatus)),
    at=st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-7))]),
    ),
    number=st.text("ABCXYZ0123456789-", min_size=1, max_size=30),
)
def test_round_trips_keep_the_instant_in_utc(format, status, at, number):
    at = at.replace(microsecond=0)  # UPS carries whole seconds
    (event,) = parse(format, carrier_sim.payload(format, number, status, at))
    assert (event.tracking_number, event.status) == (number, status)
    assert event.occurred_at == at and event.occurred_at.utcoffset() == timedelta(0)


def test_the_simulator_refuses_an_unknown_format():
    with pytest.raises(ValueError):
        carrier_sim.payload("fedex", "TRK-1", T.DELIVERED, AT)


def test_parse_refuses_an_unknown_format():
    with pytest.raises(ValueError, match="fedex"):
        parse("fedex", {})


# ---------------------------------------------------------------- generic


def test_a_generic_body_parses_to_its_events_in_utc():
    body = {
        "tracking_number": "GLS-42",
        "events": [
            {
                "status": "in_transit",
                "code": "ARR-HUB",
                "occurred_at": "2026-11-23T16:25:00+02:00",
                "description": "Arrived at hub",
                "location": "Hamburg, DE",
            },
            {"status": "delivered", "occurred_at": "2026-11-24T09:00:00Z"},
        ],
    }
    assert parse("generic", body) == [
        CarrierEvent("GLS-42", "ARR-HUB", T.IN_TRANSIT, AT, "Arrived at hub", "Hamburg, DE"),
        CarrierEvent("GLS-42", "delivered", T.DELIVERED, datetime(2026, 11, 24, 9, tzinfo=UTC)),
    ]
    assert parse("generic", body)[0].occurred_at.tzinfo is UTC


def test_a_generic_status_we_do_not_know_is_kept_unmapped_with_its_code():
    body = {
        "tracking_number": "GLS-42",
        "events": [
            {"status": "customs", "code": "C-17", "occurred_at": "2026-11-23T14:25:00Z"},
            {"status": "weather_delay", "occurred_at": "2026-11-23T15:25:00Z"},
        ],
    }
    assert [(e.status, e.carrier_code) for e in parse("generic", body)] == [(None, "C-17"), (None, "weather_delay")]


def test_a_generic_body_reports_every_problem_at_once():
    found = problems(
        "generic",
        {
            "tracking_number": "  ",
            "events": [
                {"status": "delivered", "occurred_at": "yesterday"},
                {"status": 7, "occurred_at": "2026-11-23T14:25:00"},
                "not an event",
                {"code": ["x"], "description": 3, "location": {}},
            ],
        },
    )
    assert found == {
        "tracking_number": "must not be empty",
        "events[0].occurred_at": "'yesterday' is not an ISO 8601 timestamp",
        "events[1].status": "must be a string",
        "events[1].occurred_at": "'2026-11-23T14:25:00' has no UTC offset (add Z or +hh:mm)",
        "events[2]": "must be an object",
        "events[3].status": "is required",
        "events[3].code": "must be a string",
        "events[3].occurred_at": "is required",
        "events[3].description": "must be a string",
        "events[3].location": "must be a string",
    }


def test_the_violation_message_names_the_format_and_the_first_problems():
    with pytest.raises(RuleViolation) as caught:
        parse("generic", {"events": "soon"})
    assert caught.value.message.startswith("malformed generic carrier payload: tracking_number: is required")
    assert len(caught.value.details) == 2


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"tracking_number": "X"}, "events", "is required"),
        ({"tracking_number": "X", "events": []}, "events", "must hold at least one event"),
        ({"tracking_number": "X", "events": {"status": "delivered"}}, "events", "must be a list"),
        (
            {"tracking_number": 12345, "events": [{"status": "delivered", "occurred_at": "2026-11-23T14:25:00Z"}]},
            "tracking_number",
            "must be a string",
        ),
        (["not", "an", "object"], "$", "must be an object"),
    ],
)
def test_generic_structural_problems(body, field, message):
    assert problems("generic", body) == {field: message}


def test_a_body_may_carry_at_most_max_events_events():
    event = {"status": "in_transit", "occurred_at": "2026-11-23T14:25:00Z"}
    assert len(parse("generic", {"tracking_number": "X", "events": [event] * MAX_EVENTS})) == MAX_EVENTS
    too_many = {"tracking_number": "", "events": [event] * (MAX_EVENTS + 1)}
    assert problems("generic", too_many) == {
        "tracking_number": "must not be empty",
        "events": f"more than {MAX_EVENTS} events in one body",
    }


# ---------------------------------------------------------------- DHL


def dhl_event(status_code, detail=None, **extra):
    event = {"timestamp": "2026-11-23T16:25:00+02:00", "statusCode": status_code, **extra}
    return event if detail is None else {**event, "statusDetailCode": detail}


def test_a_dhl_body_parses_to_its_events_in_utc():
    body = {
        "shipments": [
            {
                "id": "00340434292135100186",
                "events": [
                    {
                        "timestamp": "2026-11-23T16:25:00+02:00",
                        "statusCode": "transit",
                        "status": "In transit",
                        "description": "The shipment has been processed in the parcel center",
                        "location": {"address": {"addressLocality": "Berlin", "countryCode": "DE", "postalCode": "10115"}},
                    }
                ],
            }
        ]
    }
    assert parse("dhl", body) == [
        CarrierEvent(
            "00340434292135100186",
            "transit",
            T.IN_TRANSIT,
            AT,
            "The shipment has been processed in the parcel center",
            "Berlin, DE",
        )
    ]


@pytest.mark.parametrize(
    ("status_code", "detail", "status", "carrier_code"),
    [
        ("pre-transit", None, T.LABEL_CREATED, "pre-transit"),
        ("transit", None, T.IN_TRANSIT, "transit"),
        ("out-for-delivery", None, T.OUT_FOR_DELIVERY, "out-for-delivery"),
        ("delivered", None, T.DELIVERED, "delivered"),
        ("failure", None, T.EXCEPTION, "failure"),
        ("returned", None, T.RETURNED_TO_SENDER, "returned"),
        ("failure", "delivery-attempted", T.ATTEMPTED, "failure/delivery-attempted"),
        ("transit", "delivery-attempted", T.ATTEMPTED, "transit/delivery-attempted"),
        ("transit", "arrived-at-facility", T.IN_TRANSIT, "transit/arrived-at-facility"),
        ("delivered", "delivery-attempted", T.DELIVERED, "delivered/delivery-attempted"),
        ("unknown", None, None, "unknown"),
        ("customs-hold", "x-1", None, "customs-hold/x-1"),
    ],
)
def test_dhl_status_codes_map_to_tracking_statuses(status_code, detail, status, carrier_code):
    (event,) = parse("dhl", {"shipments": [{"id": "D1", "events": [dhl_event(status_code, detail)]}]})
    assert (event.status, event.carrier_code) == (status, carrier_code)


def test_dhl_falls_back_to_the_short_status_text_and_a_partial_location():
    event = dhl_event("transit", status="Sorted", location={"address": {"addressLocality": "Leipzig"}})
    (parsed,) = parse("dhl", {"shipments": [{"id": "D1", "events": [event]}]})
    assert (parsed.description, parsed.location) == ("Sorted", "Leipzig")
    (bare,) = parse("dhl", {"shipments": [{"id": "D1", "events": [dhl_event("transit")]}]})
    assert (bare.description, bare.location) == ("", None)


def test_a_dhl_body_with_several_shipments_gives_events_for_each_tracking_number():
    body = {
        "shipments": [
            {"id": "D1", "events": [dhl_event("pre-transit"), dhl_event("transit")]},
            {"id": "D2", "events": [dhl_event("delivered")]},
        ]
    }
    assert [(e.tracking_number, e.status) for e in parse("dhl", body)] == [
        ("D1", T.LABEL_CREATED),
        ("D1", T.IN_TRANSIT),
        ("D2", T.DELIVERED),
    ]


def test_a_dhl_body_reports_every_problem_at_once():
    found = problems(
        "dhl",
        {
            "shipments": [
                {"id": "", "events": [{"statusCode": "transit"}]},
                {"id": "D2", "events": []},
                {
                    "id": "D3",
                    "events": [
                        {
                            "timestamp": "2026-13-01T00:00:00Z",
                            "statusCode": None,
                            "statusDetailCode": 4,
                            "location": {"address": {"addressLocality": 5}},
                        }
                    ],
                },
                {"events": [dhl_event("transit", location="Berlin")]},
            ]
        },
    )
    assert found == {
        "shipments[0].id": "must not be empty",
        "shipments[0].events[0].timestamp": "is required",
        "shipments[1].events": "must hold at least one event",
        "shipments[2].events[0].timestamp": "'2026-13-01T00:00:00Z' is not an ISO 8601 timestamp",
        "shipments[2].events[0].statusCode": "is required",
        "shipments[2].events[0].statusDetailCode": "must be a string",
        "shipments[2].events[0].location.address.addressLocality": "must be a string",
        "shipments[3].id": "is required",
        "shipments[3].events[0].location": "must be an object",
    }


def test_a_dhl_body_needs_shipments_and_counts_events_across_them():
    assert problems("dhl", {"shipments": []}) == {"shipments": "must hold at least one shipment"}
    assert problems("dhl", {}) == {"shipments": "is required"}
    half = [dhl_event("transit")] * (MAX_EVENTS // 2)
    assert len(parse("dhl", {"shipments": [{"id": "D1", "events": half}, {"id": "D2", "events": half}]})) == MAX_EVENTS
    body = {"shipments": [{"id": "D1", "events": half}, {"id": "D2", "events": half}, {"id": "D3", "events": half}]}
    assert problems("dhl", body) == {"shipments[2].events": f"more than {MAX_EVENTS} events in one body"}


# ---------------------------------------------------------------- UPS


def ups_body(kind, code, **extra):
    return {
        "trackingNumber": "1Z999AA10123456784",
        "gmtActivityDate": "20261123",
        "gmtActivityTime": "142500",
        "activityStatus": {"type": kind, "code": code, "description": "status"},
        **extra,
    }


def test_a_ups_body_parses_to_one_event_in_utc():
    body = {
        "trackingNumber": "1Z999AA10123456784",
        "localActivityDate": "20261123",
        "localActivityTime": "092500",
        "gmtActivityDate": "20261123",
        "gmtActivityTime": "142500",
        "activityLocation": {"city": "Atlanta", "stateProvince": "GA", "postalCode": "30301", "country": "US"},
        "activityStatus": {"type": "I", "code": "OF", "description": "Out For Delivery Today"},
    }
    assert parse("ups", body) == [
        CarrierEvent("1Z999AA10123456784", "I/OF", T.OUT_FOR_DELIVERY, AT, "Out For Delivery Today", "Atlanta, GA, US")
    ]


@pytest.mark.parametrize(
    ("kind", "code", "status"),
    [
        ("M", "MP", T.LABEL_CREATED),
        ("P", "PU", T.IN_TRANSIT),
        ("I", "AR", T.IN_TRANSIT),
        ("I", "OT", T.OUT_FOR_DELIVERY),
        ("I", "OF", T.OUT_FOR_DELIVERY),
        ("O", "OD", T.OUT_FOR_DELIVERY),
        ("D", "FS", T.DELIVERED),
        ("X", "7E", T.EXCEPTION),
        ("X", "48", T.ATTEMPTED),
        ("X", "49", T.ATTEMPTED),
        ("RS", "RS", T.RETURNED_TO_SENDER),
        ("NA", "01", None),
        ("Q", "OF", None),
    ],
)
def test_ups_activity_types_map_to_tracking_statuses(kind, code, status):
    (event,) = parse("ups", ups_body(kind, code))
    assert (event.status, event.carrier_code) == (status, f"{kind}/{code}")


def test_a_ups_body_without_an_activity_code_uses_the_type_alone():
    (event,) = parse("ups", {**ups_body("D", ""), "activityLocation": {"city": "Reno"}})
    assert (event.carrier_code, event.status, event.location) == ("D", T.DELIVERED, "Reno")


def test_a_ups_body_reports_every_problem_at_once():
    found = problems(
        "ups",
        {
            "trackingNumber": None,
            "gmtActivityDate": "2026-11-23",
            "gmtActivityTime": 142500,
            "activityLocation": "Atlanta",
            "activityStatus": {"type": "", "code": 48},
        },
    )
    assert found == {
        "trackingNumber": "is required",
        "gmtActivityDate": "'2026-11-23' is not a date as YYYYMMDD",
        "gmtActivityTime": "must be a string",
        "activityLocation": "must be an object",
        "activityStatus.type": "must not be empty",
        "activityStatus.code": "must be a string",
    }


def test_a_ups_date_and_time_must_exist_on_the_calendar():
    assert problems("ups", {**ups_body("D", "FS"), "gmtActivityDate": "20260230"}) == {
        "gmtActivityDate": "20260230 142500 is not a valid date and time"
    }
    assert problems("ups", {**ups_body("D", "FS"), "gmtActivityTime": "1425"}) == {
        "gmtActivityTime": "'1425' is not a time as HHMMSS"
    }
    assert problems("ups", {"trackingNumber": "1Z"}) == {
        "gmtActivityDate": "is required",
        "gmtActivityTime": "is required",
        "activityStatus": "is required",
    }


# ---------------------------------------------------------------- signing


def test_a_signed_request_verifies_with_its_secret_and_not_another():
    secret = carrier_sim.new_secret()
    body = carrier_sim.payload("dhl", "D1", T.DELIVERED, AT)
    raw, headers = carrier_sim.signed_request(body, secret, webhook_id="msg_1")
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert headers["webhook-id"] == "msg_1"
    assert Webhook(secret).verify(raw, headers) == body
    with pytest.raises(WebhookVerificationError):
        Webhook(carrier_sim.new_secret()).verify(raw, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(raw.replace(b"D1", b"D2"), headers)


@pytest.mark.parametrize("body", [b'{"a": 1}', '{"a": 1}'])
def test_raw_bodies_are_signed_as_given(body):
    secret = carrier_sim.new_secret()
    raw, headers = carrier_sim.signed_request(body, secret)
    assert raw == b'{"a": 1}'
    assert headers["webhook-id"].startswith("msg_")
    assert Webhook(secret).verify(raw, headers) == {"a": 1}


def test_the_signature_time_is_the_instant_whatever_its_offset():
    secret = carrier_sim.new_secret()
    now = datetime.now(UTC).astimezone(timezone(timedelta(hours=5)))
    raw, headers = carrier_sim.signed_request({"a": 1}, secret, at=now)
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert Webhook(secret).verify(raw, headers) == {"a": 1}
    _, stale = carrier_sim.signed_request({"a": 1}, secret, at=now - timedelta(minutes=10))
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(raw, stale)


def test_new_secrets_are_32_random_bytes_with_the_whsec_prefix():
    import base64

    first, second = carrier_sim.new_secret(), carrier_sim.new_secret()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32
