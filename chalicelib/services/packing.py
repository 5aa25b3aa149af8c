"""The packing list of a purchase order: per order with an accepted (or later) delivery on it, the
short reference, the lines and quantities the supplier packs, the ship-to address while the
supplier may see it, and whether the parcel has left. The supplier reads its own POs' lists, staff
any PO's; both also get it as a CSV file (presigned download).

One page is one read of the PO's packing list (`ports.Store.packing_list`: on DynamoDB one Query of
a sparse index that every save of an order keeps), oldest order first. A page with no entries costs
one load more: the PO itself, to tell "nothing to pack yet" from "not your PO" (404, as for a PO that
does not exist).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace
from datetime import datetime

from ..adapters import export_files
from ..config import settings
from ..domain.errors import NotFound
from ..domain.packing import PackingEntry, supplier_sees_address
from ..domain.permissions import READ_STAFF, Principal
from ..domain.purchase_orders import PurchaseOrder
from . import uow
from .clock import new_id, now
from .guard import require
from .supplier_portal import supplier_of

FILE_PAGE_SIZE = 100


@dataclass
class PackingPage:
    po_id: str
    entries: list[PackingEntry]
    cursor: str | None


@dataclass
class PackingFile:
    url: str
    key: str
    file_name: str
    rows: int
    orders: int
    size_bytes: int
    expires_in: int


def _as_seen(entry: PackingEntry, *, for_supplier: bool, at: datetime) -> PackingEntry:
    """The entry as its reader may see it: a supplier's ship-to address closes (see domain/packing.py)."""
    if not for_supplier or entry.ship_to is None:
        return entry
    if supplier_sees_address(entry.status, entry.delivered_at, at, settings().complaint_window_s):
        return entry
    return replace(entry, ship_to=None, address_visible=False)


def _require_po(po_id: str, supplier_id: str | None) -> None:
    po = uow.store().load(PurchaseOrder, po_id)
    if po is None or (supplier_id is not None and po.value.supplier_id != supplier_id):
        raise NotFound(f"purchase order {po_id} not found")


def _page(po_id: str, supplier_id: str | None, *, limit: int, cursor: str | None) -> PackingPage:
    page = uow.store().packing_list(po_id, limit=limit, cursor=cursor)
    if supplier_id is not None and any(e.supplier_id != supplier_id for e in page.items):
        raise NotFound(f"purchase order {po_id} not found")
    if not page.items:
        _require_po(po_id, supplier_id)
    at = now()
    return PackingPage(po_id, [_as_seen(e, for_supplier=supplier_id is not None, at=at) for e in page.items], page.cursor)


def supplier_packing_list(actor: Principal, po_id: str, *, limit: int, cursor: str | None) -> PackingPage:
    """A page of the caller's PO's packing list; another supplier's PO is a 404."""
    return _page(po_id, supplier_of(actor), limit=limit, cursor=cursor)


def staff_packing_list(actor: Principal, po_id: str, *, limit: int, cursor: str | None) -> PackingPage:
    require(actor, READ_STAFF, "read packing lists")
    return _page(po_id, None, limit=limit, cursor=cursor)


# ---------------------------------------------------------------- the CSV file

COLUMNS = (
    "reference",
    "order_id",
    "sku",
    "name",
    "quantity",
    "ship_to_name",
    "line_1",
    "line_2",
    "line_3",
    "postal_code",
    "city",
    "country",
    "phone",
    "delivery_status",
    "has_left",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run: text starting like a formula gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def rows(entries: list[PackingEntry]) -> list[list[str]]:
    """One row per (order, line); the address columns are empty where the reader may not see it."""
    out = []
    for e in entries:
        a = e.ship_to
        where = [a.name, *(list(a.lines) + ["", "", ""])[:3], a.postal_code, a.city, a.country, a.phone] if a else [""] * 8
        for line in e.lines:
            out.append(
                [
                    _cell(v)
                    for v in (
                        e.reference,
                        e.order_id,
                        line.sku,
                        line.name,
                        line.quantity,
                        *where,
                        e.status.value,
                        "yes" if e.has_left else "no",
                    )
                ]
            )
    return out


def packing_list_file(actor: Principal, po_id: str, *, staff: bool) -> PackingFile:
    """The whole packing list as a CSV in the exports bucket, with a short-lived download link. Reads
    the list page by page (one Query each), as a client following the cursor would."""
    supplier_id = None if staff else supplier_of(actor)
    if staff:
        require(actor, READ_STAFF, "read packing lists")
    entries: list[PackingEntry] = []
    cursor: str | None = None
    while True:
        page = _page(po_id, supplier_id, limit=FILE_PAGE_SIZE, cursor=cursor)
        entries += page.entries
        if page.cursor is None:
            break
        cursor = page.cursor
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    table = rows(entries)
    writer.writerows(table)
    body = buffer.getvalue().encode("utf-8")
    at = now()
    cfg = settings()
    file_name = f"packing-list-{po_id}-{at.strftime('%Y%m%dT%H%M%SZ')}.csv"
    owner = "staff" if staff else f"suppliers/{supplier_id}"
    key = f"packing-lists/{owner}/{po_id}/{new_id('pkl')}.csv"
    size = export_files.put_small(cfg.exports_bucket, key, body, export_files.CONTENT_TYPES["csv"])
    return PackingFile(
        url=export_files.presigned_download(cfg.exports_bucket, key, file_name),
        key=key,
        file_name=file_name,
        rows=len(table),
        orders=len(entries),
        size_bytes=size,
        expires_in=cfg.export_link_expiry_s,
    )
