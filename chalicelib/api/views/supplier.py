"""What a supplier sends and sees: its purchase orders, acknowledgements, invoices, payment proposals, shipments and
campaign files."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, StringConstraints

if TYPE_CHECKING:
    from ...services.supplier_portal import PODetail, POSummary

from .common import (
    CancellationRequestView,
    Carrier,
    ChargeBackView,
    FileName,
    Id,
    InvoiceView,
    Page,
    PageQuery,
    PaymentProposalView,
    POShipmentView,
    Request,
    Sku,
    TrackingNumber,
    View,
)

# ---------------------------------------------------------------- supplier API and payments (issue 4)

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
PositiveCents = Annotated[int, Field(strict=True, ge=1, le=100_000_000)]
UploadContentType = Literal["application/pdf", "image/png", "image/jpeg"]


class SupplierPOListQuery(PageQuery):
    status: Literal["open", "rejected", "cancelled", "shipped"] | None = None
    stage: (
        Literal["acknowledge", "invoice", "payment_proposal", "payment_approval", "bank_payment", "settlement", "shipment"] | None
    ) = None


class LineAcknowledgementIn(Request):
    sku: Sku
    accepted_quantity: int = Field(strict=True, ge=0, le=1_000_000)
    reason: Literal["out_of_stock", "discontinued", "price_changed", "other"] | None = Field(
        None, description="why the rest of the line is not accepted (required when short)"
    )


class AcknowledgeRequest(Request):
    lines: list[LineAcknowledgementIn] = Field(min_length=1, max_length=200)


class UploadRequest(Request):
    content_type: UploadContentType


class CampaignFileUploadRequest(Request):
    content_type: UploadContentType
    filename: FileName


class InvoiceIn(Request):
    number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    amount_cents: PositiveCents
    currency: Currency
    file_key: Annotated[str, StringConstraints(min_length=1, max_length=512)]


class PaymentProposalIn(Request):
    amount_cents: PositiveCents


class ShipmentIn(Request):
    carrier: Carrier
    tracking_number: TrackingNumber
    order_ids: list[Id] = Field(
        min_length=1,
        max_length=20,
        description="the orders in this parcel (1 to 20): the order_id of each packing-list entry (GET .../orders)",
    )


class ShipmentCorrectionIn(Request):
    carrier: Carrier
    tracking_number: TrackingNumber


class SupplierPOSummaryView(View):
    id: str
    campaign_id: str
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

    @classmethod
    def of(cls, s: POSummary) -> SupplierPOSummaryView:
        """The service's summary less `supplier_id` (the supplier's own; tests/unit/test_views.py holds the lists)."""
        return SupplierPOSummaryView.pick(s)


class SupplierPOPage(Page):
    items: list[SupplierPOSummaryView]


class SupplierPOLineView(View):
    sku: str
    name: str
    ordered_quantity: int
    unit_cost_cents: int
    accepted_quantity: int | None
    reject_reason: str | None


class SupplierPODetailView(SupplierPOSummaryView):
    lines: list[SupplierPOLineView]
    invoices: list[InvoiceView]
    proposals: list[PaymentProposalView]
    shipments: list[POShipmentView] = Field(description="the first parcels, oldest first")
    shipments_cursor: str | None = Field(
        description="more parcels: GET /supplier/purchase-orders/{po_id}/shipments?cursor=<this>"
    )
    charge_backs: list[ChargeBackView] = Field(description="complaint refunds charged back to you")
    charge_back_cents: int

    @classmethod
    def detail(cls, d: PODetail) -> SupplierPODetailView:
        return cls(
            **dict(SupplierPOSummaryView.of(d.summary)),
            lines=[
                SupplierPOLineView(
                    sku=l.sku,
                    name=l.name,
                    ordered_quantity=l.ordered_quantity,
                    unit_cost_cents=l.unit_cost_cents,
                    accepted_quantity=l.accepted_quantity,
                    reject_reason=l.reject_reason.value if l.reject_reason else None,
                )
                for l in d.lines
            ],
            invoices=[InvoiceView.pick(i) for i in d.invoices],
            proposals=[PaymentProposalView.pick(p) for p in d.proposals],
            shipments=[POShipmentView.pick(s) for s in d.shipments],
            shipments_cursor=d.shipments_cursor,
            charge_backs=ChargeBackView.all_of(d.charge_backs),
            charge_back_cents=sum(int(c.amount_cents) for c in d.charge_backs),
        )


class SupplierCampaignView(View):
    campaign_id: str
    name: str | None
    campaign_status: str | None
    po_id: str
    po_status: str
    stage: str | None
    payment_status: str = Field(description="none, invoiced, proposed, approved, paid")
    shipment_status: str = Field(description="pending, awaiting_shipment, shipped, not_applicable")


class SupplierCampaignList(View):
    items: list[SupplierCampaignView]


class CampaignFileView(View):
    key: str
    name: str
    size: int
    last_modified: datetime
    url: str


class CampaignFileList(View):
    items: list[CampaignFileView]


class CancellationRequestPage(Page):
    po_id: str
    items: list[CancellationRequestView]


# ---------------------------------------------------------------- sales so far, parcels from a file (issue 19)


class ProductSalesRow(View):
    product_id: str = Field(description="the product's SKU")
    name: str
    units: int
    amount_cents: int


class CampaignSalesView(View):
    campaign_id: str
    currency: str
    items: list[ProductSalesRow]


class StaffSalesQuery(Request):
    supplier_id: Id = Field(description="whose products' sales")


class ShipmentsImportIn(Request):
    csv: str = Field(
        min_length=1,
        max_length=200_000,
        description="CSV text: a header naming order_ref (or reference) or order_id, carrier, tracking_number; "
        "at most 500 rows; rows sharing a carrier and tracking number are one parcel",
    )


class ShipmentsImportView(View):
    recorded: int = Field(description="parcels recorded now")
    shipments: list[POShipmentView]
    already_recorded: list[str] = Field(description="<carrier>#<tracking number> of the file's parcels recorded before")
