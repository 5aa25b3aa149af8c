"""Suppliers read their own campaigns and POs and act on the open stage, exactly once."""

from __future__ import annotations

import base64
import json
from urllib.parse import unquote, urlparse

import boto3
import pytest

from chalicelib.config import settings
from chalicelib.domain.permissions import Principal, Role
from chalicelib.domain.purchase_orders import Stage
from tests.api import po_support
from tests.api.po_support import (
    ACME,
    BOLT,
    ORDERED_CENTS,
    accept_deliveries,
    make_po,
    open_stage,
    po_item,
)
from tests.api.support import assert_error, follow_pages, place
from tests.aws import ACCOUNTING, ALICE, BUYER, live_campaign

aws, sfn_calls = po_support.aws, po_support.sfn_calls  # fixtures

PO = "/supplier/purchase-orders"
ACME_PRINCIPAL = Principal(sub="sup-acme-1", roles=frozenset({Role.SUPPLIER}), supplier_id="acme")


@pytest.fixture
def campaign(api) -> dict:
    return live_campaign(api)


def upload(key: str, content_type: str = "application/pdf") -> None:
    """What the browser does with the presigned POST (moto does not enforce the policy)."""
    boto3.client("s3", region_name="eu-west-1").put_object(
        Bucket=settings().uploads_bucket, Key=key, Body=b"%PDF-1.4 invoice", ContentType=content_type
    )


# ---------------------------------------------------------------- scoping


def test_a_supplier_sees_its_own_po_and_another_suppliers_po_is_a_404(api, campaign):
    mine, theirs = make_po(campaign["id"], "acme"), make_po(campaign["id"], "bolt")
    status, po = api.get(f"{PO}/{mine}", ACME)
    assert status == 200, po
    assert po["id"] == mine and po["stage"] == "acknowledge"
    assert [line["sku"] for line in po["lines"]] == ["MUG-1", "MUG-2"]
    assert po["ordered_cents"] == ORDERED_CENTS
    assert_error(*api.get(f"{PO}/{theirs}", ACME), 404, "not_found")
    assert_error(*api.get(f"{PO}/po_doesnotexist", ACME), 404, "not_found")
    assert_error(*api.post(f"{PO}/{theirs}/acknowledge", ACME, {"lines": [{"sku": "CAP-1", "accepted_quantity": 3}]}), 404)


@pytest.mark.parametrize("who", [BUYER, ACCOUNTING, ALICE])
def test_supplier_routes_are_forbidden_to_other_roles(api, campaign, who):
    po = make_po(campaign["id"])
    assert_error(*api.get(PO, who), 403, "forbidden")
    assert_error(*api.get(f"{PO}/{po}", who), 403, "forbidden")
    assert_error(*api.get("/supplier/campaigns", who), 403, "forbidden")


def test_a_supplier_token_without_a_supplier_id_is_refused(api, campaign):
    from tests.api.support import SUPPLIER_ACME, headers

    make_po(campaign["id"])
    assert api.get(PO, SUPPLIER_ACME)[0] == 200
    assert_error(*api.get(PO, headers("sup-x", "supplier")), 401)


def test_my_purchase_orders_are_only_mine_filtered_and_paginated(api, campaign):
    other = live_campaign(api)
    a1, a2 = make_po(campaign["id"], "acme"), make_po(other["id"], "acme", stage=Stage.INVOICE, accepted=True)
    make_po(campaign["id"], "bolt")
    items, pages = follow_pages(api, PO, ACME, limit=1)
    assert sorted(i["id"] for i in items) == sorted([a1, a2]) and pages >= 2
    status, page = api.get(f"{PO}?stage=invoice", ACME)
    assert status == 200 and [i["id"] for i in page["items"]] == [a2]
    status, page = api.get(f"{PO}?status=shipped", ACME)
    assert status == 200 and page["items"] == []
    assert_error(*api.get(f"{PO}?stage=nonsense", ACME), 422, "validation_error")
    status, page = api.get(PO, BOLT)
    assert [i["campaign_id"] for i in page["items"]] == [campaign["id"]]


def test_my_campaigns_show_campaign_payment_and_shipment_status(api, campaign):
    make_po(campaign["id"], "acme", stage=Stage.PAYMENT_PROPOSAL, accepted=True, invoiced=ORDERED_CENTS)
    make_po(campaign["id"], "bolt")
    status, body = api.get("/supplier/campaigns", ACME)
    assert status == 200, body
    [row] = body["items"]
    assert row["campaign_id"] == campaign["id"] and row["name"] == "Winter sale"
    assert row["campaign_status"] == "live"
    assert row["payment_status"] == "invoiced" and row["shipment_status"] == "pending"
    assert row["stage"] == "payment_proposal"


