"""Metrics for the admin dashboard, read from the counters transitions keep (domain/metrics.py):
time in stage and on-time rate overall, per campaign and per supplier, where delays happen, and
a campaign's summary. Each read is one Query on a stats partition; nothing reads history."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.metrics import CampaignSummary, StageFigures, stage_figures, where_delays_happen
from . import uow
from .ports import ALL, CounterScope, StageCounters


@dataclass
class StageReport:
    stages: list[StageFigures]
    delays: list[StageFigures]


def _report(scope: CounterScope) -> tuple[StageReport, StageCounters]:
    counters = uow.store().counters(scope)
    figures = stage_figures(counters.stages)
    return StageReport(figures, where_delays_happen(figures)), counters


def all_stages() -> StageReport:
    return _report(ALL)[0]


def supplier(supplier_id: str) -> StageReport:
    return _report(CounterScope("supplier", supplier_id))[0]


def campaign(campaign_id: str) -> tuple[CampaignSummary, StageReport]:
    """A campaign nothing has happened to yet (or an unknown id) reads as zeros."""
    report, counters = _report(CounterScope("campaign", campaign_id))
    return CampaignSummary.of(counters.summary), report
