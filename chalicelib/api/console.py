"""What the admin page needs beyond the resource routes: who is signed in and what they may do
(`GET /me`, any role), and the dashboard's figures in one call (`GET /staff/dashboard`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint

from ..domain.permissions import PEOPLE, READ_STAFF, capabilities
from ..lazy import lazy_module
from .http import Call, endpoint

if TYPE_CHECKING:
    from ..services import dashboard as svc
    from .views import common
    from .views import staff as views
else:
    svc = lazy_module("chalicelib.services.dashboard")
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