# ---------------------------------------------------------------- acknowledge


def test_acknowledging_answers_the_workflow_once_and_a_repeat_is_a_409(api, campaign, sfn_calls):
    po = make_po(campaign["id"])
    body = {
        "lines": [{"sku": "MUG-1", "accepted_quantity": 4}, {"sku": "MUG-2", "accepted_quantity": 1, "reason": "out_of_stock"}]
    }
    status, result = api.post(f"{PO}/{po}/acknowledge", ACME, body)
    assert status == 200, result
    assert result["stage"] is None and result["accepted_cents"] == 4 * 500 + 900
    assert sfn_calls == [("tok", {"decision": "partially_accepted", "stage": "acknowledge"})]
    assert po_item(po).task_token is None
    assert_error(*api.post(f"{PO}/{po}/acknowledge", ACME, body), 409, "invalid_transition")
    assert len(sfn_calls) == 1
    lines = api.get(f"{PO}/{po}", ACME)[1]["lines"]
    assert lines[1] == {
        "sku": "MUG-2",
        "name": "Big mug",
        "ordered_quantity": 2,
        "unit_cost_cents": 900,
        "accepted_quantity": 1,
        "reject_reason": "out_of_stock",
    }


def test_rejecting_every_line_rejects_the_po(api, campaign, sfn_calls):
    po = make_po(campaign["id"])
    body = {
        "lines": [
            {"sku": "MUG-1", "accepted_quantity": 0, "reason": "discontinued"},
            {"sku": "MUG-2", "accepted_quantity": 0, "reason": "out_of_stock"},
        ]
    }
    status, result = api.post(f"{PO}/{po}/acknowledge", ACME, body)
    assert status == 200 and result["status"] == "rejected"
    assert sfn_calls[0][1]["decision"] == "rejected"


def test_acknowledging_outside_the_stage_is_a_409_that_reaches_no_workflow(api, campaign, sfn_calls):
    po = make_po(campaign["id"], stage=Stage.INVOICE, accepted=True)
    body = {"lines": [{"sku": "MUG-1", "accepted_quantity": 4}, {"sku": "MUG-2", "accepted_quantity": 2}]}
    assert_error(*api.post(f"{PO}/{po}/acknowledge", ACME, body), 409, "invalid_transition")
    no_token = make_po(live_campaign(api)["id"], token=None)
    assert_error(*api.post(f"{PO}/{no_token}/acknowledge", ACME, body), 409, "invalid_transition")
    assert sfn_calls == []


@pytest.mark.parametrize(
    "lines, code",
    [
        ([{"sku": "MUG-1", "accepted_quantity": 4}], "invalid_acknowledgement"),  # a line unanswered
        ([{"sku": "MUG-1", "accepted_quantity": 5}, {"sku": "MUG-2", "accepted_quantity": 2}], "invalid_acknowledgement"),
        ([{"sku": "MUG-1", "accepted_quantity": 3}, {"sku": "MUG-2", "accepted_quantity": 2}], "invalid_acknowledgement"),
        ([{"sku": "MUG-1", "accepted_quantity": -1}, {"sku": "MUG-2", "accepted_quantity": 2}], "validation_error"),
        ([{"sku": "MUG-1", "accepted_quantity": 4, "reason": "bored"}], "validation_error"),
        ([], "validation_error"),
    ],
)
def test_a_malformed_acknowledgement_is_a_422_that_changes_nothing(api, campaign, sfn_calls, lines, code):
    po = make_po(campaign["id"])
    assert_error(*api.post(f"{PO}/{po}/acknowledge", ACME, {"lines": lines}), 422, code)
    assert sfn_calls == [] and po_item(po).stage == "acknowledge" and po_item(po).task_token == "tok"


# ---------------------------------------------------------------- invoices


