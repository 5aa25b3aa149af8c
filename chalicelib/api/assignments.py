"""Assigning orders, complaints and purchase orders to a person or a team, and "My work"
(services/assignments.py). Any staff role may assign, as with exceptions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint

from ..domain.errors import RuleViolation
from ..domain.permissions import READ_STAFF
from ..lazy import lazy_module
from .http import Call, endpoint

if TYPE_CHECKING:
    from ..domain import assignments as rules
    from ..domain import exceptions as exception_rules
    from ..services import assignments
    from .views import work as views
else:
    assignments = lazy_module("chalicelib.services.assignments")
    rules = lazy_module("chalicelib.domain.assignments")
    exception_rules = lazy_module("chalicelib.domain.exceptions")
    views = lazy_module("chalicelib.api.views.work")

assignments_api = Blueprint(__name__)
TAG = "assignments"
PATH = "/staff/assignments/{subject}/{subject_id}"


def _subject(subject: str) -> rules.Subject:
    try:
        return rules.Subject(subject)
    except ValueError:
        kinds = ", ".join(s.value for s in rules.Subject)
        raise RuleViolation(
            "unknown_subject", f"{subject} cannot be assigned", details=[{"field": "path.subject", "message": f"one of {kinds}"}]
        ) from None


@endpoint(
    assignments_api,
    PATH,
    "GET",
    summary="Who works on an order, complaint or PO",
    tag=TAG,
    roles=READ_STAFF,
    response="AssignmentView",
    extra_errors=(422,),
)
def get_assignment(call: Call, subject: str, subject_id: str) -> views.AssignmentView:
    return views.AssignmentView.of(subject, subject_id, assignments.get(call.actor, _subject(subject), subject_id))


@endpoint(
    assignments_api,
    PATH,
    "PUT",
    summary="Assign an order, complaint or PO to a person, a team or both",
    tag=TAG,
    roles=READ_STAFF,
    body="AssignRequest",
    response="AssignmentView",
    extra_errors=(404, 409),
)
def put_assignment(call: Call, subject: str, subject_id: str) -> views.AssignmentView:
    body: views.AssignRequest = call.body
    found = assignments.assign(
        call.actor,
        _subject(subject),
        subject_id,
        assignee=body.assignee,
        team=exception_rules.Owner(body.team) if body.team else None,
        priority=rules.Priority(body.priority),
        note=body.note,
        expected_version=body.expected_version,
    )
    return views.AssignmentView.of(subject, subject_id, found)


@endpoint(
    assignments_api,
    PATH,
    "DELETE",
    summary="Unassign an order, complaint or PO",
    tag=TAG,
    roles=READ_STAFF,
    query="UnassignQuery",
    response="AssignmentView",
    extra_errors=(404, 409),
)
def delete_assignment(call: Call, subject: str, subject_id: str) -> views.AssignmentView:
    assignments.unassign(call.actor, _subject(subject), subject_id, expected_version=call.query.expected_version)
    return views.AssignmentView.of(subject, subject_id, None)


@endpoint(
    assignments_api,
    "/staff/my-work",
    "GET",
    tag=TAG,
    roles=READ_STAFF,
    query="WorkQuery",
    response="WorkView",
    summary="Everything assigned to me (or to a team): orders, complaints, POs and exceptions, most urgent first",
)
def my_work(call: Call) -> views.WorkView:
    team = exception_rules.Owner(call.query.team) if call.query.team else None
    items = assignments.my_work(call.actor, team=team)
    return views.WorkView(items=[views.WorkItemView.of(w) for w in items], total=len(items))
