"""Pydantic models at the edge: requests forbid unknown fields, responses are explicit."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from ..domain.addresses import CITY_MAX, LABEL_MAX, LINE_MAX, MAX_LINES, NAME_MAX, Address, order_reference
from ..domain.audit import CUSTOMER_STATUS_TEXT, AuditEvent
from ..domain.campaigns import CampaignStatus, Product
from ..domain.orders import OrderStatus, PaymentMode, allowed_actions
from ..domain.permissions import Principal

Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
Sku = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
Cents = Annotated[int, Field(strict=True, ge=0, le=100_000_000)]
Version = Annotated[int, Field(strict=True, ge=1)]


# defer_build: each model builds its validator on first use, not at `import app` (cold start).
class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class View(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    @classmethod
    def pick(cls, source: Any) -> Any:
        """The view of any object that carries (at least) this view's fields as attributes."""
        return cls(**{k: getattr(source, k) for k in cls.model_fields})


# ---------------------------------------------------------------- errors


class ErrorDetail(View):
    field: str | None = None
    message: str
    type: str | None = None


class ErrorInfo(View):
    code: str = Field(description="stable machine-readable code, e.g. validation_error, not_found")
    message: str = Field(description="what is wrong, for a person")
    details: list[ErrorDetail] = []


class ErrorBody(View):
    error: ErrorInfo


# ---------------------------------------------------------------- queries


class PageQuery(Request):
    limit: int = Field(25, ge=1, le=100)
    cursor: str | None = Field(None, max_length=2048, description="next_cursor from the previous page")


class OrderSearchQuery(PageQuery):
    q: str | None = Field(
        None,
        min_length=1,
        max_length=254,
        description="an order id, a customer's e-mail or a tracking number; the other filters narrow what it finds",
    )
    status: OrderStatus | None = None
    campaign_id: Id | None = None
    supplier_id: Id | None = None
    customer_id: Id | None = None
    customer_email: Email | None = None
    created_from: AwareDatetime | None = None
    created_to: AwareDatetime | None = None


class CampaignListQuery(PageQuery):
    status: CampaignStatus = CampaignStatus.LIVE


# ---------------------------------------------------------------- requests


class AddressIn(Request):
    """A shipping address. Beyond these types, the domain checks each field (a country must be an ISO
    3166-1 alpha-2 code, a phone 6 to 15 digits, ...) and answers 422 `invalid_address` naming each."""

    name: Annotated[str, StringConstraints(max_length=NAME_MAX)] = Field(description="who receives the parcel")
    lines: list[Annotated[str, StringConstraints(max_length=LINE_MAX)]] = Field(
        min_length=1, max_length=MAX_LINES, description="street, number, building: 1 to 3 lines"
    )
    city: Annotated[str, StringConstraints(max_length=CITY_MAX)]
    postal_code: Annotated[str, StringConstraints(max_length=16)]
    country: Annotated[str, StringConstraints(max_length=60)] = Field(description="ISO 3166-1 alpha-2, e.g. FR")
    phone: Annotated[str, StringConstraints(max_length=30)] | None = Field(None, description="for the carrier")


class OrderLineIn(Request):
    sku: Sku
    quantity: int = Field(strict=True, ge=1, le=10_000)


class PlaceOrderRequest(Request):
    campaign_id: Id
    lines: list[OrderLineIn] = Field(min_length=1, max_length=100)
    payment_mode: PaymentMode = PaymentMode.PREPAID
    shipping_address: AddressIn | None = Field(None, description="where the order ships (or give address_id)")
    address_id: Id | None = Field(None, description="an address of your address book (or give shipping_address)")


class OrderTransitionRequest(Request):
    action: Literal["approve", "reject", "cancel"]
    internal_note: Note | None = None
    customer_note: Note | None = None
    expected_version: Version | None = Field(None, description="refuse with 409 if the order moved on")


class NoteRequest(Request):
    internal_note: Note | None = None
    customer_note: Note | None = None


class SupplierIn(Request):
    id: Id | None = Field(None, description="optional stable id; generated when absent")
    name: Name
    contact_emails: list[Email] = Field(min_length=1, max_length=20)


class ProductIn(Request):
    sku: Sku
    name: Name
    supplier_id: Id
    unit_price_cents: Cents
    unit_cost_cents: Cents

    def to_domain(self) -> Product:
        return Product(
            sku=self.sku,
            name=self.name,
            supplier_id=self.supplier_id,
            unit_price_cents=self.unit_price_cents,
            unit_cost_cents=self.unit_cost_cents,
        )


class CampaignIn(Request):
    name: Name
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "EUR"
    products: list[ProductIn] = Field(default_factory=list, max_length=90)


class ProductsIn(Request):
    products: list[ProductIn] = Field(min_length=1, max_length=90)


class GoLiveRequest(Request):
    ends_at: AwareDatetime | None = Field(None, description="default: now + campaign_default_days")
    expected_version: Version | None = None


class CancelCampaignRequest(Request):
    reason: Note
    expected_version: Version | None = None


class CustomerFlagRequest(Request):
    flagged: bool = Field(strict=True)  # true or false, as documented: not "yes" or 1
    reason: Note | None = None


# ---------------------------------------------------------------- views


class Page(View):
    next_cursor: str | None = None


class AddressView(View):
    name: str
    lines: list[str]
    city: str
    postal_code: str
    country: str
    phone: str | None

    @classmethod
    def of(cls, a: Address | None) -> "AddressView | None":
        return None if a is None else cls(**a.as_dict())


class OrderLineView(View):
    sku: str
    name: str
    supplier_id: str
    quantity: int
    unit_price_cents: int
    total_cents: int


class TrackingEntryView(View):
    at: datetime
    status: str
    status_text: str
    description: str | None = None
    location: str | None = None
    carrier_code: str | None = Field(None, description="the carrier's own code (staff views only)")


class ParcelView(View):
    """A shipment carrying (part of) a delivery, with its tracking timeline."""

    id: str
    carrier: str
    carrier_name: str
    tracking_number: str
    tracking_url: str
    status: str
    status_text: str
    status_at: datetime | None
    timeline: list[TrackingEntryView]

    @classmethod
    def of(cls, item: Any, *, staff: bool = False) -> "ParcelView":
        from ..domain.shipments import CARRIERS, CUSTOMER_TEXT

        return cls(
            id=item.shipment_id,
            carrier=item.carrier,
            carrier_name=CARRIERS[item.carrier].name,
            tracking_number=item.tracking_number,
            tracking_url=item.tracking_url,
            status=item.status,
            status_text=CUSTOMER_TEXT.get(item.status, item.status),
            status_at=item.status_at,
            timeline=[
                TrackingEntryView(
                    at=t.occurred_at,
                    status=t.status,
                    status_text=CUSTOMER_TEXT.get(t.status, t.status),
                    description=t.description,
                    location=t.location,
                    carrier_code=t.carrier_code if staff else None,
                )
                for t in item.timeline or []
            ],
        )