def test_the_invoice_upload_is_a_presigned_post_scoped_to_supplier_and_po(api, campaign):
    po = make_po(campaign["id"], stage=Stage.INVOICE, accepted=True)
    status, up = api.post(f"{PO}/{po}/invoices/upload", ACME, {"content_type": "application/pdf"})
    assert status == 201, up
    assert up["key"].startswith(f"suppliers/acme/pos/{po}/invoices/") and up["key"].endswith(".pdf")
    assert up["fields"]["key"] == up["key"] and up["fields"]["Content-Type"] == "application/pdf"
    assert up["max_bytes"] == settings().upload_max_bytes and up["expires_in"] == settings().upload_expiry_s
    policy = json.loads(base64.b64decode(up["fields"]["policy"]))
    assert ["content-length-range", 1, settings().upload_max_bytes] in policy["conditions"]
    assert {"Content-Type": "application/pdf"} in policy["conditions"]
    assert {"key": up["key"]} in policy["conditions"]
    assert_error(*api.post(f"{PO}/{po}/invoices/upload", ACME, {"content_type": "text/html"}), 422)


def test_an_invoice_upload_outside_the_invoice_stage_is_a_409(api, campaign):
    po = make_po(campaign["id"])
    assert_error(*api.post(f"{PO}/{po}/invoices/upload", ACME, {"content_type": "image/png"}), 409)


def test_submitting_the_invoice_records_it_and_completes_the_stage_once(api, campaign, sfn_calls):
    po = make_po(campaign["id"], stage=Stage.INVOICE, accepted=True)
    up = api.post(f"{PO}/{po}/invoices/upload", ACME, {"content_type": "application/pdf"})[1]
    upload(up["key"])
    body = {"number": "INV-1", "amount_cents": ORDERED_CENTS, "currency": "EUR", "file_key": up["key"]}
    status, invoice = api.post(f"{PO}/{po}/invoices", ACME, body)
    assert status == 201, invoice
    assert invoice["number"] == "INV-1" and invoice["file_key"] == up["key"]
    assert sfn_calls == [("tok", {"decision": "done", "stage": "invoice"})]
    assert_error(*api.post(f"{PO}/{po}/invoices", ACME, body), 409, "invalid_transition")
    assert len(sfn_calls) == 1
    detail = api.get(f"{PO}/{po}", ACME)[1]
    assert detail["invoiced_cents"] == ORDERED_CENTS and [i["number"] for i in detail["invoices"]] == ["INV-1"]

    # staff see the invoice on the PO, with a link that downloads the supplier's file
    status, staff = api.get(f"/staff/purchase-orders/{po}", ACCOUNTING)
    assert status == 200, staff
    (doc,) = staff["invoices"]
    assert (doc["number"], doc["amount_cents"], doc["file_key"]) == ("INV-1", ORDERED_CENTS, up["key"])
    url = urlparse(doc["download_url"])
    assert url.netloc.startswith(settings().uploads_bucket + ".") and unquote(url.path) == "/" + up["key"]
    assert "Signature=" in doc["download_url"] or "X-Amz-Signature=" in doc["download_url"]
    assert staff["proposals"] == [] and staff["shipments"] == []


def test_an_invoice_submitted_as_the_acknowledgement_settles_is_recorded_not_refused(api, campaign, sfn_calls, monkeypatch):
    """The supplier reads the PO, then the acknowledgement's settlement (a queue consumer) records
    the orders to ship on it, then the invoice is written: the service reads the PO again and
    completes the stage; the supplier never sees the 409 of an internal write."""
    from chalicelib.services import refunds, supplier_portal

    po = make_po(campaign["id"], stage=Stage.INVOICE, accepted=True, orders_to_ship=0)
    up = api.post(f"{PO}/{po}/invoices/upload", ACME, {"content_type": "application/pdf"})[1]
    upload(up["key"])
    real_load = supplier_portal._load_own

    def read_then_settled(actor, po_id):
        loaded = real_load(actor, po_id)
        refunds._set_orders_to_ship(po_id, 3)  # lands between the supplier's read and its write
        return loaded

    monkeypatch.setattr(supplier_portal, "_load_own", read_then_settled)
    body = {"number": "INV-1", "amount_cents": ORDERED_CENTS, "currency": "EUR", "file_key": up["key"]}
    status, invoice = api.post(f"{PO}/{po}/invoices", ACME, body)
    assert status == 201, invoice
    assert sfn_calls == [("tok", {"decision": "done", "stage": "invoice"})]
    item = po_item(po)
    assert item.orders_to_ship == 3 and int(item.invoiced_cents) == ORDERED_CENTS  # neither write lost
    assert [i["number"] for i in api.get(f"{PO}/{po}", ACME)[1]["invoices"]] == ["INV-1"]


