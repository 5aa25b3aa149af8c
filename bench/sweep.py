"""The escalation sweep: items read per item due, with 10,000 and 100,000 orders' deadlines not due.

For each size a fresh moto account (in-process) is seeded with what the real write paths build:
- N `shipment_late` deadlines not due (one per order's parcel, due in 30 days), the items
  `deadline_write` builds (the write a `deadlines.deadline_change` commits), saved with PynamoDB `batch_write` (seeding speed: the
  shipments service puts each in its parcel's own transaction);
- a few hundred open exceptions not due (`exceptions.raise_or_bump`: first escalation in 24 h);
- what is due: 50 deadlines passed an hour ago (`deadline_write` committed with `repository.commit`),
  and exceptions raised earlier through `raise_or_bump` with the services' clock set back
  (`chalicelib.services.exceptions.now` patched): pending ones past their grace period, open ones
  past their first escalation threshold, snoozed ones whose snooze has ended.
Then `escalations.sweep()` runs at the real time, metered: every DynamoDB request and item read,
against the entries due. A second sweep right after must read nothing: handled entries leave the
due range (deleted, or moved to their next due time).

Then the chain (issue 20 item 1): `CHAIN_DUE` deadlines all due at once, more than one chunk
(`WAYBILL_SWEEP_CHUNK`) holds: the schedule's tick handles one chunk and queues the rest on the sweep
queue, which the local stack's poller runs through the app's `sweep_consumer` until it is empty: entries
per invocation, the longest invocation, continuations, and that every entry was handled once."""

from __future__ import annotations

import io
import os
import time
import warnings
from collections import Counter
from contextlib import ExitStack, redirect_stdout
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

from .chains import CHUNK_TARGET_MS, drain
from .dynamo import _fmt_requests, _principal
from .po_generation import large_table_account
from .report import FAIL, PASS, Section

# Orders (parcels with a deadline not due); WAYBILL_BENCH_SWEEP_SIZES=1000,10000 overrides.
SIZES = tuple(int(n) for n in os.environ.get("WAYBILL_BENCH_SWEEP_SIZES", "10000,100000").split(",") if n.strip())
NOT_DUE_EXCEPTIONS = 300  # open, first escalation in 24 h
DUE_DEADLINES = 50  # passed an hour ago: the sweep raises shipment_late (pending: 12 h grace)
DUE_GRACE_OVER = 10  # delivery_exception raised 3 h ago: its 2 h grace is over -> open
DUE_ESCALATIONS = 10  # tracking_stale raised 2 days ago: past its 24 h level-1 threshold -> escalate
DUE_WAKES = 5  # snoozed 2 h ago for an hour -> wake
RATIO_TARGET = 1.1
# The chain: entries due at once and the chunk (WAYBILL_BENCH_SWEEP_CHAIN=due,chunk overrides).
CHAIN_DUE, CHAIN_CHUNK = (int(v) for v in os.environ.get("WAYBILL_BENCH_SWEEP_CHAIN", "2000,200").split(","))
NOT_DUE_IN = timedelta(days=30)


@dataclass
class Run:
    orders: int
    table_items: int
    not_due_in_index: int
    due_in_index: int
    due: int  # entries the sweep's range holds (what the seed made due)
    index_read: int  # items the due-index Queries read (measured apart, same range)
    items_read: int  # everything the sweep read
    requests: dict[str, int]
    actions: dict[str, int]
    seconds: float
    second_read: int
    second_requests: dict[str, int]
    seed_seconds: float
    batch_seconds: float

    @property
    def ratio(self) -> float:
        return self.items_read / max(self.due, 1)


def parcel(i: int) -> str:
    return f"dhl#JD{i:010d}"


def deadline_write(subject_type: str, subject_id: str, kind: str, due_at: datetime, details: dict[str, Any]) -> Any:
    """The one DynamoDB write a service's `deadlines.deadline_change` puts in its subject's transaction."""
    from chalicelib.adapters.dynamodb.store_deadlines import deadline_writes
    from chalicelib.services.deadlines import deadline_change

    (write,) = deadline_writes(deadline_change(subject_type, subject_id, kind, due_at, details))
    return write


