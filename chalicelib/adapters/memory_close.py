"""The campaign-close area in memory (`services.ports_close`): a close's progress keyed by its
campaign, its chunks by campaign, run and number; a settlement's chunks by PO, run and number; the sweep's one chain record."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from ..services.ports_close import SWEEP_RUN, CloseChunk, CloseProgress, SettleChunk, SweepRun

CLOSE_KEYS: dict[type, Callable[[Any], tuple[str, ...]]] = {
    CloseProgress: lambda p: (p.campaign_id,),
    CloseChunk: lambda c: (c.campaign_id, c.run_id, str(c.number)),
    SettleChunk: lambda c: (c.po_id, c.run_id, str(c.number)),
    SweepRun: lambda _: (SWEEP_RUN,),
}


class CloseMemory:
    _aggregates: dict[tuple[type, tuple[str, ...]], tuple[Any, int]]

    def close_chunks(self, campaign_id: str, run_id: str) -> list[CloseChunk]:
        chunks = [
            copy.deepcopy(v)
            for (kind, key), (v, _) in self._aggregates.items()
            if kind is CloseChunk and key[:2] == (campaign_id, run_id)
        ]
        return sorted(chunks, key=lambda c: c.number)
