"""The orders area on the single table: its kinds' mapping and the `OrdersReads` access patterns.

Every read is the request `services.orders` made before it moved onto the port: the order's trail one
Query of its partition, a placement's context one BatchGetItem, a search page one Query on the index
its most selective filter picks.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pynamodb.expressions.condition import Condition

from ...domain.orders import Order, OrderStatus
from ...services.ports_common import Page, Versioned
from ...services.ports_orders import (
    CancellationLine,
    CancellationRequest,
    DecisionContext,
    OrderFilters,
    OrderSummary,
    OrderTrail,
    Placement,
    PlacementContext,
    RequestRead,
    ShipmentCopy,
    TrackingStep,
)
from .. import cursors
from . import keys
from . import repository as repo
from .fan_in import query_shards
from .mapping import Mapper, Writes, register
from .models import (
    AddressItem,
    AuditEventItem,
    CampaignItem,
    CancellationRequestItem,
    CustomerItem,
    DeliveryIndexItem,
    ExceptionItem,
    IdempotencyItem,
    Item,
    OrderItem,
    OrderShipmentItem,
    PackingLineMap,
    PaymentTxnItem,
    ProductItem,
    ShipmentItem,
    TimelineMap,
)
from .store_exceptions import record_from_item
from .store_money import payment_from_item

# ---------------------------------------------------------------- kinds


def _placement(item: IdempotencyItem) -> Placement:
    prefix = f"IDEMPOTENCY#{item.scope}#"
    return Placement(item.scope, item.PK[len(prefix) :], item.request_hash, item.result_id, item.created_at)


def _load_placement(scope: str, key: str) -> tuple[Placement, int] | None:
    item = repo.get(keys.idempotency(scope, key), IdempotencyItem)
    return None if item is None else (_placement(item), 1)


def _save_placement(p: Placement, version: int | None, at: datetime) -> Writes:
    if version is not None:
        raise ValueError("a placement is created once, never changed")
    return [repo.idempotency_write(p.scope, p.key, p.request_hash, p.order_id, p.created_at)]


def _shipment_copy(item: OrderShipmentItem) -> ShipmentCopy:
    return ShipmentCopy(
        shipment_id=item.shipment_id,
        order_id=item.order_id,
        supplier_id=item.supplier_id,
        carrier=item.carrier,
        tracking_number=item.tracking_number,
        tracking_url=item.tracking_url,
        status=item.status,
        status_at=item.status_at,
        created_at=item.created_at,
        updated_at=item.updated_at,
        timeline=[TrackingStep(t.occurred_at, t.status, t.description, t.location, t.carrier_code) for t in item.timeline or []],
    )


def _load_shipment_copy(order_id: str, shipment_id: str) -> tuple[ShipmentCopy, int] | None:
    item = repo.get(keys.order_shipment(order_id, shipment_id), OrderShipmentItem)
    return None if item is None else (_shipment_copy(item), 1)  # a copy carries no version: it follows its shipment


def shipment_copy_item(s: ShipmentCopy) -> OrderShipmentItem:
    """The copy's item (public for `services.shipment_records`, which still writes items)."""
    return OrderShipmentItem(
        *keys.order_shipment(s.order_id, s.shipment_id),
        shipment_id=s.shipment_id,
        order_id=s.order_id,
        supplier_id=s.supplier_id,
        carrier=s.carrier,
        tracking_number=s.tracking_number,
        tracking_url=s.tracking_url,
        status=s.status,
        status_at=s.status_at,
        timeline=[
            TimelineMap(
                status=t.status,
                carrier_code=t.carrier_code or "",  # type: ignore[no-untyped-call]
                occurred_at=t.occurred_at,
                description=t.description,
                location=t.location,
            )
            for t in s.timeline
        ],
        created_at=s.created_at,
        updated_at=s.updated_at,
    )


def _save_shipment_copy(s: ShipmentCopy, version: int | None, at: datetime) -> Writes:
    item = shipment_copy_item(s)
    return [repo.new_item(item) if version is None else repo.Write(item)]


REQUESTED = "requested"  # (services.cancellations.REQUESTED: the status that keeps it on its PO's list)


