"""Complaints, seen by the customer who opened one, the supplier it concerns and staff: what each may send, and the
views the route fills in for its caller (the route decides what each caller sees)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints, field_validator

from .common import (
    ActorView,
    AuditEventView,
    Carrier,
    Cents,
    FileName,
    Id,
    Note,
    PageQuery,
    PresignedUploadView,
    Request,
    Sku,
    TrackingNumber,
    Version,
    View,
)

if TYPE_CHECKING:
    from ...services.complaints import ComplaintRecord
    from ...services.ports_common import Versioned
    from ...services.ports_complaints import StoredComplaint

# ---------------------------------------------------------------- complaints (issue 9)

ComplaintReasonIn = Literal["damaged", "wrong_item", "missing_item", "not_as_described", "lost_in_transit"]
ResolutionIn = Literal["refund", "replacement", "return_for_refund"]
PhotoKey = Annotated[str, StringConstraints(min_length=1, max_length=512)]
PhotoType = Annotated[str, StringConstraints(pattern=r"^image/[a-z0-9.+-]{1,40}$")]


class ComplaintPhotoUploadRequest(Request):
    content_type: PhotoType = Field(description="one of the complaint_photo_types setting")
    size_bytes: int = Field(strict=True, ge=1, le=1_000_000_000, description="checked against the photo limit")
    file_name: FileName | None = None


class ComplaintLineIn(Request):
    sku: Sku
    quantity: int = Field(strict=True, ge=1, le=10_000)


class ComplaintPhotoIn(Request):
    key: PhotoKey = Field(description="the key of a photo uploaded through POST .../complaint-photos")
    content_type: PhotoType
    size_bytes: int = Field(strict=True, ge=1, le=1_000_000_000)


class OpenComplaintRequest(Request):
    supplier_id: Id = Field(description="the delivery complained about: the order's delivery from this supplier")
    reason: ComplaintReasonIn
    wanted_resolution: ResolutionIn
    lines: list[ComplaintLineIn] = Field(min_length=1, max_length=50)
    photos: list[ComplaintPhotoIn] = Field(default_factory=list, max_length=20)
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)] = ""


class ComplaintVersionRequest(Request):
    expected_version: Version | None = Field(None, description="refuse with 409 if the complaint moved on")


class ComplaintDisputeRequest(ComplaintVersionRequest):
    reason: Note = Field(description="why the plan is not acceptable (customer care reads it)")


class ComplaintAskRequest(ComplaintVersionRequest):
    question: Note = Field(description="what the supplier is asked (it sees this)")
    internal_note: Note | None = None


class ComplaintAnswerRequest(ComplaintVersionRequest):
    answer: Note


class PlanLineIn(Request):
    sku: Sku
    resolution: ResolutionIn
    quantity: int = Field(strict=True, ge=1, le=10_000)
    refund_cents: Cents = Field(0, description="0 for a replacement; 1 to what the quantity was paid otherwise")


class ComplaintPlanRequest(ComplaintVersionRequest):
    lines: list[PlanLineIn] = Field(min_length=1, max_length=50)
    internal_note: Note | None = None


class ComplaintSubmitRequest(ComplaintVersionRequest):
    customer_note: Note | None = Field(None, description="shown to the customer with the plan (default: the plan in words)")


class ComplaintApproveRequest(ComplaintVersionRequest):
    internal_note: Note | None = None


class ComplaintRejectRequest(ComplaintVersionRequest):
    note: Note = Field(description="why the plan goes back to customer care")


class ComplaintResolveRequest(ComplaintVersionRequest):
    customer_note: Note | None = None
    internal_note: Note | None = None


class ComplaintNoteRequest(Request):
    internal_note: Note | None = None
    customer_note: Note | None = None


class ParcelIn(Request):
    carrier: Carrier
    tracking_number: TrackingNumber


class ComplaintListQuery(PageQuery):
    status: str | None = Field(
        None,
        pattern=r"^[a-z_]+(,[a-z_]+)*$",
        max_length=400,
        description="one status, or several separated by commas (first page of each)",
    )
    supplier_id: Id | None = None
    order_id: Id | None = Field(None, description="one order's complaints")

    @field_validator("status")
    @classmethod
    def _known(cls, value: str | None) -> str | None:
        from ...domain.complaints import ComplaintStatus

        if value is not None:
            unknown = sorted(set(value.split(",")) - {s.value for s in ComplaintStatus})
            if unknown:
                raise ValueError(f"unknown status {', '.join(unknown)}; one of {', '.join(s.value for s in ComplaintStatus)}")
        return value


class PhotoUploadView(PresignedUploadView):
    pass


class ClaimedLineView(View):
    sku: str
    name: str
    quantity: int
    unit_price_cents: int
    paid_cents: int


class PhotoView(View):
    key: str
    content_type: str
    size_bytes: int
    url: str = Field(description="presigned GET, valid for upload_expiry_s")


class PlanLineView(View):
    sku: str
    resolution: str
    quantity: int
    refund_cents: int
    paid_cents: int
    charge_back_cents: int | None = Field(description="the supplier's share (staff and supplier only)")


class PlanView(View):
    lines: list[PlanLineView]
    refund_cents: int
    charge_back_cents: int | None
    supplier_bears: bool | None
    needs_approval: bool
    proposed_by: str | None
    proposed_at: datetime | None
    approved_by: str | None
    approved_at: datetime | None


class RefundView(View):
    id: str
    sku: str | None
    amount_cents: int
    currency: str
    status: str
    gateway_reference: str | None
    created_at: datetime


class ReturnLineView(View):
    sku: str
    quantity: int
    refund_cents: int


class ParcelRefView(View):
    carrier: str
    tracking_number: str
    status: str
    status_at: datetime | None


class ReturnView(View):
    id: str
    status: str
    lines: list[ReturnLineView]
    instructions: str
    parcel: ParcelRefView | None
    carrier: str | None
    tracking_number: str | None
    authorised_at: datetime
    received_at: datetime | None
    version: int


class ReplacementView(View):
    lines: list[dict[str, object]]
    status: str = Field(description="requested, dispatched or delivered")
    carrier: str | None
    tracking_number: str | None


class MoneyView(View):
    captured_cents: int
    refunded_cents: int
    refundable_cents: int


@dataclass(frozen=True)
class ComplaintSight:
    """What one reader may see of a complaint: the route decides (api/complaints.py), the views follow."""

    staff: bool  # customer details, internal notes and identities, gateway references, the order's money
    customer: bool  # no charge-backs, supplier questions or answers; neither staff nor customer: the supplier
    plan: bool  # the plan at all (a customer sees it once it is offered)

    @property
    def supplier(self) -> bool:
        return not self.staff and not self.customer


class ComplaintSummaryView(View):
    id: str
    order_id: str
    supplier_id: str
    campaign_id: str
    po_id: str | None
    customer_email: str | None
    reason: str
    wanted_resolution: str
    status: str
    opened_at: datetime
    updated_at: datetime
    refund_cents: int
    currency: str
    needs_approval: bool
    version: int

    @classmethod
    def of(cls, stored: Versioned[StoredComplaint], sight: ComplaintSight, *, threshold_cents: int) -> ComplaintSummaryView:
        kept, complaint = stored.value, stored.value.complaint
        draft = not sight.plan
        refund = complaint.plan.refund_cents if complaint.plan and not draft else 0
        return cls(
            id=complaint.id,
            order_id=complaint.order_id,
            supplier_id=complaint.supplier_id,
            campaign_id=kept.campaign_id,
            po_id=kept.po_id,
            customer_email=kept.customer_email if sight.staff else None,
            reason=complaint.reason.value,
            wanted_resolution=complaint.wanted.value,
            status=complaint.status.value,
            opened_at=complaint.opened_at,
            updated_at=kept.updated_at,
            refund_cents=refund,
            currency=kept.currency,
            needs_approval=complaint.plan is not None and not draft and refund > threshold_cents,
            version=stored.version,
        )


class ComplaintPage(View):
    items: list[ComplaintSummaryView]
    next_cursor: str | None


class ComplaintListView(View):
    items: list[ComplaintSummaryView]


class ComplaintView(ComplaintSummaryView):
    """A complaint as its reader may see it: the customer gets no internal notes, staff identities,
    charge-backs or supplier answers; the supplier no customer details."""

    customer_id: str | None
    description: str
    lines: list[ClaimedLineView]
    photos: list[PhotoView]
    supplier_question: str | None
    supplier_answer: str | None
    supplier_answered_at: datetime | None
    plan: PlanView | None
    refunds: list[RefundView]
    # "return" in JSON both ways; built in Python as return_ (validation_alias, unlike alias, keeps that name).
    return_: ReturnView | None = Field(validation_alias="return", serialization_alias="return")
    replacement: ReplacementView | None
    money: MoneyView | None
    approval_threshold_cents: int | None
    allowed_actions: list[str]
    events: list[AuditEventView]

    model_config = ConfigDict(extra="forbid", defer_build=True, populate_by_name=True)

    @classmethod
    def of_record(
        cls,
        record: ComplaintRecord,
        sight: ComplaintSight,
        *,
        threshold_cents: int,
        actions: list[str],
        photo_urls: Mapping[str, str],
    ) -> ComplaintView:
        """`actions`: what the reader may do now; `photo_urls`: a download link per photo key (the route's)."""
        kept, complaint = record.stored.value, record.complaint
        staff, supplier, customer = sight.staff, sight.supplier, sight.customer
        summary = ComplaintSummaryView.of(record.stored, sight, threshold_cents=threshold_cents)
        plan = None
        if complaint.plan is not None and sight.plan:
            lines = [
                PlanLineView(
                    sku=l.sku,
                    resolution=l.resolution.value,
                    quantity=l.quantity,
                    refund_cents=l.refund_cents,
                    paid_cents=l.paid_cents,
                    charge_back_cents=None if customer else l.charge_back_cents,
                )
                for l in complaint.plan.lines
            ]
            plan = PlanView(
                lines=lines,
                refund_cents=summary.refund_cents,
                charge_back_cents=None if customer else sum(l.charge_back_cents for l in complaint.plan.lines),
                supplier_bears=None if customer else complaint.plan.supplier_bears,
                needs_approval=summary.needs_approval,
                proposed_by=complaint.plan.proposed_by if staff else None,
                proposed_at=complaint.plan.proposed_at if staff else None,
                approved_by=kept.plan_approved_by if staff else None,
                approved_at=kept.plan_approved_at if staff else None,
            )
        return_view = None
        if record.rma is not None:
            kept_rma, rma = record.rma.value, record.rma.value.rma
            parcel = ParcelRefView.pick(kept_rma.parcel) if kept_rma.parcel is not None else None
            return_view = ReturnView(
                id=rma.id,
                status=rma.status.value,
                instructions=kept_rma.instructions,
                parcel=parcel,
                carrier=parcel.carrier if parcel else None,
                tracking_number=parcel.tracking_number if parcel else None,
                lines=[ReturnLineView(sku=l.sku, quantity=l.quantity, refund_cents=l.refund_cents) for l in rma.lines],
                authorised_at=rma.authorised_at,
                received_at=rma.received_at,
                version=record.rma.version,
            )
        replacement = None
        if kept.replacement_lines:
            shipped = kept.replacement
            replacement = ReplacementView(
                lines=[{"sku": l.sku, "quantity": l.quantity} for l in kept.replacement_lines],
                status=shipped.status if shipped else "requested",
                carrier=shipped.carrier if shipped else None,
                tracking_number=shipped.tracking_number if shipped else None,
            )
        events = [AuditEventView.of(e) for e in record.events]
        if not staff:
            events = [
                e.model_copy(update={"internal_note": None, "actor": ActorView(sub="", role=e.actor.role)})
                for e in events
                if e.customer_note or supplier
            ]
        money = record.money
        return cls(
            **dict(summary),
            customer_id=complaint.customer_id if staff else None,
            description=complaint.description or "",
            lines=[
                ClaimedLineView(
                    sku=l.sku,
                    name=kept.line_names.get(l.sku, l.sku),
                    quantity=l.quantity,
                    unit_price_cents=l.unit_price_cents,
                    paid_cents=l.quantity * l.unit_price_cents,
                )
                for l in complaint.lines
            ],
            photos=[
                PhotoView(key=p.key, content_type=p.content_type, size_bytes=p.size_bytes, url=photo_urls[p.key])
                for p in complaint.photos
            ],
            supplier_question=kept.supplier_question if not customer else None,
            supplier_answer=kept.supplier_answer if not customer else None,
            supplier_answered_at=kept.supplier_answered_at if not customer else None,
            plan=plan,
            refunds=[
                RefundView(
                    id=r.value.id,
                    sku=r.value.sku,
                    amount_cents=r.value.amount_cents,
                    currency=r.value.currency,
                    status=r.value.status,
                    gateway_reference=r.value.gateway_reference if staff else None,
                    created_at=r.value.created_at,
                )
                for r in record.refunds
            ]
            if not supplier
            else [],
            return_=return_view,
            replacement=replacement,
            money=MoneyView(
                captured_cents=money.captured_cents, refunded_cents=money.refunded_cents, refundable_cents=money.refundable_cents
            )
            if staff and money is not None
            else None,
            approval_threshold_cents=threshold_cents if staff else None,
            allowed_actions=actions,
            events=events,
        )


class SupplierChargeBackView(View):
    supplier_id: str
    po_id: str
    amount_cents: int
    currency: str
    count: int


class CampaignChargeBacksView(View):
    campaign_id: str
    suppliers: list[SupplierChargeBackView]
