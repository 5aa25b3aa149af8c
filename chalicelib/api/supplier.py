"""Supplier routes: own campaigns and purchase orders, stage actions, invoice and product files.

Every route is for role `supplier` and confined to the token's `supplier_id` (services check it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint

from ..domain.permissions import Role, roles
from ..lazy import lazy_module
from .http import Call, endpoint

if TYPE_CHECKING:
    from ..domain import purchase_orders as po_domain
    from ..domain import shipments as shipment_domain
    from ..services import cancellations, packing, sales, shipment_import, shipments, tracking
    from ..services import supplier_portal as portal
    from .views import common
    from .views import supplier as views
else:
    portal = lazy_module("chalicelib.services.supplier_portal")
    shipments = lazy_module("chalicelib.services.shipments")
    sales = lazy_module("chalicelib.services.sales")
    shipment_import = lazy_module("chalicelib.services.shipment_import")
    tracking = lazy_module("chalicelib.services.tracking")
    shipment_domain = lazy_module("chalicelib.domain.shipments")
    packing = lazy_module("chalicelib.services.packing")
    cancellations = lazy_module("chalicelib.services.cancellations")
    po_domain = lazy_module("chalicelib.domain.purchase_orders")
    common = lazy_module("chalicelib.api.views.common")
    views = lazy_module("chalicelib.api.views.supplier")

supplier_api = Blueprint(__name__)
SUPPLIER = roles(Role.SUPPLIER)
TAG = "supplier"
PO = "/supplier/purchase-orders/{po_id}"


def _upload(u: object) -> common.PresignedUploadView:
    return common.PresignedUploadView(**u.__dict__)


@endpoint(
    supplier_api,
    "/supplier/campaigns",
    "GET",
    summary="My campaigns with payment and shipment status",
    tag=TAG,
    roles=SUPPLIER,
    response="SupplierCampaignList",
)
def my_campaigns(call: Call) -> views.SupplierCampaignList:
    return views.SupplierCampaignList(items=[views.SupplierCampaignView(**c.__dict__) for c in portal.list_campaigns(call.actor)])


@endpoint(
    supplier_api,
    "/supplier/purchase-orders",
    "GET",
    summary="My purchase orders, newest first",
    tag=TAG,
    roles=SUPPLIER,
    query="SupplierPOListQuery",
    response="SupplierPOPage",
)
def my_purchase_orders(call: Call) -> views.SupplierPOPage:
    q: views.SupplierPOListQuery = call.query
    items, cursor = portal.list_purchase_orders(call.actor, status=q.status, stage=q.stage, limit=q.limit, cursor=q.cursor)
    return views.SupplierPOPage(items=[views.SupplierPOSummaryView.of(i) for i in items], next_cursor=cursor)


@endpoint(
    supplier_api,
    PO,
    "GET",
    summary="A purchase order with its invoices, proposals and shipments",
    tag=TAG,
    roles=SUPPLIER,
    response="SupplierPODetailView",
)
def my_purchase_order(call: Call, po_id: str) -> views.SupplierPODetailView:
    return views.SupplierPODetailView.detail(portal.get_purchase_order(call.actor, po_id))


@endpoint(
    supplier_api,
    PO + "/shipments",
    "GET",
    summary="My parcels of a purchase order, oldest first, a page at a time (the detail carries the first page)",
    tag=TAG,
    roles=SUPPLIER,
    query="PageQuery",
    response="POShipmentPage",
)
def my_purchase_order_parcels(call: Call, po_id: str) -> common.POShipmentPage:
    items, cursor = portal.parcels(call.actor, po_id, limit=call.query.limit, cursor=call.query.cursor)
    return common.POShipmentPage(items=[common.POShipmentView.pick(x) for x in items], next_cursor=cursor)


@endpoint(
    supplier_api,
    PO + "/orders",
    "GET",
    summary="The packing list: each order to pack, its reference, lines, ship-to address and whether it has left",
    tag=TAG,
    roles=SUPPLIER,
    query="PageQuery",
    response="PackingListPage",
)
def packing_list(call: Call, po_id: str) -> common.PackingListPage:
    return common.PackingListPage.of(
        packing.supplier_packing_list(call.actor, po_id, limit=call.query.limit, cursor=call.query.cursor)
    )


@endpoint(
    supplier_api,
    PO + "/packing-list",
    "POST",
    summary="The packing list as a CSV file: a presigned download link",
    tag=TAG,
    roles=SUPPLIER,
    response="PackingListFileView",
    status=201,
)
def packing_list_file(call: Call, po_id: str) -> common.PackingListFileView:
    return common.PackingListFileView(**packing.packing_list_file(call.actor, po_id, staff=False).__dict__)


@endpoint(
    supplier_api,
    PO + "/cancellation-requests",
    "GET",
    summary="Customers' requests to cancel lines of this PO's orders, waiting for a decision (oldest first)",
    tag=TAG,
    roles=SUPPLIER,
    query="PageQuery",
    response="CancellationRequestPage",
)
def cancellation_requests(call: Call, po_id: str) -> views.CancellationRequestPage:
    page = cancellations.pending_for_po(call.actor, po_id, limit=call.query.limit, cursor=call.query.cursor)
    return views.CancellationRequestPage(
        po_id=page.po_id, items=[common.CancellationRequestView.of(i) for i in page.items], next_cursor=page.cursor
    )


@endpoint(
    supplier_api,
    "/supplier/cancellation-requests/{request_id}/decide",
    "POST",
    summary="Accept (the lines leave the order and the packing list) or refuse, with a note, a customer's "
    "request to cancel lines of one of my POs' orders",
    tag=TAG,
    roles=SUPPLIER,
    body="CancellationDecisionIn",
    response="CancellationRequestView",
)
def decide_cancellation(call: Call, request_id: str) -> common.CancellationRequestView:
    b: common.CancellationDecisionIn = call.body
    return common.CancellationRequestView.of(
        cancellations.decide(
            call.actor, request_id, accept=b.accept, note=b.note, expected_version=b.expected_version, by_supplier=True
        )
    )


@endpoint(
    supplier_api,
    PO + "/acknowledge",
    "POST",
    summary="Accept, partially accept or reject the lines",
    tag=TAG,
    roles=SUPPLIER,
    body="AcknowledgeRequest",
    response="SupplierPOSummaryView",
)
def acknowledge(call: Call, po_id: str) -> views.SupplierPOSummaryView:
    b: views.AcknowledgeRequest = call.body
    acceptances = [
        po_domain.LineAcceptance(
            sku=l.sku, accepted_quantity=l.accepted_quantity, reason=po_domain.RejectReason(l.reason) if l.reason else None
        )
        for l in b.lines
    ]
    return views.SupplierPOSummaryView.of(portal.acknowledge(call.actor, po_id, acceptances))


@endpoint(
    supplier_api,
    PO + "/invoices/upload",
    "POST",
    summary="A presigned S3 POST for an invoice file",
    tag=TAG,
    roles=SUPPLIER,
    body="UploadRequest",
    response="PresignedUploadView",
    status=201,
)
def invoice_upload(call: Call, po_id: str) -> common.PresignedUploadView:
    return _upload(portal.invoice_upload(call.actor, po_id, call.body.content_type))


@endpoint(
    supplier_api,
    PO + "/invoices",
    "POST",
    summary="Submit the invoice (after uploading its file)",
    tag=TAG,
    roles=SUPPLIER,
    body="InvoiceIn",
    response="InvoiceView",
    status=201,
)
def submit_invoice(call: Call, po_id: str) -> common.InvoiceView:
    b: views.InvoiceIn = call.body
    invoice = portal.submit_invoice(
        call.actor, po_id, number=b.number, amount_cents=b.amount_cents, currency=b.currency, file_key=b.file_key
    )
    return common.InvoiceView(**invoice.__dict__)


@endpoint(
    supplier_api,
    PO + "/payment-proposals",
    "POST",
    summary="Propose a payment (up to what is invoiced)",
    tag=TAG,
    roles=SUPPLIER,
    body="PaymentProposalIn",
    response="PaymentProposalView",
    status=201,
)
def propose_payment(call: Call, po_id: str) -> common.PaymentProposalView:
    return common.PaymentProposalView.pick(portal.propose_payment(call.actor, po_id, call.body.amount_cents))


@endpoint(
    supplier_api,
    PO + "/shipments",
    "POST",
    summary="Record a parcel and the orders in it, by the order ids of the packing list (the shipment stage "
    "ends when every accepted order has left)",
    tag=TAG,
    roles=SUPPLIER,
    body="ShipmentIn",
    response="POShipmentView",
    status=201,
)
def record_shipment(call: Call, po_id: str) -> common.POShipmentView:
    b: views.ShipmentIn = call.body
    return common.POShipmentView.pick(
        shipments.record_shipment(
            call.actor, po_id, carrier=b.carrier, tracking_number=b.tracking_number, order_ids=list(b.order_ids)
        )
    )


@endpoint(
    supplier_api,
    PO + "/shipments/import",
    "POST",
    summary="Record parcels from a CSV file (order_ref or order_id, carrier, tracking_number): every row is "
    "checked first and any problem answers 422 per row with nothing recorded; a parcel already recorded is "
    "not recorded again",
    tag=TAG,
    roles=SUPPLIER,
    body="ShipmentsImportIn",
    response="ShipmentsImportView",
)
def import_shipments(call: Call, po_id: str) -> views.ShipmentsImportView:
    done = shipment_import.import_shipments(call.actor, po_id, call.body.csv)
    return views.ShipmentsImportView(
        recorded=done.recorded,
        shipments=[common.POShipmentView.pick(s) for s in done.shipments],
        already_recorded=done.already_recorded,
    )


@endpoint(
    supplier_api,
    PO + "/shipments/{shipment_id}",
    "PUT",
    summary="Correct a parcel's carrier or tracking number (each customer is told once)",
    tag=TAG,
    roles=SUPPLIER,
    body="ShipmentCorrectionIn",
    response="POShipmentView",
)
def correct_shipment(call: Call, po_id: str, shipment_id: str) -> common.POShipmentView:
    b: views.ShipmentCorrectionIn = call.body
    return common.POShipmentView.pick(
        shipments.correct_tracking(call.actor, po_id, shipment_id, carrier=b.carrier, tracking_number=b.tracking_number)
    )


@endpoint(
    supplier_api,
    PO + "/shipments/{shipment_id}/photos",
    "POST",
    summary="A presigned S3 POST for a photo of the parcel (proof of delivery)",
    tag=TAG,
    roles=SUPPLIER,
    body="ParcelPhotoUploadRequest",
    response="PresignedUploadView",
    status=201,
)
def parcel_photo_upload(call: Call, po_id: str, shipment_id: str) -> common.PresignedUploadView:
    return _upload(tracking.photo_upload(call.actor, po_id, shipment_id, call.body.content_type))


@endpoint(
    supplier_api,
    PO + "/shipments/{shipment_id}/delivered",
    "POST",
    summary="Confirm by hand that a parcel was delivered (its carrier sends nothing): the same effects as the "
    "carrier's delivered event; a parcel already delivered answers as it is",
    tag=TAG,
    roles=SUPPLIER,
    body="DeliveredByHandIn",
    response="ShipmentByHandView",
)
def parcel_delivered(call: Call, po_id: str, shipment_id: str) -> common.ShipmentByHandView:
    b: common.DeliveredByHandIn = call.body
    return common.ShipmentByHandView.of(
        tracking.record_by_hand(
            call.actor,
            po_id,
            shipment_id,
            shipment_domain.ByHand.DELIVERED,
            note=b.note,
            at=b.delivered_at,
            photo_key=b.photo_key,
            expected_version=b.expected_version,
        )
    )


@endpoint(
    supplier_api,
    PO + "/shipments/{shipment_id}/events",
    "POST",
    summary="Record by hand a failed delivery attempt or a return to sender (as the carrier would report it)",
    tag=TAG,
    roles=SUPPLIER,
    body="ParcelEventIn",
    response="ShipmentByHandView",
)
def parcel_event(call: Call, po_id: str, shipment_id: str) -> common.ShipmentByHandView:
    b: common.ParcelEventIn = call.body
    return common.ShipmentByHandView.of(
        tracking.record_by_hand(
            call.actor,
            po_id,
            shipment_id,
            shipment_domain.ByHand(b.status),
            note=b.note,
            at=b.at,
            expected_version=b.expected_version,
        )
    )


@endpoint(
    supplier_api,
    "/supplier/campaigns/{campaign_id}/sales",
    "GET",
    summary="Sales so far of my products in a campaign: units and amount per product (from counters, not a scan)",
    tag=TAG,
    roles=SUPPLIER,
    response="CampaignSalesView",
)
def campaign_sales(call: Call, campaign_id: str) -> views.CampaignSalesView:
    return sales_view(sales.supplier_sales(call.actor, campaign_id))


def sales_view(s: sales.CampaignSales) -> views.CampaignSalesView:
    """A campaign's sales as the API shows them (the staff route answers the same)."""
    return views.CampaignSalesView(
        campaign_id=s.campaign_id, currency=s.currency, items=[views.ProductSalesRow.pick(i) for i in s.items]
    )


@endpoint(
    supplier_api,
    "/supplier/campaigns/{campaign_id}/files",
    "POST",
    summary="A presigned S3 POST for a product-description file",
    tag=TAG,
    roles=SUPPLIER,
    body="CampaignFileUploadRequest",
    response="PresignedUploadView",
    status=201,
)
def campaign_file_upload(call: Call, campaign_id: str) -> common.PresignedUploadView:
    b: views.CampaignFileUploadRequest = call.body
    return _upload(portal.campaign_file_upload(call.actor, campaign_id, b.content_type, b.filename))


@endpoint(
    supplier_api,
    "/supplier/campaigns/{campaign_id}/files",
    "GET",
    summary="My product-description files of a campaign, with download links",
    tag=TAG,
    roles=SUPPLIER,
    response="CampaignFileList",
)
def campaign_files(call: Call, campaign_id: str) -> views.CampaignFileList:
    return views.CampaignFileList(
        items=[views.CampaignFileView(**f.__dict__) for f in portal.list_campaign_files(call.actor, campaign_id)]
    )
