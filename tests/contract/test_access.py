"""What every store does with suppliers' users and the inbound secret's lease (`services.ports_access`),
in memory and on DynamoDB: created once, changed under their version, a supplier's users read oldest
first and never another supplier's."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.domain.errors import AlreadyExists, Conflict
from chalicelib.services.ports import Save, Store
from chalicelib.services.ports_access import SecretLease, SupplierUser
from tests.unit.factories import NOW


def user(user_id: str, supplier_id: str = "acme", minutes: int = 0) -> SupplierUser:
    at = NOW + timedelta(minutes=minutes)
    return SupplierUser(supplier_id, user_id, f"{user_id}@x.example", user_id.title(), "invited", f"{user_id}@x.example", at, at)


def test_a_suppliers_users_are_read_oldest_first_and_only_its_own(store: Store) -> None:
    for u in (user("usr_b", minutes=2), user("usr_a", minutes=1), user("usr_c", "bolt")):
        store.commit([Save(u, None)], what="user", at=NOW)
    assert [u.value.id for u in store.supplier_users("acme")] == ["usr_a", "usr_b"]
    assert [u.version for u in store.supplier_users("acme")] == [1, 1]
    assert store.supplier_users("nobody") == []


def test_a_user_is_created_once_and_changed_under_its_version(store: Store) -> None:
    store.commit([Save(user("usr_a"), None)], what="user", at=NOW)
    with pytest.raises(AlreadyExists):
        store.commit([Save(user("usr_a"), None)], what="user", at=NOW)
    disabled = replace(user("usr_a"), status="disabled")
    store.commit([Save(disabled, 1)], what="user", at=NOW)
    with pytest.raises(Conflict):
        store.commit([Save(disabled, 1)], what="user", at=NOW)
    loaded = store.load(SupplierUser, "acme", "usr_a")
    assert loaded is not None and loaded.version == 2 and loaded.value.status == "disabled"


def test_the_lease_is_taken_under_its_version(store: Store) -> None:
    lease = SecretLease("inbound", "lease_1", NOW + timedelta(seconds=30))
    store.commit([Save(lease, None)], what="lease", at=NOW)
    with pytest.raises(AlreadyExists):
        store.commit([Save(replace(lease, holder="lease_2"), None)], what="lease", at=NOW)
    store.commit([Save(replace(lease, holder=None), 1)], what="lease", at=NOW)
    loaded = store.load(SecretLease, "inbound")
    assert loaded is not None and loaded.version == 2 and loaded.value.holder is None
    assert loaded.value.expires_at == NOW + timedelta(seconds=30)