class DeliveryView(View):
    supplier_id: str
    status: str
    shipments: list[ParcelView] = Field(default_factory=list)

    @classmethod
    def all_of(cls, record: Any, *, staff: bool = False) -> "list[DeliveryView]":
        return [
            cls(
                supplier_id=d.supplier_id,
                status=d.status.value,
                shipments=[
                    ParcelView.of(p, staff=staff) for p in getattr(record, "shipments", []) if p.supplier_id == d.supplier_id
                ],
            )
            for d in record.order.deliveries
        ]


class PaymentView(View):
    """One money movement of an order (kinds: domain/payments.PaymentKind): a payment at checkout, a capture
    when a delivery ships, a refund, money received offline or collected on delivery, an adjustment."""

    id: str
    kind: str
    supplier_id: str | None
    amount_cents: int
    reason: str | None = None
    currency: str
    status: str
    gateway_reference: str | None
    failure: str | None = None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def all_of(cls, record: Any, *, staff: bool = False) -> "list[PaymentView]":
        return [
            cls(
                id=p.id,
                kind=p.payment_kind,
                supplier_id=p.supplier_id,
                amount_cents=int(p.amount_cents),
                currency=p.currency,
                status=p.status,
                gateway_reference=p.gateway_reference,
                reason=p.reason if staff else None,
                failure=p.failure if staff else None,
                created_at=p.created_at,
                updated_at=p.updated_at,
            )
            for p in getattr(record, "payments", [])
        ]


class OrderMoneyView(View):
    """The order's money in one place; the customer's view and the staff view show the same figures."""

    ordered_cents: int = Field(description="what was ordered (never changes)")
    payable_cents: int = Field(
        description="what the deliveries that still stand cost: refused and cancelled deliveries cost nothing"
    )
    paid_cents: int = Field(description="money taken or received (succeeded payments, captures, transfers, cash)")
    refunded_cents: int = Field(description="money paid back (succeeded refunds)")
    refund_pending_cents: int = Field(description="refunds on their way")
    balance_cents: int = Field(description="what the customer still owes (negative: is still owed back)")

    @classmethod
    def of(cls, record: Any) -> "OrderMoneyView":
        from ..domain.payments import Movement, money

        m = money(
            record.order, [Movement(p.payment_kind, p.status, int(p.amount_cents)) for p in getattr(record, "payments", [])]
        )
        return cls(
            ordered_cents=m.ordered_cents,
            payable_cents=m.payable_cents,
            paid_cents=m.paid_cents,
            refunded_cents=m.refunded_cents,
            refund_pending_cents=m.refund_pending_cents,
            balance_cents=m.balance_cents,
        )


class PaymentRecordRequest(Request):
    kind: Literal["offline_received", "cash_collected", "adjustment"] = Field(
        description="offline_received: an offline order's transfer or cash; cash_collected: a pay-on-delivery "
        "amount the carrier collected; adjustment: a correction by hand (signed, its reason required)"
    )
    amount_cents: Annotated[int, Field(strict=True, ge=-100_000_000, le=100_000_000)]
    reason: Note | None = Field(None, description="why (required for an adjustment): on the audit trail")
    reference: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = Field(
        None, description="the bank transfer's or receipt's reference"
    )
    expected_version: Version | None = Field(None, description="refuse with 409 if the order moved on")


class RefundLineIn(Request):
    sku: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    quantity: Annotated[int, Field(strict=True, ge=1, le=10_000)]


class StaffRefundRequest(Request):
    lines: list[RefundLineIn] | None = Field(
        None, min_length=1, max_length=50, description="lines and quantities to refund at their price"
    )
    amount_cents: Annotated[int, Field(strict=True, ge=1, le=100_000_000)] | None = Field(
        None, description="or an amount (exactly one of lines and amount_cents)"
    )
    reason: Note = Field(description="why: on the audit trail (the customer sees only the amount)")
    reference: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = Field(
        None, description="offline and pay-on-delivery orders: the reference of the transfer that paid it back"
    )
    expected_version: Version | None = Field(None, description="refuse with 409 if the order moved on")


class RefundDecisionRequest(Request):
    note: Note | None = None
    expected_version: Version | None = Field(None, description="refuse with 409 if the order moved on")


class TransferMadeRequest(Request):
    reference: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] = Field(
        description="the bank transfer's reference"
    )
    expected_version: Version | None = Field(None, description="refuse with 409 if the order moved on")


class GiveUpDeliveryRequest(Request):
    reason: Note = Field(description="what happened (internal): e.g. returned to sender, the supplier will not re-ship")
    expected_version: Version | None = Field(None, description="refuse with 409 if the order moved on")


class RefundRejectRequest(Request):
    note: Note = Field(description="why the refund is rejected (required)")
    expected_version: Version | None = Field(None, description="refuse with 409 if the order moved on")


class TimelineEntry(View):
    at: datetime
    status: str | None
    message: str | None
    note: str | None


class ActorView(View):
    sub: str
    role: str
    name: str | None = None


class AuditEventView(View):
    id: str
    type: str
    at: datetime
    actor: ActorView
    from_status: str | None
    to_status: str | None
    internal_note: str | None
    customer_note: str | None
    files: list[str]

    @classmethod
    def of(cls, e: AuditEvent) -> "AuditEventView":
        return cls(
            id=e.id,
            type=e.type,
            at=e.at,
            actor=ActorView(sub=e.actor.sub, role=e.actor.primary_role.value, name=e.actor.name),
            from_status=e.from_status,
            to_status=e.to_status,
            internal_note=e.internal_note,
            customer_note=e.customer_note,
            files=e.files,
        )


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
    def of(cls, record: Any, viewer: Principal) -> "OrderView":
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
            lines=[_line(l) for l in o.lines],
            deliveries=DeliveryView.all_of(record),
            payments=PaymentView.all_of(record),
            money=OrderMoneyView.of(record),
            timeline=timeline,
            allowed_actions=allowed_actions(o, viewer),
            cancellation_requests=CancellationRequestView.all_of(record),
        )


class StaffOrderView(View):
    """An order as staff see it: the full audit trail and the actions this role may take now."""

    id: str
    reference: str
    campaign_id: str
    customer_id: str
    customer_email: str | None
    status: OrderStatus
    payment_mode: PaymentMode
    currency: str
    total_cents: int
    created_at: datetime
    updated_at: datetime
    version: int
    hold_reasons: list[str]
    lines: list[OrderLineView]
    shipping_address: AddressView | None
    deliveries: list[DeliveryView]
    payments: list[PaymentView]
    money: OrderMoneyView
    events: list[AuditEventView]
    allowed_actions: list[str]
    cancellation_requests: list[CancellationRequestView] = Field(
        default_factory=list, description="requests to cancel lines after the close, oldest first"
    )

    @classmethod
    def of(cls, record: Any, viewer: Principal) -> "StaffOrderView":
        o = record.order
        return cls(
            id=o.id,
            reference=order_reference(o.id),
            shipping_address=AddressView.of(o.shipping_address),
            campaign_id=o.campaign_id,
            customer_id=o.customer_id,
            customer_email=o.customer_email,
            status=o.status,
            payment_mode=o.payment_mode,
            currency=o.currency,
            total_cents=o.total_cents,
            created_at=o.created_at,
            updated_at=record.updated_at,
            version=record.version,
            hold_reasons=o.hold_reasons,
            lines=[_line(l) for l in o.lines],
            deliveries=DeliveryView.all_of(record, staff=True),
            payments=PaymentView.all_of(record, staff=True),
            money=OrderMoneyView.of(record),
            events=[AuditEventView.of(e) for e in record.events],
            allowed_actions=allowed_actions(o, viewer),
            cancellation_requests=CancellationRequestView.all_of(record),
        )


