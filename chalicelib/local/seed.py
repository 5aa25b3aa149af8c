"""Demo data for the local stack, written through the services (so every change has its
audit event and flows through the stream, the bus and the consumers like a real one).

Deterministic: the same suppliers, customers and order mix every run (random.Random(42)).
Ids the services mint (campaigns, orders) differ per run; `SeedSummary` reports them.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any

from ..domain.campaigns import Product
from ..domain.orders import OrderAction, OrderStatus, PaymentMode, RequestedLine
from ..domain.payments import PaymentKind
from ..domain.permissions import Principal, Role
from ..services import addresses, catalogue, order_payments, orders
from ..services import exceptions as problems

BUYER = Principal(sub="bea", roles=frozenset({Role.BUYER}), email="bea@waybill.example", name="Bea Buyer")
CARE = Principal(sub="carl", roles=frozenset({Role.CUSTOMER_CARE}), email="carl@waybill.example", name="Carl Care")
ACCOUNTING = Principal(sub="ada", roles=frozenset({Role.ACCOUNTING}), email="ada@waybill.example", name="Ada Accounts")

SUPPLIERS = (
    ("acme", "Acme Mugs", ["orders@acme.example"]),
    ("bolt", "Bolt Caps & Hats", ["po@bolt.example", "ops@bolt.example"]),
    ("cobalt", "Cobalt Outdoor", ["sales@cobalt.example"]),
)

LIVE_PRODUCTS = (
    Product("MUG-1", "Enamel mug", "acme", 1200, 450),
    Product("MUG-2", "Big enamel mug", "acme", 1900, 700),
    Product("POT-1", "Camp coffee pot", "acme", 4900, 2100),
    Product("CAP-1", "Waxed cap", "bolt", 2500, 900),
    Product("HAT-1", "Wool beanie", "bolt", 1800, 600),
    Product("HAT-2", "Bucket hat", "bolt", 2900, 1100),
    Product("JKT-1", "Rain jacket", "cobalt", 18900, 9000),
    Product("BLK-1", "Picnic blanket", "cobalt", 7900, 3200),
    Product("LMP-1", "Camp lantern", "cobalt", 3900, 1500),
    Product("BAG-1", "Canvas daypack", "cobalt", 9900, 4200),
)

DRAFT_PRODUCTS = (
    Product("MUG-X", "Holiday mug", "acme", 1500, 500),
    Product("SCF-1", "Knit scarf", "bolt", 3500, 1300),
)

CUSTOMER_COUNT = 20
ORDER_COUNT = 50
FLAGGED_CUSTOMER = "cust-07"

# Customers' names and homes (made up, in the shape each country writes them); every fourth customer
# also saved a work address, and some orders ship there.
NAMES = (
    "Camille Durand",
    "Jonas Becker",
    "Sanne de Vries",
    "Lucía Fernández",
    "Marco Rossi",
    "Emma Johansson",
    "Liam O'Brien",
    "Zoé Lambert",
    "Felix Huber",
    "Ana Sousa",
)
HOMES = (
    (["12 rue des Lilas", "Bâtiment B, 3e étage"], "Paris", "75011", "FR", "+33 6 12 34 56 78"),
    (["Schönhauser Allee 148"], "Berlin", "10435", "DE", "+49 30 1234567"),
    (["Prinsengracht 263-2"], "Amsterdam", "1016 GV", "NL", None),
    (["Calle de Alcalá 95, 4º izq."], "Madrid", "28009", "ES", "+34 612 345 678"),
    (["Via Roma 22", "Scala C, interno 7"], "Torino", "10123", "IT", None),
    (["Götgatan 48"], "Stockholm", "118 26", "SE", "+46 70 123 45 67"),
    (["14 Pembroke Road", "Ballsbridge"], "Dublin", "D04 V1W6", "IE", None),
    (["Rue de la Loi 155"], "Bruxelles", "1040", "BE", "+32 470 12 34 56"),
    (["Mariahilfer Straße 77/12"], "Wien", "1060", "AT", None),
    (["Rua Augusta 210, 2º Dto"], "Lisboa", "1100-053", "PT", "+351 912 345 678"),
)
WORKPLACES = (
    (["c/o Atelier Nord", "8 quai de la Loire"], "Paris", "75019", "FR"),
    (["Torstraße 1", "Empfang, 2. OG"], "Berlin", "10119", "DE"),
    (["Keizersgracht 320"], "Amsterdam", "1016 EZ", "NL"),
)


def customer(n: int) -> Principal:
    sub = f"cust-{n:02d}"
    return Principal(sub=sub, roles=frozenset({Role.CUSTOMER}), email=f"{sub}@example.com")


def address_book(who: Principal, n: int) -> list[str]:
    """Save the customer's home (the default) and, for every fourth one, a work address; their ids."""
    name = NAMES[n % len(NAMES)]
    lines, city, postal_code, country, phone = HOMES[n % len(HOMES)]
    saved = [
        addresses.add_address(
            who,
            {"name": name, "lines": lines, "city": city, "postal_code": postal_code, "country": country, "phone": phone},
            label="Home",
        ).id
    ]
    if n % 4 == 0:
        lines, city, postal_code, country = WORKPLACES[n % len(WORKPLACES)]
        saved.append(
            addresses.add_address(
                who, {"name": name, "lines": lines, "city": city, "postal_code": postal_code, "country": country}, label="Work"
            ).id
        )
    return saved


