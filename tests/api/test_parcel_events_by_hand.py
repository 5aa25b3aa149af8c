"""Parcels whose carrier sends nothing (issue 16 item 7): the supplier or staff confirm a delivery
by hand (note, optional photo), or record a failed attempt or a return to sender. Each record takes
the carrier's path, so the order, the customer's timeline and e-mail, the tracking execution and
the exceptions behave as if the carrier had reported it; who did it and why stays on the parcel's
audit trail for staff.

What the queues would do is done here by calling the same consumers (see test_shipments.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.adapters import workflows
from chalicelib.adapters.aws import client
from chalicelib.adapters.dynamodb import shipment_items
from chalicelib.adapters.dynamodb.metering import metered
from chalicelib.config import settings
from chalicelib.domain.purchase_orders import Stage
from chalicelib.domain.shipments import TrackingStatus
from chalicelib.handlers import batch
from chalicelib.handlers import shipments as consumer
from chalicelib.services import exceptions, shipments
from chalicelib.topology import SHIPMENTS
from tests.adapters.events import typed
from tests.api import po_support
from tests.api.po_support import ACME, BOLT, accept_deliveries, make_po, po_item
from tests.api.support import LOGISTICS, assert_error
from tests.api.test_shipments import (
    customer_view,
    gateway,  # noqa: F401  (fixture)
    get_ok,
    order_events,
    order_of,
    parcel_items,
    scan,
    send_order_mail,
    ship,
    three_supplier_campaign,
)
from tests.aws import ACCOUNTING, ADMIN, ALICE, BUYER, CARE

aws, sfn_calls = po_support.aws, po_support.sfn_calls  # fixtures

NOTE = "Carrier portal shows nothing; customer confirmed by phone, parcel left with neighbour at no. 14"


@pytest.fixture
def ended(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """The tracking executions told to end (SendTaskSuccess on their wait's token)."""
    calls: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(workflows, "end_wait", lambda token, output: calls.append((token, output)) or True)
    return calls


def parcel_path(po: str, shipment_id: str, who: str = "supplier") -> str:
    return (
        f"/supplier/purchase-orders/{po}/shipments/{shipment_id}"
        if who == "supplier"
        else f"/staff/purchase-orders/{po}/shipments/{shipment_id}"
    )


def shipped_order(api, tracking: str = "SILENT01", *, orders_to_ship: int = 1) -> tuple[dict[str, Any], str, dict]:
    """An order across three suppliers; acme's delivery left in one parcel (the others are still accepted)."""
    campaign = three_supplier_campaign(api)
    order = order_of(api, campaign["id"], payment_mode="prepaid")
    po = make_po(campaign["id"], "acme", stage=Stage.SHIPMENT, accepted=True, orders_to_ship=orders_to_ship)
    for sid in ("acme", "bolt", "cobalt"):
        accept_deliveries(sid, order["id"])
    return order, po, ship(api, po, "acme", tracking, order["id"])


def tracking_opened(shipment: dict[str, Any], token: str) -> None:
    """What the tracking execution's first wait does: its token is stored on the parcel."""
    assert (
        shipments.on_tracking_opened(
            typed(
                {
                    "task_token": token,
                    "execution_arn": None,
                    "carrier": shipment["carrier"],
                    "tracking_number": shipment["tracking_number"],
                    "shipment_id": shipment["id"],
                }
            )
        )
        == "stored"
    )


def upload_photo(
    api,
    po: str,
    shipment_id: str,
    who: dict[str, str],
    *,
    content_type: str = "image/jpeg",
    stored_as: str | None = None,
    path_of: str = "supplier",
) -> str:
    status, upload = api.post(parcel_path(po, shipment_id, path_of) + "/photos", who, {"content_type": content_type})
    assert status == 201, upload
    client("s3").put_object(
        Bucket=settings().uploads_bucket, Key=upload["key"], Body=b"\xff\xd8 a photo", ContentType=stored_as or content_type
    )
    return str(upload["key"])


def delivery_of(view: dict[str, Any], supplier_id: str) -> dict[str, Any]:
    return next(d for d in view["deliveries"] if d["supplier_id"] == supplier_id)


def test_the_supplier_confirms_a_silent_parcel_delivered_by_hand_with_every_effect_of_the_carriers(
    api,
    sfn_calls,
    gateway,  # noqa: F811
    ended,
):
    order, po, shipment = shipped_order(api)
    tracking_opened(shipment, "trk-acme")
    # The carrier never reported: tracking was abandoned, the customer told of a delay.
    assert (
        shipments.on_stale(
            typed(
                {
                    "carrier": "dhl",
                    "tracking_number": "SILENT01",
                    "shipment_id": shipment["id"],
                    "abandoned": True,
                    "stale_at": "2030-01-01T00:00:00Z",
                }
            )
        )
        == "abandoned"
    )
    stale_id = exceptions.exception_id("tracking_stale", "shipment", "dhl#SILENT01")
    assert exceptions.get(stale_id).status.value == "open"
    # bolt and cobalt arrive through their carriers; acme's is the last delivery
    for sid, number in (("bolt", "BOLT0001"), ("cobalt", "COBALT01")):
        ship(api, make_po(order["campaign_id"], sid, stage=Stage.SHIPMENT, accepted=True), sid, number, order["id"])
        assert scan(number, TrackingStatus.DELIVERED, 5) == "moved:delivered"
    assert customer_view(api, order["id"])["status"] == "partially_delivered"

    photo = upload_photo(api, po, shipment["id"], ACME)
    status, parcel = api.post(parcel_path(po, shipment["id"]) + "/delivered", ACME, {"note": NOTE, "photo_key": photo})
    assert status == 200, parcel
    assert (parcel["status"], parcel["recorded"], parcel["po_id"], parcel["supplier_id"]) == ("delivered", True, po, "acme")
    assert [(t["status"], t["carrier_code"], t["description"]) for t in parcel["timeline"]] == [
        ("delivered", "manual:delivered", "Delivery confirmed by the supplier")
    ]

    # The order: acme's delivery delivered, and as it was the last one the order completed.
    view = customer_view(api, order["id"])
    assert view["status"] == "completed"
    assert [d["status"] for d in view["deliveries"]] == ["delivered"] * 3
    [acme_parcel] = delivery_of(view, "acme")["shipments"]
    assert acme_parcel["status"] == "delivered"
    assert [(t["status_text"], t["description"], t["carrier_code"]) for t in acme_parcel["timeline"]] == [
        ("Delivered", "Delivery confirmed by the supplier", None)
    ]
    assert view["timeline"][-1]["status"] == "completed"
    # Nothing internal reaches the customer: not the note, not the photo, not who confirmed it.
    text = json.dumps(view)
    assert NOTE not in text and photo not in text and "manual:" not in text and "sup-acme-1" not in text

    # The same follow-ups as a carrier's delivered: one order.delivered event and e-mail, the
    # execution's wait ended, the stale-tracking problem resolved.
    assert [e["type"] for e in order_events(order["id"])].count("order.delivered") == 3
    delivered_mail = [m for m in send_order_mail(order["id"]) if "has been delivered" in m.subject]
    assert len(delivered_mail) == 3 and not any(NOTE in m.body for m in delivered_mail)
    assert ended == [("trk-acme", {"outcome": "delivered"})]
    stale = exceptions.get(stale_id)
    assert (stale.status.value, stale.resolution) == ("resolved", "recorded by hand")

    # Staff read who did it, the note and the photo on the parcel's audit trail.
    detail = get_ok(api, parcel_path(po, shipment["id"], "staff"), CARE)
    assert (detail["status"], detail["version"]) == ("delivered", parcel["version"])
    [change] = [e for e in detail["events"] if e["type"] == "shipment.status_changed"]
    assert (change["actor"]["sub"], change["actor"]["role"]) == ("sup-acme-1", "supplier")
    assert (change["internal_note"], change["files"], change["to_status"]) == (NOTE, [photo], "delivered")
    assert change["customer_note"] is None
    assert len(change["file_urls"]) == 1 and photo in change["file_urls"][0]
    # The raw record is kept as a TRACK item under its manual code.
    tracks = [i for i in parcel_items("dhl", "SILENT01") if i["SK"]["S"].startswith("TRACK#")]
    assert [t["carrier_code"]["S"] for t in tracks] == ["manual:delivered"]


def test_staff_confirm_a_delivery_by_hand_and_the_order_moves_on(api, sfn_calls, gateway):  # noqa: F811
    order, po, shipment = shipped_order(api)
    photo = upload_photo(api, po, shipment["id"], LOGISTICS, content_type="image/png", path_of="staff")
    status, parcel = api.post(
        parcel_path(po, shipment["id"], "staff") + "/delivered",
        LOGISTICS,
        {"note": NOTE, "photo_key": photo, "expected_version": shipment_version(api, po, shipment)},
    )
    assert status == 200, parcel
    assert parcel["timeline"][-1]["description"] == "Delivery confirmed by our team"
    assert delivery_of(customer_view(api, order["id"]), "acme")["status"] == "delivered"
    events = get_ok(api, parcel_path(po, shipment["id"], "staff"), ADMIN)["events"]
    assert [
        (e["actor"]["sub"], e["actor"]["role"], e["internal_note"]) for e in events if e["type"] == "shipment.status_changed"
    ] == [("log-1", "logistics", NOTE)]


def shipment_version(api, po: str, shipment: dict[str, Any]) -> int:
    return int(get_ok(api, parcel_path(po, shipment["id"], "staff"), CARE)["version"])


def test_only_the_parcels_supplier_and_staff_who_handle_deliveries_may_record_by_hand(api, sfn_calls):
    order, po, shipment = shipped_order(api)
    body = {"note": NOTE}
    bolt_po = make_po(order["campaign_id"], "bolt", stage=Stage.SHIPMENT, accepted=True)
    for path in (parcel_path(po, shipment["id"]), parcel_path(bolt_po, shipment["id"])):
        assert_error(*api.post(path + "/delivered", BOLT, body), 404, "not_found")  # not bolt's parcel
        assert_error(*api.post(path + "/events", BOLT, {"status": "returned_to_sender", **body}), 404)
        assert_error(*api.post(path + "/photos", BOLT, {"content_type": "image/jpeg"}), 404)
    assert_error(*api.post(parcel_path(po, "shp_nosuchparcel") + "/delivered", ACME, body), 404)
    for who in (BUYER, ACCOUNTING):  # staff outside logistics, customer care and admin
        assert_error(*api.post(parcel_path(po, shipment["id"], "staff") + "/delivered", who, body), 403, "forbidden")
    assert_error(*api.post(parcel_path(po, shipment["id"], "staff") + "/delivered", ACME, body), 403)
    assert_error(*api.post(parcel_path(po, shipment["id"]) + "/delivered", ALICE, body), 403)
    assert_error(*api.get(parcel_path(po, shipment["id"], "staff"), ACME), 403)
    assert get_ok(api, "/me", LOGISTICS)["capabilities"].count("shipments.record_by_hand") == 1
    assert "shipments.record_by_hand" not in get_ok(api, "/me", BUYER)["capabilities"]
    assert shipment_items.load("dhl", "SILENT01").status == "dispatched"  # nothing moved


@pytest.mark.parametrize(
    ("photo", "problem"),
    [
        ("suppliers/acme/pos/{po}/invoices/x.jpg", "not a photo uploaded for this parcel"),  # another folder
        ("suppliers/bolt/pos/{po}/shipments/{shipment}/img.jpg", "not a photo uploaded for this parcel"),
        ("suppliers/acme/pos/{po}/shipments/{shipment}/../x.jpg", "not a photo uploaded for this parcel"),
        ("suppliers/acme/pos/{po}/shipments/{shipment}/never-uploaded.jpg", "nothing was uploaded"),
        ("pdf", "not one of image/jpeg, image/png, image/webp"),
    ],
)
def test_a_photo_that_is_not_an_image_uploaded_for_this_parcel_is_a_422_and_records_nothing(api, sfn_calls, photo, problem):
    order, po, shipment = shipped_order(api)
    if photo == "pdf":  # uploaded for the parcel, but S3 holds a PDF
        photo = upload_photo(api, po, shipment["id"], ACME, stored_as="application/pdf")
    key = photo.format(po=po, shipment=shipment["id"])
    before = parcel_items("dhl", "SILENT01")
    error = assert_error(
        *api.post(parcel_path(po, shipment["id"]) + "/delivered", ACME, {"note": NOTE, "photo_key": key}), 422, "invalid_photo"
    )
    assert problem in error["message"] and error["details"][0]["field"] == "body.photo_key"
    assert parcel_items("dhl", "SILENT01") == before
    assert delivery_of(customer_view(api, order["id"]), "acme")["status"] == "dispatched"


def test_a_photo_upload_takes_images_only(api, sfn_calls):
    _, po, shipment = shipped_order(api)
    error = assert_error(
        *api.post(parcel_path(po, shipment["id"]) + "/photos", ACME, {"content_type": "application/pdf"}), 422, "validation_error"
    )
    assert error["details"][0]["field"] == "body.content_type"
    status, upload = api.post(parcel_path(po, shipment["id"]) + "/photos", ACME, {"content_type": "image/webp"})
    assert status == 201 and upload["key"].startswith(f"suppliers/acme/pos/{po}/shipments/{shipment['id']}/")
    assert upload["key"].endswith(".webp") and upload["fields"]["Content-Type"] == "image/webp"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"note": NOTE, "delivered_at": "2999-01-01T00:00:00Z"}, "body.delivered_at"),  # in the future
        ({"note": NOTE, "delivered_at": "2020-01-01T00:00:00Z"}, "body.delivered_at"),  # before it left
        ({"note": NOTE, "delivered_at": "2026-01-01T00:00:00"}, "body.delivered_at"),  # no time zone
        ({"note": ""}, "body.note"),
        ({"note": "x" * 1001}, "body.note"),
        ({}, "body.note"),
    ],
)
def test_a_confirmation_needs_a_note_and_a_plausible_time(api, sfn_calls, body, field):
    _, po, shipment = shipped_order(api)
    status, error = api.post(parcel_path(po, shipment["id"]) + "/delivered", ACME, body)
    assert status in (400, 422), error
    assert field in [d["field"] for d in error["error"]["details"]], error
    assert shipment_items.load("dhl", "SILENT01").status == "dispatched"


