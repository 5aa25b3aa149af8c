"""Storefront routes: a shop's storefront (machine credentials) places orders for its customers and
reads back the orders it placed; nothing else."""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

from chalice.app import Blueprint

from ..domain.orders import RequestedLine, allowed_actions
from ..domain.permissions import Principal, Role, roles
from ..lazy import lazy_module
from .customer import IDEMPOTENCY_KEY
from .http import Call, endpoint, error_response

if TYPE_CHECKING:
    from ..services import orders
    from .views import customer as customer_views
    from .views import storefront as views
else:
    orders = lazy_module("chalicelib.services.orders")
    customer_views = lazy_module("chalicelib.api.views.customer")
    views = lazy_module("chalicelib.api.views.storefront")

storefront_api = Blueprint(__name__)
STOREFRONT = roles(Role.STOREFRONT)
ON_BEHALF_OF = "x-on-behalf-of"
CUSTOMER_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # an id like any other: part of a table key
TAG = "storefront"


def _customer(call: Call) -> str | None:
    """The customer id the storefront names, if it is a well-formed id."""
    value = call.headers.get(ON_BEHALF_OF)
    return value if value is not None and CUSTOMER_ID.fullmatch(value) else None


def _replayed(view: customer_views.OrderView) -> object:
    from chalice.app import Response

    return Response(
        body=view.model_dump(mode="json"),
        status_code=200,
        headers={"Content-Type": "application/json", "Idempotent-Replayed": "true"},
    )


def _view(record: orders.OrderRecord, viewer: Principal) -> customer_views.OrderView:
    # the order's actions are a customer's; a storefront takes none of them
    return customer_views.OrderView.of(record, allowed_actions(record.order, viewer))


@endpoint(
    storefront_api,
    "/storefront/orders",
    "POST",
    summary="Place an order for the customer the X-On-Behalf-Of header names",
    tag=TAG,
    roles=STOREFRONT,
    body="StorefrontOrderRequest",
    response="OrderView",
    status=201,
    replay_status=200,
)
def place_order(call: Call) -> object:
    body: views.StorefrontOrderRequest = call.body
    customer = _customer(call)
    if customer is None:
        return error_response(
            400,
            "on_behalf_of_required",
            "name the customer this order is for in the X-On-Behalf-Of header (their id in your shop)",
            [{"field": "headers.x-on-behalf-of", "message": "1 to 64 letters, digits, '.', '_' or '-'"}],
        )
    key = call.headers.get("idempotency-key")
    if key is not None and not IDEMPOTENCY_KEY.fullmatch(key):
        return error_response(
            400, "invalid_idempotency_key", "the Idempotency-Key header must be 1 to 255 visible ASCII characters"
        )
    # The audit names the storefront as the actor, and the customer it acted for.
    actor = dataclasses.replace(
        call.actor,
        email=body.customer_email,
        on_behalf_of=customer,
        name=f"storefront {call.actor.sub} on behalf of {customer}",
    )
    record, created = orders.place_order(
        actor,
        campaign_id=body.campaign_id,
        lines=[RequestedLine(l.sku, l.quantity) for l in body.lines],
        payment_mode=body.payment_mode,
        idempotency_key=key,
        shipping_address=body.shipping_address.model_dump(),
    )
    view = _view(record, call.actor)
    return view if created else _replayed(view)


@endpoint(
    storefront_api,
    "/storefront/orders/{order_id}",
    "GET",
    summary="Follow an order this storefront placed",
    tag=TAG,
    roles=STOREFRONT,
    response="OrderView",
)
def get_order(call: Call, order_id: str) -> customer_views.OrderView:
    return _view(orders.get_order_for_storefront(call.actor, order_id), call.actor)
