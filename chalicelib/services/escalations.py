"""The escalation sweep and subject deadlines, on the storage port.

Everything that must happen by time is in the store's due index (`Store.due_entries`): exception
records (grace end, snooze end, next escalation) and subject deadlines (e.g. a parcel's expected
delivery), and a webhook delivery's next attempt (an area not on the port yet: its entry goes to
`services.webhooks` as read). What the sweep reads grows with what is due, never with the table.
Handling an entry moves it out of the due range (a record's next step, a deadline retired), so the
next sweep does not read it again.

One invocation handles at most `WAYBILL_SWEEP_CHUNK` entries (docs/design-notes.md, "Sweep and
exports"): the schedule's tick reads the shards in turn, one Query page each, up to the chunk; when
more is due it records a `SweepRun` (the cut-off time, a cursor per shard still to read) and queues
the next chunk on the sweep queue, which does the same until every shard is read. A tick while a
chain runs leaves it to the chain; a chain not moved on for `WAYBILL_SWEEP_CHAIN_STALE_S` (its message
went to the dead-letter queue) is replaced by the next tick's. Redelivered, a chunk the record shows
done does nothing again; one that died half-way reads from the same cursors: what it handled has left
the due range, and every change is conditional on the version the index returned anyway."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from ..adapters import cursors, queues
from ..config import settings
from ..domain import exceptions as rules
from ..domain.errors import AlreadyExists, Conflict, InvalidTransition, NotFound
from ..domain.exceptions import ExceptionRecord, Owner
from ..events import ChunkDue
from ..observability import logger
from ..topology import SWEEP
from . import exceptions, uow, webhooks
from .clock import new_id, now
from .deadlines import CAPTURE_RETRY
from .deadlines import clear_deadline as clear_deadline  # written in services/deadlines.py; named here too
from .ports import Save
from .ports_close import DONE, RUNNING, SWEEP_RUN, SweepRun
from .ports_common import Page
from .ports_exceptions import Deadline, Due, DueDeadline
from .ports_outbound import WebhookDelivery

RETIRED_KEPT = timedelta(days=30)  # a passed deadline stays on its subject (out of the index) this long


# ---------------------------------------------------------------- subject deadlines (written by services/deadlines.py)


def _retry_captures(deadline: Deadline) -> str:
    from .order_payments import retry_failed_captures

    return f"captures_retried:{retry_failed_captures(deadline.subject_id)}"


# Deadlines that do something when they pass, instead of raising an exception kind.
DEADLINE_ACTIONS: dict[str, Callable[[Deadline], str]] = {CAPTURE_RETRY: _retry_captures}


# ---------------------------------------------------------------- the sweep


@dataclass
class SweepResult:
    read: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    chunks: int = 0  # chunks this call ran (0: it left the entries to a chain under way)
    continued: bool = False  # more was due: the next chunk is queued

    def as_dict(self) -> dict[str, Any]:
        return {"read": self.read, **self.actions, "chunks": self.chunks, "continued": int(self.continued)}


def due_entries(at: datetime, shards: int) -> list[Due]:
    """Every entry due by `at` (`Store.due_entries`: on DynamoDB one Query per shard, more pages only
    when more is due)."""
    return uow.store().due_entries(at, shards=shards)


def due_page(at: datetime, shard: int, shards: int, limit: int, cursor: str | None) -> Page[Due]:
    """One page of a shard's due entries (`Store.due_page`: on DynamoDB one Query of at most `limit`)."""
    return uow.store().due_page(at, shard=shard, shards=shards, limit=limit, cursor=cursor)


