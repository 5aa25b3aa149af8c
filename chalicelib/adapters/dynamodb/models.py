"""PynamoDB models of the single table. A `kind` discriminator tells items apart, so a
query over one partition (an order with its deliveries and events) returns typed items."""

from __future__ import annotations

from typing import Any, cast

from pynamodb.attributes import (
    BooleanAttribute,
    DiscriminatorAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from ...config import settings
from ...topology import TABLE


def str_list(value: list[UnicodeAttribute] | None) -> list[str]:
    """A `ListAttribute(of=UnicodeAttribute)` as it reads at run time (a list of str, or None when
    unset): PynamoDB's stubs type the read as a list of the attribute class."""
    return list(cast("list[str]", value or []))


def _index(index_name: str, pk: str, sk: str) -> type[GlobalSecondaryIndex[Any]]:
    meta = type("Meta", (), {"index_name": index_name, "projection": AllProjection()})
    attrs = {
        "Meta": meta,
        pk: UnicodeAttribute(hash_key=True),
        sk: UnicodeAttribute(range_key=True),
    }
    return type(f"{index_name}Index", (GlobalSecondaryIndex,), attrs)


_INDEX = {ix.name: ix for ix in TABLE.indexes}


class Item(Model):
    """Base of every item in the table."""

    class Meta:
        table_name = settings().table_name
        region = settings().region

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
    kind = DiscriminatorAttribute()
    GSI1PK = UnicodeAttribute(null=True)
    GSI1SK = UnicodeAttribute(null=True)
    GSI2PK = UnicodeAttribute(null=True)
    GSI2SK = UnicodeAttribute(null=True)
    GSI3PK = UnicodeAttribute(null=True)
    GSI3SK = UnicodeAttribute(null=True)
    GSI4PK = UnicodeAttribute(null=True)
    GSI4SK = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)  # TTL, epoch seconds

    gsi1 = _index("GSI1", "GSI1PK", "GSI1SK")()
    gsi2 = _index("GSI2", "GSI2PK", "GSI2SK")()
    gsi3 = _index("GSI3", "GSI3PK", "GSI3SK")()
    gsi4 = _index("GSI4", "GSI4PK", "GSI4SK")()


assert set(_INDEX) == {"GSI1", "GSI2", "GSI3", "GSI4"}, "models.py must declare every index in topology"


class SupplierItem(Item, discriminator="supplier"):
    id = UnicodeAttribute()
    name = UnicodeAttribute()
    contact_emails = ListAttribute(of=UnicodeAttribute, default=list)
    active = BooleanAttribute(default=True)
    created_at = UTCDateTimeAttribute()
    version = VersionAttribute()


class CampaignItem(Item, discriminator="campaign"):
    id = UnicodeAttribute()
    name = UnicodeAttribute()
    buyer_id = UnicodeAttribute()
    buyer_email = UnicodeAttribute(null=True)
    currency = UnicodeAttribute()
    status = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    starts_at = UTCDateTimeAttribute(null=True)
    ends_at = UTCDateTimeAttribute(null=True)
    product_count = NumberAttribute(default=0)
    supplier_ids = ListAttribute(of=UnicodeAttribute, default=list)
    version = VersionAttribute()


class ProductItem(Item, discriminator="product"):
    campaign_id = UnicodeAttribute()
    sku = UnicodeAttribute()
    name = UnicodeAttribute()
    supplier_id = UnicodeAttribute()
    unit_price_cents = NumberAttribute()
    unit_cost_cents = NumberAttribute()


class LineMap(MapAttribute[str, Any]):
    sku = UnicodeAttribute()
    name = UnicodeAttribute()
    supplier_id = UnicodeAttribute()
    quantity = NumberAttribute()
    unit_price_cents = NumberAttribute()


class AddressMap(MapAttribute[str, Any]):
    """A shipping address (domain.addresses.Address): an order's snapshot, a packing-list copy, a book entry."""

    name = UnicodeAttribute()
    lines = ListAttribute(of=UnicodeAttribute)
    city = UnicodeAttribute()
    postal_code = UnicodeAttribute()
    country = UnicodeAttribute()
    phone = UnicodeAttribute(null=True)


class DeliveryMap(MapAttribute[str, Any]):
    supplier_id = UnicodeAttribute()
    status = UnicodeAttribute()
    delivered_at = UTCDateTimeAttribute(null=True)
    ship_to = AddressMap(null=True)  # where it went, kept when the order's address was corrected after it left


class PackingLineMap(MapAttribute[str, Any]):
    sku = UnicodeAttribute()
    name = UnicodeAttribute()
    quantity = NumberAttribute()


