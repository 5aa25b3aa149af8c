"""The orders area in memory: its kinds' keys and the `OrdersReads` access patterns, answered from the
stored domain objects the way `services.ports_orders` says.

An order trail's `payments` are the money area's records of the order; a decision's context reads the
request's exception record as stored (its `version`: the store's). An order's `updated_at` is when its
trail last moved (its last event, else its creation): the in-memory store keeps no item timestamps.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from ..domain.audit import AuditEvent
from ..domain.errors import RuleViolation
from ..domain.exceptions import ExceptionRecord
from ..domain.orders import Order, OrderStatus
from ..services.ports import AddressEntry, CampaignProduct, CampaignRecord, Customer, Versioned
from ..services.ports_common import Page
from ..services.ports_orders import (
    CancellationRequest,
    DecisionContext,
    OrderFilters,
    OrderSummary,
    OrderTrail,
    Placement,
    PlacementContext,
    RequestRead,
    ShipmentCopy,
)

if TYPE_CHECKING:
    from ..services.ports import A
    from ..services.ports_money import PaymentRead

T = TypeVar("T")

# How the in-memory store keys these kinds (merged into `adapters.memory.KEYS`).
ORDERS_KEYS: dict[type, Callable[[Any], tuple[str, ...]]] = {
    Placement: lambda p: (p.scope, p.key),
    ShipmentCopy: lambda s: (s.order_id, s.shipment_id),
}


def _paged(
    listing: str, rows: Iterable[tuple[tuple[str, ...], T]], *, limit: int, cursor: str | None, reverse: bool = False
) -> Page[T]:
    """Rows (sort key, value) paged in sort-key order (`reverse`: descending), as `memory._page` pages (this
    module cannot import it: `memory` imports this one): the cursor names the listing and the last key."""
    after: tuple[str, ...] | None = None
    if cursor:
        try:
            raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            ok = isinstance(raw, dict) and raw.get("listing") == listing and isinstance(raw.get("after"), list)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            ok = False
        if not ok:
            raise RuleViolation("invalid_cursor", "the cursor is not one this listing returned")
        after = tuple(raw["after"])
    ordered = sorted(rows, key=lambda r: r[0], reverse=reverse)
    remaining = [r for r in ordered if after is None or (r[0] < after if reverse else r[0] > after)]
    shown = remaining[:limit]
    next_cursor = None
    if len(remaining) > limit and shown:
        token = json.dumps({"listing": listing, "after": list(shown[-1][0])}).encode()
        next_cursor = base64.urlsafe_b64encode(token).decode().rstrip("=")
    return Page([v for _, v in shown], next_cursor)


def _ts(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%f")


def _newest_first(order: Order) -> tuple[str, ...]:
    return (_ts(order.created_at), order.id)


def _listing(f: OrderFilters) -> str:
    """The listing a search reads, picked as the DynamoDB store picks its index: a cursor is good for it only."""
    if f.customer_id:
        return f"orders/customer/{f.customer_id}"
    if f.customer_email:
        return f"orders/email/{f.customer_email.strip().lower()}"
    if f.campaign_id:
        return f"orders/campaign/{f.campaign_id}"
    if f.supplier_id:
        return f"orders/supplier/{f.supplier_id}"
    if f.wanted_statuses:
        return f"orders/status/{','.join(s.value for s in f.wanted_statuses)}"
    return "orders/all"


def _matches(o: Order, f: OrderFilters) -> bool:
    return (
        (not f.wanted_statuses or o.status in f.wanted_statuses)
        and (f.campaign_id is None or o.campaign_id == f.campaign_id)
        and (f.supplier_id is None or f.supplier_id in o.supplier_ids)
        and (f.customer_id is None or o.customer_id == f.customer_id)
        and (f.customer_email is None or (o.customer_email or "").strip().lower() == f.customer_email.strip().lower())
        and (f.created_from is None or o.created_at >= f.created_from)
        and (f.created_to is None or o.created_at <= f.created_to)
    )


class OrdersMemory:
    """`services.ports_orders.OrdersReads` over the in-memory store's dicts."""

    _events: dict[tuple[str, str], dict[str, AuditEvent]]
    _aggregates: dict[tuple[type, tuple[str, ...]], tuple[Any, int]]

    if TYPE_CHECKING:

        def load(self, kind: type[A], *key: str) -> Versioned[A] | None: ...
        def _all(self, kind: type[Any]) -> list[Any]: ...
        def payments_of(self, order_id: str) -> list[PaymentRead]: ...

    def order_trail(self, order_id: str) -> OrderTrail | None:
        found = self.load(Order, order_id)
        if found is None:
            return None
        events = sorted(self._events.get(("order", order_id), {}).values(), key=lambda e: (_ts(e.at), e.id))
        shipments = sorted((s for s in self._all(ShipmentCopy) if s.order_id == order_id), key=lambda s: s.created_at)
        updated_at = max([found.value.created_at, *(e.at for e in events)])
        return OrderTrail(
            found.value,
            found.version,
            updated_at,
            [copy.deepcopy(e) for e in events],
            shipments,
            self.payments_of(order_id),
            self._requests(order_id),
        )

    def _requests(self, order_id: str) -> list[RequestRead]:
        reads = [RequestRead(v, n) for (kind, _), (v, n) in self._aggregates.items() if kind is CancellationRequest]
        mine = [RequestRead(copy.deepcopy(r.value), r.version) for r in reads if r.value.order_id == order_id]
        return sorted(mine, key=lambda r: (r.value.requested_at, r.value.id))

    def placement_context(
        self,
        campaign_id: str,
        customer_id: str,
        skus: Sequence[str],
        *,
        placement: tuple[str, str] | None = None,
        address_id: str | None = None,
    ) -> PlacementContext:
        campaign = self.load(CampaignRecord, campaign_id)
        products = (self.load(CampaignProduct, campaign_id, sku) for sku in list(dict.fromkeys(skus))[:95])
        profile = self.load(Customer, customer_id)
        previous = self.load(Placement, *placement) if placement is not None else None
        saved = self.load(AddressEntry, customer_id, address_id) if address_id is not None else None
        return PlacementContext(
            campaign=campaign.value.campaign if campaign is not None else None,
            products={p.value.product.sku: p.value.product for p in products if p is not None},
            customer_flagged=bool(profile and profile.value.flagged),
            placement=previous.value if previous is not None else None,
            address=saved.value.address if saved is not None else None,
        )

    def search_orders(self, filters: OrderFilters, *, limit: int, cursor: str | None = None) -> Page[OrderSummary]:
        rows = [(_newest_first(o), OrderSummary.of(o)) for o in self._all(Order) if _matches(o, filters)]
        return _paged(_listing(filters), rows, limit=limit, cursor=cursor, reverse=True)

    def orders_shipped_as(self, tracking_number: str) -> list[Order]:
        order_ids = {s.order_id for s in self._all(ShipmentCopy) if s.tracking_number == tracking_number}
        return [o for o in self._all(Order) if o.id in order_ids]

    def decision_context(self, request_id: str, exception_id: str) -> DecisionContext:
        request = self.load(CancellationRequest, request_id)
        order = self.load(Order, request_id.partition(".")[0])  # (a request's id names its order)
        exception = self.load(ExceptionRecord, exception_id)
        return DecisionContext(
            RequestRead(request.value, request.version) if request is not None else None,
            order.value if order is not None else None,
            order.version if order is not None else 0,
            replace(exception.value, version=exception.version) if exception is not None else None,
        )

    def waiting_cancellation_requests(self, po_id: str, *, limit: int, cursor: str | None = None) -> Page[RequestRead]:
        rows = [
            ((_ts(r.value.requested_at), r.value.id), RequestRead(copy.deepcopy(r.value), r.version))
            for r in (RequestRead(v, n) for (kind, _), (v, n) in self._aggregates.items() if kind is CancellationRequest)
            if r.value.po_id == po_id and r.value.status == "requested"
        ]
        return _paged(f"cancellation_requests/{po_id}", rows, limit=limit, cursor=cursor)

    def campaign_orders_in(
        self, campaign_id: str, statuses: Sequence[OrderStatus], *, limit: int, cursor: str | None = None
    ) -> Page[Order]:
        rows = [(_newest_first(o), o) for o in self._all(Order) if o.campaign_id == campaign_id and o.status in statuses]
        return _paged(f"orders/campaign/{campaign_id}", rows, limit=limit, cursor=cursor)
