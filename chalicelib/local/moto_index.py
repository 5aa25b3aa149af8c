"""Reads on the embedded AWS that cost what DynamoDB's cost: a Query reads its partition, not the
whole table, and a read's answer is written as the JSON it already is.

moto 5.2.5 answers every DynamoDB Query, on the table or on an index, by walking every item the
table holds (`Table.all_items()`) and keeping those whose key matches: each Query costs O(table),
and the local stack's table grows as it runs (seed, demo, tests), so every read of the API gets
slower with it. DynamoDB itself reads one partition.

`queries_read_their_partition()` hands moto's own `Table.query` just the candidates:
- a Query on the table or on a local secondary index: the items of its partition
  (`table.items[hash]`, moto's own store);
- a Query on a global secondary index with one hash attribute: the items whose attribute has the
  queried value, from a map kept per index (value -> {primary key: item}).

Everything else in moto's Query is unchanged (its key checks run again on the candidates, then its
sort, range condition, paging, size limit, projection and filters), so every answer is the one moto
would give; `tests/adapters/test_moto_index.py` compares the two on random writes.

The maps are kept up to date cheaply: every write path marks the primary key it touched (PutItem and
DeleteItem at the table, UpdateItem in place at the backend, a cancelled transaction's undo), and a
Query first re-reads just those keys. A map is built the first time its index is queried.
Idempotent; safe across threads (one lock; the candidates are handed over per thread).

`reads_answered_as_json()`: moto writes a Query's, GetItem's or BatchGetItem's answer through its
model-driven serializer, which walks the botocore shape of every nested attribute value (about a
quarter of the local stack's time during the browser tests); its result is already DynamoDB's wire
form, so `json.dumps` of it is the same document (`tests/adapters/test_moto_index.py` compares the
two answers on every kind of attribute value)."""

from __future__ import annotations

import base64
import inspect
import json
import threading
from collections.abc import Callable
from typing import Any

_LOCK = threading.RLock()
_HANDED = threading.local()  # .candidates: {id(table): [items]} for the Query running in this thread
_MAPS = "_waybill_index_maps"  # on each Table: {index name: _IndexMap}


class _IndexMap:
    """One global secondary index's items by hash value, and the keys written since it was read."""

    __slots__ = ("attr", "by_value", "value_of", "dirty")

    def __init__(self, attr: str) -> None:
        self.attr = attr
        self.by_value: dict[Any, dict[Any, Any]] = {}  # hash value -> {primary key: item}
        self.value_of: dict[Any, Any] = {}  # primary key -> its hash value here
        self.dirty: set[Any] = set()

    def add(self, key: Any, item: Any) -> None:
        value = item.attrs.get(self.attr)
        if value is None:
            return
        self.by_value.setdefault(value, {})[key] = item
        self.value_of[key] = value

    def remove(self, key: Any) -> None:
        value = self.value_of.pop(key, None)
        if value is not None:
            bucket = self.by_value[value]
            bucket.pop(key, None)
            if not bucket:
                del self.by_value[value]


def _current(table: Any, key: tuple[Any, Any]) -> Any:
    hash_value, range_value = key
    if table.has_range_key:
        return table.items.get(hash_value, {}).get(range_value)
    return table.items.get(hash_value)


def _items_with_keys(table: Any) -> Any:
    if table.has_range_key:
        for hash_value, partition in table.items.items():
            for range_value, item in partition.items():
                yield (hash_value, range_value), item
    else:
        for hash_value, item in table.items.items():
            yield (hash_value, None), item


def touched(table: Any, hash_value: Any, range_value: Any) -> None:
    """A write changed (or may have changed) the item at this primary key."""
    maps = table.__dict__.get(_MAPS)
    if maps:
        with _LOCK:
            key = (hash_value, range_value if table.has_range_key else None)
            for index_map in maps.values():
                index_map.dirty.add(key)


def _index_map(table: Any, index_name: str, attr: str) -> _IndexMap:
    maps = table.__dict__.setdefault(_MAPS, {})
    index_map = maps.get(index_name)
    if index_map is None or index_map.attr != attr:
        index_map = maps[index_name] = _IndexMap(attr)
        for key, item in _items_with_keys(table):
            index_map.add(key, item)
    elif index_map.dirty:
        for key in index_map.dirty:
            index_map.remove(key)
            item = _current(table, key)
            if item is not None:
                index_map.add(key, item)
        index_map.dirty.clear()
    return index_map