class OrderItem(Item, discriminator="order"):
    id = UnicodeAttribute()
    campaign_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    customer_email = UnicodeAttribute(null=True)
    currency = UnicodeAttribute()
    payment_mode = UnicodeAttribute()
    status = UnicodeAttribute()
    lines = ListAttribute(of=LineMap)
    deliveries = ListAttribute(of=DeliveryMap)
    supplier_ids = ListAttribute(of=UnicodeAttribute)
    hold_reasons = ListAttribute(of=UnicodeAttribute, default=list)
    hold_rejected = BooleanAttribute(default=False)
    offline_paid = BooleanAttribute(default=False)  # an offline order's payment was recorded in full
    total_cents = NumberAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()
    shipping_address = AddressMap(null=True)  # null: placed before orders had addresses
    link_generation = NumberAttribute(default=0)  # the order page's links of another generation are revoked


class AttemptCounterItem(Item, discriminator="attempt_counter"):
    """`ATTEMPTS#<scope>` / `WINDOW#<n>`: the order page's lookup attempts of one client address or one
    reference in one window (ADDed; gone with the TTL)."""

    attempts = NumberAttribute(default=0)


class DeliveryIndexItem(Item, discriminator="delivery"):
    """One per (order, supplier): lets staff search orders by supplier with one query, and is the
    supplier's packing-list entry (sparse GSI3 `PO#<po>#PACKING` while accepted or later), carrying
    everything one page shows: the reference, the supplier's current lines, the ship-to snapshot.

    Written in the same transaction as its order, so it never disagrees with it."""

    order_id = UnicodeAttribute()
    supplier_id = UnicodeAttribute()
    supplier_ids = ListAttribute(of=UnicodeAttribute, default=list)  # all of the order's suppliers
    campaign_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    customer_email = UnicodeAttribute(null=True)
    order_status = UnicodeAttribute()
    delivery_status = UnicodeAttribute()
    currency = UnicodeAttribute()
    total_cents = NumberAttribute()
    created_at = UTCDateTimeAttribute()
    reference = UnicodeAttribute(null=True)  # domain.addresses.order_reference (null: written before it)
    po_id = UnicodeAttribute(null=True)
    lines = ListAttribute(of=PackingLineMap, default=list)  # this supplier's lines, as they stand now
    ship_to = AddressMap(null=True)
    delivered_at = UTCDateTimeAttribute(null=True)


class CancellationRequestItem(Item, discriminator="cancellation_request"):
    """`ORDER#<id>` / `CANCELREQ#<request id>`: a customer's request, after the close, to cancel lines of
    one supplier's delivery (requested -> accepted | refused), under its version. While it waits for a
    decision it sits in its PO's sparse GSI1 `PO#<po>#CANCELREQS`, the supplier's list."""

    id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    campaign_id = UnicodeAttribute()
    supplier_id = UnicodeAttribute()
    po_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    reference = UnicodeAttribute()
    lines = ListAttribute(of=PackingLineMap)  # what is asked for: SKU, name, quantity
    everything = BooleanAttribute(default=False)  # the customer asked for everything not yet dispatched
    reason = UnicodeAttribute()
    status = UnicodeAttribute()
    requested_at = UTCDateTimeAttribute()
    decided_at = UTCDateTimeAttribute(null=True)
    decided_by = UnicodeAttribute(null=True)  # the deciding principal's sub
    decided_role = UnicodeAttribute(null=True)
    decision_note = UnicodeAttribute(null=True)
    cancelled_cents = NumberAttribute(null=True)  # what accepting it cancelled
    version = VersionAttribute()


class AddressBookItem(Item, discriminator="address_book"):
    """`CUSTOMER#<id>` / `ADDRESSBOOK`: which entry is the default. Every change to the book goes
    through this item's version, so concurrent changes cannot leave two defaults or pass the cap."""

    customer_id = UnicodeAttribute()
    default_address_id = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()


class AddressItem(Item, discriminator="address"):
    """`CUSTOMER#<id>` / `ADDRESS#<address id>`: one saved address of a customer's book."""

    id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    label = UnicodeAttribute(null=True)
    address = AddressMap()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()


class ActorMap(MapAttribute[str, Any]):
    sub = UnicodeAttribute()
    role = UnicodeAttribute()
    name = UnicodeAttribute(null=True)