def _line(l: Any) -> OrderLineView:
    return OrderLineView(
        sku=l.sku,
        name=l.name,
        supplier_id=l.supplier_id,
        quantity=l.quantity,
        unit_price_cents=l.unit_price_cents,
        total_cents=l.total_cents,
    )


class OrderSummaryView(View):
    id: str
    reference: str
    campaign_id: str
    customer_id: str
    customer_email: str | None
    status: str
    total_cents: int
    currency: str
    created_at: datetime
    supplier_ids: list[str]


class OrderPage(Page):
    items: list[OrderSummaryView]


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


class SupplierView(View):
    id: str
    name: str
    contact_emails: list[str]
    active: bool
    created_at: datetime


class SupplierPage(Page):
    items: list[SupplierView]


class ProductView(View):
    sku: str
    name: str
    supplier_id: str
    unit_price_cents: int
    unit_cost_cents: int


class CampaignView(View):
    id: str
    name: str
    status: CampaignStatus
    currency: str
    buyer_id: str
    buyer_email: str | None
    created_at: datetime
    starts_at: datetime | None
    ends_at: datetime | None
    product_count: int
    supplier_ids: list[str]
    version: int
    products: list[ProductView] | None = None

    @classmethod
    def of(cls, v: Any, with_products: bool = False) -> "CampaignView":
        c = v.campaign
        return cls(
            id=c.id,
            name=c.name,
            status=c.status,
            currency=c.currency,
            buyer_id=c.buyer_id,
            buyer_email=v.buyer_email,
            created_at=v.created_at,
            starts_at=c.starts_at,
            ends_at=c.ends_at,
            product_count=c.product_count,
            supplier_ids=sorted(c.supplier_ids),
            version=v.version,
            products=[ProductView(**p.__dict__) for p in v.products] if with_products else None,
        )


class CampaignPage(Page):
    items: list[CampaignView]


class CustomerProfileView(View):
    id: str
    email: str | None
    flagged: bool
    flag_reason: str | None


class NoteView(View):
    event: AuditEventView


class HealthView(View):
    status: str
    stage: str
    version: str


class CustomerCancelRequest(Request):
    reason: Note | None = Field(None, description="why, in the customer's words")


# ---------------------------------------------------------------- staff: purchase orders


class StaffPOListQuery(PageQuery):
    stage: str | None = Field(
        None,
        pattern=r"^[a-z_]{1,40}$",
        description="a stage (acknowledge ... shipment) or a status (open, rejected, cancelled, shipped)",
    )
    campaign_id: Id | None = None


class StaffPOSummaryView(View):
    id: str
    campaign_id: str
    supplier_id: str
    status: str
    stage: str | None
    stage_deadline: datetime | None
    ordered_cents: int
    accepted_cents: int
    currency: str
    created_at: datetime


class StaffPOPage(Page):
    items: list[StaffPOSummaryView]


class StaffPOLineView(View):
    sku: str
    name: str
    ordered_quantity: int
    unit_cost_cents: int
    accepted_quantity: int | None
    reject_reason: str | None


class ChargeBackView(View):
    """The supplier's share of a complaint's refund, deducted from what the shop owes it."""

    refund_id: str
    complaint_id: str
    order_id: str
    sku: str
    amount_cents: int
    currency: str
    created_at: datetime

    @classmethod
    def all_of(cls, items: Any) -> "list[ChargeBackView]":
        return sorted(
            (
                cls(
                    refund_id=i.refund_id,
                    complaint_id=i.complaint_id,
                    order_id=i.order_id,
                    sku=i.sku,
                    amount_cents=int(i.amount_cents),
                    currency=i.currency,
                    created_at=i.created_at,
                )
                for i in items
            ),
            key=lambda c: (c.created_at, c.refund_id),
        )


class StaffPOView(View):
    id: str
    campaign_id: str
    supplier_id: str
    status: str
    stage: str | None
    stage_open: bool = Field(description="a task token is stored: the stage's action is expected now")
    stage_deadline: datetime | None
    execution_arn: str | None
    reminders: dict[str, int]
    currency: str
    lines: list[StaffPOLineView]
    ordered_cents: int
    accepted_cents: int
    invoiced_cents: int
    proposed_cents: int
    paid_cents: int
    order_count: int
    created_at: datetime
    version: int
    invoices: list[StaffInvoiceView] = Field(description="the supplier's invoices, each with a download link")
    proposals: list[PaymentProposalView]
    shipments: list[POShipmentView]
    charge_backs: list[ChargeBackView] = Field(description="complaint refunds charged back to the supplier")
    charge_back_cents: int = Field(description="their sum: deducted from what the shop owes the supplier")
    events: list[AuditEventView]


class StaffPOCancelRequest(Request):
    internal_note: Note | None = None


# ---------------------------------------------------------------- supplier API and payments (issue 4)

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
PositiveCents = Annotated[int, Field(strict=True, ge=1, le=100_000_000)]
UploadContentType = Literal["application/pdf", "image/png", "image/jpeg"]
FileName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,100}$")]


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


Carrier = Literal["dhl", "ups", "gls", "dpd", "postnord"]  # domain.shipments.CARRIERS (a unit test keeps them equal)
TrackingNumber = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{4,64}$")]


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


# ---------------------------------------------------------------- parcel events recorded by hand (issue 16)

ByHandNote = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
ProofPhotoType = Literal["image/jpeg", "image/png", "image/webp"]  # domain.shipments.PROOF_PHOTO_TYPES (unit test)


class ParcelPhotoUploadRequest(Request):
    content_type: ProofPhotoType


class DeliveredByHandIn(Request):
    note: ByHandNote = Field(
        description="what happened (who signed, where it was left): internal, on the "
        "parcel's audit trail, never shown to the customer"
    )
    delivered_at: AwareDatetime | None = Field(
        None, description="when it was delivered (default now); not in the future, not before the parcel was recorded"
    )
    photo_key: Annotated[str, StringConstraints(min_length=1, max_length=512)] | None = Field(
        None, description="a proof-of-delivery photo: the key POST .../photos returned, uploaded first"
    )
    expected_version: Version | None = Field(None, description="refuse with 409 if the parcel changed since (its `version`)")


class ParcelEventIn(Request):
    status: Literal["delivery_failed", "returned_to_sender"] = Field(
        description="delivery_failed: the carrier tried and failed (the parcel becomes `attempted`); "
        "returned_to_sender: the parcel went back (a delivery_exception for logistics)"
    )
    note: ByHandNote = Field(description="what happened: internal, never shown to the customer")
    at: AwareDatetime | None = Field(
        None, description="when it happened (default now); not in the future, not before the parcel was recorded"
    )
    expected_version: Version | None = Field(None, description="refuse with 409 if the parcel changed since")


