"""Staff routes for exports: request one (it runs from the exports queue), list recent runs, one run with
its counts, audit trail and, once done, a presigned download link."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint

from ..domain.permissions import READ_STAFF
from ..lazy import lazy_module
from .http import Call, endpoint

if TYPE_CHECKING:
    from ..domain import exports as rules
    from ..services import exports as svc
    from .views import common
    from .views import staff as views
else:
    svc = lazy_module("chalicelib.services.exports")
    rules = lazy_module("chalicelib.domain.exports")
    common = lazy_module("chalicelib.api.views.common")
    views = lazy_module("chalicelib.api.views.staff")

exports_api = Blueprint(__name__)
TAG = "staff: exports"


@endpoint(
    exports_api,
    "/staff/exports",
    "POST",
    summary="Request an export (CSV or XLSX); it runs from a queue",
    tag=TAG,
    roles=READ_STAFF,
    body="ExportRequest",
    response="ExportRunView",
    status=202,
)
def request_export(call: Call) -> views.ExportRunView:
    b = call.body
    item = svc.request_export(
        call.actor,
        kind=rules.ExportKind(b.kind),
        fmt=rules.ExportFormat(b.format),
        exporter=b.exporter,
        state=b.state,
        created_from=b.created_from,
        created_to=b.created_to,
    )
    return views.ExportRunView.of(item)


@endpoint(
    exports_api,
    "/staff/exports",
    "GET",
    summary="Recent export runs, newest first",
    tag=TAG,
    roles=READ_STAFF,
    query="PageQuery",
    response="ExportRunPage",
)
def list_exports(call: Call) -> views.ExportRunPage:
    items, cursor = svc.list_runs(limit=call.query.limit, cursor=call.query.cursor)
    return views.ExportRunPage(items=[views.ExportRunView.of(i) for i in items], next_cursor=cursor)


@endpoint(
    exports_api,
    "/staff/exports/{export_id}",
    "GET",
    summary="An export run: status, counts, audit trail, download link when done",
    tag=TAG,
    roles=READ_STAFF,
    response="ExportRunDetailView",
)
def get_export(call: Call, export_id: str) -> views.ExportRunDetailView:
    run = svc.get_run(export_id)
    view = views.ExportRunView.of(run.item, run.download_url, run.download_expires_at)
    return views.ExportRunDetailView(**dict(view), events=[common.AuditEventView.of(e) for e in run.events])
