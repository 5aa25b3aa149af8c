"""What the admin page needs beyond the resource routes: who is signed in and what they may do
(`GET /me`, any role), the dashboard's figures in one call (`GET /staff/dashboard`), each role's home
(`GET /staff/home`), the menu's counts for polling (`GET /staff/counts`, with an ETag: an unchanged
poll is a 304 with no body) and the trends (`GET /staff/trends`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint, Response

from ..domain.permissions import PEOPLE, READ_STAFF, capabilities
from ..lazy import lazy_module
from .http import Call, endpoint

if TYPE_CHECKING:
    from ..services import dashboard as svc
    from ..services import home as home_svc
    from .views import common
    from .views import staff as views
else:
    svc = lazy_module("chalicelib.services.dashboard")
    home_svc = lazy_module("chalicelib.services.home")
    common = lazy_module("chalicelib.api.views.common")
    views = lazy_module("chalicelib.api.views.staff")

console_api = Blueprint(__name__)
ANYONE = PEOPLE  # every role a person holds (a storefront is a machine)


@endpoint(
    console_api,
    "/me",
    "GET",
    summary="Who I am, by my token, and what my roles may do",
    tag="console",
    roles=ANYONE,
    response="MeView",
)
def me(call: Call) -> common.MeView:
    a = call.actor
    return common.MeView(
        sub=a.sub,
        email=a.email,
        name=a.name,
        roles=sorted(r.value for r in a.roles),
        supplier_id=a.supplier_id,
        capabilities=capabilities(a),
        vocabularies=_vocabularies() if a.has_any(READ_STAFF) else {},
    )


def _vocabularies() -> dict[str, list[str]]:
    from ..domain.complaints import ComplaintStatus
    from ..domain.shipments import ShipmentStatus
    from ..domain.webhooks import OFFERED_EVENT_TYPES

    return {
        "webhook_event_types": list(OFFERED_EVENT_TYPES),
        "complaint_statuses": [s.value for s in ComplaintStatus],
        "shipment_statuses": [s.value for s in ShipmentStatus],
    }


@endpoint(
    console_api,
    "/staff/dashboard",
    "GET",
    summary="Orders per status, open exceptions by kind and severity, suppliers' on-time rate",
    tag="console",
    roles=READ_STAFF,
    response="DashboardView",
)
def dashboard(call: Call) -> views.DashboardView:
    d = svc.dashboard(call.actor)
    q = d.open_exceptions
    return views.DashboardView(
        orders_by_status=d.orders_by_status,
        open_exceptions=views.ExceptionCounts(total=q.total, by_kind=q.by_kind, by_severity=q.by_severity),
        suppliers=[views.SupplierOnTimeView.pick(x) for x in d.suppliers],
    )


def _counts_view(c: home_svc.Counts) -> views.StaffCountsView:
    return views.StaffCountsView(menu=c.menu, sections=c.sections, etag=c.tag)


@endpoint(
    console_api,
    "/staff/home",
    "GET",
    summary="My home: my roles' work, each section ranked as the queues are, with counts from counters "
    "(a bounded number of reads)",
    tag="console",
    roles=READ_STAFF,
    response="HomeView",
)
def home(call: Call) -> views.HomeView:
    h = home_svc.home(call.actor)
    return views.HomeView(
        roles=h.roles,
        sections=[
            views.HomeSectionView(
                key=s.key,
                title=s.title,
                count=s.count,
                items=[views.HomeItemView.pick(i) for i in s.items],
                kinds=list(s.kinds),
                more=s.more,
            )
            for s in h.sections
        ],
        counts=_counts_view(h.counts),
    )


@endpoint(
    console_api,
    "/staff/counts",
    "GET",
    summary="The menu's counts from counters (one read), with an ETag: If-None-Match with the same tag answers 304 with no body",
    tag="console",
    roles=READ_STAFF,
    response="StaffCountsView",
)
def staff_counts(call: Call) -> views.StaffCountsView | Response:
    c = home_svc.counts(call.actor)
    etag = f'"{c.tag}"'
    headers: dict[str, str | list[str]] = {"ETag": etag, "Cache-Control": "no-cache"}
    sent = {k.lower(): v for k, v in call.headers.items()}.get("if-none-match", "")
    if etag in [t.strip().removeprefix("W/") for t in sent.split(",")]:
        return Response(body="", status_code=304, headers=headers)
    return Response(
        body=_counts_view(c).model_dump(mode="json"), status_code=200, headers={"Content-Type": "application/json", **headers}
    )


@endpoint(
    console_api,
    "/staff/trends",
    "GET",
    summary="Orders per day, exceptions opened and resolved per day (30 days), PO stages completed and late per "
    "week (12 weeks): one Query per series",
    tag="console",
    roles=READ_STAFF,
    response="TrendsView",
)
def trends(call: Call) -> views.TrendsView:
    found = home_svc.trends(call.actor)
    return views.TrendsView(
        series=[
            views.TrendSeriesView(
                name=s.name,  # type: ignore[arg-type]
                period=s.period,  # type: ignore[arg-type]
                points=[views.TrendPointView(period=p, counts=c) for p, c in s.points],
            )
            for s in found
        ]
    )