def test_a_stale_expected_version_is_a_409_and_records_nothing(api, sfn_calls):
    _, po, shipment = shipped_order(api)
    version = shipment_version(api, po, shipment)
    assert scan("SILENT01", TrackingStatus.IN_TRANSIT, 1) == "moved:in_transit"  # the parcel moved on meanwhile
    assert_error(
        *api.post(parcel_path(po, shipment["id"]) + "/delivered", ACME, {"note": NOTE, "expected_version": version}),
        409,
        "conflict",
    )
    assert shipment_items.load("dhl", "SILENT01").status == "in_transit"


def test_confirming_again_or_after_the_carrier_answers_the_parcel_as_it_is_and_writes_nothing(api, sfn_calls, gateway):  # noqa: F811
    order, po, shipment = shipped_order(api, orders_to_ship=2)
    path = parcel_path(po, shipment["id"]) + "/delivered"
    first = api.post(path, ACME, {"note": NOTE})
    assert first[0] == 200 and first[1]["recorded"] is True
    before = (order_events(order["id"]), parcel_items("dhl", "SILENT01"))
    again = api.post(path, ACME, {"note": "clicked twice", "expected_version": 1})  # even with an old version
    assert again == (200, {**first[1], "recorded": False})
    assert (order_events(order["id"]), parcel_items("dhl", "SILENT01")) == before

    # The carrier's delivered comes later: kept as its TRACK item, and nothing else changes.
    assert scan("SILENT01", TrackingStatus.DELIVERED, 24 * 60) == "recorded"
    assert order_events(order["id"]) == before[0]
    after = customer_view(api, order["id"])
    assert [(t["status"], t["description"]) for t in delivery_of(after, "acme")["shipments"][0]["timeline"]] == [
        ("delivered", "Delivery confirmed by the supplier")
    ]
    assert [e["type"] for e in order_events(order["id"])].count("order.delivered") == 1

    # A parcel delivered by its carrier answers a confirmation the same way.
    other = order_of(api, order["campaign_id"], payment_mode="prepaid")
    accept_deliveries("acme", other["id"])
    by_carrier = ship(api, po, "acme", "CARRIER1", other["id"])
    assert scan("CARRIER1", TrackingStatus.DELIVERED, 3) == "moved:delivered"
    items = parcel_items("dhl", "CARRIER1")
    status, parcel = api.post(parcel_path(po, by_carrier["id"]) + "/delivered", ACME, {"note": NOTE})
    assert (status, parcel["status"], parcel["recorded"]) == (200, "delivered", False)
    assert parcel_items("dhl", "CARRIER1") == items
    # ... and a parcel that ended otherwise cannot be confirmed delivered.
    assert_error(
        *api.post(parcel_path(po, by_carrier["id"]) + "/events", ACME, {"status": "returned_to_sender", "note": NOTE}),
        409,
        "invalid_transition",
    )


