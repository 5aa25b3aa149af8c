"""The storage port (`services.ports.Store`) in memory: dicts of domain objects, for service tests.

A fake of OUR port, not of DynamoDB: no keys, no items, no condition expressions. Each named access
pattern is answered from the stored aggregates the way the port's docstrings say, and the contract
suite (tests/contract) runs the same tests against this and the DynamoDB store. Objects are copied in
and out, so a caller's later change to an object never reaches the store behind a commit.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from ..domain.addresses import order_reference
from ..domain.audit import AuditEvent
from ..domain.campaigns import CampaignStatus
from ..domain.errors import AlreadyExists, Conflict, RuleViolation
from ..domain.metrics import STAGE_COUNTERS, SUMMARY_COUNTERS
from ..domain.orders import ARRIVED, Order, OrderStatus
from ..domain.packing import PackingEntry, PackingLine, on_packing_list
from ..domain.purchase_orders import PurchaseOrder, Stage, po_id
from ..services.ports import (
    A,
    AddRefunded,
    AddressBookHeader,
    AddressBookRecord,
    AddressEntry,
    Aggregate,
    CampaignProduct,
    CampaignRecord,
    CampaignWithProducts,
    Change,
    ClearDeadline,
    CounterScope,
    CountExceptions,
    CountSales,
    CountStage,
    Page,
    Record,
    Remove,
    Save,
    SetDeadline,
    StageCounters,
    Supplier,
    Versioned,
)
from ..services.ports_close import CloseProgress
from ..services.ports_purchase_orders import InvoiceRecord, PORecord
from ..services.ports_shipments import ShippedCount
from .memory_access import ACCESS_KEYS, AccessMemory
from .memory_assignments import ASSIGNMENTS_KEYS, AssignmentsMemory
from .memory_close import CLOSE_KEYS, CloseMemory
from .memory_complaints import COMPLAINTS_KEYS, ComplaintsMemory
from .memory_consumers import CONSUMERS_KEYS, UNVERSIONED, ConsumersMemory
from .memory_deadlines import DeadlinesMemory
from .memory_exceptions import ExceptionsMemory
from .memory_exports import ExportsMemory
from .memory_money import MONEY_KEYS, MoneyMemory
from .memory_orders import ORDERS_KEYS, OrdersMemory
from .memory_outbound import OUTBOUND_KEYS, OutboundMemory
from .memory_purchase_orders import PurchaseOrdersMemory
from .memory_purchase_orders import keys as purchase_order_keys
from .memory_sales import SalesMemory
from .memory_search import SEARCH_KEYS, SearchMemory
from .memory_shipments import FOLLOWERS, SHIPMENTS_KEYS, ShipmentsMemory
from .memory_track import TrackMemory
from .memory_trends import TrendsMemory

T = TypeVar("T")
Key = tuple[type, tuple[str, ...]]


# An area's kinds whose key is not just `obj.id` (see services.ports: kinds are registered by area).
KEYS: dict[type, Callable[[Any], tuple[str, ...]]] = {**ORDERS_KEYS}
KEYS.update(OUTBOUND_KEYS)
KEYS.update(COMPLAINTS_KEYS)
KEYS.update(MONEY_KEYS)
purchase_order_keys(KEYS)
KEYS.update(SHIPMENTS_KEYS)
KEYS.update(CONSUMERS_KEYS)
KEYS.update(ACCESS_KEYS)
KEYS.update(ASSIGNMENTS_KEYS)
KEYS.update(CLOSE_KEYS)
KEYS.update(SEARCH_KEYS)
# Kinds with no version of their own: a save with any version writes them as they are (version 1).
AS_THEY_ARE = FOLLOWERS | UNVERSIONED


def _key(obj: Aggregate) -> Key:
    if type(obj) in KEYS:
        return type(obj), KEYS[type(obj)](obj)
    if isinstance(obj, AddressEntry):
        return AddressEntry, (obj.customer_id, obj.id)
    if isinstance(obj, AddressBookHeader):
        return AddressBookHeader, (obj.customer_id,)
    if isinstance(obj, CampaignRecord):
        return CampaignRecord, (obj.campaign.id,)
    if isinstance(obj, CampaignProduct):
        return CampaignProduct, (obj.campaign_id, obj.product.sku)
    if isinstance(obj, PurchaseOrder):  # kept as its record (`ports_purchase_orders.PORecord`)
        return PORecord, (obj.id,)
    return type(obj), (str(getattr(obj, "id")),)  # noqa: B009  (any kind with an id)


def _page(
    listing: str, rows: Iterable[tuple[tuple[str, ...], T]], *, limit: int, cursor: str | None, reverse: bool = False
) -> Page[T]:
    """Rows (sort key, value) paged in sort-key order (`reverse`: descending); the cursor names the
    listing and the last key returned, so a cursor from another listing is refused like the DynamoDB
    store refuses it."""
    after: tuple[str, ...] | None = None
    if cursor:
        try:
            raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            ok = isinstance(raw, dict) and raw.get("listing") == listing and isinstance(raw.get("after"), list)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            ok = False
        if not ok:
            raise RuleViolation("invalid_cursor", "the cursor is not one this listing returned")
        after = tuple(raw["after"])
    ordered = sorted(rows, key=lambda r: r[0], reverse=reverse)
    remaining = [r for r in ordered if after is None or (r[0] < after if reverse else r[0] > after)]
    shown = remaining[:limit]
    more = len(remaining) > limit
    next_cursor = (
        base64.urlsafe_b64encode(json.dumps({"listing": listing, "after": list(shown[-1][0])}).encode()).decode().rstrip("=")
        if more and shown
        else None
    )
    return Page([v for _, v in shown], next_cursor)


def _ts(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%f")


def _created(order: Order) -> tuple[str, ...]:
    return (_ts(order.created_at), order.id)


class MemoryStore(
    AccessMemory,
    AssignmentsMemory,
    CloseMemory,
    ComplaintsMemory,
    ConsumersMemory,
    DeadlinesMemory,
    ExportsMemory,
    ExceptionsMemory,
    OutboundMemory,
    PurchaseOrdersMemory,
    OrdersMemory,
    MoneyMemory,
    SalesMemory,
    SearchMemory,
    ShipmentsMemory,
    TrackMemory,
    TrendsMemory,
):
    """`services.ports.Store` over dicts; `commits` counts the transactions committed."""

    def __init__(self) -> None:
        self._aggregates: dict[Key, tuple[Any, int]] = {}
        self._events: dict[tuple[str, str], dict[str, AuditEvent]] = {}
        self._stages: dict[CounterScope, dict[Stage, dict[str, int]]] = {}
        self._summaries: dict[str, dict[str, int]] = {}
        self._shipped_apart = {}
        self._init_sales()
        self._init_trends()
        self.commits = 0

    _page = staticmethod(_page)  # for the areas' mixins, which cannot import this module back

    # ------------------------------------------------------------ aggregates

    def load(self, kind: type[A], *key: str) -> Versioned[A] | None:
        if kind is PurchaseOrder or kind is PORecord:  # the stored record (or its PO) with its parcels' counts
            record = self._aggregates.get((PORecord, tuple(key)))
            if record is None:
                return None
            counted = self._counted(copy.deepcopy(record[0]))
            return Versioned(cast("A", counted.po if kind is PurchaseOrder else counted), record[1])
        found = self._aggregates.get((kind, tuple(key)))
        return None if found is None else Versioned(cast("A", copy.deepcopy(found[0])), found[1])

    def commit(self, changes: Sequence[Change], *, what: str, at: datetime) -> None:
        failed: list[Conflict] = []
        for change in changes:  # every check before any write: all or nothing
            try:
                self._check(change, what)
            except Conflict as exc:
                failed.append(exc)
        if failed:  # as DynamoDB answers: a failed create anywhere makes it AlreadyExists
            raise next((e for e in failed if isinstance(e, AlreadyExists)), failed[0])
        for change in changes:
            self._apply(change, at)
        self._apply_trends(changes, at)
        self.commits += 1

    def _check(self, change: Change, what: str) -> None:
        if isinstance(change, Save | Remove):
            current = self._aggregates.get(_key(change.obj))
            if isinstance(change, Save) and change.expected_version is None:
                if current is not None:
                    raise AlreadyExists(f"{what}: already exists")
                return
            if isinstance(change, Save) and type(change.obj) in AS_THEY_ARE:  # no version of its own: written as it is
                return
            if isinstance(change, Save) and isinstance(change.obj, PurchaseOrder):
                raise ValueError("a purchase order is changed through its PORecord (which keeps the stage's token)")
            if isinstance(change, Save) and isinstance(change.obj, CampaignProduct):
                raise ValueError("a campaign's product is created once, never changed")
            if isinstance(change, Save) and isinstance(change.obj, InvoiceRecord):
                raise ValueError("an invoice is filed once, never changed")
            if current is None or current[1] != change.expected_version:
                raise Conflict(f"{what} was changed by someone else; reload and try again")
        elif isinstance(change, Record):
            event = change.event
            if event.id in self._events.get((event.subject_type, event.subject_id), {}):
                raise AlreadyExists(f"{what}: already exists")
        elif isinstance(change, AddRefunded):
            self._check_refunded(change, what)

    def _apply(self, change: Change, at: datetime) -> None:
        if isinstance(change, Save) and isinstance(change.obj, ShippedCount):
            self._count_shipped(change.obj)
        elif isinstance(change, Save):
            obj = copy.deepcopy(change.obj)
            if isinstance(obj, PurchaseOrder):  # created without a stage open
                obj = PORecord(obj)
            if isinstance(obj, PORecord):
                obj.updated_at = at
                # What the record counts itself; its parcels' counts stay where they are.
                obj.po.orders_shipped -= obj.po.orders_shipped_apart
                obj.po.orders_shipped_apart = 0
            if isinstance(obj, Order):  # the first save that shows a delivery arrived stamps when
                obj.deliveries = [
                    replace(d, delivered_at=at) if d.status in ARRIVED and d.delivered_at is None else d for d in obj.deliveries
                ]
            self._aggregates[_key(obj)] = (obj, 1 if type(obj) in AS_THEY_ARE else (change.expected_version or 0) + 1)
        elif isinstance(change, Remove):
            del self._aggregates[_key(change.obj)]
        elif isinstance(change, Record):
            event = change.event
            self._events.setdefault((event.subject_type, event.subject_id), {})[event.id] = copy.deepcopy(event)
        elif isinstance(change, SetDeadline | ClearDeadline):
            self._apply_deadline(change)
        elif isinstance(change, AddRefunded):
            self._apply_refunded(change)
        elif isinstance(change, CountSales):
            self._apply_sales(change)
        elif isinstance(change, CountExceptions):
            self._apply_exception_counts(change)
        elif isinstance(change, CountStage):
            po = change.po
            for scope in (
                CounterScope("campaign", po.campaign_id),
                CounterScope("supplier", po.supplier_id),
                CounterScope("all"),
            ):
                row = self._stages.setdefault(scope, {}).setdefault(change.stage, dict.fromkeys(STAGE_COUNTERS, 0))
                for name, value in change.deltas.items():
                    row[name] = row.get(name, 0) + value
        else:
            summary = self._summaries.setdefault(change.campaign_id, dict.fromkeys(SUMMARY_COUNTERS, 0))
            for name, value in change.deltas.items():
                summary[name] = summary.get(name, 0) + value

    def _versioned(self, kind: type[T]) -> list[Versioned[T]]:
        return [Versioned(copy.deepcopy(v), n) for (k, _), (v, n) in self._aggregates.items() if k is kind]

    def _all(self, kind: type[T]) -> list[T]:
        return [copy.deepcopy(v) for (k, _), (v, _) in self._aggregates.items() if k is kind]

    # ------------------------------------------------------------ named access patterns

    def address_book(self, customer_id: str) -> AddressBookRecord:
        entries = [
            Versioned(copy.deepcopy(v), n)
            for (kind, key), (v, n) in self._aggregates.items()
            if kind is AddressEntry and key[0] == customer_id
        ]
        entries.sort(key=lambda e: (e.value.created_at, e.value.id))
        return AddressBookRecord(self.load(AddressBookHeader, customer_id), entries)

    def orders_on_hold(self, campaign_id: str, *, limit: int, cursor: str | None = None) -> Page[Order]:
        held = [(_created(o), o) for o in self._all(Order) if o.status is OrderStatus.ON_HOLD and o.campaign_id == campaign_id]
        return _page(f"on_hold/{campaign_id}", held, limit=limit, cursor=cursor)

    def packing_list(self, po_id_: str, *, limit: int, cursor: str | None = None) -> Page[PackingEntry]:
        rows = []
        for order in self._all(Order):
            for d in order.deliveries:
                if po_id(order.campaign_id, d.supplier_id) != po_id_ or not on_packing_list(d.status):
                    continue
                ship_to = d.ship_to or order.shipping_address
                entry = PackingEntry(
                    order_id=order.id,
                    reference=order_reference(order.id),
                    supplier_id=d.supplier_id,
                    status=d.status,
                    lines=tuple(PackingLine(l.sku, l.name, l.quantity) for l in order.lines if l.supplier_id == d.supplier_id),
                    ship_to=ship_to,
                    address_visible=ship_to is not None,
                    delivered_at=d.delivered_at,
                    ordered_at=order.created_at,
                )
                rows.append((_created(order), entry))
        return _page(f"packing/{po_id_}", rows, limit=limit, cursor=cursor)

    def history(
        self, subject_type: str, subject_id: str, *, limit: int, cursor: str | None = None, newest_first: bool = False
    ) -> Page[AuditEvent]:
        events = self._events.get((subject_type, subject_id), {}).values()
        rows = [((_ts(e.at), e.id), copy.deepcopy(e)) for e in events]
        order = "newest" if newest_first else "oldest"
        return _page(f"history/{subject_type}/{subject_id}/{order}", rows, limit=limit, cursor=cursor, reverse=newest_first)

    def load_suppliers(self, supplier_ids: Iterable[str]) -> dict[str, Supplier]:
        found = (self.load(Supplier, s) for s in set(supplier_ids))
        return {f.value.id: f.value for f in found if f is not None}

    def suppliers(self, *, limit: int, cursor: str | None = None) -> Page[Supplier]:
        rows = [((s.name.lower(), s.id), s) for s in self._all(Supplier)]
        return _page("suppliers", rows, limit=limit, cursor=cursor)

    def campaign_with_products(self, campaign_id: str) -> CampaignWithProducts | None:
        record = self.load(CampaignRecord, campaign_id)
        if record is None:
            return None
        products = sorted((p for p in self._all(CampaignProduct) if p.campaign_id == campaign_id), key=lambda p: p.product.sku)
        close = self.load(CloseProgress, campaign_id)
        return CampaignWithProducts(record, [p.product for p in products], None if close is None else close.value)

    def _campaigns(self, status: CampaignStatus) -> list[tuple[tuple[str, ...], Versioned[CampaignRecord]]]:
        return [
            ((_ts(r.campaign.ends_at or r.created_at), r.campaign.id), Versioned(copy.deepcopy(r), n))
            for (kind, _), (r, n) in self._aggregates.items()
            if kind is CampaignRecord and r.campaign.status is status
        ]

    def campaigns_in_status(
        self, status: CampaignStatus, *, limit: int, cursor: str | None = None, newest_first: bool = True
    ) -> Page[Versioned[CampaignRecord]]:
        return _page(f"campaigns/{status.value}", self._campaigns(status), limit=limit, cursor=cursor, reverse=newest_first)

    def campaigns_any_status(self, *, limit: int, cursor: str | None = None) -> Page[Versioned[CampaignRecord]]:
        rows = [row for s in CampaignStatus for row in self._campaigns(s)]
        return _page("campaigns/any", rows, limit=limit, cursor=cursor, reverse=True)

    def campaigns_due(self, cutoff: datetime, *, limit: int) -> list[Versioned[CampaignRecord]]:
        due = [
            (k, v) for k, v in self._campaigns(CampaignStatus.LIVE) if (v.value.campaign.ends_at or v.value.created_at) <= cutoff
        ]
        return [v for _, v in sorted(due, key=lambda r: r[0])[:limit]]

    def order_status_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for order in self._all(Order):
            counts[order.status.value] = counts.get(order.status.value, 0) + 1
        return counts

    def counters(self, scope: CounterScope) -> StageCounters:
        stages = copy.deepcopy(self._stages.get(scope, {}))
        summary = dict(self._summaries.get(str(scope.id), {})) if scope.kind == "campaign" else {}
        return StageCounters(stages, {**dict.fromkeys(SUMMARY_COUNTERS, 0), **summary})


def seeded(*changes: Change, at: datetime) -> MemoryStore:
    """A memory store holding `changes` (one commit): a test's starting state."""
    store = MemoryStore()
    store.commit(changes, what="the test's data", at=at)
    return store
