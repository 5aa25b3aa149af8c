"""What every part of the storage port shares: an aggregate with its version, a page of a listing.

In its own module so that the areas' parts of the port (`ports_<area>.py`), which `ports.Store`
inherits, can use them without importing `ports` back; `ports` re-exports both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Versioned(Generic[T]):
    """An aggregate as read, with the version a change of it must name."""

    value: T
    version: int


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a named listing; `cursor` (opaque) asks for the next one, None when it was the last."""

    items: list[T]
    cursor: str | None
