"""What every store does for the money area (`services.ports_money`), on both stores: a payment is
created once, changed under its version, read by its key, with its order's trail and in its order's
list of payments, oldest first."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.domain.errors import AlreadyExists, Conflict, RuleViolation
from chalicelib.domain.orders import OrderStatus
from chalicelib.services.ports import Save, Store
from chalicelib.services.ports_money import Payment
from tests.contract.test_orders import create, order
from tests.unit.factories import NOW


def payment(payment_id: str, *, order_id: str = "ord-1", minutes: int = 0, status: str = "pending") -> Payment:
    at = NOW + timedelta(minutes=minutes)
    return Payment(
        id=payment_id,
        order_id=order_id,
        payment_kind="refund",
        supplier_id="acme",
        amount_cents=1250,
        currency="EUR",
        status=status,
        idempotency_key=payment_id,
        created_at=at,
        updated_at=at,
        sku="SKU-acme",
        reason="lines refused",
        actor="system",
    )


def test_a_payment_is_created_once_and_loads_with_its_first_version(store: Store) -> None:
    store.commit([Save(payment("ref-1"), None)], what="refund", at=NOW)
    found = store.load(Payment, "ord-1", "ref-1")
    assert found is not None and found.version == 1
    assert found.value == payment("ref-1")
    with pytest.raises(AlreadyExists):
        store.commit([Save(payment("ref-1"), None)], what="refund", at=NOW)
    assert store.load(Payment, "ord-1", "ref-2") is None


def test_a_payment_changes_under_the_version_it_was_read_at(store: Store) -> None:
    store.commit([Save(payment("ref-1"), None)], what="refund", at=NOW)
    done = replace(payment("ref-1", status="succeeded"), gateway_reference="tx-9", attempts=2, failure=None)
    store.commit([Save(done, 1)], what="refund", at=NOW)
    found = store.load(Payment, "ord-1", "ref-1")
    assert found is not None and found.version == 2 and found.value == done
    with pytest.raises(Conflict):
        store.commit([Save(replace(done, status="failed"), 1)], what="refund", at=NOW)
    again = store.load(Payment, "ord-1", "ref-1")
    assert again is not None and again.value.status == "succeeded"


def test_an_orders_payments_read_oldest_first_and_only_its_own(store: Store) -> None:
    create(store, order("ord-1", minutes=0), order("ord-2", minutes=1))
    store.commit(
        [
            Save(payment("ref-b", minutes=2), None),
            Save(payment("ref-a", minutes=1), None),
            Save(payment("ref-c", order_id="ord-2", minutes=0), None),
        ],
        what="payments",
        at=NOW,
    )
    assert [(p.value.id, p.version) for p in store.payments_of("ord-1")] == [("ref-a", 1), ("ref-b", 1)]
    assert store.payments_of("ord-3") == []
    trail = store.order_trail("ord-1")
    assert trail is not None and [(p.value.id, p.version) for p in trail.payments] == [("ref-a", 1), ("ref-b", 1)]
    assert trail.payments[0].value == payment("ref-a", minutes=1)


def test_a_campaigns_orders_supplied_by_a_supplier_page_oldest_first_with_their_versions(store: Store) -> None:
    create(
        store,
        order("ord-3", minutes=3, suppliers=("acme", "bolt")),
        order("ord-1", minutes=1),
        order("ord-2", minutes=2, suppliers=("bolt",)),
        order("ord-4", minutes=4, campaign_id="cmp-2"),
    )
    first = store.campaign_orders_supplied_by("cmp-1", "acme", limit=1)
    assert [(o.value.id, o.version) for o in first.items] == [("ord-1", 1)]
    seen = [o.value.id for o in first.items]
    cursor = first.cursor
    while cursor is not None:
        page = store.campaign_orders_supplied_by("cmp-1", "acme", limit=1, cursor=cursor)
        seen += [o.value.id for o in page.items]
        cursor = page.cursor
    assert seen == ["ord-1", "ord-3"]
    assert [o.value.id for o in store.campaign_orders_supplied_by("cmp-1", "bolt", limit=10).items] == ["ord-2", "ord-3"]
    with pytest.raises(RuleViolation):
        store.campaign_orders_supplied_by("cmp-1", "acme", limit=1, cursor="bm90LWEtY3Vyc29y")


def test_a_campaigns_orders_to_close_page_oldest_first_in_the_statuses_asked_with_their_versions(store: Store) -> None:
    O = OrderStatus  # noqa: N806
    create(
        store,
        order("ord-3", minutes=3, status=O.ON_HOLD),
        order("ord-1", minutes=1),
        order("ord-2", minutes=2, status=O.CANCELLED),
        order("ord-4", minutes=4, campaign_id="cmp-2"),
    )
    wanted = (O.PLACED, O.ON_HOLD)
    first = store.campaign_orders_to_close("cmp-1", wanted, limit=1)
    assert [(o.value.id, o.version, o.value.status) for o in first.items] == [("ord-1", 1, O.PLACED)]
    seen = [o.value.id for o in first.items]
    cursor = first.cursor
    while cursor is not None:
        page = store.campaign_orders_to_close("cmp-1", wanted, limit=1, cursor=cursor)
        seen += [o.value.id for o in page.items]
        cursor = page.cursor
    assert seen == ["ord-1", "ord-3"]
    assert store.campaign_orders_to_close("cmp-9", wanted, limit=5).items == []
    with pytest.raises(RuleViolation):
        store.campaign_orders_to_close("cmp-1", wanted, limit=1, cursor="bm90LWEtY3Vyc29y")
