"""Staff routes for the metrics dashboard: time in stage and on-time rate overall, per campaign (with
its orders, revenue, cost and margin) and per supplier, and where delays happen. Each is one Query."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint

from ..domain.permissions import READ_STAFF
from ..lazy import lazy_module
from .http import Call, endpoint

if TYPE_CHECKING:
    from ..services import metrics as svc
    from .views import staff as views
else:
    svc = lazy_module("chalicelib.services.metrics")
    views = lazy_module("chalicelib.api.views.staff")

metrics_api = Blueprint(__name__)
TAG = "staff: metrics"


@endpoint(
    metrics_api,
    "/staff/metrics/stages",
    "GET",
    summary="Time in stage and on-time rate over all purchase orders, and where delays happen",
    tag=TAG,
    roles=READ_STAFF,
    response="StageMetricsReport",
)
def stage_metrics(call: Call) -> views.StageMetricsReport:
    return views.StageMetricsReport.of(svc.all_stages())


@endpoint(
    metrics_api,
    "/staff/metrics/campaigns/{campaign_id}",
    "GET",
    summary="A campaign's orders, revenue, cost and margin, and its time in stage",
    tag=TAG,
    roles=READ_STAFF,
    response="CampaignMetricsView",
)
def campaign_metrics(call: Call, campaign_id: str) -> views.CampaignMetricsView:
    summary, report = svc.campaign(campaign_id)
    base = views.StageMetricsReport.of(report)
    return views.CampaignMetricsView(
        campaign_id=campaign_id, summary=views.CampaignSummaryView.of(summary), stages=base.stages, delays=base.delays
    )


@endpoint(
    metrics_api,
    "/staff/metrics/suppliers/{supplier_id}",
    "GET",
    summary="A supplier's time in stage and on-time rate per stage",
    tag=TAG,
    roles=READ_STAFF,
    response="SupplierMetricsView",
)
def supplier_metrics(call: Call, supplier_id: str) -> views.SupplierMetricsView:
    base = views.StageMetricsReport.of(svc.supplier(supplier_id))
    return views.SupplierMetricsView(supplier_id=supplier_id, stages=base.stages, delays=base.delays)