class ShipmentDetailView(View):
    """A parcel as staff and its supplier see it: status, version and the tracking timeline with the
    carrier's codes (`manual:<what>` for what was recorded by hand)."""

    id: str
    po_id: str
    supplier_id: str
    carrier: str
    carrier_name: str
    tracking_number: str
    tracking_url: str
    order_ids: list[str]
    status: str
    status_text: str
    status_at: datetime | None
    created_at: datetime
    version: int
    timeline: list[TrackingEntryView]

    @classmethod
    def fields_of(cls, s: Any, version: int) -> dict[str, Any]:
        from ..domain.shipments import CARRIERS, CUSTOMER_TEXT, tracking_url

        return dict(
            id=s.id,
            po_id=s.po_id,
            supplier_id=s.supplier_id,
            carrier=s.carrier,
            carrier_name=CARRIERS[s.carrier].name,
            tracking_number=s.tracking_number,
            tracking_url=tracking_url(s.carrier, s.tracking_number),
            order_ids=list(s.order_ids),
            status=s.status.value,
            status_text=CUSTOMER_TEXT.get(s.status.value, s.status.value),
            status_at=s.status_at,
            created_at=s.created_at,
            version=version,
            timeline=[
                TrackingEntryView(
                    at=t.occurred_at,
                    status=t.status,
                    status_text=CUSTOMER_TEXT.get(t.status, t.status),
                    description=t.description or None,
                    location=t.location,
                    carrier_code=t.carrier_code,
                )
                for t in s.timeline
            ],
        )


class ShipmentByHandView(ShipmentDetailView):
    recorded: bool = Field(
        description="false: the parcel had already ended this way (by its carrier or an earlier record); nothing was written"
    )

    @classmethod
    def of(cls, r: Any) -> "ShipmentByHandView":
        return cls(**cls.fields_of(r.shipment, r.version), recorded=r.recorded)


class ShipmentEventView(AuditEventView):
    file_urls: list[str] = Field(description="presigned GETs of `files` (photos), valid for upload_expiry_s")


class StaffShipmentView(ShipmentDetailView):
    events: list[ShipmentEventView] = Field(
        description="the parcel's audit trail, oldest first: who recorded what by hand, with notes and photos"
    )

    @classmethod
    def of(cls, d: Any, urls: Any) -> "StaffShipmentView":
        return cls(
            **cls.fields_of(d.shipment, d.version),
            events=[
                ShipmentEventView(**AuditEventView.of(e).model_dump(), file_urls=[urls(f) for f in e.files]) for e in d.events
            ],
        )


class ProposalListQuery(PageQuery):
    status: Literal["pending", "approved", "rejected", "pushed", "settled", "failed"] = "pending"


class ProposalDecisionRequest(Request):
    note: Note | None = Field(None, description="internal note for the audit trail")


class ProposalRejectRequest(Request):
    note: Note = Field(description="why it is rejected (required): on the audit trail, for the supplier to act on")


class PresignedUploadView(View):
    url: str
    fields: dict[str, str]
    key: str
    expires_in: int
    max_bytes: int


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


class SupplierPOPage(Page):
    items: list[SupplierPOSummaryView]


class SupplierPOLineView(View):
    sku: str
    name: str
    ordered_quantity: int
    unit_cost_cents: int
    accepted_quantity: int | None
    reject_reason: str | None


class InvoiceView(View):
    id: str
    number: str
    amount_cents: int
    currency: str
    file_key: str
    created_at: datetime


class StaffInvoiceView(InvoiceView):
    download_url: str = Field(description="presigned GET of the invoice's file, valid for upload_expiry_s")


class PaymentProposalView(View):
    id: str
    po_id: str
    supplier_id: str
    campaign_id: str
    amount_cents: int
    currency: str
    status: str
    note: str | None
    created_at: datetime
    updated_at: datetime


class PaymentProposalPage(Page):
    items: list[PaymentProposalView]


class POShipmentView(View):
    id: str
    carrier: str
    tracking_number: str
    tracking_url: str
    status: str
    order_ids: list[str]
    created_at: datetime


