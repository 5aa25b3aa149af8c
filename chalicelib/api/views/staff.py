"""What staff send and see: catalogue, orders, purchase orders, money, the exception queue, exports, metrics and the
dashboard."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AwareDatetime, Field, StringConstraints, field_validator

from ...domain.addresses import order_reference
from ...domain.campaigns import CampaignStatus, Product
from ...domain.orders import OrderStatus, PaymentMode

if TYPE_CHECKING:
    from ...domain.audit import AuditEvent
    from ...domain.exceptions import ExceptionRecord
    from ...domain.metrics import CampaignSummary, StageFigures
    from ...services.catalogue import CampaignView as CampaignRecord
    from ...services.metrics import StageReport
    from ...services.orders import OrderRecord
    from ...services.ports_close import CloseProgress
    from ...services.ports_exports import ExportRun
    from ...services.tracking import ParcelDetail

from .common import (
    AddressIn,
    AddressView,
    AuditEventView,
    CancellationRequestView,
    Cents,
    ChargeBackView,
    DeliveryView,
    Id,
    InvoiceView,
    Note,
    OrderLineView,
    OrderMoneyView,
    Page,
    PageQuery,
    PaymentProposalView,
    PaymentView,
    POShipmentView,
    Request,
    ShipmentDetailView,
    Sku,
    Version,
    View,
)

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]


class OrderSearchQuery(PageQuery):
    q: str | None = Field(
        None,
        min_length=1,
        max_length=254,
        description="an order id, a customer's e-mail or a tracking number; the other filters narrow what it finds",
    )
    status: str | None = Field(
        None,
        pattern=r"^[a-z_]+(,[a-z_]+)*$",
        max_length=400,
        description="one status, or several separated by commas (one query per status, merged newest first)",
    )
    campaign_id: Id | None = None
    supplier_id: Id | None = None
    customer_id: Id | None = None
    customer_email: Email | None = None
    created_from: AwareDatetime | None = None
    created_to: AwareDatetime | None = None

    @field_validator("status")
    @classmethod
    def _known_statuses(cls, value: str | None) -> str | None:
        if value is not None:
            unknown = sorted(set(value.split(",")) - {s.value for s in OrderStatus})
            if unknown:
                raise ValueError(f"unknown status: {', '.join(unknown)}")
        return value

    @property
    def statuses(self) -> tuple[OrderStatus, ...]:
        return tuple(OrderStatus(s) for s in dict.fromkeys(self.status.split(","))) if self.status else ()


class CampaignListQuery(PageQuery):
    status: str = Field(
        CampaignStatus.LIVE.value,
        description="a campaign status, or `any`: every status, newest first (by end, else creation)",
        json_schema_extra={"enum": ["any", *(s.value for s in CampaignStatus)]},
    )

    @field_validator("status")
    @classmethod
    def _known_status(cls, value: str) -> str:
        allowed = ["any", *(s.value for s in CampaignStatus)]
        if value not in allowed:
            raise ValueError(f"Input should be {', '.join(repr(a) for a in allowed)}")
        return value


class OrderTransitionRequest(Request):
    action: Literal["approve", "reject", "cancel"]
    internal_note: Note | None = None
    customer_note: Note | None = None
    expected_version: Version | None = Field(None, description="refuse with 409 if the order moved on")


class NoteRequest(Request):
    internal_note: Note | None = None
    customer_note: Note | None = None


class SupplierUserIn(Request):
    email: Email
    name: Name


class SupplierIn(Request):
    id: Id | None = Field(None, description="optional stable id; generated when absent")
    name: Name
    contact_emails: list[Email] = Field(min_length=1, max_length=20)
    invite: SupplierUserIn | None = Field(None, description="invite this person as the supplier's first user")
    issue_webhook_secret: bool = Field(False, strict=True, description="issue its system's inbound webhook secret now")


class ProductIn(Request):
    sku: Sku
    name: Name
    supplier_id: Id
    unit_price_cents: Cents
    unit_cost_cents: Cents

    def to_domain(self) -> Product:
        return Product(
            sku=self.sku,
            name=self.name,
            supplier_id=self.supplier_id,
            unit_price_cents=self.unit_price_cents,
            unit_cost_cents=self.unit_cost_cents,
        )


class CampaignIn(Request):
    name: Name
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "EUR"
    products: list[ProductIn] = Field(default_factory=list, max_length=90)


class ProductsIn(Request):
    products: list[ProductIn] = Field(min_length=1, max_length=90)


class GoLiveRequest(Request):
    ends_at: AwareDatetime | None = Field(None, description="default: now + campaign_default_days")
    expected_version: Version | None = None


class CancelCampaignRequest(Request):
    reason: Note
    expected_version: Version | None = None


class CustomerFlagRequest(Request):
    flagged: bool = Field(strict=True)  # true or false, as documented: not "yes" or 1
    reason: Note | None = None


class PaymentRecordRequest(Request):
    kind: Literal["offline_received", "cash_collected", "adjustment"] = Field(
        description="offline_received: an offline order's transfer or cash; cash_collected: a pay-on-delivery "
        "amount the carrier collected; adjustment: a correction by hand (signed, its reason required)"
    )
    amount_cents: Annotated[int, Field(strict=True, ge=-100_000_000, le=100_000_000)]
    reason: Note | None = Field(None, description="why (required for an adjustment): on the audit trail")
    reference: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = Field(
        None, description="the bank transfer's or receipt's reference"
    )
    expected_version: Version | None = Field(None, description="refuse with 409 if the order moved on")


class RefundLineIn(Request):
    sku: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    quantity: Annotated[int, Field(strict=True, ge=1, le=10_000)]


class StaffRefundRequest(Request):
    lines: list[RefundLineIn] | None = Field(
        None, min_length=1, max_length=50, description="lines and quantities to refund at their price"
    )
    amount_cents: Annotated[int, Field(strict=True, ge=1, le=100_000_000)] | None = Field(
        None, description="or an amount (exactly one of lines and amount_cents)"
    )
    reason: Note = Field(description="why: on the audit trail (the customer sees only the amount)")
    reference: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = Field(
        None, description="offline and pay-on-delivery orders: the reference of the transfer that paid it back"
    )
    expected_version: Version | None = Field(None, description="refuse with 409 if the order moved on")


class RefundDecisionRequest(Request):
    note: Note | None = None
    expected_version: Version | None = Field(None, description="refuse with 409 if the order moved on")


class TransferMadeRequest(Request):
    reference: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] = Field(
        description="the bank transfer's reference"
    )
    expected_version: Version | None = Field(None, description="refuse with 409 if the order moved on")


class GiveUpDeliveryRequest(Request):
    reason: Note = Field(description="what happened (internal): e.g. returned to sender, the supplier will not re-ship")
    expected_version: Version | None = Field(None, description="refuse with 409 if the order moved on")


class RefundRejectRequest(Request):
    note: Note = Field(description="why the refund is rejected (required)")
    expected_version: Version | None = Field(None, description="refuse with 409 if the order moved on")


class StaffOrderView(View):
    """An order as staff see it: the full audit trail and the actions this role may take now."""

    id: str
    reference: str
    campaign_id: str
    customer_id: str
    customer_email: str | None
    status: OrderStatus
    payment_mode: PaymentMode
    currency: str
    total_cents: int
    created_at: datetime
    updated_at: datetime
    version: int
    hold_reasons: list[str]
    lines: list[OrderLineView]
    shipping_address: AddressView | None
    deliveries: list[DeliveryView]
    payments: list[PaymentView]
    money: OrderMoneyView
    events: list[AuditEventView]
    allowed_actions: list[str]
    cancellation_requests: list[CancellationRequestView] = Field(
        default_factory=list, description="requests to cancel lines after the close, oldest first"
    )

    @classmethod
    def of(cls, record: OrderRecord, actions: list[str]) -> StaffOrderView:
        """`actions`: what the caller may do to the order now (the route asks the domain)."""
        o = record.order
        return cls(
            id=o.id,
            reference=order_reference(o.id),
            shipping_address=AddressView.of(o.shipping_address),
            campaign_id=o.campaign_id,
            customer_id=o.customer_id,
            customer_email=o.customer_email,
            status=o.status,
            payment_mode=o.payment_mode,
            currency=o.currency,
            total_cents=o.total_cents,
            created_at=o.created_at,
            updated_at=record.updated_at,
            version=record.version,
            hold_reasons=o.hold_reasons,
            lines=[OrderLineView.of(l) for l in o.lines],
            deliveries=DeliveryView.all_of(record, staff=True),
            payments=PaymentView.all_of(record, staff=True),
            money=OrderMoneyView.of(record),
            events=[AuditEventView.of(e) for e in record.events],
            allowed_actions=actions,
            cancellation_requests=CancellationRequestView.all_of(record),
        )


class OrderSummaryView(View):
    id: str
    reference: str
    campaign_id: str
    customer_id: str
    customer_email: str | None
    status: str
    total_cents: int
    currency: str
    created_at: datetime
    supplier_ids: list[str]


class OrderPage(Page):
    items: list[OrderSummaryView]


class SupplierView(View):
    id: str
    name: str
    contact_emails: list[str]
    active: bool
    created_at: datetime


class SupplierPage(Page):
    items: list[SupplierView]


# ---------------------------------------------------------------- suppliers' ways in (issue 19)


class SupplierAccessView(View):
    users: int = Field(description="users who can sign in to the front office (invited, not disabled)")
    webhook_secret: bool = Field(description="whether its system has an inbound webhook secret")
    missing: list[str] = Field(description="what the supplier still lacks to get in, and the route that gives it")


class SupplierUserView(View):
    id: str
    supplier_id: str
    email: str
    name: str
    status: Literal["invited", "disabled"]
    created_at: datetime
    updated_at: datetime


class SupplierUserList(View):
    items: list[SupplierUserView]


class WebhookSecretView(View):
    supplier_id: str
    sender: str = Field(description="the sender name its webhooks are verified as")
    secret: str = Field(description="shown once, never again: sign with it (Standard Webhooks)")
    rotated: bool
    previous_valid_until: datetime | None = Field(description="until when the replaced secret still verifies")


class SupplierDetailView(SupplierView):
    access: SupplierAccessView
    webhook_secret: WebhookSecretView | None = Field(None, description="only in the response that issued it")
    invited_user: SupplierUserView | None = Field(None, description="only in the response that invited it")


class ProductView(View):
    sku: str
    name: str
    supplier_id: str
    unit_price_cents: int
    unit_cost_cents: int


class CampaignCloseView(View):
    """Where the campaign's close stands: `running` while its chunks run (orders done of about the total:
    the total is the campaign's standing orders when it started), `waiting` for held orders, `done`."""

    state: str
    orders_done: int
    orders_total: int
    chunks_done: int
    started_at: datetime
    updated_at: datetime


