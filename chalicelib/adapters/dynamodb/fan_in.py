"""Reads that fan in over write shards: an index key split into `<key>#<n>` (keys.INDEX_SHARDS), and
counters split over items (keys.COUNTER_SHARDS).

A sharded listing is one Query per shard, sent in ONE parallel step and merged by the index's sort
key. Each shard's Query reads up to `limit` items; the page holds only items that sort before every
unfinished shard's last evaluated key (an item beyond it in one shard could sort before them), so the
merge is exact and, without a filter, the page is full. The cursor the caller gets is opaque: it holds
each shard's position (the last item taken from it, its last evaluated key, "from the start", or
"done"), each checked like any cursor against its own partition.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pynamodb.exceptions import QueryError
from pynamodb.expressions.condition import Condition

from .. import cursors
from . import keys
from . import repository as repo
from .models import Item
from .repository import batch_get_raw as batch_get_raw  # counters' fan-in, beside the listings'

_DONE = "done"
_POOL: ThreadPoolExecutor | None = None
MAX_PARALLEL = 16  # threads shared by every fan-in (Lambda: I/O-bound Queries)


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=MAX_PARALLEL, thread_name_prefix="fan-in")
    return _POOL


def _names(source: Any) -> tuple[list[str], str]:
    """The key attributes of a start key on `source` (an index), and its sort key's name."""
    n = source.Meta.index_name[-1]
    return ["PK", "SK", f"GSI{n}PK", f"GSI{n}SK"], f"GSI{n}SK"


def _listing(source: Any, hash_keys: Sequence[str]) -> str:
    """A short token of the listing (index and keys) a cursor belongs to: a cursor whose shards hold no
    start key (each "from the start" or "done") names no partition of its own to be checked against."""
    return keys.stable_hash("|".join([source.Meta.index_name, *hash_keys]), 12)


def _positions(cursor: str | None, listing: str, hash_keys: Sequence[str], names: list[str]) -> list[Any]:
    if not cursor:
        return [None] * len(hash_keys)
    raw = cursors.decode(cursor)
    ok = isinstance(raw, dict) and raw.get("of") == listing and isinstance(raw.get("shards"), list)
    if not ok or len(raw["shards"]) != len(hash_keys):
        raise cursors.invalid()
    positions: list[Any] = []
    for start, hash_key in zip(raw["shards"], hash_keys, strict=True):
        if start is None or start == _DONE:
            positions.append(start)
        else:  # the same checks as any cursor: the key names, and this shard's partition
            positions.append(repo.decode_cursor(cursors.encode(start), names, bound=(names[2], hash_key)))
    if all(p == _DONE for p in positions):
        raise cursors.invalid()  # a finished listing returns no cursor
    return positions


def query_shards(
    source: Any,
    hash_keys: Sequence[str],
    *,
    range_key_condition: Condition | None = None,
    filter_condition: Condition | None = None,
    limit: int,
    cursor: str | None = None,
    newest_first: bool = True,
) -> repo.Page:
    """A page of a listing whose index key is written in shards: one Query per unfinished shard, in
    parallel, merged by sort key (ties by table key), at most `limit` items; a cursor while any shard
    has more."""
    names, sk_name = _names(source)
    listing = _listing(source, hash_keys)
    positions = _positions(cursor, listing, hash_keys, names)
    live = [n for n, p in enumerate(positions) if p != _DONE]

    def one(n: int) -> repo.Page:
        start = positions[n]
        try:
            return repo.query_page(
                source,
                hash_keys[n],
                range_key_condition=range_key_condition,
                filter_condition=filter_condition,
                limit=limit,
                cursor=cursors.encode(start) if start is not None else None,
                newest_first=newest_first,
            )
        except QueryError as exc:  # a shard read from its start, refused with the caller's cursor in play
            if cursor and exc.cause_response_code == "ValidationException":
                raise cursors.invalid() from None
            raise

    pages = dict(zip(live, _pool().map(one, live), strict=True))
    leks = {n: cursors.decode(p.cursor) for n, p in pages.items() if p.cursor}
    bounds = [lek[sk_name]["S"] for lek in leks.values()]
    frontier = (max(bounds) if newest_first else min(bounds)) if bounds else None

    def before_frontier(item: Item) -> bool:
        if frontier is None:
            return True
        sk = str(getattr(item, sk_name))
        return sk >= frontier if newest_first else sk <= frontier

    tagged = [(str(getattr(i, sk_name)), i.PK, i.SK, n, i) for n, p in pages.items() for i in p.items if before_frontier(i)]
    tagged.sort(key=lambda t: (t[0], t[1], t[2]), reverse=newest_first)
    taken = tagged[:limit]
    scanned = sum(p.scanned for p in pages.values())

    for n, page in pages.items():
        mine = [t[4] for t in taken if t[3] == n]
        if len(mine) == len(page.items):  # all it returned is on the page: resume after what it evaluated
            positions[n] = leks.get(n, _DONE)
        elif mine:  # resume right after the last item of it on the page
            last = mine[-1]
            positions[n] = {name: {"S": str(getattr(last, name))} for name in names}
        # else: nothing of it on the page; it starts where it started again
    next_cursor = None if all(p == _DONE for p in positions) else cursors.encode({"of": listing, "shards": positions})
    return repo.Page(items=[t[4] for t in taken], cursor=next_cursor, scanned=scanned)


def query_shards_in_turn(
    source: Any,
    hash_keys: Sequence[str],
    *,
    filter_condition: Condition | None = None,
    limit: int,
    cursor: str | None = None,
    newest_first: bool = False,
) -> repo.Page:
    """A page of a sharded listing for a reader that needs every item once but no order across shards
    (a campaign's close and settlement, in chunks): the shards read one after the other, each item read
    once. A page fills from the shard the cursor names and, when that shard ends with room left, from
    the next ones (an empty shard costs a Query that reads nothing); the cursor names the shard and its
    position. `limit` bounds the items evaluated, as one Query's Limit does."""
    names, _ = _names(source)
    listing = _listing(source, hash_keys) + "/turn"
    shard, start = 0, None
    if cursor:
        raw = cursors.decode(cursor)
        ok = isinstance(raw, dict) and raw.get("of") == listing and isinstance(raw.get("shard"), int)
        if not ok or not 0 <= raw["shard"] < len(hash_keys):
            raise cursors.invalid()
        shard = raw["shard"]
        if raw.get("start") is not None:
            start = repo.decode_cursor(cursors.encode(raw["start"]), names, bound=(names[2], hash_keys[shard]))
    items: list[Item] = []
    scanned = 0
    position: dict[str, Any] | None = None
    while True:
        page = repo.query_page(
            source,
            hash_keys[shard],
            filter_condition=filter_condition,
            limit=limit - scanned,
            cursor=cursors.encode(start) if start is not None else None,
            newest_first=newest_first,
        )
        items += page.items
        scanned += page.scanned
        if page.cursor:  # this shard has more: the next page resumes in it
            position = {"of": listing, "shard": shard, "start": cursors.decode(page.cursor)}
            break
        shard, start = shard + 1, None
        if shard == len(hash_keys):
            break
        if scanned >= limit:
            position = {"of": listing, "shard": shard, "start": None}
            break
    return repo.Page(items=items, cursor=cursors.encode(position) if position else None, scanned=scanned)