class SupplierPODetailView(SupplierPOSummaryView):
    lines: list[SupplierPOLineView]
    invoices: list[InvoiceView]
    proposals: list[PaymentProposalView]
    shipments: list[POShipmentView]
    charge_backs: list[ChargeBackView] = Field(description="complaint refunds charged back to you")
    charge_back_cents: int

    @classmethod
    def detail(cls, d: Any) -> "SupplierPODetailView":
        base = {k: getattr(d.summary, k) for k in SupplierPOSummaryView.model_fields}
        return cls(
            **base,
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
            invoices=[InvoiceView(**i.__dict__) for i in d.invoices],
            proposals=[PaymentProposalView.pick(p) for p in d.proposals],
            shipments=[POShipmentView(**s.__dict__) for s in d.shipments],
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


class WebhookAck(View):
    status: str = Field(description="accepted, or duplicate (already received: no second effect)")
    webhook_id: str


# ---------------------------------------------------------------- exceptions (issue 6)

ExceptionKindName = Literal[
    "supplier_rejected",
    "out_of_stock",
    "po_not_acknowledged",
    "invoice_missing",
    "payment_approval_pending",
    "payment_failed",
    "stage_overdue",
    "shipment_late",
    "tracking_stale",
    "delivery_exception",
    "unknown_tracking",
    "webhook_delivery_failing",
    "inbound_webhook_failed",
    "complaint_open",
    "refund_failed",
    "payment_overdue",
    "manual_refund_due",
    "order_on_hold",
    "campaign_close_waiting",
    "cancellation_requested",
]
SeverityName = Literal["critical", "high", "medium", "low"]
QueueStatus = Literal["open", "acknowledged", "snoozed"]


class ExceptionListQuery(PageQuery):
    kind: list[ExceptionKindName] | None = Field(None, description="one or more kinds, comma-separated")
    severity: list[SeverityName] | None = Field(None, description="one or more severities, comma-separated")
    status: list[QueueStatus] | None = Field(None, description="default: open,acknowledged (snoozed hidden)")
    supplier_id: Id | None = None
    campaign_id: Id | None = None
    assignee: Annotated[str, StringConstraints(pattern=r"^(none|[^@\s]+@[^@\s]+\.[^@\s]+)$", max_length=254)] | None = Field(
        None, description="an assignee's address, or `none` for the unassigned"
    )

    @field_validator("kind", "severity", "status", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        return [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value


class ExceptionView(View):
    id: str
    kind: str
    title: str
    severity: str
    status: str
    owner: str = Field(description="the team that handles this kind: buyer, accounting, logistics, customer_care or admin")
    subject_type: str
    subject_id: str
    supplier_id: str | None
    campaign_id: str | None
    count: int = Field(description="how many times it was seen while open")
    opened_at: datetime
    last_seen: datetime
    level: int = Field(description="escalation level reached: 1 assignee, 2 buyer, 3 admins")
    assignee: str | None
    acknowledged_by: str | None
    snoozed_until: datetime | None
    due_at: datetime | None = Field(
        description="when time next changes it: it opens (pending), wakes (snoozed) or "
        "escalates a level (open, acknowledged); none once resolved"
    )
    resolved_at: datetime | None
    resolution: str | None
    details: dict[str, Any]
    allowed_actions: list[str]
    version: int


class ExceptionCounts(View):
    total: int = Field(description="exceptions matching every filter")
    by_kind: dict[str, int] = Field(description="per kind, over every filter but kind")
    by_severity: dict[str, int] = Field(description="per severity, over every filter but severity")


class ExceptionPage(Page):
    items: list[ExceptionView]
    counts: ExceptionCounts


class ExceptionDetailView(ExceptionView):
    events: list[AuditEventView]


class ExceptionAcknowledgeRequest(Request):
    note: Note | None = None
    expected_version: Version | None = None


class ExceptionAssignRequest(Request):
    assignee: Email | None = Field(description="the staff member's address; null to unassign")
    note: Note | None = None
    expected_version: Version | None = None


class ExceptionSnoozeRequest(Request):
    until: AwareDatetime = Field(description="back in the queue at this time (at most 30 days ahead)")
    note: Note | None = None
    expected_version: Version | None = None


class ExceptionResolveRequest(Request):
    note: Note = Field(description="what was done: kept on the exception and on its subject's history")
    expected_version: Version | None = None


# ---------------------------------------------------------------- notification preferences (issue 6)


class NotificationPreferencesIn(Request):
    opt_out: bool = Field(
        strict=True,
        description="no alert or digest mail at all (transactional mail - your orders, "
        "purchase orders, prompts to act - is always sent)",
    )
    alerts: Literal["immediate", "daily_digest"] = Field(description="alerts as they happen, or gathered in one daily digest")


class NotificationPreferencesView(View):
    email: str
    opt_out: bool
    alerts: Literal["immediate", "daily_digest"]
    transactional: Literal["always"] = Field("always", description="transactional mail cannot be turned off")
    updated_at: datetime | None = None
    updated_by: str | None = None

    @classmethod
    def of(cls, prefs: Any) -> NotificationPreferencesView:
        return cls(
            email=prefs.email,
            opt_out=prefs.opt_out,
            alerts=prefs.alerts.value,
            updated_at=prefs.updated_at,
            updated_by=prefs.updated_by,
        )


# ---------------------------------------------------------------- outbound webhooks (issue 7)

WebhookUrl = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048)]
EventTypeName = Annotated[str, StringConstraints(pattern=r"^[a-z_]+\.[a-z_]+$", max_length=64)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
DeliveryStatusName = Literal["sending", "pending", "succeeded", "failed", "abandoned"]


class WebhookSubscriptionIn(Request):
    url: WebhookUrl = Field(description="https URL (outside local mode) whose host resolves to public addresses only")
    event_types: list[EventTypeName] = Field(
        min_length=1, max_length=64, description="event types to receive (see domain/webhooks.py)"
    )
    description: Description | None = None
    active: bool = Field(True, strict=True)


class WebhookSubscriptionUpdate(Request):
    url: WebhookUrl | None = None
    event_types: list[EventTypeName] | None = Field(None, min_length=1, max_length=64)
    description: Description | None = None
    active: bool | None = Field(None, strict=True, description="true re-enables a disabled subscription")
    expected_version: Version | None = None


class WebhookSubscriptionView(View):
    id: str
    url: str
    event_types: list[str]
    description: str | None
    active: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    secret_rotated_at: datetime | None
    previous_secret_valid_until: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, item: Any, **extra: Any) -> Any:
        return cls(
            id=item.id,
            url=item.url,
            event_types=list(item.event_types),
            description=item.description,
            active=bool(item.active),
            disabled_reason=item.disabled_reason,
            disabled_at=item.disabled_at,
            secret_rotated_at=item.secret_rotated_at,
            previous_secret_valid_until=item.previous_secret_expires_at if item.previous_secret else None,
            created_at=item.created_at,
            updated_at=item.updated_at,
            version=int(item.version),
            **extra,
        )


class WebhookSubscriptionWithSecret(WebhookSubscriptionView):
    secret: str = Field(description="the whsec_ signing secret: shown now and never again")


class WebhookSubscriptionPage(Page):
    items: list[WebhookSubscriptionView]


class WebhookDeliveryListQuery(PageQuery):
    subscription_id: Id | None = None
    status: DeliveryStatusName | None = None


class WebhookAttemptView(View):
    number: int
    at: datetime
    status_code: int | None
    latency_ms: int
    response_excerpt: str | None
    error: str | None


class WebhookDeliveryView(View):
    id: str = Field(description="the webhook id (webhook-id header) every attempt of this delivery carries")
    subscription_id: str
    event_id: str
    event_type: str
    status: str
    attempts_made: int
    next_attempt_at: datetime | None
    replay_of: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, item: Any, **extra: Any) -> Any:
        return cls(
            id=item.id,
            subscription_id=item.subscription_id,
            event_id=item.event_id,
            event_type=item.event_type,
            status=item.status,
            attempts_made=len(item.attempts or []),
            next_attempt_at=item.next_attempt_at if item.status in ("pending", "sending") else None,
            replay_of=item.replay_of,
            created_at=item.created_at,
            updated_at=item.updated_at,
            **extra,
        )


class WebhookDeliveryDetailView(WebhookDeliveryView):
    payload: dict[str, Any]
    attempts: list[WebhookAttemptView]


class WebhookDeliveryPage(Page):
    items: list[WebhookDeliveryView]


# ---------------------------------------------------------------- exports (issue 7)


class ExportRequest(Request):
    kind: Literal["orders", "purchase_orders", "payments", "shipments"]
    format: Literal["csv", "xlsx"] = "csv"
    exporter: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,40}$")] | None = Field(
        None,
        description="an audited exporter (e.g. orders_paid, orders_delivered): each record once per exporter, "
        "a chained exporter only after the one before it; none: a plain export of the window",
    )
    state: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,40}$")] | None = Field(
        None, description="only records in this state"
    )
    created_from: AwareDatetime | None = None
    created_to: AwareDatetime | None = Field(None, description="default (and at most): when the run is requested")


class ExportRunView(View):
    id: str
    kind: str
    format: str
    exporter: str | None
    state: str | None
    created_from: datetime | None
    window_end: datetime = Field(description="records created after this wait for the next run")
    status: Literal["queued", "running", "done", "failed"]
    requested_by: str
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    rows: int = Field(description="rows written (as of the last checkpoint while running)")
    counts: dict[str, int] = Field(
        description="records read by outcome: export, again (resumed), done (already "
        "exported by this exporter), state, waiting (chain)"
    )
    attempts: int
    error: str | None
    size_bytes: int | None
    download_url: str | None = Field(None, description="presigned, when done")
    download_expires_at: datetime | None = None

    @classmethod
    def of(cls, item: Any, download_url: str | None = None, download_expires_at: datetime | None = None) -> ExportRunView:
        counts = item.counts.as_dict() if item.counts else {}
        return cls(
            id=item.id,
            kind=item.export_kind,
            format=item.format,
            exporter=item.exporter,
            state=item.state,
            created_from=item.created_from,
            window_end=item.window_end,
            status=item.status,
            requested_by=item.requested_by,
            requested_at=item.requested_at,
            started_at=item.started_at,
            finished_at=item.finished_at,
            rows=int(item.rows or 0),
            counts={k: int(v) for k, v in counts.items()},
            attempts=int(item.attempts or 0),
            error=item.error,
            size_bytes=None if item.size_bytes is None else int(item.size_bytes),
            download_url=download_url,
            download_expires_at=download_expires_at,
        )


