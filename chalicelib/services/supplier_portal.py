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
from ..domain import purchase_orders as domain
from ..domain.errors import Forbidden, NotFound, RuleViolation
from ..domain.permissions import Principal, Role, roles
from ..domain.purchase_orders import LineAcceptance, POStatus, PurchaseOrder, Stage
from ..domain.shipments import tracking_url
from . import exceptions, stages, uow
from .clock import new_id, now
from .guard import require
from .ports import CampaignRecord, Save
from .ports_purchase_orders import (
    ChargeBack,
    InvoiceRecord,
    PaymentProposal,
    PORecord,
    POShipment,
    proposal_id,
)

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
    charge_backs: list[ChargeBack] = field(default_factory=list)  # complaint refunds the supplier bears
    shipments_cursor: str | None = None  # more parcels: `parcels`


PARCELS_SHOWN = 20  # parcels a PO's detail carries; the rest a page at a time (`parcels`)


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


def payment_status(po: PurchaseOrder) -> str:
    """Where the money is: none, invoiced, proposed, approved (with the bank), paid."""
    invoiced, proposed, paid = po.invoiced_cents, po.proposed_cents, po.paid_cents
    if paid and paid >= invoiced:
        return "paid"
    if po.stage in (Stage.BANK_PAYMENT, Stage.SETTLEMENT):
        return "approved"
    if proposed:
        return "proposed"
    if invoiced:
        return "invoiced"
    return "none"


def shipment_status(po: PurchaseOrder) -> str:
    if po.status is POStatus.SHIPPED:
        return "shipped"
    if po.status in (POStatus.REJECTED, POStatus.CANCELLED):
        return "not_applicable"
    return "awaiting_shipment" if po.stage is Stage.SHIPMENT else "pending"


def po_summary(record: PORecord) -> POSummary:
    po = record.po
    return POSummary(
        id=po.id,
        campaign_id=po.campaign_id,
        supplier_id=po.supplier_id,
        status=po.status.value,
        stage=po.stage.value if po.stage else None,
        stage_deadline=record.stage_deadline,
        currency=po.currency,
        order_count=po.order_count,
        ordered_cents=po.ordered_cents,
        accepted_cents=po.accepted_cents,
        invoiced_cents=po.invoiced_cents,
        proposed_cents=po.proposed_cents,
        paid_cents=po.paid_cents,
        payment_status=payment_status(po),
        shipment_status=shipment_status(po),
        created_at=po.created_at,
        updated_at=record.updated_at or po.created_at,
    )


def proposal_view(p: PaymentProposal) -> Proposal:
    return Proposal(
        id=p.id,
        po_id=p.po_id,
        supplier_id=p.supplier_id,
        campaign_id=p.campaign_id,
        amount_cents=p.amount_cents,
        currency=p.currency,
        status=p.status,
        note=p.note,
        created_at=p.created_at,
        updated_at=p.updated_at,
    )


def invoice_view(i: InvoiceRecord) -> Invoice:
    return Invoice(
        id=i.id,
        number=i.number,
        amount_cents=i.amount_cents,
        currency=i.currency,
        file_key=i.file_key,
        created_at=i.created_at,
    )


def shipment_view(s: POShipment) -> Shipment:
    return Shipment(
        id=s.id,
        carrier=s.carrier,
        tracking_number=s.tracking_number,
        tracking_url=tracking_url(s.carrier, s.tracking_number),
        status=s.status,
        order_ids=list(s.order_ids),
        created_at=s.created_at,
    )


# ---------------------------------------------------------------- reads


