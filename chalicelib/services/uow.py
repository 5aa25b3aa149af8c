"""The one seam through which services reach storage: `store()` is the `ports.Store` in use.

By default the DynamoDB store (built once, on first use); a test installs another for a block with
`using(MemoryStore())`, with no patching of modules. `legacy_writes` and `legacy_delivery` bridge a
moved service and a service not yet on the port (DynamoDB writes one takes, an item one hands over);
`legacy_commit` commits a moved service's changes with such writes in one transaction;
`legacy_exception` hands `services.exceptions` an item a service not yet on the port read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from ..domain.exceptions import ExceptionRecord
from .ports import Change, Store

_installed: list[Store] = []
_default: Store | None = None


def store() -> Store:
    """The store services use now: the innermost one installed with `using`, else the DynamoDB one."""
    global _default
    if _installed:
        return _installed[-1]
    if _default is None:
        from ..adapters.dynamodb.store import DynamoStore

        _default = DynamoStore()
    return _default


@contextmanager
def using(installed: Store) -> Iterator[Store]:
    """Install `installed` as the store for the block (blocks nest; the outer one is back after)."""
    _installed.append(installed)
    try:
        yield installed
    finally:
        _installed.remove(installed)


def legacy_writes(changes: Sequence[Change], *, at: datetime) -> list[Any]:
    """`changes` as the DynamoDB helpers' writes, for a call into a service not yet on the port that
    commits them in its own transaction (e.g. `services.exceptions.opening_writes` for `services.orders`
    placing a held order). Always the DynamoDB store's writes: that service writes to DynamoDB whichever
    store is installed. Goes away when that service moves onto the port."""
    from ..adapters.dynamodb.store import DynamoStore

    return DynamoStore().writes(changes, at=at)[0]


def legacy_commit(changes: Sequence[Change], writes: Sequence[Any], *, what: str, at: datetime) -> None:
    """`changes` and a caller's DynamoDB `writes` in ONE DynamoDB transaction, in that order, as
    the callers not yet on the port had them committed (`services.exceptions`' `with_writes=`).
    Always the DynamoDB store, whichever store is installed: those writes go to DynamoDB. Goes away
    when the last such caller moves."""
    from ..adapters.dynamodb import repository
    from ..adapters.dynamodb.store import DynamoStore

    before, _ = DynamoStore().writes(changes, at=at)
    repository.commit([*before, *writes], what=what)


def legacy_exception(item: Any) -> ExceptionRecord:
    """An exception item read by a service not yet on the port (e.g. in its BatchGetItem), as the
    domain's `ExceptionRecord` (its `version`: the item's), for `services.exceptions.resolution_writes`.
    Goes away when those services move."""
    from ..adapters.dynamodb.store_exceptions import record_from_item

    return record_from_item(item)
