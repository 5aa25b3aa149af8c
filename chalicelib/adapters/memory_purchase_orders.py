"""The purchase-order area of `MemoryStore` (see `services.ports_purchase_orders`): the kinds' keys and
the area's access patterns, answered from the stored records as the port's docstrings say."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar

from ..domain.audit import AuditEvent
from ..domain.campaigns import Campaign
from ..domain.purchase_orders import POStatus
from ..services.ports import CampaignRecord, Page, Versioned
from ..services.ports_purchase_orders import (
    ChargeBack,
    InvoiceRecord,
    PaymentProposal,
    POFile,
    PORecord,
    POShipment,
    proposal_po,
)

T = TypeVar("T")


def keys(registry: dict[type, Callable[[Any], tuple[str, ...]]]) -> None:
    """The area's kinds whose key is not just their id (a PO's record: its PO's id)."""
    registry[PORecord] = lambda r: (r.po.id,)
    registry[InvoiceRecord] = lambda i: (i.po_id, i.id)
    registry[POShipment] = lambda s: (s.po_id, s.id)
    registry[ChargeBack] = lambda c: (c.po_id, c.refund_id)


def _ts(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%f")


def _where(record: PORecord) -> str:
    """The stage an open PO waits in, else its status (what `pos_in` is asked for)."""
    po = record.po
    return po.stage.value if po.status is POStatus.OPEN and po.stage else po.status.value


class PurchaseOrdersMemory:
    """`services.ports_purchase_orders.PurchaseOrdersReads` over the memory store's dicts."""

    _aggregates: dict[tuple[type, tuple[str, ...]], tuple[Any, int]]
    _events: dict[tuple[str, str], dict[str, AuditEvent]]
    _page: Callable[..., Page[Any]]

    _versioned: Callable[[type], list[Versioned[Any]]]  # MemoryStore._versioned: every stored one of a kind

    def proposal_with_po(self, proposal_id: str) -> tuple[Versioned[PaymentProposal] | None, Versioned[PORecord] | None]:
        proposal = self._aggregates.get((PaymentProposal, (proposal_id,)))
        po = self._aggregates.get((PORecord, (proposal_po(proposal_id) or "",)))
        return (
            Versioned(copy.deepcopy(proposal[0]), proposal[1]) if proposal else None,
            Versioned(copy.deepcopy(po[0]), po[1]) if po else None,
        )

    def po_file(self, po_id: str, *, parcels: int | None = None, events: bool = True) -> POFile | None:
        found = self._aggregates.get((PORecord, (po_id,)))
        if found is None:
            return None
        kept = [
            copy.deepcopy(e)
            for (subject_type, subject_id), by_id in self._events.items()
            if (subject_type, subject_id) == ("po", po_id)
            or (subject_type in ("payment", "payment_proposal") and proposal_po(subject_id) == po_id)
            for e in by_id.values()
        ]

        def mine(kind: type[T]) -> list[T]:
            rows = [v.value for v in self._versioned(kind) if getattr(v.value, "po_id", None) == po_id]
            return sorted(rows, key=lambda r: (getattr(r, "created_at"), getattr(r, "id", "")))  # noqa: B009

        page = self.po_parcels(po_id, limit=parcels) if parcels is not None else None
        return POFile(
            record=copy.deepcopy(found[0]),
            version=found[1],
            events=sorted(kept, key=lambda e: (_ts(e.at), e.id)) if events else [],
            invoices=mine(InvoiceRecord),
            proposals=mine(PaymentProposal),
            shipments=page.items if page else mine(POShipment),
            shipments_cursor=page.cursor if page else None,
            charge_backs=sorted((c for c in mine(ChargeBack)), key=lambda c: (c.created_at, c.refund_id)),
        )

    def po_parcels(self, po_id: str, *, limit: int, cursor: str | None = None) -> Page[POShipment]:
        rows = [((s.id,), copy.deepcopy(s)) for s in (v.value for v in self._versioned(POShipment)) if s.po_id == po_id]
        return self._page(f"po/{po_id}/parcels", rows, limit=limit, cursor=cursor)

    def _po_records(self) -> list[Versioned[PORecord]]:
        return self._versioned(PORecord)

    def supplier_pos(
        self, supplier_id: str, *, status: str | None = None, stage: str | None = None, limit: int, cursor: str | None = None
    ) -> Page[Versioned[PORecord]]:
        rows = [
            ((_ts(r.value.po.created_at), r.value.po.id), r)
            for r in self._po_records()
            if r.value.po.supplier_id == supplier_id
            and (status is None or r.value.po.status.value == status)
            and (stage is None or (r.value.po.stage is not None and r.value.po.stage.value == stage))
        ]
        return self._page(f"supplier_pos/{supplier_id}", rows, limit=limit, cursor=cursor, reverse=True)

    def campaign_pos(
        self, campaign_id: str, *, stage_or_status: str | None = None, limit: int, cursor: str | None = None
    ) -> Page[Versioned[PORecord]]:
        rows = [
            ((r.value.po.supplier_id,), r)
            for r in self._po_records()
            if r.value.po.campaign_id == campaign_id
            and (
                stage_or_status is None
                or r.value.po.status.value == stage_or_status
                or (r.value.po.stage is not None and r.value.po.stage.value == stage_or_status)
            )
        ]
        return self._page(f"campaign_pos/{campaign_id}", rows, limit=limit, cursor=cursor)

    def pos_in(
        self, stage_or_status: str, *, limit: int, cursor: str | None = None, newest_first: bool = True
    ) -> Page[Versioned[PORecord]]:
        rows = [
            ((_ts(r.value.po.created_at), r.value.po.id), r) for r in self._po_records() if _where(r.value) == stage_or_status
        ]
        return self._page(f"pos_in/{stage_or_status}", rows, limit=limit, cursor=cursor, reverse=newest_first)

    def proposals_in(self, status: str, *, limit: int, cursor: str | None = None) -> Page[Versioned[PaymentProposal]]:
        rows = [((_ts(p.value.created_at), p.value.id), p) for p in self._versioned(PaymentProposal) if p.value.status == status]
        return self._page(f"proposals/{status}", rows, limit=limit, cursor=cursor)

    def po_proposals(self, po_id: str) -> list[Versioned[PaymentProposal]]:
        found = [p for p in self._versioned(PaymentProposal) if p.value.po_id == po_id]
        return sorted(found, key=lambda p: (p.value.created_at, p.value.id))

    def campaigns_by_id(self, campaign_ids: Iterable[str]) -> dict[str, Campaign]:
        wanted = set(campaign_ids)
        return {r.value.campaign.id: r.value.campaign for r in self._versioned(CampaignRecord) if r.value.campaign.id in wanted}
