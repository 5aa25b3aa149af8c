"""Staff routes for purchase orders: list by stage, status or campaign; one PO with its
stage, deadline, reminders and audit trail; its packing list; cancel; its parcels' history and
what staff record about a parcel by hand when its carrier sends nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint

from ..domain.permissions import CANCEL_PURCHASE_ORDERS, READ_STAFF, RECORD_PARCEL_EVENTS
from ..lazy import lazy_module
from .http import Call, endpoint

if TYPE_CHECKING:
    from ..adapters import files
    from ..domain import shipments as shipment_domain
    from ..services import packing, tracking
    from ..services import supplier_workflow as workflow
    from .views import common
    from .views import staff as views
else:
    workflow = lazy_module("chalicelib.services.supplier_workflow")
    files = lazy_module("chalicelib.adapters.files")
    packing = lazy_module("chalicelib.services.packing")
    tracking = lazy_module("chalicelib.services.tracking")
    shipment_domain = lazy_module("chalicelib.domain.shipments")
    common = lazy_module("chalicelib.api.views.common")
    views = lazy_module("chalicelib.api.views.staff")

staff_po_api = Blueprint(__name__)
CANCEL_PO = CANCEL_PURCHASE_ORDERS
TAG = "staff: purchase orders"


def _view(d: workflow.PODetail) -> views.StaffPOView:
    po, record = d.po, d.record
    return views.StaffPOView(
        id=po.id,
        campaign_id=po.campaign_id,
        supplier_id=po.supplier_id,
        status=po.status.value,
        stage=po.stage.value if po.stage else None,
        stage_open=record.task_token is not None,
        stage_deadline=record.stage_deadline,
        execution_arn=record.execution_arn,
        reminders=po.reminders,
        currency=po.currency,
        lines=[
            views.StaffPOLineView(
                sku=l.sku,
                name=l.name,
                ordered_quantity=l.ordered_quantity,
                unit_cost_cents=l.unit_cost_cents,
                accepted_quantity=l.accepted_quantity,
                reject_reason=l.reject_reason.value if l.reject_reason else None,
            )
            for l in po.lines
        ],
        ordered_cents=po.ordered_cents,
        accepted_cents=po.accepted_cents,
        invoiced_cents=po.invoiced_cents,
        proposed_cents=po.proposed_cents,
        paid_cents=po.paid_cents,
        order_count=po.order_count,
        created_at=po.created_at,
        version=d.version,
        invoices=[views.StaffInvoiceView(**i.__dict__, download_url=files.presigned_get(i.file_key)) for i in d.invoices],
        proposals=[common.PaymentProposalView.pick(p) for p in d.proposals],
        shipments=[common.POShipmentView.pick(x) for x in d.shipments],
        shipments_cursor=d.shipments_cursor,
        charge_backs=common.ChargeBackView.all_of(d.charge_backs),
        charge_back_cents=sum(c.amount_cents for c in d.charge_backs),
        events=[common.AuditEventView.of(e) for e in d.events],
    )


@endpoint(
    staff_po_api,
    "/staff/purchase-orders",
    "GET",
    summary="Purchase orders by stage, status or campaign",
    tag=TAG,
    roles=READ_STAFF,
    query="StaffPOListQuery",
    response="StaffPOPage",
)
def list_purchase_orders(call: Call) -> views.StaffPOPage:
    q = call.query
    items, cursor = workflow.list_pos(stage_or_status=q.stage, campaign_id=q.campaign_id, limit=q.limit, cursor=q.cursor)
    return views.StaffPOPage(items=[views.StaffPOSummaryView.pick(i) for i in items], next_cursor=cursor)


@endpoint(
    staff_po_api,
    "/staff/purchase-orders/{po_id}",
    "GET",
    summary="A purchase order with its audit trail",
    tag=TAG,
    roles=READ_STAFF,
    response="StaffPOView",
)
def get_purchase_order(call: Call, po_id: str) -> views.StaffPOView:
    return _view(workflow.get_po(po_id))


@endpoint(
    staff_po_api,
    "/staff/purchase-orders/{po_id}/shipments",
    "GET",
    summary="The PO's parcels, oldest first, a page at a time (the detail carries the first page)",
    tag=TAG,
    roles=READ_STAFF,
    query="PageQuery",
    response="POShipmentPage",
)
def purchase_order_parcels(call: Call, po_id: str) -> common.POShipmentPage:
    items, cursor = workflow.po_parcels(po_id, limit=call.query.limit, cursor=call.query.cursor)
    return common.POShipmentPage(items=[common.POShipmentView.pick(x) for x in items], next_cursor=cursor)


@endpoint(
    staff_po_api,
    "/staff/purchase-orders/{po_id}/cancel",
    "POST",
    summary="Cancel a purchase order (ends its workflow)",
    tag=TAG,
    roles=CANCEL_PO,
    body="StaffPOCancelRequest",
    response="StaffPOView",
)
def cancel_purchase_order(call: Call, po_id: str) -> views.StaffPOView:
    b: views.StaffPOCancelRequest = call.body
    workflow.cancel_po(call.actor, po_id, internal_note=b.internal_note, expected_version=b.expected_version)
    return _view(workflow.get_po(po_id))


@endpoint(
    staff_po_api,
    "/staff/purchase-orders/{po_id}/orders",
    "GET",
    summary="The PO's packing list, as its supplier sees it but always with the ship-to address",
    tag=TAG,
    roles=READ_STAFF,
    query="PageQuery",
    response="PackingListPage",
)
def packing_list(call: Call, po_id: str) -> common.PackingListPage:
    return common.PackingListPage.of(
        packing.staff_packing_list(call.actor, po_id, limit=call.query.limit, cursor=call.query.cursor)
    )


@endpoint(
    staff_po_api,
    "/staff/purchase-orders/{po_id}/packing-list",
    "POST",
    summary="The PO's packing list as a CSV file: a presigned download link",
    tag=TAG,
    roles=READ_STAFF,
    response="PackingListFileView",
    status=201,
)
def packing_list_file(call: Call, po_id: str) -> common.PackingListFileView:
    return common.PackingListFileView(**packing.packing_list_file(call.actor, po_id, staff=True).__dict__)


PARCEL = "/staff/purchase-orders/{po_id}/shipments/{shipment_id}"


@endpoint(
    staff_po_api,
    PARCEL,
    "GET",
    summary="A parcel with its tracking timeline and audit trail (who recorded what by hand, notes, photos)",
    tag=TAG,
    roles=READ_STAFF,
    response="StaffShipmentView",
)
def get_parcel(call: Call, po_id: str, shipment_id: str) -> views.StaffShipmentView:
    detail = tracking.parcel_detail(call.actor, po_id, shipment_id)
    return views.StaffShipmentView.of(detail, {f: files.presigned_get(f) for e in detail.events for f in e.files})


@endpoint(
    staff_po_api,
    PARCEL + "/photos",
    "POST",
    summary="A presigned S3 POST for a photo of the parcel (proof of delivery)",
    tag=TAG,
    roles=RECORD_PARCEL_EVENTS,
    body="ParcelPhotoUploadRequest",
    response="PresignedUploadView",
    status=201,
)
def parcel_photo_upload(call: Call, po_id: str, shipment_id: str) -> common.PresignedUploadView:
    return common.PresignedUploadView(**tracking.photo_upload(call.actor, po_id, shipment_id, call.body.content_type).__dict__)


@endpoint(
    staff_po_api,
    PARCEL + "/delivered",
    "POST",
    summary="Confirm by hand that a parcel was delivered (its carrier sends nothing): the same effects as the "
    "carrier's delivered event; a parcel already delivered answers as it is",
    tag=TAG,
    roles=RECORD_PARCEL_EVENTS,
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
    staff_po_api,
    PARCEL + "/events",
    "POST",
    summary="Record by hand a failed delivery attempt or a return to sender (as the carrier would report it)",
    tag=TAG,
    roles=RECORD_PARCEL_EVENTS,
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
