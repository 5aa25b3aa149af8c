"""DynamoDB requests and items read per operation, against moto in-process.

Every operation runs twice: through the service layer (`chalicelib.services`) and through
the full HTTP path (`chalice.test.Client`: authorizer, parsing, service, response model).
Requests are counted by operation name with `metered()` (botocore event hooks on the
client PynamoDB uses); counts are judged against DESIGN.md section 9. Latencies are the
mean of repeated calls on in-process moto: quote them, do not judge by them.
"""

from __future__ import annotations

import copy
import io
import json
import random
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, redirect_stdout
from dataclasses import dataclass, field
from typing import Any

from .report import FAIL, INFO, PASS, Section

READ_OPS = ("GetItem", "BatchGetItem", "Query", "Scan")

# ---------------------------------------------------------------- moto


@contextmanager
def no_table_snapshots() -> Iterator[None]:
    """Skip the rollback snapshot moto takes in TransactWriteItems.

    moto 5.2.5 deep-copies the whole table once per item of every transaction (for rollback),
    so each write costs O(table size) and seeding a few hundred orders takes many minutes.
    Only the copy of a `Table` inside `moto.dynamodb.models` is skipped (item copies stay), so
    a *cancelled* transaction is not rolled back here; no measured transaction is cancelled,
    and one that is still fails its figure. Request counts are client-side and unaffected."""
    import moto.dynamodb.models as backend
    from moto.dynamodb.models.table import Table

    class CopyWithoutTableSnapshots:
        def __getattr__(self, name: str) -> Any:
            return getattr(copy, name)

        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    saved = backend.__dict__["copy"]
    setattr(backend, "copy", CopyWithoutTableSnapshots())  # noqa: B010 - the module global moto's code looks up
    try:
        yield
    finally:
        setattr(backend, "copy", saved)  # noqa: B010


# ---------------------------------------------------------------- the data set

SUPPLIERS = [("acme", "Acme Mugs"), ("bolt", "Bolt Caps"), ("cora", "Cora Textiles")]
# 10 products over two live campaigns (products belong to a campaign).
CAMPAIGN_PRODUCTS = {
    "Winter sale": [
        ("MUG-1", "Mug", "acme", 1200),
        ("MUG-2", "Big mug", "acme", 2500),
        ("MUG-3", "Travel mug", "acme", 3400),
        ("CAP-1", "Cap", "bolt", 900),
        ("CAP-2", "Beanie", "bolt", 1500),
        ("TEE-1", "T-shirt", "cora", 2200),
    ],
    "Spring drop": [
        ("CAP-3", "Sun hat", "bolt", 1900),
        ("TEE-2", "Long sleeve", "cora", 3900),
        ("HOOD-1", "Hoodie", "cora", 6900),
        ("BAG-1", "Tote bag", "acme", 1400),
    ],
}
CUSTOMERS = [f"cust-{i:02d}" for i in range(1, 51)]
FLAGGED = CUSTOMERS[-2:]  # their orders wait for pre-approval
SHIP_TO = {
    "name": "Bench Customer",
    "lines": ["1 Measurement Street"],
    "city": "Paris",
    "postal_code": "75001",
    "country": "FR",
}  # every order ships somewhere (POST /orders needs an address)
SEED_ORDERS = 400
ME = "cust-07"  # the customer whose order and list are read


@dataclass
class DataSet:
    campaigns: list[str]
    skus: dict[str, list[str]]  # campaign id -> its skus
    orders: list[tuple[str, str, int]]  # (order id, customer, suppliers)
    status_counts: Counter[str] = field(default_factory=Counter)


def _principal(sub: str, role: str) -> Any:
    from chalicelib.domain.permissions import Principal, Role

    return Principal(sub=sub, roles=frozenset({Role(role)}), email=f"{sub}@example.com", name=sub)


