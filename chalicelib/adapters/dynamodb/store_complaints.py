"""The complaints area on the single table: how its kinds are stored, and its named reads.

A complaint is `COMPLAINT#<id>` / `#META` under its version, indexed by order (GSI1), by PO (GSI2), by
status (GSI3) and over all complaints (GSI4), newest by its opening time; its return authorisations
(`RETURN#<rma>`) and audit trail share the partition, so the complaint's file is one Query. A
complaint parcel is `SHIPMENT#<carrier>#<tracking>` / `#COMPLAINT`, a delivery's claims
`ORDER#<id>` / `CLAIMS#<supplier>`, a charge-back `PO#<id>` / `CHARGEBACK#<refund>` (indexed by the
campaign, GSI1). What complaints refunded on an order is its refund ledger `ORDER#<id>` / `#REFUNDED`,
ADDed to in the commit's transaction. Loads are one GetItem, saves one put in the commit's transaction (conditional on the
version read, or on absence for a create): the requests `services.complaints` makes.
"""

from __future__ import annotations

from datetime import datetime

from ...domain.complaints import (
    ClaimedLine,
    Complaint,
    ComplaintReason,
    ComplaintStatus,
    Photo,
    Plan,
    PlanLine,
    Resolution,
    ReturnAuthorisation,
    ReturnLine,
    ReturnStatus,
)
from ...services.ports_common import Page, Versioned
from ...services.ports_complaints import (
    AddRefunded,
    ComplaintFile,
    ComplaintOrder,
    ComplaintParcel,
    DeliveryClaims,
    Parcel,
    SkuQuantity,
    StoredComplaint,
    StoredReturn,
)
from ...services.ports_purchase_orders import ChargeBack
from . import keys
from . import repository as repo
from .mapping import Mapper, Writes, register
from .models import (
    AuditEventItem,
    ChargeBackItem,
    ClaimedLineMap,
    ComplaintItem,
    ComplaintParcelItem,
    DeliveryClaimsItem,
    Item,
    OrderItem,
    OrderShipmentItem,
    ParcelMap,
    PaymentTxnItem,
    PhotoMap,
    PlanLineMap,
    PlanMap,
    PurchaseOrderItem,
    RefundLedgerItem,
    ReturnItem,
    ReturnLineMap,
    SkuQuantityMap,
)
from .store_money import payment_from_item
from .store_orders import _shipment_copy as shipment_copy  # the orders area's mapping of a parcel's copy

# ---------------------------------------------------------------- complaints


def plan_from_map(m: PlanMap | None) -> Plan | None:
    if m is None:
        return None
    return Plan(
        tuple(
            PlanLine(
                l.sku, Resolution(l.resolution), int(l.quantity), int(l.refund_cents), int(l.paid_cents), int(l.charge_back_cents)
            )
            for l in m.lines
        ),
        bool(m.supplier_bears),
        m.proposed_by,
        m.proposed_at,
    )


def plan_map(plan: Plan, *, approved_by: str | None = None, approved_at: datetime | None = None) -> PlanMap:
    return PlanMap(
        lines=[
            PlanLineMap(
                sku=l.sku,
                resolution=l.resolution.value,
                quantity=l.quantity,  # type: ignore[no-untyped-call]
                refund_cents=l.refund_cents,
                paid_cents=l.paid_cents,
                charge_back_cents=l.charge_back_cents,
            )
            for l in plan.lines
        ],
        supplier_bears=plan.supplier_bears,
        proposed_by=plan.proposed_by,
        proposed_at=plan.proposed_at,
        approved_by=approved_by,
        approved_at=approved_at,
    )


def complaint_from_item(item: ComplaintItem) -> Complaint:
    return Complaint(
        id=item.id,
        order_id=item.order_id,
        supplier_id=item.supplier_id,
        customer_id=item.customer_id,
        reason=ComplaintReason(item.reason),
        wanted=Resolution(item.wanted),
        lines=[ClaimedLine(l.sku, int(l.quantity), int(l.unit_price_cents)) for l in item.lines],
        photos=[Photo(p.key, p.content_type, int(p.size_bytes)) for p in item.photos or []],
        opened_at=item.opened_at,
        description=item.description or "",
        status=ComplaintStatus(item.status),
        plan=plan_from_map(item.plan),
    )


def index(item: ComplaintItem) -> ComplaintItem:
    """The complaint's index keys, from its order, PO, status and opening time."""
    sk = keys.created_sk(item.opened_at, item.id)
    item.GSI1PK, item.GSI1SK = keys.order_complaints_pk(item.order_id), sk
    item.GSI2PK, item.GSI2SK = (keys.po_complaints_pk(item.po_id), sk) if item.po_id else (None, None)
    item.GSI3PK, item.GSI3SK = keys.complaints_in_pk(item.status), sk
    item.GSI4PK, item.GSI4SK = keys.ALL_COMPLAINTS_PK, sk
    return item