class CampaignView(View):
    id: str
    name: str
    status: CampaignStatus
    currency: str
    buyer_id: str
    buyer_email: str | None
    created_at: datetime
    starts_at: datetime | None
    ends_at: datetime | None
    product_count: int
    supplier_ids: list[str]
    version: int
    products: list[ProductView] | None = None
    close: CampaignCloseView | None = None

    @classmethod
    def of(cls, v: CampaignRecord, with_products: bool = False) -> CampaignView:
        c = v.campaign
        return cls(
            id=c.id,
            name=c.name,
            status=c.status,
            currency=c.currency,
            buyer_id=c.buyer_id,
            buyer_email=v.buyer_email,
            created_at=v.created_at,
            starts_at=c.starts_at,
            ends_at=c.ends_at,
            product_count=c.product_count,
            supplier_ids=sorted(c.supplier_ids),
            version=v.version,
            products=[ProductView.pick(p) for p in v.products] if with_products else None,
            close=_close_view(v.close),
        )


def _close_view(close: CloseProgress | None) -> CampaignCloseView | None:
    if close is None:
        return None
    return CampaignCloseView(
        state=close.state,
        orders_done=close.orders_done,
        orders_total=max(close.orders_total, close.orders_done),  # the summary may lag the orders read
        chunks_done=close.chunks_done,
        started_at=close.started_at,
        updated_at=close.updated_at,
    )


