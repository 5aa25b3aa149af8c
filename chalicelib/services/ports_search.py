"""The search area's storage (services/search.py): staff's search box reads find entries by prefix,
one Query per call; each person's saved views of a list are small items in their own partition.

Find entries are written by the store itself in the transaction that creates what they index (an
order placed, a parcel recorded, a supplier or a campaign created): nothing here writes them, except
`index_existing`, the one-off backfill of what a table held before they existed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from ..domain.search import FindEntry
from .ports_common import Versioned


@dataclass(frozen=True)
class SavedView:
    """A person's named filters of one list screen (`screen`: orders, exceptions, complaints, purchase_orders).
    Keyed by (owner, screen, name folded to lower case): saving under a name that exists replaces it."""

    owner: str
    screen: str
    name: str
    filters: dict[str, str] = field(default_factory=dict)
    saved_at: datetime | None = None

    @property
    def key(self) -> str:
        return self.name.strip().casefold()


class SearchReads(Protocol):
    def find(self, query: str, *, limit: int) -> list[FindEntry]:
        """Entries whose term starts with `query` (already normalised, `domain.search.normalise`), in
        term order, at most `limit`: ONE Query. A query shorter than `domain.search.PREFIX` reads the
        short index, which holds only suppliers and campaigns."""
        ...

    def saved_views(self, owner: str) -> list[Versioned[SavedView]]:
        """Every view this person saved, by screen then name: ONE Query of their partition."""
        ...

    def index_existing(self, cursor: str | None, *, limit: int) -> tuple[int, str | None]:
        """Write the find entries of up to `limit` existing orders, parcels, suppliers and campaigns, from
        where `cursor` left off: (entries written, the next cursor or None when all are done). Idempotent:
        an entry's key is its thing's and slot's, so writing it again changes nothing."""
        ...
