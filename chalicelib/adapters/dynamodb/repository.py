"""Reads and writes of the single table, in domain terms.

Every change goes through `commit`: one TransactWriteItems holding the aggregate (with its
version condition), its audit event and any index or idempotency items. Every read is one
GetItem, one BatchGetItem or one Query page (`query_page` never follows a second page).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pynamodb.exceptions import DoesNotExist, PutError, QueryError, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from ...domain.addresses import Address, order_reference
from ...domain.audit import AuditEvent
from ...domain.campaigns import Campaign, CampaignStatus, Product
from ...domain.errors import AlreadyExists, Conflict, RuleViolation
from ...domain.orders import ARRIVED, Delivery, DeliveryStatus, Order, OrderLine, OrderStatus, PaymentMode
from ...domain.packing import on_packing_list
from ...domain.permissions import Principal, Role
from ...domain.purchase_orders import POLine, POStatus, PurchaseOrder, RejectReason, Stage, po_id
from .. import cursors
from . import keys
from .models import (
    ActorMap,
    AddressMap,
    AuditEventItem,
    CampaignItem,
    CustomerItem,
    DeliveryIndexItem,
    DeliveryMap,
    IdempotencyItem,
    Item,
    LineMap,
    OrderItem,
    PackingLineMap,
    POLineMap,
    ProcessedItem,
    ProductItem,
    PurchaseOrderItem,
    SupplierItem,
    str_list,
)

T = TypeVar("T", bound=Item)


# ---------------------------------------------------------------- writes


@dataclass
class Write:
    item: Item
    condition: Condition | None = None


@dataclass
class Update:
    """An in-place UpdateItem in the transaction: `item` only names the key; e.g. counters ADDed."""

    item: Item
    actions: list[Action]
    condition: Condition | None = None


@dataclass
class Delete:
    """A DeleteItem in the transaction, under the item's version when it has one (set `version`)."""

    item: Item
    condition: Condition | None = None


TRANSACTION_CONFLICT_RETRIES = 4  # then a 409: the items stay that contended


def commit(writes: Sequence[Write | Update | Delete], *, what: str, unique_at: int | None = None) -> None:
    """Write everything in one transaction; a failed condition anywhere is a Conflict (409).
    `unique_at` names a write whose failed condition means "already recorded" (AlreadyExists).

    A transaction cancelled only because another one held an item at that moment (TransactionConflict:
    no condition failed; shared counters make it likely under load) is sent again, after a short
    jittered wait, with the same conditions: it still commits only against what it read."""
    if not writes:
        return
    for attempt in range(TRANSACTION_CONFLICT_RETRIES + 1):
        try:
            with TransactWrite(connection=Item._get_connection().connection) as tx:
                for w in writes:
                    if isinstance(w, Update):
                        tx.update(w.item, w.actions, condition=w.condition, add_version_condition=False)
                    elif isinstance(w, Delete):
                        tx.delete(w.item, condition=w.condition)
                    else:
                        tx.save(w.item, condition=w.condition)
            return
        except TransactWriteError as exc:
            if unique_at is not None and is_idempotency_conflict(exc, unique_at):
                raise AlreadyExists(f"{what}: already recorded") from exc
            reasons = [getattr(r, "code", None) for r in (exc.cancellation_reasons or []) if r is not None]
            if (
                "TransactionConflict" in reasons
                and "ConditionalCheckFailed" not in reasons
                and attempt < TRANSACTION_CONFLICT_RETRIES
            ):
                time.sleep(random.uniform(0.01, 0.05) * 2**attempt)
                continue
            if "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons:
                raise Conflict(f"{what} was changed by someone else; reload and try again") from exc
            raise


def is_idempotency_conflict(exc: TransactWriteError, index: int) -> bool:
    reasons = exc.cancellation_reasons or []
    reason = reasons[index] if index < len(reasons) else None
    return reason is not None and reason.code == "ConditionalCheckFailed"


def new_item(item: Item) -> Write:
    """A put that must not overwrite anything."""
    return Write(item, Item.PK.does_not_exist())


# ---------------------------------------------------------------- pages and cursors


def encode_cursor(lek: dict[str, Any] | None) -> str | None:
    if not lek:
        return None
    return cursors.encode(lek)