def _parcel(m: ParcelMap | None) -> Parcel | None:
    return None if m is None else Parcel(m.carrier, m.tracking_number, m.status, m.status_at)


def _parcel_map(p: Parcel | None) -> ParcelMap | None:
    if p is None:
        return None
    return ParcelMap(carrier=p.carrier, tracking_number=p.tracking_number, status=p.status, status_at=p.status_at)  # type: ignore[no-untyped-call]


def stored_complaint(item: ComplaintItem) -> Versioned[StoredComplaint]:
    plan = item.plan
    return Versioned(
        StoredComplaint(
            complaint=complaint_from_item(item),
            customer_email=item.customer_email,
            campaign_id=item.campaign_id,
            po_id=item.po_id,
            currency=item.currency,
            updated_at=item.updated_at,
            line_names={l.sku: l.name for l in item.lines},
            supplier_question=item.supplier_question,
            supplier_answer=item.supplier_answer,
            supplier_answered_at=item.supplier_answered_at,
            plan_approved_by=plan.approved_by if plan is not None else None,
            plan_approved_at=plan.approved_at if plan is not None else None,
            replacement_lines=[SkuQuantity(r.sku, int(r.quantity)) for r in item.replacement_lines or []],
            replacement=_parcel(item.replacement),
        ),
        int(item.version),
    )


def complaint_item(stored: StoredComplaint, version: int | None) -> ComplaintItem:
    """The complaint's item with its index keys; `version`: the one the write expects (None: a new item)."""
    c = stored.complaint
    item = ComplaintItem(
        *keys.complaint(c.id),
        id=c.id,
        order_id=c.order_id,
        supplier_id=c.supplier_id,
        customer_id=c.customer_id,
        customer_email=stored.customer_email,
        campaign_id=stored.campaign_id,
        po_id=stored.po_id,
        currency=stored.currency,
        reason=c.reason.value,
        wanted=c.wanted.value,
        description=c.description,
        lines=[
            ClaimedLineMap(
                sku=l.sku,
                name=stored.line_names.get(l.sku, l.sku),
                quantity=l.quantity,  # type: ignore[no-untyped-call]
                unit_price_cents=l.unit_price_cents,
            )
            for l in c.lines
        ],
        photos=[
            PhotoMap(key=p.key, content_type=p.content_type, size_bytes=p.size_bytes)  # type: ignore[no-untyped-call]
            for p in c.photos
        ],
        status=c.status.value,
        plan=None
        if c.plan is None
        else plan_map(c.plan, approved_by=stored.plan_approved_by, approved_at=stored.plan_approved_at),
        supplier_question=stored.supplier_question,
        supplier_answer=stored.supplier_answer,
        supplier_answered_at=stored.supplier_answered_at,
        replacement_lines=[SkuQuantityMap(sku=r.sku, quantity=r.quantity) for r in stored.replacement_lines],  # type: ignore[no-untyped-call]
        replacement=_parcel_map(stored.replacement),
        opened_at=c.opened_at,
        updated_at=stored.updated_at,
    )
    return repo.with_version(index(item), version)


def _new_or_update(item: Item, version: int | None) -> Writes:
    # An update's condition is the item's version attribute (PynamoDB adds it); a new one must be absent.
    return [repo.Write(item) if version is not None else repo.new_item(item)]


def _load_complaint(complaint_id: str) -> tuple[StoredComplaint, int] | None:
    item = repo.get(keys.complaint(complaint_id), ComplaintItem)
    if item is None:
        return None
    found = stored_complaint(item)
    return found.value, found.version


register(
    StoredComplaint,
    Mapper(load=_load_complaint, save=lambda c, version, at: _new_or_update(complaint_item(c, version), version)),
)


# ---------------------------------------------------------------- returns


def rma_from_item(item: ReturnItem) -> ReturnAuthorisation:
    return ReturnAuthorisation(
        id=item.id,
        complaint_id=item.complaint_id,
        order_id=item.order_id,
        supplier_id=item.supplier_id,
        lines=tuple(ReturnLine(l.sku, int(l.quantity), int(l.refund_cents), int(l.charge_back_cents)) for l in item.lines),
        authorised_at=item.authorised_at,
        status=ReturnStatus(item.status),
        received_at=item.received_at,
    )


def stored_return(item: ReturnItem) -> Versioned[StoredReturn]:
    return Versioned(
        StoredReturn(rma_from_item(item), item.instructions, item.updated_at, _parcel(item.parcel)), int(item.version)
    )


