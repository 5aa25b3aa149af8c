"""The supplier's side of purchase orders: read own campaigns and POs, act on the open stage,
upload invoices and product files.

Every use case is confined to the caller's `supplier_id`: another supplier's PO or campaign is
the same 404 as one that does not exist. Stage actions go through `stages.complete_stage`
(stage open + version condition + SendTaskSuccess once); the child item they create
(invoice, proposal, shipment) is written in the same transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from ..adapters import files
from ..adapters.dynamodb import keys
from ..adapters.dynamodb import repository as repo
from ..adapters.dynamodb.models import (
    CampaignItem,
    ChargeBackItem,
    InvoiceItem,
    Item,
    PaymentProposalItem,
    POShipmentItem,
    PurchaseOrderItem,
)
from ..domain import purchase_orders as domain
from ..domain.errors import Forbidden, NotFound, RuleViolation
from ..domain.permissions import Principal, Role, roles
from ..domain.purchase_orders import LineAcceptance, POStatus, PurchaseOrder, Stage
from ..domain.shipments import tracking_url
from . import exceptions, stages
from .clock import new_id, now
from .guard import require

SUPPLIER = roles(Role.SUPPLIER)
PROPOSAL_PENDING = "pending"


def supplier_of(actor: Principal) -> str:
    """The supplier the caller acts for; a supplier token without the claim may do nothing."""
    require(actor, SUPPLIER, "use the supplier API")
    if not actor.supplier_id:
        raise Forbidden("your token names no supplier")
    return actor.supplier_id


# ---------------------------------------------------------------- views


@dataclass
class POSummary:
    id: str
    campaign_id: str
    supplier_id: str
    status: str
    stage: str | None
    stage_deadline: datetime | None
    currency: str
    order_count: int
    ordered_cents: int
    accepted_cents: int
    invoiced_cents: int
    proposed_cents: int
    paid_cents: int
    payment_status: str
    shipment_status: str
    created_at: datetime
    updated_at: datetime


@dataclass
class Invoice:
    id: str
    number: str
    amount_cents: int
    currency: str
    file_key: str
    created_at: datetime


@dataclass
class Proposal:
    id: str
    po_id: str
    supplier_id: str
    campaign_id: str
    amount_cents: int
    currency: str
    status: str
    note: str | None
    created_at: datetime
    updated_at: datetime


@dataclass
class Shipment:
    id: str
    carrier: str
    tracking_number: str
    tracking_url: str
    status: str
    order_ids: list[str]
    created_at: datetime


@dataclass
class PODetail:
    summary: POSummary
    lines: list[domain.POLine]
    invoices: list[Invoice] = field(default_factory=list)
    proposals: list[Proposal] = field(default_factory=list)
    shipments: list[Shipment] = field(default_factory=list)
    charge_backs: list[ChargeBackItem] = field(default_factory=list)  # complaint refunds the supplier bears


@dataclass
class SupplierCampaign:
    campaign_id: str
    name: str | None
    campaign_status: str | None
    po_id: str
    po_status: str
    stage: str | None
    payment_status: str
    shipment_status: str


@dataclass
class CampaignFile:
    key: str
    name: str
    size: int
    last_modified: datetime
    url: str


def payment_status(item: PurchaseOrderItem) -> str:
    """Where the money is: none, invoiced, proposed, approved (with the bank), paid."""
    invoiced, proposed, paid = int(item.invoiced_cents), int(item.proposed_cents), int(item.paid_cents)
    if paid and paid >= invoiced:
        return "paid"
    if item.stage in (Stage.BANK_PAYMENT.value, Stage.SETTLEMENT.value):
        return "approved"
    if proposed:
        return "proposed"
    if invoiced:
        return "invoiced"
    return "none"


def shipment_status(item: PurchaseOrderItem) -> str:
    if item.status == POStatus.SHIPPED.value:
        return "shipped"
    if item.status in (POStatus.REJECTED.value, POStatus.CANCELLED.value):
        return "not_applicable"
    return "awaiting_shipment" if item.stage == Stage.SHIPMENT.value else "pending"


def po_summary(item: PurchaseOrderItem) -> POSummary:
    return POSummary(
        id=item.id,
        campaign_id=item.campaign_id,
        supplier_id=item.supplier_id,
        status=item.status,
        stage=item.stage,
        stage_deadline=item.stage_deadline,
        currency=item.currency,
        order_count=int(item.order_count),
        ordered_cents=int(item.ordered_cents),
        accepted_cents=int(item.accepted_cents),
        invoiced_cents=int(item.invoiced_cents),
        proposed_cents=int(item.proposed_cents),
        paid_cents=int(item.paid_cents),
        payment_status=payment_status(item),
        shipment_status=shipment_status(item),
        created_at=item.created_at,
        updated_at=item.updated_at,
    )


def proposal_view(item: PaymentProposalItem) -> Proposal:
    return Proposal(
        id=item.id,
        po_id=item.po_id,
        supplier_id=item.supplier_id,
        campaign_id=item.campaign_id,
        amount_cents=int(item.amount_cents),
        currency=item.currency,
        status=item.status,
        note=item.note,
        created_at=item.created_at,
        updated_at=item.updated_at,
    )


def invoice_view(item: InvoiceItem) -> Invoice:
    return Invoice(
        id=item.id,
        number=item.number,
        amount_cents=int(item.amount_cents),
        currency=item.currency,
        file_key=item.file_key,
        created_at=item.created_at,
    )


def shipment_view(item: POShipmentItem) -> Shipment:
    return Shipment(
        id=item.id,
        carrier=item.carrier,
        tracking_number=item.tracking_number,
        tracking_url=tracking_url(item.carrier, item.tracking_number),
        status=item.status,
        order_ids=[str(o) for o in item.order_ids or []],
        created_at=item.created_at,
    )


# ---------------------------------------------------------------- reads


def list_campaigns(actor: Principal, *, limit: int = 100) -> list[SupplierCampaign]:
    """The campaigns the supplier has POs in: one query on its POs, one BatchGetItem of the campaigns."""
    sid = supplier_of(actor)
    page = repo.query_page(Item.gsi1, keys.supplier_pos_pk(sid), limit=limit)
    pos = [i for i in page.items if isinstance(i, PurchaseOrderItem)]
    campaigns = {c.id: c for c in repo.batch_get({keys.campaign(p.campaign_id) for p in pos}) if isinstance(c, CampaignItem)}
    result = []
    for p in pos:
        c = campaigns.get(p.campaign_id)
        result.append(
            SupplierCampaign(
                campaign_id=p.campaign_id,
                name=c.name if c else None,
                campaign_status=c.status if c else None,
                po_id=p.id,
                po_status=p.status,
                stage=p.stage,
                payment_status=payment_status(p),
                shipment_status=shipment_status(p),
            )
        )
    return result


def list_purchase_orders(
    actor: Principal, *, status: str | None, stage: str | None, limit: int, cursor: str | None
) -> tuple[list[POSummary], str | None]:
    """One query per page on the supplier's POs (newest first), filtered by status and stage."""
    sid = supplier_of(actor)
    condition = None
    if status:
        condition = PurchaseOrderItem.status == status
    if stage:
        by_stage = PurchaseOrderItem.stage == stage
        condition = by_stage if condition is None else condition & by_stage
    page = repo.query_page(Item.gsi1, keys.supplier_pos_pk(sid), filter_condition=condition, limit=limit, cursor=cursor)
    return [po_summary(i) for i in page.items if isinstance(i, PurchaseOrderItem)], page.cursor


