"""The money area's part of the storage port (`services.ports.Store` inherits `MoneyReads`).

A `Payment` is one money movement of an order (`domain.payments.PaymentKind`: checkout's payment or
authorisation, a capture, cash collected, an offline payment, an adjustment, a refund), keyed by its
order and its id. It is created once (a retried step names the same id, so a create of an existing
one is an `AlreadyExists`) and changed under its version (a refund: `pending` -> `succeeded` |
`failed`). Its fields are the ones the views and `domain.payments` read, under the same names.

An order's payments are read with the order (`OrdersReads.order_trail`: `OrderTrail.payments`);
one payment is `load(Payment, order_id, payment_id)`; every payment of an order with its version is
`payments_of`. Settling a supplier's acknowledgement walks `campaign_orders_supplied_by`, closing a
campaign into its POs (`services.campaign_close`) `campaign_orders_to_close`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ..domain.orders import Order, OrderStatus
from .ports_common import Page, Versioned


@dataclass
class Payment:
    """A money movement of an order (see the module docstring)."""

    id: str
    order_id: str
    payment_kind: str  # a `domain.payments.PaymentKind` value
    supplier_id: str  # "" when it is the whole order's
    amount_cents: int
    currency: str
    status: str  # `domain.payments`: pending, succeeded, failed, awaiting_transfer, ...
    idempotency_key: str  # what the gateway was (and is again) sent
    created_at: datetime
    updated_at: datetime
    complaint_id: str | None = None  # a refund: the complaint that decided it
    sku: str | None = None  # a refund: the line it pays back
    gateway_reference: str | None = None
    failure: str | None = None
    reason: str | None = None  # why the money moves
    actor: str | None = None  # who made it move (a staff member's sub, or "system")
    attempts: int = 0  # gateway attempts that got no answer


PaymentRead = Versioned[Payment]


class MoneyReads(Protocol):
    def payments_of(self, order_id: str) -> list[PaymentRead]:
        """Every payment of the order, oldest first, each with its version: one read (a Query of the
        order's payment records)."""
        ...

    def campaign_orders_supplied_by(
        self, campaign_id: str, supplier_id: str, *, limit: int, cursor: str | None = None
    ) -> Page[Versioned[Order]]:
        """The campaign's orders with a delivery by that supplier, oldest first (a short acceptance goes to
        the earliest orders), each with its version: one parallel step over the campaign's order shards a
        page (a filtered listing, so a page may hold fewer than `limit` while a cursor follows)."""
        ...

    def campaign_orders_to_close(
        self, campaign_id: str, statuses: Sequence[OrderStatus], *, limit: int, cursor: str | None = None
    ) -> Page[Versioned[Order]]:
        """The campaign's orders in those statuses, each once with its version, in no promised order (a close
        orders them in chunks, not by age): a page reads its items once, shard after shard (a filtered
        listing, so a page may hold fewer than `limit` while a cursor follows)."""
        ...