class AuditEventItem(Item, discriminator="event"):
    id = UnicodeAttribute()
    subject_type = UnicodeAttribute()
    subject_id = UnicodeAttribute()
    type = UnicodeAttribute()
    actor = ActorMap()
    at = UTCDateTimeAttribute()
    from_status = UnicodeAttribute(null=True)
    to_status = UnicodeAttribute(null=True)
    internal_note = UnicodeAttribute(null=True)
    customer_note = UnicodeAttribute(null=True)
    files = ListAttribute(of=UnicodeAttribute, default=list)
    data = MapAttribute[str, Any](default=dict)


class CustomerItem(Item, discriminator="customer"):
    id = UnicodeAttribute()
    email = UnicodeAttribute(null=True)
    flagged = BooleanAttribute(default=False)
    flag_reason = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()


class IdempotencyItem(Item, discriminator="idempotency"):
    scope = UnicodeAttribute()
    request_hash = UnicodeAttribute()
    result_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class ProcessedItem(Item, discriminator="processed"):
    """One consumer's record of one event (repository.claim_event): in progress until `lease_until`
    (epoch seconds), then completed; gone when the work failed or the TTL (`expires_at`) passed."""

    consumer = UnicodeAttribute()
    event_id = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    status = UnicodeAttribute(null=True)  # in_progress / completed (older records: completed)
    lease_until = NumberAttribute(null=True)


class POLineMap(MapAttribute[str, Any]):
    sku = UnicodeAttribute()
    name = UnicodeAttribute()
    ordered_quantity = NumberAttribute()
    unit_cost_cents = NumberAttribute()
    accepted_quantity = NumberAttribute(null=True)
    reject_reason = UnicodeAttribute(null=True)


class PurchaseOrderItem(Item, discriminator="purchase_order"):
    """A PO; the open stage's task token and deadline sit here (set by the stage consumer)."""

    id = UnicodeAttribute()
    campaign_id = UnicodeAttribute()
    supplier_id = UnicodeAttribute()
    currency = UnicodeAttribute()
    status = UnicodeAttribute()
    stage = UnicodeAttribute(null=True)
    lines = ListAttribute(of=POLineMap)
    order_count = NumberAttribute(default=0)
    orders_to_ship = NumberAttribute(null=True)  # accepted deliveries, once the acknowledgement is shared out
    orders_shipped = NumberAttribute(default=0)
    ordered_cents = NumberAttribute(default=0)
    accepted_cents = NumberAttribute(default=0)
    invoiced_cents = NumberAttribute(default=0)
    proposed_cents = NumberAttribute(default=0)
    paid_cents = NumberAttribute(default=0)
    reminders = MapAttribute[str, Any](default=dict)
    task_token = UnicodeAttribute(null=True)
    stage_deadline = UTCDateTimeAttribute(null=True)
    stage_started_at = UTCDateTimeAttribute(null=True)  # when the open stage first opened (metrics)
    stage_due_at = UTCDateTimeAttribute(null=True)  # the deadline it was first given (a reopening keeps it)
    execution_arn = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()


class RefundItem(Item, discriminator="refund"):
    """Written before refunds became payment records (`PaymentTxnItem`, kind `refund`); no longer
    written, kept so older partitions still load."""

    order_id = UnicodeAttribute()
    po_id = UnicodeAttribute()
    sku = UnicodeAttribute()
    quantity = NumberAttribute()
    amount_cents = NumberAttribute()
    currency = UnicodeAttribute()
    reason = UnicodeAttribute()
    status = UnicodeAttribute(default="pending")
    created_at = UTCDateTimeAttribute()


class ExceptionItem(Item, discriminator="exception"):
    """A problem brought to staff: one open record per (kind, subject), bumped on repeats."""

    id = UnicodeAttribute()
    kind_name = UnicodeAttribute()
    subject_type = UnicodeAttribute()
    subject_id = UnicodeAttribute()
    severity = UnicodeAttribute()
    status = UnicodeAttribute(default="open")
    count = NumberAttribute(default=1)  # type: ignore[assignment]  # shadows Model.count(), never called on this item
    opened_at = UTCDateTimeAttribute()
    last_seen = UTCDateTimeAttribute()
    details = MapAttribute[str, Any](default=dict)
    resolved_at = UTCDateTimeAttribute(null=True)
    resolution = UnicodeAttribute(null=True)
    level = NumberAttribute(default=0)  # escalation level reached
    assignee = UnicodeAttribute(null=True)
    acknowledged_by = UnicodeAttribute(null=True)
    snoozed_until = UTCDateTimeAttribute(null=True)
    due_at = UTCDateTimeAttribute(null=True)  # when the sweep next looks (also in GSI4 while set)
    version = VersionAttribute()


