"""Sales so far per product of a campaign, for its suppliers and for staff (issue 19, point 3).

The numbers are counters kept in the order transactions (`ports_sales.CountSales`): placing an order
adds its lines; a line the supplier refused at acknowledgement, a line a customer's accepted
cancellation request took out, and an order withdrawn before it shipped take theirs off again. So
reading them is one read of the counters, never a scan of the orders.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..domain.errors import NotFound, RuleViolation
from ..domain.orders import LostLine, Order
from ..domain.permissions import READ_STAFF, Principal
from . import uow
from .guard import require
from .ports_sales import CountSales, SaleLine, SupplierSales
from .supplier_portal import supplier_of


@dataclass(frozen=True)
class ProductSalesView:
    product_id: str
    name: str
    units: int
    amount_cents: int


@dataclass(frozen=True)
class CampaignSales:
    campaign_id: str
    supplier_id: str
    currency: str
    items: list[ProductSalesView]


def placed(order: Order) -> CountSales:
    """What an order adds to its campaign's sales, in its placement's transaction."""
    lines = tuple(SaleLine(l.supplier_id, l.sku, l.name, l.quantity, l.total_cents) for l in order.lines)
    return CountSales(order.campaign_id, order.id, order.currency, lines)


def withdrawn(order: Order) -> CountSales:
    """What an order cancelled or refused takes off again (the lines it still has)."""
    lines = tuple(SaleLine(l.supplier_id, l.sku, l.name, -l.quantity, -l.total_cents) for l in order.lines)
    return CountSales(order.campaign_id, order.id, order.currency, lines)


def lines_lost(order: Order, supplier_id: str, lost: Iterable[LostLine]) -> list[CountSales]:
    """What lines a supplier refused, or a cancellation took out, take off (nothing when none)."""
    lines = tuple(SaleLine(supplier_id, l.sku, l.name, -l.quantity, -l.amount_cents) for l in lost if l.quantity)
    return [CountSales(order.campaign_id, order.id, order.currency, lines)] if lines else []


def _view(found: SupplierSales, currency: str) -> CampaignSales:
    items = [ProductSalesView(p.sku, p.name, p.units, p.amount_cents) for p in found.products]
    return CampaignSales(found.campaign_id, found.supplier_id, currency, items)


def _sales(campaign_id: str, supplier_id: str) -> CampaignSales:
    """One read when anything was sold. Only when nothing was: one more read of the campaign, which
    answers zeros for the supplier's products, or 404 if it sells none there (never confirming that
    another supplier's campaign exists)."""
    store = uow.store()
    found = store.campaign_sales(campaign_id, supplier_id)
    if found.products and found.currency is not None:
        return _view(found, found.currency)
    campaign = store.campaign_with_products(campaign_id)
    mine = [p for p in campaign.products if p.supplier_id == supplier_id] if campaign is not None else []
    if campaign is None or not mine:
        raise NotFound(f"campaign {campaign_id} not found")
    items = [ProductSalesView(p.sku, p.name, 0, 0) for p in sorted(mine, key=lambda p: p.sku)]
    return CampaignSales(campaign_id, supplier_id, campaign.record.value.campaign.currency, items)


def supplier_sales(actor: Principal, campaign_id: str) -> CampaignSales:
    """The caller's own products' sales in a campaign; 404 for a campaign it sells nothing in."""
    return _sales(campaign_id, supplier_of(actor))


def staff_sales(actor: Principal, campaign_id: str, supplier_id: str | None) -> CampaignSales:
    require(actor, READ_STAFF, "read campaign sales")
    if not supplier_id:
        raise RuleViolation(
            "supplier_required",
            "name the supplier whose sales to show",
            details=[{"field": "query.supplier_id", "message": "required"}],
        )
    return _sales(campaign_id, supplier_id)
