"""Metrics after a scripted campaign match hand-computed values; each metrics read is one BatchGetItem."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.adapters.dynamodb.metering import metered
from chalicelib.domain.permissions import SYSTEM
from chalicelib.domain.purchase_orders import Decision, Stage, po_id
from chalicelib.services import stages, supplier_workflow
from tests.adapters.events import typed
from tests.api import po_support
from tests.api.po_support import ACME, BOLT, make_po, po_item
from tests.api.support import place
from tests.aws import ALICE, BOB, BUYER, live_campaign

aws, sfn_calls = po_support.aws, po_support.sfn_calls  # fixtures

T0 = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)
HOUR = 3600


class Clock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.at = T0
        for module in (stages, supplier_workflow):
            monkeypatch.setattr(module, "now", lambda: self.at)

    def set(self, seconds: int) -> None:
        self.at = T0 + timedelta(seconds=seconds)


def open_stage(po_id: str, stage: Stage, token: str, deadline_s: int) -> None:
    """What the stage consumer does when the workflow opens (or reopens) a stage."""
    supplier_workflow.stage_opened(typed({"po_id": po_id, "stage": stage.value, "task_token": token, "deadline_s": deadline_s}))


@pytest.fixture
def scripted(api, sfn_calls, monkeypatch) -> str:
    """Prices: MUG-1 1200, MUG-2 2500, CAP-1 900. Costs (make_po): acme MUG-1 4 x 500, MUG-2 2 x 900;
    bolt CAP-1 3 x 300.

    orders: 2 x MUG-1 = 2400; MUG-2 + CAP-1 = 3400; 3 x CAP-1 = 2700, cancelled.
    acme acknowledges after 30 min (deadline 1 h), accepting MUG-1 4 and MUG-2 1: cost 2900;
    then its invoice stage takes 10 min (deadline 2 h).
    bolt misses its 1 h acknowledge deadline, is reopened, and accepts everything after 90 min:
    cost 900, late by 30 min."""
    campaign = live_campaign(api)
    cid = campaign["id"]
    place(api, cid, ("MUG-1", 2), who=ALICE)
    place(api, cid, ("MUG-2", 1), ("CAP-1", 1), who=BOB)
    gone = place(api, cid, ("CAP-1", 3), who=ALICE)
    status, body = api.post(f"/orders/{gone['id']}/cancel", ALICE, {})
    assert status == 200, body

    clock = Clock(monkeypatch)
    acme, bolt = make_po(cid, "acme", stage=None, token=None), make_po(cid, "bolt", stage=None, token=None)
    open_stage(acme, Stage.ACKNOWLEDGE, "acme-1", HOUR)
    open_stage(bolt, Stage.ACKNOWLEDGE, "bolt-1", HOUR)
    clock.set(HOUR // 2)
    status, body = api.post(
        f"/supplier/purchase-orders/{acme}/acknowledge",
        ACME,
        {"lines": [{"sku": "MUG-1", "accepted_quantity": 4}, {"sku": "MUG-2", "accepted_quantity": 1, "reason": "out_of_stock"}]},
    )
    assert status == 200, body
    clock.set(HOUR // 2 + 5 * 60)
    open_stage(acme, Stage.INVOICE, "acme-2", 2 * HOUR)
    clock.set(HOUR // 2 + 15 * 60)
    stages.complete_stage(SYSTEM, acme, Stage.INVOICE, lambda po: Decision.DONE)
    clock.set(HOUR + 60)
    open_stage(bolt, Stage.ACKNOWLEDGE, "bolt-2", HOUR)  # reopened after the missed deadline
    clock.set(HOUR + HOUR // 2)
    status, body = api.post(
        f"/supplier/purchase-orders/{bolt}/acknowledge", BOLT, {"lines": [{"sku": "CAP-1", "accepted_quantity": 3}]}
    )
    assert status == 200, body
    return cid


def by_stage(report: dict) -> dict[str, dict]:
    return {s["stage"]: s for s in report["stages"]}


def test_a_campaigns_summary_and_time_in_stage_match_the_hand_computed_figures(api, scripted):
    status, body = api.get(f"/staff/metrics/campaigns/{scripted}", BUYER)
    assert status == 200, body
    assert body["summary"] == {
        "orders": 2,
        "orders_placed": 3,
        "orders_cancelled": 1,
        # money that moved: all three were paid at checkout; the cancelled one's refund has not gone
        # through the gateway yet (no payments consumer ran), so it still counts as received
        "ordered_cents": 2400 + 3400,
        "received_cents": 2400 + 3400 + 2700,
        "refunded_cents": 0,
        "revenue_cents": 8500,
        "purchase_orders_created": 0,
        "purchase_orders": 2,
        "cost_cents": 2900 + 900,
        "margin_cents": 8500 - 3800,
        "margin_per_order_cents": 2350,
        "margin_provisional": False,
    }
    ack = by_stage(body)["acknowledge"]
    assert ack["completed"] == 2 and ack["total_seconds"] == 1800 + 5400
    assert ack["avg_seconds"] == 3600 and ack["on_time_rate"] == 0.5
    assert ack["late"] == 1 and ack["late_seconds"] == 1800 and ack["avg_lateness_seconds"] == 1800
    assert by_stage(body)["invoice"] == {
        "stage": "invoice",
        "completed": 1,
        "total_seconds": 600,
        "avg_seconds": 600,
        "on_time_rate": 1.0,
        "late": 0,
        "late_share": 0.0,
        "late_seconds": 0,
        "avg_lateness_seconds": None,
    }
    assert [d["stage"] for d in body["delays"]] == ["acknowledge"]


def test_suppliers_on_time_rates_are_their_own(api, scripted):
    acme = by_stage(api.get("/staff/metrics/suppliers/acme", BUYER)[1])
    bolt = by_stage(api.get("/staff/metrics/suppliers/bolt", BUYER)[1])
    assert (acme["acknowledge"]["on_time_rate"], acme["acknowledge"]["avg_seconds"]) == (1.0, 1800)
    assert (acme["invoice"]["completed"], bolt["invoice"]["completed"]) == (1, 0)
    assert bolt["invoice"]["on_time_rate"] is None
    assert (bolt["acknowledge"]["on_time_rate"], bolt["acknowledge"]["avg_lateness_seconds"]) == (0.0, 1800)


def test_the_overall_view_ranks_where_delays_happen_and_each_read_is_one_batch_read(api, scripted):
    with metered() as m:
        status, body = api.get("/staff/metrics/stages", BUYER)
    assert status == 200, body
    assert dict(m.requests) == {"BatchGetItem": 1}
    assert [s["stage"] for s in body["stages"]] == [s.value for s in Stage]
    assert by_stage(body)["acknowledge"]["completed"] == 2 and by_stage(body)["shipment"]["completed"] == 0
    assert [d["stage"] for d in body["delays"]] == ["acknowledge"]
    for path in (f"/staff/metrics/campaigns/{scripted}", "/staff/metrics/suppliers/bolt"):
        with metered() as m:
            assert api.get(path, BUYER)[0] == 200
        assert dict(m.requests) == {"BatchGetItem": 1}, path


def test_a_stage_completion_stays_one_read_and_one_transaction_with_its_counters(api, scripted, monkeypatch):
    acme = po_id(scripted, "acme")
    open_stage(acme, Stage.PAYMENT_PROPOSAL, "acme-3", HOUR)
    assert po_item(acme).stage_started_at is not None
    with metered() as m:
        stages.complete_stage(SYSTEM, acme, Stage.PAYMENT_PROPOSAL, lambda po: Decision.DONE)
    # One read: the PO with its parcels' counts of orders shipped, one Query of the items beside it (none yet).
    assert dict(m.requests) == {"Query": 1, "TransactWriteItems": 1} and m.items_read == 1
    assert po_item(acme).stage_started_at is None and po_item(acme).stage_due_at is None  # the next stage starts afresh
    assert by_stage(api.get("/staff/metrics/suppliers/acme", BUYER)[1])["payment_proposal"]["completed"] == 1


def test_metrics_are_for_staff_only(api, scripted):
    assert api.get("/staff/metrics/stages", ALICE)[0] == 403
    assert api.get("/staff/metrics/suppliers/acme", ACME)[0] == 403
