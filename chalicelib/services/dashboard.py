"""The staff dashboard's figures, from counters and indexes (nothing here reads history):
orders per status (the `STATS#ORDERS` counters every order write keeps), the open exceptions by
kind and severity (the queue's counters: one Query of their cells, whatever is open), and each
supplier's on-time rate over all stages (one Query per supplier's counters, for the first page of suppliers)."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain import exceptions as rules
from ..domain.orders import OrderStatus
from ..domain.permissions import READ_STAFF, Principal
from . import catalogue, exceptions, metrics, uow
from .guard import require

SUPPLIERS_SHOWN = 50


@dataclass
class SupplierOnTime:
    id: str
    name: str
    completed: int
    late: int

    @property
    def on_time_rate(self) -> float | None:
        return (self.completed - self.late) / self.completed if self.completed else None


@dataclass
class Dashboard:
    orders_by_status: dict[str, int]
    open_exceptions: exceptions.QueueCounts
    suppliers: list[SupplierOnTime]


def dashboard(actor: Principal) -> Dashboard:
    require(actor, READ_STAFF, "read the dashboard")
    counted = uow.store().order_status_counts()
    by_status = {s.value: max(0, counted.get(s.value, 0)) for s in OrderStatus}
    queue = exceptions.counts(rules.QueueFilter(statuses=rules.ACTIVE))
    suppliers, _ = catalogue.list_suppliers(actor, limit=SUPPLIERS_SHOWN, cursor=None)
    on_time = []
    for s in suppliers:
        figures = metrics.supplier(s.id).stages
        on_time.append(SupplierOnTime(s.id, s.name, sum(f.completed for f in figures), sum(f.late for f in figures)))
    return Dashboard(by_status, queue, on_time)
