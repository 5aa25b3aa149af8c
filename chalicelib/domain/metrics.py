"""Metrics as counters: what each transition adds, and the figures derived from the sums.

Counters are kept as things happen (the adapter ADDs these deltas in the transition's own
transaction), so no figure here ever needs the history. Two kinds:

- time in stage, per (scope, stage), where a scope is a campaign, a supplier or everything:
  `completed` stages, `seconds` spent in them, how many finished `late` (after the deadline
  set when the stage first opened), and by how much in total (`late_seconds`);
- a campaign summary: `orders` placed and their `revenue_cents`; `cancelled` orders (cancelled
  or refused at pre-approval) and their `cancelled_cents`; money that moved: `received_cents`
  from customers and `refunded_cents` back to them (refunds that succeeded only); `pos_created`,
  and `pos` acknowledged with their accepted `cost_cents`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from .orders import OrderStatus
from .purchase_orders import STAGES, Decision, Stage

STAGE_COUNTERS = ("completed", "seconds", "late", "late_seconds")
SUMMARY_COUNTERS = (
    "orders",
    "revenue_cents",
    "cancelled",
    "cancelled_cents",
    "refunded_cents",
    "pos",
    "cost_cents",
    "received_cents",
    "pos_created",
)


# ---------------------------------------------------------------- what a transition adds


def stage_completed(
    *, started_at: datetime | None, due_at: datetime | None, completed_at: datetime, decision: Decision
) -> dict[str, int] | None:
    """The counters a completed stage adds; None when it does not count (cancelled, or opened before
    stage times were kept). Late means finished after the deadline it was first given; a reopened
    (overdue) stage keeps that deadline, so it counts late however the reopening went."""
    if decision is Decision.CANCELLED or started_at is None:
        return None
    seconds = max(0, round((completed_at - started_at).total_seconds()))
    lateness = 0 if due_at is None else max(0, round((completed_at - due_at).total_seconds()))
    return {"completed": 1, "seconds": seconds, "late": 1 if lateness else 0, "late_seconds": lateness}


def order_placed(total_cents: int) -> dict[str, int]:
    return {"orders": 1, "revenue_cents": total_cents}


WITHDRAWN = frozenset({OrderStatus.CANCELLED.value, OrderStatus.REJECTED.value})


def order_changed(from_status: str, to_status: str, total_cents: int) -> dict[str, int] | None:
    """An order cancelled, or refused at pre-approval, leaves the campaign's orders and revenue."""
    if to_status in WITHDRAWN and from_status not in WITHDRAWN:
        return {"cancelled": 1, "cancelled_cents": total_cents}
    return None


def money_received(amount_cents: int) -> dict[str, int]:
    """Money that came in from a customer (paid at checkout, captured, received offline, cash on delivery)."""
    return {"received_cents": amount_cents}


def po_created() -> dict[str, int]:
    return {"pos_created": 1}


def refund_succeeded(amount_cents: int) -> dict[str, int]:
    """Money that went back to a customer (a refund the gateway executed): only then is it counted."""
    return {"refunded_cents": amount_cents}


def po_acknowledged(accepted_cents: int, decision: Decision) -> dict[str, int] | None:
    """What the campaign will pay the supplier, known once the supplier has accepted lines."""
    if decision is Decision.CANCELLED:
        return None
    return {"pos": 1, "cost_cents": accepted_cents}


# ---------------------------------------------------------------- derived figures


def add_up(rows: Iterable[Mapping[str, int]], names: Iterable[str]) -> dict[str, int]:
    """Sum counter rows (the shards of one counter) field by field; a missing field is 0."""
    wanted = tuple(names)
    total = dict.fromkeys(wanted, 0)
    for row in rows:
        for name in wanted:
            total[name] += int(row.get(name) or 0)
    return total


@dataclass(frozen=True)
class StageFigures:
    stage: Stage
    completed: int = 0
    seconds: int = 0
    late: int = 0
    late_seconds: int = 0

    @property
    def avg_seconds(self) -> float | None:
        return self.seconds / self.completed if self.completed else None

    @property
    def on_time_rate(self) -> float | None:
        """Completed by the deadline / completed."""
        return (self.completed - self.late) / self.completed if self.completed else None

    @property
    def late_share(self) -> float | None:
        return self.late / self.completed if self.completed else None

    @property
    def avg_lateness_seconds(self) -> float | None:
        """How late the late ones were, on average."""
        return self.late_seconds / self.late if self.late else None


def stage_figures(counters: Mapping[Stage, Mapping[str, int]]) -> list[StageFigures]:
    """One entry per stage, in workflow order (stages nothing has completed show zeros)."""
    return [StageFigures(stage, **add_up([counters.get(stage, {})], STAGE_COUNTERS)) for stage in STAGES]


def where_delays_happen(figures: Iterable[StageFigures]) -> list[StageFigures]:
    """Stages that finished late at least once, the most delay first: total lateness, then the share
    of completions that were late, then workflow order."""
    late = [f for f in figures if f.late]
    return sorted(late, key=lambda f: (-f.late_seconds, -(f.late_share or 0), STAGES.index(f.stage)))


@dataclass(frozen=True)
class CampaignSummary:
    orders_placed: int = 0
    orders_cancelled: int = 0
    revenue_placed_cents: int = 0
    cancelled_cents: int = 0
    refunded_cents: int = 0
    purchase_orders: int = 0
    cost_cents: int = 0
    received_cents: int = 0
    purchase_orders_created: int = 0

    @classmethod
    def of(cls, totals: Mapping[str, int]) -> CampaignSummary:
        t = add_up([totals], SUMMARY_COUNTERS)
        return cls(
            orders_placed=t["orders"],
            orders_cancelled=t["cancelled"],
            revenue_placed_cents=t["revenue_cents"],
            cancelled_cents=t["cancelled_cents"],
            refunded_cents=t["refunded_cents"],
            purchase_orders=t["pos"],
            cost_cents=t["cost_cents"],
            received_cents=t["received_cents"],
            purchase_orders_created=t["pos_created"],
        )

    @property
    def orders(self) -> int:
        """Orders that stand (placed, less cancelled or refused)."""
        return self.orders_placed - self.orders_cancelled

    @property
    def ordered_cents(self) -> int:
        """What the standing orders were placed for (not money: what was asked for)."""
        return self.revenue_placed_cents - self.cancelled_cents

    @property
    def revenue_cents(self) -> int:
        """Money that moved: received from customers (paid in advance, captured, received offline, cash on
        delivery), less what went back to them (refunds that succeeded)."""
        return self.received_cents - self.refunded_cents

    @property
    def margin_cents(self) -> int:
        return self.revenue_cents - self.cost_cents

    @property
    def margin_provisional(self) -> bool:
        """While a purchase order is not acknowledged its cost is unknown, and money may still move."""
        return self.purchase_orders < self.purchase_orders_created

    @property
    def margin_per_order_cents(self) -> int | None:
        return round(self.margin_cents / self.orders) if self.orders > 0 else None