def test_a_failed_attempt_and_a_return_to_sender_by_hand_show_on_the_timeline_and_the_return_goes_to_logistics(
    api,
    sfn_calls,
    gateway,  # noqa: F811
    ended,
):
    order, po, shipment = shipped_order(api)
    tracking_opened(shipment, "trk-acme")
    events = parcel_path(po, shipment["id"], "staff") + "/events"
    status, parcel = api.post(events, CARE, {"status": "delivery_failed", "note": "customer not home, card left"})
    assert status == 200, parcel
    assert (parcel["status"], parcel["timeline"][-1]["carrier_code"]) == ("attempted", "manual:delivery_failed")
    assert ended == []  # the parcel still moves: its tracking goes on

    status, parcel = api.post(
        events, CARE, {"status": "returned_to_sender", "note": "refused at the door", "expected_version": parcel["version"]}
    )
    assert status == 200, parcel
    assert parcel["status"] == "returned_to_sender"
    assert ended == [("trk-acme", {"outcome": "returned_to_sender"})]

    view = customer_view(api, order["id"])
    acme = delivery_of(view, "acme")
    assert [(t["status_text"], t["description"]) for t in acme["shipments"][0]["timeline"]] == [
        ("Delivery attempted", "Failed delivery attempt reported by our team"),
        ("Returned to the sender", "Return to the sender reported by our team"),
    ]
    notes = [t["note"] for t in view["timeline"] if t["note"]]
    assert any("tried to deliver" in n for n in notes) and any("returning your parcel" in n for n in notes)
    assert "refused at the door" not in json.dumps(view)
    # The delivery has not arrived: it stays dispatched, in plain sight, and logistics get the problem.
    assert acme["status"] == "dispatched" and view["status"] == "partially_dispatched"
    problem = exceptions.get(exceptions.exception_id("delivery_exception", "shipment", "dhl#SILENT01"))
    assert problem is not None
    assert (problem.severity.value, problem.status.value, problem.details["carrier_code"]) == (
        "high",
        "pending",
        "manual:returned_to_sender",
    )
    assert problem.details["order_ids"] == [order["id"]]
    types = [e["type"] for e in get_ok(api, parcel_path(po, shipment["id"], "staff"), CARE)["events"]]
    assert types.count("shipment.status_changed") == 2

    # What logistics do next: the supplier sends the goods again (the shipment stage is over) and
    # the new parcel's arrival delivers the order's delivery; the returned parcel no longer holds it.
    assert po_item(po).status == "shipped"
    status, again = api.post(
        f"/supplier/purchase-orders/{po}/shipments",
        ACME,
        {"carrier": "ups", "tracking_number": "1ZRESENT1", "order_ids": [order["id"]]},
    )
    assert status == 201, again
    shipments.on_recorded(typed({"type": "shipment.recorded", "data": {"carrier": "ups", "tracking_number": "1ZRESENT1"}}))
    assert scan("1ZRESENT1", TrackingStatus.DELIVERED, 24 * 60, carrier="ups") == "moved:delivered"
    acme = delivery_of(customer_view(api, order["id"]), "acme")
    assert acme["status"] == "delivered"
    assert [p["status"] for p in acme["shipments"]] == ["returned_to_sender", "delivered"]


