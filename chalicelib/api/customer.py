"""Customer routes: place orders, list mine, follow one."""

from __future__ import annotations

import dataclasses
import re

from chalice import Blueprint

from ..domain.audit import CUSTOMER_STATUS_TEXT
from ..domain.orders import OrderAction, RequestedLine
from ..domain.permissions import Principal, Role, roles
from ..lazy import lazy_module
from .http import Call, endpoint, error_response

# Loaded on first use, not at `import app` (see chalicelib/lazy.py).
s = lazy_module("chalicelib.api.schemas")
orders = lazy_module("chalicelib.services.orders")

customer_api = Blueprint(__name__)
CUSTOMER = roles(Role.CUSTOMER)
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # part of a table key: bounded, printable


def _me(call: Call) -> Principal:
    """On the customer routes the caller acts as a customer only, even if the token also holds
    staff roles: the object-level checks (own orders only) and the allowed actions are a customer's."""
    return dataclasses.replace(call.actor, roles=CUSTOMER)


@endpoint(customer_api, "/orders", "POST", summary="Place an order in a live campaign", tag="customer",
          roles=CUSTOMER, body="PlaceOrderRequest", response="OrderView", status=201, replay_status=200)
def place_order(call: Call) -> object:
    body: s.PlaceOrderRequest = call.body
    key = call.headers.get("idempotency-key")
    if key is not None and not IDEMPOTENCY_KEY.fullmatch(key):
        return error_response(400, "invalid_idempotency_key",
                              "the Idempotency-Key header must be 1 to 255 visible ASCII characters")
    record, created = orders.place_order(
        _me(call), campaign_id=body.campaign_id, lines=[RequestedLine(l.sku, l.quantity) for l in body.lines],
        payment_mode=body.payment_mode, idempotency_key=key)
    view = s.OrderView.of(record, _me(call))
    return view if created else _replayed(view)


def _replayed(view: s.OrderView) -> object:
    from chalice import Response

    return Response(body=view.model_dump(mode="json"), status_code=200,
                    headers={"Content-Type": "application/json", "Idempotent-Replayed": "true"})


@endpoint(customer_api, "/orders", "GET", summary="List my orders, newest first", tag="customer",
          roles=CUSTOMER, query="PageQuery", response="MyOrderPage")
def list_orders(call: Call) -> s.MyOrderPage:
    items, cursor = orders.list_my_orders(_me(call), limit=call.query.limit, cursor=call.query.cursor)
    return s.MyOrderPage(next_cursor=cursor, items=[
        s.MyOrderSummary(id=o.id, campaign_id=o.campaign_id, status=o.status,
                         status_text=CUSTOMER_STATUS_TEXT[o.status], total_cents=o.total_cents,
                         currency=o.currency, created_at=o.created_at) for o in items])


@endpoint(customer_api, "/orders/{order_id}", "GET", summary="Follow one of my orders", tag="customer",
          roles=CUSTOMER, response="OrderView")
def get_order(call: Call, order_id: str) -> s.OrderView:
    return s.OrderView.of(orders.get_order_for_customer(_me(call), order_id), _me(call))


@endpoint(customer_api, "/orders/{order_id}/cancel", "POST", summary="Cancel my order before the campaign closes",
          tag="customer", roles=CUSTOMER, body="CustomerCancelRequest", response="OrderView")
def cancel_order(call: Call, order_id: str) -> s.OrderView:
    record = orders.change_order(_me(call), order_id, OrderAction.CANCEL, customer_note=call.body.reason)
    return s.OrderView.of(record, _me(call))