class DeadlineItem(Item, discriminator="deadline"):
    """A subject's deadline (`<subject PK>` / `DUE#<kind>`), in the sweep's GSI4 `DUE#<shard>` until it
    is met (deleted) or passes (the sweep raises `kind` and deletes it)."""

    id = UnicodeAttribute()
    kind_name = UnicodeAttribute()
    subject_type = UnicodeAttribute()
    subject_id = UnicodeAttribute()
    due_at = UTCDateTimeAttribute()
    details = MapAttribute[str, Any](default=dict)
    fired_at = UTCDateTimeAttribute(null=True)  # passed unmet: its exception was raised (out of the index)


class InvoiceItem(Item, discriminator="po_invoice"):
    """An invoice the supplier submitted for a PO (`PO#<id>` / `INVOICE#<id>`); the file sits in S3."""

    id = UnicodeAttribute()
    po_id = UnicodeAttribute()
    supplier_id = UnicodeAttribute()
    number = UnicodeAttribute()
    amount_cents = NumberAttribute()
    currency = UnicodeAttribute()
    file_key = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class PaymentProposalItem(Item, discriminator="po_proposal"):
    """A payment proposal (`PO#<id>` / `PROPOSAL#<id>`), in GSI3 `PROPOSALS#<status>` for accounting.

    Status: pending -> approved | rejected; approved -> pushed (before the bank is called) ->
    settled | failed."""

    id = UnicodeAttribute()
    po_id = UnicodeAttribute()
    supplier_id = UnicodeAttribute()
    campaign_id = UnicodeAttribute()
    amount_cents = NumberAttribute()
    currency = UnicodeAttribute()
    status = UnicodeAttribute()
    note = UnicodeAttribute(null=True)
    decided_by = UnicodeAttribute(null=True)
    bank_reference = UnicodeAttribute(null=True)
    failure = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()


class POShipmentItem(Item, discriminator="po_shipment"):
    """The shipment a supplier recorded for a PO (`PO#<id>` / `SHIPMENT#<id>`); its carrier and
    tracking number follow corrections, its status follows the carrier (written with the shipment)."""

    id = UnicodeAttribute()
    po_id = UnicodeAttribute()
    supplier_id = UnicodeAttribute()
    carrier = UnicodeAttribute()
    tracking_number = UnicodeAttribute()
    order_ids = ListAttribute(of=UnicodeAttribute, default=list)
    status = UnicodeAttribute(default="dispatched")
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute(null=True)


class POShippedOrderItem(Item, discriminator="po_shipped"):
    """`PO#<id>` / `SHIPPED#<order>`: the order has left with one of the PO's shipments (counted once)."""

    po_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    shipment_id = UnicodeAttribute()
    at = UTCDateTimeAttribute()


class POShippedCountItem(Item, discriminator="po_shipped_count"):
    """`PO#<id>` / `#COUNT#SHIPPED#<n>`: orders the PO's parcels shipped, one shard of the count
    (keys.PO_SHIPPED_SHARDS), grown only by atomic ADDs in the parcels' transactions. No index
    attributes: a parcel writes the table and nothing else."""

    po_id = UnicodeAttribute(null=True)
    orders = NumberAttribute(default=0)


class TimelineMap(MapAttribute[str, Any]):
    status = UnicodeAttribute()
    carrier_code = UnicodeAttribute()
    occurred_at = UTCDateTimeAttribute()
    description = UnicodeAttribute(null=True)
    location = UnicodeAttribute(null=True)


class ShipmentItem(Item, discriminator="shipment"):
    """A parcel followed through its carrier (`SHIPMENT#<carrier>#<tracking>` / `#META`).

    The tracking workflow's task token sits here while an execution waits for carrier events;
    `timeline` holds the customer-facing events (the full record is the `TRACK#` items)."""

    id = UnicodeAttribute()
    carrier = UnicodeAttribute()
    tracking_number = UnicodeAttribute()
    po_id = UnicodeAttribute()
    supplier_id = UnicodeAttribute()
    campaign_id = UnicodeAttribute()
    order_ids = ListAttribute(of=UnicodeAttribute, default=list)
    status = UnicodeAttribute()
    status_at = UTCDateTimeAttribute(null=True)
    last_event_at = UTCDateTimeAttribute(null=True)
    timeline = ListAttribute(of=TimelineMap, default=list)
    corrections = NumberAttribute(default=0)
    superseded_by = UnicodeAttribute(null=True)  # "<carrier>#<tracking>" of the record that took over
    task_token = UnicodeAttribute(null=True)
    execution_arn = UnicodeAttribute(null=True)
    stale_count = NumberAttribute(default=0)
    customer_told_delayed = BooleanAttribute(default=False)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()


