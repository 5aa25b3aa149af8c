"""Staff routes for the exceptions queue: ranked list with filters and counts, one exception with its
history, and the actions (acknowledge, assign, snooze, resolve), each audited."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from chalice.app import Blueprint

from ..adapters import cursors
from ..config import settings
from ..domain.errors import RuleViolation
from ..domain.permissions import READ_STAFF
from ..lazy import lazy_module
from .http import Call, endpoint

if TYPE_CHECKING:
    from ..domain import exceptions as rules
    from ..services import exceptions as svc
    from .views import staff as views
else:
    svc = lazy_module("chalicelib.services.exceptions")
    rules = lazy_module("chalicelib.domain.exceptions")
    views = lazy_module("chalicelib.api.views.staff")

exceptions_api = Blueprint(__name__)
TAG = "staff: exceptions"


def view(r: rules.ExceptionRecord) -> views.ExceptionView:
    return views.ExceptionView.of(r, due_at=rules.next_due(r, settings().exception_policy()), actions=rules.allowed_actions(r))


def _cursor(key: tuple[int, datetime, str]) -> str:
    return cursors.encode([key[0], key[1].isoformat(), key[2]])


def _after(cursor: str) -> tuple[int, datetime, str]:
    hint = [{"field": "cursor", "message": "use next_cursor from the previous page"}]
    try:
        rank, at, exc_id = cursors.decode(cursor)
        return int(rank), datetime.fromisoformat(at), str(exc_id)
    except (ValueError, TypeError, RuleViolation):
        raise cursors.invalid(hint) from None


@endpoint(
    exceptions_api,
    "/staff/exceptions",
    "GET",
    summary="Open exceptions ranked by severity then age, one page read, with counts per kind and severity from "
    "counters; or resolved ones, newest first",
    tag=TAG,
    roles=READ_STAFF,
    query="ExceptionListQuery",
    response="ExceptionPage",
)
def list_exceptions(call: Call) -> views.ExceptionPage:
    q = call.query
    if q.status and "resolved" in q.status:
        return _resolved(q)
    statuses = (
        frozenset(rules.Status(v) for v in q.status) if q.status else frozenset({rules.Status.OPEN, rules.Status.ACKNOWLEDGED})
    )
    found = svc.page(_filter(q, statuses), limit=q.limit, after=_after(q.cursor) if q.cursor else None)
    c = found.counts
    return views.ExceptionPage(
        items=[view(r) for r in found.items],
        next_cursor=_cursor(found.next_after) if found.next_after else None,
        counts=views.ExceptionCounts(total=c.total, by_kind=c.by_kind, by_severity=c.by_severity),
        truncated=found.truncated,
    )


def _filter(q: views.ExceptionListQuery, statuses: frozenset[rules.Status]) -> rules.QueueFilter:
    return rules.QueueFilter(
        kinds=frozenset(q.kind or ()),
        severities=frozenset(rules.Severity(v) for v in q.severity or ()),
        supplier_id=q.supplier_id,
        campaign_id=q.campaign_id,
        assignee=q.assignee.lower() if q.assignee else None,
        statuses=statuses,
        team=rules.Owner(q.team) if q.team else None,
    )


def _resolved(q: views.ExceptionListQuery) -> views.ExceptionPage:
    if set(q.status or ()) != {"resolved"}:
        raise RuleViolation(
            "resolved_alone",
            "list resolved exceptions on their own (status=resolved)",
            details=[{"field": "status", "message": "resolved cannot be combined with other statuses"}],
        )
    flt = _filter(q, frozenset({rules.Status.RESOLVED}))
    page = svc.resolved(flt, limit=q.limit, cursor=q.cursor)
    ranked = rules.rank(page.items, flt)
    return views.ExceptionPage(
        items=[view(r) for r in page.items],
        next_cursor=page.cursor,
        counts=views.ExceptionCounts(total=ranked.total, by_kind=ranked.by_kind, by_severity=ranked.by_severity),
        truncated=False,
    )


@endpoint(
    exceptions_api,
    "/staff/exceptions/bulk",
    "POST",
    summary="Acknowledge, assign or snooze several exceptions (at most 50): each id answers ok, conflict, not_found or refused",
    tag=TAG,
    roles=READ_STAFF,
    body="ExceptionBulkRequest",
    response="ExceptionBulkResponse",
)
def bulk_exceptions(call: Call) -> views.ExceptionBulkResponse:
    b = call.body
    outcomes = svc.bulk(
        call.actor,
        b.action,
        b.ids,
        expected_versions=b.expected_versions,
        assignee=b.assignee,
        until=b.until,
        note=b.note,
    )
    results = [
        views.ExceptionBulkResult(id=o.id, outcome=o.outcome, version=o.version, code=o.code, message=o.message) for o in outcomes
    ]
    return views.ExceptionBulkResponse(results=results, ok=sum(1 for o in outcomes if o.outcome == "ok"))


def _detail(exc_id: str) -> views.ExceptionDetailView:
    d = svc.detail(exc_id)
    return views.ExceptionDetailView(**dict(view(d.record)), events=[views.ExceptionEventView.of_event(e) for e in d.events])


@endpoint(
    exceptions_api,
    "/staff/exceptions/{exception_id}",
    "GET",
    summary="An exception with its history",
    tag=TAG,
    roles=READ_STAFF,
    response="ExceptionDetailView",
)
def get_exception(call: Call, exception_id: str) -> views.ExceptionDetailView:
    return _detail(exception_id)


@endpoint(
    exceptions_api,
    "/staff/exceptions/{exception_id}/acknowledge",
    "POST",
    summary="Acknowledge an open exception (someone is on it)",
    tag=TAG,
    roles=READ_STAFF,
    body="ExceptionAcknowledgeRequest",
    response="ExceptionDetailView",
)
def acknowledge_exception(call: Call, exception_id: str) -> views.ExceptionDetailView:
    b = call.body
    svc.acknowledge(call.actor, exception_id, note=b.note, expected_version=b.expected_version)
    return _detail(exception_id)


@endpoint(
    exceptions_api,
    "/staff/exceptions/{exception_id}/assign",
    "POST",
    summary="Assign an exception to a staff member (or unassign); the assignee is told",
    tag=TAG,
    roles=READ_STAFF,
    body="ExceptionAssignRequest",
    response="ExceptionDetailView",
)
def assign_exception(call: Call, exception_id: str) -> views.ExceptionDetailView:
    b = call.body
    svc.assign(call.actor, exception_id, b.assignee, note=b.note, expected_version=b.expected_version)
    return _detail(exception_id)


@endpoint(
    exceptions_api,
    "/staff/exceptions/{exception_id}/snooze",
    "POST",
    summary="Hide an exception until a time; it comes back by itself",
    tag=TAG,
    roles=READ_STAFF,
    body="ExceptionSnoozeRequest",
    response="ExceptionDetailView",
)
def snooze_exception(call: Call, exception_id: str) -> views.ExceptionDetailView:
    b = call.body
    svc.snooze(call.actor, exception_id, b.until, note=b.note, expected_version=b.expected_version)
    return _detail(exception_id)


@endpoint(
    exceptions_api,
    "/staff/exceptions/{exception_id}/resolve",
    "POST",
    summary="Resolve an exception with a note",
    tag=TAG,
    roles=READ_STAFF,
    body="ExceptionResolveRequest",
    response="ExceptionDetailView",
)
def resolve_exception(call: Call, exception_id: str) -> views.ExceptionDetailView:
    b = call.body
    svc.resolve_by_staff(call.actor, exception_id, note=b.note, expected_version=b.expected_version)
    return _detail(exception_id)
