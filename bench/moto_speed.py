"""Shortcuts through moto's DynamoDB internals that make the benchmarks' large tables workable
in-process (the sections that read 10^4..10^5 items share them)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def faster_moto_dynamodb() -> Iterator[None]:
    """Two shortcuts through moto 5.2.5's DynamoDB internals, for this benchmark only:
    - reads (Query, GetItem, BatchGetItem) are answered with `json.dumps` of moto's result
      instead of its model-driven serializer, which spends ~20 ms per order item of a Query page
      walking the botocore shape of every nested attribute value: the same JSON document, so
      what the client parses and every request count are unchanged;
    - moto's 400 KB item-size check (re-summing every attribute on each attribute set: O(n^2)
      per item) is skipped; the items here are a few hundred bytes."""
    from moto.dynamodb.models.dynamo_type import LimitedSizeDict
    from moto.dynamodb.responses import DynamoResult

    from chalicelib.local.moto_index import json_read_answer

    saved = DynamoResult.__dict__.get("execute_result")
    saved_setitem = LimitedSizeDict.__setitem__
    if not getattr(DynamoResult.execute_result, "_waybill_patched", False):  # the local stack's patch answers so already
        DynamoResult.execute_result = json_read_answer(DynamoResult.execute_result)  # type: ignore[method-assign]
    LimitedSizeDict.__setitem__ = dict.__setitem__  # type: ignore[method-assign]
    try:
        yield
    finally:
        LimitedSizeDict.__setitem__ = saved_setitem  # type: ignore[method-assign]
        if saved is None:
            del DynamoResult.execute_result
        else:
            DynamoResult.execute_result = saved  # type: ignore[method-assign]
