"""The staff home on the in-memory store: every exception kind has a home, each role sees its team's
sections and an admin all of them, counts come from the counters (exact past what the home reads),
a buyer sees the POs nearest their deadline and the campaigns closing, the counts' tag moves only with
the counts, and the trends count the events of each day or week."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.domain.campaigns import CampaignStatus
from chalicelib.domain.exceptions import KINDS, Owner
from chalicelib.domain.permissions import Role
from chalicelib.domain.purchase_orders import POLine, PurchaseOrder, Stage, po_id
from chalicelib.services import clock, exceptions, home
from chalicelib.services.ports import CampaignRecord, CountStage, Save
from chalicelib.services.ports_purchase_orders import PORecord
from tests.services.conftest import placed, principal, save_new
from tests.unit.factories import NOW, live_campaign

BUYER = principal("bea", Role.BUYER, email="bea@waybill.example")
CARE = principal("carl", Role.CUSTOMER_CARE, email="carl@waybill.example")
ACCOUNTING = principal("ada", Role.ACCOUNTING, email="ada@waybill.example")
LOGISTICS = principal("leo", Role.LOGISTICS, email="leo@waybill.example")
ADMIN = principal("alex", Role.ADMIN, email="alex@waybill.example")


@pytest.fixture(autouse=True)
def at_noon(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: NOW)


def keys(actor) -> list[str]:
    return [s.key for s in home.home(actor).sections]


def section(actor, key: str) -> home.Section:
    (found,) = [s for s in home.home(actor).sections if s.key == key]
    return found


def test_every_exception_kind_is_listed_in_exactly_one_section_owned_by_its_team():
    listed = [k for s in home.SECTIONS for k in s.kinds]
    assert sorted(listed) == sorted(KINDS), "a kind in no section would reach nobody's home"
    for s in home.SECTIONS:
        assert all(KINDS[k].owner is s.owner for k in s.kinds), s.key


def test_each_role_sees_its_teams_sections_and_an_admin_sees_every_one():
    assert keys(BUYER) == ["assigned", "purchase_orders", "campaigns"]
    assert keys(CARE) == ["assigned", "complaints", "held_orders"]
    assert keys(ACCOUNTING) == ["assigned", "payments", "failed_payments"]
    assert keys(LOGISTICS) == ["assigned", "parcels"]
    assert keys(ADMIN) == ["assigned", *(s.key for s in home.SECTIONS)]
    assert {s.owner for s in home.SECTIONS} == set(Owner), "every team has a section"


def test_a_sections_items_are_ranked_as_the_queue_and_carry_the_reason():
    exceptions.raise_or_bump("order_on_hold", "order", "ord-1", {"reason": "over the hold threshold"})
    exceptions.raise_or_bump("cancellation_requested", "cancellation_request", "ord-2.crq1", {})
    exceptions.raise_or_bump("complaint_open", "complaint", "cmp-9", {})
    held = section(CARE, "held_orders")
    assert [i.subject_id for i in held.items] == ["ord-1", "ord-2.crq1"] and held.count == 2 and not held.more
    assert held.items[0].reason == "over the hold threshold" and held.items[0].kind == "exception"
    assert section(CARE, "complaints").count == 1


def test_a_count_is_exact_from_the_counters_past_what_the_home_reads():
    for n in range(home.HEAD_READ + 5):  # critical: they fill the head of the queue
        exceptions.raise_or_bump("supplier_rejected", "po", f"po-{n:03d}", {})
    for n in range(3):
        exceptions.raise_or_bump("tracking_stale", "shipment", f"JD{n:08d}", {})
    parcels = section(LOGISTICS, "parcels")
    assert parcels.count == 3 and parcels.items == [] and parcels.more, "past the head: counted, linked, not listed"
    rejected = section(BUYER, "purchase_orders")
    assert rejected.count == home.HEAD_READ + 5 and len(rejected.items) == home.SHOWN and rejected.more


def test_a_buyer_sees_the_pos_nearest_their_deadline_and_the_campaigns_closing(store):
    def waiting(supplier: str, due_in: timedelta, minutes: int) -> str:
        po = PurchaseOrder(
            po_id("cmp-1", supplier), "cmp-1", supplier, "EUR", [POLine("MUG-1", "Mug", 1, 500)], NOW + timedelta(minutes=minutes)
        )
        store.commit([Save(po, None)], what="po", at=NOW)
        found = store.load(PORecord, po.id)
        assert found is not None
        moved = PORecord(replace(po, stage=Stage.ACKNOWLEDGE), "tok", NOW + due_in, None)
        store.commit([Save(moved, found.version)], what="po", at=NOW)
        return po.id

    late = waiting("acme", -timedelta(hours=2), 1)
    soon = waiting("bolt", timedelta(hours=3), 2)
    waiting("cove", timedelta(days=3), 3)  # not near yet
    closing = live_campaign(id="cmp-2", name="Spring", ends_at=NOW + timedelta(hours=20))
    later = live_campaign(id="cmp-3", name="Summer", ends_at=NOW + timedelta(days=9))
    for c in (closing, later):
        store.commit([Save(CampaignRecord(c, NOW, "bea@waybill.example"), None)], what="campaign", at=NOW)
    assert closing.status is CampaignStatus.LIVE

    exceptions.raise_or_bump("po_not_acknowledged", "po", late, {})  # the same wait, seen by the sweep

    pos = section(BUYER, "purchase_orders")
    assert [(i.kind, i.id, i.priority) for i in pos.items] == [
        ("purchase_order", late, "critical"),
        ("purchase_order", soon, "high"),
    ]
    assert pos.items[0].due_at == NOW - timedelta(hours=2)
    assert pos.count == 2, "the PO past its deadline is listed and counted once, not again for its exception"
    assert [i.id for i in section(BUYER, "campaigns").items] == ["cmp-2"]


def test_the_counts_tag_moves_with_the_counts_and_only_with_them():
    first = home.counts(CARE)
    assert home.counts(CARE).tag == first.tag
    exc = exceptions.raise_or_bump("complaint_open", "complaint", "cmp-1", {})
    moved = home.counts(CARE)
    assert moved.tag != first.tag and moved.menu["complaints"] == 1 and moved.menu["exceptions"] == 1
    exceptions.acknowledge(ADMIN, exc.id)
    assert home.counts(CARE).tag == moved.tag, "acknowledged is still waiting: the same counts"
    exceptions.resolve_by_staff(ADMIN, exc.id, note="done")
    menus = ("exceptions", "orders", "campaigns", "purchase-orders", "complaints", "payments")
    assert home.counts(CARE).menu == dict.fromkeys(menus, 0)


def test_trends_count_each_days_orders_and_exceptions_and_each_weeks_stages(store):
    save_new(store, placed("ord-1", ("MUG-1", 1)), placed("ord-2", ("MUG-1", 1)))
    save_new(store, placed("ord-3", ("MUG-1", 1)), at=NOW - timedelta(days=2))
    po = PurchaseOrder(po_id("cmp-1", "acme"), "cmp-1", "acme", "EUR", [POLine("MUG-1", "Mug", 1, 500)], NOW)
    store.commit([CountStage(po, Stage.ACKNOWLEDGE, {"completed": 1, "late": 1})], what="po", at=NOW)
    store.commit([CountStage(po, Stage.INVOICE, {"completed": 1, "late": 0})], what="po", at=NOW)

    series = {s.name: s for s in home.trends(ADMIN, days=7, weeks=3)}
    orders = series["orders"].points
    assert len(orders) == 7 and orders[-1] == (NOW.date().isoformat(), {"placed": 2})
    assert orders[-3] == ((NOW - timedelta(days=2)).date().isoformat(), {"placed": 1}) and orders[-2][1] == {"placed": 0}
    weeks = series["stages"].points
    assert len(weeks) == 3 and weeks[-1][1] == {"completed": 2, "late": 1} and weeks[0][1] == {"completed": 0, "late": 0}
    assert series["exceptions"].period == "day" and series["stages"].period == "week"


def test_accounting_sees_the_proposals_to_decide_and_a_late_one_only_once(store):
    from chalicelib.services.ports_purchase_orders import PaymentProposal, proposal_id

    def pending(po: str, minutes: int) -> PaymentProposal:
        at = NOW + timedelta(minutes=minutes)
        found = PaymentProposal(proposal_id(po, "pp-001"), po, "acme", "cmp-1", 6200, "EUR", "pending", at, at)
        store.commit([Save(found, None)], what="proposal", at=at)
        return found

    first, second = pending("po-a", 1), pending("po-b", 2)
    exceptions.raise_or_bump("payment_approval_pending", "po", "po-a", {})  # first is past its approval deadline
    exceptions.raise_or_bump("payment_approval_pending", "po", "po-z", {})  # a PO whose proposal is not pending

    payments = section(ACCOUNTING, "payments")
    listed = [(i.kind, i.subject_id) for i in payments.items]
    assert sorted(listed) == [("exception", "po-z"), ("payment_proposal", "po-a"), ("payment_proposal", "po-b")]
    assert payments.count == 3
    assert {i.id for i in payments.items if i.kind == "payment_proposal"} == {first.id, second.id}