def decode_cursor(cursor: str | None, allowed_keys: Iterable[str], bound: tuple[str, str] | None = None) -> dict[str, Any] | None:
    """The start key a cursor encodes. It must name exactly the listing's key attributes and,
    when `bound` = (attribute, value) is given, belong to that partition: a cursor from another
    listing (another customer's, another index) is refused, never sent to DynamoDB."""
    if not cursor:
        return None
    raw = cursors.decode(cursor)
    ok = (
        isinstance(raw, dict)
        and set(raw) == set(allowed_keys)
        and all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in raw.values())
        and (bound is None or raw[bound[0]]["S"] == bound[1])
    )
    if not ok:
        raise cursors.invalid()
    return raw


@dataclass
class Page:
    items: list[Item]
    cursor: str | None
    scanned: int


def query_page(
    source: Any,
    hash_key: str,
    *,
    range_key_condition: Condition | None = None,
    filter_condition: Condition | None = None,
    limit: int,
    cursor: str | None = None,
    newest_first: bool = True,
) -> Page:
    """Exactly one Query request: up to `limit` items evaluated, and a cursor when more may follow."""
    key_names = ["PK", "SK"]
    if source is not Item:
        index_meta = source.Meta.index_name
        n = index_meta[-1]
        key_names += [f"GSI{n}PK", f"GSI{n}SK"]
    hash_name = key_names[2] if source is not Item else "PK"
    results = source.query(
        hash_key,
        range_key_condition=range_key_condition,
        filter_condition=filter_condition,
        scan_index_forward=not newest_first,
        limit=limit,
        page_size=limit,
        last_evaluated_key=decode_cursor(cursor, key_names, bound=(hash_name, hash_key)),
    )
    try:
        page = next(results.page_iter)
    except QueryError as exc:
        # A cursor outside this query's range (e.g. from the same listing with other dates).
        if cursor and exc.cause_response_code == "ValidationException":
            raise RuleViolation("invalid_cursor", "the cursor is not one this listing returned") from None
        raise
    items = [Item.from_raw_data(raw) for raw in page.get("Items", [])]
    return Page(
        items=items, cursor=encode_cursor(results.page_iter.last_evaluated_key), scanned=page.get("ScannedCount", len(items))
    )


FILL_READ_MAX = 1000  # items one Query of a filtered page evaluates at most
FILL_QUERIES = 10  # Queries a filtered page makes at most once it holds an item
FILL_QUERIES_EMPTY = 25  # ... and while it holds none (~20,000 items evaluated)


def query_filled(
    source: Any, hash_key: str, *, filter_condition: Condition, limit: int, cursor: str | None = None, newest_first: bool = True
) -> Page:
    """A page of a filtered listing. One Query evaluates `Limit` items and returns those that pass the
    filter, possibly none; so Queries follow one another (each reading twice as far as the one before,
    up to FILL_READ_MAX) until `limit` items matched or the partition ended, and the cursor points just
    after the last item returned (nothing skipped, nothing twice). Bounded: FILL_QUERIES once the page
    holds an item (a shorter page then carries a cursor), FILL_QUERIES_EMPTY while it holds none, so
    only a run of ~20,000 non-matching items could end a page empty with a cursor."""
    found: list[Item] = []
    scanned, queries, read = 0, 0, limit
    while True:
        page = query_page(
            source, hash_key, filter_condition=filter_condition, limit=read, cursor=cursor, newest_first=newest_first
        )
        queries, scanned = queries + 1, scanned + page.scanned
        room = limit - len(found)
        if len(page.items) > room:  # more matched than fit: resume right after the last one kept
            found += page.items[:room]
            return Page(found, encode_cursor({n: {"S": getattr(found[-1], n)} for n in _key_names(source)}), scanned)
        found += page.items
        bound = FILL_QUERIES if found else FILL_QUERIES_EMPTY
        if len(found) == limit or page.cursor is None or queries >= bound:
            return Page(found, page.cursor, scanned)
        cursor, read = page.cursor, min(read * 2, FILL_READ_MAX)


def _key_names(source: Any) -> list[str]:
    """The attributes a cursor (LastEvaluatedKey) of the table or of an index names."""
    if source is Item:
        return ["PK", "SK"]
    return ["PK", "SK", f"GSI{source.Meta.index_name[-1]}PK", f"GSI{source.Meta.index_name[-1]}SK"]