def _seed(n: int) -> tuple[int, float]:
    """Everything described above; returns (entries made due, seconds spent on the batch writes)."""
    from chalicelib.adapters.dynamodb import repository as repo
    from chalicelib.adapters.dynamodb.models import Item
    from chalicelib.services import exceptions
    from chalicelib.services.clock import now

    at = now()
    t0 = time.perf_counter()
    with Item.batch_write() as batch:
        for i in range(n):
            write = deadline_write(
                "shipment", parcel(i), "shipment_late", at + NOT_DUE_IN, {"po_id": f"po_{i // 40}", "supplier_id": "acme"}
            )
            batch.save(write.item)
    batch_seconds = time.perf_counter() - t0

    for i in range(NOT_DUE_EXCEPTIONS):
        exceptions.raise_or_bump("tracking_stale", "shipment", parcel(i), {"po_id": f"po_{i // 40}"})
    for i in range(n, n + DUE_DEADLINES):
        repo.commit(
            [
                deadline_write(
                    "shipment",
                    parcel(i),
                    "shipment_late",
                    at - timedelta(hours=1),
                    {"po_id": f"po_{i // 40}", "supplier_id": "acme"},
                )
            ],
            what=f"deadline of {parcel(i)}",
        )

    def raised_at(when: datetime) -> Any:
        return mock.patch("chalicelib.services.exceptions.now", lambda: when)

    base = n + DUE_DEADLINES
    with raised_at(at - timedelta(hours=3)):
        for i in range(base, base + DUE_GRACE_OVER):
            r = exceptions.raise_or_bump("delivery_exception", "shipment", parcel(i), {"code": "address"})
            assert r.status.value == "pending", r.status
    base += DUE_GRACE_OVER
    with raised_at(at - timedelta(days=2)):
        for i in range(base, base + DUE_ESCALATIONS):
            exceptions.raise_or_bump("tracking_stale", "shipment", parcel(i), {"po_id": "po_late"})
    base += DUE_ESCALATIONS
    care = _principal("care-1", "customer_care")
    with raised_at(at - timedelta(hours=2)):
        for i in range(base, base + DUE_WAKES):
            r = exceptions.raise_or_bump("tracking_stale", "shipment", parcel(i), {"po_id": "po_snoozed"})
            exceptions.snooze(care, r.id, at - timedelta(hours=1))
    return DUE_DEADLINES + DUE_GRACE_OVER + DUE_ESCALATIONS + DUE_WAKES, batch_seconds


