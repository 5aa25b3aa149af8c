"""Sales counters on the single table (`services.ports_sales`).

A campaign's sales are keys.COUNTER_SHARDS items `STATS#SALES#<campaign>#<n>` / `SHARD#<n>` (picked by the
order id as for the campaign's summary, so concurrent orders rarely touch one item, and each under its own
partition key). Each shard keeps, per supplier and SKU,
top-level number attributes `units|<supplier>|<sku>` and `cents|<supplier>|<sku>` (ADD only works on
top-level attributes) and the product's name in `name|<supplier>|<sku>`. Supplier ids and SKUs are ids
(`[A-Za-z0-9_.-]`), so `|` never appears in them. An order adds ONE update (its shard), whatever its
lines, so the placement's transaction stays far from the 100-item limit. The attributes are not
declared on the model, so the read is a raw BatchGetItem of every shard (one request) and picks the
caller's supplier's attributes.
"""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute
from pynamodb.expressions.operand import Path
from pynamodb.expressions.update import Action

from ...services.ports_sales import CountSales, ProductSales, SupplierSales
from . import keys
from . import repository as repo
from .fan_in import batch_get_raw
from .models import Item


class SalesItem(Item, discriminator="sales"):
    """One shard of a campaign's sales counters (the counters are undeclared attributes: see the module)."""

    currency = UnicodeAttribute(null=True)


def _name(kind: str, supplier_id: str, sku: str) -> str:
    return f"{kind}|{supplier_id}|{sku}"


def sales_update(change: CountSales) -> repo.Update:
    """The order's ADDs to its shard: one UpdateItem in the order's transaction."""
    units: dict[str, int] = {}
    cents: dict[str, int] = {}
    names: dict[str, str] = {}
    for line in change.lines:
        units[_name("units", line.supplier_id, line.sku)] = units.get(_name("units", line.supplier_id, line.sku), 0) + line.units
        key = _name("cents", line.supplier_id, line.sku)
        cents[key] = cents.get(key, 0) + line.amount_cents
        names[_name("name", line.supplier_id, line.sku)] = line.name
    actions: list[Action] = [SalesItem.kind.set(SalesItem), SalesItem.currency.set(change.currency)]
    actions += [Path([n]).add({"N": str(v)}) for n, v in {**units, **cents}.items()]
    actions += [Path([n]).set({"S": v}) for n, v in names.items()]
    return repo.Update(SalesItem(*keys.campaign_sales(change.campaign_id, change.subject_id)), actions)


class SalesDynamo:
    def campaign_sales(self, campaign_id: str, supplier_id: str) -> SupplierSales:
        currency: str | None = None
        units: dict[str, int] = {}
        cents: dict[str, int] = {}
        names: dict[str, str] = {}
        for raw in batch_get_raw(keys.campaign_sales_keys(campaign_id)):
            currency = currency or raw.get("currency", {}).get("S")
            for attribute, value in raw.items():
                kind, _, rest = attribute.partition("|")
                owner, _, sku = rest.partition("|")
                if owner != supplier_id or not sku:
                    continue
                if kind == "units":
                    units[sku] = units.get(sku, 0) + int(value["N"])
                elif kind == "cents":
                    cents[sku] = cents.get(sku, 0) + int(value["N"])
                elif kind == "name":
                    names[sku] = value["S"]
        skus = sorted(set(units) | set(cents))
        products = [ProductSales(s, names.get(s, s), units.get(s, 0), cents.get(s, 0)) for s in skus]
        return SupplierSales(campaign_id, supplier_id, currency if products else None, products)