def query_all(hash_key: str, *, range_key_condition: Condition | None = None) -> list[Item]:
    """A whole item collection (one partition) — follows pages; item collections here stay small."""
    return list(Item.query(hash_key, range_key_condition=range_key_condition))


def batch_get(keys_: Iterable[tuple[str, str]]) -> list[Item]:
    return list(Item.batch_get(list(keys_)))


def batch_get_raw(wanted: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """Items as DynamoDB returns them (with attributes the models do not declare, e.g. counters named
    per status or per product): one BatchGetItem per 100 keys, unprocessed keys sent again."""
    connection = Item._get_connection()
    table = Item.Meta.table_name
    found: list[dict[str, Any]] = []
    for at in range(0, len(wanted), 100):
        pending: list[Any] = [{"PK": {"S": pk}, "SK": {"S": sk}} for pk, sk in wanted[at : at + 100]]
        while pending:
            answer = connection.batch_get_item(pending)
            found += answer.get("Responses", {}).get(table, [])
            pending = answer.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
    return found


def get(key: tuple[str, str], kind: type[T]) -> T | None:
    try:
        item = Item.get(*key)
    except DoesNotExist:
        return None
    return item if isinstance(item, kind) else None


# ---------------------------------------------------------------- mapping: campaigns and products


def with_version(item: T, version: int | None) -> T:
    """Set the version an update expects (None: a new item, written only if absent)."""
    if version is not None:
        item.version = version  # type: ignore[attr-defined]
    return item


def campaign_from_item(item: CampaignItem) -> Campaign:
    return Campaign(
        id=item.id,
        name=item.name,
        buyer_id=item.buyer_id,
        currency=item.currency,
        status=CampaignStatus(item.status),
        starts_at=item.starts_at,
        ends_at=item.ends_at,
        product_count=int(item.product_count),
        supplier_ids=set(str_list(item.supplier_ids)),
    )


def campaign_item(campaign: Campaign, *, created_at: datetime, buyer_email: str | None, version: int | None) -> CampaignItem:
    pk, sk = keys.campaign(campaign.id)
    gsi1pk, gsi1sk = keys.campaigns_by_status(campaign.status.value, campaign.ends_at or created_at, campaign.id)
    item = CampaignItem(
        pk,
        sk,
        GSI1PK=gsi1pk,
        GSI1SK=gsi1sk,
        id=campaign.id,
        name=campaign.name,
        buyer_id=campaign.buyer_id,
        buyer_email=buyer_email,
        currency=campaign.currency,
        status=campaign.status.value,
        created_at=created_at,
        starts_at=campaign.starts_at,
        ends_at=campaign.ends_at,
        product_count=campaign.product_count,
        supplier_ids=sorted(campaign.supplier_ids),
    )
    return with_version(item, version)


def product_from_item(item: ProductItem) -> Product:
    return Product(
        sku=item.sku,
        name=item.name,
        supplier_id=item.supplier_id,
        unit_price_cents=int(item.unit_price_cents),
        unit_cost_cents=int(item.unit_cost_cents),
    )


def product_item(campaign_id: str, p: Product) -> ProductItem:
    pk, sk = keys.product(campaign_id, p.sku)
    return ProductItem(
        pk,
        sk,
        campaign_id=campaign_id,
        sku=p.sku,
        name=p.name,
        supplier_id=p.supplier_id,
        unit_price_cents=p.unit_price_cents,
        unit_cost_cents=p.unit_cost_cents,
    )


# ---------------------------------------------------------------- mapping: orders


def address_map(address: Address) -> AddressMap:
    return AddressMap(  # type: ignore[no-untyped-call]  # PynamoDB: unannotated
        name=address.name,
        lines=list(address.lines),
        city=address.city,
        postal_code=address.postal_code,
        country=address.country,
        phone=address.phone,
    )


def address_from_map(m: AddressMap) -> Address:
    return Address(
        name=m.name,
        lines=tuple(str(line) for line in m.lines),
        city=m.city,
        postal_code=m.postal_code,
        country=m.country,
        phone=m.phone,
    )


def order_from_item(item: OrderItem) -> Order:
    return Order(
        id=item.id,
        campaign_id=item.campaign_id,
        customer_id=item.customer_id,
        customer_email=item.customer_email,
        currency=item.currency,
        payment_mode=PaymentMode(item.payment_mode),
        lines=[
            OrderLine(
                sku=l.sku,
                name=l.name,
                supplier_id=l.supplier_id,
                quantity=int(l.quantity),
                unit_price_cents=int(l.unit_price_cents),
            )
            for l in item.lines
        ],
        deliveries=[
            Delivery(d.supplier_id, DeliveryStatus(d.status), d.delivered_at, address_from_map(d.ship_to) if d.ship_to else None)
            for d in item.deliveries
        ],
        created_at=item.created_at,
        hold_reasons=str_list(item.hold_reasons),
        hold_rejected=bool(item.hold_rejected),
        status=OrderStatus(item.status),
        ordered_cents=int(item.total_cents),
        offline_paid=bool(item.offline_paid),
        shipping_address=address_from_map(item.shipping_address) if item.shipping_address else None,
        link_generation=int(item.link_generation or 0),
    )


def order_writes(order: Order, *, version: int | None, now: datetime) -> list[Write]:
    """The order item (version-conditioned) and its per-supplier delivery index items.

    A delivery that arrived is stamped `delivered_at` = `now` by the first write that shows it arrived
    (the transition's own write); later writes keep the stamp. Each index item is also the delivery's
    packing-list entry: in its PO's GSI3 partition only while the delivery is accepted or later, and
    only then carrying a copy of the ship-to address (the one it left for, when staff corrected the
    order's address after it left)."""
    pk, sk = keys.order(order.id)
    created = keys.created_sk(order.created_at, order.id)
    delivered_at = {d.supplier_id: d.delivered_at or (now if d.status in ARRIVED else None) for d in order.deliveries}
    reference = order_reference(order.id)
    item = OrderItem(
        pk,
        sk,
        GSI1PK=keys.customer_orders_pk(order.customer_id),
        GSI1SK=created,
        GSI2PK=keys.campaign_orders_pk(order.campaign_id, order.id),
        GSI2SK=created,
        GSI3PK=keys.status_orders_pk(order.status.value, order.id),
        GSI3SK=created,
        GSI4PK=keys.all_orders_pk(order.id),
        GSI4SK=created,
        id=order.id,
        campaign_id=order.campaign_id,
        customer_id=order.customer_id,
        customer_email=order.customer_email,
        currency=order.currency,
        payment_mode=order.payment_mode.value,
        status=order.status.value,
        lines=[
            LineMap(  # type: ignore[no-untyped-call]  # PynamoDB: unannotated
                sku=l.sku, name=l.name, supplier_id=l.supplier_id, quantity=l.quantity, unit_price_cents=l.unit_price_cents
            )
            for l in order.lines
        ],
        deliveries=[
            DeliveryMap(  # type: ignore[no-untyped-call]  # PynamoDB: unannotated
                supplier_id=d.supplier_id,
                status=d.status.value,
                delivered_at=delivered_at[d.supplier_id],
                ship_to=address_map(d.ship_to) if d.ship_to else None,
            )
            for d in order.deliveries
        ],
        supplier_ids=order.supplier_ids,
        hold_reasons=order.hold_reasons,
        hold_rejected=order.hold_rejected,
        offline_paid=order.offline_paid,
        link_generation=order.link_generation,
        total_cents=order.total_cents,
        created_at=order.created_at,
        updated_at=now,
        shipping_address=address_map(order.shipping_address) if order.shipping_address else None,
    )
    writes = [Write(with_version(item, version))]
    for n, d in enumerate(order.deliveries):
        dpk, dsk = keys.delivery(order.id, d.supplier_id)
        by_email = n == 0 and bool(order.customer_email)  # one entry per order in the e-mail index
        packing = on_packing_list(d.status)
        po = po_id(order.campaign_id, d.supplier_id)
        writes.append(
            Write(
                DeliveryIndexItem(
                    dpk,
                    dsk,
                    GSI1PK=keys.supplier_deliveries_pk(d.supplier_id, order.id),
                    GSI1SK=created,
                    GSI2PK=keys.customer_email_orders_pk(order.customer_email or "") if by_email else None,
                    GSI2SK=created if by_email else None,
                    order_id=order.id,
                    supplier_id=d.supplier_id,
                    supplier_ids=order.supplier_ids,
                    campaign_id=order.campaign_id,
                    customer_id=order.customer_id,
                    customer_email=order.customer_email,
                    order_status=order.status.value,
                    delivery_status=d.status.value,
                    currency=order.currency,
                    total_cents=order.total_cents,
                    created_at=order.created_at,
                    GSI3PK=keys.po_packing_pk(po) if packing else None,
                    GSI3SK=created if packing else None,
                    reference=reference,
                    po_id=po,
                    delivered_at=delivered_at[d.supplier_id],
                    lines=[
                        PackingLineMap(sku=l.sku, name=l.name, quantity=l.quantity)  # type: ignore[no-untyped-call]
                        for l in order.lines
                        if l.supplier_id == d.supplier_id
                    ],
                    ship_to=address_map(ship_to) if packing and (ship_to := d.ship_to or order.shipping_address) else None,
                )
            )
        )
    return writes


# ---------------------------------------------------------------- mapping: audit events


def event_write(subject_pk: str, event: AuditEvent) -> Write:
    item = AuditEventItem(
        subject_pk,
        keys.event_sk(event.at, event.id),
        id=event.id,
        subject_type=event.subject_type,
        subject_id=event.subject_id,
        type=event.type,
        actor=ActorMap(sub=event.actor.sub, role=event.actor.primary_role.value, name=event.actor.name),  # type: ignore[no-untyped-call]
        at=event.at,
        from_status=event.from_status,
        to_status=event.to_status,
        internal_note=event.internal_note,
        customer_note=event.customer_note,
        files=event.files,
        data=event.data,
    )
    return new_item(item)


def event_from_item(item: AuditEventItem) -> AuditEvent:
    actor = Principal(sub=item.actor.sub, roles=frozenset({Role(item.actor.role)}), name=item.actor.name)
    return AuditEvent(
        id=item.id,
        subject_type=item.subject_type,
        subject_id=item.subject_id,
        type=item.type,
        actor=actor,
        at=item.at,
        from_status=item.from_status,
        to_status=item.to_status,
        internal_note=item.internal_note,
        customer_note=item.customer_note,
        files=str_list(item.files),
        data=item.data.as_dict() if item.data else {},  # type: ignore[no-untyped-call]  # PynamoDB: unannotated
    )


def idempotency_write(
    scope: str, key: str, request_hash: str, result_id: str, now: datetime, ttl_seconds: int = 24 * 3600
) -> Write:
    pk, sk = keys.idempotency(scope, key)
    return new_item(
        IdempotencyItem(
            pk,
            sk,
            scope=scope,
            request_hash=request_hash,
            result_id=result_id,
            created_at=now,
            expires_at=int(now.timestamp()) + ttl_seconds,
        )
    )


def create(item: Item) -> bool:
    """One conditional PutItem: False when an item with that key exists already."""
    try:
        item.save(condition=Item.PK.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


IN_PROGRESS, COMPLETED = "in_progress", "completed"


def claim_event(consumer: str, event_id: str, now: datetime, *, lease_seconds: int, ttl_seconds: int) -> str:
    """Claim `event_id` for `consumer` with one conditional PutItem: "claimed" when this run is to do
    the work; "completed" when a run did it already; "in_progress" when a run holds a lease that has
    not run out (a crashed run's lease expires, and so does a completed record's TTL, even before
    DynamoDB deletes it)."""
    pk, sk = keys.processed(consumer, event_id)
    epoch = int(now.timestamp())
    item = ProcessedItem(
        pk,
        sk,
        consumer=consumer,
        event_id=event_id,
        at=now,
        status=IN_PROGRESS,
        lease_until=epoch + lease_seconds,
        expires_at=epoch + ttl_seconds,
    )
    free = (
        Item.PK.does_not_exist()
        | (Item.expires_at < epoch)
        | ((ProcessedItem.status == IN_PROGRESS) & (ProcessedItem.lease_until < epoch))
    )
    try:
        item.save(condition=free)
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        held = get((pk, sk), ProcessedItem)
        if held is None:  # released between the put and the read: the redelivery will claim it
            return IN_PROGRESS
        return IN_PROGRESS if held.status == IN_PROGRESS else COMPLETED
    return "claimed"


def complete_event(consumer: str, event_id: str, now: datetime) -> None:
    pk, sk = keys.processed(consumer, event_id)
    ProcessedItem(pk, sk).update(actions=[ProcessedItem.status.set(COMPLETED), ProcessedItem.at.set(now)])


def release_event(consumer: str, event_id: str) -> None:
    """Forget a claim whose work failed, so the queue's redelivery does the work again."""
    pk, sk = keys.processed(consumer, event_id)
    ProcessedItem(pk, sk).delete()


# ---------------------------------------------------------------- mapping: purchase orders


def po_from_item(item: PurchaseOrderItem) -> PurchaseOrder:
    return PurchaseOrder(
        id=item.id,
        campaign_id=item.campaign_id,
        supplier_id=item.supplier_id,
        currency=item.currency,
        lines=[
            POLine(
                sku=l.sku,
                name=l.name,
                ordered_quantity=int(l.ordered_quantity),
                unit_cost_cents=int(l.unit_cost_cents),
                accepted_quantity=None if l.accepted_quantity is None else int(l.accepted_quantity),
                reject_reason=RejectReason(l.reject_reason) if l.reject_reason else None,
            )
            for l in item.lines
        ],
        created_at=item.created_at,
        order_count=int(item.order_count),
        status=POStatus(item.status),
        orders_to_ship=None if item.orders_to_ship is None else int(item.orders_to_ship),
        orders_shipped=int(item.orders_shipped or 0),
        stage=Stage(item.stage) if item.stage else None,
        invoiced_cents=int(item.invoiced_cents),
        proposed_cents=int(item.proposed_cents),
        paid_cents=int(item.paid_cents),
        reminders={k: int(v) for k, v in (item.reminders.as_dict() if item.reminders else {}).items()},  # type: ignore[no-untyped-call]
        stage_started_at=item.stage_started_at,
        stage_due_at=item.stage_due_at,
    )


def po_write(
    po: PurchaseOrder,
    *,
    version: int | None,
    now: datetime,
    task_token: str | None = None,
    stage_deadline: datetime | None = None,
    execution_arn: str | None = None,
) -> Write:
    """The PO item with its index entries; `version` None creates it (only if absent)."""
    pk, sk = keys.po(po.id)
    created = keys.created_sk(po.created_at, po.id)
    where = po.stage.value if po.status is POStatus.OPEN and po.stage else po.status.value
    item = PurchaseOrderItem(
        pk,
        sk,
        GSI1PK=keys.supplier_pos_pk(po.supplier_id),
        GSI1SK=created,
        GSI2PK=keys.campaign_pos_pk(po.campaign_id),
        GSI2SK=po.supplier_id,
        GSI3PK=keys.pos_in_pk(where),
        GSI3SK=created,
        GSI4PK=keys.ALL_POS_PK,
        GSI4SK=created,  # exports read POs by creation time
        id=po.id,
        campaign_id=po.campaign_id,
        supplier_id=po.supplier_id,
        currency=po.currency,
        status=po.status.value,
        stage=po.stage.value if po.stage else None,
        lines=[
            POLineMap(  # type: ignore[no-untyped-call]  # PynamoDB: unannotated
                sku=l.sku,
                name=l.name,
                ordered_quantity=l.ordered_quantity,
                unit_cost_cents=l.unit_cost_cents,
                accepted_quantity=l.accepted_quantity,
                reject_reason=l.reject_reason.value if l.reject_reason else None,
            )
            for l in po.lines
        ],
        order_count=po.order_count,
        orders_to_ship=po.orders_to_ship,
        orders_shipped=po.orders_shipped - po.orders_shipped_apart,  # the parcels' counts stay where they are
        ordered_cents=po.ordered_cents,
        accepted_cents=po.accepted_cents,
        invoiced_cents=po.invoiced_cents,
        proposed_cents=po.proposed_cents,
        paid_cents=po.paid_cents,
        reminders=po.reminders,
        task_token=task_token,
        stage_deadline=stage_deadline,
        stage_started_at=po.stage_started_at,
        stage_due_at=po.stage_due_at,
        execution_arn=execution_arn,
        created_at=po.created_at,
        updated_at=now,
    )
    with_version(item, version)
    return Write(item, None if version is not None else Item.PK.does_not_exist())


__all__ = [
    "CustomerItem",
    "SupplierItem",
    "CampaignItem",
    "ProductItem",
    "OrderItem",
    "DeliveryIndexItem",
    "AuditEventItem",
    "IdempotencyItem",
    "Item",
]


# ---------------------------------------------------------------- metrics counters (issue 7)


def _counter_update(pk: str, sk: str, scope: str, stage: str | None, deltas: dict[str, int]) -> Update:
    from .models import StatsItem

    actions: list[Action] = [StatsItem.kind.set(StatsItem), StatsItem.scope.set(scope)]
    if stage is not None:
        actions.append(StatsItem.stage.set(stage))
    actions += [getattr(StatsItem, name).add(value) for name, value in deltas.items()]
    return Update(StatsItem(pk, sk), actions)


def stage_stats_updates(po: PurchaseOrder, stage: Stage, deltas: dict[str, int]) -> list[Update]:
    """A completed stage's counters, ADDed for its campaign, its supplier and overall (3 items)."""
    shard = keys.stats_shard(po.id)
    sk = keys.stage_stats_sk(stage.value, shard)
    return [
        _counter_update(keys.campaign_stats_pk(po.campaign_id), sk, f"campaign:{po.campaign_id}", stage.value, deltas),
        _counter_update(keys.supplier_stats_pk(po.supplier_id), sk, f"supplier:{po.supplier_id}", stage.value, deltas),
        _counter_update(keys.ALL_STATS_PK, sk, "all", stage.value, deltas),
    ]


def campaign_summary_update(campaign_id: str, subject_id: str, deltas: dict[str, int]) -> Update:
    """Counters ADDed to one shard (picked by the order or PO id, its own partition key) of a campaign's
    summary."""
    return _counter_update(*keys.campaign_summary(campaign_id, subject_id), f"campaign:{campaign_id}", None, deltas)


def order_status_counts(order_id: str, previous_status: str | None, status: str) -> list[Update]:
    """What an order's write adds to the orders-per-status counters: one in its new status, one
    less in the one it left (nothing when the status stays), as ONE update of the order's shard
    (every status is an attribute of it). Every service that writes an order with `order_writes`
    adds this to the same transaction."""
    if previous_status == status:
        return []
    from pynamodb.expressions.operand import Path

    from .models import StatsItem

    moves = [(status, 1)] + ([(previous_status, -1)] if previous_status else [])
    actions: list[Action] = [StatsItem.kind.set(StatsItem), StatsItem.scope.set("orders")]
    actions += [Path([f"{keys.ORDER_STATUS_ATTRIBUTE_PREFIX}{name}"]).add({"N": str(delta)}) for name, delta in moves]
    return [Update(StatsItem(*keys.order_status_stats(order_id)), actions)]


def read_order_status_counts() -> dict[str, int]:
    """Orders per status, summed over the shards: one BatchGetItem."""
    counts: dict[str, int] = {}
    for raw in batch_get_raw(keys.order_status_stats_keys()):
        for attribute, value in raw.items():
            if attribute.startswith(keys.ORDER_STATUS_ATTRIBUTE_PREFIX) and "N" in value:
                name = attribute[len(keys.ORDER_STATUS_ATTRIBUTE_PREFIX) :]
                counts[name] = counts.get(name, 0) + int(value["N"])
    return counts


@dataclass
class Counters:
    """A stats partition's shards, summed: per stage, and the summary (campaigns only)."""

    stages: dict[Stage, dict[str, int]]
    summary: dict[str, int]


def read_counters(pk: str, campaign_id: str | None = None) -> Counters:
    """Every stage shard of the scope and, for a campaign, every summary shard: ONE BatchGetItem
    (7 stages x STATS_SHARDS + COUNTER_SHARDS keys), summed per counter."""
    from ...domain.metrics import STAGE_COUNTERS, SUMMARY_COUNTERS
    from .models import StatsItem

    wanted = keys.stage_stats_keys(pk, [s.value for s in Stage])
    if campaign_id is not None:
        wanted += keys.campaign_summary_keys(campaign_id)
    stages: dict[Stage, dict[str, int]] = {}
    summary = dict.fromkeys(SUMMARY_COUNTERS, 0)
    for item in batch_get(wanted):
        if not isinstance(item, StatsItem):
            continue
        if item.stage is None:
            for name in SUMMARY_COUNTERS:
                summary[name] += int(getattr(item, name) or 0)
            continue
        try:
            stage = Stage(item.stage)
        except ValueError:
            continue  # a stage since retired
        row = stages.setdefault(stage, dict.fromkeys(STAGE_COUNTERS, 0))
        for name in STAGE_COUNTERS:
            row[name] += int(getattr(item, name) or 0)
    return Counters(stages, summary)