def get_purchase_order(actor: Principal, po_id: str) -> PODetail:
    """One query on the PO's partition: the PO with its invoices, proposals and shipments."""
    sid = supplier_of(actor)
    items = repo.query_all(keys.po_pk(po_id))
    meta = next((i for i in items if isinstance(i, PurchaseOrderItem)), None)
    if meta is None or meta.supplier_id != sid:
        raise NotFound(f"purchase order {po_id} not found")
    po = repo.po_from_item(meta)
    return PODetail(
        summary=po_summary(meta),
        lines=po.lines,
        invoices=[invoice_view(i) for i in items if isinstance(i, InvoiceItem)],
        proposals=[proposal_view(i) for i in items if isinstance(i, PaymentProposalItem)],
        shipments=[shipment_view(i) for i in items if isinstance(i, POShipmentItem)],
        charge_backs=[i for i in items if isinstance(i, ChargeBackItem)],
    )


def _load_own(actor: Principal, po_id: str) -> stages.LoadedPO:
    return stages.load_po(po_id, for_supplier=supplier_of(actor))


def _after(loaded: stages.LoadedPO, po: PurchaseOrder) -> POSummary:
    """The PO as committed (the write bumped the version; the token is gone)."""
    item = repo.po_write(po, version=loaded.version + 1, now=now()).item
    assert isinstance(item, PurchaseOrderItem)
    return po_summary(item)


