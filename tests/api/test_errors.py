"""Every answer is JSON, every refusal says what is wrong in the house shape, and bad input never makes a 500."""

from __future__ import annotations

import json
import re

import pytest

from app import app
from chalicelib.api.http import REGISTRY
from chalicelib.services import orders as order_service
from tests.api.support import SUPPLIER_ACME, assert_error, order_body, place, raw
from tests.aws import ADMIN, ALICE, BUYER, CARE, live_campaign
from tests.conftest import ISSUER


def test_an_unknown_route_is_refused_with_a_json_body(api):
    r = raw(api, "GET", "/no/such/route", ALICE)
    assert r.status_code == 403  # API Gateway's answer for a path it does not know
    assert json.loads(r.body)["message"]
    r = raw(api, "GET", "/no/such/route")
    assert r.status_code == 403 and json.loads(r.body) == {"message": "Missing Authentication Token"}


@pytest.mark.parametrize(
    "method, path, allowed",
    [
        ("DELETE", "/orders", {"GET", "POST"}),
        ("PUT", "/health", {"GET"}),
        ("PATCH", "/staff/orders/ord_x", {"GET"}),
        ("GET", "/orders/ord_x/cancel", {"POST"}),
    ],
)
def test_a_wrong_method_is_a_405_in_the_house_shape_naming_the_allowed_ones(api, method, path, allowed):
    r = raw(api, method, path, ALICE)
    assert r.headers["Content-Type"] == "application/json"
    error = assert_error(r.status_code, json.loads(r.body), 405, "method_not_allowed")
    assert method in error["message"]
    assert {m.strip() for m in r.headers["Allow"].split(",")} == allowed


def test_app_responses_are_json_and_carry_a_request_id(api):
    campaign = live_campaign(api)
    order = place(api, campaign["id"], ("MUG-1", 1))
    expired = {"Authorization": "Bearer " + ISSUER.token("cust-alice", ["customer"], ttl_seconds=-5)}
    cases = [
        ("GET", "/health", None, None, 200),
        ("GET", "/openapi.json", None, None, 200),
        ("GET", f"/orders/{order['id']}", ALICE, None, 200),
        ("POST", "/orders", ALICE, order_body(campaign["id"], ("MUG-1", 1)), 201),
        ("POST", "/orders", ALICE, b"{oops", 400),
        ("GET", "/orders", expired, None, 401),
        ("GET", "/staff/orders", ALICE, None, 403),
        ("GET", "/orders/ord_nope", ALICE, None, 404),
        ("DELETE", "/orders", ALICE, None, 405),
        ("POST", f"/staff/campaigns/{campaign['id']}/go-live", BUYER, {}, 409),
        ("POST", "/orders", ALICE, {"lines": []}, 422),
    ]
    for method, path, who, body, expected in cases:
        r = raw(api, method, path, who, body)
        assert r.status_code == expected, (method, path, r.status_code, r.body)
        assert r.headers.get("Content-Type") == "application/json", (method, path, r.headers)
        payload = json.loads(r.body)
        if expected >= 400:
            assert_error(r.status_code, payload, expected)
        if expected != 401:  # 401 is the authorizer's answer: the app never ran
            assert re.fullmatch(r"[0-9a-f-]{16,}", r.headers["X-Request-Id"]), r.headers


