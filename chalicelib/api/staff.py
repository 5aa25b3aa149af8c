"""Staff routes: suppliers, campaigns, customer flags, order search, review and notes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint

from ..domain.addresses import order_reference
from ..domain.campaigns import CampaignStatus
from ..domain.orders import OrderAction, allowed_actions
from ..domain.permissions import CORRECT_ADDRESSES, MANAGE_CATALOGUE, MANAGE_CUSTOMERS, READ_STAFF, REVIEW_ORDERS, Principal
from ..lazy import lazy_module
from .http import Call, endpoint

# Loaded on first use, not at `import app` (see chalicelib/lazy.py).
if TYPE_CHECKING:
    from ..services import address_corrections, campaign_close, cancellations, catalogue, orders, sales
    from ..services import supplier_access as access
    from ..services.ports import Supplier
    from .views import common
    from .views import staff as views
    from .views import supplier as supplier_views
else:
    sales = lazy_module("chalicelib.services.sales")
    access = lazy_module("chalicelib.services.supplier_access")
    catalogue = lazy_module("chalicelib.services.catalogue")
    orders = lazy_module("chalicelib.services.orders")
    campaign_close = lazy_module("chalicelib.services.campaign_close")
    cancellations = lazy_module("chalicelib.services.cancellations")
    address_corrections = lazy_module("chalicelib.services.address_corrections")
    common = lazy_module("chalicelib.api.views.common")
    views = lazy_module("chalicelib.api.views.staff")

staff_api = Blueprint(__name__)
REVIEW = REVIEW_ORDERS


def _supplier(v: Supplier) -> views.SupplierView:
    return views.SupplierView(id=v.id, name=v.name, contact_emails=v.contact_emails, active=v.active, created_at=v.created_at)


# ---------------------------------------------------------------- suppliers


def staff_order_view(record: orders.OrderRecord, viewer: Principal) -> views.StaffOrderView:
    """An order as staff see it, with what this member of staff may do to it now."""
    return views.StaffOrderView.of(record, allowed_actions(record.order, viewer))


@endpoint(
    staff_api,
    "/staff/suppliers",
    "POST",
    summary="Create a supplier",
    tag="staff: catalogue",
    roles=MANAGE_CATALOGUE,
    body="SupplierIn",
    response="SupplierDetailView",
    status=201,
)
def create_supplier(call: Call) -> views.SupplierDetailView:
    """Also invites its first user and issues its system's secret when asked; `access` says what it still lacks."""
    b: views.SupplierIn = call.body
    made = catalogue.create_supplier(call.actor, name=b.name, contact_emails=b.contact_emails, supplier_id=b.id)
    invited = access.invite_user(call.actor, made.id, email=b.invite.email, name=b.invite.name) if b.invite else None
    issued = access.issue_webhook_secret(call.actor, made.id) if b.issue_webhook_secret else None
    return views.SupplierDetailView(
        **dict(_supplier(made)),
        access=views.SupplierAccessView.pick(access.access_status(made.id)),
        webhook_secret=views.WebhookSecretView.pick(issued) if issued else None,
        invited_user=views.SupplierUserView.pick(invited) if invited else None,
    )


@endpoint(
    staff_api,
    "/staff/suppliers",
    "GET",
    summary="List suppliers by name",
    tag="staff: catalogue",
    roles=READ_STAFF,
    query="PageQuery",
    response="SupplierPage",
)
def list_suppliers(call: Call) -> views.SupplierPage:
    items, cursor = catalogue.list_suppliers(call.actor, limit=call.query.limit, cursor=call.query.cursor)
    return views.SupplierPage(items=[_supplier(i) for i in items], next_cursor=cursor)


@endpoint(
    staff_api,
    "/staff/suppliers/{supplier_id}",
    "GET",
    summary="One supplier, with what it still lacks to get in (users, its system's webhook secret)",
    tag="staff: catalogue",
    roles=READ_STAFF,
    response="SupplierDetailView",
)
def get_supplier(call: Call, supplier_id: str) -> views.SupplierDetailView:
    found = _supplier(catalogue.get_supplier(call.actor, supplier_id))
    return views.SupplierDetailView(**dict(found), access=views.SupplierAccessView.pick(access.access_status(supplier_id)))


# ---------------------------------------------------------------- campaigns


