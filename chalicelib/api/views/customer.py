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


# ---------------------------------------------------------------- the order page without a login (issue 19)


class TrackLineView(View):
    sku: str
    name: str
    quantity: int
    unit_price_cents: int
    total_cents: int


class TrackStepView(View):
    """One step of a parcel's carrier timeline, as the customer sees it (no carrier codes)."""

    at: datetime
    status: str = Field(description="a parcel status code (the page words it from its catalogue)")
    description: str | None = None
    location: str | None = None


class TrackParcelView(View):
    carrier: str
    carrier_name: str
    tracking_number: str
    tracking_url: str = Field(description="the carrier's own tracking page")
    status: str
    status_at: datetime | None
    timeline: list[TrackStepView]


class TrackDeliveryView(View):
    """One part of the order (the part one supplier sends), numbered from 1: suppliers are not named."""

    number: int
    status: str = Field(description="a delivery status code")
    parcels: list[TrackParcelView]


class TrackEventView(View):
    """One entry of the order's customer-facing timeline: a status change or a note written for the customer."""

    at: datetime
    status: str | None = Field(description="the order's new status code (null: a note only)")
    event: str = Field(description="the event type (the page words it from its catalogue)")
    note: str | None = Field(description="what the shop wrote for the customer")


class TrackRefundView(View):
    amount_cents: int
    status: str = Field(description="pending, succeeded, failed, awaiting_transfer")
    at: datetime


class TrackView(View):
    """An order as its order page shows it to anyone holding its link: customer-facing facts only (no
    internal notes, no staff, no supplier names, ids or costs). Statuses are codes the page words."""

    order_id: str
    reference: str
    status: OrderStatus
    next_step: str = Field(description="what happens next, as a code the page words (`next.<code>`)")
    locale: str | None = Field(None, description="the customer's language when known (the page's choice)")
    currency: str
    created_at: datetime
    lines: list[TrackLineView]
    deliveries: list[TrackDeliveryView]
    refunds: list[TrackRefundView]
    money: OrderMoneyView
    timeline: list[TrackEventView]

    @classmethod
    def of(cls, record: OrderRecord) -> TrackView:
        from ...domain.payments import ON_ITS_WAY, PaymentKind

        o = record.order
        refunds = [p for p in record.payments if p.payment_kind == PaymentKind.REFUND.value]
        pending = any(p.status in ON_ITS_WAY for p in refunds)
        deliveries = []
        for number, d in enumerate(o.deliveries, start=1):
            parcels = [
                TrackParcelView(
                    carrier=p.carrier,
                    carrier_name=_carrier_name(p.carrier),
                    tracking_number=p.tracking_number,
                    tracking_url=p.tracking_url,
                    status=p.status,
                    status_at=p.status_at,
                    timeline=[
                        TrackStepView(at=t.occurred_at, status=t.status, description=t.description, location=t.location)
                        for t in p.timeline or []
                    ],
                )
                for p in record.shipments
                if p.supplier_id == d.supplier_id
            ]
            deliveries.append(TrackDeliveryView(number=number, status=d.status.value, parcels=parcels))
        timeline = [
            TrackEventView(at=v["at"], status=v["status"], event=e.type, note=v["note"])
            for e in record.events
            if (v := e.customer_view())
        ]
        return cls(
            order_id=o.id,
            reference=order_reference(o.id),
            status=o.status,
            next_step="refund_pending" if pending else o.status.value,
            locale=getattr(o, "locale", None),
            currency=o.currency,
            created_at=o.created_at,
            lines=[
                TrackLineView(
                    sku=l.sku, name=l.name, quantity=l.quantity, unit_price_cents=l.unit_price_cents, total_cents=l.total_cents
                )
                for l in o.lines
            ],
            deliveries=deliveries,
            refunds=[TrackRefundView(amount_cents=int(p.amount_cents), status=p.status, at=p.created_at) for p in refunds],
            money=OrderMoneyView.of(record),
            timeline=timeline,
        )


def _carrier_name(carrier: str) -> str:
    from ...domain.shipments import CARRIERS

    found = CARRIERS.get(carrier)
    return found.name if found is not None else carrier


class TrackLookupRequest(Request):
    reference: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)] = Field(
        description="the order's reference, e.g. WB-7KQ2-M9XD (any case, hyphens optional)"
    )
    email: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254)] = Field(
        description="the e-mail address the order was placed with"
    )


class TrackLinkView(View):
    """An order page link: `token` goes after `/track/#/o/`."""

    token: str
    url: str
