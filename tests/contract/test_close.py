"""What every store does for the campaign-close area (`services.ports_close`), on both stores: a
close's progress is created once, changed under its version and read with its campaign; a chunk
record (a close's or a settlement's) is created once and a run's close chunks list in order."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.domain.campaigns import CampaignStatus
from chalicelib.domain.errors import AlreadyExists, Conflict
from chalicelib.services.ports import Save, Store, Versioned
from chalicelib.services.ports_close import RUNNING, CloseChunk, CloseProgress, SettleChunk
from tests.contract.test_store import campaign_record
from tests.unit.factories import NOW


def progress(campaign_id: str = "cmp-1", run_id: str = "close-1") -> CloseProgress:
    return CloseProgress(campaign_id, run_id, RUNNING, orders_total=500, started_at=NOW, updated_at=NOW, actor_roles=["admin"])


def chunk(number: int, *, run_id: str = "close-1", cursor: str | None = "c") -> CloseChunk:
    return CloseChunk(
        campaign_id="cmp-1",
        run_id=run_id,
        number=number,
        orders_read=250,
        ordered=240 + number,
        quantities={"acme": {"MUG-1": 3 + number}, "bolt": {"CAP-1": 1}},
        order_counts={"acme": 2, "bolt": 1},
        held=["ord-9"] if number == 1 else [],
        next_cursor=cursor,
        at=NOW,
    )


def test_a_close_progress_is_created_once_changed_under_its_version_and_read_with_its_campaign(store: Store):
    store.commit([Save(campaign_record("cmp-1", CampaignStatus.ENDED, ends_in_hours=None), None)], what="cmp-1", at=NOW)
    found = store.campaign_with_products("cmp-1")
    assert found is not None and found.close is None
    store.commit([Save(progress(), None)], what="close", at=NOW)
    with pytest.raises(AlreadyExists):
        store.commit([Save(progress(run_id="close-2"), None)], what="close", at=NOW)

    moved = replace(progress(), orders_done=250, chunks_done=1, cursor="next page")
    store.commit([Save(moved, 1)], what="close", at=NOW)
    with pytest.raises(Conflict):
        store.commit([Save(replace(moved, orders_done=500), 1)], what="close", at=NOW)

    assert store.load(CloseProgress, "cmp-1") == Versioned(moved, 2)
    found = store.campaign_with_products("cmp-1")
    assert found is not None and found.close == moved


def test_a_chunk_is_recorded_once_and_a_runs_chunks_list_in_order(store: Store):
    for number in (2, 0, 1):
        store.commit([Save(chunk(number, cursor=None if number == 2 else f"after-{number}"), None)], what="chunk", at=NOW)
    store.commit([Save(chunk(0, run_id="close-0"), None)], what="another run's", at=NOW)
    with pytest.raises(AlreadyExists):  # a redelivered chunk: its record stands as it was
        store.commit([Save(replace(chunk(1), ordered=999), None), Save(progress(), None)], what="chunk", at=NOW)

    listed = store.close_chunks("cmp-1", "close-1")

    assert [c.number for c in listed] == [0, 1, 2]
    assert listed[1] == chunk(1, cursor="after-1") and listed[2].next_cursor is None
    assert store.load(CloseProgress, "cmp-1") is None  # nothing of the failed transaction was written
    found = store.load(CloseChunk, "cmp-1", "close-1", "1")
    assert found is not None and found.value == chunk(1, cursor="after-1")


def test_a_settlement_chunk_is_recorded_once_and_loads_by_po_run_and_number(store: Store):
    settled = SettleChunk("po-1", "evt-1", 0, {"MUG-1": 2}, 7, 250, 240, 10, 3, 4, "next", NOW)
    store.commit([Save(settled, None)], what="settlement", at=NOW)
    with pytest.raises(AlreadyExists):
        store.commit([Save(replace(settled, settled=0), None)], what="settlement", at=NOW)
    found = store.load(SettleChunk, "po-1", "evt-1", "0")
    assert found is not None and found.value == settled
    assert store.load(SettleChunk, "po-1", "evt-1", "1") is None
