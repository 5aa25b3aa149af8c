"""The campaign-close area of `DynamoStore` (see `services.ports_close`).

| access pattern | key | operation |
|---|---|---|
| a campaign's close progress (its SK begins with `#`: read with the campaign) | `CAMPAIGN#<id>` / `#CLOSE` | GetItem |
| one chunk of a close run | `CAMPAIGN#<id>#CLOSE#<run>` / `CHUNK#<number, 8 digits>` | conditional Put |
| a run's chunks, in order | `CAMPAIGN#<id>#CLOSE#<run>` | Query on PK |
| one chunk of a PO's settlement | `PO#<id>#SETTLE#<run>` / `CHUNK#<number, 8 digits>` | conditional Put / GetItem |
| the escalation sweep's chain (one) | `SWEEP#escalation` / `#RUN` | GetItem / versioned Put |

The chunks live in a partition of their own, so reading the campaign never reads them. A chunk is
created once (the key must not exist); the progress is changed under its version.
"""

from __future__ import annotations

import json
from datetime import datetime

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute, VersionAttribute

from ...services.ports_close import SWEEP_RUN, CloseChunk, CloseProgress, SettleChunk, SweepRun
from . import keys
from . import repository as repo
from .mapping import Mapper, Writes, register
from .models import Item, str_list

CLOSE_SK = "#CLOSE"  # in the campaign's `#` range: `campaign_with_products` reads it with the campaign


def close_progress_key(campaign_id: str) -> tuple[str, str]:
    return keys.campaign_pk(campaign_id), CLOSE_SK


def close_chunks_pk(campaign_id: str, run_id: str) -> str:
    return f"CAMPAIGN#{campaign_id}#CLOSE#{run_id}"


def close_chunk_key(campaign_id: str, run_id: str, number: int) -> tuple[str, str]:
    return close_chunks_pk(campaign_id, run_id), f"CHUNK#{number:08d}"


def settle_chunk_key(po_id: str, run_id: str, number: int) -> tuple[str, str]:
    return f"PO#{po_id}#SETTLE#{run_id}", f"CHUNK#{number:08d}"


class CloseProgressItem(Item, discriminator="close_progress"):
    campaign_id = UnicodeAttribute()
    run_id = UnicodeAttribute()
    state = UnicodeAttribute()
    orders_total = NumberAttribute(default=0)
    orders_done = NumberAttribute(default=0)
    chunks_done = NumberAttribute(default=0)
    cursor = UnicodeAttribute(null=True)
    actor_sub = UnicodeAttribute()
    actor_roles = ListAttribute(of=UnicodeAttribute, default=list)
    started_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()


class SweepRunItem(Item, discriminator="sweep_run"):
    run_id = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    state = UnicodeAttribute()
    chunks_done = NumberAttribute(default=0)
    read = NumberAttribute(default=0)
    cursor = UnicodeAttribute(null=True)
    started_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()


class CloseChunkItem(Item, discriminator="close_chunk"):
    campaign_id = UnicodeAttribute()
    run_id = UnicodeAttribute()
    number = NumberAttribute()
    orders_read = NumberAttribute()
    ordered = NumberAttribute()
    # JSON text: {supplier: {sku: quantity}} and {supplier: orders}; read whole, never queried into
    quantities = UnicodeAttribute()
    order_counts = UnicodeAttribute()
    held = ListAttribute(of=UnicodeAttribute, default=list)
    next_cursor = UnicodeAttribute(null=True)
    at = UTCDateTimeAttribute()


class SettleChunkItem(Item, discriminator="settle_chunk"):
    po_id = UnicodeAttribute()
    run_id = UnicodeAttribute()
    number = NumberAttribute()
    remaining = UnicodeAttribute()  # JSON text {sku: quantity}
    accepted_total = NumberAttribute()
    orders_read = NumberAttribute()
    settled = NumberAttribute()
    replayed = NumberAttribute()
    refunds = NumberAttribute()
    lost = NumberAttribute()
    next_cursor = UnicodeAttribute(null=True)
    at = UTCDateTimeAttribute()


def progress_from_item(item: CloseProgressItem) -> CloseProgress:
    return CloseProgress(
        campaign_id=item.campaign_id,
        run_id=item.run_id,
        state=item.state,
        orders_total=int(item.orders_total or 0),
        started_at=item.started_at,
        updated_at=item.updated_at,
        orders_done=int(item.orders_done or 0),
        chunks_done=int(item.chunks_done or 0),
        cursor=item.cursor,
        actor_sub=item.actor_sub,
        actor_roles=str_list(item.actor_roles),
    )


def _chunk_from_item(item: CloseChunkItem) -> CloseChunk:
    return CloseChunk(
        campaign_id=item.campaign_id,
        run_id=item.run_id,
        number=int(item.number),
        orders_read=int(item.orders_read),
        ordered=int(item.ordered),
        quantities=json.loads(item.quantities),
        order_counts=json.loads(item.order_counts),
        held=str_list(item.held),
        next_cursor=item.next_cursor,
        at=item.at,
    )


def _load_progress(campaign_id: str) -> tuple[CloseProgress, int] | None:
    item = repo.get(close_progress_key(campaign_id), CloseProgressItem)
    return None if item is None else (progress_from_item(item), int(item.version))


