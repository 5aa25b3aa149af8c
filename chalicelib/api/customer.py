"""Customer routes: place orders, list mine, follow one; keep an address book."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from chalice.app import Blueprint

from ..domain.addresses import MAX_BOOK_ENTRIES, order_reference
from ..domain.audit import CUSTOMER_STATUS_TEXT
from ..domain.orders import OrderAction, RequestedLine, allowed_actions
from ..domain.permissions import Principal, Role, roles
from ..lazy import lazy_module
from .http import Call, endpoint, error_response

# Loaded on first use, not at `import app` (see chalicelib/lazy.py).
if TYPE_CHECKING:
    from ..services import addresses, cancellations, orders, track
    from .views import common
    from .views import customer as views
else:
    orders = lazy_module("chalicelib.services.orders")
    addresses = lazy_module("chalicelib.services.addresses")
    cancellations = lazy_module("chalicelib.services.cancellations")
    track = lazy_module("chalicelib.services.track")
    common = lazy_module("chalicelib.api.views.common")
    views = lazy_module("chalicelib.api.views.customer")

customer_api = Blueprint(__name__)
CUSTOMER = roles(Role.CUSTOMER)
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # part of a table key: bounded, printable


def _me(call: Call) -> Principal:
    """On the customer routes the caller acts as a customer only, even if the token also holds
    staff roles: the object-level checks (own orders only) and the allowed actions are a customer's."""
    return dataclasses.replace(call.actor, roles=CUSTOMER)


def _order_view(record: orders.OrderRecord, viewer: Principal) -> views.OrderView:
    return views.OrderView.of(record, allowed_actions(record.order, viewer))


@endpoint(
    customer_api,
    "/orders",
    "POST",
    summary="Place an order in a live campaign",
    tag="customer",
    roles=CUSTOMER,
    body="PlaceOrderRequest",
    response="OrderView",
    status=201,
    replay_status=200,
)
def place_order(call: Call) -> object:
    body: views.PlaceOrderRequest = call.body
    key = call.headers.get("idempotency-key")
    if key is not None and not IDEMPOTENCY_KEY.fullmatch(key):
        return error_response(
            400, "invalid_idempotency_key", "the Idempotency-Key header must be 1 to 255 visible ASCII characters"
        )
    ship_to = body.shipping_address.model_dump() if body.shipping_address is not None else None
    record, created = orders.place_order(
        _me(call),
        campaign_id=body.campaign_id,
        lines=[RequestedLine(l.sku, l.quantity) for l in body.lines],
        payment_mode=body.payment_mode,
        idempotency_key=key,
        shipping_address=ship_to,
        address_id=body.address_id,
        locale=body.locale,
    )
    view = _order_view(record, _me(call))
    return view if created else _replayed(view)


def _replayed(view: views.OrderView) -> object:
    from chalice.app import Response

    return Response(
        body=view.model_dump(mode="json"),
        status_code=200,
        headers={"Content-Type": "application/json", "Idempotent-Replayed": "true"},
    )


@endpoint(
    customer_api,
    "/orders",
    "GET",
    summary="List my orders, newest first",
    tag="customer",
    roles=CUSTOMER,
    query="PageQuery",
    response="MyOrderPage",
)
def list_orders(call: Call) -> views.MyOrderPage:
    items, cursor = orders.list_my_orders(_me(call), limit=call.query.limit, cursor=call.query.cursor)
    return views.MyOrderPage(
        next_cursor=cursor,
        items=[
            views.MyOrderSummary(
                id=o.id,
                reference=order_reference(o.id),
                campaign_id=o.campaign_id,
                status=o.status,
                status_text=CUSTOMER_STATUS_TEXT[o.status],
                total_cents=o.total_cents,
                currency=o.currency,
                created_at=o.created_at,
            )
            for o in items
        ],
    )


@endpoint(
    customer_api,
    "/orders/{order_id}",
    "GET",
    summary="Follow one of my orders",
    tag="customer",
    roles=CUSTOMER,
    response="OrderView",
)
def get_order(call: Call, order_id: str) -> views.OrderView:
    return _order_view(orders.get_order_for_customer(_me(call), order_id), _me(call))


@endpoint(
    customer_api,
    "/orders/{order_id}/cancel",
    "POST",
    summary="Cancel my order before the campaign closes",
    tag="customer",
    roles=CUSTOMER,
    body="CustomerCancelRequest",
    response="OrderView",
)
def cancel_order(call: Call, order_id: str) -> views.OrderView:
    record = orders.change_order(_me(call), order_id, OrderAction.CANCEL, customer_note=call.body.reason)
    return _order_view(record, _me(call))


@endpoint(
    customer_api,
    "/orders/{order_id}/cancellation-request",
    "POST",
    summary="Ask to cancel lines (or everything not yet dispatched) of my order after its campaign closed; "
    "customer care or the supplier decides",
    tag="customer",
    roles=CUSTOMER,
    body="CancellationRequestIn",
    response="CancellationRequestList",
    status=201,
)
def request_cancellation(call: Call, order_id: str) -> views.CancellationRequestList:
    b: views.CancellationRequestIn = call.body
    lines = [RequestedLine(l.sku, l.quantity) for l in b.lines] if b.lines is not None else None
    items = cancellations.request_cancellation(_me(call), order_id, lines=lines, reason=b.reason)
    return views.CancellationRequestList(items=[common.CancellationRequestView.of(i) for i in items])