def _request(item: CancellationRequestItem) -> RequestRead:
    request = CancellationRequest(
        id=item.id,
        order_id=item.order_id,
        campaign_id=item.campaign_id,
        supplier_id=item.supplier_id,
        po_id=item.po_id,
        customer_id=item.customer_id,
        reference=item.reference,
        lines=[CancellationLine(l.sku, l.name, int(l.quantity)) for l in item.lines],
        everything=bool(item.everything),
        reason=item.reason,
        status=item.status,
        requested_at=item.requested_at,
        decided_at=item.decided_at,
        decided_by=item.decided_by,
        decided_role=item.decided_role,
        decision_note=item.decision_note,
        cancelled_cents=None if item.cancelled_cents is None else int(item.cancelled_cents),
    )
    return RequestRead(request, int(item.version))


def _load_request(request_id: str) -> tuple[CancellationRequest, int] | None:
    key = keys.cancellation_request(request_id)
    item = repo.get(key, CancellationRequestItem) if key is not None else None
    if item is None:
        return None
    read = _request(item)
    return read.value, read.version


def _save_request(r: CancellationRequest, version: int | None, at: datetime) -> Writes:
    key = keys.cancellation_request(r.id)
    if key is None:
        raise ValueError(f"{r.id} is not a cancellation request's id")
    waiting = r.status == REQUESTED  # only a request waiting for a decision is on its PO's list
    item = CancellationRequestItem(
        *key,
        GSI1PK=keys.po_cancellation_requests_pk(r.po_id) if waiting else None,
        GSI1SK=keys.created_sk(r.requested_at, r.id) if waiting else None,
        id=r.id,
        order_id=r.order_id,
        campaign_id=r.campaign_id,
        supplier_id=r.supplier_id,
        po_id=r.po_id,
        customer_id=r.customer_id,
        reference=r.reference,
        lines=[PackingLineMap(sku=l.sku, name=l.name, quantity=l.quantity) for l in r.lines],  # type: ignore[no-untyped-call]
        everything=r.everything,
        reason=r.reason,
        status=r.status,
        requested_at=r.requested_at,
        decided_at=r.decided_at,
        decided_by=r.decided_by,
        decided_role=r.decided_role,
        decision_note=r.decision_note,
        cancelled_cents=r.cancelled_cents,
    )
    return [repo.new_item(item) if version is None else repo.Write(repo.with_version(item, version))]


register(Placement, Mapper(load=_load_placement, save=_save_placement))
register(ShipmentCopy, Mapper(load=_load_shipment_copy, save=_save_shipment_copy))
register(CancellationRequest, Mapper(load=_load_request, save=_save_request))


# ---------------------------------------------------------------- reads


def _summary(item: Item) -> OrderSummary:
    if isinstance(item, OrderItem):
        return OrderSummary(
            item.id,
            item.campaign_id,
            item.customer_id,
            item.customer_email,
            item.status,
            int(item.total_cents),
            item.currency,
            item.created_at,
            [str(s) for s in item.supplier_ids],
        )
    assert isinstance(item, DeliveryIndexItem)
    return OrderSummary(
        item.order_id,
        item.campaign_id,
        item.customer_id,
        item.customer_email,
        item.order_status,
        int(item.total_cents),
        item.currency,
        item.created_at,
        [str(s) for s in item.supplier_ids] or [item.supplier_id],
    )


def _and(conditions: list[Condition]) -> Condition | None:
    result: Condition | None = None
    for c in conditions:
        result = c if result is None else result & c
    return result


