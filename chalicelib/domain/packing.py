"""The supplier's packing list: which orders of a purchase order it packs, what goes in each parcel,
and where it goes — and for how long the supplier may see that address.

A delivery is on its PO's packing list from the moment its supplier accepted it (the lines it
kept) and stays there once it has left, so the list also answers "what has shipped". The ship-to
address is the customer's personal data: a supplier sees it only while the delivery is open —
accepted or on its way, or delivered less than the complaint window ago (a complaint may still ask
for a return or a replacement to that address). Staff always see it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .addresses import Address
from .orders import ARRIVED, DeliveryStatus

D = DeliveryStatus

ON_PACKING_LIST = frozenset({D.ACCEPTED, D.DISPATCHED}) | ARRIVED
HAS_LEFT = frozenset({D.DISPATCHED}) | ARRIVED  # the parcel is with the carrier or beyond


def on_packing_list(status: DeliveryStatus) -> bool:
    return status in ON_PACKING_LIST


def has_left(status: DeliveryStatus) -> bool:
    return status in HAS_LEFT


def supplier_sees_address(status: DeliveryStatus, delivered_at: datetime | None, now: datetime, window_s: int) -> bool:
    """Whether the delivery's supplier may see its ship-to address now. An arrived delivery whose
    time of arrival is unknown (written before it was recorded) is treated as closed."""
    if status not in ON_PACKING_LIST:
        return False
    if status not in ARRIVED:
        return True
    return delivered_at is not None and now < delivered_at + timedelta(seconds=window_s)


@dataclass(frozen=True)
class PackingLine:
    sku: str
    name: str
    quantity: int


@dataclass(frozen=True)
class PackingEntry:
    """One order on a PO's packing list, as its reader may see it (`ship_to` None: hidden)."""

    order_id: str
    reference: str
    supplier_id: str
    status: DeliveryStatus
    lines: tuple[PackingLine, ...]
    ship_to: Address | None
    address_visible: bool
    delivered_at: datetime | None
    ordered_at: datetime

    @property
    def has_left(self) -> bool:
        return has_left(self.status)