def sweep(at: datetime | None = None) -> SweepResult:
    """The schedule's tick: open exceptions whose grace has passed, wake snoozed ones, escalate those
    left open past a threshold, raise the kind of each passed deadline, at most `sweep_chunk` of them;
    the rest in a queued chain (see the module docstring). Safe to run twice and concurrently: every
    change is conditional on the version it read, and a lost race is left to the winner."""
    at = at or now()
    running = uow.store().load(SweepRun, SWEEP_RUN)
    if running is not None and running.value.state == RUNNING and not _stale(running.value):
        result = SweepResult()
        result.actions["chain_running"] += 1
        logger.info("escalation sweep left to the chain under way", extra={"run_id": running.value.run_id})
        return result
    result, positions = _chunk(at, {shard: None for shard in range(settings().due_index_shards)})
    if positions:
        started = now()
        run = SweepRun(new_id("sweep"), at, RUNNING, started, started, chunks_done=1, read=result.read)
        run.cursor = _encode(positions)
        try:
            uow.store().commit([Save(run, None if running is None else running.version)], what="the sweep's chain", at=started)
        except (AlreadyExists, Conflict):  # another tick started a chain meanwhile: the rest is that chain's
            logger.info("escalation sweep chain started elsewhere")
        else:
            _queue(run.run_id, 1, run.cursor)
            result.continued = True
    logger.info("escalation sweep", extra=result.as_dict())
    return result


def run_queued_chunk(run_id: str, number: int, cursor: str | None = None) -> SweepResult:
    """Chunk `number` of the chain, as the sweep consumer runs it: from the chain's recorded cursors
    (the message's `cursor` is the same, for the log), then the next chunk queued if more is due. A
    chunk of a chain that is over or was replaced does nothing; one the record shows done queues its
    next again (a crash between the record and the send), which the consumer's idempotency record
    drops if it was sent."""
    result = SweepResult()
    read = uow.store().load(SweepRun, SWEEP_RUN)
    if read is None or read.value.run_id != run_id or read.value.state != RUNNING or read.value.chunks_done < number:
        logger.info("sweep chunk of a chain that is over", extra={"run_id": run_id, "chunk": number})
        return result
    run = read.value
    if run.chunks_done > number:  # recorded by an earlier delivery: nothing is handled again
        result.actions["replayed"] += 1
        if run.chunks_done == number + 1:
            _queue(run_id, number + 1, run.cursor)
            result.continued = True
        return result
    result, positions = _chunk(run.at, _decode(run.cursor))
    at = now()
    moved = replace(
        run,
        chunks_done=number + 1,
        read=run.read + result.read,
        cursor=_encode(positions) if positions else None,
        state=RUNNING if positions else DONE,
        updated_at=at,
    )
    try:
        uow.store().commit([Save(moved, read.version)], what="the sweep's chain", at=at)
    except Conflict:  # another delivery of this chunk recorded it first: its next chunk is queued
        result.actions["replayed"] += 1
        return result
    if positions:
        _queue(run_id, number + 1, moved.cursor)
        result.continued = True
    logger.info("escalation sweep chunk", extra={"run_id": run_id, "chunk": number, **result.as_dict()})
    return result


def _chunk(at: datetime, positions: dict[int, str | None]) -> tuple[SweepResult, dict[int, str | None]]:
    """Handle up to `sweep_chunk` entries due by `at`, reading the shards still to read in turn from
    their positions (None: from the start); the positions after it (a shard read to its end is gone)."""
    s = settings()
    budget = s.sweep_chunk
    left = dict(positions)
    result = SweepResult(chunks=1)
    for shard in sorted(left):
        while budget > 0 and shard in left:
            page = due_page(at, shard, s.due_index_shards, budget, left[shard])
            for entry in page.items:
                _handle(entry, at, result)
            budget -= len(page.items)
            if page.cursor is None:
                del left[shard]
            else:
                left[shard] = page.cursor
        if budget <= 0:
            break
    return result, left


def _handle(entry: Due, at: datetime, result: SweepResult) -> None:
    result.read += 1
    try:
        if isinstance(entry, ExceptionRecord):
            result.actions[_exception_due(entry, at)] += 1
        elif isinstance(entry, DueDeadline):
            result.actions[_deadline_due(entry)] += 1
        elif isinstance(entry, WebhookDelivery):
            result.actions[webhooks.retry_due(entry, at)] += 1
    except (Conflict, InvalidTransition):
        result.actions["lost_race"] += 1  # someone changed it meanwhile; the next sweep sees the new state


