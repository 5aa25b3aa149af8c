"""The money area in memory: a payment's key (its order, its id) and the `MoneyReads` access patterns,
answered from the stored records the way `services.ports_money` says."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC
from typing import TYPE_CHECKING, Any, TypeVar

from ..domain.orders import Order, OrderStatus
from ..services.ports_common import Page, Versioned
from ..services.ports_money import Payment, PaymentRead

T = TypeVar("T")

# How the in-memory store keys this area's kinds (merged into `adapters.memory.KEYS`).
MONEY_KEYS: dict[type, Callable[[Any], tuple[str, ...]]] = {Payment: lambda p: (p.order_id, p.id)}


class MoneyMemory:
    _aggregates: dict[tuple[type, tuple[str, ...]], tuple[Any, int]]

    if TYPE_CHECKING:

        @staticmethod
        def _page(
            listing: str, rows: Iterable[tuple[tuple[str, ...], T]], *, limit: int, cursor: str | None, reverse: bool = False
        ) -> Page[T]: ...

    def payments_of(self, order_id: str) -> list[PaymentRead]:
        mine = [
            Versioned(copy.deepcopy(value), version)
            for (kind, key), (value, version) in self._aggregates.items()
            if kind is Payment and key[0] == order_id
        ]
        return sorted(mine, key=lambda r: (r.value.created_at, r.value.id))

    def _money_campaign_orders(self, campaign_id: str) -> list[tuple[tuple[str, ...], Versioned[Order]]]:
        """The campaign's orders with their versions, keyed oldest first (creation time, id)."""
        return [
            ((value.created_at.astimezone(UTC).isoformat(), value.id), Versioned(copy.deepcopy(value), version))
            for (kind, _), (value, version) in self._aggregates.items()
            if kind is Order and value.campaign_id == campaign_id
        ]

    def campaign_orders_supplied_by(
        self, campaign_id: str, supplier_id: str, *, limit: int, cursor: str | None = None
    ) -> Page[Versioned[Order]]:
        rows = [r for r in self._money_campaign_orders(campaign_id) if supplier_id in r[1].value.supplier_ids]
        return self._page(f"money/supplied/{campaign_id}/{supplier_id}", rows, limit=limit, cursor=cursor)

    def campaign_orders_to_close(
        self, campaign_id: str, statuses: Sequence[OrderStatus], *, limit: int, cursor: str | None = None
    ) -> Page[Versioned[Order]]:
        rows = [r for r in self._money_campaign_orders(campaign_id) if r[1].value.status in statuses]
        return self._page(f"money/to-close/{campaign_id}", rows, limit=limit, cursor=cursor)
