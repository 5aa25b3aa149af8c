"""The metrics read from the counters transitions keep, on the in-memory store: the same scripted
campaign as tests/api/test_metrics.py, its counters added as its transitions add them. The HTTP tests
keep the end-to-end path (the workflow's transitions writing the counters on moto), the one-Query
reads and who may read metrics."""

from __future__ import annotations

from chalicelib.domain.metrics import StageFigures
from chalicelib.domain.purchase_orders import POLine, PurchaseOrder, Stage, po_id
from chalicelib.services import metrics
from chalicelib.services.ports import CountCampaign, CountStage
from tests.services.conftest import NOW

HOUR = 3600


def po(supplier_id: str) -> PurchaseOrder:
    return PurchaseOrder(po_id("cmp-1", supplier_id), "cmp-1", supplier_id, "EUR", [POLine("MUG-1", "Mug", 1, 500)], NOW)


def scripted(store) -> None:
    """Orders: 2400 and 3400 standing, 2700 cancelled, all paid at checkout. acme acknowledges after
    30 min (deadline 1 h) and invoices in 10 min; bolt acknowledges after 90 min, 30 min late.
    Costs: acme 2900, bolt 900."""
    acme, bolt = po("acme"), po("bolt")
    for order_id, cents in (("ord-1", 2400), ("ord-2", 3400), ("ord-3", 2700)):
        paid = {"orders": 1, "revenue_cents": cents, "received_cents": cents}
        store.commit([CountCampaign("cmp-1", order_id, paid)], what=order_id, at=NOW)
    store.commit([CountCampaign("cmp-1", "ord-3", {"cancelled": 1, "cancelled_cents": 2700})], what="ord-3", at=NOW)
    store.commit(
        [
            CountStage(acme, Stage.ACKNOWLEDGE, {"completed": 1, "seconds": 1800, "late": 0, "late_seconds": 0}),
            CountCampaign("cmp-1", acme.id, {"pos": 1, "cost_cents": 2900}),
        ],
        what="acme",
        at=NOW,
    )
    store.commit([CountStage(acme, Stage.INVOICE, {"completed": 1, "seconds": 600})], what="acme", at=NOW)
    store.commit(
        [
            CountStage(bolt, Stage.ACKNOWLEDGE, {"completed": 1, "seconds": 5400, "late": 1, "late_seconds": 1800}),
            CountCampaign("cmp-1", bolt.id, {"pos": 1, "cost_cents": 900}),
        ],
        what="bolt",
        at=NOW,
    )


def by_stage(figures: list[StageFigures]) -> dict[Stage, StageFigures]:
    return {f.stage: f for f in figures}


def test_a_campaigns_summary_and_time_in_stage_match_the_hand_computed_figures(store):
    scripted(store)
    summary, report = metrics.campaign("cmp-1")
    assert (summary.orders, summary.orders_placed, summary.orders_cancelled) == (2, 3, 1)
    assert (summary.ordered_cents, summary.received_cents, summary.refunded_cents) == (2400 + 3400, 8500, 0)
    assert (summary.revenue_cents, summary.purchase_orders, summary.cost_cents) == (8500, 2, 3800)
    assert (summary.margin_cents, summary.margin_per_order_cents, summary.margin_provisional) == (4700, 2350, False)
    ack = by_stage(report.stages)[Stage.ACKNOWLEDGE]
    assert (ack.completed, ack.seconds, ack.avg_seconds, ack.on_time_rate) == (2, 1800 + 5400, 3600, 0.5)
    assert (ack.late, ack.late_seconds, ack.avg_lateness_seconds) == (1, 1800, 1800)
    invoice = by_stage(report.stages)[Stage.INVOICE]
    assert (invoice.completed, invoice.seconds, invoice.on_time_rate, invoice.late_share) == (1, 600, 1.0, 0.0)
    assert invoice.avg_lateness_seconds is None
    assert [d.stage for d in report.delays] == [Stage.ACKNOWLEDGE]


def test_suppliers_on_time_rates_are_their_own(store):
    scripted(store)
    acme, bolt = by_stage(metrics.supplier("acme").stages), by_stage(metrics.supplier("bolt").stages)
    assert (acme[Stage.ACKNOWLEDGE].on_time_rate, acme[Stage.ACKNOWLEDGE].avg_seconds) == (1.0, 1800)
    assert (acme[Stage.INVOICE].completed, bolt[Stage.INVOICE].completed) == (1, 0)
    assert bolt[Stage.INVOICE].on_time_rate is None
    assert (bolt[Stage.ACKNOWLEDGE].on_time_rate, bolt[Stage.ACKNOWLEDGE].avg_lateness_seconds) == (0.0, 1800)


def test_the_overall_view_lists_every_stage_in_order_and_ranks_where_delays_happen(store):
    scripted(store)
    overall = metrics.all_stages()
    assert [f.stage for f in overall.stages] == list(Stage)
    assert by_stage(overall.stages)[Stage.ACKNOWLEDGE].completed == 2
    assert by_stage(overall.stages)[Stage.SHIPMENT].completed == 0
    assert [d.stage for d in overall.delays] == [Stage.ACKNOWLEDGE]


def test_a_campaign_nothing_happened_to_reads_as_zeros(store):
    scripted(store)
    summary, report = metrics.campaign("cmp-unknown")
    assert (summary.orders, summary.revenue_cents, summary.margin_per_order_cents) == (0, 0, None)
    assert all(f.completed == 0 for f in report.stages) and report.delays == []
