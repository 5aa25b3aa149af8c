"""Hot keys at 100 orders/s: every DynamoDB write of a recorded mix, per partition key of the table and
of each GSI, and per counter item, read as rates at a simulated 100 orders per second.

The mix (seeded, so every run replays the same script): orders placed through `services.orders`; the
campaign closed into one PO per supplier and each delivery accepted (what the close and the shared-out
acknowledgement write on each order, with the PO's stage counters); one parcel per (order, supplier)
recorded through `services.shipments.record_shipment` and dispatched as the shipments consumer does;
three carrier events per parcel through `services.inbound.apply_carrier_event` (in transit, out for
delivery, delivered); complaints on a share of delivered orders through `services.complaints`.

The meter wraps PynamoDB's one call path (as `metering.metered` does) and, for every item a write
names, reads the item before and after (a second client the meter does not count): the table write
lands on the item's PK; a GSI write on the GSI key the item has after the write (and a delete on the
key it had before, when the key moved), each costing ceil(size / 1 KB) WCU (ALL projection). A
failed (conditional) write costs nothing here. Simulated time = orders / 100, so a key written w
times runs at w / (orders / 100) writes per second at 100 orders/s.
"""

from __future__ import annotations

import io
import json
import math
import random
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .report import FAIL, PASS, Section

ORDERS_PER_SECOND = 100
PARTITION_WCU = 1000  # what one partition (one partition key) takes per second
COUNTER_ITEM_WRITES = 100  # what one counter item may take per second (transaction conflicts)
INDEXES = ("GSI1", "GSI2", "GSI3", "GSI4")
COMPLAINT_SHARE = 0.1


def _size(item: dict[str, Any] | None) -> int:
    """DynamoDB's item size, near enough: names plus values as sent."""
    if not item:
        return 0
    return sum(len(name) + len(json.dumps(value, separators=(",", ":"))) for name, value in item.items())


def _wcu(item: dict[str, Any] | None) -> int:
    return max(1, math.ceil(_size(item) / 1024))


