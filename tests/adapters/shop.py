"""A small shop for the adapter suites, built through the services (never by writing items by hand)."""

from __future__ import annotations

from datetime import datetime

from chalicelib.domain.addresses import Address
from chalicelib.domain.campaigns import Product
from chalicelib.domain.orders import PaymentMode, RequestedLine
from chalicelib.domain.permissions import Principal, Role
from chalicelib.services import catalogue, orders
from chalicelib.services.orders import OrderRecord

BUYER = Principal("buyer-1", frozenset({Role.BUYER}), email="buyer@waybill.example", name="Bea Buyer")
CARE = Principal("care-1", frozenset({Role.CUSTOMER_CARE}), email="care@waybill.example")
ADMIN = Principal("admin-1", frozenset({Role.ADMIN}))
ALICE = Principal("cust-alice", frozenset({Role.CUSTOMER}), email="alice@example.com")
BOB = Principal("cust-bob", frozenset({Role.CUSTOMER}), email="bob@example.com")

HOME = Address(
    name="Alice Martin", lines=("12 rue des Lilas",), city="Paris", postal_code="75011", country="FR", phone="+33 1 23 45 67 89"
)

SUPPLIERS = {"acme": "Acme Mugs", "bolt": "Bolt Caps", "cove": "Cove Pens"}
PRODUCTS = [
    Product("MUG-1", "Mug", "acme", unit_price_cents=1200, unit_cost_cents=500),
    Product("MUG-2", "Big mug", "acme", unit_price_cents=2500, unit_cost_cents=900),
    Product("CAP-1", "Cap", "bolt", unit_price_cents=900, unit_cost_cents=300),
    Product("PEN-1", "Pen", "cove", unit_price_cents=150, unit_cost_cents=40),
]


def suppliers() -> None:
    for sid, name in SUPPLIERS.items():
        catalogue.create_supplier(BUYER, name=name, contact_emails=[f"orders@{sid}.example"], supplier_id=sid)


def live_campaign(products: list[Product] | None = None, *, ends_at: datetime | None = None, name: str = "Winter") -> str:
    view = catalogue.create_campaign(BUYER, name=name, currency="EUR", products=products or PRODUCTS)
    catalogue.go_live(BUYER, view.campaign.id, ends_at=ends_at)
    return view.campaign.id


def place(
    who: Principal,
    campaign_id: str,
    *lines: tuple[str, int],
    key: str | None = None,
    payment_mode: PaymentMode = PaymentMode.PREPAID,
    ship_to: Address = HOME,
) -> OrderRecord:
    record, _ = orders.place_order(
        who,
        campaign_id=campaign_id,
        lines=[RequestedLine(s, q) for s, q in lines],
        payment_mode=payment_mode,
        idempotency_key=key,
        shipping_address=ship_to,
    )
    return record