def test_a_stage_action_that_loses_to_another_action_is_still_a_409(api, campaign, sfn_calls, monkeypatch):
    from chalicelib.services import supplier_portal

    po = make_po(campaign["id"], stage=Stage.INVOICE, accepted=True)
    up = api.post(f"{PO}/{po}/invoices/upload", ACME, {"content_type": "application/pdf"})[1]
    upload(up["key"])
    body = {"number": "INV-1", "amount_cents": ORDERED_CENTS, "currency": "EUR", "file_key": up["key"]}
    real_load = supplier_portal._load_own
    stale = real_load(ACME_PRINCIPAL, po)  # a second request read the PO before the first one's write
    assert api.post(f"{PO}/{po}/invoices", ACME, body)[0] == 201
    monkeypatch.setattr(supplier_portal, "_load_own", lambda actor, po_id: stale)
    assert_error(*api.post(f"{PO}/{po}/invoices", ACME, {**body, "number": "INV-2"}), 409, "invalid_transition")
    assert len(sfn_calls) == 1
    assert [i["number"] for i in api.get(f"{PO}/{po}", ACME)[1]["invoices"]] == ["INV-1"]


@pytest.mark.parametrize(
    "change, code",
    [
        ({"currency": "USD"}, "invalid_invoice"),
        ({"file_key": "suppliers/bolt/pos/x/invoices/a.pdf"}, "invalid_invoice"),
        ({"file_key": "KEY_OF_NOTHING"}, "file_not_uploaded"),
        ({"amount_cents": ORDERED_CENTS + 1}, "invoice_above_accepted"),
        ({"amount_cents": 0}, "validation_error"),
        ({"extra": 1}, "validation_error"),
    ],
)
def test_an_invalid_invoice_is_a_422_and_the_stage_stays_open(api, campaign, sfn_calls, change, code):
    po = make_po(campaign["id"], stage=Stage.INVOICE, accepted=True)
    up = api.post(f"{PO}/{po}/invoices/upload", ACME, {"content_type": "application/pdf"})[1]
    upload(up["key"])
    body = {"number": "INV-1", "amount_cents": 100, "currency": "EUR", "file_key": up["key"], **change}
    if body["file_key"] == "KEY_OF_NOTHING":
        body["file_key"] = up["key"].replace(".pdf", "-missing.pdf")
    assert_error(*api.post(f"{PO}/{po}/invoices", ACME, body), 422, code)
    assert sfn_calls == [] and po_item(po).stage == "invoice"


# ---------------------------------------------------------------- payment proposals


def test_a_payment_proposal_up_to_the_invoiced_amount_is_pending_for_accounting(api, campaign, sfn_calls):
    po = make_po(campaign["id"], stage=Stage.PAYMENT_PROPOSAL, accepted=True, invoiced=ORDERED_CENTS)
    assert_error(
        *api.post(f"{PO}/{po}/payment-proposals", ACME, {"amount_cents": ORDERED_CENTS + 1}), 422, "proposal_above_invoiced"
    )
    status, proposal = api.post(f"{PO}/{po}/payment-proposals", ACME, {"amount_cents": ORDERED_CENTS})
    assert status == 201, proposal
    assert proposal["status"] == "pending" and proposal["po_id"] == po and proposal["currency"] == "EUR"
    assert sfn_calls == [("tok", {"decision": "done", "stage": "payment_proposal"})]
    assert_error(*api.post(f"{PO}/{po}/payment-proposals", ACME, {"amount_cents": 1}), 409)
    assert len(sfn_calls) == 1
    detail = api.get(f"{PO}/{po}", ACME)[1]
    assert [p["id"] for p in detail["proposals"]] == [proposal["id"]] and detail["payment_status"] == "proposed"
    pending = api.get("/staff/payment-proposals", ACCOUNTING)[1]["items"]
    assert [p["id"] for p in pending] == [proposal["id"]]


# ---------------------------------------------------------------- shipments