def _census(at: datetime) -> tuple[int, int, int]:
    """(table items, due-index entries not due at `at`, entries due) counted in moto's own store,
    outside the meter: what the index actually holds."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from chalicelib.adapters.dynamodb import keys
    from chalicelib.config import settings

    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][settings().region].get_table(settings().table_name)
    bound = keys.due_until_sk(at)
    total = not_due = due = 0
    for by_range in table.items.values():
        for item in by_range.values():
            total += 1
            pk, sk = item.attrs.get("GSI4PK"), item.attrs.get("GSI4SK")
            if pk is None or sk is None or not str(pk.value).startswith(keys.DUE_PREFIX):
                continue
            if str(sk.value) <= bound:
                due += 1
            else:
                not_due += 1
    return total, not_due, due


def measure(n: int) -> Run:
    from chalicelib.adapters.aws import reset_clients
    from chalicelib.adapters.dynamodb.metering import metered
    from chalicelib.config import settings
    from chalicelib.services import escalations
    from chalicelib.services.clock import now

    with ExitStack() as stack:
        stack.enter_context(large_table_account())
        t0 = time.perf_counter()
        due, batch_seconds = _seed(n)
        seeded = time.perf_counter() - t0

        at = now()
        table_items, not_due_in_index, due_in_index = _census(at)
        with metered() as index_only:  # the sweep's own Queries, apart: what reading the due range costs
            entries = escalations.due_entries(at, settings().due_index_shards)
        assert len(entries) == due == due_in_index, (len(entries), due, due_in_index)

        t0 = time.perf_counter()
        with metered() as m:
            result = escalations.sweep(at)
        seconds = time.perf_counter() - t0
        assert result.read == due, (result.read, due)
        assert result.actions == {
            "deadline_passed": DUE_DEADLINES,
            "open": DUE_GRACE_OVER,
            "escalate": DUE_ESCALATIONS,
            "wake": DUE_WAKES,
        }, result.actions

        with metered() as again:
            escalations.sweep(now())
        reset_clients()
    return Run(
        orders=n,
        table_items=table_items,
        not_due_in_index=not_due_in_index,
        due_in_index=due_in_index,
        due=due,
        index_read=index_only.items_read,
        items_read=m.items_read,
        requests=dict(m.requests),
        actions=dict(result.actions),
        seconds=seconds,
        second_read=again.items_read,
        second_requests=dict(again.requests),
        seed_seconds=seeded,
        batch_seconds=batch_seconds,
    )


@dataclass
class Chain:
    due: int
    chunk: int
    per_invocation: list[int]  # entries each invocation read: the tick's first
    times_ms: list[float]  # each invocation's wall time: the tick's first
    handled: int  # deadlines raised and retired (each once)
    raised_once: bool

    @property
    def continuations(self) -> int:
        return len(self.per_invocation) - 1


def measure_chain(due: int = CHAIN_DUE, chunk: int = CHAIN_CHUNK) -> Chain:
    """`due` deadlines due at once, swept in chunks of `chunk` by the tick and its queued chain."""
    from dataclasses import replace

    import app
    from chalicelib.adapters.aws import reset_clients
    from chalicelib.config import settings
    from chalicelib.services import escalations
    from chalicelib.services.clock import now
    from chalicelib.topology import SWEEP

    chunked = replace(settings(), sweep_chunk=chunk)
    per_invocation: list[int] = []
    real_chunk = escalations._chunk

    def counted(at: datetime, positions: dict[int, str | None]) -> Any:
        result, left = real_chunk(at, positions)
        per_invocation.append(result.read)
        return result, left

    with ExitStack() as stack:
        stack.enter_context(large_table_account())
        stack.enter_context(mock.patch.object(escalations, "settings", lambda: chunked))
        stack.enter_context(mock.patch.object(escalations, "_chunk", counted))
        from chalicelib.adapters.dynamodb.models import Item

        at = now()
        with Item.batch_write() as batch:
            for i in range(due):
                batch.save(
                    deadline_write("shipment", parcel(i), "shipment_late", at - timedelta(hours=1), {"po_id": "po_x"}).item
                )
        t0 = time.perf_counter()
        escalations.sweep(now())
        times = [(time.perf_counter() - t0) * 1000, *drain(SWEEP, app.sweep_consumer)]
        from chalicelib.services import exceptions

        records = [exceptions.get(exceptions.exception_id("shipment_late", "shipment", parcel(i))) for i in range(due)]
        handled = sum(1 for r in records if r is not None)
        once = all(r is not None and r.count == 1 for r in records)
        reset_clients()
    return Chain(due, chunk, per_invocation, times, handled, once)


def run(sizes: tuple[int, ...] | None = None) -> Section:
    sizes = sizes or SIZES
    section = Section(
        "7. Escalation sweep: items read per item due (moto in-process)",
        [
            "orders",
            "table items",
            "due index: not due / due",
            "sweep requests",
            "items read (index + records)",
            "read/due",
            "2nd sweep read",
            "sweep s",
        ],
    )
    runs: list[Run] = []
    with ExitStack() as stack:
        stack.enter_context(redirect_stdout(io.StringIO()))  # the sweep's log lines
        stack.enter_context(warnings.catch_warnings())
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        for n in sizes:
            runs.append(measure(n))
        chain = measure_chain()
    for r in runs:
        section.add(
            f"{r.orders:,}",
            f"{r.table_items:,}",
            f"{r.not_due_in_index:,} / {r.due_in_index}",
            _fmt_requests(Counter(r.requests)),
            f"{r.items_read} ({r.index_read} + {r.items_read - r.index_read})",
            f"{r.ratio:.2f}",
            f"{r.second_read} ({_fmt_requests(Counter(r.second_requests))})",
            f"{r.seconds:.2f}",
            verdict=PASS if r.ratio <= RATIO_TARGET else FAIL,
            summary=(
                f"escalation sweep, {r.orders:,} orders: items read / items due",
                f"<= {RATIO_TARGET}",
                f"{r.ratio:.2f} ({r.items_read} / {r.due_in_index}); 2nd sweep read {r.second_read}",
            ),
        )
    bounded = max(chain.per_invocation) <= chain.chunk and chain.handled == chain.due and chain.raised_once
    fast = max(chain.times_ms) <= CHUNK_TARGET_MS
    section.add(
        f"chain: {chain.due:,} due",
        "",
        f"chunk {chain.chunk}",
        f"{len(chain.per_invocation)} invocations ({chain.continuations} continuations)",
        f"max {max(chain.per_invocation)} / invocation",
        f"handled {chain.handled:,}" + (" once each" if chain.raised_once else " (some twice!)"),
        f"longest {max(chain.times_ms) / 1000:.1f} s",
        f"{sum(chain.times_ms) / 1000:.1f}",
        verdict=PASS if bounded and fast else FAIL,
        summary=(
            f"escalation sweep chain, {chain.due:,} due: entries / invocation; longest invocation",
            f"<= {chain.chunk}; <= {CHUNK_TARGET_MS / 1000:.0f} s",
            f"max {max(chain.per_invocation)} in {len(chain.per_invocation)} invocations "
            f"({chain.continuations} continuations); longest {max(chain.times_ms) / 1000:.1f} s",
        ),
    )
    section.notes.append(
        f"chain: {chain.due:,} deadlines due at once (batch-written), WAYBILL_SWEEP_CHUNK={chain.chunk}: the tick (its "
        "chunk, then the chain's record and the first continuation) and the sweep queue run by the local stack's "
        "poller through the app's sweep_consumer until empty; entries per invocation: "
        + ", ".join(str(n) for n in chain.per_invocation)
        + f"; target: each invocation <= the chunk, every entry handled once, the longest <= {CHUNK_TARGET_MS / 1000:.0f} s "
        "(a tenth of Lambda's maximum)."
    )
    if runs:
        r = runs[0]
        section.notes += [
            f"data per size: N shipment_late deadlines due in {NOT_DUE_IN.days} days (one per order's parcel, written "
            "with batch_write: the items deadline_write builds), "
            f"{NOT_DUE_EXCEPTIONS} open exceptions not due (raise_or_bump);",
            f"due: {DUE_DEADLINES} deadlines passed (deadline_write + repository.commit), {DUE_GRACE_OVER} pending "
            f"exceptions past their grace, {DUE_ESCALATIONS} open ones past level 1, {DUE_WAKES} snoozes ended "
            "(raise_or_bump / snooze with the services' clock set back).",
            f"items due = {r.due} per size; sweep actions: " + ", ".join(f"{k} {v}" for k, v in sorted(r.actions.items())) + ".",
            "items read: Query ScannedCount + items GetItem/BatchGetItem returned, all requests of sweep(); "
            "index = the due-range Queries alone (measured apart, = items due when the index is selective), "
            "records = the rest: a due exception is changed from its index entry (GSI4 projects ALL: no reload);",
            "raising a passed deadline's kind looks for a live record first (GetItem: 0 items when there is none).",
            f"target: items read / items due <= {RATIO_TARGET} (DESIGN.md section 9). 2nd sweep: right after, "
            "items read (its requests): handled entries left the due range.",
            "seeded in "
            + ", ".join(f"{r.seed_seconds:.0f} s (batch writes {r.batch_seconds:.0f} s)" for r in runs)
            + "; sweep s: wall time in moto in-process (its Query walks the whole table) -- quote only.",
        ]
    return section


if __name__ == "__main__":
    from .env import setup

    setup()
    print(run().render())
