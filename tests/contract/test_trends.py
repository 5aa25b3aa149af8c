"""Trend counters on both stores: written by the commits of the events they count (an order created,
an exception entering or leaving the queue, a PO stage completed), read back per period over a range."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from chalicelib.domain.orders import OrderStatus
from chalicelib.domain.purchase_orders import POLine, PurchaseOrder, Stage, po_id
from chalicelib.services.ports import CountExceptions, CountStage, Save, Store
from tests.unit.factories import NOW, order_in

DAY = NOW.date().isoformat()  # 2025-03-01, a Saturday
MONDAY = (NOW.date() - timedelta(days=NOW.weekday())).isoformat()


def test_each_order_created_counts_on_its_day_and_a_change_of_it_does_not(store: Store):
    for n, at in enumerate((NOW, NOW + timedelta(hours=1), NOW + timedelta(days=1))):
        order = dataclasses.replace(order_in(OrderStatus.PLACED), id=f"ord-{n}")
        store.commit([Save(order, None)], what="an order", at=at)
    changed = store.load(type(order), "ord-0")
    assert changed is not None
    store.commit([Save(changed.value, changed.version)], what="an order", at=NOW)

    found = store.trend("orders", DAY, (NOW + timedelta(days=3)).date().isoformat())
    assert found == {DAY: {"placed": 2}, (NOW + timedelta(days=1)).date().isoformat(): {"placed": 1}}
    assert store.trend("orders", "2025-02-01", "2025-02-28") == {}


def test_exceptions_count_opened_and_resolved_by_the_queues_net_move(store: Store):
    store.commit([CountExceptions({("open", "high", "order_on_hold"): 1})], what="exc 1", at=NOW)
    store.commit([CountExceptions({("open", "low", "unknown_tracking"): 1})], what="exc 2", at=NOW)
    moved = {("open", "high", "order_on_hold"): -1, ("acknowledged", "high", "order_on_hold"): 1}
    store.commit([CountExceptions(moved)], what="exc 1", at=NOW)  # acknowledged: still in the queue
    store.commit([CountExceptions({("acknowledged", "high", "order_on_hold"): -1})], what="exc 1", at=NOW)

    assert store.trend("exceptions", DAY, DAY) == {DAY: {"opened": 2, "resolved": 1}}


def test_completed_stages_count_per_week_with_the_late_ones(store: Store):
    po = PurchaseOrder(po_id("cmp-1", "acme"), "cmp-1", "acme", "EUR", [POLine("MUG-1", "Mug", 1, 500)], NOW)
    other = dataclasses.replace(po, id=po_id("cmp-1", "bolt"), supplier_id="bolt")
    store.commit([CountStage(po, Stage.ACKNOWLEDGE, {"completed": 1, "seconds": 60, "late": 0})], what="po", at=NOW)
    store.commit(
        [
            CountStage(po, Stage.INVOICE, {"completed": 1, "seconds": 60, "late": 1}),
            CountStage(other, Stage.ACKNOWLEDGE, {"completed": 1, "seconds": 60, "late": 1}),
        ],
        what="pos",
        at=NOW - timedelta(days=1),
    )
    store.commit([CountStage(po, Stage.SHIPMENT, {"completed": 1, "late": 0})], what="po", at=NOW + timedelta(days=2))

    next_monday = (NOW.date() + timedelta(days=7 - NOW.weekday())).isoformat()
    assert store.trend("stages", MONDAY, next_monday) == {
        MONDAY: {"completed": 3, "late": 2},
        next_monday: {"completed": 1, "late": 0},
    }


def test_the_pos_waiting_in_a_stage_can_come_oldest_first_for_the_home(store: Store):
    from tests.contract.test_purchase_orders import created, moved, purchase_order

    pos = [purchase_order(f"cmp-{n}", minutes=n) for n in (1, 2, 3)]
    created(store, *pos)
    for po in pos:
        moved(store, po, stage=Stage.ACKNOWLEDGE)
    first = store.pos_in("acknowledge", limit=2, newest_first=False)
    assert [r.value.po.id for r in first.items] == [pos[0].id, pos[1].id] and first.cursor is not None
    rest = store.pos_in("acknowledge", limit=5, cursor=first.cursor, newest_first=False)
    assert [r.value.po.id for r in rest.items] == [pos[2].id]