# ---------------------------------------------------------------- stage actions


def acknowledge(actor: Principal, po_id: str, acceptances: list[LineAcceptance]) -> POSummary:
    loaded = _load_own(actor, po_id)
    po, decision = stages.complete_stage(
        actor,
        po_id,
        Stage.ACKNOWLEDGE,
        lambda p: domain.acknowledge(p, acceptances),
        loaded=loaded,
        event_data={
            "lines": [
                {"sku": a.sku, "accepted_quantity": a.accepted_quantity, "reason": a.reason.value if a.reason else None}
                for a in acceptances
            ]
        },
    )
    _raise_refusals(po, decision)
    return _after(loaded, po)


def _raise_refusals(po: PurchaseOrder, decision: domain.Decision) -> None:
    """A supplier refusing the whole PO is the most urgent problem staff have; refused lines
    (out of stock and the like) come next. Same effect whether the answer came by API or webhook."""
    refused = [
        {
            "sku": line.sku,
            "refused": line.ordered_quantity - (line.accepted_quantity or 0),
            "reason": line.reject_reason.value if line.reject_reason else None,
        }
        for line in po.lines
        if (line.accepted_quantity or 0) < line.ordered_quantity
    ]
    details = {"po_id": po.id, "campaign_id": po.campaign_id, "supplier_id": po.supplier_id, "lines": refused}
    if decision is domain.Decision.REJECTED:
        exceptions.raise_or_bump("supplier_rejected", "po", po.id, details)
    elif refused:
        exceptions.raise_or_bump("out_of_stock", "po", po.id, details)


def invoice_prefix(supplier_id: str, po_id: str) -> str:
    return f"suppliers/{supplier_id}/pos/{po_id}/invoices/"


def _content_type(content_type: str) -> str:
    if content_type not in files.CONTENT_TYPES:
        raise RuleViolation(
            "unsupported_content_type",
            f"upload one of {', '.join(sorted(files.CONTENT_TYPES))}; not {content_type}",
            details=[{"field": "body.content_type", "message": "not an allowed content type"}],
        )
    return files.CONTENT_TYPES[content_type]


def invoice_upload(actor: Principal, po_id: str, content_type: str) -> files.Upload:
    """A presigned POST for one invoice file of this PO, while the invoice stage is open."""
    loaded = _load_own(actor, po_id)
    domain.require_stage(loaded.po, Stage.INVOICE)
    ext = _content_type(content_type)
    key = f"{invoice_prefix(loaded.po.supplier_id, po_id)}{uuid.uuid4().hex}.{ext}"
    return files.presigned_post(key, content_type)


