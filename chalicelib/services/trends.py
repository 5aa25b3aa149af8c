"""What a commit adds to the trend counters (services/ports_trends.py), derived from its changes: both
stores call `trend_deltas` on every commit, so they count the same events the same way."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ..domain.orders import Order
from .ports import Change, CountStage, Save
from .ports_exceptions import CountExceptions
from .ports_trends import SERIES, period_of


@dataclass(frozen=True)
class TrendDelta:
    """What one commit adds to a series' counters in a period; `subject_id` (when there is one) picks
    the write shard, so the counters of busy series spread over items."""

    series: str
    period: str
    counts: dict[str, int]
    subject_id: str | None = None


def trend_deltas(changes: Sequence[Change], at: datetime) -> list[TrendDelta]:
    """The trend counters a commit moves, derived from its changes (see the module docstring)."""
    out: list[TrendDelta] = []
    net_exceptions = 0
    for change in changes:
        if isinstance(change, Save) and change.expected_version is None and isinstance(change.obj, Order):
            out.append(TrendDelta("orders", period_of("orders", at), {"placed": 1}, change.obj.id))
        elif isinstance(change, CountExceptions):
            net_exceptions += sum(change.deltas.values())
        elif isinstance(change, CountStage):
            counts = {name: n for name in SERIES["stages"][1] if (n := int(change.deltas.get(name, 0)))}
            if counts:
                out.append(TrendDelta("stages", period_of("stages", at), counts, change.po.id))
    if net_exceptions:
        name = "opened" if net_exceptions > 0 else "resolved"
        out.append(TrendDelta("exceptions", period_of("exceptions", at), {name: abs(net_exceptions)}))
    return out
