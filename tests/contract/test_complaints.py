"""What every store does with the complaints area (`services.ports_complaints`), on the in-memory store
and on the DynamoDB one: complaints, returns, parcels, delivery claims and charge-backs saved under
versions, and the area's reads (a complaint's file, by order, by PO, the staff listing, a complaint's
returns, a campaign's charge-backs, an order as complaints read it, a campaign's PO to a supplier) and
what complaints refunded on an order (`AddRefunded`, under its cap)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.domain.audit import AuditEvent
from chalicelib.domain.complaints import (
    ClaimedLine,
    Complaint,
    ComplaintReason,
    ComplaintStatus,
    Photo,
    Plan,
    PlanLine,
    Resolution,
    ReturnAuthorisation,
    ReturnLine,
    ReturnStatus,
)
from chalicelib.domain.errors import AlreadyExists, Conflict, RuleViolation
from chalicelib.domain.permissions import SYSTEM
from chalicelib.services.ports import Record, Save, Store
from chalicelib.services.ports_complaints import (
    AddRefunded,
    ComplaintParcel,
    DeliveryClaims,
    Parcel,
    SkuQuantity,
    StoredComplaint,
    StoredReturn,
)
from chalicelib.services.ports_money import Payment
from chalicelib.services.ports_purchase_orders import ChargeBack
from tests.contract.test_money import payment
from tests.contract.test_orders import copy_of, create, order
from tests.contract.test_purchase_orders import created, purchase_order
from tests.unit.factories import NOW


def complaint(
    n: int = 1,
    *,
    order_id: str = "ord-1",
    supplier_id: str = "sup-1",
    po_id: str | None = "po-1",
    status: ComplaintStatus = ComplaintStatus.OPEN,
) -> StoredComplaint:
    at = NOW + timedelta(minutes=n)
    return StoredComplaint(
        complaint=Complaint(
            id=f"cpl-{n}",
            order_id=order_id,
            supplier_id=supplier_id,
            customer_id="cust-1",
            reason=ComplaintReason.DAMAGED,
            wanted=Resolution.REFUND,
            lines=[ClaimedLine("sku-a", 2, 1200)],
            photos=[Photo("complaint-photos/ord-1/x/img-1.jpg", "image/jpeg", 2048)],
            opened_at=at,
            description="the box was crushed",
            status=status,
        ),
        customer_email="alice@example.com",
        campaign_id="cmp-1",
        po_id=po_id,
        currency="EUR",
        updated_at=at,
        line_names={"sku-a": "Apples"},
    )


def event(complaint_id: str, n: int) -> AuditEvent:
    return AuditEvent(
        id=f"evt-{complaint_id}-{n}",
        subject_type="complaint",
        subject_id=complaint_id,
        type="complaint.note_added",
        actor=SYSTEM,
        at=NOW + timedelta(seconds=n),
        from_status="open",
        to_status="open",
        data={"complaint_id": complaint_id},
    )


def rma(complaint_id: str = "cpl-1") -> StoredReturn:
    return StoredReturn(
        ReturnAuthorisation(
            id="rma-1",
            complaint_id=complaint_id,
            order_id="ord-1",
            supplier_id="sup-1",
            lines=(ReturnLine("sku-a", 1, 1200, 600),),
            authorised_at=NOW,
        ),
        instructions="send it back",
        updated_at=NOW,
    )


def charge_back(refund_id: str, *, supplier_id: str = "sup-1", campaign_id: str = "cmp-1") -> ChargeBack:
    return ChargeBack(
        refund_id=refund_id,
        complaint_id="cpl-1",
        order_id="ord-1",
        po_id=f"po-{supplier_id}",
        supplier_id=supplier_id,
        campaign_id=campaign_id,
        sku="sku-a",
        amount_cents=600,
        currency="EUR",
        created_at=NOW,
    )


def test_a_complaint_is_loaded_as_it_was_saved_with_every_field_the_shop_keeps(store: Store) -> None:
    stored = complaint()
    stored.complaint.status = ComplaintStatus.IN_PROGRESS
    stored.complaint.plan = Plan(
        (PlanLine("sku-a", Resolution.REPLACEMENT, 1, 0, 1200, 0), PlanLine("sku-a", Resolution.REFUND, 1, 1200, 1200, 600)),
        True,
        "care-1",
        NOW,
    )
    stored = replace(
        stored,
        supplier_question="what happened?",
        supplier_answer="the carrier dropped it",
        supplier_answered_at=NOW,
        plan_approved_by="admin-1",
        plan_approved_at=NOW,
        replacement_lines=[SkuQuantity("sku-a", 1)],
        replacement=Parcel("dhl", "123", "dispatched", NOW),
    )
    store.commit([Save(stored, None)], what="complaint", at=NOW)

    found = store.load(StoredComplaint, "cpl-1")

    assert found is not None and found.version == 1
    assert found.value == stored


def test_a_complaint_saved_under_a_stale_version_is_a_conflict_and_a_second_create_already_exists(store: Store) -> None:
    store.commit([Save(complaint(), None)], what="complaint", at=NOW)
    loaded = store.load(StoredComplaint, "cpl-1")
    assert loaded is not None
    moved = replace(loaded.value, updated_at=NOW + timedelta(hours=1))
    store.commit([Save(moved, loaded.version)], what="complaint", at=NOW)

    with pytest.raises(Conflict):
        store.commit([Save(moved, loaded.version)], what="complaint", at=NOW)
    with pytest.raises(AlreadyExists):
        store.commit([Save(complaint(), None)], what="complaint", at=NOW)
    assert store.load(StoredComplaint, "cpl-1") == type(loaded)(moved, 2)


def test_a_complaints_file_holds_it_its_return_and_its_history_oldest_first(store: Store) -> None:
    assert store.complaint_file("cpl-1") is None
    store.commit([Save(complaint(), None), Record(event("cpl-1", 2)), Record(event("cpl-1", 1))], what="c", at=NOW)
    store.commit([Save(rma(), None), Record(event("cpl-2", 1))], what="r", at=NOW)

    found = store.complaint_file("cpl-1")

    assert found is not None
    assert found.complaint.value == complaint() and found.complaint.version == 1
    assert found.rma is not None and found.rma.value == rma() and found.rma.version == 1
    assert [e.id for e in found.events] == ["evt-cpl-1-1", "evt-cpl-1-2"]


def test_a_return_is_saved_under_its_version_and_listed_with_its_complaint(store: Store) -> None:
    store.commit([Save(rma(), None)], what="r", at=NOW)
    loaded = store.load(StoredReturn, "cpl-1", "rma-1")
    assert loaded is not None and loaded.value == rma()
    loaded.value.rma.status, loaded.value.rma.received_at = ReturnStatus.RECEIVED, NOW
    shipped = replace(loaded.value, parcel=Parcel("ups", "1Z", "delivered", NOW))
    store.commit([Save(shipped, loaded.version)], what="r", at=NOW)

    with pytest.raises(Conflict):
        store.commit([Save(shipped, loaded.version)], what="r", at=NOW)
    with pytest.raises(AlreadyExists):
        store.commit([Save(rma(), None)], what="r", at=NOW)
    assert [(v.value, v.version) for v in store.returns_of_complaint("cpl-1")] == [(shipped, 2)]
    assert store.returns_of_complaint("cpl-2") == []


def test_an_orders_complaints_come_oldest_first_and_a_pos_newest_first(store: Store) -> None:
    store.commit(
        [
            Save(complaint(2), None),
            Save(complaint(1), None),
            Save(complaint(3, order_id="ord-2", po_id="po-2"), None),
            Save(complaint(4, po_id=None), None),
        ],
        what="c",
        at=NOW,
    )

    assert [v.value.id for v in store.complaints_of_order("ord-1")] == ["cpl-1", "cpl-2", "cpl-4"]
    assert [v.value.id for v in store.complaints_of_po("po-1")] == ["cpl-2", "cpl-1"]
    assert [v.value.id for v in store.complaints_of_po("po-2")] == ["cpl-3"]
    assert store.complaints_of_order("ord-9") == [] and store.complaints_of_po("po-9") == []


def test_the_staff_listing_is_newest_first_by_status_or_all_paged_and_filtered_by_supplier(store: Store) -> None:
    store.commit(
        [
            Save(complaint(1), None),
            Save(complaint(2, status=ComplaintStatus.DISPUTED), None),
            Save(complaint(3), None),
            Save(complaint(4, supplier_id="sup-2"), None),
        ],
        what="c",
        at=NOW,
    )

    first = store.complaints_listing(status=None, supplier_id=None, limit=3)
    assert [v.value.id for v in first.items] == ["cpl-4", "cpl-3", "cpl-2"] and first.cursor
    rest = store.complaints_listing(status=None, supplier_id=None, limit=3, cursor=first.cursor)
    assert [v.value.id for v in rest.items] == ["cpl-1"] and rest.cursor is None
    opened = store.complaints_listing(status="open", supplier_id=None, limit=10)
    assert [v.value.id for v in opened.items] == ["cpl-4", "cpl-3", "cpl-1"]
    assert [v.value.id for v in store.complaints_listing(status="open", supplier_id="sup-1", limit=10).items] == [
        "cpl-3",
        "cpl-1",
    ]
    assert [v.value.id for v in store.complaints_listing(status=None, supplier_id="sup-2", limit=10).items] == ["cpl-4"]
    with pytest.raises(RuleViolation):
        store.complaints_listing(status="disputed", supplier_id=None, limit=3, cursor="bm90LWEtY3Vyc29y")


def test_a_complaint_parcel_is_registered_once(store: Store) -> None:
    parcel = ComplaintParcel("dhl", "123", "cpl-1", "ord-1", "return", NOW)
    store.commit([Save(parcel, None)], what="parcel", at=NOW)

    assert store.load(ComplaintParcel, "dhl", "123") is not None
    found = store.load(ComplaintParcel, "dhl", "123")
    assert found is not None and found.value == parcel
    assert store.load(ComplaintParcel, "dhl", "456") is None
    with pytest.raises(AlreadyExists):
        store.commit([Save(replace(parcel, complaint_id="cpl-2"), None)], what="parcel", at=NOW)


def test_a_deliverys_claims_move_under_their_version(store: Store) -> None:
    store.commit([Save(DeliveryClaims("ord-1", "sup-1", 1), None)], what="claims", at=NOW)
    loaded = store.load(DeliveryClaims, "ord-1", "sup-1")
    assert loaded is not None and loaded.value == DeliveryClaims("ord-1", "sup-1", 1)
    store.commit([Save(DeliveryClaims("ord-1", "sup-1", 2), loaded.version)], what="claims", at=NOW)

    with pytest.raises(Conflict):  # a second complaint opened on the same read
        store.commit([Save(DeliveryClaims("ord-1", "sup-1", 2), loaded.version)], what="claims", at=NOW)
    with pytest.raises(AlreadyExists):
        store.commit([Save(DeliveryClaims("ord-1", "sup-1", 1), None)], what="claims", at=NOW)
    again = store.load(DeliveryClaims, "ord-1", "sup-1")
    assert again is not None and (again.value.complaints, again.version) == (2, 2)
    assert store.load(DeliveryClaims, "ord-1", "sup-2") is None


def test_a_campaigns_charge_backs_come_by_supplier_and_each_is_created_once(store: Store) -> None:
    store.commit(
        [
            Save(charge_back("ref-2"), None),
            Save(charge_back("ref-1", supplier_id="sup-2"), None),
            Save(charge_back("ref-1"), None),
            Save(charge_back("ref-3", campaign_id="cmp-2"), None),
        ],
        what="charge-backs",
        at=NOW,
    )

    found = store.campaign_charge_backs("cmp-1")

    assert [(c.supplier_id, c.refund_id) for c in found] == [("sup-1", "ref-1"), ("sup-1", "ref-2"), ("sup-2", "ref-1")]
    assert found[0] == charge_back("ref-1")
    assert store.campaign_charge_backs("cmp-9") == []
    loaded = store.load(ChargeBack, "po-sup-1", "ref-2")
    assert loaded is not None and loaded.value == charge_back("ref-2")
    with pytest.raises(AlreadyExists):
        store.commit([Save(charge_back("ref-2"), None)], what="charge-back", at=NOW)


def test_an_order_as_complaints_read_it_holds_its_payments_refunded_total_parcels_and_claims(store: Store) -> None:
    assert store.complaint_order("ord-1") is None
    placed = order("ord-1", minutes=0)
    create(store, placed, order("ord-2", minutes=1))
    store.commit(
        [
            Save(payment("pay-2", minutes=2), None),
            Save(payment("pay-1", minutes=1), None),
            Save(payment("pay-9", order_id="ord-2"), None),
            Save(copy_of("ord-1", "shp-2", 5), None),
            Save(copy_of("ord-1", "shp-1", 3), None),
            Save(DeliveryClaims("ord-1", "acme", 2), None),
            Save(DeliveryClaims("ord-2", "acme", 1), None),
            AddRefunded("ord-1", 700, captured_cents=1000),
        ],
        what="ord-1",
        at=NOW,
    )

    found = store.complaint_order("ord-1")

    assert found is not None
    assert (found.order.value, found.order.version) == (placed, 1)
    assert [(p.value.id, p.version) for p in found.payments] == [("pay-1", 1), ("pay-2", 1)]
    assert found.payments[0].value == payment("pay-1", minutes=1)
    assert found.refunded_cents == 700
    assert [s.shipment_id for s in found.shipments] == ["shp-1", "shp-2"]
    assert found.shipments[0] == copy_of("ord-1", "shp-1", 3)
    assert {k: (v.value, v.version) for k, v in found.claims.items()} == {"acme": (DeliveryClaims("ord-1", "acme", 2), 1)}
    other = store.complaint_order("ord-2")
    assert other is not None and other.refunded_cents == 0 and [p.value.id for p in other.payments] == ["pay-9"]


def test_what_complaints_refunded_adds_up_within_what_was_captured_or_the_whole_commit_fails(store: Store) -> None:
    create(store, order("ord-1", minutes=0))
    store.commit([AddRefunded("ord-1", 1000, captured_cents=1500)], what="refund", at=NOW)

    with pytest.raises(Conflict):  # 1000 refunded already: 600 more would pass the 1500 captured
        store.commit([Save(payment("ref-2"), None), AddRefunded("ord-1", 600, captured_cents=1500)], what="refund", at=NOW)
    assert store.load(Payment, "ord-1", "ref-2") is None  # nothing of the failed commit was written

    store.commit([AddRefunded("ord-1", 500, captured_cents=1500)], what="refund", at=NOW)  # exactly up to the cap
    store.commit([AddRefunded("ord-1", -1000)], what="a failed refund gives back", at=NOW)  # no cap on giving back
    found = store.complaint_order("ord-1")
    assert found is not None and found.refunded_cents == 500


def test_a_campaigns_po_to_a_supplier_is_found_by_campaign_and_supplier(store: Store) -> None:
    po = purchase_order("cmp-1", "acme")
    created(store, po, purchase_order("cmp-1", "bolt"), purchase_order("cmp-2", "acme"))

    assert store.supplier_po("cmp-1", "acme") == po.id
    assert store.supplier_po("cmp-1", "zeta") is None
    assert store.supplier_po("cmp-9", "acme") is None