def _stale(run: SweepRun) -> bool:
    return (now() - run.updated_at).total_seconds() > settings().sweep_chain_stale_s


def _encode(positions: dict[int, str | None]) -> str:
    """The chain's cursor: the cut-off's shards still to read, each with its position."""
    return cursors.encode({str(shard): position for shard, position in sorted(positions.items())})


def _decode(cursor: str | None) -> dict[int, str | None]:
    return {int(shard): position for shard, position in cursors.decode(cursor).items()} if cursor else {}


def _queue(run_id: str, number: int, cursor: str | None) -> None:
    detail = {"job": "sweep", "subject_id": SWEEP_RUN, "run_id": run_id, "number": number, "cursor": cursor}
    queues.send(SWEEP.name, ChunkDue.type, detail)


def _exception_due(entry: ExceptionRecord, at: datetime) -> str:
    policy = settings().exception_policy()
    outcome: list[str] = ["none"]

    def act(record: ExceptionRecord, when: datetime) -> exceptions.Change | None:
        due = rules.on_due(record, at, policy)
        outcome[0] = due.action
        if due.action == "open":
            rules.open_(record, when)
            return exceptions.Change("exception.raised", data={"after_grace": True})
        if due.action == "wake":
            rules.wake(record)
            late = rules.on_due(record, at, policy)  # a threshold passed while it slept: escalate now
            if late.action == "escalate":
                record.level = late.level
                return exceptions.Change(
                    "exception.escalated", mirror=True, data={"target": escalation_target(record), "woke": True}
                )
            return exceptions.Change("exception.woke", mirror=True)
        if due.action == "escalate":
            record.level = due.level
            return exceptions.Change("exception.escalated", data={"target": escalation_target(record)})
        return None

    try:
        exceptions.change(entry.id, act, retries=1, expected_version=entry.version, loaded=entry)
    except NotFound:
        return "gone"
    return outcome[0]


def escalation_target(record: ExceptionRecord) -> str:
    """Level 1: the assignee (the owning team while nobody is assigned); level 2: the team its kind
    names (`escalates_to`: e.g. a held order's deadline goes to the buyer), else the campaign's buyer,
    but care keeps its own kinds (a complaint is care's to answer, not the buyer's); the buyer only
    with a campaign to find the buyer by, else the owning team; level 3: the admins."""
    if record.level <= 1:
        return "assignee" if record.assignee else record.owner.value
    if record.level == 2:
        named = rules.kind(record.kind).escalates_to
        wanted = named or (Owner.BUYER if record.owner is not Owner.CUSTOMER_CARE else record.owner)
        if wanted is Owner.BUYER and not record.campaign_id:
            return record.owner.value
        return wanted.value
    return Owner.ADMIN.value


def _deadline_due(due: DueDeadline) -> str:
    """The deadline passed unmet: raise its kind (dedupes on the subject) and retire the deadline in
    the same transaction, under the version read: if it was moved meanwhile, nothing is written (then
    the next sweep decides)."""
    deadline = due.deadline
    at = now()
    retired = Save(replace(deadline, fired_at=at, kept_until=at + RETIRED_KEPT), due.version)
    if deadline.kind in DEADLINE_ACTIONS:  # retired first: the action runs once, whatever happens next
        try:
            uow.store().commit([retired], what=f"deadline {deadline.id}", at=at)
        except Conflict:
            return "lost_race"
        DEADLINE_ACTIONS[deadline.kind](deadline)
        return "deadline_acted"
    try:
        exceptions.raise_or_bump(
            deadline.kind,
            deadline.subject_type,
            deadline.subject_id,
            {**deadline.details, "due_at": deadline.due_at.isoformat()},
            retries=1,
            with_changes=[retired],
        )
    except Conflict:
        return "lost_race"
    return "deadline_passed"
