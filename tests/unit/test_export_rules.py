"""The export rules: exporters and their chains, which rows a run takes, windows, cells."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain import exports as rules
from chalicelib.domain.errors import RuleViolation
from chalicelib.domain.exports import ExportKind, Take

PAID = rules.exporter("orders_paid")
DELIVERED = rules.exporter("orders_delivered")


def take(
    status: str,
    exporter: rules.Exporter | None = DELIVERED,
    *,
    claimed_by: str | None = None,
    previous_done: bool = True,
    state: str | None = None,
) -> Take:
    return rules.take(status, run_id="run-1", exporter_=exporter, state=state, claimed_by=claimed_by, previous_done=previous_done)


def test_every_chain_starts_with_an_exporter_of_the_same_kind_and_the_schedule_runs_it_first() -> None:
    order = [e.name for e in rules.schedule_order()]
    for e in rules.EXPORTERS:
        if e.after:
            assert rules.exporter(e.after).kind is e.kind
            assert order.index(e.after) < order.index(e.name)
    assert rules.chain("orders_delivered") == (PAID, DELIVERED)
    assert sorted(order) == sorted(e.name for e in rules.EXPORTERS)


def test_a_successor_only_takes_states_its_predecessor_takes() -> None:
    for e in rules.EXPORTERS:
        if e.after:
            assert e.states <= rules.exporter(e.after).states
            assert e.states <= rules.STATES[e.kind]


def test_a_record_claimed_by_this_run_is_written_again_after_a_resume() -> None:
    assert take("placed", claimed_by="run-1", previous_done=False) is Take.AGAIN


def test_a_record_another_run_of_the_exporter_took_is_not_exported_twice() -> None:
    assert take("delivered", claimed_by="run-0") is Take.DONE


def test_a_chained_exporter_waits_for_the_one_before_it() -> None:
    assert take("delivered", previous_done=False) is Take.WAITING
    assert take("delivered") is Take.EXPORT
    assert take("placed") is Take.STATE


def test_returned_orders_feed_the_returned_exporter_once_the_paid_one_took_them() -> None:
    returned = rules.exporter("orders_returned")
    assert rules.chain("orders_returned") == (PAID, returned)
    for status in ("partially_returned", "returned"):
        assert take(status, PAID) is Take.EXPORT  # still an order that stands (paid)
        assert take(status, returned, previous_done=False) is Take.WAITING
        assert take(status, returned) is Take.EXPORT
        assert take(status, DELIVERED) is Take.STATE  # not a delivered order any more
    assert take("completed", returned) is Take.STATE


def test_a_plain_export_takes_every_record_or_those_in_the_requested_state() -> None:
    assert take("cancelled", None) is Take.EXPORT
    assert take("cancelled", None, state="placed") is Take.STATE


def test_the_window_closes_when_the_run_starts() -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    assert rules.window_end(None, start) == start
    assert rules.window_end(start + timedelta(days=1), start) == start
    assert rules.window_end(start - timedelta(days=1), start) == start - timedelta(days=1)


@pytest.mark.parametrize(
    ("kind", "exporter", "state"),
    [
        (ExportKind.SHIPMENTS, "orders_paid", None),
        (ExportKind.ORDERS, "nope", None),
        (ExportKind.ORDERS, None, "settled"),
        (ExportKind.ORDERS, "orders_delivered", "placed"),
    ],
)
def test_a_request_that_cannot_be_met_says_why(kind: ExportKind, exporter: str | None, state: str | None) -> None:
    with pytest.raises(RuleViolation) as err:
        rules.check_request(kind, exporter, state, None, None)
    assert err.value.details


def test_cells_read_back_typed() -> None:
    at = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    cols = {c.name: c for c in rules.COLUMNS[ExportKind.ORDERS]}
    assert rules.typed(cols["created_at"], rules.cell(at)) == at.replace(tzinfo=None)
    assert rules.typed(cols["total_cents"], rules.cell(1500)) == 1500
    assert rules.cell(["a", "b"]) == "a b" and rules.cell(None) == "" and rules.typed(cols["status"], "") is None
