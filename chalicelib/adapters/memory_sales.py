"""Sales counters in memory (`services.ports_sales`), for the in-memory store."""

from __future__ import annotations

from ..services.ports_sales import CountSales, ProductSales, SupplierSales


class SalesMemory:
    """Counters per (campaign, supplier, SKU): [units, cents]; names and currency beside them."""

    _sales: dict[tuple[str, str, str], list[int]]
    _sale_names: dict[tuple[str, str, str], str]
    _sale_currency: dict[str, str]

    def _init_sales(self) -> None:
        self._sales = {}
        self._sale_names = {}
        self._sale_currency = {}

    def _apply_sales(self, change: CountSales) -> None:
        self._sale_currency[change.campaign_id] = change.currency
        for line in change.lines:
            key = (change.campaign_id, line.supplier_id, line.sku)
            row = self._sales.setdefault(key, [0, 0])
            row[0] += line.units
            row[1] += line.amount_cents
            self._sale_names[key] = line.name

    def campaign_sales(self, campaign_id: str, supplier_id: str) -> SupplierSales:
        rows = sorted((k[2], v) for k, v in self._sales.items() if k[0] == campaign_id and k[1] == supplier_id)
        products = [ProductSales(sku, self._sale_names[(campaign_id, supplier_id, sku)], v[0], v[1]) for sku, v in rows]
        return SupplierSales(campaign_id, supplier_id, self._sale_currency.get(campaign_id) if products else None, products)