class TrackEventItem(Item, discriminator="track_event"):
    """One carrier event as received (`SHIPMENT#<carrier>#<tracking>` / `TRACK#<occurred>#<code>`).

    Kept even when no shipment has the tracking number yet: a later shipment replays them."""

    carrier = UnicodeAttribute()
    tracking_number = UnicodeAttribute()
    carrier_code = UnicodeAttribute()
    status = UnicodeAttribute(null=True)  # None: a carrier code we do not map
    occurred_at = UTCDateTimeAttribute()
    description = UnicodeAttribute(null=True)
    location = UnicodeAttribute(null=True)
    webhook_id = UnicodeAttribute(null=True)
    received_at = UTCDateTimeAttribute()


class OrderShipmentItem(Item, discriminator="order_shipment"):
    """The customer's copy of a shipment in the order's partition (`ORDER#<id>` / `SHIPMENT#<id>`),
    written in the same transaction as the shipment, so the order is still one Query."""

    shipment_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    supplier_id = UnicodeAttribute()
    carrier = UnicodeAttribute()
    tracking_number = UnicodeAttribute()
    tracking_url = UnicodeAttribute()
    status = UnicodeAttribute()
    status_at = UTCDateTimeAttribute(null=True)
    timeline = ListAttribute(of=TimelineMap, default=list)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()


class InboxItem(Item, discriminator="inbox"):
    """An inbound webhook, stored raw before it is answered (`INBOX#<provider>#<id>`, TTL)."""

    provider = UnicodeAttribute()
    webhook_id = UnicodeAttribute()
    body = UnicodeAttribute()
    event_type = UnicodeAttribute(null=True)
    received_at = UTCDateTimeAttribute()
    processed_at = UTCDateTimeAttribute(null=True)
    outcome = UnicodeAttribute(null=True)  # what processing did (applied, ignored, failed: <reason>)


class PaymentTxnItem(Item, discriminator="payment_txn"):
    """A money movement of an order (`ORDER#<id>` / `PAYMENT#<id>`): see `domain.payments.PaymentKind`.

    Written `pending` (conditional create) before the gateway is called, then `succeeded` or
    `failed` under its version; `idempotency_key` is what the gateway was (and is again) sent."""

    id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    payment_kind = UnicodeAttribute()  # "capture" or "refund" (`kind` is the table's discriminator)
    supplier_id = UnicodeAttribute()
    complaint_id = UnicodeAttribute(null=True)  # a refund: the complaint that decided it
    sku = UnicodeAttribute(null=True)  # a refund: the line it pays back
    amount_cents = NumberAttribute()
    currency = UnicodeAttribute()
    status = UnicodeAttribute()
    idempotency_key = UnicodeAttribute()
    gateway_reference = UnicodeAttribute(null=True)
    failure = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)  # why the money moves (a refund's cause, an adjustment's reason)
    actor = UnicodeAttribute(null=True)  # who made it move (a staff member's sub, or "system")
    attempts = NumberAttribute(default=0)  # gateway attempts that got no answer (a refund gives up after a few)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()


class ClaimedLineMap(MapAttribute[str, Any]):
    sku = UnicodeAttribute()
    name = UnicodeAttribute()
    quantity = NumberAttribute()
    unit_price_cents = NumberAttribute()


class PhotoMap(MapAttribute[str, Any]):
    key = UnicodeAttribute()
    content_type = UnicodeAttribute()
    size_bytes = NumberAttribute()


class PlanLineMap(MapAttribute[str, Any]):
    sku = UnicodeAttribute()
    resolution = UnicodeAttribute()
    quantity = NumberAttribute()
    refund_cents = NumberAttribute()
    paid_cents = NumberAttribute()
    charge_back_cents = NumberAttribute()


class PlanMap(MapAttribute[str, Any]):
    lines = ListAttribute(of=PlanLineMap)
    supplier_bears = BooleanAttribute()
    proposed_by = UnicodeAttribute()
    proposed_at = UTCDateTimeAttribute()
    approved_by = UnicodeAttribute(null=True)
    approved_at = UTCDateTimeAttribute(null=True)


class SkuQuantityMap(MapAttribute[str, Any]):
    sku = UnicodeAttribute()
    quantity = NumberAttribute()


class ParcelMap(MapAttribute[str, Any]):
    """A return or replacement parcel: where it is, as its carrier reports it."""

    carrier = UnicodeAttribute()
    tracking_number = UnicodeAttribute()
    status = UnicodeAttribute()
    status_at = UTCDateTimeAttribute(null=True)


