"""Trend counters in the single table (services/ports_trends.py): `TREND#<series>` / `<period>#<n>`,
ADDed in the transaction of the event they count, read back with one Query of the series' partition."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from ...services.ports_trends import SERIES
from ...services.trends import trend_deltas
from . import keys
from . import repository as repo
from .models import Item, TrendItem

if TYPE_CHECKING:
    from pynamodb.expressions.update import Action

    from ...services.ports import Change


def trend_writes(changes: Sequence[Change], at: datetime) -> list[repo.Update]:
    """The Updates a commit's trend counters send: one per (series, period, shard) moved (a transaction
    may touch an item once: deltas that meet in one shard are summed)."""
    merged: dict[tuple[str, str], tuple[str, str, dict[str, int]]] = {}
    for delta in trend_deltas(changes, at):
        key = keys.trend(delta.series, delta.period, delta.subject_id)
        _, _, counts = merged.setdefault(key, (delta.series, delta.period, {}))
        for name, n in delta.counts.items():
            counts[name] = counts.get(name, 0) + n
    writes: list[repo.Update] = []
    for key, (series, period, counts) in merged.items():
        actions: list[Action] = [TrendItem.kind.set(TrendItem), TrendItem.series.set(series), TrendItem.period.set(period)]
        actions += [getattr(TrendItem, name).add(n) for name, n in counts.items()]
        writes.append(repo.Update(TrendItem(*key), actions))
    return writes


class TrendsDynamo:
    """`services.ports_trends.TrendReads` on the single table."""

    def trend(self, series: str, first: str, last: str) -> dict[str, dict[str, int]]:
        low, high = keys.trend_range(first, last)
        found: dict[str, dict[str, int]] = {}
        for item in repo.query_all(keys.trend_pk(series), range_key_condition=Item.SK.between(low, high)):
            if not isinstance(item, TrendItem) or item.period is None:
                continue
            row = found.setdefault(item.period, dict.fromkeys(SERIES[series][1], 0))
            for name in SERIES[series][1]:
                row[name] += int(getattr(item, name) or 0)
        return found