def test_an_unexpected_failure_is_a_500_in_the_house_shape_that_leaks_nothing(api, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret table name waybill-main and a stack trace")

    monkeypatch.setattr(order_service, "list_my_orders", broken)
    r = raw(api, "GET", "/orders", ALICE)
    assert r.headers["Content-Type"] == "application/json"
    assert_error(r.status_code, json.loads(r.body), 500)
    assert b"secret" not in r.body and b"Traceback" not in r.body


def _concrete(path: str, value: str) -> str:
    return re.sub(r"{\w+}", value, path)


assert app.routes and REGISTRY  # importing the app declares every route

HOSTILE_BODIES = [
    b"",
    b"\x00\x01",
    b"[]",
    b"null",
    b'{"a": {"b": {"c": []}}}',
    b'{"name": 1e400}',
    b'{"lines": "all"}',
    b'{"products": [null]}',
    b'{"flagged": "yes"}',
    b'{"action": null}',
    json.dumps({"campaign_id": "c" * 10_000}).encode(),
]
HOSTILE_IDS = ["x" * 65, "a" * 3000, "..", "%00", "ord_x%0A", "%F0%9F%92%A9", "a%2Fb", "ORDER%23x"]
HOSTILE_QUERIES = [
    "limit=-1",
    "limit=1.5",
    "cursor=%00",
    "cursor=" + "A" * 2000,
    "status=%00",
    "limit=1&limit=2",
    "created_from=9999-99-99",
    "x=" + "y" * 3000,
]


# A well-formed body per request model, so hostile path ids reach the services too.
VALID_BODIES = {
    "PlaceOrderRequest": {"campaign_id": "cmp_x", "lines": [{"sku": "A-1", "quantity": 1}], "address_id": "adr_x"},
    "CustomerCancelRequest": {"reason": "changed my mind"},
    "TrackLookupRequest": {"reference": "WB-0000-0000", "email": "a@b.example"},
    "SavedViewRequest": {"name": "mine", "filters": {"status": "placed"}},
    "SupplierIn": {"name": "X", "contact_emails": ["a@b.example"]},
    "CampaignIn": {"name": "X"},
    "ProductsIn": {"products": [{"sku": "A-1", "name": "A", "supplier_id": "acme", "unit_price_cents": 1, "unit_cost_cents": 1}]},
    "GoLiveRequest": {},
    "CancelCampaignRequest": {"reason": "x"},
    "CustomerFlagRequest": {"flagged": True, "reason": "x"},
    "OrderTransitionRequest": {"action": "approve"},
    "NoteRequest": {"internal_note": "x"},
    # supplier API and accounting (issue 4)
    "AcknowledgeRequest": {"lines": [{"sku": "MUG-1", "accepted_quantity": 1}]},
    "UploadRequest": {"content_type": "application/pdf"},
    "InvoiceIn": {"number": "INV-1", "amount_cents": 1, "currency": "EUR", "file_key": "suppliers/acme/x.pdf"},
    "PaymentProposalIn": {"amount_cents": 1},
    "ShipmentIn": {"carrier": "dhl", "tracking_number": "JD0001", "order_ids": ["ord_x"]},
    "ShipmentCorrectionIn": {"carrier": "ups", "tracking_number": "1Z0001"},
    "CampaignFileUploadRequest": {"content_type": "image/png", "filename": "a.png"},
    "ProposalDecisionRequest": {"note": "x"},
    "ProposalRejectRequest": {"note": "x"},
    "StaffPOCancelRequest": {"internal_note": "x"},
    # exceptions (issue 6)
    "ExceptionAcknowledgeRequest": {},
    "ExceptionAssignRequest": {"assignee": "ops@waybill.example"},
    "ExceptionSnoozeRequest": {"until": "2099-01-01T00:00:00Z"},
    "ExceptionResolveRequest": {"note": "x"},
    "ExceptionBulkRequest": {"action": "acknowledge", "ids": ["exc_01h00000000000000000000000"]},
    "SettingsChangeRequest": {"expected_version": 0, "values": {"max_stage_reminders": 3}},
    "NotificationRulesChangeRequest": {"expected_version": 0, "rules": None},
    "AssignRequest": {"assignee": "ada@waybill.example", "priority": "high"},
    # notification preferences (issue 6)
    "NotificationPreferencesIn": {"opt_out": False, "alerts": "daily_digest"},
    "ProfileIn": {"locale": "vi"},
    # supplier onboarding, the CSV parcel import and storefront orders (issue 19)
    "SupplierUserIn": {"email": "sam@acme.example", "name": "Sam"},
    "ShipmentsImportIn": {"csv": "order_ref,carrier,tracking_number\nWB-ABCD-EFGH,dhl,JD0000000001\n"},
    "StorefrontOrderRequest": {
        "campaign_id": "cmp_x",
        "lines": [{"sku": "A-1", "quantity": 1}],
        "shipping_address": {"name": "A B", "lines": ["1 Main St"], "city": "Hanoi", "postal_code": "100000", "country": "VN"},
        "customer_email": "a@example.com",
    },
    # outbound webhooks (issue 7): an IP literal, so no DNS is needed to accept it
    "WebhookSubscriptionIn": {"url": "https://93.184.216.34/hooks", "event_types": ["order.placed"]},
    "WebhookSubscriptionUpdate": {"description": "x"},
    # exports (issue 7)
    "ExportRequest": {"kind": "orders", "format": "csv"},
    # complaints (issue 9)
    "ComplaintPhotoUploadRequest": {"content_type": "image/jpeg", "size_bytes": 100},
    "OpenComplaintRequest": {
        "supplier_id": "acme",
        "reason": "damaged",
        "wanted_resolution": "refund",
        "lines": [{"sku": "MUG-1", "quantity": 1}],
    },
    "ComplaintVersionRequest": {"expected_version": 1},
    "ComplaintDisputeRequest": {"reason": "too little"},
    "ComplaintAskRequest": {"question": "was it packed well?"},
    "ComplaintAnswerRequest": {"answer": "yes"},
    "ComplaintPlanRequest": {"lines": [{"sku": "MUG-1", "resolution": "refund", "quantity": 1, "refund_cents": 100}]},
    "ComplaintSubmitRequest": {},
    "ComplaintApproveRequest": {},
    "ComplaintRejectRequest": {"note": "offer less"},
    "ComplaintResolveRequest": {},
    "ComplaintNoteRequest": {"internal_note": "called the customer"},
    "ParcelIn": {"carrier": "dhl", "tracking_number": "RET00001"},
    # address book (issue 16)
    "SavedAddressIn": {"name": "A", "lines": ["1 rue X"], "city": "Paris", "postal_code": "75001", "country": "FR"},
    "SavedAddressReplace": {"name": "A", "lines": ["1 rue X"], "city": "Paris", "postal_code": "75001", "country": "FR"},
    "SavedAddressPatch": {"city": "Lyon"},
    # customer money (issue 16)
    "PaymentRecordRequest": {"kind": "adjustment", "amount_cents": -1, "reason": "x"},
    "StaffRefundRequest": {"amount_cents": 1, "reason": "x"},
    "RefundDecisionRequest": {},
    "RefundRejectRequest": {"note": "x"},
    "GiveUpDeliveryRequest": {"reason": "returned to sender"},
    "TransferMadeRequest": {"reference": "TRF-1"},
    # parcels recorded by hand (issue 16)
    "ParcelPhotoUploadRequest": {"content_type": "image/jpeg"},
    "DeliveredByHandIn": {"note": "left with the neighbour"},
    "ParcelEventIn": {"status": "delivery_failed", "note": "nobody home"},
    # cancellation requests and address corrections (issue 16)
    "CancellationRequestIn": {"reason": "changed my mind"},
    "CancellationDecisionIn": {"accept": False, "note": "already packed"},
    "AddressCorrectionIn": {
        "shipping_address": {"name": "A", "lines": ["1 rue X"], "city": "Paris", "postal_code": "75001", "country": "FR"}
    },
}


def test_every_request_model_has_a_valid_sample_body():
    assert {spec.body for spec in REGISTRY if spec.body} == set(VALID_BODIES)


def _caller(spec) -> dict[str, str] | None:
    if spec.roles is None:
        return None
    if "customer" in spec.roles:
        return ALICE
    if "supplier" in spec.roles:
        return SUPPLIER_ACME
    return ADMIN


@pytest.mark.parametrize("spec", REGISTRY, ids=lambda s: f"{s.method} {s.path}")
def test_hostile_input_to_any_route_is_refused_in_the_house_shape_never_a_500(api, spec):
    who = _caller(spec)
    seen = []
    paths = [_concrete(spec.path, v) for v in HOSTILE_IDS] if "{" in spec.path else [spec.path]
    for path in paths:
        if spec.method == "GET":
            for query in HOSTILE_QUERIES:
                seen.append(("GET", f"{path}?{query}", None))
            seen.append(("GET", path, None))
        else:
            for body in [*HOSTILE_BODIES, json.dumps(VALID_BODIES.get(spec.body, {})).encode()]:
                seen.append((spec.method, path, body))
    for method, path, body in seen:
        r = raw(api, method, path, who, body)
        assert r.status_code < 500, (method, path, body, r.status_code, r.body[:300])
        assert r.headers.get("Content-Type") == "application/json", (method, path, r.headers)
        payload = json.loads(r.body)
        if r.status_code >= 400:
            assert_error(r.status_code, payload, r.status_code)


def test_staff_routes_refuse_a_customer_before_reading_the_body(api):
    r = raw(api, "POST", "/staff/campaigns", ALICE, b"{not json")
    assert_error(r.status_code, json.loads(r.body), 403, "forbidden")


def test_path_ids_that_cannot_exist_are_a_404_naming_the_parameter(api):
    status, body = api.get("/staff/orders/" + "o" * 3000, CARE)
    error = assert_error(status, body, 404, "not_found")
    assert error["details"] == [{"field": "path.order_id", "message": "not a valid id"}]
    assert "o" * 100 not in error["message"]