class ExportRunPage(Page):
    items: list[ExportRunView]


class ExportRunDetailView(ExportRunView):
    events: list[AuditEventView]


# ---------------------------------------------------------------- metrics (issue 7)


class StageMetricsView(View):
    stage: str
    completed: int = Field(description="stages completed (cancelled ones do not count)")
    total_seconds: int
    avg_seconds: float | None = Field(description="average time in the stage, from first opening to completion")
    on_time_rate: float | None = Field(description="completed by the deadline first given / completed")
    late: int
    late_share: float | None
    late_seconds: int = Field(description="total time past the deadline, over the late ones")
    avg_lateness_seconds: float | None = Field(description="how late the late ones were, on average")

    @classmethod
    def of(cls, f: Any) -> StageMetricsView:
        return cls(
            stage=f.stage.value,
            completed=f.completed,
            total_seconds=f.seconds,
            avg_seconds=f.avg_seconds,
            on_time_rate=f.on_time_rate,
            late=f.late,
            late_share=f.late_share,
            late_seconds=f.late_seconds,
            avg_lateness_seconds=f.avg_lateness_seconds,
        )


class StageMetricsReport(View):
    stages: list[StageMetricsView] = Field(description="every stage, in workflow order")
    delays: list[StageMetricsView] = Field(
        description="where delays happen: stages that finished late, most total lateness first"
    )

    @classmethod
    def of(cls, report: Any) -> StageMetricsReport:
        return cls(stages=[StageMetricsView.of(f) for f in report.stages], delays=[StageMetricsView.of(f) for f in report.delays])


class SupplierMetricsView(StageMetricsReport):
    supplier_id: str


class CampaignSummaryView(View):
    orders: int = Field(description="orders that stand: placed, less cancelled or refused")
    orders_placed: int
    orders_cancelled: int
    ordered_cents: int = Field(description="what the standing orders were placed for (not money received)")
    received_cents: int = Field(
        description="money received from customers: paid in advance, captured, received offline, collected on delivery"
    )
    refunded_cents: int = Field(description="money paid back to customers (refunds that succeeded)")
    revenue_cents: int = Field(description="money that moved: received less refunded")
    purchase_orders_created: int
    purchase_orders: int = Field(description="purchase orders acknowledged")
    cost_cents: int = Field(description="accepted cost of the acknowledged purchase orders")
    margin_cents: int
    margin_per_order_cents: int | None
    margin_provisional: bool = Field(
        description="true while a purchase order is not yet acknowledged: its cost is unknown and the margin will move"
    )

    @classmethod
    def of(cls, c: Any) -> CampaignSummaryView:
        return cls(
            orders=c.orders,
            orders_placed=c.orders_placed,
            orders_cancelled=c.orders_cancelled,
            ordered_cents=c.ordered_cents,
            received_cents=c.received_cents,
            revenue_cents=c.revenue_cents,
            refunded_cents=c.refunded_cents,
            purchase_orders=c.purchase_orders,
            purchase_orders_created=c.purchase_orders_created,
            cost_cents=c.cost_cents,
            margin_cents=c.margin_cents,
            margin_per_order_cents=c.margin_per_order_cents,
            margin_provisional=c.margin_provisional,
        )


class CampaignMetricsView(StageMetricsReport):
    campaign_id: str
    summary: CampaignSummaryView


# ---------------------------------------------------------------- the signed-in caller and the dashboard (issue 8)


class MeView(View):
    """Who the token says the caller is, and what its roles may do (the admin page shows only that)."""

    sub: str
    email: str | None
    name: str | None
    roles: list[str]
    supplier_id: str | None
    capabilities: list[str] = Field(
        description="names from domain/permissions.CAPABILITIES; `staff` opens the staff console at all"
    )
    vocabularies: dict[str, list[str]] = Field(
        default_factory=dict,
        description="for staff, the words the console offers that no request schema enumerates: "
        "webhook_event_types, complaint_statuses, shipment_statuses (the rest are enums in this document)",
    )


class SupplierOnTimeView(View):
    id: str
    name: str
    completed: int = Field(description="stages completed over all purchase orders")
    late: int
    on_time_rate: float | None


class DashboardView(View):
    orders_by_status: dict[str, int] = Field(description="every order status, from counters kept as orders change")
    open_exceptions: ExceptionCounts = Field(description="the queue: open, acknowledged and snoozed")
    suppliers: list[SupplierOnTimeView] = Field(description="on-time rate over all stages, per supplier")


# ---------------------------------------------------------------- complaints (issue 9)

ComplaintReasonIn = Literal["damaged", "wrong_item", "missing_item", "not_as_described", "lost_in_transit"]
ResolutionIn = Literal["refund", "replacement", "return_for_refund"]
PhotoKey = Annotated[str, StringConstraints(min_length=1, max_length=512)]
PhotoType = Annotated[str, StringConstraints(pattern=r"^image/[a-z0-9.+-]{1,40}$")]


class ComplaintPhotoUploadRequest(Request):
    content_type: PhotoType = Field(description="one of the complaint_photo_types setting")
    size_bytes: int = Field(strict=True, ge=1, le=1_000_000_000, description="checked against the photo limit")
    file_name: FileName | None = None


class ComplaintLineIn(Request):
    sku: Sku
    quantity: int = Field(strict=True, ge=1, le=10_000)


class ComplaintPhotoIn(Request):
    key: PhotoKey = Field(description="the key of a photo uploaded through POST .../complaint-photos")
    content_type: PhotoType
    size_bytes: int = Field(strict=True, ge=1, le=1_000_000_000)


class OpenComplaintRequest(Request):
    supplier_id: Id = Field(description="the delivery complained about: the order's delivery from this supplier")
    reason: ComplaintReasonIn
    wanted_resolution: ResolutionIn
    lines: list[ComplaintLineIn] = Field(min_length=1, max_length=50)
    photos: list[ComplaintPhotoIn] = Field(default_factory=list, max_length=20)
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)] = ""


class ComplaintVersionRequest(Request):
    expected_version: Version | None = Field(None, description="refuse with 409 if the complaint moved on")


class ComplaintDisputeRequest(ComplaintVersionRequest):
    reason: Note = Field(description="why the plan is not acceptable (customer care reads it)")


class ComplaintAskRequest(ComplaintVersionRequest):
    question: Note = Field(description="what the supplier is asked (it sees this)")
    internal_note: Note | None = None


class ComplaintAnswerRequest(ComplaintVersionRequest):
    answer: Note


class PlanLineIn(Request):
    sku: Sku
    resolution: ResolutionIn
    quantity: int = Field(strict=True, ge=1, le=10_000)
    refund_cents: Cents = Field(0, description="0 for a replacement; 1 to what the quantity was paid otherwise")


class ComplaintPlanRequest(ComplaintVersionRequest):
    lines: list[PlanLineIn] = Field(min_length=1, max_length=50)
    internal_note: Note | None = None


