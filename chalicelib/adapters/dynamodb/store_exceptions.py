"""The exceptions area on the single table: how an `ExceptionRecord` is stored, and its named reads.

A record is the item `EXC#<id>` / `#META` (its history shares the partition). While active it carries
the ranked queue's sparse GSI3 keys (`EXCEPTIONS#OPEN` / `<severity rank>#<opened_at>#<id>`), once
resolved the resolved listing's (`EXCEPTIONS#RESOLVED` / `<resolved_at>#<id>`); while
something will happen to it by time, the sweep's sparse GSI4 keys (`DUE#<shard>` / `<due_at>#<id>`).
A load is one GetItem, a save one put in the commit's transaction (conditional on the version read,
or on absence for a new record): the requests `services.exceptions` made before it moved.

A `Deadline` is the item `<subject PK>` / `DUE#<kind>`, in the due index until it fires. Its version is
`2 * <due_at in microseconds> + <1 once fired>`: a save under a version is conditional on that due time
and fired state (what the sweep's retirement was conditioned on before the move), and a retirement
reads as the version it was saved under + 1, as on any store.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.attributes import NumberAttribute
from pynamodb.expressions.condition import Condition

from ...config import settings
from ...domain import exceptions as rules
from ...domain.exceptions import ExceptionRecord, Severity, Status
from ...services.ports_common import Page
from ...services.ports_exceptions import (
    Cell,
    CountExceptions,
    Deadline,
    Due,
    DueDeadline,
    DueElsewhere,
    ExceptionWithHistory,
    QueueSlice,
)
from . import keys
from . import repository as repo
from .mapping import Mapper, Writes, register
from .models import AuditEventItem, DeadlineItem, ExceptionItem, Item, WebhookDeliveryItem
from .store_outbound import delivery_record

PAGE = 100  # the due index's page size
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def plain(details: Any) -> dict[str, Any]:
    """A map attribute as a plain dict."""
    return dict(details.as_dict()) if details else {}


def record_from_item(item: ExceptionItem) -> ExceptionRecord:
    """Public for the sweep, which reads records from the due index (`services.escalations`)."""
    return ExceptionRecord(
        id=item.id,
        kind=item.kind_name,
        subject_type=item.subject_type,
        subject_id=item.subject_id,
        severity=Severity(item.severity),
        status=Status(item.status),
        count=int(item.count),
        opened_at=item.opened_at,
        last_seen=item.last_seen,
        details=plain(item.details),
        level=int(item.level or 0),
        assignee=item.assignee,
        acknowledged_by=item.acknowledged_by,
        snoozed_until=item.snoozed_until,
        resolved_at=item.resolved_at,
        resolution=item.resolution,
        version=int(item.version) if item.version is not None else None,
    )


def exception_item(record: ExceptionRecord, version: int | None) -> ExceptionItem:
    """The record's item, with its index keys; `version`: the one the write expects (None: a new item)."""
    policy = settings().exception_policy()
    pk, sk = keys.exception(record.id)
    due = rules.next_due(record, policy)
    item = ExceptionItem(
        pk,
        sk,
        id=record.id,
        kind_name=record.kind,
        subject_type=record.subject_type,
        subject_id=record.subject_id,
        severity=record.severity.value,
        status=record.status.value,
        count=record.count,
        opened_at=record.opened_at,
        last_seen=record.last_seen,
        details=record.details,
        resolved_at=record.resolved_at,
        resolution=record.resolution,
        level=record.level,
        assignee=record.assignee,
        acknowledged_by=record.acknowledged_by,
        snoozed_until=record.snoozed_until,
        due_at=due,
    )
    if record.status in rules.ACTIVE:
        item.GSI3PK = keys.OPEN_EXCEPTIONS_PK
        item.GSI3SK = keys.open_exception_sk(rules.SEVERITY_RANK[record.severity], record.opened_at, record.id)
    elif record.status is Status.RESOLVED and record.resolved_at is not None:
        item.GSI3PK = keys.RESOLVED_EXCEPTIONS_PK
        item.GSI3SK = keys.resolved_exception_sk(record.resolved_at, record.id)
    if due is not None:
        item.GSI4PK, item.GSI4SK = keys.due_index(record.id, due, settings().due_index_shards)
    return repo.with_version(item, version)


def _load(exc_id: str) -> tuple[ExceptionRecord, int] | None:
    item = repo.get(keys.exception(exc_id), ExceptionItem)  # through the module: tests stage races on it
    if item is None:
        return None
    return record_from_item(item), int(item.version or 0)


def _save(record: ExceptionRecord, version: int | None, at: datetime) -> Writes:
    item = exception_item(record, version)
    # An update's condition is the item's version attribute (PynamoDB adds it); a new one must be absent.
    return [repo.Write(item) if version is not None else repo.new_item(item)]


