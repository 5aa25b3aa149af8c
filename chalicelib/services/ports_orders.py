"""The orders area's part of the storage port (`services.ports.Store` inherits `OrdersReads`).

Kinds the orders area keeps besides `Order`: a `Placement` (the record of an order placed under an
Idempotency-Key, created once), a `ShipmentCopy` (the customer's copy of a parcel in the order's
history) and a `CancellationRequest` (`services.cancellations`). Reads: the order with its trail (one
read), the context of a placement and of a decision on a cancellation request (one read each), the
staff search and the customer's list (one read a page), the orders of a parcel, a campaign's orders in
some statuses and a PO's cancellation requests waiting for a decision.

`RequestRead` is a cancellation request as read, with the version a change of it must name.

An `OrderTrail`'s `payments` are the money area's records (`ports_money.Payment`, with their
versions); a `DecisionContext`'s `exception` is the request's `ExceptionRecord` (its `version`: the one
read), which the decision resolves in its own commit (`services.exceptions.resolution_changes`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeAlias, TypeVar

from ..domain.addresses import Address
from ..domain.audit import AuditEvent
from ..domain.campaigns import Campaign, Product
from ..domain.exceptions import ExceptionRecord
from ..domain.orders import Order, OrderStatus
from .ports_common import Page, Versioned
from .ports_money import PaymentRead

T = TypeVar("T")


@dataclass(frozen=True)
class Placement:
    """An order placed under an Idempotency-Key (`scope`: whose keys, e.g. `orders#<customer>`): created
    once, with the hash of the request, so a retry of the same request answers the same order."""

    scope: str
    key: str
    request_hash: str
    order_id: str
    created_at: datetime


@dataclass(frozen=True)
class TrackingStep:
    occurred_at: datetime
    status: str
    description: str | None = None
    location: str | None = None
    carrier_code: str | None = None


@dataclass(frozen=True)
class ShipmentCopy:
    """The customer's copy of a parcel carrying (part of) an order's delivery, kept with the order."""

    shipment_id: str
    order_id: str
    supplier_id: str
    carrier: str
    tracking_number: str
    tracking_url: str
    status: str
    status_at: datetime | None
    created_at: datetime
    updated_at: datetime
    timeline: list[TrackingStep] = field(default_factory=list)


@dataclass(frozen=True)
class CancellationLine:
    sku: str
    name: str
    quantity: int


@dataclass
class CancellationRequest:
    """A customer's request, after the close, to cancel lines of one supplier's delivery (requested ->
    accepted | refused; see `services.cancellations`). Its id names its order. While it is `requested`
    it is on its PO's list of requests waiting for a decision."""

    id: str
    order_id: str
    campaign_id: str
    supplier_id: str
    po_id: str
    customer_id: str
    reference: str
    lines: list[CancellationLine]
    everything: bool  # the customer asked for everything not yet dispatched
    reason: str
    status: str
    requested_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None  # the deciding principal's sub
    decided_role: str | None = None
    decision_note: str | None = None
    cancelled_cents: int | None = None  # what accepting it cancelled


RequestRead: TypeAlias = Versioned[CancellationRequest]


@dataclass(frozen=True)
class DecisionContext:
    """What deciding a cancellation request reads, in one read: the request, its order (with its version)
    and its customer-care exception (its `version`: the one read; None when there is none)."""

    request: RequestRead | None
    order: Order | None
    order_version: int
    exception: ExceptionRecord | None


@dataclass
class OrderTrail:
    """An order with everything its views show, and the version a change of it must name: one read."""

    order: Order
    version: int
    updated_at: datetime
    events: list[AuditEvent] = field(default_factory=list)  # oldest first
    shipments: list[ShipmentCopy] = field(default_factory=list)  # oldest first
    payments: list[PaymentRead] = field(default_factory=list)  # `ports_money.Payment`s, oldest first
    cancellation_requests: list[RequestRead] = field(default_factory=list)  # oldest first


@dataclass(frozen=True)
class PlacementContext:
    """What placing an order reads, in one read: the campaign, the products asked for that it sells,
    whether the customer is flagged, an earlier placement under the same key, the named saved address."""

    campaign: Campaign | None
    products: dict[str, Product]
    customer_flagged: bool
    placement: Placement | None
    address: Address | None


@dataclass
class OrderSummary:
    id: str
    campaign_id: str
    customer_id: str
    customer_email: str | None
    status: str
    total_cents: int
    currency: str
    created_at: datetime
    supplier_ids: list[str]

    @classmethod
    def of(cls, order: Order) -> OrderSummary:
        return cls(
            order.id,
            order.campaign_id,
            order.customer_id,
            order.customer_email,
            order.status.value,
            order.total_cents,
            order.currency,
            order.created_at,
            list(order.supplier_ids),
        )


@dataclass(frozen=True)
class OrderFilters:
    status: OrderStatus | None = None
    campaign_id: str | None = None
    supplier_id: str | None = None
    customer_id: str | None = None
    customer_email: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    # Several statuses at once (the staff list's multi-select): one Query per status's shards, merged.
    # `status` alone is the one-status filter it always was; both given: their union.
    statuses: tuple[OrderStatus, ...] = ()

    @property
    def wanted_statuses(self) -> tuple[OrderStatus, ...]:
        """Every status asked for, each once, in a stable order (the listing a cursor belongs to)."""
        asked = {*self.statuses, *([self.status] if self.status else [])}
        return tuple(s for s in OrderStatus if s in asked)


class OrdersReads(Protocol):
    def order_trail(self, order_id: str) -> OrderTrail | None:
        """The order with its audit events, its shipment copies, payments and cancellation requests,
        or None: one read (a Query of the order's partition)."""
        ...

    def placement_context(
        self,
        campaign_id: str,
        customer_id: str,
        skus: Sequence[str],
        *,
        placement: tuple[str, str] | None = None,
        address_id: str | None = None,
    ) -> PlacementContext:
        """See `PlacementContext`: one read (a BatchGetItem) of the campaign, the customer's profile, the
        products of `skus` (the first 95 distinct), the placement (scope, key) and the customer's saved
        address `address_id` when named."""
        ...

    def search_orders(self, filters: OrderFilters, *, limit: int, cursor: str | None = None) -> Page[OrderSummary]:
        """Orders matching every filter, newest first: one read a page. The most selective filter picks
        the listing (customer, customer e-mail, campaign, supplier, status, every order), the others
        filter within it, so a page may hold fewer than `limit` while a cursor follows; a cursor is only
        good for the listing it came from."""
        ...

    def orders_shipped_as(self, tracking_number: str) -> list[Order]:
        """The orders a parcel with that tracking number carries (any carrier), in no order: one
        Query of the tracking index and one BatchGetItem of the orders."""
        ...

    def decision_context(self, request_id: str, exception_id: str) -> DecisionContext:
        """The request, its order and its exception (`exception_id`: the exception's id): one read (a
        BatchGetItem). A request id that names no order reads as nothing found."""
        ...

    def waiting_cancellation_requests(self, po_id: str, *, limit: int, cursor: str | None = None) -> Page[RequestRead]:
        """The PO's cancellation requests still `requested`, oldest first: one read a page."""
        ...

    def campaign_orders_in(
        self, campaign_id: str, statuses: Sequence[OrderStatus], *, limit: int, cursor: str | None = None
    ) -> Page[Order]:
        """The campaign's orders in those statuses, oldest first: one read a page (a filtered listing,
        so a page may hold fewer than `limit` while a cursor follows)."""
        ...
