"""Exports: what can be exported, by which exporter, in which columns, and which rows a run takes.

An *exporter* is a named, audited export of one kind of record in some states (`orders_paid`,
`orders_delivered`, ...). Exporters form chains: `orders_delivered` comes after `orders_paid`,
so it exports only orders `orders_paid` has already exported. Each exported record carries a
marker per exporter (the run that took it), so every record is exported once per exporter, an
interrupted run can resume without duplicating or skipping rows, and a later run skips what an
earlier one took.

Rules for records that change while a run reads them:
- the run's window is fixed when it starts: records created after that wait for the next run;
- a record is exported with the state it had when the run read its page, once per exporter;
  if it moves on later (paid, then delivered) the next exporter of its chain takes it.
Pure: no boto3, no storage.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from .errors import RuleViolation
from .orders import OrderStatus
from .purchase_orders import POStatus
from .shipments import ShipmentStatus


class ExportKind(StrEnum):
    ORDERS = "orders"
    PURCHASE_ORDERS = "purchase_orders"
    PAYMENTS = "payments"  # payment proposals: what the shop pays its suppliers
    SHIPMENTS = "shipments"


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # stopped by an error; running it again resumes from its last checkpoint


RESUMABLE = frozenset({RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.FAILED})

PAYMENT_STATES = ("pending", "approved", "rejected", "pushed", "settled", "failed")

STATES: dict[ExportKind, frozenset[str]] = {
    ExportKind.ORDERS: frozenset(s.value for s in OrderStatus),
    ExportKind.PURCHASE_ORDERS: frozenset(s.value for s in POStatus),
    ExportKind.PAYMENTS: frozenset(PAYMENT_STATES),
    ExportKind.SHIPMENTS: frozenset(s.value for s in ShipmentStatus),
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "str"  # str | int | datetime: how the XLSX cell is typed


def _cols(spec: str) -> tuple[Column, ...]:
    out = []
    for part in spec.split():
        name, _, typ = part.partition(":")
        out.append(Column(name, typ or "str"))
    return tuple(out)


COLUMNS: dict[ExportKind, tuple[Column, ...]] = {
    ExportKind.ORDERS: _cols(
        "order_id created_at:datetime status campaign_id customer_id customer_email "
        "payment_mode currency total_cents:int lines:int quantity:int supplier_ids"
    ),
    ExportKind.PURCHASE_ORDERS: _cols(
        "po_id created_at:datetime status stage campaign_id supplier_id currency "
        "order_count:int ordered_cents:int accepted_cents:int invoiced_cents:int "
        "paid_cents:int"
    ),
    ExportKind.PAYMENTS: _cols(
        "proposal_id created_at:datetime status po_id supplier_id campaign_id amount_cents:int currency bank_reference decided_by"
    ),
    ExportKind.SHIPMENTS: _cols(
        "shipment_id created_at:datetime status carrier tracking_number po_id supplier_id campaign_id orders:int order_ids"
    ),
}


@dataclass(frozen=True)
class Exporter:
    name: str
    kind: ExportKind
    states: frozenset[str]
    after: str | None = None  # the exporter that must have exported a record before this one may
    description: str = ""


_O, _P, _S = OrderStatus, POStatus, ShipmentStatus
EXPORTERS: tuple[Exporter, ...] = (
    Exporter(
        "orders_paid",
        ExportKind.ORDERS,
        frozenset(
            {
                _O.PLACED,
                _O.ORDERED,
                _O.PARTIALLY_DISPATCHED,
                _O.DISPATCHED,
                _O.PARTIALLY_DELIVERED,
                _O.DELIVERED,
                _O.COMPLETED,
                _O.PARTIALLY_RETURNED,
                _O.RETURNED,
            }
        ),
        description="orders that stand (approved, paid or payable): placed and every later status",
    ),
    Exporter(
        "orders_delivered",
        ExportKind.ORDERS,
        frozenset({_O.DELIVERED, _O.COMPLETED}),
        after="orders_paid",
        description="delivered orders, once their paid export has taken them",
    ),
    Exporter(
        "orders_returned",
        ExportKind.ORDERS,
        frozenset({_O.PARTIALLY_RETURNED, _O.RETURNED}),
        after="orders_paid",
        description="orders whose goods came back in part or in full (complaints' returns), once their "
        "paid export has taken them",
    ),
    Exporter(
        "orders_cancelled", ExportKind.ORDERS, frozenset({_O.CANCELLED, _O.REJECTED}), description="cancelled or refused orders"
    ),
    Exporter(
        "purchase_orders_shipped",
        ExportKind.PURCHASE_ORDERS,
        frozenset({_P.SHIPPED}),
        description="purchase orders whose last stage is done",
    ),
    Exporter(
        "purchase_orders_cancelled",
        ExportKind.PURCHASE_ORDERS,
        frozenset({_P.CANCELLED, _P.REJECTED}),
        description="cancelled or rejected purchase orders",
    ),
    Exporter(
        "payments_approved",
        ExportKind.PAYMENTS,
        frozenset({"approved", "pushed", "settled"}),
        description="supplier payments accounting approved",
    ),
    Exporter(
        "payments_settled",
        ExportKind.PAYMENTS,
        frozenset({"settled"}),
        after="payments_approved",
        description="approved supplier payments the bank has settled",
    ),
    Exporter(
        "shipments_dispatched",
        ExportKind.SHIPMENTS,
        frozenset(s.value for s in ShipmentStatus if s is not _S.SUPERSEDED),
        description="parcels on their way (a corrected tracking number counts once)",
    ),
    Exporter(
        "shipments_delivered",
        ExportKind.SHIPMENTS,
        frozenset({_S.DELIVERED}),
        after="shipments_dispatched",
        description="delivered parcels, once their dispatch export has taken them",
    ),
    Exporter(
        "shipments_returned",
        ExportKind.SHIPMENTS,
        frozenset({_S.RETURNED_TO_SENDER}),
        after="shipments_dispatched",
        description="parcels returned to the sender",
    ),
)
_BY_NAME = {e.name: e for e in EXPORTERS}


def exporter(name: str) -> Exporter:
    found = _BY_NAME.get(name)
    if found is None:
        raise RuleViolation(
            "unknown_exporter",
            f"no exporter {name!r}",
            details=[{"field": "exporter", "message": f"one of {', '.join(_BY_NAME)}"}],
        )
    return found


def chain(name: str) -> tuple[Exporter, ...]:
    """The exporter and those before it, first first."""
    out: list[Exporter] = []
    current: Exporter | None = exporter(name)
    while current is not None:
        out.insert(0, current)
        current = _BY_NAME[current.after] if current.after else None
    return tuple(out)


def schedule_order() -> tuple[Exporter, ...]:
    """Every exporter, each after the one it follows (what the scheduled run walks)."""
    done: list[Exporter] = []
    for e in EXPORTERS:
        for link in chain(e.name):
            if link not in done:
                done.append(link)
    return tuple(done)


def check_request(
    kind: ExportKind, exporter_name: str | None, state: str | None, created_from: datetime | None, created_to: datetime | None
) -> Exporter | None:
    """The exporter a request names (None for a plain export), or a RuleViolation saying what is wrong."""
    chosen = exporter(exporter_name) if exporter_name else None
    if chosen is not None and chosen.kind is not kind:
        raise RuleViolation(
            "invalid_export",
            f"exporter {chosen.name} exports {chosen.kind.value}, not {kind.value}",
            details=[{"field": "exporter", "message": f"an exporter of {kind.value}"}],
        )
    if state is not None and state not in STATES[kind]:
        raise RuleViolation(
            "invalid_export",
            f"{kind.value} have no state {state!r}",
            details=[{"field": "state", "message": f"one of {', '.join(sorted(STATES[kind]))}"}],
        )
    if chosen is not None and state is not None and state not in chosen.states:
        raise RuleViolation(
            "invalid_export",
            f"exporter {chosen.name} never takes {kind.value} in {state}",
            details=[{"field": "state", "message": f"one of {', '.join(sorted(chosen.states))}"}],
        )
    if created_from and created_to and created_from > created_to:
        raise RuleViolation(
            "invalid_export",
            "created_from is after created_to",
            details=[{"field": "created_from", "message": "must not be after created_to"}],
        )
    return chosen


def window_end(created_to: datetime | None, started_at: datetime) -> datetime:
    """A run reads records created up to its start (or the requested end, if earlier): later ones
    belong to the next run, so a run never chases records created while it reads."""
    return started_at if created_to is None or created_to > started_at else created_to


class Take(StrEnum):
    EXPORT = "export"  # a new row, claimed for this run
    AGAIN = "again"  # claimed by this run before an interruption, not in a checkpointed part: write it again
    DONE = "done"  # this exporter already exported it (another run)
    STATE = "state"  # not in a state this export takes
    WAITING = "waiting"  # its chain's previous exporter has not exported it yet


def take(
    status: str, *, run_id: str, exporter_: Exporter | None, state: str | None, claimed_by: str | None, previous_done: bool
) -> Take:
    """Whether a run writes a record it has just read (`claimed_by`: the run that holds this exporter's
    marker on the record, if any; `previous_done`: the chain's previous exporter has exported it)."""
    if claimed_by == run_id:
        return Take.AGAIN
    if claimed_by is not None:
        return Take.DONE
    if state is not None and status != state:
        return Take.STATE
    if exporter_ is not None:
        if status not in exporter_.states:
            return Take.STATE
        if exporter_.after and not previous_done:
            return Take.WAITING
    return Take.EXPORT


def row(kind: ExportKind, i: Any) -> tuple[Any, ...]:
    """The columns of one record (a stored record, or the domain object, with these attributes), in
    `COLUMNS[kind]` order."""
    if kind is ExportKind.ORDERS:
        return (
            i.id,
            i.created_at,
            i.status,
            i.campaign_id,
            i.customer_id,
            i.customer_email,
            i.payment_mode,
            i.currency,
            int(i.total_cents),
            len(i.lines),
            sum(int(line.quantity) for line in i.lines),
            list(i.supplier_ids or []),
        )
    if kind is ExportKind.PURCHASE_ORDERS:
        return (
            i.id,
            i.created_at,
            i.status,
            i.stage,
            i.campaign_id,
            i.supplier_id,
            i.currency,
            int(i.order_count),
            int(i.ordered_cents),
            int(i.accepted_cents),
            int(i.invoiced_cents),
            int(i.paid_cents),
        )
    if kind is ExportKind.PAYMENTS:
        return (
            i.id,
            i.created_at,
            i.status,
            i.po_id,
            i.supplier_id,
            i.campaign_id,
            int(i.amount_cents),
            i.currency,
            i.bank_reference,
            i.decided_by,
        )
    return (
        i.id,
        i.created_at,
        i.status,
        i.carrier,
        i.tracking_number,
        i.po_id,
        i.supplier_id,
        i.campaign_id,
        len(i.order_ids or []),
        list(i.order_ids or []),
    )


def cell(value: Any) -> str:
    """A CSV cell: datetimes in ISO 8601 UTC, lists space-separated, None empty."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple, set, frozenset)):
        return " ".join(str(v) for v in value)
    return str(value)


def typed(column: Column, text: str) -> Any:
    """An XLSX cell from its CSV text: numbers as numbers, times as (naive UTC) datetimes."""
    if text == "":
        return None
    if column.type == "int":
        return int(text)
    if column.type == "datetime":
        return datetime.fromisoformat(text).replace(tzinfo=None)
    return text


def file_name(run_id: str, kind: ExportKind, fmt: ExportFormat, exporter_name: str | None) -> str:
    return f"{exporter_name or kind.value}-{run_id}.{fmt.value}"


def counts_zero() -> dict[str, int]:
    return {t.value: 0 for t in Take}


def add_counts(into: dict[str, int], decisions: Iterable[Take]) -> dict[str, int]:
    for d in decisions:
        into[d.value] = into.get(d.value, 0) + 1
    return into
