"""The campaign-close area's part of the storage port (`services.ports.Store` inherits `CloseReads`).

A close runs as a chain of bounded chunks (services/campaign_close.py): each chunk reads one page of
the campaign's orders, sends them to the suppliers, and records what it summed as a `CloseChunk`,
created once (a conditional create: a redelivered chunk finds it and adds nothing) in the same
transaction that moves the campaign's `CloseProgress` on under its version. The last step sums the
chunk records of the run into the POs.

`CloseProgress` is keyed by its campaign (`load(CloseProgress, campaign_id)`; one per campaign, the
latest run's) and read with the campaign (`CampaignWithProducts.close`); a `CloseChunk` by campaign,
run and number (`load(CloseChunk, campaign_id, run_id, str(number))`); a run's chunks, in order, are
`close_chunks`.

Settling an acknowledged PO over its orders runs the same way (services/refunds.py): a `SettleChunk`
per page of the PO's orders, created once, carries what is left to share out after it, so the next
chunk (and a redelivery of it) starts from exactly there: `load(SettleChunk, po_id, run_id, str(number))`.

The escalation sweep's chain (services/escalations.py) keeps one `SweepRun`, `load(SweepRun, SWEEP_RUN)`,
written only when a sweep needs more than one invocation: its cut-off time, the chunks done and the
per-shard cursor of the next, moved on under its version by each chunk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

# CloseProgress.state: chunks still to run; all ran and the POs are being made; the run stopped because
# held orders wait for a decision (`wait` policy: a later start begins a new run); the campaign closed.
RUNNING = "running"
WAITING = "waiting"
DONE = "done"


@dataclass
class CloseProgress:
    """Where a campaign's close stands (see the module docstring). `cursor` is where the next chunk
    starts reading (opaque, from the orders listing); None once the last page was read."""

    campaign_id: str
    run_id: str
    state: str
    orders_total: int  # the campaign's standing orders when the close started (its summary's count)
    started_at: datetime
    updated_at: datetime
    orders_done: int = 0  # orders the finished chunks read
    chunks_done: int = 0
    cursor: str | None = None
    actor_sub: str = "system"  # who started it: the chunks' audit events name them
    actor_roles: list[str] = field(default_factory=list)


@dataclass
class CloseChunk:
    """What one chunk of a close did: the orders it read, those that went on a PO, its sums per
    (supplier, SKU) and orders per supplier, the held orders it met (`wait`), where the next starts."""

    campaign_id: str
    run_id: str
    number: int
    orders_read: int
    ordered: int
    quantities: dict[str, dict[str, int]]
    order_counts: dict[str, int]
    held: list[str]
    next_cursor: str | None
    at: datetime


@dataclass
class SettleChunk:
    """What one chunk of a PO's settlement did: the accepted quantity per SKU still to share out after
    it, how many orders keep something so far (the run's total: the last chunk's is the PO's orders to
    ship), its own counts, and where the next chunk starts."""

    po_id: str
    run_id: str
    number: int
    remaining: dict[str, int]
    accepted_total: int
    orders_read: int
    settled: int
    replayed: int
    refunds: int
    lost: int
    next_cursor: str | None
    at: datetime


SWEEP_RUN = "escalation"  # the key of the one SweepRun


@dataclass
class SweepRun:
    """The escalation sweep's chain under way (or the last one): entries due by `at` are handled in
    chunks; `cursor` (opaque: a position per shard still to read) is where chunk `chunks_done` starts;
    `state` RUNNING until the last chunk, then DONE."""

    run_id: str
    at: datetime
    state: str
    started_at: datetime
    updated_at: datetime
    chunks_done: int = 0
    read: int = 0  # entries the recorded chunks read
    cursor: str | None = None

    @property
    def id(self) -> str:
        return SWEEP_RUN


class CloseReads(Protocol):
    def close_chunks(self, campaign_id: str, run_id: str) -> list[CloseChunk]:
        """Every chunk record of the run, by number: one Query a page of the run's chunk records (a
        chunk record is small: a few hundred of them per 1 MB page)."""
        ...
