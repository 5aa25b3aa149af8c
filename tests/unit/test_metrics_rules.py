"""What each transition adds to the metrics counters, and the figures derived from their sums."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.domain import metrics
from chalicelib.domain.purchase_orders import Decision, PurchaseOrder, Stage, open_stage

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_stage_finished_before_its_deadline_counts_its_time_and_is_on_time():
    assert metrics.stage_completed(started_at=T0, due_at=at(3600), completed_at=at(600), decision=Decision.DONE) == {
        "completed": 1,
        "seconds": 600,
        "late": 0,
        "late_seconds": 0,
    }


def test_a_stage_finished_after_its_deadline_is_late_by_the_difference():
    assert metrics.stage_completed(started_at=T0, due_at=at(3600), completed_at=at(5000), decision=Decision.ACCEPTED) == {
        "completed": 1,
        "seconds": 5000,
        "late": 1,
        "late_seconds": 1400,
    }


def test_a_cancelled_stage_or_one_without_a_start_counts_nothing():
    assert metrics.stage_completed(started_at=T0, due_at=at(1), completed_at=at(9), decision=Decision.CANCELLED) is None
    assert metrics.stage_completed(started_at=None, due_at=None, completed_at=at(9), decision=Decision.DONE) is None


def test_a_reopened_stage_keeps_its_first_start_and_deadline_and_the_next_stage_starts_afresh():
    po = PurchaseOrder(id="po", campaign_id="c", supplier_id="s", currency="EUR", lines=[], created_at=T0)
    open_stage(po, Stage.ACKNOWLEDGE, at=T0, due_at=at(3600))
    open_stage(po, Stage.ACKNOWLEDGE, at=at(3700), due_at=at(7300))
    assert (po.stage_started_at, po.stage_due_at) == (T0, at(3600))
    open_stage(po, Stage.INVOICE, at=at(8000), due_at=at(9000))
    assert (po.stage, po.stage_started_at, po.stage_due_at) == (Stage.INVOICE, at(8000), at(9000))


def test_only_the_first_withdrawal_of_an_order_leaves_the_revenue():
    assert metrics.order_changed("placed", "cancelled", 700) == {"cancelled": 1, "cancelled_cents": 700}
    assert metrics.order_changed("on_hold", "rejected", 700) == {"cancelled": 1, "cancelled_cents": 700}
    assert metrics.order_changed("on_hold", "placed", 700) is None
    assert metrics.order_changed("rejected", "cancelled", 700) is None


def test_stage_figures_average_and_rate_from_sums_and_list_every_stage():
    figures = metrics.stage_figures({Stage.INVOICE: {"completed": 4, "seconds": 1000, "late": 1, "late_seconds": 90}})
    assert [f.stage for f in figures] == list(Stage)
    invoice = figures[1]
    assert (invoice.avg_seconds, invoice.on_time_rate, invoice.late_share, invoice.avg_lateness_seconds) == (250, 0.75, 0.25, 90)
    assert figures[0].avg_seconds is None and figures[0].on_time_rate is None


def test_delays_rank_by_total_lateness_then_share_late_then_workflow_order():
    figures = metrics.stage_figures(
        {
            Stage.ACKNOWLEDGE: {"completed": 10, "late": 1, "late_seconds": 100},
            Stage.INVOICE: {"completed": 2, "late": 1, "late_seconds": 100},
            Stage.SHIPMENT: {"completed": 5, "late": 5, "late_seconds": 5000},
            Stage.SETTLEMENT: {"completed": 5, "late": 0},
        }
    )
    assert [f.stage for f in metrics.where_delays_happen(figures)] == [Stage.SHIPMENT, Stage.INVOICE, Stage.ACKNOWLEDGE]


def test_campaign_revenue_is_money_that_moved_and_margin_per_order_counts_only_standing_orders():
    summary = metrics.CampaignSummary.of(
        metrics.add_up(
            [
                {"orders": 3, "revenue_cents": 9000, "cancelled": 1, "cancelled_cents": 2000, "received_cents": 6000},
                {"refunded_cents": 500, "pos": 2, "cost_cents": 3000, "pos_created": 2},
            ],
            metrics.SUMMARY_COUNTERS,
        )
    )
    assert summary.ordered_cents == 7000  # what the standing orders were placed for: not money
    assert (summary.orders, summary.revenue_cents, summary.margin_cents, summary.margin_per_order_cents) == (2, 5500, 2500, 1250)
    assert summary.margin_provisional is False


def test_a_campaign_margin_is_provisional_while_a_purchase_order_is_not_acknowledged():
    summary = metrics.CampaignSummary.of({"pos_created": 3, "pos": 2, "received_cents": 100})
    assert summary.margin_provisional is True
    assert metrics.CampaignSummary.of({}).margin_per_order_cents is None
