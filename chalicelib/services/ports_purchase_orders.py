"""The purchase-order area of the storage port (`services.ports`): its stored records and reads.

A purchase order is stored as a `PORecord`: the domain `PurchaseOrder` plus the workflow's hold on it
(the open stage's task token, the stage's deadline, the execution). Those three belong to the
Step Functions machinery, not to the domain rules, so they live here beside the domain object rather
than in it; a stage action saves the record it loaded, changed or not, so a save never drops them by
accident. `load(PurchaseOrder, id)` still answers the domain object alone, and `Save(PurchaseOrder,
None)` still creates one (a record without a stage open); changing one goes through its record.

The PO's documents live with it: invoices (created with the invoice stage, never changed) and payment
proposals (pending -> approved | rejected -> pushed -> settled | failed, versioned). Its shipment
pointers and charge-backs are written by other areas (shipments, complaints) and read here with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from ..domain.audit import AuditEvent
from ..domain.campaigns import Campaign
from ..domain.purchase_orders import PurchaseOrder
from .ports_common import Page, Versioned


@dataclass
class PORecord:
    """A purchase order as stored: the domain object and the workflow's hold on it (None between
    stages: no stage is waiting for an answer)."""

    po: PurchaseOrder
    task_token: str | None = None
    stage_deadline: datetime | None = None
    execution_arn: str | None = None
    updated_at: datetime | None = None  # when it was last saved: the store sets it on every save


@dataclass(frozen=True)
class InvoiceRecord:
    """An invoice the supplier filed with the invoice stage (created once, never changed)."""

    id: str
    po_id: str
    supplier_id: str
    number: str
    amount_cents: int
    currency: str
    file_key: str
    created_at: datetime


@dataclass
class PaymentProposal:
    """A proposal to pay a PO's supplier; its id names the PO (`proposal_id`), so it loads by id alone."""

    id: str
    po_id: str
    supplier_id: str
    campaign_id: str
    amount_cents: int
    currency: str
    status: str
    created_at: datetime
    updated_at: datetime
    note: str | None = None
    decided_by: str | None = None
    bank_reference: str | None = None
    failure: str | None = None


PROPOSAL_ID_SEPARATOR = "."


def proposal_id(po_id: str, unique: str) -> str:
    """A proposal id names its PO, so approving or settling it by id is one read."""
    return f"{po_id}{PROPOSAL_ID_SEPARATOR}{unique}"


def proposal_po(proposal_id_: str) -> str | None:
    """The PO a proposal id names; None for an id no proposal can have."""
    po_id, sep, rest = proposal_id_.partition(PROPOSAL_ID_SEPARATOR)
    return po_id if sep and po_id and rest else None


@dataclass(frozen=True)
class POShipment:
    """A parcel of the PO as the PO keeps it (its pointer; the parcel itself is the shipments area's)."""

    id: str
    po_id: str
    supplier_id: str
    carrier: str
    tracking_number: str
    order_ids: list[str]
    status: str
    created_at: datetime


@dataclass(frozen=True)
class ChargeBack:
    """The supplier's share of a complaint's refund, kept with the PO it is deducted from."""

    refund_id: str
    complaint_id: str
    order_id: str
    po_id: str
    supplier_id: str
    campaign_id: str
    sku: str
    amount_cents: int
    currency: str
    created_at: datetime


@dataclass
class POFile:
    """A PO with everything kept with it, as one read: its record and version, its audit events
    (oldest first: the PO's own and its proposals'), invoices, proposals, shipments and charge-backs
    (each oldest first)."""

    record: PORecord
    version: int
    events: list[AuditEvent] = field(default_factory=list)
    invoices: list[InvoiceRecord] = field(default_factory=list)
    proposals: list[PaymentProposal] = field(default_factory=list)
    shipments: list[POShipment] = field(default_factory=list)
    charge_backs: list[ChargeBack] = field(default_factory=list)
    shipments_cursor: str | None = None  # read with `parcels`: the next page of `po_parcels`


class PurchaseOrdersReads(Protocol):
    """The purchase-order area's access patterns (see `services.ports` for `Page` and cursors)."""

    def proposal_with_po(self, proposal_id: str) -> tuple[Versioned[PaymentProposal] | None, Versioned[PORecord] | None]:
        """A payment proposal and the PO it names (a proposal id names its PO), each None when absent:
        one read (on DynamoDB one BatchGetItem of the two keys)."""
        ...

    def po_file(self, po_id: str, *, parcels: int | None = None, events: bool = True) -> POFile | None:
        """The PO with its events and documents (`POFile`), or None: one query of its partition (never
        its per-order shipped markers). With `parcels`, only the first `parcels` shipments, the next page
        named by `shipments_cursor` (`po_parcels`): then one query of the partition before its parcels
        and one page of parcels, so a PO with many parcels is read a page at a time. Without `events`
        (a reader that shows none) the events are not read either (`events` empty): on DynamoDB the
        partition is then read around them (one query more), so nothing read grows with the parcels."""
        ...

    def po_parcels(self, po_id: str, *, limit: int, cursor: str | None = None) -> Page[POShipment]:
        """The PO's shipments, oldest first, one page of up to `limit` (on DynamoDB one Query)."""
        ...

    def supplier_pos(
        self, supplier_id: str, *, status: str | None = None, stage: str | None = None, limit: int, cursor: str | None = None
    ) -> Page[Versioned[PORecord]]:
        """The supplier's POs, newest first (created, then id), optionally only those in a status and/or
        a stage. One query per page; a filtered page may hold fewer than `limit` with a cursor after."""
        ...

    def campaign_pos(
        self, campaign_id: str, *, stage_or_status: str | None = None, limit: int, cursor: str | None = None
    ) -> Page[Versioned[PORecord]]:
        """The campaign's POs by supplier id, optionally only those whose stage or status is the one
        given. One query per page; a filtered page may hold fewer than `limit` with a cursor after."""
        ...

    def pos_in(
        self, stage_or_status: str, *, limit: int, cursor: str | None = None, newest_first: bool = True
    ) -> Page[Versioned[PORecord]]:
        """The POs waiting in a stage (an open PO) or ending in a status (a finished one), newest
        first (or oldest first: the staff home's POs nearest their deadline). One query per page."""
        ...

    def proposals_in(self, status: str, *, limit: int, cursor: str | None = None) -> Page[Versioned[PaymentProposal]]:
        """The payment proposals in a status, oldest first (created, then id). One query per page."""
        ...

    def po_proposals(self, po_id: str) -> list[Versioned[PaymentProposal]]:
        """Every payment proposal of a PO, oldest first: one query of the PO's proposals."""
        ...

    def campaigns_by_id(self, campaign_ids: Iterable[str]) -> dict[str, Campaign]:
        """The campaigns of those ids that exist, by id: one batch read (none for no ids)."""
        ...
