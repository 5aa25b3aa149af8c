"""Trends over time: per-day and per-week counters, and the storage port's read of them
(`services.ports.Store` inherits `TrendReads`).

A series is a named set of counters per period: `orders` (per day: `placed`), `exceptions` (per day:
`opened`, `resolved`) and `stages` (per ISO week, keyed by its Monday: `completed`, `late`, the PO
stages finished and those finished past their deadline, so the on-time rate of a week is
(completed - late) / completed). Nobody commits a trend change by hand: a store derives them from the
changes of each commit (`services.trends.trend_deltas`), in the same transaction, so a trend moves exactly when its
event is written: an order created, an exception entering or leaving the queue (the queue's counters
moving by a net +1 or -1), a PO stage completed (`CountStage`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Literal, Protocol

Period = Literal["day", "week"]

# series -> (its period, its counters)
SERIES: dict[str, tuple[Period, tuple[str, ...]]] = {
    "orders": ("day", ("placed",)),
    "exceptions": ("day", ("opened", "resolved")),
    "stages": ("week", ("completed", "late")),
}


def period_of(series: str, at: datetime) -> str:
    """The period an event at `at` counts in (UTC): its day, or the Monday of its ISO week."""
    day = (at.astimezone(UTC) if at.tzinfo else at).date()
    if SERIES[series][0] == "week":
        day -= timedelta(days=day.weekday())
    return day.isoformat()


def periods(series: str, first: date, last: date) -> list[str]:
    """Every period of the series from `first` to `last` (both included), oldest first."""
    step = 7 if SERIES[series][0] == "week" else 1
    start = date.fromisoformat(period_of(series, datetime(first.year, first.month, first.day, tzinfo=UTC)))
    out, day = [], start
    while day <= last:
        out.append(day.isoformat())
        day += timedelta(days=step)
    return out


class TrendReads(Protocol):
    """The read of the trend counters."""

    def trend(self, series: str, first: str, last: str) -> dict[str, dict[str, int]]:
        """The series' counters per period from `first` to `last` (ISO dates, both included; a period
        is named by its first day), summed over their write shards; periods nothing happened in may be
        absent. On DynamoDB one Query of the series' partition over that range of sort keys."""
        ...