def _save_progress(progress: CloseProgress, version: int | None, at: datetime) -> Writes:
    item = CloseProgressItem(
        *close_progress_key(progress.campaign_id),
        campaign_id=progress.campaign_id,
        run_id=progress.run_id,
        state=progress.state,
        orders_total=progress.orders_total,
        orders_done=progress.orders_done,
        chunks_done=progress.chunks_done,
        cursor=progress.cursor,
        actor_sub=progress.actor_sub,
        actor_roles=list(progress.actor_roles),
        started_at=progress.started_at,
        updated_at=progress.updated_at,
    )
    item = repo.with_version(item, version)
    return [repo.Write(item, Item.PK.does_not_exist()) if version is None else repo.Write(item)]


def _load_chunk(campaign_id: str, run_id: str, number: str) -> tuple[CloseChunk, int] | None:
    item = repo.get(close_chunk_key(campaign_id, run_id, int(number)), CloseChunkItem)
    return None if item is None else (_chunk_from_item(item), 1)


def _save_chunk(chunk: CloseChunk, version: int | None, at: datetime) -> Writes:
    if version is not None:
        raise ValueError("a close chunk is created once, never changed")
    item = CloseChunkItem(
        *close_chunk_key(chunk.campaign_id, chunk.run_id, chunk.number),
        campaign_id=chunk.campaign_id,
        run_id=chunk.run_id,
        number=chunk.number,
        orders_read=chunk.orders_read,
        ordered=chunk.ordered,
        quantities=json.dumps(chunk.quantities, separators=(",", ":"), sort_keys=True),
        order_counts=json.dumps(chunk.order_counts, separators=(",", ":"), sort_keys=True),
        held=list(chunk.held),
        next_cursor=chunk.next_cursor,
        at=chunk.at,
    )
    return [repo.new_item(item)]


def _load_settle_chunk(po_id: str, run_id: str, number: str) -> tuple[SettleChunk, int] | None:
    item = repo.get(settle_chunk_key(po_id, run_id, int(number)), SettleChunkItem)
    if item is None:
        return None
    chunk = SettleChunk(
        po_id=item.po_id,
        run_id=item.run_id,
        number=int(item.number),
        remaining=json.loads(item.remaining),
        accepted_total=int(item.accepted_total),
        orders_read=int(item.orders_read),
        settled=int(item.settled),
        replayed=int(item.replayed),
        refunds=int(item.refunds),
        lost=int(item.lost),
        next_cursor=item.next_cursor,
        at=item.at,
    )
    return chunk, 1


def _save_settle_chunk(chunk: SettleChunk, version: int | None, at: datetime) -> Writes:
    if version is not None:
        raise ValueError("a settlement chunk is created once, never changed")
    item = SettleChunkItem(
        *settle_chunk_key(chunk.po_id, chunk.run_id, chunk.number),
        po_id=chunk.po_id,
        run_id=chunk.run_id,
        number=chunk.number,
        remaining=json.dumps(chunk.remaining, separators=(",", ":"), sort_keys=True),
        accepted_total=chunk.accepted_total,
        orders_read=chunk.orders_read,
        settled=chunk.settled,
        replayed=chunk.replayed,
        refunds=chunk.refunds,
        lost=chunk.lost,
        next_cursor=chunk.next_cursor,
        at=chunk.at,
    )
    return [repo.new_item(item)]


register(SettleChunk, Mapper(load=_load_settle_chunk, save=_save_settle_chunk))
register(CloseProgress, Mapper(load=_load_progress, save=_save_progress))
register(CloseChunk, Mapper(load=_load_chunk, save=_save_chunk))


class CloseDynamo:
    def close_chunks(self, campaign_id: str, run_id: str) -> list[CloseChunk]:
        # consistent: the last chunk's record was written a moment ago, by this invocation
        items = Item.query(close_chunks_pk(campaign_id, run_id), consistent_read=True)
        return [_chunk_from_item(i) for i in items if isinstance(i, CloseChunkItem)]


def _sweep_run_key() -> tuple[str, str]:
    return f"SWEEP#{SWEEP_RUN}", "#RUN"


def _load_sweep_run(key: str) -> tuple[SweepRun, int] | None:
    item = repo.get(_sweep_run_key(), SweepRunItem)
    if item is None:
        return None
    run = SweepRun(
        run_id=item.run_id,
        at=item.at,
        state=item.state,
        started_at=item.started_at,
        updated_at=item.updated_at,
        chunks_done=int(item.chunks_done or 0),
        read=int(item.read or 0),
        cursor=item.cursor,
    )
    return run, int(item.version)


def _save_sweep_run(run: SweepRun, version: int | None, at: datetime) -> Writes:
    item = SweepRunItem(
        *_sweep_run_key(),
        run_id=run.run_id,
        at=run.at,
        state=run.state,
        chunks_done=run.chunks_done,
        read=run.read,
        cursor=run.cursor,
        started_at=run.started_at,
        updated_at=run.updated_at,
    )
    item = repo.with_version(item, version)
    return [repo.Write(item, Item.PK.does_not_exist()) if version is None else repo.Write(item)]


register(SweepRun, Mapper(load=_load_sweep_run, save=_save_sweep_run))