def _candidates(table: Any, hash_key: Any, index_name: str | None, hash_conditions: Any) -> list[Any] | None:
    """The items the Query can match, or None when moto should walk the table itself."""
    if not index_name:
        partition = table.items.get(hash_key) if hash_key is not None else None
        if partition is None:
            return []
        return list(partition.values()) if table.has_range_key else [partition]
    conditions = dict(hash_conditions or [])
    if any(index.name == index_name for index in table.indexes):  # a local index: the table's partition
        value = conditions.get(table.hash_key_attr)
        if value is None or len(conditions) != 1:
            return None
        return _candidates(table, value, None, None)
    index = next((i for i in table.global_indexes if i.name == index_name), None)
    if index is None:
        return None  # moto answers the unknown index
    hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
    if len(hashes) != 1 or set(conditions) != {hashes[0]}:
        return None
    return list(_index_map(table, index_name, hashes[0]).by_value.get(conditions[hashes[0]], {}).values())


def queries_read_their_partition() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    if getattr(Table.query, "_waybill_patched", False):
        return
    query, all_items = Table.query, Table.all_items
    put_item, delete_item, update_item = Table.put_item, Table.delete_item, DynamoDBBackend.update_item
    signature = inspect.signature(query)

    def handed_all_items(self: Any) -> list[Any]:
        candidates = getattr(_HANDED, "candidates", {}).get(id(self))
        return list(candidates) if candidates is not None else all_items(self)

    def partition_query(self: Any, *args: Any, **kwargs: Any) -> Any:
        call = signature.bind(self, *args, **kwargs)
        call.apply_defaults()
        a = call.arguments
        with _LOCK:
            candidates = _candidates(self, a["hash_key"], a["index_name"], a["hash_key_conditions"])
        if candidates is None:
            return query(self, *args, **kwargs)
        handed = _HANDED.__dict__.setdefault("candidates", {})
        handed[id(self)] = candidates
        try:
            return query(self, *args, **kwargs)
        finally:
            handed.pop(id(self), None)

    partition_query.__signature__ = signature  # type: ignore[attr-defined]  # a wrapper over it binds moto's arguments

    def marking_put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        item = put_item(self, *args, **kwargs)
        touched(self, item.hash_key, item.range_key)
        return item

    def marking_delete_item(self: Any, hash_key: Any, range_key: Any = None, *args: Any, **kwargs: Any) -> Any:
        try:
            return delete_item(self, hash_key, range_key, *args, **kwargs)
        finally:
            touched(self, hash_key, range_key)

    def marking_update_item(self: Any, table_name: str, key: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return update_item(self, table_name, key, *args, **kwargs)  # changes the stored item in place
        finally:
            try:
                table = self.get_table(table_name)
                touched(table, *self.get_keys_value(table, key))
            except Exception:  # noqa: BLE001 - moto has answered the bad key; no item was written
                pass

    for name, patched in [
        ("query", partition_query),
        ("all_items", handed_all_items),
        ("put_item", marking_put_item),
        ("delete_item", marking_delete_item),
    ]:
        patched._waybill_patched = True  # type: ignore[attr-defined]
        setattr(Table, name, patched)
    marking_update_item._waybill_patched = True  # type: ignore[attr-defined]
    DynamoDBBackend.update_item = marking_update_item  # type: ignore[method-assign]


JSON_READS = ("Query", "GetItem", "BatchGetItem")


def _blob(value: Any) -> str:
    """A binary attribute value, as DynamoDB's JSON carries it (base64)."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def json_read_answer(original: Callable[..., Any]) -> Callable[..., Any]:
    """moto's `DynamoResult.execute_result`, answering the reads with `json.dumps` of their result."""

    def execute_result(self: Any, context: Any) -> Any:
        if context.operation_model.name in JSON_READS:
            return 200, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps(self.result, default=_blob)
        return original(self, context)

    execute_result._waybill_patched = True  # type: ignore[attr-defined]
    execute_result.original = original  # type: ignore[attr-defined]
    return execute_result


def reads_answered_as_json() -> None:
    from moto.dynamodb.responses import DynamoResult

    if getattr(DynamoResult.execute_result, "_waybill_patched", False):
        return
    DynamoResult.execute_result = json_read_answer(DynamoResult.execute_result)  # type: ignore[method-assign]
