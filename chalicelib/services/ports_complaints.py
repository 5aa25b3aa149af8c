"""The complaints area's part of the storage port (`services.ports.Store` inherits `ComplaintsReads`).

Kinds a store keeps for the area, each saved under its version like any other (`Save` with None: a
create, refused when it exists):

- `StoredComplaint` (key: the complaint id): the domain's `Complaint` with what the shop keeps beside
  it (the order's campaign, PO, currency and customer e-mail, the line names, the supplier's question
  and answer, the plan's approval, the replacement and its parcel). Its audit events are `Record`s with
  subject type "complaint"; its return authorisation and its history share one read with it.
- `StoredReturn` (key: complaint id, return id): a return authorisation with its instructions and parcel.
- `ComplaintParcel` (key: carrier, tracking number): which complaint a return or replacement parcel
  belongs to, so carrier events for the number reach it; created once, never changed.
- `DeliveryClaims` (key: order id, supplier id): how many complaints were opened on one delivery, saved
  under its version with each new complaint so that two opened at once cannot both claim the same units.
- `ports_purchase_orders.ChargeBack` (key: PO id, refund id): the supplier's share of a refund, created
  once with the refund; the PO's file reads it (`PurchaseOrdersReads.po_file`), the campaign's
  charge-backs below.

A refund a complaint decides is the money area's `ports_money.Payment` (kind "refund"); what
complaints refunded on an order in all (the order's refund ledger) moves by `AddRefunded`, a change of
a commit like `Save`: an ADD, under the condition that the total stays within what the order captured.
Opening a complaint and paying its refunds read the order as `complaint_order` (one read).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from ..domain.audit import AuditEvent
from ..domain.complaints import Complaint, ReturnAuthorisation
from ..domain.orders import Order
from .ports_common import Page, Versioned
from .ports_money import Payment
from .ports_orders import ShipmentCopy
from .ports_purchase_orders import ChargeBack


@dataclass(frozen=True)
class Parcel:
    """A return or replacement parcel: where it is, as its carrier reports it."""

    carrier: str
    tracking_number: str
    status: str
    status_at: datetime | None = None


@dataclass(frozen=True)
class SkuQuantity:
    sku: str
    quantity: int


@dataclass
class StoredComplaint:
    """A complaint as the shop keeps it (see the module docstring)."""

    complaint: Complaint
    customer_email: str | None
    campaign_id: str
    po_id: str | None
    currency: str
    updated_at: datetime
    line_names: dict[str, str] = field(default_factory=dict)
    supplier_question: str | None = None
    supplier_answer: str | None = None
    supplier_answered_at: datetime | None = None
    plan_approved_by: str | None = None
    plan_approved_at: datetime | None = None
    replacement_lines: list[SkuQuantity] = field(default_factory=list)
    replacement: Parcel | None = None

    @property
    def id(self) -> str:
        return self.complaint.id


@dataclass
class StoredReturn:
    """A return authorisation as kept with its complaint: the domain's, the instructions the customer
    reads, the parcel it travels in and when it last changed."""

    rma: ReturnAuthorisation
    instructions: str
    updated_at: datetime
    parcel: Parcel | None = None


@dataclass(frozen=True)
class ComplaintParcel:
    """Which complaint a return or replacement parcel (`purpose`: "return" or "replacement") belongs to."""

    carrier: str
    tracking_number: str
    complaint_id: str
    order_id: str
    purpose: str
    created_at: datetime


@dataclass(frozen=True)
class DeliveryClaims:
    """How many complaints were opened on the order's delivery by the supplier."""

    order_id: str
    supplier_id: str
    complaints: int


@dataclass(frozen=True)
class ComplaintFile:
    """A complaint as one read: the complaint and its version, its return (if one was authorised) with
    its version, and its audit events, oldest first."""

    complaint: Versioned[StoredComplaint]
    rma: Versioned[StoredReturn] | None = None
    events: list[AuditEvent] = field(default_factory=list)


@dataclass(frozen=True)
class ComplaintOrder:
    """An order as complaints read it: the order with its version, its payments (oldest first, each
    with its version), what complaints refunded on it (its refund ledger; 0 before the first refund),
    the customers' copies of its parcels (oldest first) and each delivery's claims (by supplier id)."""

    order: Versioned[Order]
    payments: list[Versioned[Payment]] = field(default_factory=list)
    refunded_cents: int = 0
    shipments: list[ShipmentCopy] = field(default_factory=list)
    claims: dict[str, Versioned[DeliveryClaims]] = field(default_factory=dict)


@dataclass(frozen=True)
class AddRefunded:
    """A change of a commit: add `cents` (negative: give back) to what complaints refunded on the order.
    With `captured_cents`, only while what was refunded before stays within `captured_cents - cents`
    (or nothing was refunded yet); otherwise the whole commit is a `Conflict`."""

    order_id: str
    cents: int
    captured_cents: int | None = None


class ComplaintsReads(Protocol):
    """The named reads of the complaints area."""

    def complaint_file(self, complaint_id: str) -> ComplaintFile | None:
        """The complaint with its return and history, or None when there is no such complaint: one read
        (on DynamoDB one Query of the complaint's partition)."""
        ...

    def complaints_of_order(self, order_id: str) -> list[Versioned[StoredComplaint]]:
        """Every complaint about the order (an order has a handful), oldest first: one Query of the
        order's complaint index partition, every page."""
        ...

    def complaints_of_po(self, po_id: str) -> list[Versioned[StoredComplaint]]:
        """Every complaint about the PO's delivery, newest first: one Query of the PO's index partition."""
        ...

    def complaints_listing(
        self, *, status: str | None, supplier_id: str | None, limit: int, cursor: str | None = None
    ) -> Page[Versioned[StoredComplaint]]:
        """Complaints in `status` (None: all), of `supplier_id` when given, newest first; one Query page
        of the status index (or the all-complaints one). The supplier is a filter on the page read, so a
        page may hold fewer than `limit` even when a cursor follows."""
        ...

    def returns_of_complaint(self, complaint_id: str) -> list[Versioned[StoredReturn]]:
        """The complaint's return authorisations (none or one today), by id: one Query of the
        complaint's partition, its returns only."""
        ...

    def complaint_order(self, order_id: str) -> ComplaintOrder | None:
        """The order as complaints read it (`ComplaintOrder`), or None when there is no such order: one
        read (on DynamoDB one Query of the order's partition)."""
        ...

    def supplier_po(self, campaign_id: str, supplier_id: str) -> str | None:
        """The id of the campaign's PO to that supplier, if one was issued: one read (a Query of the
        campaign's POs index, keyed on the supplier)."""
        ...

    def campaign_charge_backs(self, campaign_id: str) -> list[ChargeBack]:
        """Every charge-back of the campaign's suppliers, by supplier then refund id: one Query of the
        campaign's charge-back index partition, every page."""
        ...
