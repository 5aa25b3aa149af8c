"""The one seam through which services reach storage: `store()` is the `ports.Store` in use.

By default the DynamoDB store (built once, on first use); a test installs another for a block with
`using(MemoryStore())`, with no patching of modules. `legacy_writes` bridges a moved service to a
service not yet on the port that still takes the DynamoDB helpers' writes (see its docstring).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

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
    commits them in its own transaction (e.g. `services.exceptions.resolve(with_writes=...)`). Always
    the DynamoDB store's writes: that service writes to DynamoDB whichever store is installed. Goes
    away when that service moves onto the port."""
    from ..adapters.dynamodb.store import DynamoStore

    return DynamoStore().writes(changes, at=at)[0]
