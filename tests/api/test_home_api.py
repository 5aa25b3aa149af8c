"""Each role's home (`GET /staff/home`), the menu's counts for polling (`GET /staff/counts`, ETag and
304) and the trends (`GET /staff/trends`): what each role sees, that the reads stay bounded whatever
the queue holds, and that the trends count events as they happen."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from chalicelib.adapters.dynamodb.metering import metered
from chalicelib.config import settings
from chalicelib.services import exceptions
from tests.api.support import assert_error, place, place_on_hold
from tests.aws import ACCOUNTING, ADMIN, ALICE, BUYER, CARE, headers, live_campaign

LOGISTICS = headers("log-1", "logistics", email="logistics@waybill.example")


def raise_(kind: str, subject_type: str, subject_id: str, **details: Any) -> exceptions.ExceptionRecord:
    return exceptions.raise_or_bump(kind, subject_type, subject_id, details)


def warm(api) -> None:
    """One request before the measured one: the first request of a process installs the settings loader,
    which reads staff's settings (one GetItem, then cached), and that read is not the route's."""
    assert api.get("/me", CARE)[0] == 200
    settings()  # read (and cached) now, not inside the measured request


def home(api, who) -> tuple[dict[str, Any], Any]:
    warm(api)
    with metered() as m:
        status, body = api.get("/staff/home", who)
    assert status == 200, body
    return body, m


def sections(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["key"]: s for s in body["sections"]}


def item_ids(section: dict[str, Any]) -> list[str]:
    return [i["id"] for i in section["items"]]


def test_each_role_sees_its_own_sections_and_an_admin_sees_them_all(api):
    rejected = raise_("supplier_rejected", "po", "po-1", supplier_id="acme", reason="no stock this month")
    complaint = raise_("complaint_open", "complaint", "cmp-1")
    overdue = raise_("payment_overdue", "order", "ord-9")
    stale = raise_("tracking_stale", "shipment", "JD00000001")

    buyer = sections(home(api, BUYER)[0])
    assert set(buyer) == {"assigned", "purchase_orders", "campaigns"}
    assert item_ids(buyer["purchase_orders"]) == [rejected.id] and buyer["purchase_orders"]["count"] == 1
    line = buyer["purchase_orders"]["items"][0]
    assert line["reason"] == "no stock this month" and line["subject_id"] == "po-1" and line["priority"] == "critical"

    care = sections(home(api, CARE)[0])
    assert set(care) == {"assigned", "complaints", "held_orders"}
    assert item_ids(care["complaints"]) == [complaint.id]

    accounting = sections(home(api, ACCOUNTING)[0])
    assert set(accounting) == {"assigned", "payments", "failed_payments"}
    assert item_ids(accounting["failed_payments"]) == [overdue.id]

    logistics = sections(home(api, LOGISTICS)[0])
    assert set(logistics) == {"assigned", "parcels"} and item_ids(logistics["parcels"]) == [stale.id]

    admin = sections(home(api, ADMIN)[0])
    assert {"purchase_orders", "complaints", "payments", "failed_payments", "parcels", "webhooks"} <= set(admin)
    assert item_ids(admin["parcels"]) == [stale.id]


def test_a_held_order_and_what_is_assigned_to_me_come_to_customer_care(api, aws):
    campaign = live_campaign(api)
    held = place_on_hold(api, campaign["id"])
    order = place(api, campaign["id"], ("MUG-1", 1))
    status, body = api.put(
        f"/staff/assignments/order/{order['id']}", CARE, {"assignee": "care@waybill.example", "priority": "high"}
    )
    assert status == 200, body

    care = sections(home(api, CARE)[0])
    assert [i["subject_id"] for i in care["held_orders"]["items"]] == [held["id"]]
    assert [(i["kind"], i["id"]) for i in care["assigned"]["items"]] == [("order", order["id"])]


def test_a_home_reads_a_bounded_number_of_queries_however_full_the_queue_is(api):
    for n in range(120):  # more than the home reads of the queue's head
        raise_("complaint_open" if n % 2 else "invoice_missing", "po", f"po-{n:03d}")

    body, m = home(api, CARE)
    assert dict(m.requests) == {"Query": 3}, "the queue's head with its counters, my work, my team's work"
    assert m.items_read <= 100 + 1 + 2 * 6, "the head (and its counters item) and a page of each work index"
    care = sections(body)
    assert care["complaints"]["count"] == 60, "the count comes from the counters, not from the records read"
    assert len(care["complaints"]["items"]) == 5 and care["complaints"]["more"] is True

    _, m = home(api, BUYER)
    assert dict(m.requests) == {"Query": 5}, "the head, POs by deadline, campaigns closing, my work, my team's"
    _, m = home(api, ADMIN)
    assert dict(m.requests) == {"Query": 5}, "the head, POs by deadline, campaigns closing, proposals, my work"
    _, m = home(api, ACCOUNTING)  # a token without an address: no work of mine to read
    assert dict(m.requests) == {"Query": 3}, "the head, the proposals to decide, my team's work"


def counts(api, who=CARE, etag: str | None = None):
    extra = {"If-None-Match": etag} if etag else {}
    warm(api)
    with metered() as m:
        r = api.client.http.request("GET", "/staff/counts", headers={**who, **extra})
    return r, m


def test_the_menu_counts_answer_304_with_no_body_until_they_change(api):
    raise_("complaint_open", "complaint", "cmp-1")
    first, m = counts(api)
    assert first.status_code == 200 and dict(m.requests) == {"GetItem": 1}, "one read of the queue's counters"
    body = json.loads(first.body)
    etag = first.headers["ETag"]
    assert etag == f'"{body["etag"]}"'
    assert body["menu"]["complaints"] == 1 and body["menu"]["exceptions"] == 1

    again, _ = counts(api, etag=etag)
    assert again.status_code == 304 and not again.body and again.headers["ETag"] == etag

    raise_("payment_approval_pending", "proposal", "prop-1")
    changed, _ = counts(api, etag=etag)
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    body = json.loads(changed.body)
    assert body["menu"]["payments"] == 1 and body["menu"]["exceptions"] == 2 and body["sections"]["payments"] == 1


def test_the_counts_and_the_home_are_for_staff_only(api):
    for path in ("/staff/counts", "/staff/home", "/staff/trends"):
        status, body = api.get(path, ALICE)
        assert_error(status, body, 403, "forbidden")


def test_trends_count_orders_and_exceptions_per_day_in_one_query_per_series(api, aws):
    campaign = live_campaign(api)
    for _ in range(3):
        place(api, campaign["id"], ("MUG-1", 1))
    opened = raise_("invoice_missing", "po", "po-1")
    raise_("invoice_missing", "po", "po-2")
    assert api.post(f"/staff/exceptions/{opened.id}/resolve", BUYER, {"note": "arrived"})[0] == 200

    warm(api)
    with metered() as m:
        status, body = api.get("/staff/trends", CARE)
    assert status == 200, body
    assert dict(m.requests) == {"Query": 3}, "one Query per series"
    series = {s["name"]: s for s in body["series"]}
    today = datetime.now(UTC).date().isoformat()
    orders = series["orders"]["points"]
    assert len(orders) == 30 and orders[-1] == {"period": today, "counts": {"placed": 3}}
    assert series["exceptions"]["points"][-1]["counts"] == {"opened": 2, "resolved": 1}
    weeks = series["stages"]["points"]
    assert series["stages"]["period"] == "week" and len(weeks) == 12
    assert all(datetime.fromisoformat(p["period"]).weekday() == 0 for p in weeks), "a week is named by its Monday"
