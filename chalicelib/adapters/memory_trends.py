"""The trend counters in memory (`services.ports_trends.TrendReads`): what the commits' changes added,
per series and period, as the DynamoDB store adds them (no shards: nothing contends here)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from ..services.ports_trends import SERIES
from ..services.trends import trend_deltas

if TYPE_CHECKING:
    from ..services.ports import Change


class TrendsMemory:
    _trends: dict[tuple[str, str], dict[str, int]]

    def _init_trends(self) -> None:
        self._trends = {}

    def _apply_trends(self, changes: Sequence[Change], at: datetime) -> None:
        for delta in trend_deltas(changes, at):
            row = self._trends.setdefault((delta.series, delta.period), dict.fromkeys(SERIES[delta.series][1], 0))
            for name, n in delta.counts.items():
                row[name] = row.get(name, 0) + n

    def trend(self, series: str, first: str, last: str) -> dict[str, dict[str, int]]:
        return {p: dict(row) for (s, p), row in sorted(self._trends.items()) if s == series and first <= p <= last}