class CampaignPage(Page):
    items: list[CampaignView]


class CustomerProfileView(View):
    id: str
    email: str | None
    flagged: bool
    flag_reason: str | None


class NoteView(View):
    event: AuditEventView


# ---------------------------------------------------------------- staff: purchase orders


class StaffPOListQuery(PageQuery):
    stage: str | None = Field(
        None,
        pattern=r"^[a-z_]{1,40}$",
        description="a stage (acknowledge ... shipment) or a status (open, rejected, cancelled, shipped)",
    )
    campaign_id: Id | None = None


class StaffPOSummaryView(View):
    id: str
    campaign_id: str
    supplier_id: str
    status: str
    stage: str | None
    stage_deadline: datetime | None
    ordered_cents: int
    accepted_cents: int
    currency: str
    created_at: datetime


class StaffPOPage(Page):
    items: list[StaffPOSummaryView]


class StaffPOLineView(View):
    sku: str
    name: str
    ordered_quantity: int
    unit_cost_cents: int
    accepted_quantity: int | None
    reject_reason: str | None


class StaffPOView(View):
    id: str
    campaign_id: str
    supplier_id: str
    status: str
    stage: str | None
    stage_open: bool = Field(description="a task token is stored: the stage's action is expected now")
    stage_deadline: datetime | None
    execution_arn: str | None
    reminders: dict[str, int]
    currency: str
    lines: list[StaffPOLineView]
    ordered_cents: int
    accepted_cents: int
    invoiced_cents: int
    proposed_cents: int
    paid_cents: int
    order_count: int
    created_at: datetime
    version: int
    invoices: list[StaffInvoiceView] = Field(description="the supplier's invoices, each with a download link")
    proposals: list[PaymentProposalView]
    shipments: list[POShipmentView] = Field(description="the first parcels, oldest first")
    shipments_cursor: str | None = Field(description="more parcels: GET /staff/purchase-orders/{po_id}/shipments?cursor=<this>")
    charge_backs: list[ChargeBackView] = Field(description="complaint refunds charged back to the supplier")
    charge_back_cents: int = Field(description="their sum: deducted from what the shop owes the supplier")
    events: list[AuditEventView]


