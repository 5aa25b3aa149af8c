"""The staff exceptions queue over HTTP: ranking, filters and counts from one Query; dedupe and
auto-resolve; acknowledge / assign / snooze / resolve, each audited on the exception and its subject."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb import repository as repo
from chalicelib.adapters.dynamodb.metering import metered
from chalicelib.adapters.dynamodb.models import AuditEventItem
from chalicelib.services import escalations, exceptions
from tests.api.support import assert_error
from tests.aws import ADMIN, ALICE, BUYER, CARE


def raise_(kind: str, subject_id: str, *, subject_type: str = "po", **details: Any) -> exceptions.ExceptionRecord:
    return exceptions.raise_or_bump(kind, subject_type, subject_id, details)


def ids(page: dict[str, Any]) -> list[str]:
    return [i["id"] for i in page["items"]]


@pytest.fixture
def queue(api) -> dict[str, exceptions.ExceptionRecord]:
    """A small queue: two suppliers, two campaigns, four severities."""
    return {
        "stock": raise_("out_of_stock", "po-1", supplier_id="acme", campaign_id="c1"),  # high
        "invoice": raise_("invoice_missing", "po-2", supplier_id="acme", campaign_id="c1"),  # medium
        "rejected": raise_("supplier_rejected", "po-3", supplier_id="brio", campaign_id="c2"),  # critical
        "stock2": raise_("out_of_stock", "po-4", supplier_id="brio", campaign_id="c2"),  # high, younger
        "inbound": raise_("inbound_webhook_failed", "bank/m1", subject_type="webhook"),  # medium
    }


def test_the_queue_ranks_by_severity_then_age_and_counts_per_kind_from_one_query(api, queue):
    with metered() as m:
        status, page = api.get("/staff/exceptions", CARE)
    assert status == 200, page
    assert dict(m.requests) == {"Query": 1}, "one query on the sparse open-exceptions index"
    q = queue
    assert ids(page) == [q["rejected"].id, q["stock"].id, q["stock2"].id, q["invoice"].id, q["inbound"].id]
    assert page["counts"] == {
        "total": 5,
        "by_kind": {"inbound_webhook_failed": 1, "invoice_missing": 1, "out_of_stock": 2, "supplier_rejected": 1},
        "by_severity": {"critical": 1, "high": 2, "medium": 2, "low": 0},
    }
    first = page["items"][0]
    assert first["title"] == "Supplier rejected a purchase order" and first["owner"] == "buyer"
    assert first["allowed_actions"] == ["acknowledge", "assign", "snooze", "resolve"]


def test_filters_narrow_the_list_and_the_facets_ignore_only_their_own_filter(api, queue):
    q = queue
    _, by_kind = api.get("/staff/exceptions?kind=out_of_stock", CARE)
    assert ids(by_kind) == [q["stock"].id, q["stock2"].id]
    assert by_kind["counts"]["total"] == 2
    assert by_kind["counts"]["by_kind"]["invoice_missing"] == 1, "kind counts ignore the kind filter"
    assert by_kind["counts"]["by_severity"] == {"critical": 0, "high": 2, "medium": 0, "low": 0}

    _, two_kinds = api.get("/staff/exceptions?kind=out_of_stock,supplier_rejected&severity=critical", CARE)
    assert ids(two_kinds) == [q["rejected"].id]
    _, supplier = api.get("/staff/exceptions?supplier_id=acme", CARE)
    assert ids(supplier) == [q["stock"].id, q["invoice"].id]
    _, campaign = api.get("/staff/exceptions?campaign_id=c2&severity=high", CARE)
    assert ids(campaign) == [q["stock2"].id]


def test_pages_follow_the_ranking_with_a_cursor(api, queue):
    _, first = api.get("/staff/exceptions?limit=2", CARE)
    _, second = api.get(f"/staff/exceptions?limit=2&cursor={first['next_cursor']}", CARE)
    _, third = api.get(f"/staff/exceptions?limit=2&cursor={second['next_cursor']}", CARE)
    _, everything = api.get("/staff/exceptions", CARE)
    assert ids(first) + ids(second) + ids(third) == ids(everything)
    assert third["next_cursor"] is None
    status, body = api.get("/staff/exceptions?cursor=not-a-cursor", CARE)
    assert_error(status, body, 400, "invalid_cursor")


def test_a_repeat_bumps_the_one_open_record_and_a_cleared_condition_resolves_it(api):
    first = raise_("invoice_missing", "po-9", supplier_id="acme")
    again = raise_("invoice_missing", "po-9", supplier_id="acme", reminders=2)
    assert again.id == first.id
    _, page = api.get("/staff/exceptions", CARE)
    (row,) = page["items"]
    assert row["count"] == 2 and row["details"] == {"supplier_id": "acme", "reminders": 2}

    assert exceptions.resolve("invoice_missing", "po", "po-9", note="the invoice arrived") is True
    assert exceptions.resolve("invoice_missing", "po", "po-9", note="again") is False
    _, page = api.get("/staff/exceptions", CARE)
    assert page["items"] == []
    status, gone = api.get(f"/staff/exceptions/{first.id}", CARE)
    assert status == 200 and gone["status"] == "resolved" and gone["resolution"] == "the invoice arrived"
    assert [e["type"] for e in gone["events"]] == ["exception.raised", "exception.repeated", "exception.resolved"]

    reopened = raise_("invoice_missing", "po-9")
    assert reopened.id == first.id and reopened.count == 1, "a new occurrence after resolution starts afresh"


def test_a_kind_with_a_grace_period_stays_out_of_the_queue_until_it_lasts(api):
    blip = raise_("unknown_tracking", "dhl#JD1", subject_type="tracking")
    assert blip.status.value == "pending"
    _, page = api.get("/staff/exceptions", CARE)
    assert page["items"] == []
    # cleared within its grace period: it never shows, and nobody was told
    assert exceptions.resolve("unknown_tracking", "tracking", "dhl#JD1", note="recorded") is True
    assert exceptions.get(blip.id).status.value == "resolved"

    lasting = raise_("unknown_tracking", "dhl#JD2", subject_type="tracking")
    escalations.sweep(datetime.now(UTC) + timedelta(hours=2))
    _, page = api.get("/staff/exceptions", CARE)
    assert ids(page) == [lasting.id]
    assert page["items"][0]["status"] == "open"


def subject_events(subject_pk: str) -> list[AuditEventItem]:
    return [i for i in repo.query_all(subject_pk) if isinstance(i, AuditEventItem)]


def test_staff_actions_are_audited_on_the_exception_and_on_its_subject(api):
    exc = raise_("out_of_stock", "po-7", supplier_id="acme", campaign_id="c1")
    path = f"/staff/exceptions/{exc.id}"
    status, acked = api.post(f"{path}/acknowledge", BUYER, {"note": "calling the supplier"})
    assert status == 200, acked
    assert acked["status"] == "acknowledged" and acked["acknowledged_by"] == "buyer@waybill.example"
    status, assigned = api.post(f"{path}/assign", BUYER, {"assignee": "Ops@Waybill.example"})
    assert status == 200 and assigned["assignee"] == "ops@waybill.example"
    _, mine = api.get("/staff/exceptions?assignee=ops@waybill.example", CARE)
    assert ids(mine) == [exc.id]
    _, unassigned = api.get("/staff/exceptions?assignee=none", CARE)
    assert unassigned["items"] == []
    status, resolved = api.post(f"{path}/resolve", BUYER, {"note": "re-sourced from brio"})
    assert status == 200 and resolved["status"] == "resolved" and resolved["allowed_actions"] == []

    on_exception = [(e["type"], e["actor"]["sub"], e["internal_note"]) for e in resolved["events"]]
    assert on_exception == [
        ("exception.raised", "system", None),
        ("exception.acknowledged", "buyer-1", "calling the supplier"),
        ("exception.assigned", "buyer-1", None),
        ("exception.resolved", "buyer-1", "re-sourced from brio"),
    ]
    on_po = sorted((e.type, e.internal_note) for e in subject_events(keys.po_pk("po-7")))
    assert on_po == [
        ("exception.acknowledged", "calling the supplier"),
        ("exception.assigned", None),
        ("exception.resolved", "re-sourced from brio"),
    ]

    status, body = api.post(f"{path}/resolve", BUYER, {"note": "twice"})
    assert_error(status, body, 409, "invalid_transition")


def test_a_snoozed_exception_leaves_the_queue_and_comes_back_when_the_snooze_ends(api):
    exc = raise_("payment_failed", "po-5", supplier_id="acme")
    until = datetime.now(UTC) + timedelta(hours=3)
    _, opened = api.get(f"/staff/exceptions/{exc.id}", CARE)
    first_escalation = datetime.fromisoformat(opened["due_at"])  # open: due when it escalates a level
    assert first_escalation > datetime.fromisoformat(opened["opened_at"])
    status, snoozed = api.post(f"/staff/exceptions/{exc.id}/snooze", ADMIN, {"until": until.isoformat()})
    assert status == 200 and snoozed["status"] == "snoozed"
    assert datetime.fromisoformat(snoozed["due_at"]) == until  # snoozed: due when it wakes
    _, page = api.get("/staff/exceptions", CARE)
    assert page["items"] == []
    _, hidden = api.get("/staff/exceptions?status=snoozed", CARE)
    assert ids(hidden) == [exc.id]

    escalations.sweep(until - timedelta(minutes=1))
    assert exceptions.get(exc.id).status.value == "snoozed", "not before its time"
    escalations.sweep(until + timedelta(minutes=1))
    _, page = api.get("/staff/exceptions", CARE)
    assert ids(page) == [exc.id] and page["items"][0]["status"] == "open"


def test_bad_requests_get_clear_errors_and_change_nothing(api):
    exc = raise_("out_of_stock", "po-8")
    path = f"/staff/exceptions/{exc.id}"
    assert_error(*api.post(f"{path}/resolve", BUYER, {}), 422, "validation_error")
    assert_error(*api.post(f"{path}/resolve", BUYER, {"note": "   "}), 422, "validation_error")
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert_error(*api.post(f"{path}/snooze", BUYER, {"until": past}), 422, "snooze_in_past")
    far = (datetime.now(UTC) + timedelta(days=45)).isoformat()
    assert_error(*api.post(f"{path}/snooze", BUYER, {"until": far}), 422, "snooze_too_long")
    assert_error(*api.post(f"{path}/snooze", BUYER, {"until": "2026-13-01T00:00:00Z"}), 422, "validation_error")
    assert_error(*api.post(f"{path}/assign", BUYER, {"assignee": "not-an-address"}), 422, "validation_error")
    assert_error(*api.get("/staff/exceptions?kind=no_such_kind", CARE), 422, "validation_error")
    assert_error(*api.get("/staff/exceptions?severity=urgent", CARE), 422, "validation_error")
    assert_error(*api.get("/staff/exceptions", ALICE), 403)
    assert_error(*api.post(f"{path}/acknowledge", ALICE, {}), 403)
    assert_error(*api.post("/staff/exceptions/exc_nothere/acknowledge", BUYER, {}), 404)
    assert_error(*api.post(f"{path}/acknowledge", BUYER, {"expected_version": 7}), 409, "conflict")
    current = exceptions.get(exc.id)
    assert current.status.value == "open" and current.version == 1


def test_two_staff_acting_on_the_same_version_one_wins_the_other_gets_409(api):
    exc = raise_("out_of_stock", "po-6")
    path = f"/staff/exceptions/{exc.id}"
    status, first = api.post(f"{path}/assign", BUYER, {"assignee": "a@waybill.example", "expected_version": 1})
    assert status == 200
    status, second = api.post(f"{path}/assign", ADMIN, {"assignee": "b@waybill.example", "expected_version": 1})
    assert_error(status, second, 409, "conflict")
    assert exceptions.get(exc.id).assignee == "a@waybill.example"
