"""The exceptions queue staff act from: resolved ones listed newest first and paged, several acknowledged,
assigned or snoozed at once (each id its own versioned change), and an exception's history with who
did what and when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.adapters.dynamodb.metering import metered
from chalicelib.services import escalations, exceptions
from tests.api.support import assert_error
from tests.aws import ADMIN, BUYER, CARE


def raise_(kind: str, subject_id: str, **details: Any) -> exceptions.ExceptionRecord:
    return exceptions.raise_or_bump(kind, "po", subject_id, details)


def ids(page: dict[str, Any]) -> list[str]:
    return [i["id"] for i in page["items"]]


def test_resolved_exceptions_are_listed_newest_first_one_page_per_query(api):
    first, second, third = raise_("invoice_missing", "po-1"), raise_("out_of_stock", "po-2"), raise_("invoice_missing", "po-3")
    still_open = raise_("supplier_rejected", "po-4")
    for exc in (second, first, third):  # resolved in this order: third is the newest
        status, body = api.post(f"/staff/exceptions/{exc.id}/resolve", BUYER, {"note": f"done {exc.subject_id}"})
        assert status == 200, body

    with metered() as m:
        status, page = api.get("/staff/exceptions?status=resolved&limit=2", CARE)
    assert status == 200, page
    assert dict(m.requests) == {"Query": 1}, "one query on the resolved index"
    assert ids(page) == [third.id, first.id]
    assert [i["status"] for i in page["items"]] == ["resolved", "resolved"]
    assert page["items"][0]["resolution"] == "done po-3" and page["items"][0]["resolved_at"]
    assert page["next_cursor"]

    status, rest = api.get(f"/staff/exceptions?status=resolved&limit=2&cursor={page['next_cursor']}", CARE)
    assert status == 200 and ids(rest) == [second.id] and rest["next_cursor"] is None

    _, by_kind = api.get("/staff/exceptions?status=resolved&kind=out_of_stock", CARE)
    assert ids(by_kind) == [second.id]
    _, queue = api.get("/staff/exceptions", CARE)
    assert ids(queue) == [still_open.id] and queue["counts"]["total"] == 1, "the open queue is unchanged"


def test_resolved_cannot_be_mixed_with_open_statuses(api):
    status, body = api.get("/staff/exceptions?status=open,resolved", CARE)
    assert_error(status, body, 422, "resolved_alone")


def test_an_exception_raised_again_leaves_the_resolved_listing(api):
    exc = raise_("invoice_missing", "po-9")
    api.post(f"/staff/exceptions/{exc.id}/resolve", BUYER, {"note": "arrived"})
    _, before = api.get("/staff/exceptions?status=resolved", CARE)
    assert ids(before) == [exc.id]
    raise_("invoice_missing", "po-9")
    _, after = api.get("/staff/exceptions?status=resolved", CARE)
    assert after["items"] == []
    _, queue = api.get("/staff/exceptions", CARE)
    assert ids(queue) == [exc.id]


def test_a_bulk_acknowledge_acts_on_each_id_and_one_conflict_does_not_stop_the_others(api):
    a, b, c = raise_("out_of_stock", "po-1"), raise_("invoice_missing", "po-2"), raise_("supplier_rejected", "po-3")
    # someone assigns b after the page showed it at version 1
    status, moved = api.post(f"/staff/exceptions/{b.id}/assign", ADMIN, {"assignee": "ops@waybill.example"})
    assert status == 200 and moved["version"] == 2

    status, body = api.post(
        "/staff/exceptions/bulk",
        BUYER,
        {
            "action": "acknowledge",
            "ids": [a.id, b.id, "exc_nosuchthing", c.id],
            "expected_versions": {a.id: 1, b.id: 1, c.id: 1},
        },
    )
    assert status == 200, body
    outcomes = {r["id"]: r["outcome"] for r in body["results"]}
    assert outcomes == {a.id: "ok", b.id: "conflict", "exc_nosuchthing": "not_found", c.id: "ok"}
    assert body["ok"] == 2
    assert [r["version"] for r in body["results"] if r["outcome"] == "ok"] == [2, 2]

    assert exceptions.get(a.id).status.value == "acknowledged"
    assert exceptions.get(c.id).status.value == "acknowledged"
    assert exceptions.get(b.id).status.value == "open", "the conflicting one is left as it was"
    _, queue = api.get("/staff/exceptions?status=acknowledged", CARE)
    assert sorted(ids(queue)) == sorted([a.id, c.id]) and queue["counts"]["total"] == 2


def test_a_bulk_assign_and_a_bulk_snooze_change_every_id(api):
    a, b = raise_("out_of_stock", "po-1"), raise_("invoice_missing", "po-2")
    status, body = api.post(
        "/staff/exceptions/bulk", BUYER, {"action": "assign", "ids": [a.id, b.id], "assignee": "Ops@Waybill.example"}
    )
    assert status == 200 and body["ok"] == 2, body
    _, mine = api.get("/staff/exceptions?assignee=ops@waybill.example", CARE)
    assert sorted(ids(mine)) == sorted([a.id, b.id])

    until = (datetime.now(UTC) + timedelta(hours=4)).isoformat()
    status, body = api.post("/staff/exceptions/bulk", BUYER, {"action": "snooze", "ids": [a.id, b.id], "until": until})
    assert status == 200 and body["ok"] == 2, body
    _, queue = api.get("/staff/exceptions", CARE)
    assert queue["items"] == [] and queue["counts"]["total"] == 0
    # acknowledging a snoozed one is refused by its rules, and said so per id
    status, body = api.post("/staff/exceptions/bulk", BUYER, {"action": "acknowledge", "ids": [a.id]})
    assert status == 200 and body["results"][0]["outcome"] == "refused" and body["results"][0]["code"], body


def test_a_bulk_request_is_bounded_and_validated(api):
    exc = raise_("out_of_stock", "po-1")
    too_many = [f"exc_{n}" for n in range(51)]
    assert_error(*api.post("/staff/exceptions/bulk", BUYER, {"action": "acknowledge", "ids": too_many}), 422, "validation_error")
    assert_error(*api.post("/staff/exceptions/bulk", BUYER, {"action": "acknowledge", "ids": []}), 422, "validation_error")
    assert_error(*api.post("/staff/exceptions/bulk", BUYER, {"action": "resolve", "ids": [exc.id]}), 422, "validation_error")
    assert_error(*api.post("/staff/exceptions/bulk", BUYER, {"action": "snooze", "ids": [exc.id]}), 422, "until_required")
    assert exceptions.get(exc.id).status.value == "open"


def test_an_exceptions_history_says_what_happened_by_whom_and_when(api):
    exc = raise_("out_of_stock", "po-7")
    raise_("out_of_stock", "po-7")  # seen again
    escalations.sweep(datetime.now(UTC) + timedelta(days=3))  # past its first escalation
    path = f"/staff/exceptions/{exc.id}"
    until = (datetime.now(UTC) + timedelta(days=4)).isoformat()
    assert api.post(f"{path}/snooze", ADMIN, {"until": until})[0] == 200
    assert api.post(f"{path}/assign", ADMIN, {"assignee": "buyer@waybill.example"})[0] == 200
    assert api.post(f"{path}/resolve", BUYER, {"note": "re-sourced"})[0] == 200

    status, detail = api.get(path, CARE)
    assert status == 200, detail
    history = [(e["type"], e["actor"]["sub"]) for e in detail["events"]]
    assert history[:3] == [("exception.raised", "system"), ("exception.repeated", "system"), ("exception.escalated", "system")]
    assert history[-3:] == [
        ("exception.snoozed", "admin-1"),
        ("exception.assigned", "admin-1"),
        ("exception.resolved", "buyer-1"),
    ]
    times = [datetime.fromisoformat(e["at"]) for e in detail["events"]]
    assert times == sorted(times), "oldest first"
    snoozed = next(e for e in detail["events"] if e["type"] == "exception.snoozed")
    assert snoozed["facts"]["until"] == datetime.fromisoformat(until).isoformat()
    assigned = next(e for e in detail["events"] if e["type"] == "exception.assigned")
    assert assigned["facts"]["assignee"] == "buyer@waybill.example"