class StaffPOCancelRequest(Request):
    internal_note: Note | None = None
    expected_version: Version | None = Field(None, description="the version read: 409 naming who changed it since")


class ShipmentEventView(AuditEventView):
    file_urls: list[str] = Field(description="presigned GETs of `files` (photos), valid for upload_expiry_s")


class StaffShipmentView(ShipmentDetailView):
    events: list[ShipmentEventView] = Field(
        description="the parcel's audit trail, oldest first: who recorded what by hand, with notes and photos"
    )

    @classmethod
    def of(cls, d: ParcelDetail, file_urls: Mapping[str, str]) -> StaffShipmentView:
        """`file_urls`: a download link for each file of the parcel's events (the route presigns them)."""
        return cls(
            **dict(ShipmentDetailView.of_parcel(d.shipment, d.version)),
            events=[
                ShipmentEventView(**AuditEventView.of(e).model_dump(), file_urls=[file_urls[f] for f in e.files])
                for e in d.events
            ],
        )


class ProposalListQuery(PageQuery):
    status: Literal["pending", "approved", "rejected", "pushed", "settled", "failed"] = "pending"


class ProposalDecisionRequest(Request):
    note: Note | None = Field(None, description="internal note for the audit trail")


class ProposalRejectRequest(Request):
    note: Note = Field(description="why it is rejected (required): on the audit trail, for the supplier to act on")


class StaffInvoiceView(InvoiceView):
    download_url: str = Field(description="presigned GET of the invoice's file, valid for upload_expiry_s")


class PaymentProposalPage(Page):
    items: list[PaymentProposalView]


# ---------------------------------------------------------------- exceptions (issue 6)

ExceptionKindName = Literal[
    "supplier_rejected",
    "out_of_stock",
    "po_not_acknowledged",
    "invoice_missing",
    "payment_approval_pending",
    "payment_failed",
    "stage_overdue",
    "shipment_late",
    "tracking_stale",
    "delivery_exception",
    "unknown_tracking",
    "webhook_delivery_failing",
    "inbound_webhook_failed",
    "complaint_open",
    "refund_failed",
    "payment_overdue",
    "manual_refund_due",
    "order_on_hold",
    "campaign_close_waiting",
    "cancellation_requested",
]
SeverityName = Literal["critical", "high", "medium", "low"]
QueueStatus = Literal["open", "acknowledged", "snoozed", "resolved"]