def list_campaigns(actor: Principal, *, limit: int = 100) -> list[SupplierCampaign]:
    """The campaigns the supplier has POs in: one query on its POs, one batch read of the campaigns."""
    sid = supplier_of(actor)
    store = uow.store()
    pos = [r.value.po for r in store.supplier_pos(sid, limit=limit).items]
    campaigns = store.campaigns_by_id({p.campaign_id for p in pos})
    result = []
    for p in pos:
        c = campaigns.get(p.campaign_id)
        result.append(
            SupplierCampaign(
                campaign_id=p.campaign_id,
                name=c.name if c else None,
                campaign_status=c.status.value if c else None,
                po_id=p.id,
                po_status=p.status.value,
                stage=p.stage.value if p.stage else None,
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
    page = uow.store().supplier_pos(sid, status=status or None, stage=stage or None, limit=limit, cursor=cursor)
    return [po_summary(r.value) for r in page.items], page.cursor


def get_purchase_order(actor: Principal, po_id: str) -> PODetail:
    """The PO with its invoices, proposals and its first `PARCELS_SHOWN` shipments: the partition read
    around its events (two queries) and one page of parcels (`shipments_cursor` names the next)."""
    sid = supplier_of(actor)
    found = uow.store().po_file(po_id, parcels=PARCELS_SHOWN, events=False)  # the supplier's view shows none
    if found is None or found.record.po.supplier_id != sid:
        raise NotFound(f"purchase order {po_id} not found")
    return PODetail(
        summary=po_summary(found.record),
        lines=found.record.po.lines,
        invoices=[invoice_view(i) for i in found.invoices],
        proposals=[proposal_view(p) for p in found.proposals],
        shipments=[shipment_view(x) for x in found.shipments],
        charge_backs=found.charge_backs,
        shipments_cursor=found.shipments_cursor,
    )


def parcels(actor: Principal, po_id: str, *, limit: int, cursor: str | None) -> tuple[list[Shipment], str | None]:
    """A page of the PO's parcels, oldest first: one Query. Each parcel names its supplier, so another
    supplier's PO answers the same 404 as none (a PO with no parcel answers an empty page)."""
    sid = supplier_of(actor)
    page = uow.store().po_parcels(po_id, limit=limit, cursor=cursor)
    if any(p.supplier_id != sid for p in page.items):
        raise NotFound(f"purchase order {po_id} not found")
    return [shipment_view(p) for p in page.items], page.cursor


def _load_own(actor: Principal, po_id: str) -> stages.LoadedPO:
    return stages.load_po(po_id, for_supplier=supplier_of(actor))


def _after(loaded: stages.LoadedPO, po: PurchaseOrder) -> POSummary:
    """The PO as committed (the stage's token and deadline are gone)."""
    return po_summary(PORecord(po, None, None, loaded.execution_arn, now()))


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
    invoice = InvoiceRecord(invoice_id, po_id, po.supplier_id, number, amount_cents, currency, file_key, at)
    stages.complete_stage(
        actor,
        po_id,
        Stage.INVOICE,
        lambda p: domain.record_invoice(p, amount_cents),
        loaded=loaded,
        extra=[Save(invoice, None)],
        event_data={"invoice_id": invoice_id, "number": number, "amount_cents": amount_cents, "file_key": file_key},
    )
    return invoice_view(invoice)


def propose_payment(actor: Principal, po_id: str, amount_cents: int) -> Proposal:
    loaded = _load_own(actor, po_id)
    po = loaded.po
    at = now()
    pid = proposal_id(po_id, new_id("pp"))
    proposal = PaymentProposal(
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
        extra=[Save(proposal, None)],
        event_data={"proposal_id": pid, "amount_cents": amount_cents},
    )
    return proposal_view(proposal)


# ---------------------------------------------------------------- product files per campaign


def campaign_prefix(supplier_id: str, campaign_id: str) -> str:
    return f"suppliers/{supplier_id}/campaigns/{campaign_id}/files/"


def _own_campaign(actor: Principal, campaign_id: str) -> str:
    sid = supplier_of(actor)
    found = uow.store().load(CampaignRecord, campaign_id)
    if found is None or sid not in found.value.campaign.supplier_ids:
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
