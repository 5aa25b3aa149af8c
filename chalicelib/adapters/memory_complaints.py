"""The complaints area of `MemoryStore` (see `services.ports_complaints`): the kinds' keys and the
area's reads, answered from the stored complaints, returns, charge-backs and recorded events; what
complaints refunded on each order (the refund ledger) is a dict beside them."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC
from typing import Any

from ..domain.audit import AuditEvent
from ..domain.errors import Conflict
from ..domain.orders import Order
from ..services.ports_common import Page, Versioned
from ..services.ports_complaints import (
    AddRefunded,
    ComplaintFile,
    ComplaintOrder,
    ComplaintParcel,
    DeliveryClaims,
    StoredComplaint,
    StoredReturn,
)
from ..services.ports_money import Payment
from ..services.ports_orders import ShipmentCopy
from ..services.ports_purchase_orders import ChargeBack, PORecord

# The area's kinds whose key is not just their id (a `ChargeBack`'s is the purchase-order area's).
COMPLAINTS_KEYS: dict[type, Callable[[Any], tuple[str, ...]]] = {
    StoredReturn: lambda r: (r.rma.complaint_id, r.rma.id),
    ComplaintParcel: lambda p: (p.carrier, p.tracking_number),
    DeliveryClaims: lambda c: (c.order_id, c.supplier_id),
}


def _complaint_sk(stored: StoredComplaint) -> tuple[str, ...]:
    """The index sort key: opening time, then id."""
    return (stored.complaint.opened_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%f"), stored.id)


class ComplaintsMemory:
    """`services.ports_complaints.ComplaintsReads` over the memory store's dicts."""

    _aggregates: dict[tuple[type, tuple[str, ...]], tuple[Any, int]]
    _events: dict[tuple[str, str], dict[str, AuditEvent]]
    _page: Callable[..., Page[Any]]
    _versioned: Callable[[type], list[Versioned[Any]]]
    _all: Callable[[type], list[Any]]

    def _refunded(self) -> dict[str, int]:
        refunded: dict[str, int] = self.__dict__.setdefault("_refunded_by_order", {})
        return refunded

    def _check_refunded(self, change: AddRefunded, what: str) -> None:
        before = self._refunded().get(change.order_id)
        if change.captured_cents is not None and before is not None and before > change.captured_cents - change.cents:
            raise Conflict(f"{what} was changed by someone else; reload and try again")

    def _apply_refunded(self, change: AddRefunded) -> None:
        refunded = self._refunded()
        refunded[change.order_id] = refunded.get(change.order_id, 0) + change.cents

    def _stored_complaints(self) -> list[Versioned[StoredComplaint]]:
        return sorted(self._versioned(StoredComplaint), key=lambda v: _complaint_sk(v.value))

    def complaint_file(self, complaint_id: str) -> ComplaintFile | None:
        found = self._aggregates.get((StoredComplaint, (complaint_id,)))
        if found is None:
            return None
        returns = self.returns_of_complaint(complaint_id)
        events = sorted(self._events.get(("complaint", complaint_id), {}).values(), key=lambda e: e.at)
        return ComplaintFile(
            Versioned(copy.deepcopy(found[0]), found[1]), returns[0] if returns else None, [copy.deepcopy(e) for e in events]
        )

    def complaints_of_order(self, order_id: str) -> list[Versioned[StoredComplaint]]:
        return [v for v in self._stored_complaints() if v.value.complaint.order_id == order_id]

    def complaints_of_po(self, po_id: str) -> list[Versioned[StoredComplaint]]:
        return [v for v in reversed(self._stored_complaints()) if v.value.po_id == po_id]

    def complaints_listing(
        self, *, status: str | None, supplier_id: str | None, limit: int, cursor: str | None = None
    ) -> Page[Versioned[StoredComplaint]]:
        rows = [
            (_complaint_sk(v.value), v)
            for v in self._stored_complaints()
            if (status is None or v.value.complaint.status.value == status)
            and (supplier_id is None or v.value.complaint.supplier_id == supplier_id)
        ]
        page: Page[Versioned[StoredComplaint]] = self._page(
            f"complaints:{status or '*'}:{supplier_id or '*'}", rows, limit=limit, cursor=cursor, reverse=True
        )
        return page

    def returns_of_complaint(self, complaint_id: str) -> list[Versioned[StoredReturn]]:
        mine = [v for v in self._versioned(StoredReturn) if v.value.rma.complaint_id == complaint_id]
        return sorted(mine, key=lambda v: v.value.rma.id)

    def complaint_order(self, order_id: str) -> ComplaintOrder | None:
        found = self._aggregates.get((Order, (order_id,)))
        if found is None:
            return None
        payments = [v for v in self._versioned(Payment) if v.value.order_id == order_id]
        copies = [s for s in self._all(ShipmentCopy) if s.order_id == order_id]
        claims = [v for v in self._versioned(DeliveryClaims) if v.value.order_id == order_id]
        return ComplaintOrder(
            Versioned(copy.deepcopy(found[0]), found[1]),
            sorted(payments, key=lambda v: (v.value.created_at, v.value.id)),
            self._refunded().get(order_id, 0),
            sorted(copies, key=lambda s: s.created_at),
            {v.value.supplier_id: v for v in claims},
        )

    def supplier_po(self, campaign_id: str, supplier_id: str) -> str | None:
        records = self._all(PORecord)
        return next((r.po.id for r in records if r.po.campaign_id == campaign_id and r.po.supplier_id == supplier_id), None)

    def campaign_charge_backs(self, campaign_id: str) -> list[ChargeBack]:
        mine = [c for c in self._all(ChargeBack) if c.campaign_id == campaign_id]
        return sorted(mine, key=lambda c: (c.supplier_id, c.refund_id))
