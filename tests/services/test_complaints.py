"""The complaints service's reads that are on the storage port, on the in-memory store: the customer's,
the PO's and the staff lists of complaints, a campaign's charge-backs per supplier, and which complaint
a parcel belongs to (the complaint's steps and its money still run on moto: tests/api/test_complaints.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from chalicelib.adapters.memory import MemoryStore
from chalicelib.domain.complaints import ComplaintStatus
from chalicelib.domain.errors import Forbidden, NotFound
from chalicelib.domain.orders import OrderStatus
from chalicelib.domain.permissions import Principal, Role
from chalicelib.services import complaints
from chalicelib.services.ports import Save
from chalicelib.services.ports_common import Versioned
from chalicelib.services.ports_complaints import ComplaintParcel, StoredComplaint
from tests.contract.test_complaints import charge_back, complaint
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
