"""The storage port (`services.ports.Store`) on the single table, built on `repository`'s helpers.

Each port call is the request the helpers made before: a load is one GetItem, a commit one
TransactWriteItems, a listing page one Query (the address book: the whole item collection). Key
spelling and item mapping stay here and in `repository`; nothing above this module sees an item.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from pynamodb.exceptions import TransactWriteError

from ...domain.addresses import order_reference
from ...domain.audit import AuditEvent
from ...domain.campaigns import CampaignStatus
from ...domain.errors import AlreadyExists, Conflict
from ...domain.orders import DeliveryStatus, Order, OrderStatus
from ...domain.packing import PackingEntry, PackingLine
from ...domain.purchase_orders import PurchaseOrder
from ...services.ports import (
    A,
    AddRefunded,
    AddressBookHeader,
    AddressBookRecord,
    AddressEntry,
    CampaignProduct,
    CampaignRecord,
    CampaignWithProducts,
    Change,
    ClearDeadline,
    CountCampaign,
    CounterScope,
    CountExceptions,
    CountSales,
    CountStage,
    Customer,
    Page,
    Record,
    Remove,
    Save,
    SetDeadline,
    StageCounters,
    Supplier,
    Versioned,
)
from . import (
    keys,
    store_settings,  # noqa: F401  (its kind registers itself)
)
from . import repository as repo
from .fan_in import query_shards
from .mapping import MAPPERS
from .models import (
    AddressBookItem,
    AddressItem,
    AuditEventItem,
    CampaignItem,
    CustomerItem,
    DeliveryIndexItem,
    Item,
    OrderItem,
    ProductItem,
    SupplierItem,
)
from .store_access import AccessDynamo
from .store_assignments import AssignmentsDynamo
from .store_close import CloseDynamo, CloseProgressItem, progress_from_item
from .store_complaints import ComplaintsDynamo, refunded_write
from .store_consumers import ConsumersDynamo
from .store_deadlines import DeadlinesDynamo, deadline_writes
from .store_exceptions import ExceptionsDynamo, count_writes
from .store_exports import ExportsDynamo
from .store_money import MoneyDynamo
from .store_orders import OrdersDynamo
from .store_outbound import OutboundDynamo
from .store_purchase_orders import PurchaseOrdersDynamo, load_po
from .store_sales import SalesDynamo, sales_update
from .store_search import SearchDynamo, find_writes
from .store_shipments import ShipmentsDynamo
from .store_track import TrackDynamo
from .store_trends import TrendsDynamo, trend_writes

Writes = list[repo.Write | repo.Update | repo.Delete]
_SENT_FIRST: dict[type, int] = {repo.Delete: 0, repo.Write: 1, repo.Update: 2}


def _entry(item: AddressItem) -> Versioned[AddressEntry]:
    entry = AddressEntry(
        customer_id=item.customer_id,
        id=item.id,
        label=item.label,
        address=repo.address_from_map(item.address),
        created_at=item.created_at,
        updated_at=item.updated_at,
    )
    return Versioned(entry, int(item.version))


def _header(item: AddressBookItem) -> Versioned[AddressBookHeader]:
    return Versioned(AddressBookHeader(item.customer_id, item.default_address_id, item.updated_at), int(item.version))


def _packing_entry(item: DeliveryIndexItem) -> PackingEntry:
    ship_to = repo.address_from_map(item.ship_to) if item.ship_to is not None else None
    return PackingEntry(
        order_id=item.order_id,
        reference=item.reference or order_reference(item.order_id),
        supplier_id=item.supplier_id,
        status=DeliveryStatus(item.delivery_status),
        lines=tuple(PackingLine(l.sku, l.name, int(l.quantity)) for l in item.lines or []),
        ship_to=ship_to,
        address_visible=ship_to is not None,
        delivered_at=item.delivered_at,
        ordered_at=item.created_at,
    )


def _supplier(item: SupplierItem) -> Supplier:
    return Supplier(item.id, item.name, [str(e) for e in item.contact_emails or []], bool(item.active), item.created_at)


def campaign_record(item: CampaignItem) -> Versioned[CampaignRecord]:
    """Public for services not yet on the port that read a campaign item themselves (`services.uow`)."""
    return Versioned(CampaignRecord(repo.campaign_from_item(item), item.created_at, item.buyer_email), int(item.version or 0))


def _customer(item: CustomerItem) -> Versioned[Customer]:
    customer = Customer(item.id, item.email, bool(item.flagged), item.flag_reason, item.updated_at)
    return Versioned(customer, int(item.version))


def _stats_pk(scope: CounterScope) -> str:
    if scope.kind == "campaign":
        return keys.campaign_stats_pk(str(scope.id))
    if scope.kind == "supplier":
        return keys.supplier_stats_pk(str(scope.id))
    return keys.ALL_STATS_PK


class DynamoStore(
    AccessDynamo,
    AssignmentsDynamo,
    CloseDynamo,
    ComplaintsDynamo,
    ConsumersDynamo,
    DeadlinesDynamo,
    ExportsDynamo,
    ExceptionsDynamo,
    OutboundDynamo,
    PurchaseOrdersDynamo,
    OrdersDynamo,
    SalesDynamo,
    SearchDynamo,
    MoneyDynamo,
    ShipmentsDynamo,
    TrackDynamo,
    TrendsDynamo,
):
    """`services.ports.Store` on the table the PynamoDB models are bound to."""

    # ------------------------------------------------------------ aggregates

    def load(self, kind: type[A], *key: str) -> Versioned[A] | None:
        found: Versioned[Any] | None = None
        mapper = MAPPERS.get(kind)
        if mapper is not None:
            row = mapper.load(*key)
            return None if row is None else Versioned(row[0], row[1])
        if kind is Order:
            order = repo.get(keys.order(*key), OrderItem)
            found = Versioned(repo.order_from_item(order), int(order.version)) if order else None
        elif kind is PurchaseOrder:  # its record's PO, with its parcels' counts (one read)
            record = load_po(*key)
            found = Versioned(record[0].po, record[1]) if record else None
        elif kind is AddressEntry:
            address = repo.get(keys.customer_address(*key), AddressItem)
            found = _entry(address) if address else None
        elif kind is AddressBookHeader:
            header = repo.get(keys.address_book(*key), AddressBookItem)
            found = _header(header) if header else None
        elif kind is Supplier:
            supplier = repo.get(keys.supplier(*key), SupplierItem)
            found = Versioned(_supplier(supplier), int(supplier.version or 0)) if supplier else None
        elif kind is CampaignRecord:
            campaign = repo.get(keys.campaign(*key), CampaignItem)
            found = campaign_record(campaign) if campaign else None
        elif kind is Customer:
            customer = repo.get(keys.customer(*key), CustomerItem)
            found = _customer(customer) if customer else None
        elif kind is CampaignProduct:
            product = repo.get(keys.product(*key), ProductItem)
            found = Versioned(CampaignProduct(product.campaign_id, repo.product_from_item(product)), 1) if product else None
        else:
            raise TypeError(f"{kind.__name__} is not stored through the port")
        return cast("Versioned[A] | None", found)

    def writes(self, changes: Sequence[Change], *, at: datetime) -> tuple[Writes, set[int]]:
        """The transaction's writes (what `commit` sends), and which of them create (their failed
        condition: AlreadyExists)."""
        writes: Writes = []
        creates: set[int] = set()
        counted: dict[tuple[str, str, str], int] = {}
        for change in changes:
            if isinstance(change, Save):
                if change.expected_version is None:
                    creates.add(len(writes))
                writes += self._save(change, at)
                writes += find_writes(change.obj, change.expected_version)  # staff's search box, in the same transaction
            elif isinstance(change, Remove) and (mapper := MAPPERS.get(type(change.obj))) is not None:
                if mapper.remove is None:
                    raise TypeError(f"{type(change.obj).__name__} cannot be removed")
                writes += mapper.remove(change.obj, change.expected_version)
            elif isinstance(change, Remove):
                assert isinstance(change.obj, AddressEntry)
                gone = AddressItem(*keys.customer_address(change.obj.customer_id, change.obj.id))
                gone.version = change.expected_version  # deleted only as read: a version condition
                writes.append(repo.Delete(gone))
            elif isinstance(change, Record):
                creates.add(len(writes))
                event = change.event
                writes.append(repo.event_write(keys.subject_pk(event.subject_type, event.subject_id), event))
            elif isinstance(change, CountStage):
                writes += repo.stage_stats_updates(change.po, change.stage, change.deltas)
            elif isinstance(change, SetDeadline | ClearDeadline):
                writes += deadline_writes(change)
            elif isinstance(change, AddRefunded):
                writes.append(refunded_write(change))
            elif isinstance(change, CountSales):
                writes.append(sales_update(change))
            elif isinstance(change, CountExceptions):
                for cell, delta in change.deltas.items():  # one update of the counters item per transaction
                    counted[cell] = counted.get(cell, 0) + delta
            else:
                assert isinstance(change, CountCampaign)
                writes.append(repo.campaign_summary_update(change.campaign_id, change.subject_id, change.deltas))
        if any(counted.values()):
            writes += count_writes(CountExceptions(counted))
        writes += trend_writes(changes, at)  # the trends move in the transaction of the events they count
        return writes, creates

    def _save(self, change: Save, at: datetime) -> Writes:
        obj, version = change.obj, change.expected_version
        mapper = MAPPERS.get(type(obj))
        if mapper is not None:
            return mapper.save(obj, version, at)
        new = Item.PK.does_not_exist() if version is None else None
        if isinstance(obj, Order):
            before = None if version is None else (change.status_before or obj.status.value)
            return [*repo.order_writes(obj, version=version, now=at), *repo.order_status_counts(obj.id, before, obj.status.value)]
        if isinstance(obj, PurchaseOrder):
            if version is not None:
                raise ValueError("a purchase order is changed through its PORecord (which keeps the stage's token)")
            return [repo.po_write(obj, version=None, now=at)]
        if isinstance(obj, Supplier):
            gpk, gsk = keys.suppliers_index(obj.name, obj.id)
            item: Item = SupplierItem(
                *keys.supplier(obj.id),
                GSI1PK=gpk,
                GSI1SK=gsk,
                id=obj.id,
                name=obj.name,
                contact_emails=obj.contact_emails,
                active=obj.active,
                created_at=obj.created_at,
            )
            return [repo.Write(repo.with_version(item, version), new)]
        if isinstance(obj, CampaignRecord):
            item = repo.campaign_item(obj.campaign, created_at=obj.created_at, buyer_email=obj.buyer_email, version=version)
            return [repo.Write(item, new)]
        if isinstance(obj, CampaignProduct):
            if version is not None:
                raise ValueError("a campaign's product is created once, never changed")
            return [repo.new_item(repo.product_item(obj.campaign_id, obj.product))]
        if isinstance(obj, Customer):
            item = CustomerItem(
                *keys.customer(obj.id),
                id=obj.id,
                email=obj.email,
                flagged=obj.flagged,
                flag_reason=obj.flag_reason,
                updated_at=obj.updated_at,
            )
            return [repo.Write(repo.with_version(item, version), new)]
        if isinstance(obj, AddressEntry):
            item = AddressItem(
                *keys.customer_address(obj.customer_id, obj.id),
                id=obj.id,
                customer_id=obj.customer_id,
                label=obj.label,
                address=repo.address_map(obj.address),
                created_at=obj.created_at,
                updated_at=obj.updated_at,
            )
            return [repo.Write(repo.with_version(item, version), new)]
        if not isinstance(obj, AddressBookHeader):
            raise TypeError(f"{type(obj).__name__} is not stored through the port")
        item = AddressBookItem(
            *keys.address_book(obj.customer_id),
            customer_id=obj.customer_id,
            default_address_id=obj.default_address_id,
            updated_at=obj.updated_at,
        )
        return [repo.Write(repo.with_version(item, version), new)]

    def commit(self, changes: Sequence[Change], *, what: str, at: datetime) -> None:
        writes, creates = self.writes(changes, at=at)
        try:
            repo.commit(writes, what=what)
        except Conflict as exc:
            # PynamoDB sends deletes, then puts, then updates: the reasons come back in that order.
            sent = sorted(range(len(writes)), key=lambda i: (_SENT_FIRST[type(writes[i])], i))
            at_create = [n for n, i in enumerate(sent) if i in creates]
            cause = exc.__cause__
            if isinstance(cause, TransactWriteError) and any(repo.is_idempotency_conflict(cause, n) for n in at_create):
                raise AlreadyExists(f"{what}: already exists") from cause
            raise

    # ------------------------------------------------------------ named access patterns

    def address_book(self, customer_id: str) -> AddressBookRecord:
        found = repo.query_all(keys.customer_pk(customer_id), range_key_condition=Item.SK.startswith(keys.ADDRESS_BOOK_PREFIX))
        header = next((_header(i) for i in found if isinstance(i, AddressBookItem)), None)
        entries = sorted((_entry(i) for i in found if isinstance(i, AddressItem)), key=lambda e: (e.value.created_at, e.value.id))
        return AddressBookRecord(header, entries)

    def orders_on_hold(self, campaign_id: str, *, limit: int, cursor: str | None = None) -> Page[Order]:
        page = query_shards(
            Item.gsi3,
            keys.status_orders_pks(OrderStatus.ON_HOLD.value),
            filter_condition=OrderItem.campaign_id == campaign_id,
            limit=limit,
            cursor=cursor,
            newest_first=False,
        )
        held = [repo.order_from_item(i) for i in page.items if isinstance(i, OrderItem) and i.status == OrderStatus.ON_HOLD.value]
        return Page(held, page.cursor)

    def packing_list(self, po_id: str, *, limit: int, cursor: str | None = None) -> Page[PackingEntry]:
        page = repo.query_page(Item.gsi3, keys.po_packing_pk(po_id), limit=limit, cursor=cursor, newest_first=False)
        return Page([_packing_entry(i) for i in page.items if isinstance(i, DeliveryIndexItem)], page.cursor)

    def history(
        self, subject_type: str, subject_id: str, *, limit: int, cursor: str | None = None, newest_first: bool = False
    ) -> Page[AuditEvent]:
        page = repo.query_page(
            Item,
            keys.subject_pk(subject_type, subject_id),
            range_key_condition=Item.SK.startswith(keys.EVENT_PREFIX),
            limit=limit,
            cursor=cursor,
            newest_first=newest_first,
        )
        return Page([repo.event_from_item(i) for i in page.items if isinstance(i, AuditEventItem)], page.cursor)

    def load_suppliers(self, supplier_ids: Iterable[str]) -> dict[str, Supplier]:
        found = repo.batch_get(keys.supplier(s) for s in sorted(set(supplier_ids)))
        return {i.id: _supplier(i) for i in found if isinstance(i, SupplierItem)}

    def suppliers(self, *, limit: int, cursor: str | None = None) -> Page[Supplier]:
        page = repo.query_page(Item.gsi1, "SUPPLIERS", limit=limit, cursor=cursor, newest_first=False)
        return Page([_supplier(i) for i in page.items if isinstance(i, SupplierItem)], page.cursor)

    def campaign_with_products(self, campaign_id: str) -> CampaignWithProducts | None:
        items = repo.query_all(keys.campaign_pk(campaign_id), range_key_condition=Item.SK.startswith(keys.CAMPAIGN_BODY_PREFIX))
        meta = next((i for i in items if isinstance(i, CampaignItem)), None)
        if meta is None:
            return None
        close = next((progress_from_item(i) for i in items if isinstance(i, CloseProgressItem)), None)
        return CampaignWithProducts(
            campaign_record(meta), [repo.product_from_item(i) for i in items if isinstance(i, ProductItem)], close
        )

    def campaigns_in_status(
        self, status: CampaignStatus, *, limit: int, cursor: str | None = None, newest_first: bool = True
    ) -> Page[Versioned[CampaignRecord]]:
        page = repo.query_page(
            Item.gsi1, keys.campaigns_status_pk(status.value), limit=limit, cursor=cursor, newest_first=newest_first
        )
        return Page([campaign_record(i) for i in page.items if isinstance(i, CampaignItem)], page.cursor)

    def campaigns_any_status(self, *, limit: int, cursor: str | None = None) -> Page[Versioned[CampaignRecord]]:
        # One Query per status in ONE parallel step, merged by the index's sort key (a handful of statuses)
        pks = [keys.campaigns_status_pk(s.value) for s in CampaignStatus]
        page = query_shards(Item.gsi1, pks, limit=limit, cursor=cursor, newest_first=True)
        return Page([campaign_record(i) for i in page.items if isinstance(i, CampaignItem)], page.cursor)

    def campaigns_due(self, cutoff: datetime, *, limit: int) -> list[Versioned[CampaignRecord]]:
        page = repo.query_page(
            Item.gsi1,
            keys.campaigns_status_pk(CampaignStatus.LIVE.value),
            range_key_condition=keys.ts(cutoff) + "#~" >= Item.GSI1SK,
            limit=limit,
            newest_first=False,
        )
        return [campaign_record(i) for i in page.items if isinstance(i, CampaignItem)]

    def order_status_counts(self) -> dict[str, int]:
        return repo.read_order_status_counts()

    def counters(self, scope: CounterScope) -> StageCounters:
        found = repo.read_counters(_stats_pk(scope), str(scope.id) if scope.kind == "campaign" else None)
        return StageCounters(found.stages, found.summary)