# ---------------------------------------------------------------- the address book

ADDRESSES_TAG = "customer: addresses"


def _book(call: Call) -> views.AddressBookView:
    items = addresses.list_addresses(_me(call))
    return views.AddressBookView(
        items=[views.SavedAddressView.of(a) for a in items],
        default_address_id=next((a.id for a in items if a.is_default), None),
        max_addresses=MAX_BOOK_ENTRIES,
    )


@endpoint(
    customer_api,
    "/me/addresses",
    "GET",
    summary="My address book (the default marked)",
    tag=ADDRESSES_TAG,
    roles=CUSTOMER,
    response="AddressBookView",
)
def list_addresses(call: Call) -> views.AddressBookView:
    return _book(call)


@endpoint(
    customer_api,
    "/me/addresses",
    "POST",
    summary="Save an address (the first one becomes the default)",
    tag=ADDRESSES_TAG,
    roles=CUSTOMER,
    body="SavedAddressIn",
    response="SavedAddressView",
    status=201,
)
def add_address(call: Call) -> views.SavedAddressView:
    b: views.SavedAddressIn = call.body
    fields = b.model_dump(include=set(common.AddressIn.model_fields))
    return views.SavedAddressView.of(addresses.add_address(_me(call), fields, label=b.label, make_default=b.is_default))


@endpoint(
    customer_api,
    "/me/addresses/{address_id}",
    "GET",
    summary="One of my saved addresses",
    tag=ADDRESSES_TAG,
    roles=CUSTOMER,
    response="SavedAddressView",
)
def get_address(call: Call, address_id: str) -> views.SavedAddressView:
    return views.SavedAddressView.of(addresses.get_address(_me(call), address_id))


@endpoint(
    customer_api,
    "/me/addresses/{address_id}",
    "PUT",
    summary="Replace a saved address (orders already placed keep theirs)",
    tag=ADDRESSES_TAG,
    roles=CUSTOMER,
    body="SavedAddressReplace",
    response="SavedAddressView",
)
def replace_address(call: Call, address_id: str) -> views.SavedAddressView:
    b: views.SavedAddressReplace = call.body
    fields = b.model_dump(include=set(common.AddressIn.model_fields))
    return views.SavedAddressView.of(
        addresses.update_address(
            _me(call), address_id, fields, label=b.label, is_default=b.is_default, expected_version=b.expected_version
        )
    )


@endpoint(
    customer_api,
    "/me/addresses/{address_id}",
    "PATCH",
    summary="Change some fields of a saved address, or make it the default",
    tag=ADDRESSES_TAG,
    roles=CUSTOMER,
    body="SavedAddressPatch",
    response="SavedAddressView",
)
def patch_address(call: Call, address_id: str) -> views.SavedAddressView:
    b: views.SavedAddressPatch = call.body
    extra = {"label": b.label} if "label" in b.model_fields_set else {}
    return views.SavedAddressView.of(
        addresses.update_address(
            _me(call), address_id, b.address_changes(), is_default=b.is_default, expected_version=b.expected_version, **extra
        )
    )


@endpoint(
    customer_api,
    "/me/addresses/{address_id}",
    "DELETE",
    summary="Delete a saved address (deleting the default makes the oldest other one the default)",
    tag=ADDRESSES_TAG,
    roles=CUSTOMER,
    query="AddressDeleteQuery",
    response="AddressBookView",
)
def delete_address(call: Call, address_id: str) -> views.AddressBookView:
    addresses.delete_address(_me(call), address_id, expected_version=call.query.expected_version)
    return _book(call)


LINK_REVOKERS = roles(Role.CUSTOMER, Role.CUSTOMER_CARE, Role.ADMIN)


@endpoint(
    customer_api,
    "/orders/{order_id}/link",
    "GET",
    summary="The order page's current link (to open, bookmark or share: anyone holding it sees the order)",
    tag="customer",
    roles=LINK_REVOKERS,
    response="TrackLinkView",
)
def order_link(call: Call, order_id: str) -> object:
    return _link_view(call, order_id, track.current)


@endpoint(
    customer_api,
    "/orders/{order_id}/link/revoke",
    "POST",
    summary="Revoke the order page's links (every link sent so far opens nothing); answers the new link",
    tag="customer",
    roles=LINK_REVOKERS,
    response="TrackLinkView",
)
def revoke_order_link(call: Call, order_id: str) -> object:
    return _link_view(call, order_id, track.revoke)


def _link_view(call: Call, order_id: str, get: Callable[..., str | None]) -> object:
    """The link `get` answers (the current one, or a new one after revoking), as the customer of the
    order (their own only) or as customer care / an admin; a 409 while no signing key is set."""
    as_customer = not call.actor.has_any(roles(Role.CUSTOMER_CARE, Role.ADMIN))
    token = get(call.actor, order_id, as_customer=as_customer)
    if token is None:
        return error_response(409, "no_link_key", "order page links cannot be made yet: no signing key is set")
    return views.TrackLinkView(token=token, url=track.page_url(token))