class ComplaintItem(Item, discriminator="complaint"):
    """A customer's complaint about one delivery (`COMPLAINT#<id>` / `#META`), under its version."""

    id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    supplier_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    customer_email = UnicodeAttribute(null=True)
    campaign_id = UnicodeAttribute()
    po_id = UnicodeAttribute(null=True)
    currency = UnicodeAttribute()
    reason = UnicodeAttribute()
    wanted = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    lines = ListAttribute(of=ClaimedLineMap)
    photos = ListAttribute(of=PhotoMap, default=list)
    status = UnicodeAttribute()
    plan = PlanMap(null=True)
    supplier_question = UnicodeAttribute(null=True)
    supplier_answer = UnicodeAttribute(null=True)
    supplier_answered_at = UTCDateTimeAttribute(null=True)
    replacement_lines = ListAttribute(of=SkuQuantityMap, default=list)
    replacement = ParcelMap(null=True)
    opened_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()


class ReturnLineMap(MapAttribute[str, Any]):
    sku = UnicodeAttribute()
    quantity = NumberAttribute()
    refund_cents = NumberAttribute()
    charge_back_cents = NumberAttribute()


class ReturnItem(Item, discriminator="complaint_return"):
    """A return authorisation (`COMPLAINT#<id>` / `RETURN#<rma>`): what the customer sends back and
    the parcel it travels in; its receipt makes the return's refunds due."""

    id = UnicodeAttribute()
    complaint_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    supplier_id = UnicodeAttribute()
    lines = ListAttribute(of=ReturnLineMap)
    status = UnicodeAttribute()
    instructions = UnicodeAttribute()
    parcel = ParcelMap(null=True)
    authorised_at = UTCDateTimeAttribute()
    received_at = UTCDateTimeAttribute(null=True)
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()


class ComplaintParcelItem(Item, discriminator="complaint_parcel"):
    """Which complaint a return or replacement parcel belongs to (`SHIPMENT#<carrier>#<tracking>` /
    `#COMPLAINT`): carrier webhooks for the number reach the complaint through it."""

    complaint_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    purpose = UnicodeAttribute()  # "return" or "replacement"
    carrier = UnicodeAttribute()
    tracking_number = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class DeliveryClaimsItem(Item, discriminator="delivery_claims"):
    """Counts the complaints opened on one delivery (`ORDER#<id>` / `CLAIMS#<supplier>`); written under
    its version with each new complaint, so two opened at once cannot both claim the same units."""

    order_id = UnicodeAttribute()
    supplier_id = UnicodeAttribute()
    complaints = NumberAttribute(default=0)
    version = VersionAttribute()


class RefundLedgerItem(Item, discriminator="refund_ledger"):
    """What complaints have refunded on an order (`ORDER#<id>` / `#REFUNDED`): ADDed under the
    condition that it stays within what was captured, in each refund's transaction."""

    order_id = UnicodeAttribute()
    refunded_cents = NumberAttribute(default=0)


class ChargeBackItem(Item, discriminator="charge_back"):
    """The supplier's share of a refund (`PO#<id>` / `CHARGEBACK#<refund id>`), written with the
    refund: what the shop deducts from what it owes the supplier."""

    refund_id = UnicodeAttribute()
    complaint_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    po_id = UnicodeAttribute()
    supplier_id = UnicodeAttribute()
    campaign_id = UnicodeAttribute()
    sku = UnicodeAttribute()
    amount_cents = NumberAttribute()
    currency = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


def reset_connections() -> None:
    """Forget every model class's cached connection, so the next call re-reads the endpoint
    (the benchmark and the moto-server suites switch this process between servers)."""
    stack: list[type] = [Item]
    while stack:
        cls = stack.pop()
        cls._connection = None  # type: ignore[attr-defined]
        stack.extend(cls.__subclasses__())


# ---------------------------------------------------------------- notifications (issue 6)


class OutboxItem(Item, discriminator="outbox"):
    """One e-mail of one (event, address) (`OUTBOX#<event id>` / `TO#<address>`), written before it is
    sent: `sending` (claimed, with a lease), then `sent`, or `failed` (retried on redelivery), or
    `skipped_opted_out`, or `held_for_digest` (sparse GSI1 `DIGEST#PENDING` until a digest carries it,
    then `digested`). TTL 30 days."""

    event_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    address = UnicodeAttribute()
    recipient_role = UnicodeAttribute()
    template = UnicodeAttribute()
    category = UnicodeAttribute()
    status = UnicodeAttribute()
    attempts = NumberAttribute(default=0)
    last_error = UnicodeAttribute(null=True)
    message_id = UnicodeAttribute(null=True)
    subject = UnicodeAttribute(null=True)  # the rendered subject: a digest line for held mail
    link = UnicodeAttribute(null=True)
    lease_until = UTCDateTimeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    sent_at = UTCDateTimeAttribute(null=True)
    held_at = UTCDateTimeAttribute(null=True)
    digested_at = UTCDateTimeAttribute(null=True)
    version = VersionAttribute()