def test_a_shipment_covers_this_campaigns_orders_with_a_delivery_from_this_supplier(api, campaign, sfn_calls):
    mugs = place(api, campaign["id"], ("MUG-1", 1))
    caps_only = place(api, campaign["id"], ("CAP-1", 1))
    po = make_po(campaign["id"], stage=Stage.SHIPMENT, accepted=True)
    body = {"carrier": "dhl", "tracking_number": "JD0001", "order_ids": [mugs["id"], caps_only["id"]]}
    error = assert_error(*api.post(f"{PO}/{po}/shipments", ACME, body), 422, "unknown_orders")
    assert caps_only["id"] in error["message"] and mugs["id"] not in error["message"]
    assert_error(*api.post(f"{PO}/{po}/shipments", ACME, {**body, "order_ids": []}), 422, "validation_error")
    assert_error(*api.post(f"{PO}/{po}/shipments", ACME, {**body, "carrier": "pigeon"}), 422, "validation_error")
    error = assert_error(*api.post(f"{PO}/{po}/shipments", ACME, {**body, "order_ids": [mugs["id"]]}), 422, "order_not_shippable")
    assert "pending" in error["message"]  # not on a PO yet: nothing accepted to ship
    accept_deliveries("acme", mugs["id"])
    status, shipment = api.post(f"{PO}/{po}/shipments", ACME, {**body, "order_ids": [mugs["id"]]})
    assert status == 201, shipment
    assert shipment["order_ids"] == [mugs["id"]] and shipment["tracking_number"] == "JD0001"
    assert sfn_calls == [("tok", {"decision": "done", "stage": "shipment"})]
    assert_error(*api.post(f"{PO}/{po}/shipments", ACME, {**body, "order_ids": [mugs["id"]]}), 409)
    assert len(sfn_calls) == 1
    detail = api.get(f"{PO}/{po}", ACME)[1]
    assert detail["status"] == "shipped" and detail["shipment_status"] == "shipped"
    assert [s["tracking_number"] for s in detail["shipments"]] == ["JD0001"]


def test_each_stage_action_is_a_409_in_every_other_stage(api, campaign, sfn_calls):
    po = make_po(campaign["id"], stage=Stage.PAYMENT_APPROVAL, accepted=True, invoiced=100, proposed=100)
    order = place(api, campaign["id"], ("MUG-1", 1))
    for path, body in [
        ("acknowledge", {"lines": [{"sku": "MUG-1", "accepted_quantity": 4}, {"sku": "MUG-2", "accepted_quantity": 2}]}),
        (
            "invoices",
            {"number": "N", "amount_cents": 1, "currency": "EUR", "file_key": f"suppliers/acme/pos/{po}/invoices/x.pdf"},
        ),
        ("payment-proposals", {"amount_cents": 1}),
        ("shipments", {"carrier": "dhl", "tracking_number": "JD0001", "order_ids": [order["id"]]}),
    ]:
        assert_error(*api.post(f"{PO}/{po}/{path}", ACME, body), 409, "invalid_transition")
    assert sfn_calls == []
    open_stage(po, Stage.SHIPMENT, token="tok-ship")
    accept_deliveries("acme", order["id"])
    assert (
        api.post(f"{PO}/{po}/shipments", ACME, {"carrier": "dhl", "tracking_number": "JD0001", "order_ids": [order["id"]]})[0]
        == 201
    )
    assert sfn_calls == [("tok-ship", {"decision": "done", "stage": "shipment"})]


# ---------------------------------------------------------------- product files


def test_product_files_upload_and_list_under_the_suppliers_own_prefix(api, campaign):
    make_po(campaign["id"], "acme")
    path = f"/supplier/campaigns/{campaign['id']}/files"
    status, up = api.post(path, ACME, {"content_type": "image/png", "filename": "mug-front.png"})
    assert status == 201, up
    assert up["key"].startswith(f"suppliers/acme/campaigns/{campaign['id']}/files/") and up["key"].endswith(".png")
    upload(up["key"], "image/png")
    # Something under another supplier's prefix of the same campaign is never listed.
    upload(f"suppliers/bolt/campaigns/{campaign['id']}/files/abc-cap.png", "image/png")
    status, listing = api.get(path, ACME)
    assert status == 200, listing
    assert [f["key"] for f in listing["items"]] == [up["key"]]
    assert listing["items"][0]["name"] == "mug-front.png" and "Signature" in listing["items"][0]["url"]
    bolt_files = api.get(path, BOLT)[1]["items"]
    assert [f["name"] for f in bolt_files] == ["cap.png"]


def test_product_files_of_a_campaign_without_the_supplier_are_a_404(api):
    from tests.api.support import draft_campaign, ensure_supplier, product

    ensure_supplier(api, BUYER, "acme")
    ensure_supplier(api, BUYER, "cove")
    other = draft_campaign(api, BUYER, product("PEN-9", "cove"))
    path = f"/supplier/campaigns/{other['id']}/files"
    assert_error(*api.get(path, ACME), 404)
    assert_error(*api.post(path, ACME, {"content_type": "image/png", "filename": "x.png"}), 404)
    assert_error(*api.post(path, ACME, {"content_type": "image/png", "filename": "../x.png"}), 422)