@dataclass
class SeedSummary:
    suppliers: list[str]
    live_campaign_id: str
    draft_campaign_id: str
    customers: list[str]
    flagged_customer: str
    orders: int
    order_ids: list[str] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("order_ids")
        return data


def seed(rng: random.Random | None = None) -> SeedSummary:
    rng = rng or random.Random(42)
    for sid, name, emails in SUPPLIERS:
        catalogue.create_supplier(BUYER, name=name, contact_emails=emails, supplier_id=sid)

    live = catalogue.create_campaign(BUYER, name="Autumn outdoors", currency="EUR", products=list(LIVE_PRODUCTS))
    catalogue.go_live(BUYER, live.campaign.id)
    draft = catalogue.create_campaign(BUYER, name="Winter gifts (draft)", currency="EUR", products=list(DRAFT_PRODUCTS))

    catalogue.set_customer_flag(CARE, FLAGGED_CUSTOMER, flagged=True, reason="two chargebacks last season")

    customers = [customer(n) for n in range(1, CUSTOMER_COUNT + 1)]
    books = {c.sub: address_book(c, n) for n, c in enumerate(customers, 1)}
    placed = []
    for i in range(ORDER_COUNT):
        who = customers[i % CUSTOMER_COUNT]
        products = rng.sample(LIVE_PRODUCTS, rng.randint(1, 3))
        big = rng.random() < 0.12  # a few bulk orders, above the pre-approval threshold
        lines = [RequestedLine(p.sku, rng.randint(3, 6) if big else rng.choice((1, 1, 1, 2, 3))) for p in products]
        if big and not any(p.sku == "JKT-1" for p in products):
            lines.append(RequestedLine("JKT-1", 3))
        mode = rng.choice(
            (
                PaymentMode.PREPAID,
                PaymentMode.PREPAID,
                PaymentMode.AUTHORISE_THEN_CAPTURE,
                PaymentMode.OFFLINE,
                PaymentMode.PAY_ON_DELIVERY,
            )
        )
        record, _ = orders.place_order(
            who, campaign_id=live.campaign.id, lines=lines, payment_mode=mode, address_id=rng.choice(books[who.sub])
        )
        placed.append(record.order)

    # Accounting has received the transfers of all offline orders but the last: that one waits in
    # `awaiting_payment` (the close cancels it if nobody records its payment first).
    unpaid = [o for o in placed if o.status is OrderStatus.AWAITING_PAYMENT]
    for n, order in enumerate(unpaid[:-1], 1):
        paid = order_payments.record_payment(
            ACCOUNTING,
            order.id,
            kind=PaymentKind.OFFLINE_RECEIVED,
            amount_cents=order.total_cents,
            reason=None,
            reference=f"TRF-SEED-{n:03d}",
        )
        placed[placed.index(order)] = paid.record.order
    status = {o.id: o.status.value for o in placed}
    held = [o for o in placed if o.status is OrderStatus.ON_HOLD]
    reviews = [
        (o, OrderAction.APPROVE, "called the customer; looks fine", "Thanks for your patience: your order is confirmed.")
        for o in held[:2]
    ]
    reviews += [
        (o, OrderAction.REJECT, "could not verify the payment", "We could not verify your payment, so we cancelled this order.")
        for o in held[2:3]
    ]
    for order, action, internal, to_customer in reviews:
        changed = orders.change_order(CARE, order.id, action, internal_note=internal, customer_note=to_customer)
        status[order.id] = changed.order.status.value
    open_orders = [o for o in placed if o.status is OrderStatus.PLACED]
    if open_orders:
        orders.add_note(
            CARE,
            open_orders[0].id,
            internal_note=None,
            customer_note="Good news: your supplier confirmed stock for this campaign.",
        )
    if len(open_orders) > 1:
        orders.add_note(CARE, open_orders[1].id, internal_note="customer asked to combine with a later order", customer_note=None)

    # A few problems in the staff queue, one per severity, raised high, critical, then medium (so
    # neither oldest- nor newest-first is the severity order).
    for order, severity, reason in zip(
        open_orders[2:4], (None, "critical"), ("card declined", "card declined three times; the order is large"), strict=False
    ):
        problems.raise_or_bump(
            "payment_failed",
            "order",
            order.id,
            {"order_id": order.id, "campaign_id": order.campaign_id, "reason": reason},
            severity=severity,
        )
    problems.raise_or_bump(
        "inbound_webhook_failed", "webhook", "bank#wh_demo_0001", {"provider": "bank", "error": "no payment proposal pp_unknown"}
    )
    statuses: dict[str, int] = {}
    for value in status.values():
        statuses[value] = statuses.get(value, 0) + 1
    return SeedSummary(
        suppliers=[s[0] for s in SUPPLIERS],
        live_campaign_id=live.campaign.id,
        draft_campaign_id=draft.campaign.id,
        customers=[c.sub for c in customers],
        flagged_customer=FLAGGED_CUSTOMER,
        orders=len(placed),
        order_ids=[o.id for o in placed],
        statuses=dict(sorted(statuses.items())),
    )