class ExceptionListQuery(PageQuery):
    kind: list[ExceptionKindName] | None = Field(None, description="one or more kinds, comma-separated")
    severity: list[SeverityName] | None = Field(None, description="one or more severities, comma-separated")
    status: list[QueueStatus] | None = Field(
        None,
        description="default: open,acknowledged (snoozed hidden); `resolved` alone lists resolved ones, newest "
        "first, one page at a time (their counts are of that page)",
    )
    supplier_id: Id | None = None
    campaign_id: Id | None = None
    assignee: Annotated[str, StringConstraints(pattern=r"^(none|[^@\s]+@[^@\s]+\.[^@\s]+)$", max_length=254)] | None = Field(
        None, description="an assignee's address, or `none` for the unassigned"
    )
    team: Literal["buyer", "accounting", "logistics", "customer_care", "admin"] | None = Field(
        None, description="the team that owns the kinds (each kind has one): its exceptions only, counts included"
    )

    @field_validator("kind", "severity", "status", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        return [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value


class ExceptionView(View):
    id: str
    kind: str
    title: str
    severity: str
    status: str
    owner: str = Field(description="the team that handles this kind: buyer, accounting, logistics, customer_care or admin")
    subject_type: str
    subject_id: str
    supplier_id: str | None
    campaign_id: str | None
    count: int = Field(description="how many times it was seen while open")
    opened_at: datetime
    last_seen: datetime
    level: int = Field(description="escalation level reached: 1 assignee, 2 buyer, 3 admins")
    assignee: str | None
    acknowledged_by: str | None
    snoozed_until: datetime | None
    due_at: datetime | None = Field(
        description="when time next changes it: it opens (pending), wakes (snoozed) or "
        "escalates a level (open, acknowledged); none once resolved"
    )
    resolved_at: datetime | None
    resolution: str | None
    details: dict[str, object]
    allowed_actions: list[str]
    version: int

    @classmethod
    def of(cls, r: ExceptionRecord, *, due_at: datetime | None, actions: list[str]) -> ExceptionView:
        """`due_at` and `actions` come from the domain's rules (the route asks); every other field is the record's
        own by the same name (tests/unit/test_views.py holds the two lists together)."""
        same = {k: getattr(r, k) for k in ExceptionView.model_fields if k not in EXCEPTION_VIEW_OWN}
        return ExceptionView(
            **same,
            severity=r.severity.value,
            status=r.status.value,
            owner=r.owner.value,
            due_at=due_at,
            allowed_actions=actions,
            version=r.version or 0,
        )


# The fields ExceptionView fills itself; the rest it copies from the ExceptionRecord.
EXCEPTION_VIEW_OWN = frozenset({"severity", "status", "owner", "due_at", "allowed_actions", "version"})


class ExceptionCounts(View):
    total: int = Field(description="exceptions matching every filter")
    by_kind: dict[str, int] = Field(description="per kind, over every filter but kind")
    by_severity: dict[str, int] = Field(description="per severity, over every filter but severity")


class ExceptionPage(Page):
    items: list[ExceptionView]
    counts: ExceptionCounts
    truncated: bool = Field(
        False,
        description="the read stopped at its cap (500 records): the page may hold fewer than `limit` (follow "
        "`next_cursor`), and with an assignee, supplier or campaign filter (which the counters do not keep) "
        "the counts are of the records read only",
    )


class ExceptionEventView(AuditEventView):
    facts: dict[str, object] = Field(
        description="what this step changed: count (seen again), level (escalated), assignee and "
        "previous_assignee (assigned), until (snoozed), automatic (resolved by the system)"
    )

    @classmethod
    def of_event(cls, e: AuditEvent) -> ExceptionEventView:
        data = e.data or {}
        # Only what this step changed: the rest of an event's data repeats the record.
        wanted = {
            "exception.repeated": ("count",),
            "exception.escalated": ("level",),
            "exception.assigned": ("assignee", "previous_assignee"),
            "exception.snoozed": ("until",),
            "exception.resolved": ("automatic",),
            "exception.cleared": ("automatic",),
        }.get(e.type, ())
        return cls(**dict(AuditEventView.of(e)), facts={k: data[k] for k in wanted if k in data})


class ExceptionDetailView(ExceptionView):
    events: list[ExceptionEventView]


class ExceptionAcknowledgeRequest(Request):
    note: Note | None = None
    expected_version: Version | None = None


class ExceptionAssignRequest(Request):
    assignee: Email | None = Field(description="the staff member's address; null to unassign")
    note: Note | None = None
    expected_version: Version | None = None


class ExceptionSnoozeRequest(Request):
    until: AwareDatetime = Field(description="back in the queue at this time (at most 30 days ahead)")
    note: Note | None = None
    expected_version: Version | None = None


ExceptionId = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class ExceptionBulkRequest(Request):
    action: Literal["acknowledge", "assign", "snooze"]
    ids: list[ExceptionId] = Field(min_length=1, max_length=50, description="at most 50; a repeated id is acted on once")
    expected_versions: dict[ExceptionId, Version] | None = Field(
        None, description="per id, the version shown; an id changed since answers `conflict`"
    )
    assignee: Email | None = Field(None, description="assign: the staff member's address; null to unassign")
    until: AwareDatetime | None = Field(None, description="snooze (required): back in the queue at this time")
    note: Note | None = None


class ExceptionBulkResult(View):
    id: str
    outcome: Literal["ok", "conflict", "not_found", "refused"]
    version: int | None = Field(description="ok: the version written")
    code: str | None = Field(description="refused: the rule's code (e.g. an exception already acknowledged)")
    message: str | None


class ExceptionBulkResponse(View):
    results: list[ExceptionBulkResult] = Field(description="one per distinct id, in the order given")
    ok: int = Field(description="how many were changed")


class ExceptionResolveRequest(Request):
    note: Note = Field(description="what was done: kept on the exception and on its subject's history")
    expected_version: Version | None = None


# ---------------------------------------------------------------- exports (issue 7)


class ExportRequest(Request):
    kind: Literal["orders", "purchase_orders", "payments", "shipments"]
    format: Literal["csv", "xlsx"] = "csv"
    exporter: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,40}$")] | None = Field(
        None,
        description="an audited exporter (e.g. orders_paid, orders_delivered): each record once per exporter, "
        "a chained exporter only after the one before it; none: a plain export of the window",
    )
    state: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,40}$")] | None = Field(
        None, description="only records in this state"
    )
    created_from: AwareDatetime | None = None
    created_to: AwareDatetime | None = Field(None, description="default (and at most): when the run is requested")