def test_after_the_shipment_stage_a_parcel_can_only_carry_orders_that_left_before(api, sfn_calls):
    order, po, _ = shipped_order(api)
    assert po_item(po).status == "shipped"
    newcomer = order_of(api, order["campaign_id"], payment_mode="prepaid")
    accept_deliveries("acme", newcomer["id"])
    error = assert_error(
        *api.post(
            f"/supplier/purchase-orders/{po}/shipments",
            ACME,
            {"carrier": "dhl", "tracking_number": "LATE0001", "order_ids": [newcomer["id"]]},
        ),
        409,
        "invalid_transition",
    )
    assert newcomer["id"] in error["message"]


def test_a_delivery_by_hand_costs_what_a_carriers_delivered_event_and_its_follow_up_cost(api, sfn_calls, gateway):  # noqa: F811
    campaign = three_supplier_campaign(api)
    first, second = (order_of(api, campaign["id"], payment_mode="prepaid") for _ in range(2))
    po = make_po(campaign["id"], "acme", stage=Stage.SHIPMENT, accepted=True, orders_to_ship=2)
    accept_deliveries("acme", first["id"], second["id"])
    ship(api, po, "acme", "BYCARR01", first["id"])
    by_hand = ship(api, po, "acme", "BYHAND01", second["id"])

    with metered() as carrier:
        assert scan("BYCARR01", TrackingStatus.DELIVERED, 3) == "moved:delivered"
    with metered() as manual:
        assert api.post(parcel_path(po, by_hand["id"]) + "/delivered", ACME, {"note": NOTE})[0] == 200
    # The carrier's event is applied (1 read + 1 transaction), then followed up by the shipments
    # consumer, which reads the parcel again; by hand, the PO's pointer is read first and the follow-up
    # runs at once on the parcel as applied: the same requests in all.
    assert manual.requests == carrier.requests
    assert [delivery_of(customer_view(api, o["id"]), "acme")["status"] for o in (first, second)] == ["delivered", "delivered"]


