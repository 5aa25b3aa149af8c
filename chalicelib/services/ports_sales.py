"""Sales so far per product, kept as counters in the order transactions: the port's part for `services.sales`.

An order's placement adds, in its own transaction, the units and amount of each of its lines to its
campaign's sales counters (`CountSales`); an order withdrawn before it ships (cancelled, refused at
pre-approval) takes its lines off again with the same change, negated. Reading a campaign's sales never
scans orders: `SalesReads.campaign_sales` is one read of the counters (on DynamoDB one BatchGetItem of its
shards, each one sharded by order id like the campaign's summary, so hot campaigns do not contend).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class SaleLine:
    """What one order line adds to (or, negated, takes off) a supplier's product counters."""

    supplier_id: str
    sku: str
    name: str
    units: int
    amount_cents: int


@dataclass(frozen=True)
class CountSales:
    """A change of a commit: `lines` ADDed to the campaign's sales counters (`subject_id`: the order that
    moved them, which picks the shard). Lines of the same supplier and SKU may repeat: they add up."""

    campaign_id: str
    subject_id: str
    currency: str
    lines: tuple[SaleLine, ...]


@dataclass(frozen=True)
class ProductSales:
    sku: str
    name: str
    units: int
    amount_cents: int


@dataclass(frozen=True)
class SupplierSales:
    """One supplier's counters in one campaign, by SKU; `currency` None when nothing was ever counted."""

    campaign_id: str
    supplier_id: str
    currency: str | None
    products: list[ProductSales]


class SalesReads(Protocol):
    def campaign_sales(self, campaign_id: str, supplier_id: str) -> SupplierSales:
        """The supplier's sales counters in that campaign, by SKU (products nothing was counted for are
        absent; a product whose orders were all withdrawn reads as zeros): one read."""
        ...