def seed(rng: random.Random) -> DataSet:
    """3 suppliers, 10 products in 2 live campaigns, SEED_ORDERS orders from 50 customers."""
    from chalicelib.domain.campaigns import Product
    from chalicelib.domain.orders import PaymentMode, RequestedLine
    from chalicelib.services import catalogue, orders

    buyer, care = _principal("buyer-1", "buyer"), _principal("care-1", "customer_care")
    for sid, name in SUPPLIERS:
        catalogue.create_supplier(buyer, name=name, contact_emails=[f"orders@{sid}.example"], supplier_id=sid)
    data = DataSet(campaigns=[], skus={}, orders=[])
    for name, products in CAMPAIGN_PRODUCTS.items():
        view = catalogue.create_campaign(
            buyer,
            name=name,
            currency="EUR",
            products=[
                Product(sku=sku, name=pname, supplier_id=sid, unit_price_cents=price, unit_cost_cents=price // 2)
                for sku, pname, sid, price in products
            ],
        )
        catalogue.go_live(buyer, view.campaign.id)
        data.campaigns.append(view.campaign.id)
        data.skus[view.campaign.id] = [p[0] for p in products]
    for sub in FLAGGED:
        catalogue.set_customer_flag(care, sub, flagged=True, reason="chargebacks")
    modes = list(PaymentMode)
    for _ in range(SEED_ORDERS):
        sub = rng.choice(CUSTOMERS)
        campaign_id = data.campaigns[0] if rng.random() < 0.7 else data.campaigns[1]
        skus = rng.sample(data.skus[campaign_id], rng.randint(1, 3))
        record, _ = orders.place_order(
            _principal(sub, "customer"),
            campaign_id=campaign_id,
            lines=[RequestedLine(s, rng.randint(1, 4)) for s in skus],
            payment_mode=rng.choice(modes),
            shipping_address=SHIP_TO,
        )
        data.orders.append((record.order.id, sub, len(record.order.deliveries)))
        data.status_counts[record.order.status.value] += 1
    return data


def held_orders(data: DataSet, n: int) -> Iterator[str]:
    """A supply of fresh on_hold orders (from a flagged customer) for the approve runs."""
    from chalicelib.domain.orders import PaymentMode, RequestedLine
    from chalicelib.services import orders

    who = _principal(FLAGGED[0], "customer")
    campaign_id = data.campaigns[0]
    ids = []
    for _ in range(n):
        record, _ = orders.place_order(
            who,
            campaign_id=campaign_id,
            lines=[RequestedLine("MUG-1", 1), RequestedLine("CAP-1", 2)],
            payment_mode=PaymentMode.PREPAID,
            shipping_address=SHIP_TO,
        )
        assert record.order.status.value == "on_hold", record.order.status
        ids.append(record.order.id)
    return iter(ids)


# ---------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    text: str
    check: Callable[[Counter[str]], bool] | None  # None: timed and counted here, judged elsewhere


def _one_request(requests: Counter[str]) -> bool:
    return sum(requests.values()) == 1


def _one_change(requests: Counter[str]) -> bool:
    tx = requests.get("TransactWriteItems", 0)
    reads = sum(requests.get(op, 0) for op in READ_OPS)
    return tx == 1 and reads <= 1 and sum(requests.values()) == tx + reads


def _one_parallel_step(requests: Counter[str]) -> bool:
    from chalicelib.adapters.dynamodb.keys import INDEX_SHARDS

    return set(requests) == {"Query"} and requests["Query"] <= INDEX_SHARDS


READ = Target("1 request", _one_request)
# A listing of a write-sharded index key (every order writes it): one Query per shard, sent at once.
FAN_IN = Target("1 parallel step", _one_parallel_step)
CHANGE = Target("1 tx + <=1 read", _one_change)
# Views whose request counts the reads section judges (one page per view); timed here.
TIMED = Target("(quote only)", None)


# ---------------------------------------------------------------- measuring


@dataclass
class Measured:
    requests: Counter[str]
    items_read: int
    returned: int | None
    varies: bool
    mean_ms: float
    in_calls_ms: float  # of mean_ms, inside DynamoDB calls (botocore before-call .. after-call: moto's work)


def _fmt_requests(requests: Counter[str]) -> str:
    return " + ".join(f"{op}x{n}" if n > 1 else op for op, n in sorted(requests.items())) or "none"


class CallClock:
    """Time spent inside DynamoDB calls, via the same botocore hooks the meter uses."""

    def __init__(self) -> None:
        self.total = 0.0
        self._started = 0.0

    def _before(self, **_: Any) -> None:
        self._started = time.perf_counter()

    def _after(self, **_: Any) -> None:
        self.total += time.perf_counter() - self._started

    def __enter__(self) -> CallClock:
        from chalicelib.adapters.dynamodb.models import Item

        self._events = Item._get_connection().connection.client.meta.events
        self._events.register("before-call.dynamodb", self._before, unique_id="waybill-bench-clock-before")
        self._events.register("after-call.dynamodb", self._after, unique_id="waybill-bench-clock-after")
        return self

    def __exit__(self, *exc: Any) -> None:
        self._events.unregister("before-call.dynamodb", unique_id="waybill-bench-clock-before")
        self._events.unregister("after-call.dynamodb", unique_id="waybill-bench-clock-after")


def measure(fn: Callable[[], int | None], *, count_reps: int, warmup: int, reps: int) -> Measured:
    from chalicelib.adapters.dynamodb.metering import metered
    from chalicelib.config import settings

    # Warm-up first: a function's first event installs the loader of staff's settings (app.py), which
    # the first HTTP call of the section would otherwise count.
    for _ in range(warmup):
        fn()
    seen = []
    for _ in range(count_reps):
        # Staff's settings are read once per process per settings_cache_s (services/tunables.py), not per
        # operation: read here, outside the count, so a counted call never lands on that minute's read.
        settings.refresh()
        settings()
        with metered() as m:
            returned = fn()
        seen.append((tuple(sorted(m.requests.items())), m.items_read, returned))
    elapsed = 0.0
    with CallClock() as clock:
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            elapsed += time.perf_counter() - t0
    worst = max(seen, key=lambda s: (sum(n for _, n in s[0]), s[1]))
    return Measured(
        Counter(dict(worst[0])), worst[1], worst[2], len(set(seen)) > 1, 1000 * elapsed / reps, 1000 * clock.total / reps
    )


class Http:
    """JSON over the Chalice test client; raises when the status is not the expected one."""

    def __init__(self, client: Any, issuer: Any) -> None:
        self.client = client
        self.issuer = issuer
        self._tokens: dict[tuple[str, str], str] = {}

    def _headers(self, sub: str, role: str) -> dict[str, str]:
        if (sub, role) not in self._tokens:
            self._tokens[sub, role] = self.issuer.token(sub, [role], email=f"{sub}@example.com", name=sub)
        return {"Authorization": f"Bearer {self._tokens[sub, role]}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, who: tuple[str, str], body: Any = None, expect: int = 200) -> Any:
        raw = json.dumps(body).encode() if body is not None else b""
        r = self.client.http.request(method, path, headers=self._headers(*who), body=raw)
        if r.status_code != expect:
            raise RuntimeError(f"{method} {path} -> {r.status_code}: {r.body[:300]!r}")
        return json.loads(r.body) if r.body else None


# ---------------------------------------------------------------- the operations


@dataclass
class Op:
    name: str
    target: Target
    service: Callable[[], int | None] | None  # None: measured through HTTP only
    http: Callable[[], int | None]
    supply: int = 0  # fresh subjects each run needs (state changes)


def operations(data: DataSet, api: Http, runs: int) -> list[Op]:
    from chalicelib.domain.orders import OrderAction, OrderStatus, PaymentMode, RequestedLine
    from chalicelib.services import orders

    me, care = _principal(ME, "customer"), _principal("care-1", "customer_care")
    my_order = next(o for o, sub, n in data.orders if sub == ME and n >= 2)
    campaign, other = data.campaigns
    lines = [RequestedLine("MUG-2", 1), RequestedLine("CAP-1", 2), RequestedLine("TEE-1", 1)]
    body_lines = [{"sku": l.sku, "quantity": l.quantity} for l in lines]
    page = 25
    held_service, held_http = held_orders(data, runs), held_orders(data, runs)

    def search(**f: Any) -> Callable[[], int]:
        filters = orders.OrderFilters(**f)
        return lambda: len(orders.search_orders(care, filters, limit=page, cursor=None)[0])

    def search_http(**f: Any) -> Callable[[], int]:
        qs = "&".join(f"{k}={v}" for k, v in {**f, "limit": page}.items())
        return lambda: len(api.call("GET", f"/staff/orders?{qs}", ("care-1", "customer_care"))["items"])

    def place() -> None:
        orders.place_order(me, campaign_id=campaign, lines=lines, payment_mode=PaymentMode.PREPAID, shipping_address=SHIP_TO)

    def place_http() -> None:
        api.call(
            "POST",
            "/orders",
            (ME, "customer"),
            {"campaign_id": campaign, "lines": body_lines, "shipping_address": SHIP_TO},
            expect=201,
        )

    def approve() -> None:
        orders.change_order(care, next(held_service), OrderAction.APPROVE, internal_note="checked")

    def approve_http() -> None:
        api.call(
            "POST",
            f"/staff/orders/{next(held_http)}/transitions",
            ("care-1", "customer_care"),
            {"action": "approve", "internal_note": "checked"},
        )

    supplier, customer = "bolt", "cust-12"
    return [
        Op("place order", CHANGE, place, place_http),
        Op(
            "get order (customer)",
            READ,
            lambda: len(orders.get_order_for_customer(me, my_order).events),
            lambda: len(api.call("GET", f"/orders/{my_order}", (ME, "customer"))["timeline"]),
        ),
        Op(
            "list my orders",
            READ,
            lambda: len(orders.list_my_orders(me, limit=page, cursor=None)[0]),
            lambda: len(api.call("GET", f"/orders?limit={page}", (ME, "customer"))["items"]),
        ),
        Op("staff search: by status", FAN_IN, search(status=OrderStatus.PLACED), search_http(status="placed")),
        Op("staff search: by campaign", FAN_IN, search(campaign_id=campaign), search_http(campaign_id=campaign)),
        Op("staff search: by supplier", FAN_IN, search(supplier_id=supplier), search_http(supplier_id=supplier)),
        Op("staff search: by customer", READ, search(customer_id=customer), search_http(customer_id=customer)),
        Op("staff search: unfiltered", FAN_IN, search(), search_http()),
        # The other campaign: the bench places no orders there, so this page stays the same.
        Op(
            "staff search: campaign+status",
            FAN_IN,
            search(campaign_id=other, status=OrderStatus.ON_HOLD),
            search_http(campaign_id=other, status="on_hold"),
        ),
        Op(
            "staff order detail",
            READ,
            lambda: len(orders.get_order_for_staff(care, my_order).events),
            lambda: len(api.call("GET", f"/staff/orders/{my_order}", ("care-1", "customer_care"))["events"]),
        ),
        Op("state change: staff approve", CHANGE, approve, approve_http, supply=1),
        # The staff console's two heaviest views (issue 20): the exceptions queue's first page and the dashboard.
        Op(
            "exceptions queue (limit 10)",
            TIMED,
            None,
            lambda: len(api.call("GET", "/staff/exceptions?limit=10", ("care-1", "customer_care"))["items"]),
        ),
        Op("dashboard", TIMED, None, lambda: len(api.call("GET", "/staff/dashboard", ("care-1", "customer_care"))["suppliers"])),
    ]


def run(*, reps: int = 10, count_reps: int = 3, warmup: int = 2, seed_value: int = 7) -> Section:
    from chalice.test import Client
    from moto import mock_aws

    from chalicelib.adapters.aws import reset_clients
    from chalicelib.local.provision import provision

    from .env import setup

    issuer = setup()
    runs = count_reps + warmup + reps
    section = Section(
        "1. DynamoDB requests per operation (moto in-process)",
        ["operation", "layer", "requests", "n", "items read", "returned", "target", "mean ms", "in ddb"],
    )
    with ExitStack() as stack:
        # Keep whatever the app prints while it runs (e.g. Powertools EMF blobs) out of the table.
        stack.enter_context(redirect_stdout(io.StringIO()))
        stack.enter_context(warnings.catch_warnings())
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        stack.enter_context(mock_aws())
        stack.enter_context(no_table_snapshots())
        reset_clients()
        provision()
        from app import app

        api = Http(stack.enter_context(Client(app)), issuer)
        t0 = time.perf_counter()
        data = seed(random.Random(seed_value))
        seeded_s = time.perf_counter() - t0
        for op in operations(data, api, runs):
            layers = (("service", op.service), ("http", op.http)) if op.service else (("http", op.http),)
            for layer, fn in layers:
                try:
                    m = measure(fn, count_reps=count_reps, warmup=warmup, reps=reps)
                except Exception as exc:  # a broken endpoint is a failed figure, not a crashed bench
                    section.add(
                        op.name,
                        layer,
                        f"error: {type(exc).__name__}: {exc}"[:90],
                        "",
                        "",
                        "",
                        op.target.text,
                        "",
                        "",
                        verdict=FAIL,
                    )
                    continue
                judged = op.target.check
                section.add(
                    op.name,
                    layer,
                    _fmt_requests(m.requests) + (" (varies)" if m.varies else ""),
                    sum(m.requests.values()),
                    m.items_read,
                    "" if m.returned is None else m.returned,
                    op.target.text,
                    f"{m.mean_ms:.1f}",
                    f"{m.in_calls_ms:.1f}",
                    verdict=INFO if judged is None else PASS if judged(m.requests) else FAIL,
                    summary=(
                        f"{op.name} ({layer})",
                        op.target.text,
                        f"{_fmt_requests(m.requests)}, {m.items_read} items read, {m.mean_ms:.1f} ms",
                    ),
                )
        reset_clients()
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(data.status_counts.items()))
    section.notes += [
        f"data: {len(SUPPLIERS)} suppliers, {sum(map(len, CAMPAIGN_PRODUCTS.values()))} products in "
        f"{len(CAMPAIGN_PRODUCTS)} live campaigns, {SEED_ORDERS} orders from {len(CUSTOMERS)} customers "
        f"({statuses}); seeded in {seeded_s:.1f} s",
        "n = requests per call; items read = Query/Scan ScannedCount + items returned by GetItem/BatchGetItem;",
        "returned = items (search, lists) or audit events (order reads) in the answer; page size 25.",
        f"mean ms: wall time per call, mean of {reps} calls after {warmup} warm-up; in ddb: the part spent inside",
        "DynamoDB calls (botocore before-call..after-call, i.e. moto's work in-process). Quote only: judge by counts.",
        "moto's whole-table rollback snapshot in TransactWriteItems is skipped (O(table) per write in moto 5.2.5).",
        "staff's settings (one GetItem per process per settings_cache_s) are read before each counted call, outside the count.",
        "target: DESIGN.md section 9 -- one request per read; one transaction plus at most one read per change;",
        "a search over a write-sharded index key: one parallel step (one Query per shard, keys.INDEX_SHARDS).",
    ]
    return section