def test_a_stale_tracking_event_whose_handling_failed_is_handled_on_redelivery(api, sfn_calls, monkeypatch):
    """The consumer's record of the event must not say "handled" after a failure mid-way."""
    _, _, shipment = shipped_order(api, "SILENT02")
    event = typed(
        {
            "carrier": "dhl",
            "tracking_number": "SILENT02",
            "shipment_id": shipment["id"],
            "abandoned": True,
            "stale_at": "2030-01-01T00:00:00Z",
        }
    )

    def delivered() -> Any:  # as the shipments queue's consumer runs it
        return batch.once("shipments", SHIPMENTS, event, consumer.handle)

    real = exceptions.raise_or_bump

    def fails_once(*args, **kwargs):
        monkeypatch.setattr(exceptions, "raise_or_bump", real)
        raise RuntimeError("DynamoDB throttled the exception's write")

    monkeypatch.setattr(exceptions, "raise_or_bump", fails_once)
    with pytest.raises(RuntimeError):
        delivered()
    stale_id = exceptions.exception_id("tracking_stale", "shipment", "dhl#SILENT02")
    assert exceptions.get(stale_id) is None

    assert delivered() == "abandoned"  # the queue delivers it again: now it is done
    assert exceptions.get(stale_id).status.value == "open"
    assert delivered() is batch.SKIPPED  # and only once
    assert exceptions.get(stale_id).count == 1
