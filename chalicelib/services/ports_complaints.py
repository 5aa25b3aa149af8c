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

The money of an order (captures, refunds, the refund ledger) is the payments area's and not here yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from ..domain.audit import AuditEvent
from ..domain.complaints import Complaint, ReturnAuthorisation
from .ports_common import Page, Versioned
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

    def campaign_charge_backs(self, campaign_id: str) -> list[ChargeBack]:
        """Every charge-back of the campaign's suppliers, by supplier then refund id: one Query of the
        campaign's charge-back index partition, every page."""
        ...