register(ExceptionRecord, Mapper(load=_load, save=_save))


# ---------------------------------------------------------------- the queue's counters


class ExceptionCountsItem(Item, discriminator="exception_counts"):
    """The queue's counters: one number attribute per (status, severity, kind) cell
    (`keys.exception_count_attribute`), grown and shrunk only by atomic ADDs in the transactions that
    move a record in or out of a cell. At the head of the queue index, so the queue's first page
    reads it in the same Query. One item, not sharded: exceptions change a few times a minute (a
    burst of a few hundred when a campaign closes badly), far below the ~1,000 writes/s one item
    takes; it stays small (at most statuses x severities x kinds cells, a few KB)."""


def count_writes(change: CountExceptions) -> Writes:
    """The one Update a `CountExceptions` sends: an ADD per cell it moves (at most 2 for one record)."""
    item = ExceptionCountsItem(*keys.exception_counts())
    actions: list[Any] = [
        ExceptionCountsItem.kind.set(ExceptionCountsItem),  # the discriminator: an update names it itself
        ExceptionCountsItem.GSI3PK.set(keys.OPEN_EXCEPTIONS_PK),
        ExceptionCountsItem.GSI3SK.set(keys.EXCEPTION_COUNTS_SK),
    ]
    for (status, severity, kind), delta in sorted(change.deltas.items()):
        if delta:
            name = keys.exception_count_attribute(status, severity, kind)
            cell = NumberAttribute(attr_name=name)  # a cell is an attribute of its own: ADD creates it
            cell.attr_path = [name]
            actions.append(cell.add(delta))
    return [repo.Update(item, actions)]


def _cells(raw: dict[str, Any]) -> dict[Cell, int]:
    """The counters item's cells, from its attributes as DynamoDB answers them."""
    found: dict[Cell, int] = {}
    for name, value in raw.items():
        parts = name.split("#")
        if len(parts) == 4 and parts[0] == "c" and "N" in value and int(value["N"]):
            found[(parts[1], parts[2], parts[3])] = int(value["N"])
    return found


# ---------------------------------------------------------------- deadlines


def deadline_from_item(item: DeadlineItem) -> Deadline:
    kept = datetime.fromtimestamp(int(item.expires_at), UTC) if item.expires_at is not None else None
    return Deadline(
        kind=item.kind_name,
        subject_type=item.subject_type,
        subject_id=item.subject_id,
        due_at=item.due_at,
        details=plain(item.details),
        fired_at=item.fired_at,
        kept_until=kept,
    )


