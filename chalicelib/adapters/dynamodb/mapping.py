"""Where an area registers how its aggregates are stored in the single table.

`DynamoStore` answers `load`, `Save` and `Remove` for a registered kind through its `Mapper`, so an
area moving onto the port (see `services.ports`) adds its kinds in its own module
(`adapters/dynamodb/store_<area>.py`) instead of another branch in the store's chains; `store.py`
imports each such module once so its registrations run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import repository as repo

Writes = list[repo.Write | repo.Update | repo.Delete]


@dataclass(frozen=True)
class Mapper:
    """One kind's storage: `load(*key)` is one read answering (object, version) or None; `save(obj,
    expected_version, at)` the transaction's writes for it (`expected_version` None: only if it does
    not exist yet; put that condition on the first write, it is the one a failed create is read from);
    `remove(obj, expected_version)` the writes that delete it, if the kind can be removed."""

    load: Callable[..., tuple[Any, int] | None]
    save: Callable[[Any, int | None, datetime], Writes]
    remove: Callable[[Any, int], Writes] | None = None


MAPPERS: dict[type, Mapper] = {}


def register(kind: type, mapper: Mapper) -> None:
    if kind in MAPPERS and MAPPERS[kind] is not mapper:
        raise ValueError(f"{kind.__name__} is registered twice")
    MAPPERS[kind] = mapper