def _several_statuses(
    hash_keys: list[str], statuses: tuple[OrderStatus, ...], lo: str | None, hi: str | None, *, limit: int, cursor: str | None
) -> repo.Page:
    """Orders in any of several statuses, newest first: every shard of every status in ONE parallel step,
    merged by creation time (`fan_in.query_shards`). The cursor is the sort key of the page's last order
    (`<created>#<order>`, unique): the next page reads each shard from just below it, so it stays one
    short key however many statuses and shards are merged."""
    listing = ",".join(s.value for s in statuses)
    before: str | None = None
    if cursor:
        raw = cursors.decode(cursor)
        ok = isinstance(raw, dict) and raw.get("of") == listing and isinstance(raw.get("before"), str)
        if not ok or len(raw["before"]) > 200 or (lo and raw["before"] < lo) or (hi and raw["before"] > hi):
            raise cursors.invalid()
        before = raw["before"]
    top = before or hi
    sk = Item.GSI3SK
    condition = sk.between(lo, top) if lo and top else (sk >= lo if lo else (sk <= top if top else None))
    # one more than the page: the order the cursor names (the range includes it) is left out
    page = query_shards(Item.gsi3, hash_keys, range_key_condition=condition, limit=limit + (1 if before else 0))
    fresh = [i for i in page.items if str(i.GSI3SK) != before]
    taken = fresh[:limit]
    more = page.cursor is not None or len(fresh) > limit
    following = cursors.encode({"of": listing, "before": str(taken[-1].GSI3SK)}) if more and taken else None
    return repo.Page(items=taken, cursor=following, scanned=page.scanned)


