"""The storage port: what services ask of storage, in domain terms (issue 17, point 1).

A service loads an aggregate by id with the version it read, changes it in the domain, and commits
the new state together with its audit events as ONE transaction of `Change`s: every `Save` and
`Remove` names the version it expects (None: the aggregate must not exist yet). A stale version is a
`Conflict`; a create of something that exists already is an `AlreadyExists`; a failing part leaves
nothing written. Reads that are not "by id" are named access patterns, one method each, paged with an
opaque cursor (a cursor from another listing is a `RuleViolation("invalid_cursor")`).

Two implementations: `adapters.dynamodb.store` (the single table; the same requests as the helpers it
is built on) and `adapters.memory` (dicts of domain objects, for service tests). One contract suite
(tests/contract) holds both to this docstring. Services obtain the one in use from `services.uow.store()`.

Moving a service onto the port, the pattern: name each read it makes as a method here (one per access
pattern, answering domain objects), implement it in both stores from the helpers the service used
(same requests), give the contract suite a test per method, replace the service's items and keys by
`load` / the named read / `commit([Save, Remove, Record, ...])`, add its module to `MOVED` in
tests/unit/test_layering.py, and give its service tests a unit-speed copy in tests/services.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol, TypeAlias, TypeVar

from ..domain.addresses import Address
from ..domain.audit import AuditEvent
from ..domain.campaigns import Campaign, CampaignStatus, Product
from ..domain.orders import Order
from ..domain.packing import PackingEntry
from ..domain.purchase_orders import PurchaseOrder, Stage
from .ports_access import AccessReads
from .ports_assignments import AssignmentReads
from .ports_close import CloseProgress, CloseReads
from .ports_common import Page as Page  # re-exported: every service and store imports them from here
from .ports_common import Versioned as Versioned
from .ports_complaints import AddRefunded as AddRefunded  # a change of a commit, like the others here
from .ports_complaints import ComplaintsReads
from .ports_consumers import ConsumerRecords
from .ports_deadlines import ClearDeadline as ClearDeadline  # changes of a commit, like the others here
from .ports_deadlines import DeadlineWrites
from .ports_deadlines import SetDeadline as SetDeadline
from .ports_exceptions import CountExceptions as CountExceptions  # a change of a commit, like the others here
from .ports_exceptions import ExceptionsReads
from .ports_exports import ExportsReads
from .ports_money import MoneyReads
from .ports_orders import OrdersReads
from .ports_outbound import OutboundReads
from .ports_purchase_orders import PurchaseOrdersReads
from .ports_sales import CountSales as CountSales  # a change of a commit, like the others here
from .ports_sales import SalesReads
from .ports_search import SearchReads
from .ports_shipments import ShipmentsReads
from .ports_track import TrackReads
from .ports_trends import TrendReads

T = TypeVar("T")


# ---------------------------------------------------------------- aggregates the domain has no class for


@dataclass(frozen=True)
class AddressEntry:
    """One saved address of a customer's address book (versioned on its own)."""

    customer_id: str
    id: str
    label: str | None
    address: Address
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class AddressBookHeader:
    """Which entry of the book is the default. Every change to the default or to the set of entries
    saves it under its version, so two concurrent changes can neither leave two defaults nor pass the cap."""

    customer_id: str
    default_address_id: str | None
    updated_at: datetime


@dataclass(frozen=True)
class AddressBookRecord:
    """A customer's whole address book, as one read: the header (None before the first entry) and the
    entries, oldest first."""

    header: Versioned[AddressBookHeader] | None
    entries: list[Versioned[AddressEntry]] = field(default_factory=list)


@dataclass
class Supplier:
    id: str
    name: str
    contact_emails: list[str]
    active: bool
    created_at: datetime


@dataclass
class CampaignRecord:
    """A campaign as stored: the domain object, when it was created and the buyer's e-mail."""

    campaign: Campaign
    created_at: datetime
    buyer_email: str | None


@dataclass(frozen=True)
class CampaignProduct:
    """A product a campaign sells (created once, never changed)."""

    campaign_id: str
    product: Product


@dataclass(frozen=True)
class CampaignWithProducts:
    record: Versioned[CampaignRecord]
    products: list[Product]
    close: CloseProgress | None = None  # where its close stands, once one started (services/ports_close.py)


@dataclass
class Customer:
    """A customer's profile as staff keep it: whether orders from them are held for review."""

    id: str
    email: str | None
    flagged: bool
    flag_reason: str | None
    updated_at: datetime


@dataclass(frozen=True)
class CounterScope:
    """Whose stage counters: everyone's, one campaign's or one supplier's."""

    kind: Literal["all", "campaign", "supplier"]
    id: str | None = None


ALL = CounterScope("all")


@dataclass(frozen=True)
class StageCounters:
    """A scope's counters summed: per completed stage (`domain.metrics.STAGE_COUNTERS`) and the
    campaign summary (`SUMMARY_COUNTERS`; zeros outside a campaign)."""

    stages: dict[Stage, dict[str, int]]
    summary: dict[str, int]


# ---------------------------------------------------------------- changes (one commit = one transaction)

# What `load` and `Save` know. A PurchaseOrder loads and is created as itself; it is changed as its
# `ports_purchase_orders.PORecord`, which carries the workflow's fields (the stage's task token, its deadline).
# What a store keeps: Order, PurchaseOrder, AddressEntry, AddressBookHeader, Supplier, CampaignRecord,
# CampaignProduct, Customer, and whatever an area registers (a mapper in adapters/dynamodb/mapping.py,
# a key in adapters/memory.KEYS). Open on purpose: each area adds its kinds in its own modules.
Aggregate: TypeAlias = object
A = TypeVar("A")