def submit_invoice(actor: Principal, po_id: str, *, number: str, amount_cents: int, currency: str, file_key: str) -> Invoice:
    loaded = _load_own(actor, po_id)
    po = loaded.po
    problems = []
    if currency != po.currency:
        problems.append({"field": "body.currency", "message": f"the purchase order is in {po.currency}"})
    prefix = invoice_prefix(po.supplier_id, po_id)
    if not file_key.startswith(prefix) or "/" in file_key[len(prefix) :] or ".." in file_key:
        problems.append({"field": "body.file_key", "message": "use the key the upload step returned for this PO"})
    if problems:
        raise RuleViolation("invalid_invoice", "; ".join(p["message"] for p in problems), details=problems)
    domain.require_stage(po, Stage.INVOICE)  # a 409 before a call to S3 that cannot help
    if files.head(file_key) is None:
        raise RuleViolation(
            "file_not_uploaded",
            "no file was uploaded under file_key; upload it first",
            details=[{"field": "body.file_key", "message": "no such upload"}],
        )
    at = now()
    invoice_id = new_id("inv")
    pk, sk = keys.po_child(po_id, "INVOICE", invoice_id)
    item = InvoiceItem(
        pk,
        sk,
        id=invoice_id,
        po_id=po_id,
        supplier_id=po.supplier_id,
        number=number,
        amount_cents=amount_cents,
        currency=currency,
        file_key=file_key,
        created_at=at,
    )
    stages.complete_stage(
        actor,
        po_id,
        Stage.INVOICE,
        lambda p: domain.record_invoice(p, amount_cents),
        loaded=loaded,
        extra_writes=[repo.new_item(item)],
        event_data={"invoice_id": invoice_id, "number": number, "amount_cents": amount_cents, "file_key": file_key},
    )
    return invoice_view(item)


def propose_payment(actor: Principal, po_id: str, amount_cents: int) -> Proposal:
    loaded = _load_own(actor, po_id)
    po = loaded.po
    at = now()
    pid = keys.proposal_id(po_id, new_id("pp"))
    pk, sk = keys.po_child(po_id, "PROPOSAL", pid)
    item = PaymentProposalItem(
        pk,
        sk,
        GSI3PK=keys.proposals_pk(PROPOSAL_PENDING),
        GSI3SK=keys.created_sk(at, pid),
        GSI4PK=keys.ALL_PAYMENTS_PK,
        GSI4SK=keys.created_sk(at, pid),  # exports read payments by creation time
        id=pid,
        po_id=po_id,
        supplier_id=po.supplier_id,
        campaign_id=po.campaign_id,
        amount_cents=amount_cents,
        currency=po.currency,
        status=PROPOSAL_PENDING,
        created_at=at,
        updated_at=at,
    )
    stages.complete_stage(
        actor,
        po_id,
        Stage.PAYMENT_PROPOSAL,
        lambda p: domain.propose_payment(p, amount_cents),
        loaded=loaded,
        extra_writes=[repo.new_item(item)],
        event_data={"proposal_id": pid, "amount_cents": amount_cents},
    )
    return proposal_view(item)


# ---------------------------------------------------------------- product files per campaign


def campaign_prefix(supplier_id: str, campaign_id: str) -> str:
    return f"suppliers/{supplier_id}/campaigns/{campaign_id}/files/"


def _own_campaign(actor: Principal, campaign_id: str) -> str:
    sid = supplier_of(actor)
    item = repo.get(keys.campaign(campaign_id), CampaignItem)
    if item is None or sid not in (item.supplier_ids or []):
        raise NotFound(f"campaign {campaign_id} not found")
    return sid


def campaign_file_upload(actor: Principal, campaign_id: str, content_type: str, filename: str) -> files.Upload:
    sid = _own_campaign(actor, campaign_id)
    ext = _content_type(content_type)
    stem = filename.rsplit(".", 1)[0] if "." in filename else filename
    key = f"{campaign_prefix(sid, campaign_id)}{uuid.uuid4().hex[:12]}-{stem}.{ext}"
    return files.presigned_post(key, content_type)


def list_campaign_files(actor: Principal, campaign_id: str) -> list[CampaignFile]:
    sid = _own_campaign(actor, campaign_id)
    prefix = campaign_prefix(sid, campaign_id)
    return [
        CampaignFile(
            key=f.key,
            name=f.key[len(prefix) :].split("-", 1)[-1],
            size=f.size,
            last_modified=f.last_modified,
            url=files.presigned_get(f.key),
        )
        for f in files.list_files(prefix)
    ]
