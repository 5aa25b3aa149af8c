"""What every store does for the purchase-order area (`services.ports_purchase_orders`), run on the
in-memory store and on the DynamoDB one: a PO's record saves under its version with the workflow's
token, deadline and execution; invoices are filed once; proposals move under their version; and each
listing's order, filters and paging."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.domain.audit import AuditEvent
from chalicelib.domain.campaigns import Campaign, CampaignStatus
from chalicelib.domain.errors import AlreadyExists, Conflict, RuleViolation
from chalicelib.domain.permissions import SYSTEM
from chalicelib.domain.purchase_orders import POLine, POStatus, PurchaseOrder, Stage, po_id
from chalicelib.services.ports import CampaignRecord, Record, Save, Store
from chalicelib.services.ports_purchase_orders import InvoiceRecord, PaymentProposal, PORecord, proposal_id
from tests.unit.factories import NOW

DEADLINE = NOW + timedelta(days=2)
ARN = "arn:aws:states:eu-west-1:000000000000:execution:po:cmp-1"


def purchase_order(campaign_id: str = "cmp-1", supplier_id: str = "acme", *, minutes: int = 0) -> PurchaseOrder:
    return PurchaseOrder(
        id=po_id(campaign_id, supplier_id),
        campaign_id=campaign_id,
        supplier_id=supplier_id,
        currency="EUR",
        lines=[POLine("MUG-1", "Mug", ordered_quantity=4, unit_cost_cents=500)],
        created_at=NOW + timedelta(minutes=minutes),
        order_count=2,
    )


def created(store: Store, *pos: PurchaseOrder) -> None:
    for po in pos:
        store.commit([Save(po, None)], what=f"purchase order {po.id}", at=NOW)


def moved(store: Store, po: PurchaseOrder, *, stage: Stage | None = None, status: POStatus = POStatus.OPEN) -> None:
    """The PO at its current version, in that stage or status (a stage open: with a token)."""
    found = store.load(PORecord, po.id)
    assert found is not None
    changed = replace(found.value.po, stage=stage, status=status)
    token = f"tok-{stage.value}" if stage else None
    store.commit([Save(PORecord(changed, token, DEADLINE, ARN), found.version)], what=f"purchase order {po.id}", at=NOW)


def invoice(po: PurchaseOrder, n: int = 1) -> InvoiceRecord:
    return InvoiceRecord(f"inv-{n:03d}", po.id, po.supplier_id, f"F-{n}", 6200, "EUR", f"key/{n}.pdf", NOW + timedelta(minutes=n))


def proposal(po: PurchaseOrder, n: int = 1, status: str = "pending") -> PaymentProposal:
    at = NOW + timedelta(minutes=n)
    return PaymentProposal(proposal_id(po.id, f"pp-{n:03d}"), po.id, po.supplier_id, po.campaign_id, 6200, "EUR", status, at, at)


def po_event(po: PurchaseOrder, n: int, subject_type: str = "po", subject_id: str | None = None) -> AuditEvent:
    return AuditEvent(
        id=f"evt-{n:03d}",
        subject_type=subject_type,
        subject_id=subject_id or po.id,
        type="po.stage_started",
        actor=SYSTEM,
        at=NOW + timedelta(seconds=n),
        data={"po_id": po.id, "n": n},
    )


# ---------------------------------------------------------------- the PO's record


def test_a_created_po_loads_as_a_record_with_no_stage_waiting_and_the_time_it_was_saved(store: Store):
    po = purchase_order()
    assert store.load(PORecord, po.id) is None
    created(store, po)
    found = store.load(PORecord, po.id)
    assert found is not None and found.version == 1
    assert found.value == PORecord(po, None, None, None, NOW)


def test_a_record_saves_under_its_version_with_the_token_deadline_and_execution_and_the_po_loads_alone(store: Store):
    po = purchase_order()
    created(store, po)
    later = NOW + timedelta(hours=1)
    opened = replace(po, stage=Stage.ACKNOWLEDGE, reminders={"acknowledge": 1})
    store.commit([Save(PORecord(opened, "tok-1", DEADLINE, ARN), 1)], what="the PO", at=later)
    found = store.load(PORecord, po.id)
    assert found is not None and found.version == 2
    assert found.value == PORecord(opened, "tok-1", DEADLINE, ARN, later)
    alone = store.load(PurchaseOrder, po.id)
    assert alone is not None and (alone.value, alone.version) == (opened, 2)
    store.commit([Save(PORecord(opened, None, None, ARN), 2)], what="the PO", at=later)  # the stage answered
    again = store.load(PORecord, po.id)
    assert again is not None and (again.value.task_token, again.value.stage_deadline, again.version) == (None, None, 3)


def test_a_stale_record_is_a_conflict_a_second_create_already_exists_and_the_po_alone_is_never_updated(store: Store):
    po = purchase_order()
    created(store, po)
    store.commit([Save(PORecord(po, "tok-1"), 1)], what="the PO", at=NOW)
    with pytest.raises(Conflict) as raised:
        store.commit([Save(PORecord(po, "tok-2"), 1)], what="the PO", at=NOW)
    assert not isinstance(raised.value, AlreadyExists)
    with pytest.raises(AlreadyExists):
        store.commit([Save(PORecord(po), None)], what="the PO", at=NOW)
    with pytest.raises(ValueError):  # it would drop the stage's token: change the record instead
        store.commit([Save(po, 2)], what="the PO", at=NOW)
    found = store.load(PORecord, po.id)
    assert found is not None and (found.value.task_token, found.version) == ("tok-1", 2)


# ---------------------------------------------------------------- invoices and proposals


def test_an_invoice_is_filed_once_and_never_changed(store: Store):
    po = purchase_order()
    created(store, po)
    store.commit([Save(invoice(po), None)], what="the invoice", at=NOW)
    found = store.load(InvoiceRecord, po.id, "inv-001")
    assert found is not None and found.value == invoice(po)
    with pytest.raises(AlreadyExists):
        store.commit([Save(invoice(po), None)], what="the invoice", at=NOW)
    with pytest.raises(ValueError):
        store.commit([Save(replace(invoice(po), amount_cents=1), 1)], what="the invoice", at=NOW)
    assert store.load(InvoiceRecord, po.id, "inv-002") is None


def test_a_proposal_loads_by_its_id_alone_and_moves_under_its_version(store: Store):
    po = purchase_order()
    created(store, po)
    new = proposal(po)
    store.commit([Save(new, None)], what="the proposal", at=NOW)
    found = store.load(PaymentProposal, new.id)
    assert found is not None and (found.value, found.version) == (new, 1)
    approved = replace(new, status="approved", note="ok", decided_by="acc-1")
    store.commit([Save(approved, 1)], what="the proposal", at=NOW)
    with pytest.raises(Conflict):
        store.commit([Save(replace(new, status="rejected"), 1)], what="the proposal", at=NOW)
    with pytest.raises(AlreadyExists):
        store.commit([Save(new, None)], what="the proposal", at=NOW)
    found = store.load(PaymentProposal, new.id)
    assert found is not None and (found.value, found.version) == (approved, 2)
    assert store.load(PaymentProposal, "no-separator") is None
    assert store.load(PaymentProposal, proposal_id(po.id, "pp-999")) is None


# ---------------------------------------------------------------- reads


def test_a_pos_file_holds_its_record_events_invoices_and_proposals_oldest_first(store: Store):
    po, other = purchase_order(), purchase_order(supplier_id="bolt")
    created(store, po, other)
    first, second = proposal(po, 2), proposal(po, 1)
    store.commit(
        [
            Save(invoice(po), None),
            Save(first, None),
            Save(second, None),
            Save(proposal(other, 3), None),
            Record(po_event(po, 3)),
            Record(po_event(po, 1)),
            Record(po_event(po, 2, "payment_proposal", first.id)),  # a proposal's event: kept with its PO
            Record(po_event(other, 4)),
        ],
        what="the documents",
        at=NOW,
    )
    found = store.po_file(po.id)
    assert found is not None
    assert (found.record, found.version) == (PORecord(po, updated_at=NOW), 1)
    assert [e.id for e in found.events] == ["evt-001", "evt-002", "evt-003"]
    assert found.invoices == [invoice(po)]
    assert found.proposals == [second, first]
    assert (found.shipments, found.charge_backs) == ([], [])
    assert store.po_file(po_id("cmp-1", "nobody")) is None


def test_a_suppliers_pos_come_newest_first_across_pages_and_filter_by_status_and_stage(store: Store):
    pos = [purchase_order(f"cmp-{n}", minutes=n) for n in (1, 2, 3, 4)]
    created(store, *pos, purchase_order("cmp-1", "bolt"))
    moved(store, pos[1], stage=Stage.INVOICE)
    moved(store, pos[2], stage=Stage.INVOICE)
    moved(store, pos[3], status=POStatus.CANCELLED)
    first = store.supplier_pos("acme", limit=3)
    assert [r.value.po.id for r in first.items] == [pos[3].id, pos[2].id, pos[1].id] and first.cursor is not None
    rest = store.supplier_pos("acme", limit=3, cursor=first.cursor)
    assert [r.value.po.id for r in rest.items] == [pos[0].id] and rest.cursor is None
    assert [r.version for r in first.items] == [2, 2, 2]
    assert first.items[1].value.task_token == "tok-invoice"
    in_stage = store.supplier_pos("acme", stage="invoice", limit=10)
    assert [r.value.po.id for r in in_stage.items] == [pos[2].id, pos[1].id]
    both = store.supplier_pos("acme", status="open", stage="invoice", limit=10)
    assert [r.value.po.id for r in both.items] == [pos[2].id, pos[1].id]
    cancelled = store.supplier_pos("acme", status="cancelled", limit=10)
    assert [r.value.po.id for r in cancelled.items] == [pos[3].id]


def test_a_campaigns_pos_come_by_supplier_and_filter_by_stage_or_status(store: Store):
    acme, bolt, cork = (purchase_order("cmp-1", s) for s in ("acme", "bolt", "cork"))
    created(store, cork, acme, bolt, purchase_order("cmp-2", "acme"))
    moved(store, bolt, stage=Stage.SHIPMENT)
    moved(store, cork, status=POStatus.SHIPPED)
    every = store.campaign_pos("cmp-1", limit=2)
    assert [r.value.po.supplier_id for r in every.items] == ["acme", "bolt"] and every.cursor is not None
    rest = store.campaign_pos("cmp-1", limit=2, cursor=every.cursor)
    assert [r.value.po.supplier_id for r in rest.items] == ["cork"]
    assert [r.value.po.id for r in store.campaign_pos("cmp-1", stage_or_status="shipment", limit=10).items] == [bolt.id]
    assert [r.value.po.id for r in store.campaign_pos("cmp-1", stage_or_status="shipped", limit=10).items] == [cork.id]


def test_the_pos_waiting_in_a_stage_or_ended_in_a_status_come_newest_first(store: Store):
    pos = [purchase_order(f"cmp-{n}", minutes=n) for n in (1, 2, 3)]
    created(store, *pos)
    for po in pos:
        moved(store, po, stage=Stage.ACKNOWLEDGE)
    moved(store, pos[1], stage=Stage.ACKNOWLEDGE, status=POStatus.REJECTED)  # finished: its status, not its stage
    first = store.pos_in("acknowledge", limit=1)
    assert [r.value.po.id for r in first.items] == [pos[2].id] and first.cursor is not None
    rest = store.pos_in("acknowledge", limit=5, cursor=first.cursor)
    assert [r.value.po.id for r in rest.items] == [pos[0].id] and rest.cursor is None
    assert [r.value.po.id for r in store.pos_in("rejected", limit=5).items] == [pos[1].id]
    assert store.pos_in("open", limit=5).items == []  # the open ones wait in their stage


def test_proposals_in_a_status_come_oldest_first_and_leave_the_queue_when_they_move(store: Store):
    po, other = purchase_order(), purchase_order(supplier_id="bolt")
    created(store, po, other)
    store.commit([Save(proposal(po, 3), None), Save(proposal(other, 1), None), Save(proposal(po, 2), None)], what="p", at=NOW)
    first = store.proposals_in("pending", limit=2)
    assert [p.value.id for p in first.items] == [proposal(other, 1).id, proposal(po, 2).id] and first.cursor is not None
    rest = store.proposals_in("pending", limit=2, cursor=first.cursor)
    assert [p.value.id for p in rest.items] == [proposal(po, 3).id]
    store.commit([Save(proposal(po, 2, "approved"), 1)], what="p", at=NOW)
    assert [p.value.id for p in store.proposals_in("pending", limit=5).items] == [proposal(other, 1).id, proposal(po, 3).id]
    approved = store.proposals_in("approved", limit=5).items
    assert [(p.value.id, p.version) for p in approved] == [(proposal(po, 2).id, 2)]
    assert [(p.value.id, p.version) for p in store.po_proposals(po.id)] == [(proposal(po, 2).id, 2), (proposal(po, 3).id, 1)]
    assert store.po_proposals(po_id("cmp-9", "acme")) == []


def test_campaigns_are_read_together_by_id(store: Store):
    campaigns = [Campaign(f"cmp-{n}", f"Drop {n}", "buyer-1", "EUR", CampaignStatus.LIVE, supplier_ids={"acme"}) for n in (1, 2)]
    store.commit([Save(CampaignRecord(c, NOW, None), None) for c in campaigns], what="campaigns", at=NOW)
    found = store.campaigns_by_id(["cmp-2", "cmp-1", "cmp-9"])
    assert {k: (c.name, c.status, c.supplier_ids) for k, c in found.items()} == {
        "cmp-1": ("Drop 1", CampaignStatus.LIVE, {"acme"}),
        "cmp-2": ("Drop 2", CampaignStatus.LIVE, {"acme"}),
    }
    assert store.campaigns_by_id([]) == {}


def test_a_cursor_from_another_suppliers_listing_is_refused(store: Store):
    created(store, purchase_order("cmp-1"), purchase_order("cmp-2", minutes=1), purchase_order("cmp-1", "bolt"))
    cursor = store.supplier_pos("acme", limit=1).cursor
    assert cursor is not None
    with pytest.raises(RuleViolation) as raised:
        store.supplier_pos("bolt", limit=1, cursor=cursor)
    assert raised.value.code == "invalid_cursor"


def test_a_pos_file_can_carry_one_page_of_its_parcels_and_leave_its_events_unread(store: Store):
    from chalicelib.services.ports_purchase_orders import POShipment

    po = purchase_order()
    created(store, po)
    parcels = [POShipment(f"shp_{n}", po.id, "acme", "dhl", f"JD{n}", ["ord-1"], "dispatched", NOW) for n in range(5)]
    store.commit(
        [Save(invoice(po), None), Save(proposal(po), None), Record(po_event(po, 1)), *(Save(p, 1) for p in parcels)],
        what="the documents",
        at=NOW,
    )
    found = store.po_file(po.id, parcels=2, events=False)
    assert found is not None and found.events == [] and found.invoices == [invoice(po)] and len(found.proposals) == 1
    assert [p.id for p in found.shipments] == ["shp_0", "shp_1"] and found.shipments_cursor
    rest = store.po_parcels(po.id, limit=10, cursor=found.shipments_cursor)
    assert [p.id for p in rest.items] == ["shp_2", "shp_3", "shp_4"] and rest.cursor is None
    everything = store.po_file(po.id)
    assert everything is not None and len(everything.shipments) == 5 and [e.id for e in everything.events] == ["evt-001"]


def test_parcels_counts_add_to_the_pos_orders_shipped_when_read_by_id_and_a_save_of_the_po_leaves_them(store: Store):
    from chalicelib.services.ports_shipments import ShippedCount

    po = replace(purchase_order(), orders_shipped=1)  # one the PO itself counts
    created(store, po)
    # Parcels add their orders apart from the PO, with any version (a count has none), none in the way
    # of another: the PO's own version does not move.
    counts = [ShippedCount(po.id, f"shp_{n}", n % 3) for n in range(12)]
    for n, c in enumerate(counts):  # each in its parcel's transaction
        store.commit([Save(c, 1 if n % 2 else None)], what=f"parcel {c.shipment_id}", at=NOW)
    apart = sum(c.orders for c in counts)
    found = store.load(PORecord, po.id)
    assert found is not None and found.version == 1
    assert (found.value.po.orders_shipped, found.value.po.orders_shipped_apart) == (1 + apart, apart)
    alone = store.load(PurchaseOrder, po.id)
    assert alone is not None and alone.value.orders_shipped == 1 + apart

    # A save of the PO as read (a stage completing with one more order shipped) counts that one on the PO
    # and leaves the parcels' counts where they are: nothing counted twice, nothing lost.
    found.value.po.orders_shipped += 1
    store.commit([Save(PORecord(found.value.po), found.version)], what="the PO", at=NOW)
    store.commit([Save(ShippedCount(po.id, "shp_late", 2), 1)], what="a parcel", at=NOW)
    again = store.load(PORecord, po.id)
    assert again is not None and again.version == 2
    assert (again.value.po.orders_shipped, again.value.po.orders_shipped_apart) == (1 + apart + 1 + 2, apart + 2)
    # A PO read without them (its file, its listings) counts what the PO itself holds, and saves as well.
    page = store.supplier_pos("acme", limit=10)
    assert [(r.value.po.orders_shipped, r.value.po.orders_shipped_apart) for r in page.items] == [(2, 0)]
    file = store.po_file(po.id)
    assert file is not None and file.record.po.orders_shipped == 2
    store.commit([Save(PORecord(file.record.po), file.version)], what="the PO", at=NOW)
    last = store.load(PORecord, po.id)
    assert last is not None and last.value.po.orders_shipped == 1 + apart + 1 + 2