class ComplaintSubmitRequest(ComplaintVersionRequest):
    customer_note: Note | None = Field(None, description="shown to the customer with the plan (default: the plan in words)")


class ComplaintApproveRequest(ComplaintVersionRequest):
    internal_note: Note | None = None


class ComplaintRejectRequest(ComplaintVersionRequest):
    note: Note = Field(description="why the plan goes back to customer care")


class ComplaintResolveRequest(ComplaintVersionRequest):
    customer_note: Note | None = None
    internal_note: Note | None = None


class ComplaintNoteRequest(Request):
    internal_note: Note | None = None
    customer_note: Note | None = None


class ParcelIn(Request):
    carrier: Carrier
    tracking_number: TrackingNumber


class ComplaintListQuery(PageQuery):
    status: str | None = Field(
        None,
        pattern=r"^[a-z_]+(,[a-z_]+)*$",
        max_length=400,
        description="one status, or several separated by commas (first page of each)",
    )
    supplier_id: Id | None = None
    order_id: Id | None = Field(None, description="one order's complaints")

    @field_validator("status")
    @classmethod
    def _known(cls, value: str | None) -> str | None:
        from ..domain.complaints import ComplaintStatus

        if value is not None:
            unknown = sorted(set(value.split(",")) - {s.value for s in ComplaintStatus})
            if unknown:
                raise ValueError(f"unknown status {', '.join(unknown)}; one of {', '.join(s.value for s in ComplaintStatus)}")
        return value


class PhotoUploadView(PresignedUploadView):
    pass


class ClaimedLineView(View):
    sku: str
    name: str
    quantity: int
    unit_price_cents: int
    paid_cents: int


class PhotoView(View):
    key: str
    content_type: str
    size_bytes: int
    url: str = Field(description="presigned GET, valid for upload_expiry_s")


class PlanLineView(View):
    sku: str
    resolution: str
    quantity: int
    refund_cents: int
    paid_cents: int
    charge_back_cents: int | None = Field(description="the supplier's share (staff and supplier only)")


class PlanView(View):
    lines: list[PlanLineView]
    refund_cents: int
    charge_back_cents: int | None
    supplier_bears: bool | None
    needs_approval: bool
    proposed_by: str | None
    proposed_at: datetime | None
    approved_by: str | None
    approved_at: datetime | None


class RefundView(View):
    id: str
    sku: str | None
    amount_cents: int
    currency: str
    status: str
    gateway_reference: str | None
    created_at: datetime


class ReturnLineView(View):
    sku: str
    quantity: int
    refund_cents: int


class ParcelRefView(View):
    carrier: str
    tracking_number: str
    status: str
    status_at: datetime | None


class ReturnView(View):
    id: str
    status: str
    lines: list[ReturnLineView]
    instructions: str
    parcel: ParcelRefView | None
    carrier: str | None
    tracking_number: str | None
    authorised_at: datetime
    received_at: datetime | None
    version: int


class ReplacementView(View):
    lines: list[dict[str, Any]]
    status: str = Field(description="requested, dispatched or delivered")
    carrier: str | None
    tracking_number: str | None


class MoneyView(View):
    captured_cents: int
    refunded_cents: int
    refundable_cents: int


class ComplaintSummaryView(View):
    id: str
    order_id: str
    supplier_id: str
    campaign_id: str
    po_id: str | None
    customer_email: str | None
    reason: str
    wanted_resolution: str
    status: str
    opened_at: datetime
    updated_at: datetime
    refund_cents: int
    currency: str
    needs_approval: bool
    version: int

    @classmethod
    def of(cls, item: Any, *, threshold_cents: int, staff: bool = True, customer: bool = False) -> "ComplaintSummaryView":
        from ..domain.complaints import PLAN_WITH_STAFF

        draft = customer and item.status in PLAN_WITH_STAFF  # the customer sees a plan once it is offered
        refund = sum(int(l.refund_cents) for l in item.plan.lines) if item.plan and not draft else 0
        return cls(
            id=item.id,
            order_id=item.order_id,
            supplier_id=item.supplier_id,
            campaign_id=item.campaign_id,
            po_id=item.po_id,
            customer_email=item.customer_email if staff else None,
            reason=item.reason,
            wanted_resolution=item.wanted,
            status=item.status,
            opened_at=item.opened_at,
            updated_at=item.updated_at,
            refund_cents=refund,
            currency=item.currency,
            needs_approval=item.plan is not None and not draft and refund > threshold_cents,
            version=int(item.version),
        )


class ComplaintPage(View):
    items: list[ComplaintSummaryView]
    next_cursor: str | None


class ComplaintListView(View):
    items: list[ComplaintSummaryView]