class NotificationPreferenceItem(Item, discriminator="notification_preferences"):
    """A person's choice for non-transactional mail (`NOTIFYPREF#<address>` / `#META`)."""

    address = UnicodeAttribute()
    opt_out = BooleanAttribute(default=False)
    alerts = UnicodeAttribute(default="immediate")  # immediate / daily_digest
    updated_at = UTCDateTimeAttribute()
    updated_by = UnicodeAttribute(null=True)
    locale = UnicodeAttribute(null=True)  # the language of their own mail (`PUT /me/profile`, an order's locale)


# ---------------------------------------------------------------- outbound webhooks (issue 7)


class WebhookSubscriptionItem(Item, discriminator="webhook_subscription"):
    """A subscriber (`SUBSCRIPTION#<id>` / `#META`), in GSI1 `WEBHOOKSUBS` and, while active, in sparse
    GSI2 `WEBHOOKSUBS#ACTIVE`. Secrets sit here sealed with KMS (`kms:<ciphertext>`, see
    adapters/webhooks_out.py; a `whsec_` plaintext one predates sealing and is sealed at its next send or
    change); `previous_secret` keeps signing until `previous_secret_expires_at`."""

    id = UnicodeAttribute()
    url = UnicodeAttribute()
    event_types = ListAttribute(of=UnicodeAttribute, default=list)
    description = UnicodeAttribute(null=True)
    active = BooleanAttribute(default=True)
    secret = UnicodeAttribute()
    previous_secret = UnicodeAttribute(null=True)
    previous_secret_expires_at = UTCDateTimeAttribute(null=True)
    secret_rotated_at = UTCDateTimeAttribute(null=True)
    disabled_reason = UnicodeAttribute(null=True)
    disabled_at = UTCDateTimeAttribute(null=True)
    failing = BooleanAttribute(default=False)  # disabled by failures: its webhook_delivery_failing is live
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()


class WebhookAttemptMap(MapAttribute[str, Any]):
    number = NumberAttribute()
    at = UTCDateTimeAttribute()
    status_code = NumberAttribute(null=True)
    latency_ms = NumberAttribute(default=0)
    response_excerpt = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)


class WebhookDeliveryItem(Item, discriminator="webhook_delivery"):
    """One (event, subscription) delivery (`WHDELIVERY#<id>` / `#META`; the id is the webhook id), its
    attempts inline (at most 8). While an attempt is due (or one is under way, until its lease ends)
    it sits in the sweep's due index."""

    id = UnicodeAttribute()
    subscription_id = UnicodeAttribute()
    event_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    payload = UnicodeAttribute()  # the exact body every attempt sends
    status = UnicodeAttribute()
    attempts_started = NumberAttribute(default=0)
    attempts = ListAttribute(of=WebhookAttemptMap, default=list)
    next_attempt_at = UTCDateTimeAttribute(null=True)
    replay_of = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()


# ---------------------------------------------------------------- exports (issue 7)


class ExportRunItem(Item, discriminator="export_run"):
    """An export run (`EXPORT#<id>` / `#META`, GSI1 `EXPORTS`): what it exports, its window, and its
    checkpoint (the query cursor after the last page whose rows are in uploaded parts, those parts,
    the counts at that point), so a run stopped anywhere resumes from its checkpoint."""

    id = UnicodeAttribute()
    export_kind = UnicodeAttribute()
    format = UnicodeAttribute()
    exporter = UnicodeAttribute(null=True)
    state = UnicodeAttribute(null=True)
    created_from = UTCDateTimeAttribute(null=True)
    window_end = UTCDateTimeAttribute()
    status = UnicodeAttribute()
    requested_by = UnicodeAttribute()
    requested_at = UTCDateTimeAttribute()
    started_at = UTCDateTimeAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)
    bucket = UnicodeAttribute()
    csv_key = UnicodeAttribute()
    key = UnicodeAttribute()  # the file staff download (the CSV itself, or the XLSX made from it)
    upload_id = UnicodeAttribute(null=True)
    parts_json = UnicodeAttribute(default="[]")  # uploaded parts: [{"n": part number, "etag": ...}]
    cursor = UnicodeAttribute(null=True)
    rows = NumberAttribute(default=0)
    counts = MapAttribute[str, Any](default=dict)
    attempts = NumberAttribute(default=0)
    error = UnicodeAttribute(null=True)
    size_bytes = NumberAttribute(null=True)
    lease_until = UTCDateTimeAttribute(null=True)  # while running: no other worker takes it over before then
    tail_key = UnicodeAttribute(null=True)  # the rows after the last part, kept in S3 between invocations
    chunks = NumberAttribute(default=0)  # invocations that stopped at their budget and queued the next
    version = VersionAttribute()