class OrdersDynamo:
    """`services.ports_orders.OrdersReads` on the single table."""

    def order_trail(self, order_id: str) -> OrderTrail | None:
        items = repo.query_all(keys.order_pk(order_id))
        meta = next((i for i in items if isinstance(i, OrderItem)), None)
        if meta is None:
            return None
        return OrderTrail(
            repo.order_from_item(meta),
            int(meta.version),
            meta.updated_at,
            [repo.event_from_item(i) for i in items if isinstance(i, AuditEventItem)],
            [
                _shipment_copy(i)
                for i in sorted((i for i in items if isinstance(i, OrderShipmentItem)), key=lambda i: i.created_at)
            ],
            [
                Versioned(payment_from_item(i), int(i.version))
                for i in sorted((i for i in items if isinstance(i, PaymentTxnItem)), key=lambda i: i.created_at)
            ],
            [
                _request(i)
                for i in sorted((i for i in items if isinstance(i, CancellationRequestItem)), key=lambda i: i.requested_at)
            ],
        )

    def placement_context(
        self,
        campaign_id: str,
        customer_id: str,
        skus: Sequence[str],
        *,
        placement: tuple[str, str] | None = None,
        address_id: str | None = None,
    ) -> PlacementContext:
        wanted = [keys.campaign(campaign_id), keys.customer(customer_id)]
        wanted += [keys.product(campaign_id, sku) for sku in dict.fromkeys(skus)][:95]
        if placement is not None:
            wanted.append(keys.idempotency(*placement))
        if address_id is not None:
            wanted.append(keys.customer_address(customer_id, address_id))
        found = repo.batch_get(wanted)
        campaign = next((i for i in found if isinstance(i, CampaignItem)), None)
        profile = next((i for i in found if isinstance(i, CustomerItem)), None)
        previous = next((i for i in found if isinstance(i, IdempotencyItem)), None)
        saved = next((i for i in found if isinstance(i, AddressItem)), None)
        return PlacementContext(
            campaign=repo.campaign_from_item(campaign) if campaign is not None else None,
            products={p.sku: repo.product_from_item(p) for p in found if isinstance(p, ProductItem)},
            customer_flagged=bool(profile and profile.flagged),
            placement=_placement(previous) if previous is not None else None,
            address=repo.address_from_map(saved.address) if saved is not None else None,
        )

    def search_orders(self, filters: OrderFilters, *, limit: int, cursor: str | None = None) -> Page[OrderSummary]:
        f = filters
        statuses = f.wanted_statuses
        status_attr: Any = OrderItem.status
        extra: list[Condition] = []
        if f.customer_id:
            source, hash_keys, sk = Item.gsi1, [keys.customer_orders_pk(f.customer_id)], Item.GSI1SK
        elif f.customer_email:
            source, hash_keys, sk = Item.gsi2, [keys.customer_email_orders_pk(f.customer_email)], Item.GSI2SK
            status_attr = DeliveryIndexItem.order_status
        elif f.campaign_id:
            source, hash_keys, sk = Item.gsi2, keys.campaign_orders_pks(f.campaign_id), Item.GSI2SK
        elif f.supplier_id:
            source, hash_keys, sk = Item.gsi1, keys.supplier_deliveries_pks(f.supplier_id), Item.GSI1SK
            status_attr = DeliveryIndexItem.order_status
        elif statuses:  # several: every shard of each status, one parallel step merged by creation time
            source, hash_keys, sk = Item.gsi3, [pk for s in statuses for pk in keys.status_orders_pks(s.value)], Item.GSI3SK
        else:
            source, hash_keys, sk = Item.gsi4, keys.all_orders_pks(), Item.GSI4SK
        if len(statuses) == 1 and source is not Item.gsi3:
            extra.append(status_attr == statuses[0].value)
        elif statuses and source is not Item.gsi3:
            extra.append(status_attr.is_in(*(s.value for s in statuses)))
        if f.campaign_id and hash_keys != keys.campaign_orders_pks(f.campaign_id):
            extra.append(OrderItem.campaign_id == f.campaign_id)
        if f.customer_email and f.customer_id:
            extra.append(OrderItem.customer_email == f.customer_email)
        if f.supplier_id and hash_keys != keys.supplier_deliveries_pks(f.supplier_id):
            extra.append(OrderItem.supplier_ids.contains(f.supplier_id))
        lo = keys.ts(f.created_from) if f.created_from else None
        hi = keys.ts(f.created_to) + "#~" if f.created_to else None
        range_condition: Condition | None = None
        if lo and hi:
            range_condition = sk.between(lo, hi)
        elif lo:
            range_condition = sk >= lo
        elif hi:
            range_condition = sk <= hi
        if len(hash_keys) == 1:  # a customer's own orders: one key, one Query
            page = repo.query_page(
                source,
                hash_keys[0],
                range_key_condition=range_condition,
                filter_condition=_and(extra),
                limit=limit,
                cursor=cursor,
            )
        elif len(statuses) > 1 and source is Item.gsi3:  # several statuses' shards: one step, a short cursor
            page = _several_statuses(hash_keys, statuses, lo, hi, limit=limit, cursor=cursor)
        else:  # a key every order writes: its shards, one parallel step
            page = query_shards(
                source, hash_keys, range_key_condition=range_condition, filter_condition=_and(extra), limit=limit, cursor=cursor
            )
        return Page([_summary(i) for i in page.items], page.cursor)

    def orders_shipped_as(self, tracking_number: str) -> list[Order]:
        order_ids = sorted(
            {
                str(o)
                for s in Item.gsi1.query(keys.tracking_index_pk(tracking_number))
                if isinstance(s, ShipmentItem)
                for o in s.order_ids
            }
        )
        return [repo.order_from_item(i) for i in repo.batch_get(keys.order(o) for o in order_ids) if isinstance(i, OrderItem)]

    def decision_context(self, request_id: str, exception_id: str) -> DecisionContext:
        key = keys.cancellation_request(request_id)
        if key is None:
            return DecisionContext(None, None, 0, None)
        owner = request_id.partition(keys.CANCELLATION_REQUEST_SEPARATOR)[0]
        found = repo.batch_get([key, keys.order(owner), keys.exception(exception_id)])
        request = next((i for i in found if isinstance(i, CancellationRequestItem)), None)
        meta = next((i for i in found if isinstance(i, OrderItem)), None)
        return DecisionContext(
            _request(request) if request is not None else None,
            repo.order_from_item(meta) if meta is not None else None,
            int(meta.version) if meta is not None else 0,
            next((record_from_item(i) for i in found if isinstance(i, ExceptionItem)), None),
        )

    def waiting_cancellation_requests(self, po_id: str, *, limit: int, cursor: str | None = None) -> Page[RequestRead]:
        page = repo.query_page(Item.gsi1, keys.po_cancellation_requests_pk(po_id), limit=limit, cursor=cursor, newest_first=False)
        return Page([_request(i) for i in page.items if isinstance(i, CancellationRequestItem)], page.cursor)

    def campaign_orders_in(
        self, campaign_id: str, statuses: Sequence[OrderStatus], *, limit: int, cursor: str | None = None
    ) -> Page[Order]:
        page = query_shards(
            Item.gsi2,
            keys.campaign_orders_pks(campaign_id),
            filter_condition=OrderItem.status.is_in(*(s.value for s in statuses)),
            limit=limit,
            cursor=cursor,
            newest_first=False,
        )
        return Page([repo.order_from_item(i) for i in page.items if isinstance(i, OrderItem)], page.cursor)
