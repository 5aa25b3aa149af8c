"""The port's two generic values, `Versioned` and `Page`, in a module of their own so that an area's
part of the port (`services/ports_<area>.py`, which `services.ports` imports) can name them too."""

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