class ExporterLockItem(Item, discriminator="exporter_lock"):
    """`EXPORTER#<name>` / `#LOCK`: the run this exporter is running; one run per exporter at a time."""

    exporter = UnicodeAttribute()
    run_id = UnicodeAttribute()
    at = UTCDateTimeAttribute()


class ExportMarkerItem(Item, discriminator="exported"):
    """`<record PK>` / `EXPORTED#<exporter>#<record id>`: the record was exported by this exporter, in run
    `run_id` (claimed when the run read it; written before the run's checkpoint passes it)."""

    exporter = UnicodeAttribute()
    record_id = UnicodeAttribute()
    run_id = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    status = UnicodeAttribute()  # the record's state as exported


# ---------------------------------------------------------------- metrics counters (issue 7)


class StatsItem(Item, discriminator="stats"):
    """One shard of a counter (`STATS#<scope>` / `STAGE#<stage>#<shard>`, `STATS#CAMPAIGN#<id>#SUMMARY#<n>` /
    `SUMMARY#<n>`, `STATS#ORDERS#<n>` / `#COUNTS`: keys.py), created and grown only by atomic ADDs in
    transitions' transactions (domain/metrics.py says what each one adds). An orders-per-status shard
    keeps one undeclared number attribute per status (`status|<status>`), read raw."""

    scope = UnicodeAttribute(null=True)
    stage = UnicodeAttribute(null=True)  # None on a campaign's summary
    order_status = UnicodeAttribute(null=True)  # on the per-status items written before issue 20 (unread)
    completed = NumberAttribute(null=True)
    seconds = NumberAttribute(null=True)
    late = NumberAttribute(null=True)
    late_seconds = NumberAttribute(null=True)
    orders = NumberAttribute(null=True)
    revenue_cents = NumberAttribute(null=True)
    cancelled = NumberAttribute(null=True)
    cancelled_cents = NumberAttribute(null=True)
    refunded_cents = NumberAttribute(null=True)
    pos = NumberAttribute(null=True)
    cost_cents = NumberAttribute(null=True)
    received_cents = NumberAttribute(null=True)
    pos_created = NumberAttribute(null=True)


class TrendItem(Item, discriminator="trend"):
    """One shard of a trend's counters in one period (`TREND#<series>` / `<period>#<n>`: keys.py),
    created and grown only by atomic ADDs in the transactions of the events it counts
    (services/ports_trends.py)."""

    series = UnicodeAttribute(null=True)
    period = UnicodeAttribute(null=True)
    placed = NumberAttribute(null=True)
    opened = NumberAttribute(null=True)
    resolved = NumberAttribute(null=True)
    completed = NumberAttribute(null=True)
    late = NumberAttribute(null=True)


class SettingsItem(Item, discriminator="settings"):
    """Staff's overrides of the business settings (`SETTINGS` / `#CURRENT`; services/tunables.py):
    the values as a JSON object by setting name, versioned."""

    values = UnicodeAttribute()  # JSON: {"deadline_acknowledge_s": 86400, ...}
    updated_at = UTCDateTimeAttribute(null=True)
    updated_by = UnicodeAttribute(null=True)
    version = VersionAttribute()


class AssignmentItem(Item, discriminator="assignment"):
    """Who works on an order, complaint or PO (`ASSIGNMENT#<subject>#<id>` / `#META`; services/assignments.py),
    in GSI1 `WORK#<address>` and GSI2 `WORK#TEAM#<team>` ranked by priority then age."""

    subject = UnicodeAttribute()
    subject_id = UnicodeAttribute()
    assignee = UnicodeAttribute(null=True)
    team = UnicodeAttribute(null=True)
    priority = UnicodeAttribute()
    assigned_at = UTCDateTimeAttribute()
    assigned_by = UnicodeAttribute()
    note = UnicodeAttribute(null=True)
    version = VersionAttribute()