ExportStatus = Literal["queued", "running", "done", "failed"]
_EXPORT_STATUS: dict[str, ExportStatus] = {s: s for s in ("queued", "running", "done", "failed")}


class ExportRunView(View):
    id: str
    kind: str
    format: str
    exporter: str | None
    state: str | None
    created_from: datetime | None
    window_end: datetime = Field(description="records created after this wait for the next run")
    status: ExportStatus
    requested_by: str
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    rows: int = Field(description="rows written (as of the last checkpoint while running)")
    counts: dict[str, int] = Field(
        description="records read by outcome: export, again (resumed), done (already "
        "exported by this exporter), state, waiting (chain)"
    )
    attempts: int
    error: str | None
    size_bytes: int | None
    download_url: str | None = Field(None, description="presigned, when done")
    download_expires_at: datetime | None = None

    @classmethod
    def of(cls, item: ExportRun, download_url: str | None = None, download_expires_at: datetime | None = None) -> ExportRunView:
        return cls(
            id=item.id,
            kind=item.kind,
            format=item.format,
            exporter=item.exporter,
            state=item.state,
            created_from=item.created_from,
            window_end=item.window_end,
            status=_EXPORT_STATUS[item.status],
            requested_by=item.requested_by,
            requested_at=item.requested_at,
            started_at=item.started_at,
            finished_at=item.finished_at,
            rows=item.rows,
            counts=dict(item.counts),
            attempts=item.attempts,
            error=item.error,
            size_bytes=item.size_bytes,
            download_url=download_url,
            download_expires_at=download_expires_at,
        )


class ExportRunPage(Page):
    items: list[ExportRunView]


class ExportRunDetailView(ExportRunView):
    events: list[AuditEventView]


# ---------------------------------------------------------------- metrics (issue 7)


class StageMetricsView(View):
    stage: str
    completed: int = Field(description="stages completed (cancelled ones do not count)")
    total_seconds: int
    avg_seconds: float | None = Field(description="average time in the stage, from first opening to completion")
    on_time_rate: float | None = Field(description="completed by the deadline first given / completed")
    late: int
    late_share: float | None
    late_seconds: int = Field(description="total time past the deadline, over the late ones")
    avg_lateness_seconds: float | None = Field(description="how late the late ones were, on average")

    @classmethod
    def of(cls, f: StageFigures) -> StageMetricsView:
        return cls(
            stage=f.stage.value,
            completed=f.completed,
            total_seconds=f.seconds,
            avg_seconds=f.avg_seconds,
            on_time_rate=f.on_time_rate,
            late=f.late,
            late_share=f.late_share,
            late_seconds=f.late_seconds,
            avg_lateness_seconds=f.avg_lateness_seconds,
        )


