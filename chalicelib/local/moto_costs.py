"""Four of moto 5.2.5's per-request costs that grow with what a request carries or what a queue
holds, cut without changing any answer (docs/design-notes.md, "Carrier webhook throughput").

Measured under carrier webhooks on the local stack (its moto server and pollers share one process,
one GIL, and that process was the bottleneck: ~0.85 of a core while the rest of the pipeline idled):

- `items_sized_once`: every item moto stores is built attribute by attribute into a dict that sums
  the size of *every* attribute already in it on each insertion (to refuse items over 400 KB): a
  parcel with its timeline cost O(attributes^2) per write. The same limit is checked once, on the
  sum of the same sizes.
- `action_methods_listed_once`: each request listed its handler class's methods with
  `inspect.getmembers` to check that the action exists (~3 % of the process's GIL time). A class's
  methods do not change while the server runs: listed once per class.
- `visible_messages_read_at_one_time`: a queue's visible messages were found by reading the clock
  twice per message held (in flight or not) on every receive: the clock is read once per receive.
- `conditions_lexed_once`: every condition and filter expression was split into tokens again on
  each request, six regular expressions tried per token (~4.5 %): an expression's tokens depend on
  its text alone, so each text is split once (the parse of names and values still runs per request).

Each is idempotent and applies to the whole process (the local stack's server, and the tests'
and benchmarks' in-process moto: tests/adapters/test_moto_costs.py compares each with moto's own).
"""

from __future__ import annotations

import functools
from typing import Any

ITEM_SIZE_LIMIT = 405_000  # moto's own figure (DynamoDB's 400 KB, measured between 409 and 410 KB)


def items_sized_once() -> None:
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    original = Item.__init__
    if getattr(original, "_waybill_patched", False):
        return

    def __init__(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        values = {key: DynamoType(value) for key, value in attrs.items()}
        # moto refused the attribute whose insertion took the running sum past the limit; sizes are
        # never negative, so that happens exactly when the whole sum is past it.
        if sum(bytesize(key) + value.size() for key, value in values.items()) > ITEM_SIZE_LIMIT:
            raise ItemSizeTooLarge
        self.attrs = LimitedSizeDict()
        dict.update(self.attrs, values)  # later sets (update expressions) still check as moto does

    __init__._waybill_patched = True  # type: ignore[attr-defined]
    __init__.original = original  # type: ignore[attr-defined]  # what the tests compare with
    Item.__init__ = __init__  # type: ignore[method-assign]


def action_methods_listed_once() -> None:
    from moto.core import responses

    original = responses.method_names_from_class  # type: ignore[attr-defined]
    if getattr(original, "_waybill_patched", False):
        return
    cached = functools.lru_cache(maxsize=None)(original)

    def method_names_from_class(clazz: object) -> list[str]:
        return list(cached(clazz))  # a copy: no caller can change what the next one reads

    method_names_from_class._waybill_patched = True  # type: ignore[attr-defined]
    method_names_from_class.original = original  # type: ignore[attr-defined]
    responses.method_names_from_class = method_names_from_class  # type: ignore[attr-defined]


def visible_messages_read_at_one_time() -> None:
    from moto.core.utils import unix_time_millis
    from moto.sqs.models import Queue

    original: Any = Queue.messages
    if getattr(original.fget, "_waybill_patched", False):
        return

    def messages(self: Any) -> list[Any]:
        now = unix_time_millis()  # Message.visible / .delayed each read it again, per message
        return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]

    messages._waybill_patched = True  # type: ignore[attr-defined]
    messages.original = original.fget  # type: ignore[attr-defined]
    Queue.messages = property(messages)  # type: ignore[method-assign, assignment]


def conditions_lexed_once() -> None:
    from collections import deque

    from moto.dynamodb.comparisons import ConditionExpressionParser

    original = ConditionExpressionParser._lex_condition_expression
    if getattr(original, "_waybill_patched", False):
        return

    @functools.lru_cache(maxsize=4096)
    def tokens(expression: str) -> tuple[Any, ...]:
        parser = ConditionExpressionParser(expression, None, None)
        return tuple(original(parser))

    def _lex_condition_expression(self: Any) -> Any:
        # The tokens are immutable named tuples (their empty `children` lists are never changed): the
        # parse after the lexing consumes the deque, so each call gets its own.
        return deque(tokens(self.condition_expression))

    _lex_condition_expression._waybill_patched = True  # type: ignore[attr-defined]
    _lex_condition_expression.original = original  # type: ignore[attr-defined]
    ConditionExpressionParser._lex_condition_expression = _lex_condition_expression  # type: ignore[method-assign]


def cut_per_request_costs() -> None:
    """All four (idempotent)."""
    items_sized_once()
    action_methods_listed_once()
    visible_messages_read_at_one_time()
    conditions_lexed_once()
