"""Customer routes: place orders, list mine, follow one."""

from __future__ import annotations

from chalice import Blueprint

from ..domain.audit import CUSTOMER_STATUS_TEXT
from ..domain.orders import OrderAction, RequestedLine
from ..domain.permissions import Role, roles
from ..services import orders
from . import schemas as s
from .http import Call, endpoint

customer_api = Blueprint(__name__)
CUSTOMER = roles(Role.CUSTOMER)


@endpoint(customer_api, "/orders", "POST", summary="Place an order in a live campaign", tag="customer",
          roles=CUSTOMER, body=s.PlaceOrderRequest, response=s.OrderView, status=201)
def place_order(call: Call) -> object:
    body: s.PlaceOrderRequest = call.body
    record, created = orders.place_order(
        call.actor, campaign_id=body.campaign_id, lines=[RequestedLine(l.sku, l.quantity) for l in body.lines],
        payment_mode=body.payment_mode, idempotency_key=call.headers.get("idempotency-key"))
    view = s.OrderView.of(record, call.actor)
    return view if created else _replayed(view)


def _replayed(view: s.OrderView) -> object:
    from chalice import Response

    return Response(body=view.model_dump(mode="json"), status_code=200,
                    headers={"Content-Type": "application/json", "Idempotent-Replayed": "true"})


@endpoint(customer_api, "/orders", "GET", summary="List my orders, newest first", tag="customer",
          roles=CUSTOMER, query=s.PageQuery, response=s.MyOrderPage)
def list_orders(call: Call) -> s.MyOrderPage:
    items, cursor = orders.list_my_orders(call.actor, limit=call.query.limit, cursor=call.query.cursor)
    return s.MyOrderPage(next_cursor=cursor, items=[
        s.MyOrderSummary(id=o.id, campaign_id=o.campaign_id, status=o.status,
                         status_text=CUSTOMER_STATUS_TEXT[o.status], total_cents=o.total_cents,
                         currency=o.currency, created_at=o.created_at) for o in items])


@endpoint(customer_api, "/orders/{order_id}", "GET", summary="Follow one of my orders", tag="customer",
          roles=CUSTOMER, response=s.OrderView)
def get_order(call: Call, order_id: str) -> s.OrderView:
    return s.OrderView.of(orders.get_order_for_customer(call.actor, order_id), call.actor)


@endpoint(customer_api, "/orders/{order_id}/cancel", "POST", summary="Cancel my order before the campaign closes",
          tag="customer", roles=CUSTOMER, body=s.CustomerCancelRequest, response=s.OrderView)
def cancel_order(call: Call, order_id: str) -> s.OrderView:
    orders.change_order(call.actor, order_id, OrderAction.CANCEL, customer_note=call.body.reason)
    return s.OrderView.of(orders.get_order_for_customer(call.actor, order_id), call.actor)
