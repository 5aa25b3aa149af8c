"""Exports over HTTP: request (202, queued), run from the queue's event, list, detail with a download link."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.aws import client
from chalicelib.config import settings
from chalicelib.services import exports
from tests.aws import headers

ADA = headers("ada", "accounting")


def test_a_requested_export_is_queued_then_listed_and_downloadable_when_done(api: Any) -> None:
    status, queued = api.call("POST", "/staff/exports", ADA, {"kind": "orders", "format": "xlsx", "exporter": "orders_paid"})
    assert status == 202 and queued["status"] == "queued" and queued["download_url"] is None

    # What the exports queue's consumer does with export.requested (the API account has no buckets).
    client("s3").create_bucket(
        Bucket=settings().exports_bucket, CreateBucketConfiguration={"LocationConstraint": settings().region}
    )
    exports.run_export(queued["id"])

    status, page = api.call("GET", "/staff/exports", ADA)
    assert status == 200 and [r["id"] for r in page["items"]] == [queued["id"]]
    status, detail = api.call("GET", f"/staff/exports/{queued['id']}", ADA)
    assert status == 200 and detail["status"] == "done" and detail["rows"] == 0
    assert [e["type"] for e in detail["events"]] == ["export.requested", "export.completed"]
    assert detail["download_url"] and detail["download_expires_at"]
    assert "X-Amz-Signature" in detail["download_url"] or "Signature" in detail["download_url"]


def test_bad_export_requests_are_4xx_with_what_is_wrong(api: Any) -> None:
    status, body = api.call("POST", "/staff/exports", ADA, {"kind": "orders", "exporter": "payments_settled"})
    assert status == 422 and body["error"]["code"] == "invalid_export"
    status, body = api.call("POST", "/staff/exports", ADA, {"kind": "invoices"})
    assert status == 422 and body["error"]["code"] == "validation_error"
    api.call("POST", "/staff/exports", ADA, {"kind": "orders", "exporter": "orders_paid"})
    status, body = api.call("POST", "/staff/exports", ADA, {"kind": "orders", "exporter": "orders_paid"})
    assert status == 409 and body["error"]["code"] == "conflict"
    status, body = api.call("GET", "/staff/exports/exp_nope", ADA)
    assert status == 404 and body["error"]["code"] == "not_found"
    status, _ = api.call("GET", "/staff/exports", headers("cust-1", "customer"))
    assert status == 403
