"""The search area in memory (`services.ports_search.SearchReads`): find entries derived from the stored
orders, parcels, suppliers and campaigns at each search (what the DynamoDB store writes when it creates
them), answered in the order and with the limits of its index; saved views kept by (owner, screen, name)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..domain.orders import Order
from ..domain.search import FindEntry, FindKind, matches, named_entries, order_entries, shipment_entries
from ..services.ports_common import Versioned
from ..services.ports_search import SavedView
from ..services.ports_shipments import ShipmentRecord

SEARCH_KEYS: dict[type, Callable[[Any], tuple[str, ...]]] = {
    SavedView: lambda v: (v.owner.strip().lower(), v.screen, v.key),
}


class SearchMemory:
    """Mixed into `MemoryStore`, whose dict it reads."""

    _aggregates: dict[tuple[type, tuple[str, ...]], tuple[Any, int]]

    def _entries(self) -> list[FindEntry]:
        from ..services.ports import CampaignRecord, Supplier  # (the port's module imports this area's)

        found: list[FindEntry] = []
        for (kind, _), (obj, _version) in self._aggregates.items():
            if kind is Order:
                name = obj.shipping_address.name if obj.shipping_address else None
                found += order_entries(obj.id, obj.customer_id, obj.customer_email, name)
            elif kind is ShipmentRecord and not obj.superseded_by:  # a corrected number is no longer found
                s = obj.shipment
                found += shipment_entries(s.carrier, s.tracking_number, s.po_id, s.order_ids)
            elif kind is Supplier:
                found += named_entries(FindKind.SUPPLIER, obj.id, obj.name)
            elif kind is CampaignRecord:
                found += named_entries(FindKind.CAMPAIGN, obj.campaign.id, obj.campaign.name)
        return found

    def find(self, query: str, *, limit: int) -> list[FindEntry]:
        hits = [e for e in self._entries() if query and matches(e, query)]
        hits.sort(key=lambda e: (e.term, e.kind.value, e.id, e.slot))  # the index's sort key
        return hits[:limit]

    def saved_views(self, owner: str) -> list[Versioned[SavedView]]:
        who = owner.strip().lower()
        mine = [
            Versioned(obj, version)
            for (kind, key), (obj, version) in self._aggregates.items()
            if kind is SavedView and key[0] == who
        ]
        return sorted(mine, key=lambda v: (v.value.screen, v.value.key))

    def index_existing(self, cursor: str | None, *, limit: int) -> tuple[int, str | None]:
        return 0, None  # entries are derived from what is stored: nothing was ever left unindexed
