"""What a customer sends and sees: placing and cancelling orders, their orders, saved addresses and cancellation requests."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

from pydantic import Field, StringConstraints

from ...domain.addresses import CITY_MAX, LABEL_MAX, LINE_MAX, MAX_LINES, NAME_MAX, order_reference
from ...domain.audit import CUSTOMER_STATUS_TEXT
from ...domain.orders import OrderStatus, PaymentMode

if TYPE_CHECKING:
    from ...services.addresses import SavedAddress
    from ...services.orders import OrderRecord

from .common import (
    AddressIn,
    AddressView,
    CancellationRequestView,
    DeliveryView,
    Id,
    Locale,
    Note,
    OrderLineView,
    OrderMoneyView,
    Page,
    PaymentView,
    Request,
    Sku,
    Version,
    View,
)


class OrderLineIn(Request):
    sku: Sku
    quantity: int = Field(strict=True, ge=1, le=10_000)


class PlaceOrderRequest(Request):
    campaign_id: Id
    lines: list[OrderLineIn] = Field(min_length=1, max_length=100)
    payment_mode: PaymentMode = PaymentMode.PREPAID
    shipping_address: AddressIn | None = Field(None, description="where the order ships (or give address_id)")
    address_id: Id | None = Field(None, description="an address of your address book (or give shipping_address)")
    locale: Locale | None = Field(None, description="the language of your e-mails from now on (else as before)")


class TimelineEntry(View):
    at: datetime
    status: str | None
    message: str | None
    note: str | None


class OrderView(View):
    """An order as its customer sees it: no internal notes, no staff identities."""

    id: str
    reference: str = Field(description="the short reference people read out and type, e.g. WB-7KQ2-M9XD")
    campaign_id: str
    status: OrderStatus
    status_text: str
    payment_mode: PaymentMode
    currency: str
    total_cents: int
    created_at: datetime
    lines: list[OrderLineView]
    shipping_address: AddressView | None = Field(description="where it ships (null: placed before addresses)")
    deliveries: list[DeliveryView]
    payments: list[PaymentView]
    money: OrderMoneyView
    timeline: list[TimelineEntry]
    allowed_actions: list[str]
    cancellation_requests: list[CancellationRequestView] = Field(
        default_factory=list, description="requests to cancel lines after the close, oldest first"
    )

    @classmethod
    def of(cls, record: OrderRecord, actions: list[str]) -> OrderView:
        """`actions`: what the caller may do to the order now (the route asks the domain)."""
        o = record.order
        timeline = [TimelineEntry(**v) for e in record.events if (v := e.customer_view())]
        return cls(
            id=o.id,
            reference=order_reference(o.id),
            shipping_address=AddressView.of(o.shipping_address),
            campaign_id=o.campaign_id,
            status=o.status,
            status_text=CUSTOMER_STATUS_TEXT[o.status.value],
            payment_mode=o.payment_mode,
            currency=o.currency,
            total_cents=o.total_cents,
            created_at=o.created_at,
            lines=[OrderLineView.of(l) for l in o.lines],
            deliveries=DeliveryView.all_of(record),
            payments=PaymentView.all_of(record),
            money=OrderMoneyView.of(record),
            timeline=timeline,
            allowed_actions=actions,
            cancellation_requests=CancellationRequestView.all_of(record),
        )


class MyOrderSummary(View):
    id: str
    reference: str
    campaign_id: str
    status: str
    status_text: str
    total_cents: int
    currency: str
    created_at: datetime


class MyOrderPage(Page):
    items: list[MyOrderSummary]


class CustomerCancelRequest(Request):
    reason: Note | None = Field(None, description="why, in the customer's words")


# ---------------------------------------------------------------- address book and packing list (issue 16)

Label = Annotated[str, StringConstraints(max_length=LABEL_MAX)]
QueryVersion = Annotated[int, Field(ge=1)]  # from a query string: "3" is 3


class SavedAddressIn(AddressIn):
    label: Label | None = Field(None, description='e.g. "Home", "Work"')
    is_default: bool = Field(False, description="make it the default (the first address saved always is)")


class SavedAddressReplace(AddressIn):
    """PUT: the whole address again; label and is_default as for a new one."""

    label: Label | None = None
    is_default: bool | None = Field(None, description="true moves the default here; false on the default is a 422")
    expected_version: Version | None = Field(None, description="refuse with 409 if it changed since")


class SavedAddressPatch(Request):
    """PATCH: only the fields given change (label: null clears it)."""

    name: Annotated[str, StringConstraints(max_length=NAME_MAX)] | None = None
    lines: list[Annotated[str, StringConstraints(max_length=LINE_MAX)]] | None = Field(None, min_length=1, max_length=MAX_LINES)
    city: Annotated[str, StringConstraints(max_length=CITY_MAX)] | None = None
    postal_code: Annotated[str, StringConstraints(max_length=16)] | None = None
    country: Annotated[str, StringConstraints(max_length=60)] | None = None
    phone: Annotated[str, StringConstraints(max_length=30)] | None = None
    label: Label | None = None
    is_default: bool | None = None
    expected_version: Version | None = None

    def address_changes(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in AddressIn.model_fields if k in self.model_fields_set}


class AddressDeleteQuery(Request):
    expected_version: QueryVersion | None = Field(None, description="refuse with 409 if it changed since")


class SavedAddressView(View):
    id: str
    label: str | None
    address: AddressView
    is_default: bool
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, a: SavedAddress) -> SavedAddressView:
        return cls(
            id=a.id,
            label=a.label,
            address=AddressView(**a.address.as_dict()),
            is_default=a.is_default,
            version=a.version,
            created_at=a.created_at,
            updated_at=a.updated_at,
        )


class AddressBookView(View):
    items: list[SavedAddressView] = Field(description="oldest first")
    default_address_id: str | None
    max_addresses: int


# ---------------------------------------------------------------- after the close (issue 16 item 7)


class CancellationLineIn(Request):
    sku: Sku
    quantity: int = Field(strict=True, ge=1, le=10_000)


class CancellationRequestIn(Request):
    lines: list[CancellationLineIn] | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="the lines and quantities to cancel; leave out to cancel everything not yet dispatched",
    )
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)] = Field(
        description="why, in the customer's words (customer care and the supplier read it)"
    )


class CancellationRequestList(View):
    items: list[CancellationRequestView]
