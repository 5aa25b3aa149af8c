"""The complaints service on the in-memory store: the customer's, the PO's and the staff lists of
complaints, a campaign's charge-backs per supplier, which complaint a parcel belongs to, opening a
complaint (its delivery's claims) and carrying out an accepted plan (refunds, charge-backs, the refund
cap). The steps through the API, the gateway over HTTP and the request counts run on moto:
tests/api/test_complaints.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.adapters import gateway
from chalicelib.adapters.memory import MemoryStore
from chalicelib.domain.complaints import ClaimedLine, ComplaintReason, ComplaintStatus, Plan, PlanLine, Resolution
from chalicelib.domain.errors import Forbidden, NotFound
from chalicelib.domain.orders import DeliveryStatus, OrderStatus, RequestedLine
from chalicelib.domain.permissions import Principal, Role
from chalicelib.services import clock, complaints
from chalicelib.services.ports import Save
from chalicelib.services.ports_common import Versioned
from chalicelib.services.ports_complaints import AddRefunded, ComplaintParcel, DeliveryClaims, StoredComplaint
from tests.contract.test_complaints import charge_back, complaint
from tests.contract.test_orders import copy_of
from tests.services.conftest import ALICE, placed
from tests.unit.factories import NOW, order_in, who

CARE = who(Role.CUSTOMER_CARE, sub="care-1")
CUSTOMER = who(Role.CUSTOMER, sub="cust-1")
BOB = who(Role.CUSTOMER, sub="cust-2")
ACME = Principal(sub="acme-user", roles=frozenset({Role.SUPPLIER}), supplier_id="sup-1")


@pytest.fixture
def seeded(store: MemoryStore) -> MemoryStore:
    store.commit(
        [
            Save(order_in(OrderStatus.PLACED), None),
            Save(complaint(1), None),
            Save(complaint(2, status=ComplaintStatus.DISPUTED), None),
            Save(complaint(3, supplier_id="sup-2", po_id="po-2"), None),
            Save(complaint(4, order_id="ord-2", po_id="po-2"), None),
        ],
        what="seed",
        at=NOW,
    )
    return store


def ids(found: Sequence[Versioned[StoredComplaint]]) -> list[str]:
    return [v.value.id for v in found]


def test_a_customer_lists_the_complaints_of_their_own_order_only(seeded: MemoryStore) -> None:
    assert ids(complaints.list_for_order(CUSTOMER, "ord-1")) == ["cpl-1", "cpl-2", "cpl-3"]
    with pytest.raises(NotFound):
        complaints.list_for_order(BOB, "ord-1")
    with pytest.raises(NotFound):
        complaints.list_for_order(CUSTOMER, "ord-none")
    with pytest.raises(Forbidden):
        complaints.list_for_order(CARE, "ord-1")


def test_staff_list_a_pos_complaints_newest_first_and_another_suppliers_po_is_a_404(seeded: MemoryStore) -> None:
    assert ids(complaints.list_for_po(CARE, "po-2")) == ["cpl-4", "cpl-3"]
    assert ids(complaints.list_for_po(CARE, "po-1")) == ["cpl-2", "cpl-1"]
    with pytest.raises(NotFound):  # no such PO for a supplier
        complaints.list_for_po(ACME, "po-1")


def test_the_staff_search_pages_by_status_and_filters_by_supplier_and_order(seeded: MemoryStore) -> None:
    everything, cursor = complaints.search(CARE, statuses=None, supplier_id=None, limit=3, cursor=None)
    assert ids(everything) == ["cpl-4", "cpl-3", "cpl-2"] and cursor
    rest, last = complaints.search(CARE, statuses=None, supplier_id=None, limit=3, cursor=cursor)
    assert ids(rest) == ["cpl-1"] and last is None
    opened, _ = complaints.search(CARE, statuses=["open"], supplier_id="sup-1", limit=10, cursor=None)
    assert ids(opened) == ["cpl-4", "cpl-1"]
    several, none = complaints.search(CARE, statuses=["open", "disputed"], supplier_id=None, limit=3, cursor=None)
    assert ids(several) == ["cpl-4", "cpl-3", "cpl-2"] and none is None
    of_order, _ = complaints.search(CARE, statuses=["open"], supplier_id=None, limit=10, cursor=None, order_id="ord-1")
    assert ids(of_order) == ["cpl-3", "cpl-1"]
    with pytest.raises(Forbidden):
        complaints.search(CUSTOMER, statuses=None, supplier_id=None, limit=3, cursor=None)


def test_a_campaigns_charge_backs_are_summed_per_supplier(store: MemoryStore) -> None:
    store.commit(
        [
            Save(charge_back("ref-1"), None),
            Save(replace(charge_back("ref-2"), amount_cents=250), None),
            Save(charge_back("ref-3", supplier_id="sup-2"), None),
            Save(charge_back("ref-4", campaign_id="cmp-2"), None),
        ],
        what="seed",
        at=NOW,
    )

    found = complaints.charge_backs_of_campaign(CARE, "cmp-1")

    assert found == [
        complaints.SupplierChargeBacks("sup-1", "po-sup-1", 850, "EUR", 2),
        complaints.SupplierChargeBacks("sup-2", "po-sup-2", 600, "EUR", 1),
    ]
    assert complaints.charge_backs_of_campaign(CARE, "cmp-9") == []
    with pytest.raises(Forbidden):
        complaints.charge_backs_of_campaign(ACME, "cmp-1")


def test_a_parcel_names_its_complaint_and_an_unknown_number_none(store: MemoryStore) -> None:
    parcel = ComplaintParcel("dhl", "RET1", "cpl-1", "ord-1", "return", NOW)
    store.commit([Save(parcel, None)], what="parcel", at=NOW)

    assert complaints.parcel_for("dhl", "RET1") == parcel
    assert complaints.parcel_for("dhl", "RET2") is None


# ---------------------------------------------------------------- writing


def _delivered_order(store: MemoryStore) -> None:
    order = placed("ord-1", ("MUG-1", 2))
    order.deliveries[0].status = DeliveryStatus.DELIVERED
    store.commit([Save(order, None)], what="order", at=NOW)


def _accepted(store: MemoryStore) -> None:
    kept = complaint(1, order_id="ord-1", supplier_id="acme", po_id="po-1", status=ComplaintStatus.ACCEPTED)
    kept.complaint.customer_id = "cust-alice"
    kept.complaint.lines = [ClaimedLine("MUG-1", 2, 1200)]
    kept.complaint.plan = Plan((PlanLine("MUG-1", Resolution.REFUND, 1, 1200, 1200, 600),), True, "care-1", NOW)
    store.commit([Save(kept, None)], what="complaint", at=NOW)


@pytest.fixture
def gateway_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []

    def refund(request: gateway.RefundRequest) -> gateway.GatewayResult:
        calls.append(request.refund_id)
        return gateway.GatewayResult(f"gw-{len(calls)}", "succeeded", 200, {})

    monkeypatch.setattr(gateway, "refund", refund)
    return calls


def test_opening_a_complaint_saves_it_counts_the_deliverys_claims_and_records_the_opening(store: MemoryStore) -> None:
    _delivered_order(store)
    yesterday = clock.now() - timedelta(days=1)  # the delivery's parcel arrived within the complaint window
    parcel = replace(copy_of("ord-1", "shp-1", 0), status="delivered", status_at=yesterday, created_at=yesterday)
    store.commit([Save(parcel, None)], what="the parcel's copy", at=NOW)

    first = complaints.open_complaint(
        ALICE, "ord-1", supplier_id="acme", reason=ComplaintReason.MISSING_ITEM, wanted=Resolution.REFUND,
        lines=[RequestedLine("MUG-1", 1)], photos=[],
    )  # fmt: skip
    second = complaints.open_complaint(
        ALICE, "ord-1", supplier_id="acme", reason=ComplaintReason.MISSING_ITEM, wanted=Resolution.REFUND,
        lines=[RequestedLine("MUG-1", 1)], photos=[],
    )  # fmt: skip

    claims = store.load(DeliveryClaims, "ord-1", "acme")
    assert claims is not None and (claims.value.complaints, claims.version) == (2, 2)
    found = store.complaint_file(first.complaint.id)
    assert found is not None and found.complaint == first.stored and first.version == 1
    assert found.complaint.value.line_names == {"MUG-1": "Mug"} and found.complaint.value.campaign_id == "cmp-1"
    assert [e.type for e in found.events] == ["complaint.opened"]
    assert ids(store.complaints_of_order("ord-1")) == [first.complaint.id, second.complaint.id]


def test_an_accepted_plan_is_carried_out_once_refunding_charging_back_and_resolving(
    store: MemoryStore, gateway_calls: list[str]
) -> None:
    _delivered_order(store)
    _accepted(store)

    assert complaints.carry_out("cpl-1") == "refunds:1"
    assert complaints.carry_out("cpl-1") == "refunds:0"  # a redelivered message: nothing sent again

    refund = complaints.rules.refund_id("cpl-1", "MUG-1")
    assert gateway_calls == [refund]
    [paid] = store.payments_of("ord-1")
    assert (paid.value.id, paid.value.status, paid.value.amount_cents, paid.value.gateway_reference, paid.version) == (
        refund,
        "succeeded",
        1200,
        "gw-1",
        2,
    )
    order = store.complaint_order("ord-1")
    assert order is not None and order.refunded_cents == 1200
    assert [(c.refund_id, c.amount_cents, c.po_id) for c in store.campaign_charge_backs("cmp-1")] == [(refund, 600, "po-1")]
    found = store.complaint_file("cpl-1")
    assert found is not None and found.complaint.value.complaint.status is ComplaintStatus.RESOLVED
    assert [e.type for e in found.events] == ["complaint.started", "complaint.refund_issued", "complaint.resolved"]


def test_a_plan_refunding_more_than_the_order_can_still_refund_is_not_started(
    store: MemoryStore, gateway_calls: list[str]
) -> None:
    _delivered_order(store)
    _accepted(store)
    store.commit([AddRefunded("ord-1", 2000, captured_cents=2400)], what="an earlier refund", at=NOW)  # 400 left

    assert complaints.carry_out("cpl-1") == "refund_exceeds_captured"

    assert gateway_calls == [] and store.payments_of("ord-1") == []
    found = store.complaint_file("cpl-1")
    assert found is not None and found.complaint.value.complaint.status is ComplaintStatus.ACCEPTED
    order = store.complaint_order("ord-1")
    assert order is not None and order.refunded_cents == 2000
