"""The purchase-order area of `DynamoStore` (see `services.ports_purchase_orders`): how a PO's record,
its invoices and payment proposals are kept in the single table, and its access patterns.

The same requests the services made before: a load is one GetItem, a PO's file one Query of its
partition, a listing page one Query of an index, the campaigns of a supplier's POs one BatchGetItem.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pynamodb.expressions.condition import Condition

from ...domain.campaigns import Campaign
from ...services.ports import Page, Versioned
from ...services.ports_purchase_orders import (
    ChargeBack,
    InvoiceRecord,
    PaymentProposal,
    POFile,
    PORecord,
    POShipment,
    proposal_po,
)
from . import keys
from . import repository as repo
from .mapping import Mapper, Writes, register
from .models import (
    AuditEventItem,
    CampaignItem,
    ChargeBackItem,
    InvoiceItem,
    Item,
    PaymentProposalItem,
    POShipmentItem,
    POShippedCountItem,
    PurchaseOrderItem,
)


def po_record(item: PurchaseOrderItem, counts: Iterable[POShippedCountItem] = ()) -> Versioned[PORecord]:
    """The PO's record from its item and, when read with it, its parcels' counts of orders shipped
    (added to what the PO item counts; without them the record counts only what the item holds, and a
    save of it still leaves the parcels' counts as they are)."""
    record = PORecord(repo.po_from_item(item), item.task_token, item.stage_deadline, item.execution_arn, item.updated_at)
    apart = sum(int(c.orders or 0) for c in counts)
    record.po.orders_shipped += apart
    record.po.orders_shipped_apart = apart
    return Versioned(record, int(item.version))


def po_with_counts(items: Iterable[Item]) -> Versioned[PORecord] | None:
    """The PO's record among items read with its counts (a Query from `#COUNT#SHIPPED#` to `#META`, or a
    BatchGetItem naming them), or None."""
    found = list(items)
    meta = next((i for i in found if isinstance(i, PurchaseOrderItem)), None)
    return None if meta is None else po_record(meta, (i for i in found if isinstance(i, POShippedCountItem)))


def po_count_keys(po_id: str) -> list[tuple[str, str]]:
    return [keys.po_shipped_count(po_id, n) for n in range(keys.PO_SHIPPED_SHARDS)]


def load_po(po_id: str) -> tuple[PORecord, int] | None:
    # One Query, as one GetItem was: the PO with its parcels' counts, which sort just before it.
    pk, sk = keys.po(po_id)
    found = po_with_counts(repo.query_all(pk, range_key_condition=Item.SK.between(keys.PO_SHIPPED_PREFIX, sk)))
    return None if found is None else (found.value, found.version)


def _save_po(record: PORecord, version: int | None, at: datetime) -> Writes:
    return [
        repo.po_write(
            record.po,
            version=version,
            now=at,
            task_token=record.task_token,
            stage_deadline=record.stage_deadline,
            execution_arn=record.execution_arn,
        )
    ]


def _invoice(item: InvoiceItem) -> InvoiceRecord:
    return InvoiceRecord(
        id=item.id,
        po_id=item.po_id,
        supplier_id=item.supplier_id,
        number=item.number,
        amount_cents=int(item.amount_cents),
        currency=item.currency,
        file_key=item.file_key,
        created_at=item.created_at,
    )


def _load_invoice(po_id: str, invoice_id: str) -> tuple[InvoiceRecord, int] | None:
    item = repo.get(keys.po_child(po_id, "INVOICE", invoice_id), InvoiceItem)
    return None if item is None else (_invoice(item), 1)


def _save_invoice(invoice: InvoiceRecord, version: int | None, at: datetime) -> Writes:
    if version is not None:
        raise ValueError("an invoice is filed once, never changed")
    pk, sk = keys.po_child(invoice.po_id, "INVOICE", invoice.id)
    item = InvoiceItem(
        pk,
        sk,
        id=invoice.id,
        po_id=invoice.po_id,
        supplier_id=invoice.supplier_id,
        number=invoice.number,
        amount_cents=invoice.amount_cents,
        currency=invoice.currency,
        file_key=invoice.file_key,
        created_at=invoice.created_at,
    )
    return [repo.new_item(item)]


def _proposal(item: PaymentProposalItem) -> Versioned[PaymentProposal]:
    proposal = PaymentProposal(
        id=item.id,
        po_id=item.po_id,
        supplier_id=item.supplier_id,
        campaign_id=item.campaign_id,
        amount_cents=int(item.amount_cents),
        currency=item.currency,
        status=item.status,
        created_at=item.created_at,
        updated_at=item.updated_at,
        note=item.note,
        decided_by=item.decided_by,
        bank_reference=item.bank_reference,
        failure=item.failure,
    )
    return Versioned(proposal, int(item.version))


def _load_proposal(proposal_id: str) -> tuple[PaymentProposal, int] | None:
    key = keys.proposal(proposal_id)
    item = repo.get(key, PaymentProposalItem) if key else None
    if item is None:
        return None
    found = _proposal(item)
    return found.value, found.version


def _save_proposal(proposal: PaymentProposal, version: int | None, at: datetime) -> Writes:
    key = keys.proposal(proposal.id)
    if key is None or key[0] != keys.po_pk(proposal.po_id):
        raise ValueError(f"{proposal.id} is not a proposal id of purchase order {proposal.po_id}")
    created = keys.created_sk(proposal.created_at, proposal.id)
    item = PaymentProposalItem(
        *key,
        GSI3PK=keys.proposals_pk(proposal.status),  # the queue of its status
        GSI3SK=created,
        GSI4PK=keys.ALL_PAYMENTS_PK,
        GSI4SK=created,  # exports read payments by creation time
        id=proposal.id,
        po_id=proposal.po_id,
        supplier_id=proposal.supplier_id,
        campaign_id=proposal.campaign_id,
        amount_cents=proposal.amount_cents,
        currency=proposal.currency,
        status=proposal.status,
        note=proposal.note,
        decided_by=proposal.decided_by,
        bank_reference=proposal.bank_reference,
        failure=proposal.failure,
        created_at=proposal.created_at,
        updated_at=proposal.updated_at,
    )
    if version is None:
        return [repo.new_item(item)]
    return [repo.Write(repo.with_version(item, version))]


register(PORecord, Mapper(load=load_po, save=_save_po))
register(InvoiceRecord, Mapper(load=_load_invoice, save=_save_invoice))
register(PaymentProposal, Mapper(load=_load_proposal, save=_save_proposal))


def _shipment(item: POShipmentItem) -> POShipment:
    return POShipment(
        id=item.id,
        po_id=item.po_id,
        supplier_id=item.supplier_id,
        carrier=item.carrier,
        tracking_number=item.tracking_number,
        order_ids=[str(o) for o in item.order_ids or []],
        status=item.status,
        created_at=item.created_at,
    )


def _charge_back(item: ChargeBackItem) -> ChargeBack:
    return ChargeBack(
        refund_id=item.refund_id,
        complaint_id=item.complaint_id,
        order_id=item.order_id,
        po_id=item.po_id,
        supplier_id=item.supplier_id,
        campaign_id=item.campaign_id,
        sku=item.sku,
        amount_cents=int(item.amount_cents),
        currency=item.currency,
        created_at=item.created_at,
    )


def _records(page: repo.Page) -> Page[Versioned[PORecord]]:
    return Page([po_record(i) for i in page.items if isinstance(i, PurchaseOrderItem)], page.cursor)


class PurchaseOrdersDynamo:
    """`services.ports_purchase_orders.PurchaseOrdersReads` on the single table."""

    def proposal_with_po(self, proposal_id: str) -> tuple[Versioned[PaymentProposal] | None, Versioned[PORecord] | None]:
        key, po_id = keys.proposal(proposal_id), proposal_po(proposal_id)
        if key is None or po_id is None:
            return None, None
        found = repo.batch_get([key, keys.po(po_id)])
        proposal = next((_proposal(i) for i in found if isinstance(i, PaymentProposalItem)), None)
        po = next((po_record(i) for i in found if isinstance(i, PurchaseOrderItem)), None)
        return proposal, po

    def po_file(self, po_id: str, *, parcels: int | None = None, events: bool = True) -> POFile | None:
        # The partition sorts #COUNT#SHIPPED#, #META, CHARGEBACK#, EVENT#, INVOICE#, PROPOSAL#, SHIPMENT#,
        # SHIPPED#. The file reads from #META on: the parcels' counts are not part of it (nothing it shows
        # is counted), so its record counts what the PO item holds.
        pk, meta_sk = keys.po(po_id)
        before = keys.po_child(po_id, "SHIPMENT" if parcels is not None else "SHIPPED", "")[1]
        if events:
            items = repo.query_all(pk, range_key_condition=Item.SK.between(meta_sk, before))
        else:  # around the events: what sorts before them, then invoices and proposals
            items = repo.query_all(pk, range_key_condition=Item.SK.between(meta_sk, keys.po_child(po_id, "EVENT", "")[1]))
            items += repo.query_all(pk, range_key_condition=Item.SK.between(keys.po_child(po_id, "INVOICE", "")[1], before))
        meta = next((i for i in items if isinstance(i, PurchaseOrderItem)), None)
        if meta is None:
            return None
        found = po_record(meta)
        page = self.po_parcels(po_id, limit=parcels) if parcels is not None else None
        return POFile(
            shipments_cursor=page.cursor if page else None,
            record=found.value,
            version=found.version,
            events=[repo.event_from_item(i) for i in items if isinstance(i, AuditEventItem)],
            invoices=[_invoice(i) for i in items if isinstance(i, InvoiceItem)],
            proposals=[_proposal(i).value for i in items if isinstance(i, PaymentProposalItem)],
            shipments=page.items if page else [_shipment(i) for i in items if isinstance(i, POShipmentItem)],
            charge_backs=[_charge_back(i) for i in items if isinstance(i, ChargeBackItem)],
        )

    def po_parcels(self, po_id: str, *, limit: int, cursor: str | None = None) -> Page[POShipment]:
        page = repo.query_page(
            Item,
            keys.po_pk(po_id),
            range_key_condition=Item.SK.startswith(keys.po_child(po_id, "SHIPMENT", "")[1]),
            limit=limit,
            cursor=cursor,
            newest_first=False,
        )
        return Page([_shipment(i) for i in page.items if isinstance(i, POShipmentItem)], page.cursor)

    def supplier_pos(
        self, supplier_id: str, *, status: str | None = None, stage: str | None = None, limit: int, cursor: str | None = None
    ) -> Page[Versioned[PORecord]]:
        condition: Condition | None = None
        if status:
            condition = PurchaseOrderItem.status == status
        if stage:
            by_stage = PurchaseOrderItem.stage == stage
            condition = by_stage if condition is None else condition & by_stage
        page = repo.query_page(
            Item.gsi1, keys.supplier_pos_pk(supplier_id), filter_condition=condition, limit=limit, cursor=cursor
        )
        return _records(page)

    def campaign_pos(
        self, campaign_id: str, *, stage_or_status: str | None = None, limit: int, cursor: str | None = None
    ) -> Page[Versioned[PORecord]]:
        condition: Condition | None = None
        if stage_or_status:
            condition = (PurchaseOrderItem.stage == stage_or_status) | (PurchaseOrderItem.status == stage_or_status)
        page = repo.query_page(
            Item.gsi2,
            keys.campaign_pos_pk(campaign_id),
            filter_condition=condition,
            limit=limit,
            cursor=cursor,
            newest_first=False,
        )
        return _records(page)

    def pos_in(
        self, stage_or_status: str, *, limit: int, cursor: str | None = None, newest_first: bool = True
    ) -> Page[Versioned[PORecord]]:
        page = repo.query_page(Item.gsi3, keys.pos_in_pk(stage_or_status), limit=limit, cursor=cursor, newest_first=newest_first)
        return _records(page)

    def proposals_in(self, status: str, *, limit: int, cursor: str | None = None) -> Page[Versioned[PaymentProposal]]:
        page = repo.query_page(Item.gsi3, keys.proposals_pk(status), limit=limit, cursor=cursor, newest_first=False)
        return Page([_proposal(i) for i in page.items if isinstance(i, PaymentProposalItem)], page.cursor)

    def po_proposals(self, po_id: str) -> list[Versioned[PaymentProposal]]:
        items = repo.query_all(keys.po_pk(po_id), range_key_condition=Item.SK.startswith("PROPOSAL#"))
        found = [_proposal(i) for i in items if isinstance(i, PaymentProposalItem)]
        return sorted(found, key=lambda p: (p.value.created_at, p.value.id))

    def campaigns_by_id(self, campaign_ids: Iterable[str]) -> dict[str, Campaign]:
        wanted: Any = {keys.campaign(c) for c in campaign_ids}
        if not wanted:
            return {}
        return {i.id: repo.campaign_from_item(i) for i in repo.batch_get(wanted) if isinstance(i, CampaignItem)}
