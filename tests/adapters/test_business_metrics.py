"""Business figures beside the technical ones: an order placed, a PO stage gone late and a refund
that failed each emit their Powertools metric (EMF on stdout, as CloudWatch reads it), once."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from chalicelib.adapters.dynamodb import repository as repo
from chalicelib.domain.orders import PaymentMode
from chalicelib.domain.purchase_orders import po_id
from chalicelib.events import StageOverdue
from chalicelib.handlers import batch, payments, po_stages, purchase_orders
from chalicelib.observability import ORDERS_PLACED, PO_STAGES_LATE, REFUNDS_FAILED, REFUNDS_SUCCEEDED, metrics
from chalicelib.topology import PO_STAGES
from tests.adapters import shop
from tests.adapters.events import seen_so_far
from tests.adapters.shop import ALICE
from tests.adapters.test_customer_refunds import OOS, closed_order, refund_due_events, refund_records
from tests.adapters.test_refunds import acknowledged

Emitted = Callable[[], dict[str, list[float]]]


@pytest.fixture
def emitted(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Emitted]:
    """Flush what was added since the test began and read it back from the EMF line printed."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    metrics.clear_metrics()

    def flush() -> dict[str, list[float]]:
        capsys.readouterr()
        metrics.flush_metrics()
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
        values: dict[str, list[float]] = {}
        for emf in lines:
            for m in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                value = emf[m["Name"]]
                values.setdefault(m["Name"], []).extend(value if isinstance(value, list) else [value])
        return values

    yield flush
    metrics.clear_metrics()


def test_placing_an_order_counts_one_order_placed_and_a_replay_counts_none(aws, campaign_id, emitted):
    shop.place(ALICE, campaign_id, ("MUG-1", 1), key="k-1")
    shop.place(ALICE, campaign_id, ("MUG-1", 1), key="k-1")  # the same request again: the stored order
    assert emitted()[ORDERS_PLACED] == [1.0]


def test_a_po_stage_past_its_deadline_counts_one_po_stage_late(aws, campaign_id, emitted):
    closed_order(campaign_id, PaymentMode.PREPAID)
    emitted()
    overdue = StageOverdue(po_id=po_id(campaign_id, "acme"), stage="acknowledge", execution_arn="arn:x", overdue_at="t1")
    assert batch.once("po_stages", PO_STAGES, overdue, po_stages.handle) in ("remind", "escalate")
    assert batch.once("po_stages", PO_STAGES, overdue, po_stages.handle) is batch.SKIPPED  # redelivered: counted once
    assert emitted() == {PO_STAGES_LATE: [1.0]}


def test_a_declined_refund_counts_one_refund_failed(aws, campaign_id, gateway_up, emitted):
    order_id = closed_order(campaign_id, PaymentMode.PREPAID)
    seen = seen_so_far(aws)
    purchase_orders.handle(acknowledged(campaign_id, "acme", ("MUG-1", 0, OOS)))
    [due] = refund_due_events(aws, seen)
    record = refund_records(order_id)[0]
    record.reason = "decline this one"  # the sandbox declines references containing "decline"
    repo.commit([repo.Write(record)], what="test")
    emitted()
    assert payments.handle(due) == "failed"
    assert payments.handle(due) == "skipped"
    found = emitted()
    assert found[REFUNDS_FAILED] == [1.0] and REFUNDS_SUCCEEDED not in found
