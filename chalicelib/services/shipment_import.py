"""Recording a PO's parcels from a CSV file the supplier uploads (issue 19, point 3).

The file has a header naming `order_ref` (the reference printed on the packing list, `reference` is
read as the same) or `order_id`, then `carrier` and `tracking_number`; other columns are ignored, so
a packing-list download with the two columns filled in can go back as it is. Rows that share a
carrier and tracking number are one parcel.

All or nothing, as far as the supplier can tell: EVERY row is checked first (the order is on this PO's
packing list and can ship, the carrier is known, the tracking number has a valid form, no row repeats
another, a parcel carries at most `MAX_ORDERS_PER_SHIPMENT` orders) and any failure answers 422 with
one `{"row", "field", "message"}` per problem (`row`: the line of the file, the header being 1) and
records nothing. Then each parcel is recorded by `services.shipments.record_shipment`, the service the
one-by-one route uses, so every effect (stage completion, customer e-mails, tracking) is the same.

Re-importing the same file records nothing twice: a parcel is its carrier and tracking number, which
`record_shipment` records only once (a known one is `AlreadyExists`); the import reports those as
`already_recorded`. A parcel that is already known is not checked again for its orders' status
(they have moved on since), so a file imported after a failure part-way (another change raced it)
can simply be sent again.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..domain import shipments as rules
from ..domain.addresses import order_reference, parse_reference
from ..domain.errors import AlreadyExists, RuleViolation
from ..domain.permissions import Principal
from . import shipments, uow
from .shipments import SHIPPABLE, ShipmentView
from .supplier_portal import get_purchase_order

MAX_ROWS = 500
TRACKING_NUMBER = re.compile(r"[A-Za-z0-9-]{4,64}")  # the one-by-one route's form (api/views/common.TrackingNumber)
ORDER_COLUMNS = ("order_ref", "reference", "order_id")
PAGE = 100


@dataclass
class ImportResult:
    recorded: int
    shipments: list[ShipmentView]
    already_recorded: list[str] = field(default_factory=list)  # "<carrier>#<tracking number>" of parcels known before


@dataclass
class _Parcel:
    carrier: str
    tracking_number: str
    order_ids: list[str] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)


def _problem(row: int, field_: str, message: str) -> dict[str, object]:
    return {"row": row, "field": field_, "message": message}


def _refuse(problems: list[dict[str, object]]) -> RuleViolation:
    return RuleViolation(
        "invalid_shipments_file",
        f"the file has {len(problems)} problem(s); nothing was recorded",
        details=problems,
    )


def _header(reader: Iterator[list[str]]) -> dict[str, int]:
    try:
        names = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise _refuse([_problem(1, "header", "the file is empty")]) from None
    columns = {name: i for i, name in reversed(list(enumerate(names)))}
    missing = [n for n in ("carrier", "tracking_number") if n not in columns]
    if not any(n in columns for n in ORDER_COLUMNS):
        missing.insert(0, "order_ref or order_id")
    if missing:
        raise _refuse([_problem(1, "header", f"missing column {m}") for m in missing])
    return columns


def import_shipments(actor: Principal, po_id: str, text: str) -> ImportResult:
    """Check every row, then record each parcel (see the module docstring)."""
    detail = get_purchase_order(actor, po_id)  # the caller's own PO, with the parcels it knows (404 otherwise)
    known = {(s.carrier, s.tracking_number) for s in detail.shipments}
    entries = {}
    cursor: str | None = None
    while True:
        page = uow.store().packing_list(po_id, limit=PAGE, cursor=cursor)
        entries.update({e.order_id: e for e in page.items})
        if page.cursor is None:
            break
        cursor = page.cursor
    by_reference = {order_reference(o): o for o in entries}

    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    columns = _header(reader)
    problems: list[dict[str, object]] = []
    parcels: dict[tuple[str, str], _Parcel] = {}
    seen: dict[tuple[str, str, str], int] = {}
    rows = 0
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        rows += 1
        line = reader.line_num
        if rows > MAX_ROWS:
            raise _refuse([_problem(line, "file", f"at most {MAX_ROWS} rows per file")])

        def cell(name: str, cells: list[str] = cells) -> str:
            at = columns.get(name)
            return cells[at].strip() if at is not None and at < len(cells) else ""

        bad = len(problems)
        order_id: str | None = None
        if cell("order_id"):
            order_id = cell("order_id") if cell("order_id") in entries else None
            if order_id is None:
                problems.append(_problem(line, "order_id", f"{cell('order_id')} is not an order of this purchase order"))
        else:
            typed = cell("order_ref") or cell("reference")
            canonical = parse_reference(typed) if typed else None
            order_id = by_reference.get(canonical) if canonical else None
            if order_id is None:
                message = "give the order's reference or id" if not typed else f"{typed} is not an order of this purchase order"
                problems.append(_problem(line, "order_ref", message))
        carrier = cell("carrier").lower()
        if carrier not in rules.CARRIERS:
            problems.append(_problem(line, "carrier", f"unknown carrier {carrier!r}; known: {', '.join(sorted(rules.CARRIERS))}"))
        tracking = cell("tracking_number")
        if not TRACKING_NUMBER.fullmatch(tracking):
            problems.append(_problem(line, "tracking_number", "4 to 64 letters, digits or hyphens"))
        if len(problems) > bad or order_id is None:
            continue
        first = seen.setdefault((order_id, carrier, tracking), line)
        if first != line:
            problems.append(_problem(line, "row", f"repeats row {first}"))
            continue
        parcel = parcels.setdefault((carrier, tracking), _Parcel(carrier, tracking))
        parcel.order_ids.append(order_id)
        parcel.rows.append(line)
        status = entries[order_id].status
        if (carrier, tracking) not in known and status not in SHIPPABLE:
            problems.append(_problem(line, "order_ref", f"{entries[order_id].reference} cannot ship: it is {status.value}"))
    if rows == 0:
        problems.append(_problem(1, "file", "no rows after the header"))
    for parcel in parcels.values():
        if len(parcel.order_ids) > rules.MAX_ORDERS_PER_SHIPMENT:
            problems.append(
                _problem(
                    parcel.rows[rules.MAX_ORDERS_PER_SHIPMENT],
                    "tracking_number",
                    f"a parcel carries at most {rules.MAX_ORDERS_PER_SHIPMENT} orders",
                )
            )
    if problems:
        raise _refuse(sorted(problems, key=lambda p: (int(str(p["row"])), str(p["field"]))))

    result = ImportResult(0, [])
    for parcel in parcels.values():
        if (parcel.carrier, parcel.tracking_number) in known:
            result.already_recorded.append(rules.parcel_ref(parcel.carrier, parcel.tracking_number))
            continue
        try:
            view = shipments.record_shipment(
                actor, po_id, carrier=parcel.carrier, tracking_number=parcel.tracking_number, order_ids=parcel.order_ids
            )
        except AlreadyExists:  # recorded meanwhile (the same file sent twice at once): still once
            result.already_recorded.append(rules.parcel_ref(parcel.carrier, parcel.tracking_number))
            continue
        result.recorded += 1
        result.shipments.append(view)
    return result