@dataclass(frozen=True)
class Save:
    """Write `obj` if it is still at `expected_version` (None: only if it does not exist yet).
    `status_before` (orders): the status it was loaded in, for the orders-per-status counts; None on an
    update means "unchanged"."""

    obj: Aggregate
    expected_version: int | None
    status_before: str | None = None


@dataclass(frozen=True)
class Remove:
    """Delete `obj` if it is still at `expected_version`."""

    obj: Aggregate
    expected_version: int


@dataclass(frozen=True)
class Record:
    """An audit event, kept in its subject's history (and published from there)."""

    event: AuditEvent


@dataclass(frozen=True)
class CountStage:
    """A completed stage's counters, added for the PO's campaign, its supplier and overall."""

    po: PurchaseOrder
    stage: Stage
    deltas: dict[str, int]


@dataclass(frozen=True)
class CountCampaign:
    """Counters added to a campaign's summary (`subject_id`: the order or PO that moved them)."""

    campaign_id: str
    subject_id: str
    deltas: dict[str, int]


# `SetDeadline` / `ClearDeadline` (services/ports_deadlines.py): a subject's deadline, blindly;
# `AddRefunded` (services/ports_complaints.py): what complaints refunded on an order, under its cap;
# `CountSales` (services/ports_sales.py): an order's lines added to its campaign's sales counters;
# `CountExceptions` (services/ports_exceptions.py): the exceptions queue's counters moved by one record.
Change = (
    Save | Remove | Record | CountStage | CountCampaign | SetDeadline | ClearDeadline | AddRefunded | CountSales | CountExceptions
)


class Store(
    AccessReads,
    AssignmentReads,
    CloseReads,
    ComplaintsReads,
    ConsumerRecords,
    DeadlineWrites,
    ExportsReads,
    ExceptionsReads,
    OutboundReads,
    PurchaseOrdersReads,
    OrdersReads,
    SalesReads,
    SearchReads,
    MoneyReads,
    ShipmentsReads,
    TrackReads,
    TrendReads,
    Protocol,
):
    """The repository and unit of work services speak to (see the module docstring)."""

    def load(self, kind: type[A], *key: str) -> Versioned[A] | None:
        """The aggregate of `kind` with that key, or None: its id (a campaign record: the campaign's; a
        book header: the customer's); an address entry: customer id, address id; a campaign product:
        campaign id, SKU."""
        ...

    def commit(self, changes: Sequence[Change], *, what: str, at: datetime) -> None:
        """Everything in one transaction, or nothing. `what` names the subject in a Conflict's message;
        `at` is the time of the change (a delivery that arrived is stamped with it on the first save
        that shows it arrived)."""
        ...

    # ------------------------------------------------------------ named access patterns

    def address_book(self, customer_id: str) -> AddressBookRecord:
        """The customer's address book: one read."""
        ...

    def orders_on_hold(self, campaign_id: str, *, limit: int, cursor: str | None = None) -> Page[Order]:
        """The campaign's orders on hold, oldest first. A page may hold fewer than `limit` (the pattern
        filters a shared index) even when a cursor follows."""
        ...

    def packing_list(self, po_id: str, *, limit: int, cursor: str | None = None) -> Page[PackingEntry]:
        """The PO's packing list, oldest order first: every order whose delivery by the PO's supplier is
        on a packing list (`domain.packing.on_packing_list`), with its stored ship-to address (the
        reader's visibility is the caller's business) and `address_visible` = one is stored."""
        ...

    def history(
        self, subject_type: str, subject_id: str, *, limit: int, cursor: str | None = None, newest_first: bool = False
    ) -> Page[AuditEvent]:
        """The audit events recorded about a subject, oldest first (or newest first)."""
        ...

    def load_suppliers(self, supplier_ids: Iterable[str]) -> dict[str, Supplier]:
        """The suppliers of those ids that exist, by id: one read."""
        ...

    def suppliers(self, *, limit: int, cursor: str | None = None) -> Page[Supplier]:
        """Every supplier, by name (case-insensitive), then id."""
        ...

    def campaign_with_products(self, campaign_id: str) -> CampaignWithProducts | None:
        """The campaign with every product it sells: one read."""
        ...

    def campaigns_in_status(
        self, status: CampaignStatus, *, limit: int, cursor: str | None = None, newest_first: bool = True
    ) -> Page[Versioned[CampaignRecord]]:
        """The campaigns in a status, by end (a campaign without one: by creation), then id."""
        ...

    def campaigns_any_status(self, *, limit: int, cursor: str | None = None) -> Page[Versioned[CampaignRecord]]:
        """Campaigns in every status, merged newest first by the same date (end, else creation), then id."""
        ...

    def campaigns_due(self, cutoff: datetime, *, limit: int) -> list[Versioned[CampaignRecord]]:
        """Live campaigns whose end is at or before `cutoff`, the earliest end first, at most `limit`:
        one read that reads only the due ones."""
        ...

    def order_status_counts(self) -> dict[str, int]:
        """Orders per status (statuses with none may be absent or zero)."""
        ...

    def counters(self, scope: CounterScope) -> StageCounters:
        """A scope's stage counters and summary; a scope nothing happened to reads as zeros."""
        ...
