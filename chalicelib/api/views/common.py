"""Views and request models more than one audience sees: the base classes, error bodies, paging, the parts of an
order, a parcel and a purchase order that customers, suppliers and staff share, and who-am-I."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal, Self, cast

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from ...domain.addresses import CITY_MAX, LINE_MAX, MAX_LINES, NAME_MAX, Address
from ...domain.audit import AuditEvent

if TYPE_CHECKING:
    from ...domain.orders import OrderLine
    from ...domain.packing import PackingEntry
    from ...domain.shipments import Shipment
    from ...services.notify import Preferences
    from ...services.orders import OrderRecord
    from ...services.packing import PackingPage
    from ...services.ports_orders import RequestRead, ShipmentCopy
    from ...services.ports_purchase_orders import ChargeBack
    from ...services.tracking import ByHandResult

Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
Sku = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
# The languages the customer's e-mails speak (chalicelib/i18n SUPPORTED; a unit test keeps them equal).
Locale = Literal["en", "vi"]
Cents = Annotated[int, Field(strict=True, ge=0, le=100_000_000)]
Version = Annotated[int, Field(strict=True, ge=1)]


# defer_build: each model builds its validator on first use, not at `import app` (cold start).
class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class View(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    @classmethod
    def pick(cls, source: object) -> Self:
        """The view of any object that carries (at least) this view's fields as attributes: a service result
        whose fields the view repeats (tests/unit/test_views.py holds the two field lists together)."""
        return cls(**{k: getattr(source, k) for k in cls.model_fields})


# ---------------------------------------------------------------- errors


class ErrorDetail(View):
    field: str | None = None
    message: str
    type: str | None = None
    # A 409 from a stale expected_version (services/conflicts.py): the version now, and who made the
    # change that won, when, and which change it was (its audit event's type).
    current_version: int | None = None
    changed_by: str | None = None
    changed_at: str | None = Field(None, description="ISO 8601")
    change: str | None = None


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

    @classmethod
    def of(cls, line: OrderLine) -> OrderLineView:
        return cls.pick(line)


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
    def of(cls, item: ShipmentCopy, *, staff: bool = False) -> ParcelView:
        from ...domain.shipments import CARRIERS, CUSTOMER_TEXT

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
    def all_of(cls, record: OrderRecord, *, staff: bool = False) -> list[DeliveryView]:
        return [
            cls(
                supplier_id=d.supplier_id,
                status=d.status.value,
                shipments=[ParcelView.of(p, staff=staff) for p in record.shipments if p.supplier_id == d.supplier_id],
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
    def all_of(cls, record: OrderRecord, *, staff: bool = False) -> list[PaymentView]:
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
            for p in record.payments
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
    def of(cls, record: OrderRecord) -> OrderMoneyView:
        from ...domain.payments import Movement, money

        m = money(record.order, [Movement(p.payment_kind, p.status, int(p.amount_cents)) for p in record.payments])
        return cls(
            ordered_cents=m.ordered_cents,
            payable_cents=m.payable_cents,
            paid_cents=m.paid_cents,
            refunded_cents=m.refunded_cents,
            refund_pending_cents=m.refund_pending_cents,
            balance_cents=m.balance_cents,
        )


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


class HealthView(View):
    status: str
    stage: str
    version: str


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
    def all_of(cls, items: Iterable[ChargeBack]) -> list[ChargeBackView]:
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


FileName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,100}$")]


Carrier = Literal["dhl", "ups", "gls", "dpd", "postnord"]  # domain.shipments.CARRIERS (a unit test keeps them equal)
TrackingNumber = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{4,64}$")]


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
    def of_parcel(cls, s: Shipment, version: int) -> ShipmentDetailView:
        """The fields every parcel view shares (the subclasses add theirs to these)."""
        from ...domain.shipments import CARRIERS, CUSTOMER_TEXT, tracking_url

        return ShipmentDetailView(
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
    def of(cls, r: ByHandResult) -> ShipmentByHandView:
        return cls(**dict(ShipmentDetailView.of_parcel(r.shipment, r.version)), recorded=r.recorded)


class PresignedUploadView(View):
    url: str
    fields: dict[str, str]
    key: str
    expires_in: int
    max_bytes: int


class InvoiceView(View):
    id: str
    number: str
    amount_cents: int
    currency: str
    file_key: str
    created_at: datetime


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


class POShipmentView(View):
    id: str
    carrier: str
    tracking_number: str
    tracking_url: str
    status: str
    order_ids: list[str]
    created_at: datetime


# ---------------------------------------------------------------- notification preferences (issue 6)


class POShipmentPage(Page):
    items: list[POShipmentView]


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
    transactional: Literal["always"] = Field(default="always", description="transactional mail cannot be turned off")
    updated_at: datetime | None = None
    updated_by: str | None = None

    @classmethod
    def of(cls, prefs: Preferences) -> NotificationPreferencesView:
        return cls(
            email=prefs.email,
            opt_out=prefs.opt_out,
            alerts=prefs.alerts.value,
            updated_at=prefs.updated_at,
            updated_by=prefs.updated_by,
        )


class ProfileIn(Request):
    locale: Locale = Field(description="the language of your own e-mails (orders, complaints)")


class ProfileView(View):
    email: str
    locale: Locale = Field(description="the language of your own e-mails; the default until you choose one")
    chosen: bool = Field(description="whether you chose it (else it is the default)")

    @classmethod
    def of(cls, prefs: Preferences, default: str) -> ProfileView:
        return cls(email=prefs.email, locale=cast(Locale, prefs.locale or default), chosen=prefs.locale is not None)


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
    def of(cls, e: PackingEntry) -> PackingEntryView:
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
    def of(cls, page: PackingPage) -> PackingListPage:
        return cls(po_id=page.po_id, items=[PackingEntryView.of(e) for e in page.entries], next_cursor=page.cursor)


class PackingListFileView(View):
    url: str = Field(description="presigned GET of the CSV, valid for expires_in seconds")
    key: str
    file_name: str
    rows: int = Field(description="one row per (order, line)")
    orders: int
    size_bytes: int
    expires_in: int


class CancellationDecisionIn(Request):
    accept: bool = Field(strict=True, description="true cancels the lines; false refuses the request")
    note: Note | None = Field(None, description="what the customer reads with the decision: required when refusing")
    expected_version: Version | None = Field(None, description="refuse with 409 if the request moved on")


class CancellationLineView(View):
    sku: str
    name: str
    quantity: int


CancellationStatus = Literal["requested", "accepted", "refused"]
_CANCELLATION_STATUS: dict[str, CancellationStatus] = {s: s for s in ("requested", "accepted", "refused")}


class CancellationRequestView(View):
    """A request, after the close, to cancel lines of one supplier's delivery (one per supplier concerned)."""

    id: str
    order_id: str
    reference: str
    supplier_id: str
    po_id: str
    status: CancellationStatus
    lines: list[CancellationLineView] = Field(description="what is asked for")
    everything: bool = Field(description="the customer asked for everything not yet dispatched")
    reason: str
    requested_at: datetime
    decided_at: datetime | None
    decision_note: str | None
    cancelled_cents: int | None = Field(description="what accepting it cancelled (null until accepted)")
    version: int

    @classmethod
    def of(cls, read: RequestRead) -> CancellationRequestView:
        r = read.value
        return cls(
            id=r.id,
            order_id=r.order_id,
            reference=r.reference,
            supplier_id=r.supplier_id,
            po_id=r.po_id,
            status=_CANCELLATION_STATUS[r.status],
            lines=[CancellationLineView(sku=l.sku, name=l.name, quantity=l.quantity) for l in r.lines],
            everything=r.everything,
            reason=r.reason,
            requested_at=r.requested_at,
            decided_at=r.decided_at,
            decision_note=r.decision_note,
            cancelled_cents=r.cancelled_cents,
            version=read.version,
        )

    @classmethod
    def all_of(cls, record: OrderRecord) -> list[CancellationRequestView]:
        return [cls.of(i) for i in record.cancellation_requests]