@dataclass
class WriteMeter:
    """Writes (and WCU) per partition key of the table and of each GSI, and per counter item."""

    table: Counter[str] = field(default_factory=Counter)
    table_wcu: Counter[str] = field(default_factory=Counter)
    gsi: dict[str, Counter[str]] = field(default_factory=lambda: {n: Counter() for n in INDEXES})
    gsi_wcu: dict[str, Counter[str]] = field(default_factory=lambda: {n: Counter() for n in INDEXES})
    counters: Counter[tuple[str, str]] = field(default_factory=Counter)
    items: Counter[tuple[str, str]] = field(default_factory=Counter)
    requests: Counter[str] = field(default_factory=Counter)

    def record(self, before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
        """One item written (put, update or delete): `before` and `after` are its images."""
        image = after or before
        if image is None:
            return
        pk, sk = image["PK"]["S"], image["SK"]["S"]
        self.table[pk] += 1
        self.table_wcu[pk] += max(_wcu(before), _wcu(after))
        self.items[pk, sk] += 1
        if pk.startswith("STATS#"):
            self.counters[pk, sk] += 1
        for name in INDEXES:
            old = (before or {}).get(f"{name}PK", {}).get("S")
            new = (after or {}).get(f"{name}PK", {}).get("S")
            if new is not None and (new != old or before != after):
                self.gsi[name][new] += 1
                self.gsi_wcu[name][new] += _wcu(after)
            if old is not None and old != new:
                self.gsi[name][old] += 1
                self.gsi_wcu[name][old] += _wcu(before)


def _written_keys(operation: str, kwargs: dict[str, Any]) -> list[dict[str, Any]]:
    """The keys ({"PK": .., "SK": ..}) of the items a write request names."""

    def key(item: dict[str, Any]) -> dict[str, Any]:
        return {"PK": item["PK"], "SK": item["SK"]}

    if operation == "PutItem":
        return [key(kwargs["Item"])]
    if operation in ("UpdateItem", "DeleteItem"):
        return [key(kwargs["Key"])]
    if operation == "TransactWriteItems":
        found = []
        for entry in kwargs["TransactItems"]:
            if "Put" in entry:
                found.append(key(entry["Put"]["Item"]))
            elif "Update" in entry:
                found.append(key(entry["Update"]["Key"]))
            elif "Delete" in entry:
                found.append(key(entry["Delete"]["Key"]))
        return found
    if operation == "BatchWriteItem":
        found = []
        for requests in kwargs["RequestItems"].values():
            for r in requests:
                found.append(key(r["PutRequest"]["Item"]) if "PutRequest" in r else key(r["DeleteRequest"]["Key"]))
        return found
    return []


@contextmanager
def metered_writes() -> Iterator[WriteMeter]:
    """Every write through PynamoDB while active, per key (see the module docstring)."""
    import boto3
    from pynamodb.connection.base import Connection

    from chalicelib.topology import TOPOLOGY

    meter = WriteMeter()
    raw = boto3.client("dynamodb")  # not PynamoDB's: its reads are the meter's own, not counted
    table = TOPOLOGY.table.name
    original = Connection._make_api_call

    def image(key: dict[str, Any]) -> dict[str, Any] | None:
        found: dict[str, Any] | None = raw.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        return found

    def counted(connection: Connection, operation_name: str, operation_kwargs: dict[Any, Any]) -> dict[Any, Any]:
        meter.requests[operation_name] += 1
        written = _written_keys(operation_name, operation_kwargs)
        before = [image(k) for k in written]
        data = original(connection, operation_name, operation_kwargs)  # raises: nothing written
        for k, b in zip(written, before, strict=True):
            meter.record(b, image(k))
        return data

    Connection._make_api_call = counted  # type: ignore[method-assign, assignment]  # a function in the method's place
    try:
        yield meter
    finally:
        Connection._make_api_call = original  # type: ignore[method-assign]


# ---------------------------------------------------------------- the mix


def _principal(sub: str, role: str, supplier_id: str | None = None) -> Any:
    from chalicelib.domain.permissions import Principal, Role

    return Principal(sub=sub, roles=frozenset({Role(role)}), email=f"{sub}@example.com", supplier_id=supplier_id, name=sub)


PRODUCTS = [("MUG-1", "Mug", "acme", 1200), ("CAP-1", "Cap", "bolt", 900), ("TEE-1", "T-shirt", "cora", 2200)]
SHIP_TO = {"name": "Bench Customer", "lines": ["1 Measurement Street"], "city": "Paris", "postal_code": "75001", "country": "FR"}


@dataclass
class Mix:
    """What the replay did: how many of each step."""

    orders: int = 0
    accepted: int = 0
    parcels: int = 0
    carrier_events: int = 0
    complaints: int = 0
    refused: Counter[str] = field(default_factory=Counter)


def replay(orders_n: int, meter: WriteMeter | None = None, seed: int = 20, *, one_supplier: bool = False) -> Mix:
    """Replay the recorded mix for `orders_n` orders (see the module docstring) on the table the
    models are bound to; setup (suppliers, campaign) happens before `meter` starts counting.
    `one_supplier`: every product is the first supplier's, so every order is one parcel of ONE PO (a
    flash sale of one supplier: 100 parcels/s on one PO)."""
    from chalicelib.domain.campaigns import Product
    from chalicelib.domain.complaints import ComplaintReason, Resolution
    from chalicelib.domain.orders import DeliveryAction, PaymentMode, RequestedLine, apply_delivery_action
    from chalicelib.domain.purchase_orders import POLine, PurchaseOrder, Stage, po_id
    from chalicelib.domain.shipments import CarrierEvent, TrackingStatus
    from chalicelib.services import catalogue, complaints, inbound, orders, shipments, tracking, uow
    from chalicelib.services.ports import CountCampaign, CountStage, Save

    rng = random.Random(seed)
    products = [(s, n, PRODUCTS[0][2], p) for s, n, _, p in PRODUCTS] if one_supplier else PRODUCTS
    buyer = _principal("buyer-1", "buyer")
    for sid in sorted({p[2] for p in products}):
        catalogue.create_supplier(buyer, name=sid.title(), contact_emails=[f"orders@{sid}.example"], supplier_id=sid)
    view = catalogue.create_campaign(
        buyer,
        name="Flash sale",
        currency="EUR",
        products=[
            Product(sku=s, name=n, supplier_id=sid, unit_price_cents=p, unit_cost_cents=p // 2) for s, n, sid, p in products
        ],
    )
    catalogue.go_live(buyer, view.campaign.id)
    campaign_id = view.campaign.id
    # The recorded script: who orders what (seeded), replayed below step by step.
    script = [
        (f"cust-{rng.randrange(10_000):05d}", rng.sample(products, rng.randint(1, 2)), rng.random() < COMPLAINT_SHARE)
        for _ in range(orders_n)
    ]
    mix = Mix()
    stack = ExitStack()
    if meter is not None:
        stack.enter_context(_counting_into(meter))
    with stack:
        placed: list[tuple[str, str, list[tuple[str, str, str, int]], bool]] = []
        for customer, lines, complains in script:
            record, _ = orders.place_order(
                _principal(customer, "customer"),
                campaign_id=campaign_id,
                lines=[RequestedLine(sku, 1) for sku, *_ in lines],
                payment_mode=PaymentMode.PREPAID,
                shipping_address=SHIP_TO,
            )
            placed.append((record.order.id, customer, lines, complains))
        mix.orders = len(placed)

        # The close and the acknowledgement: one PO per supplier (its stage counters and the campaign's
        # PO count), each order's deliveries sent and accepted (what both write on every order).
        store, at = uow.store(), datetime.now(UTC)
        for sid in sorted({p[2] for p in products}):
            po = PurchaseOrder(
                id=po_id(campaign_id, sid),
                campaign_id=campaign_id,
                supplier_id=sid,
                currency="EUR",
                lines=[POLine(s, n, orders_n, p // 2) for s, n, x, p in products if x == sid],
                created_at=at,
                order_count=orders_n,
                stage=Stage.SHIPMENT,
                orders_to_ship=orders_n,
            )
            for line in po.lines:
                line.accepted_quantity = line.ordered_quantity
            from chalicelib.adapters.dynamodb import repository as repo

            repo.commit([repo.po_write(po, version=None, now=at, task_token="bench")], what="bench PO")
            store.commit(
                [
                    CountCampaign(campaign_id, po.id, {"pos": 1}),
                    CountStage(po, Stage.ACKNOWLEDGE, {"completed": 1, "seconds": 60}),
                ],
                what="bench acknowledgement",
                at=at,
            )
        for order_id, *_ in placed:
            loaded = store.load(_order_kind(), order_id)
            assert loaded is not None
            order, before = loaded.value, loaded.value.status.value
            for d in order.deliveries:
                apply_delivery_action(order, d.supplier_id, DeliveryAction.SEND_PO)
                apply_delivery_action(order, d.supplier_id, DeliveryAction.ACCEPT)
            store.commit([Save(order, loaded.version, status_before=before)], what="bench accept", at=at)
            mix.accepted += 1

        # Parcels: one per (order, supplier), recorded by the supplier and dispatched by the consumer.
        parcels: list[tuple[str, str, str]] = []  # (tracking number, order, supplier)
        for n, (order_id, _, lines, _) in enumerate(placed):
            for sid in sorted({x for _, _, x, _ in lines}):
                number = f"JD{n:06d}{sid.upper()}"
                shipments.record_shipment(
                    _principal(f"sup-{sid}", "supplier", sid),
                    po_id(campaign_id, sid),
                    carrier="dhl",
                    tracking_number=number,
                    order_ids=[order_id],
                )
                parcels.append((number, order_id, sid))
        for number, order_id, _ in parcels:
            found = store.load(_shipment_kind(), "dhl", number)
            assert found is not None
            shipments._dispatch(order_id, found.value.shipment)  # what on_recorded does per order (no gateway here)
        mix.parcels = len(parcels)

        # Carrier events, as the inbound consumer applies them, then what the shipments consumer does for
        # each `shipment.status_changed` they record (order events, completed deliveries, exceptions).
        t0 = datetime.now(UTC) - timedelta(hours=6)
        for step, status in enumerate((TrackingStatus.IN_TRANSIT, TrackingStatus.OUT_FOR_DELIVERY, TrackingStatus.DELIVERED)):
            for number, _, _ in parcels:
                event = CarrierEvent(number, status.value.upper(), status, t0 + timedelta(hours=step), description=status.value)
                before = store.load(_shipment_kind(), "dhl", number)
                outcome = inbound.apply_carrier_event("dhl", event, webhook_id=f"msg-{number}-{step}")
                mix.carrier_events += 1
                if not outcome.startswith(("moved", "recorded")):
                    mix.refused[f"carrier event: {outcome}"] += 1
                after = store.load(_shipment_kind(), "dhl", number)
                if before is not None and after is not None and after.value.shipment.status is not before.value.shipment.status:
                    tracking.follow_up(after.value.shipment, after.value.shipment.status, event)

        # Complaints on a share of the delivered orders.
        for order_id, customer, lines, complains in placed:
            if not complains:
                continue
            sku, _, sid, _ = lines[0]
            try:
                complaints.open_complaint(
                    _principal(customer, "customer"),
                    order_id,
                    supplier_id=sid,
                    reason=ComplaintReason.MISSING_ITEM,
                    wanted=Resolution.REFUND,
                    lines=[RequestedLine(sku, 1)],
                    photos=[],
                    description="one missing",
                )
                mix.complaints += 1
            except Exception as exc:  # a refusal is reported, the replay goes on
                mix.refused[f"complaint: {type(exc).__name__}"] += 1
    return mix


def _order_kind() -> Any:
    from chalicelib.domain.orders import Order

    return Order


def _shipment_kind() -> Any:
    from chalicelib.services.ports_shipments import ShipmentRecord

    return ShipmentRecord


@contextmanager
def _counting_into(meter: WriteMeter) -> Iterator[None]:
    with metered_writes() as live:
        try:
            yield
        finally:
            meter.table.update(live.table)
            meter.table_wcu.update(live.table_wcu)
            for name in INDEXES:
                meter.gsi[name].update(live.gsi[name])
                meter.gsi_wcu[name].update(live.gsi_wcu[name])
            meter.counters.update(live.counters)
            meter.items.update(live.items)
            meter.requests.update(live.requests)


# ---------------------------------------------------------------- the section


def _counter_family(pk: str, sk: str) -> str:
    """A counter's name without its shard or subject: what the report groups by."""
    if pk.startswith("STATS#ORDERS#"):
        return "orders per status (STATS#ORDERS#<n>)"
    if pk.startswith("STATS#SALES#"):
        return "campaign sales (STATS#SALES#<campaign>#<n>)"
    if "#SUMMARY#" in pk:
        return "campaign summary (STATS#CAMPAIGN#<id>#SUMMARY#<n>)"
    scope = pk.split("#")[1].lower()
    return f"stage timing, {scope} (STATS#{pk.split('#')[1]}.../STAGE#<stage>#<n>)"


# The write-sharded keys (keys.INDEX_SHARDS), shown apart: the busiest key of an index may be another.
SHARDED_FAMILIES: list[tuple[str, str, Any]] = [
    ("GSI4", "all orders ORDERS#<n>", lambda k: k.startswith("ORDERS#")),
    ("GSI4", "all parcels SHIPMENTS#<n>", lambda k: k.startswith("SHIPMENTS#")),
    ("GSI3", "orders in a status ORDERS#<status>#<n>", lambda k: k.startswith("ORDERS#")),
    ("GSI2", "a campaign's orders CAMPAIGN#<id>#ORDERS#<n>", lambda k: k.startswith("CAMPAIGN#") and "#ORDERS#" in k),
    ("GSI1", "a supplier's deliveries SUPPLIER#<id>#DELIVERIES#<n>", lambda k: "#DELIVERIES#" in k),
]


def report(meter: WriteMeter, mix: Mix, *, one_supplier: bool = False) -> Section:
    seconds = mix.orders / ORDERS_PER_SECOND
    who = ", one supplier: every parcel on one PO" if one_supplier else ""
    section = Section(
        f"Hot keys at {ORDERS_PER_SECOND} orders/s (simulated: {mix.orders} orders = {seconds:.1f} s{who})",
        ["figure", "busiest key", "writes/s", "WCU/s", "target"],
    )
    for name, writes, wcu in [("table", meter.table, meter.table_wcu)] + [(n, meter.gsi[n], meter.gsi_wcu[n]) for n in INDEXES]:
        if not wcu:
            section.add(f"{name}: busiest partition key", "(no writes)", 0, 0, f"<= {PARTITION_WCU} WCU/s", verdict=PASS)
            continue
        key, top = wcu.most_common(1)[0]
        rate = top / seconds
        section.add(
            f"{name}: busiest partition key",
            key,
            f"{writes[key] / seconds:.0f}",
            f"{rate:.0f}",
            f"<= {PARTITION_WCU} WCU/s",
            verdict=PASS if rate <= PARTITION_WCU else FAIL,
        )
    for index, family, match in SHARDED_FAMILIES:
        found = {k: w for k, w in meter.gsi_wcu[index].items() if match(k)}
        if not found:
            continue
        key = max(found, key=lambda k: found[k])
        rate = found[key] / seconds
        unsharded: Counter[str] = Counter()
        for k, w in found.items():
            unsharded[k.rpartition("#")[0]] += w
        before = unsharded.most_common(1)[0][1] / seconds  # the busiest key as it was unsharded: its shards' sum
        section.add(
            f"{index}: {family}, busiest of {len(found)} shards (one key before: {before:.0f} WCU/s)",
            key,
            f"{meter.gsi[index][key] / seconds:.0f}",
            f"{rate:.0f}",
            f"<= {PARTITION_WCU} WCU/s",
            verdict=PASS if rate <= PARTITION_WCU else FAIL,
        )
    (pk, sk), top = meter.items.most_common(1)[0]
    section.add(
        "table: busiest single item (one writer at a time: versions, transaction conflicts)",
        f"{pk} / {sk}",
        f"{top / seconds:.0f}",
        "",
        "(quote)",
    )
    from chalicelib.adapters.dynamodb import keys

    # A PO's own item (versioned: a parcel used to rewrite it) and its parcels' count items (ADDed).
    for family, match in (
        ("a PO's item (PO#<id> / #META)", lambda k: k[0].startswith("PO#") and k[1] == keys.META),
        (f"a PO's count items (PO#<id> / {keys.PO_SHIPPED_PREFIX}<n>)", lambda k: k[1].startswith(keys.PO_SHIPPED_PREFIX)),
    ):
        held = {k: n for k, n in meter.items.items() if match(k)}
        if not held:
            continue
        (pk, sk), top = max(held.items(), key=lambda t: t[1])
        rate = top / seconds
        section.add(
            f"table: {family}, busiest of {len(held)}",
            f"{pk} / {sk}",
            f"{rate:.1f}",
            "",
            f"<= {COUNTER_ITEM_WRITES} writes/s per item",
            verdict=PASS if rate <= COUNTER_ITEM_WRITES else FAIL,
        )
    families: dict[str, list[tuple[tuple[str, str], int]]] = {}
    for item, n in meter.counters.items():
        families.setdefault(_counter_family(*item), []).append((item, n))
    for family, items in sorted(families.items()):
        (pk, sk), top = max(items, key=lambda t: t[1])
        rate = top / seconds
        section.add(
            f"counter: {family}, busiest of {len(items)} items",
            f"{pk} / {sk}",
            f"{rate:.1f}",
            "",
            f"<= {COUNTER_ITEM_WRITES} writes/s per item",
            verdict=PASS if rate <= COUNTER_ITEM_WRITES else FAIL,
        )
    refused = ", ".join(f"{k} x{v}" for k, v in sorted(mix.refused.items())) or "none"
    section.notes += [
        f"mix: {mix.orders} orders placed, {mix.accepted} accepted, {mix.parcels} parcels recorded and dispatched, "
        f"{mix.carrier_events} carrier events, {mix.complaints} complaints; refused: {refused}",
        f"requests: {', '.join(f'{k} {v}' for k, v in sorted(meter.requests.items()))}",
        "WCU: ceil(item size / 1 KB) per item written, per table and per GSI (ALL projection; a moved GSI key "
        "also costs a delete on the key it left). Rates: count / (orders / 100).",
    ]
    return section


def run(orders_n: int = 150, *, one_supplier: bool = False) -> Section:
    from moto import mock_aws

    from chalicelib.adapters.aws import reset_clients
    from chalicelib.local.provision import provision

    from .dynamo import no_table_snapshots
    from .env import setup

    setup()
    meter = WriteMeter()
    with ExitStack() as stack:
        stack.enter_context(redirect_stdout(io.StringIO()))  # the app's metric blobs stay out of the table
        stack.enter_context(warnings.catch_warnings())
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        stack.enter_context(mock_aws())
        stack.enter_context(no_table_snapshots())
        reset_clients()
        provision()
        mix = replay(orders_n, meter, one_supplier=one_supplier)
        reset_clients()
    return report(meter, mix, one_supplier=one_supplier)