def return_item(stored: StoredReturn, version: int | None) -> ReturnItem:
    rma = stored.rma
    item = ReturnItem(
        *keys.complaint_return(rma.complaint_id, rma.id),
        id=rma.id,
        complaint_id=rma.complaint_id,
        order_id=rma.order_id,
        supplier_id=rma.supplier_id,
        lines=[
            ReturnLineMap(
                sku=l.sku,
                quantity=l.quantity,
                refund_cents=l.refund_cents,  # type: ignore[no-untyped-call]
                charge_back_cents=l.charge_back_cents,
            )
            for l in rma.lines
        ],
        status=rma.status.value,
        instructions=stored.instructions,
        parcel=_parcel_map(stored.parcel),
        authorised_at=rma.authorised_at,
        received_at=rma.received_at,
        updated_at=stored.updated_at,
    )
    return repo.with_version(item, version)


def _load_return(complaint_id: str, rma_id: str) -> tuple[StoredReturn, int] | None:
    item = repo.get(keys.complaint_return(complaint_id, rma_id), ReturnItem)
    if item is None:
        return None
    found = stored_return(item)
    return found.value, found.version


register(StoredReturn, Mapper(load=_load_return, save=lambda r, version, at: _new_or_update(return_item(r, version), version)))


# ---------------------------------------------------------------- parcels, claims, charge-backs


def complaint_parcel(item: ComplaintParcelItem) -> ComplaintParcel:
    return ComplaintParcel(item.carrier, item.tracking_number, item.complaint_id, item.order_id, item.purpose, item.created_at)


def _load_parcel(carrier: str, tracking_number: str) -> tuple[ComplaintParcel, int] | None:
    item = repo.get(keys.complaint_parcel(carrier, tracking_number), ComplaintParcelItem)
    return None if item is None else (complaint_parcel(item), 1)


def _save_parcel(parcel: ComplaintParcel, version: int | None, at: datetime) -> Writes:
    if version is not None:
        raise ValueError("a complaint parcel is registered once, never changed")
    item = ComplaintParcelItem(
        *keys.complaint_parcel(parcel.carrier, parcel.tracking_number),
        complaint_id=parcel.complaint_id,
        order_id=parcel.order_id,
        purpose=parcel.purpose,
        carrier=parcel.carrier,
        tracking_number=parcel.tracking_number,
        created_at=parcel.created_at,
    )
    return [repo.new_item(item)]


register(ComplaintParcel, Mapper(load=_load_parcel, save=_save_parcel))


def _load_claims(order_id: str, supplier_id: str) -> tuple[DeliveryClaims, int] | None:
    item = repo.get(keys.delivery_claims(order_id, supplier_id), DeliveryClaimsItem)
    if item is None:
        return None
    return DeliveryClaims(item.order_id, item.supplier_id, int(item.complaints or 0)), int(item.version)


def _save_claims(claims: DeliveryClaims, version: int | None, at: datetime) -> Writes:
    item = DeliveryClaimsItem(
        *keys.delivery_claims(claims.order_id, claims.supplier_id),
        order_id=claims.order_id,
        supplier_id=claims.supplier_id,
        complaints=claims.complaints,
    )
    return _new_or_update(repo.with_version(item, version), version)


register(DeliveryClaims, Mapper(load=_load_claims, save=_save_claims))


def charge_back_from_item(item: ChargeBackItem) -> ChargeBack:
    """As the PO's file reads it (`store_purchase_orders`)."""
    return ChargeBack(
        refund_id=item.refund_id,
        complaint_id=item.complaint_id,
        order_id=item.order_id,
        po_id=item.po_id,
        supplier_id=item.supplier_id,
        campaign_id=item.campaign_id,
        sku=item.sku,
        amount_cents=int(item.amount_cents),
        currency=item.currency,
        created_at=item.created_at,
    )


def charge_back_item(charge_back: ChargeBack) -> ChargeBackItem:
    return ChargeBackItem(
        *keys.charge_back(charge_back.po_id, charge_back.refund_id),
        refund_id=charge_back.refund_id,
        complaint_id=charge_back.complaint_id,
        order_id=charge_back.order_id,
        po_id=charge_back.po_id,
        supplier_id=charge_back.supplier_id,
        campaign_id=charge_back.campaign_id,
        sku=charge_back.sku,
        amount_cents=charge_back.amount_cents,
        currency=charge_back.currency,
        created_at=charge_back.created_at,
        GSI1PK=keys.campaign_charge_backs_pk(charge_back.campaign_id),
        GSI1SK=f"{charge_back.supplier_id}#{charge_back.refund_id}",
    )


def _load_charge_back(po_id: str, refund_id: str) -> tuple[ChargeBack, int] | None:
    item = repo.get(keys.charge_back(po_id, refund_id), ChargeBackItem)
    return None if item is None else (charge_back_from_item(item), 1)


def _save_charge_back(charge_back: ChargeBack, version: int | None, at: datetime) -> Writes:
    if version is not None:
        raise ValueError("a charge-back is created once with its refund, never changed")
    return [repo.new_item(charge_back_item(charge_back))]