@endpoint(
    staff_api,
    "/staff/campaigns",
    "POST",
    summary="Create a draft campaign with products",
    tag="staff: catalogue",
    roles=MANAGE_CATALOGUE,
    body="CampaignIn",
    response="CampaignView",
    status=201,
)
def create_campaign(call: Call) -> views.CampaignView:
    b: views.CampaignIn = call.body
    view = catalogue.create_campaign(call.actor, name=b.name, currency=b.currency, products=[p.to_domain() for p in b.products])
    return views.CampaignView.of(view, with_products=True)


@endpoint(
    staff_api,
    "/staff/campaigns",
    "GET",
    summary="List campaigns in a status, or in any status",
    tag="staff: catalogue",
    roles=READ_STAFF,
    query="CampaignListQuery",
    response="CampaignPage",
)
def list_campaigns(call: Call) -> views.CampaignPage:
    q: views.CampaignListQuery = call.query
    status = None if q.status == "any" else CampaignStatus(q.status)
    items, cursor = catalogue.list_campaigns(call.actor, status=status, limit=q.limit, cursor=q.cursor)
    return views.CampaignPage(items=[views.CampaignView.of(v) for v in items], next_cursor=cursor)


@endpoint(
    staff_api,
    "/staff/campaigns/{campaign_id}",
    "GET",
    summary="A campaign with its products",
    tag="staff: catalogue",
    roles=READ_STAFF,
    response="CampaignView",
)
def get_campaign(call: Call, campaign_id: str) -> views.CampaignView:
    return views.CampaignView.of(catalogue.get_campaign(call.actor, campaign_id), with_products=True)


@endpoint(
    staff_api,
    "/staff/campaigns/{campaign_id}/sales",
    "GET",
    summary="A supplier's sales so far in a campaign: units and amount per product (from counters, not a scan)",
    tag="staff: catalogue",
    roles=READ_STAFF,
    query="StaffSalesQuery",
    response="CampaignSalesView",
)
def campaign_sales(call: Call, campaign_id: str) -> supplier_views.CampaignSalesView:
    from .supplier import sales_view

    return sales_view(sales.staff_sales(call.actor, campaign_id, call.query.supplier_id))


@endpoint(
    staff_api,
    "/staff/campaigns/{campaign_id}/products",
    "POST",
    summary="Add products to a draft",
    tag="staff: catalogue",
    roles=MANAGE_CATALOGUE,
    body="ProductsIn",
    response="CampaignView",
)
def add_products(call: Call, campaign_id: str) -> views.CampaignView:
    view = catalogue.add_campaign_products(call.actor, campaign_id, [p.to_domain() for p in call.body.products])
    return views.CampaignView.of(view, with_products=True)


@endpoint(
    staff_api,
    "/staff/campaigns/{campaign_id}/go-live",
    "POST",
    summary="Open a draft campaign for orders",
    tag="staff: catalogue",
    roles=MANAGE_CATALOGUE,
    body="GoLiveRequest",
    response="CampaignView",
)
def go_live(call: Call, campaign_id: str) -> views.CampaignView:
    b: views.GoLiveRequest = call.body
    return views.CampaignView.of(
        catalogue.go_live(call.actor, campaign_id, ends_at=b.ends_at, expected_version=b.expected_version)
    )


@endpoint(
    staff_api,
    "/staff/campaigns/{campaign_id}/cancel",
    "POST",
    summary="Cancel a draft or live campaign",
    tag="staff: catalogue",
    roles=MANAGE_CATALOGUE,
    body="CancelCampaignRequest",
    response="CampaignView",
)
def cancel_campaign(call: Call, campaign_id: str) -> views.CampaignView:
    b: views.CancelCampaignRequest = call.body
    return views.CampaignView.of(
        catalogue.cancel_campaign(call.actor, campaign_id, reason=b.reason, expected_version=b.expected_version)
    )


@endpoint(
    staff_api,
    "/staff/campaigns/{campaign_id}/close",
    "POST",
    summary="Start closing a campaign into one purchase order per supplier (a live one is ended first); "
    "the close runs from a queue, its progress on the campaign (`close`)",
    tag="staff: catalogue",
    roles=MANAGE_CATALOGUE,
    response="CampaignView",
    status=202,
)
def close_campaign(call: Call, campaign_id: str) -> views.CampaignView:
    return views.CampaignView.of(campaign_close.close_by_staff(call.actor, campaign_id))


# ---------------------------------------------------------------- customers