class ComplaintView(ComplaintSummaryView):
    """A complaint as its reader may see it: the customer gets no internal notes, staff identities,
    charge-backs or supplier answers; the supplier no customer details."""

    customer_id: str | None
    description: str
    lines: list[ClaimedLineView]
    photos: list[PhotoView]
    supplier_question: str | None
    supplier_answer: str | None
    supplier_answered_at: datetime | None
    plan: PlanView | None
    refunds: list[RefundView]
    return_: ReturnView | None = Field(alias="return", serialization_alias="return")
    replacement: ReplacementView | None
    money: MoneyView | None
    approval_threshold_cents: int | None
    allowed_actions: list[str]
    events: list[AuditEventView]

    model_config = ConfigDict(extra="forbid", defer_build=True, populate_by_name=True)

    @classmethod
    def of(
        cls,
        record: Any,
        viewer: Principal,
        *,
        threshold_cents: int,  # type: ignore[override]
        staff: bool = True,
    ) -> "ComplaintView":
        from ..adapters import files
        from ..domain.complaints import PLAN_WITH_STAFF
        from ..domain.complaints import allowed_actions as complaint_actions

        item = record.item
        supplier = not staff and viewer.supplier_id is not None
        customer = not staff and not supplier
        summary = ComplaintSummaryView.of(item, threshold_cents=threshold_cents, staff=staff, customer=customer)
        plan = None
        if item.plan is not None and not (customer and item.status in PLAN_WITH_STAFF):
            lines = [
                PlanLineView(
                    sku=l.sku,
                    resolution=l.resolution,
                    quantity=int(l.quantity),
                    refund_cents=int(l.refund_cents),
                    paid_cents=int(l.paid_cents),
                    charge_back_cents=None if customer else int(l.charge_back_cents),
                )
                for l in item.plan.lines
            ]
            plan = PlanView(
                lines=lines,
                refund_cents=summary.refund_cents,
                charge_back_cents=None if customer else sum(int(l.charge_back_cents) for l in item.plan.lines),
                supplier_bears=None if customer else bool(item.plan.supplier_bears),
                needs_approval=summary.needs_approval,
                proposed_by=item.plan.proposed_by if staff else None,
                proposed_at=item.plan.proposed_at if staff else None,
                approved_by=item.plan.approved_by if staff else None,
                approved_at=item.plan.approved_at if staff else None,
            )
        rma = record.rma
        return_view = None
        if rma is not None:
            parcel = ParcelRefView.pick(rma.parcel) if rma.parcel is not None else None
            return_view = ReturnView(
                id=rma.id,
                status=rma.status,
                instructions=rma.instructions,
                parcel=parcel,
                carrier=parcel.carrier if parcel else None,
                tracking_number=parcel.tracking_number if parcel else None,
                lines=[ReturnLineView(sku=l.sku, quantity=int(l.quantity), refund_cents=int(l.refund_cents)) for l in rma.lines],
                authorised_at=rma.authorised_at,
                received_at=rma.received_at,
                version=int(rma.version),
            )
        replacement = None
        if item.replacement_lines:
            parcel = item.replacement
            replacement = ReplacementView(
                lines=[{"sku": l.sku, "quantity": int(l.quantity)} for l in item.replacement_lines],
                status=parcel.status if parcel else "requested",
                carrier=parcel.carrier if parcel else None,
                tracking_number=parcel.tracking_number if parcel else None,
            )
        events = [AuditEventView.of(e) for e in record.events]
        if not staff:
            events = [
                e.model_copy(update={"internal_note": None, "actor": ActorView(sub="", role=e.actor.role)})
                for e in events
                if e.customer_note or supplier
            ]
        money = record.money
        return cls(
            **summary.model_dump(),
            customer_id=item.customer_id if staff else None,
            description=item.description or "",
            lines=[
                ClaimedLineView(
                    sku=l.sku,
                    name=l.name,
                    quantity=int(l.quantity),
                    unit_price_cents=int(l.unit_price_cents),
                    paid_cents=int(l.quantity) * int(l.unit_price_cents),
                )
                for l in item.lines
            ],
            photos=[
                PhotoView(key=p.key, content_type=p.content_type, size_bytes=int(p.size_bytes), url=files.presigned_get(p.key))
                for p in item.photos or []
            ],
            supplier_question=item.supplier_question if not customer else None,
            supplier_answer=item.supplier_answer if not customer else None,
            supplier_answered_at=item.supplier_answered_at if not customer else None,
            plan=plan,
            refunds=[
                RefundView(
                    id=r.id,
                    sku=r.sku,
                    amount_cents=int(r.amount_cents),
                    currency=r.currency,
                    status=r.status,
                    gateway_reference=r.gateway_reference if staff else None,
                    created_at=r.created_at,
                )
                for r in record.refunds
            ]
            if not supplier
            else [],
            return_=return_view,
            replacement=replacement,
            money=MoneyView(
                captured_cents=money.captured_cents, refunded_cents=money.refunded_cents, refundable_cents=money.refundable_cents
            )
            if staff and money is not None
            else None,
            approval_threshold_cents=threshold_cents if staff else None,
            allowed_actions=complaint_actions(record.complaint, viewer),
            events=events,
        )


class SupplierChargeBackView(View):
    supplier_id: str
    po_id: str
    amount_cents: int
    currency: str
    count: int


class CampaignChargeBacksView(View):
    campaign_id: str
    suppliers: list[SupplierChargeBackView]


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

    def address_changes(self) -> dict[str, Any]:
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
    def of(cls, a: Any) -> "SavedAddressView":
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


class PackingLineView(View):
    sku: str
    name: str
    quantity: int


class PackingEntryView(View):
    reference: str = Field(description="the order's short reference: write it on the parcel")
    order_id: str = Field(description="what POST .../shipments takes in order_ids")
    delivery_status: str
    has_left: bool = Field(description="dispatched or delivered: a parcel with it has been recorded")
    lines: list[PackingLineView] = Field(description="what to pack: the lines and quantities you accepted")
    ship_to: AddressView | None = Field(description="null when address_visible is false")
    address_visible: bool = Field(
        description="a supplier sees the address only while the delivery is open: "
        "until it is delivered and the complaint window has passed"
    )
    delivered_at: datetime | None
    ordered_at: datetime

    @classmethod
    def of(cls, e: Any) -> "PackingEntryView":
        return cls(
            reference=e.reference,
            order_id=e.order_id,
            delivery_status=e.status.value,
            has_left=e.has_left,
            lines=[PackingLineView(sku=l.sku, name=l.name, quantity=l.quantity) for l in e.lines],
            ship_to=AddressView.of(e.ship_to),
            address_visible=e.address_visible,
            delivered_at=e.delivered_at,
            ordered_at=e.ordered_at,
        )


class PackingListPage(Page):
    po_id: str
    items: list[PackingEntryView] = Field(description="orders with an accepted (or later) delivery, oldest first")

    @classmethod
    def of(cls, page: Any) -> "PackingListPage":
        return cls(po_id=page.po_id, items=[PackingEntryView.of(e) for e in page.entries], next_cursor=page.cursor)


class PackingListFileView(View):
    url: str = Field(description="presigned GET of the CSV, valid for expires_in seconds")
    key: str
    file_name: str
    rows: int = Field(description="one row per (order, line)")
    orders: int
    size_bytes: int
    expires_in: int


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


class CancellationDecisionIn(Request):
    accept: bool = Field(strict=True, description="true cancels the lines; false refuses the request")
    note: Note | None = Field(None, description="what the customer reads with the decision: required when refusing")
    expected_version: Version | None = Field(None, description="refuse with 409 if the request moved on")


class CancellationLineView(View):
    sku: str
    name: str
    quantity: int


class CancellationRequestView(View):
    """A request, after the close, to cancel lines of one supplier's delivery (one per supplier concerned)."""

    id: str
    order_id: str
    reference: str
    supplier_id: str
    po_id: str
    status: Literal["requested", "accepted", "refused"]
    lines: list[CancellationLineView] = Field(description="what is asked for")
    everything: bool = Field(description="the customer asked for everything not yet dispatched")
    reason: str
    requested_at: datetime
    decided_at: datetime | None
    decision_note: str | None
    cancelled_cents: int | None = Field(description="what accepting it cancelled (null until accepted)")
    version: int

    @classmethod
    def of(cls, item: Any) -> "CancellationRequestView":
        return cls(
            id=item.id,
            order_id=item.order_id,
            reference=item.reference,
            supplier_id=item.supplier_id,
            po_id=item.po_id,
            status=item.status,
            lines=[CancellationLineView(sku=l.sku, name=l.name, quantity=int(l.quantity)) for l in item.lines],
            everything=bool(item.everything),
            reason=item.reason,
            requested_at=item.requested_at,
            decided_at=item.decided_at,
            decision_note=item.decision_note,
            cancelled_cents=None if item.cancelled_cents is None else int(item.cancelled_cents),
            version=int(item.version),
        )

    @classmethod
    def all_of(cls, record: Any) -> "list[CancellationRequestView]":
        return [cls.of(i) for i in getattr(record, "cancellation_requests", [])]


class CancellationRequestList(View):
    items: list[CancellationRequestView]


class CancellationRequestPage(Page):
    po_id: str
    items: list[CancellationRequestView]


class AddressCorrectionIn(Request):
    shipping_address: AddressIn = Field(description="where the order ships from now on (checked as at placement)")
    note: Note | None = Field(None, description="internal: why (staff only)")
    expected_version: Version | None = Field(None, description="the order's version: refuse with 409 if it moved on")