register(ChargeBack, Mapper(load=_load_charge_back, save=_save_charge_back))


def refunded_write(change: AddRefunded) -> repo.Update:
    """The ledger's ADD; with a cap, under the condition that the total stays within it."""
    ledger = RefundLedgerItem(*keys.refund_ledger(change.order_id))
    if change.captured_cents is None:
        return repo.Update(ledger, [RefundLedgerItem.refunded_cents.add(change.cents)])
    return repo.Update(
        ledger,
        [
            RefundLedgerItem.refunded_cents.add(change.cents),
            RefundLedgerItem.order_id.set(change.order_id),
            RefundLedgerItem.kind.set(RefundLedgerItem),
        ],
        condition=RefundLedgerItem.refunded_cents.does_not_exist()
        | (RefundLedgerItem.refunded_cents <= change.captured_cents - change.cents),
    )


# ---------------------------------------------------------------- reads


class ComplaintsDynamo:
    """`services.ports_complaints.ComplaintsReads` on the single table."""

    def complaint_file(self, complaint_id: str) -> ComplaintFile | None:
        items = repo.query_all(keys.complaint_pk(complaint_id))
        meta = next((i for i in items if isinstance(i, ComplaintItem)), None)
        if meta is None:
            return None
        rma = next((i for i in items if isinstance(i, ReturnItem)), None)
        events = sorted((repo.event_from_item(i) for i in items if isinstance(i, AuditEventItem)), key=lambda e: e.at)
        return ComplaintFile(stored_complaint(meta), stored_return(rma) if rma is not None else None, events)

    def complaints_of_order(self, order_id: str) -> list[Versioned[StoredComplaint]]:
        return [stored_complaint(i) for i in Item.gsi1.query(keys.order_complaints_pk(order_id)) if isinstance(i, ComplaintItem)]

    def complaints_of_po(self, po_id: str) -> list[Versioned[StoredComplaint]]:
        found = Item.gsi2.query(keys.po_complaints_pk(po_id), scan_index_forward=False)
        return [stored_complaint(i) for i in found if isinstance(i, ComplaintItem)]

    def complaints_listing(
        self, *, status: str | None, supplier_id: str | None, limit: int, cursor: str | None = None
    ) -> Page[Versioned[StoredComplaint]]:
        flt = ComplaintItem.supplier_id == supplier_id if supplier_id else None
        if status:
            page = repo.query_page(Item.gsi3, keys.complaints_in_pk(status), filter_condition=flt, limit=limit, cursor=cursor)
        else:
            page = repo.query_page(Item.gsi4, keys.ALL_COMPLAINTS_PK, filter_condition=flt, limit=limit, cursor=cursor)
        return Page([stored_complaint(i) for i in page.items if isinstance(i, ComplaintItem)], page.cursor)

    def returns_of_complaint(self, complaint_id: str) -> list[Versioned[StoredReturn]]:
        found = repo.query_all(keys.complaint_pk(complaint_id), range_key_condition=Item.SK.startswith("RETURN#"))
        return [stored_return(i) for i in found if isinstance(i, ReturnItem)]

    def complaint_order(self, order_id: str) -> ComplaintOrder | None:
        items = repo.query_all(keys.order_pk(order_id))
        meta = next((i for i in items if isinstance(i, OrderItem)), None)
        if meta is None:
            return None
        payments = sorted((i for i in items if isinstance(i, PaymentTxnItem)), key=lambda i: (i.created_at, i.id))
        ledger = next((i for i in items if isinstance(i, RefundLedgerItem)), None)
        copies = sorted((i for i in items if isinstance(i, OrderShipmentItem)), key=lambda i: i.created_at)
        claims = [i for i in items if isinstance(i, DeliveryClaimsItem)]
        return ComplaintOrder(
            Versioned(repo.order_from_item(meta), int(meta.version)),
            [Versioned(payment_from_item(i), int(i.version)) for i in payments],
            int(ledger.refunded_cents or 0) if ledger is not None else 0,
            [shipment_copy(i) for i in copies],
            {
                i.supplier_id: Versioned(DeliveryClaims(i.order_id, i.supplier_id, int(i.complaints or 0)), int(i.version))
                for i in claims
            },
        )

    def supplier_po(self, campaign_id: str, supplier_id: str) -> str | None:
        for item in Item.gsi2.query(keys.campaign_pos_pk(campaign_id), Item.GSI2SK == supplier_id):  # noqa: SIM300
            if isinstance(item, PurchaseOrderItem):
                return item.id
        return None

    def campaign_charge_backs(self, campaign_id: str) -> list[ChargeBack]:
        found = Item.gsi1.query(keys.campaign_charge_backs_pk(campaign_id))
        return [charge_back_from_item(i) for i in found if isinstance(i, ChargeBackItem)]