class StageMetricsReport(View):
    stages: list[StageMetricsView] = Field(description="every stage, in workflow order")
    delays: list[StageMetricsView] = Field(
        description="where delays happen: stages that finished late, most total lateness first"
    )

    @classmethod
    def of(cls, report: StageReport) -> StageMetricsReport:
        return cls(stages=[StageMetricsView.of(f) for f in report.stages], delays=[StageMetricsView.of(f) for f in report.delays])


class SupplierMetricsView(StageMetricsReport):
    supplier_id: str


class CampaignSummaryView(View):
    orders: int = Field(description="orders that stand: placed, less cancelled or refused")
    orders_placed: int
    orders_cancelled: int
    ordered_cents: int = Field(description="what the standing orders were placed for (not money received)")
    received_cents: int = Field(
        description="money received from customers: paid in advance, captured, received offline, collected on delivery"
    )
    refunded_cents: int = Field(description="money paid back to customers (refunds that succeeded)")
    revenue_cents: int = Field(description="money that moved: received less refunded")
    purchase_orders_created: int
    purchase_orders: int = Field(description="purchase orders acknowledged")
    cost_cents: int = Field(description="accepted cost of the acknowledged purchase orders")
    margin_cents: int
    margin_per_order_cents: int | None
    margin_provisional: bool = Field(
        description="true while a purchase order is not yet acknowledged: its cost is unknown and the margin will move"
    )

    @classmethod
    def of(cls, c: CampaignSummary) -> CampaignSummaryView:
        return cls.pick(c)


class CampaignMetricsView(StageMetricsReport):
    campaign_id: str
    summary: CampaignSummaryView


class SupplierOnTimeView(View):
    id: str
    name: str
    completed: int = Field(description="stages completed over all purchase orders")
    late: int
    on_time_rate: float | None


class DashboardView(View):
    orders_by_status: dict[str, int] = Field(description="every order status, from counters kept as orders change")
    open_exceptions: ExceptionCounts = Field(description="the queue: open, acknowledged and snoozed")
    suppliers: list[SupplierOnTimeView] = Field(description="on-time rate over all stages, per supplier")


# ---------------------------------------------------------------- the staff home (services/home.py)


class HomeItemView(View):
    kind: Literal["exception", "purchase_order", "campaign", "order", "complaint", "payment_proposal"]
    id: str
    title: str
    priority: str = Field(description="the exception's severity, or the assignment's priority")
    since: datetime
    due_at: datetime | None = Field(description="an exception's next step by time, a PO's deadline, a campaign's end")
    subject_type: str | None
    subject_id: str | None
    reason: str | None = Field(description="an exception's `details.reason`")
    assignee: str | None
    version: int | None = Field(description="an exception's version (for its actions)")


class HomeSectionView(View):
    key: str
    title: str
    count: int = Field(description="exceptions: from the queue's counters (exact); subjects: those read")
    items: list[HomeItemView] = Field(description="the top of the section, ranked as the queue is")
    kinds: list[str] = Field(description="the exception kinds the section lists (the queue's filter for all of them)")
    more: bool = Field(description="more than the items shown")


class StaffCountsView(View):
    menu: dict[str, int] = Field(
        description="per menu entry, by its screen's path: exceptions, orders, campaigns, purchase-orders, complaints, payments"
    )
    sections: dict[str, int] = Field(description="per home section, from the exceptions queue's counters")
    etag: str = Field(description="the tag of these counts (also the ETag header): send it as If-None-Match")


class HomeView(View):
    roles: list[str]
    sections: list[HomeSectionView]
    counts: StaffCountsView


class TrendPointView(View):
    period: str = Field(description="the day, or the Monday of the week (ISO date, UTC)")
    counts: dict[str, int]


class TrendSeriesView(View):
    name: Literal["orders", "exceptions", "stages"]
    period: Literal["day", "week"]
    points: list[TrendPointView]


class TrendsView(View):
    series: list[TrendSeriesView] = Field(
        description="orders placed per day; exceptions opened and resolved per day; PO stages completed and late per week"
    )


class AddressCorrectionIn(Request):
    shipping_address: AddressIn = Field(description="where the order ships from now on (checked as at placement)")
    note: Note | None = Field(None, description="internal: why (staff only)")
    expected_version: Version | None = Field(None, description="the order's version: refuse with 409 if it moved on")
