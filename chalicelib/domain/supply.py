"""How customer orders become supplier quantities, and back again.

At close, every placed order's lines are summed per (supplier, SKU) into one purchase order
per supplier (`POAggregate`: it holds sums only, never the orders, so memory stays flat
however many orders a campaign has). After the supplier acknowledges, what it accepted is
shared out over the orders first come, first served by creation time (`Allocator`); what an
order loses is refunded.

Both are streaming: the caller feeds orders one page at a time, oldest first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from .campaigns import Product
from .errors import RuleViolation
from .orders import OrderLine
from .purchase_orders import POLine, PurchaseOrder, po_id


@dataclass
class POAggregate:
    """Quantities per (supplier, SKU) and orders per supplier, summed as orders stream by."""

    quantities: dict[str, dict[str, int]] = field(default_factory=dict)
    order_counts: dict[str, int] = field(default_factory=dict)

    def add(self, lines: Iterable[OrderLine]) -> None:
        """Add one order's lines (only those whose delivery goes on a PO)."""
        suppliers = set()
        for line in lines:
            per_sku = self.quantities.setdefault(line.supplier_id, {})
            per_sku[line.sku] = per_sku.get(line.sku, 0) + line.quantity
            suppliers.add(line.supplier_id)
        for supplier_id in suppliers:
            self.order_counts[supplier_id] = self.order_counts.get(supplier_id, 0) + 1

    def purchase_orders(
        self, campaign_id: str, currency: str, products: dict[str, Product], created_at: datetime
    ) -> list[PurchaseOrder]:
        """One PO per supplier with anything ordered; unit costs from the campaign's products."""
        missing = sorted(sku for per_sku in self.quantities.values() for sku in per_sku if sku not in products)
        if missing:
            raise RuleViolation("unknown_product", f"ordered SKUs missing from the campaign: {', '.join(missing)}")
        return [
            PurchaseOrder(
                id=po_id(campaign_id, supplier_id),
                campaign_id=campaign_id,
                supplier_id=supplier_id,
                currency=currency,
                created_at=created_at,
                order_count=self.order_counts[supplier_id],
                lines=[
                    POLine(sku=sku, name=products[sku].name, ordered_quantity=qty, unit_cost_cents=products[sku].unit_cost_cents)
                    for sku, qty in sorted(per_sku.items())
                ],
            )
            for supplier_id, per_sku in sorted(self.quantities.items())
        ]


class Allocator:
    """Shares a PO's accepted quantity per SKU among orders, first come first served.

    Feed orders oldest first: `take` gives an unsettled order what is left (up to what it
    asked for); `replay` accounts for an order settled earlier, so a rerun after a crash or a
    redelivery shares out exactly as the first run did."""

    def __init__(self, accepted: dict[str, int]) -> None:
        if any(q < 0 for q in accepted.values()):
            raise ValueError("accepted quantities are never negative")
        self.remaining = dict(accepted)

    def offer(self, sku: str, quantity: int) -> int:
        """What an order asking for `quantity` would keep now (nothing is taken yet)."""
        return min(quantity, self.remaining.get(sku, 0))

    def take(self, sku: str, quantity: int) -> int:
        kept = self.offer(sku, quantity)
        self.remaining[sku] = self.remaining.get(sku, 0) - kept
        return kept

    def replay(self, sku: str, kept: int) -> None:
        self.remaining[sku] = max(0, self.remaining.get(sku, 0) - kept)


def accepted_quantities(po: PurchaseOrder) -> dict[str, int]:
    """What the supplier accepted per SKU (an unanswered line counts as nothing accepted)."""
    return {line.sku: line.accepted_quantity or 0 for line in po.lines}


def allocate(accepted: dict[str, int], claims: Iterable[tuple[str, str, int]]) -> dict[tuple[str, str], int]:
    """Kept quantity per (order, SKU) for claims (order id, SKU, quantity) given oldest first."""
    allocator = Allocator(accepted)
    return {(order_id, sku): allocator.take(sku, qty) for order_id, sku, qty in claims}