def deadline_version(deadline: Deadline) -> int:
    return 2 * ((deadline.due_at - _EPOCH) // _MICROSECOND) + (1 if deadline.fired_at is not None else 0)


def deadline_item(deadline: Deadline) -> DeadlineItem:
    """The deadline's item: in the due index while it has not fired; kept (TTL) until `kept_until`.
    Public for `services.deadlines`, which still writes deadlines into other services' transactions."""
    pk, sk = keys.deadline(keys.subject_pk(deadline.subject_type, deadline.subject_id), deadline.kind)
    item = DeadlineItem(
        pk,
        sk,
        id=deadline.id,
        kind_name=deadline.kind,
        subject_type=deadline.subject_type,
        subject_id=deadline.subject_id,
        due_at=deadline.due_at,
        details=deadline.details,
        fired_at=deadline.fired_at,
    )
    if deadline.fired_at is None:
        item.GSI4PK, item.GSI4SK = keys.due_index(deadline.id, deadline.due_at, settings().due_index_shards)
    if deadline.kept_until is not None:
        item.expires_at = int(deadline.kept_until.timestamp())
    return item


def _at_version(version: int) -> Condition:
    """Still due at the time the version names, and fired exactly when it names a fired deadline."""
    due = DeadlineItem.due_at == _EPOCH + (version // 2) * _MICROSECOND
    return due & (DeadlineItem.fired_at.exists() if version % 2 else DeadlineItem.fired_at.does_not_exist())


def _load_deadline(deadline_id: str) -> tuple[Deadline, int] | None:
    kind, subject_type, subject_id = deadline_id.split(":", 2)
    item = repo.get(keys.deadline(keys.subject_pk(subject_type, subject_id), kind), DeadlineItem)
    if item is None:
        return None
    deadline = deadline_from_item(item)
    return deadline, deadline_version(deadline)


def _save_deadline(deadline: Deadline, version: int | None, at: datetime) -> Writes:
    item = deadline_item(deadline)
    return [repo.Write(item, Item.PK.does_not_exist() if version is None else _at_version(version))]


register(Deadline, Mapper(load=_load_deadline, save=_save_deadline))


class ExceptionsDynamo:
    """`services.ports_exceptions.ExceptionsReads` on the single table."""

    def open_exceptions(self) -> list[ExceptionRecord]:
        return [record_from_item(i) for i in Item.gsi3.query(keys.OPEN_EXCEPTIONS_PK) if isinstance(i, ExceptionItem)]

    def open_exceptions_after(self, after: tuple[int, datetime, str] | None, *, from_rank: int = 0, limit: int) -> QueueSlice:
        start = keys.open_exception_rank_sk(from_rank)
        if after is not None and keys.open_exception_sk(*after) >= start:
            condition = keys.open_exception_sk(*after) < Item.GSI3SK
        else:
            condition = start <= Item.GSI3SK
        return self._queue_query(condition, limit)[1]

    def open_exceptions_head(self, *, limit: int) -> tuple[dict[Cell, int], QueueSlice]:
        # The counters item sorts before every record: one Query reads it and the first page.
        return self._queue_query(None, limit + 1)

    def _queue_query(self, condition: Condition | None, limit: int) -> tuple[dict[Cell, int], QueueSlice]:
        results = Item.gsi3.query(
            keys.OPEN_EXCEPTIONS_PK, range_key_condition=condition, scan_index_forward=True, limit=limit, page_size=limit
        )
        page = next(results.page_iter)
        cells: dict[Cell, int] = {}
        records: list[ExceptionRecord] = []
        for raw in page.get("Items", []):
            if raw.get("kind", {}).get("S") == "exception_counts":
                cells = _cells(raw)  # undeclared attributes: read from the answer as it is
            elif isinstance(item := Item.from_raw_data(raw), ExceptionItem):
                records.append(record_from_item(item))
        return cells, QueueSlice(records, results.page_iter.last_evaluated_key is not None)

    def reset_exception_counts(self, cells: dict[Cell, int]) -> None:
        every = set(self.open_exception_counts()) | set(cells)
        (write,) = count_writes(CountExceptions(dict.fromkeys(every, 0)))
        assert isinstance(write, repo.Update)
        actions = write.actions[:3]  # the discriminator and the index keys; then each cell SET, not ADDed
        for status, severity, kind in sorted(every):
            name = keys.exception_count_attribute(status, severity, kind)
            cell = NumberAttribute(attr_name=name)
            cell.attr_path = [name]
            actions.append(cell.set(cells.get((status, severity, kind), 0)))
        repo.commit([repo.Update(write.item, actions)], what="the exceptions queue's counters")

    def open_exception_counts(self) -> dict[Cell, int]:
        pk, sk = keys.exception_counts()
        answer = Item._get_connection().get_item(pk, sk)
        return _cells(answer.get("Item", {}))

    def resolved_exceptions(self, *, limit: int, cursor: str | None = None) -> Page[ExceptionRecord]:
        page = repo.query_page(Item.gsi3, keys.RESOLVED_EXCEPTIONS_PK, limit=limit, cursor=cursor)
        return Page([record_from_item(i) for i in page.items if isinstance(i, ExceptionItem)], page.cursor)

    def due_entries(self, at: datetime, *, shards: int) -> list[Due]:
        found: list[Due] = []
        for shard in range(shards):
            for item in Item.gsi4.query(keys.due_shard_pk(shard), keys.due_until_sk(at) >= Item.GSI4SK, page_size=PAGE):
                found.append(_due(item))
        return found

    def due_page(self, at: datetime, *, shard: int, shards: int, limit: int, cursor: str | None = None) -> Page[Due]:
        page = repo.query_page(
            Item.gsi4,
            keys.due_shard_pk(shard),
            range_key_condition=keys.due_until_sk(at) >= Item.GSI4SK,
            limit=limit,
            cursor=cursor,
            newest_first=False,
        )
        return Page([_due(item) for item in page.items], page.cursor)

    def exception_with_history(self, exc_id: str) -> ExceptionWithHistory | None:
        record: ExceptionRecord | None = None
        events = []
        for item in repo.query_all(keys.exception_pk(exc_id)):
            if isinstance(item, ExceptionItem):
                record = record_from_item(item)
            elif isinstance(item, AuditEventItem):
                events.append(repo.event_from_item(item))
        return None if record is None else ExceptionWithHistory(record, events)


def _due(item: Item) -> Due:
    """One item of the due index as the sweep handles it."""
    if isinstance(item, ExceptionItem):
        return record_from_item(item)
    if isinstance(item, DeadlineItem):
        deadline = deadline_from_item(item)
        return DueDeadline(deadline, deadline_version(deadline))
    if isinstance(item, WebhookDeliveryItem):
        return delivery_record(item).value  # its `version`: the item's
    return DueElsewhere("unknown", item)
