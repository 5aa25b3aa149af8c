"""The one seam through which services reach storage: `store()` is the `ports.Store` in use.

By default the DynamoDB store (built once, on first use); a test installs another for a block with
`using(MemoryStore())`, with no patching of modules. Its default construction is the one place a
module of `services` imports the DynamoDB adapter (tests/unit/test_layering.py holds it to that).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from .ports import Store

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