@endpoint(
    staff_api,
    "/staff/customers/{customer_id}/flag",
    "PUT",
    summary="Flag or clear a customer",
    tag="staff: orders",
    roles=MANAGE_CUSTOMERS,
    body="CustomerFlagRequest",
    response="CustomerProfileView",
)
def flag_customer(call: Call, customer_id: str) -> views.CustomerProfileView:
    p = catalogue.set_customer_flag(call.actor, customer_id, flagged=call.body.flagged, reason=call.body.reason)
    return views.CustomerProfileView(id=p.id, email=p.email, flagged=p.flagged, flag_reason=p.flag_reason)


# ---------------------------------------------------------------- orders


@endpoint(
    staff_api,
    "/staff/orders",
    "GET",
    summary="Search orders (one query per page)",
    tag="staff: orders",
    roles=READ_STAFF,
    query="OrderSearchQuery",
    response="OrderPage",
)
def search_orders(call: Call) -> views.OrderPage:
    q: views.OrderSearchQuery = call.query
    filters = orders.OrderFilters(
        statuses=q.statuses,
        campaign_id=q.campaign_id,
        supplier_id=q.supplier_id,
        customer_id=q.customer_id,
        customer_email=q.customer_email,
        created_from=q.created_from,
        created_to=q.created_to,
    )
    if q.q and q.q.strip():
        items, cursor = orders.find_orders(call.actor, q.q, filters, limit=q.limit, cursor=q.cursor)
    else:
        items, cursor = orders.search_orders(call.actor, filters, limit=q.limit, cursor=q.cursor)
    return views.OrderPage(
        items=[views.OrderSummaryView(**o.__dict__, reference=order_reference(o.id)) for o in items], next_cursor=cursor
    )


@endpoint(
    staff_api,
    "/staff/orders/{order_id}",
    "GET",
    summary="An order with its full audit trail",
    tag="staff: orders",
    roles=READ_STAFF,
    response="StaffOrderView",
)
def get_order(call: Call, order_id: str) -> views.StaffOrderView:
    return staff_order_view(orders.get_order_for_staff(call.actor, order_id), call.actor)


@endpoint(
    staff_api,
    "/staff/orders/{order_id}/transitions",
    "POST",
    summary="Approve or reject an order held for pre-approval, or cancel it before its campaign closes",
    tag="staff: orders",
    roles=REVIEW,
    body="OrderTransitionRequest",
    response="StaffOrderView",
)
def transition_order(call: Call, order_id: str) -> views.StaffOrderView:
    b: views.OrderTransitionRequest = call.body
    record = orders.change_order(
        call.actor,
        order_id,
        OrderAction(b.action),
        internal_note=b.internal_note,
        customer_note=b.customer_note,
        expected_version=b.expected_version,
    )
    return staff_order_view(record, call.actor)


@endpoint(
    staff_api,
    "/staff/orders/{order_id}/notes",
    "POST",
    summary="Add an internal and/or customer-facing note",
    tag="staff: orders",
    roles=READ_STAFF,
    body="NoteRequest",
    response="NoteView",
    status=201,
)
def add_note(call: Call, order_id: str) -> views.NoteView:
    event = orders.add_note(call.actor, order_id, internal_note=call.body.internal_note, customer_note=call.body.customer_note)
    return views.NoteView(event=common.AuditEventView.of(event))


@endpoint(
    staff_api,
    "/staff/orders/{order_id}/cancellation-requests/{request_id}/decide",
    "POST",
    summary="Accept (the lines leave the order and the packing list; the money is settled per payment mode) "
    "or refuse, with a note, a customer's request to cancel after the close",
    tag="staff: orders",
    roles=REVIEW,
    body="CancellationDecisionIn",
    response="CancellationRequestView",
)
def decide_cancellation(call: Call, order_id: str, request_id: str) -> common.CancellationRequestView:
    b: common.CancellationDecisionIn = call.body
    return common.CancellationRequestView.of(
        cancellations.decide(
            call.actor, request_id, accept=b.accept, note=b.note, expected_version=b.expected_version, order_id=order_id
        )
    )


@endpoint(
    staff_api,
    "/staff/orders/{order_id}/shipping-address",
    "PUT",
    summary="Correct where the order ships, until its last delivery leaves (the suppliers concerned are told)",
    tag="staff: orders",
    roles=CORRECT_ADDRESSES,
    body="AddressCorrectionIn",
    response="StaffOrderView",
)
def correct_shipping_address(call: Call, order_id: str) -> views.StaffOrderView:
    b: views.AddressCorrectionIn = call.body
    record = address_corrections.correct_address(
        call.actor, order_id, b.shipping_address.model_dump(), note=b.note, expected_version=b.expected_version
    )
    return staff_order_view(record, call.actor)
