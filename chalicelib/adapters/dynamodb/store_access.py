"""Suppliers' users and the inbound secret's lease on the single table (`services.ports_access`).

A supplier's user is `SUPPLIER#<id>` / `USER#<user id>` (beside the supplier, so its users are one
Query of its partition); the lease is `LEASE#<secret name>` / `#META`. Both are versioned items."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute, VersionAttribute

from ...services.ports_access import SecretLease, SupplierUser
from ...services.ports_common import Versioned
from . import keys
from . import repository as repo
from .mapping import Mapper, Writes, register
from .models import Item

USER_PREFIX = "USER#"


class SupplierUserItem(Item, discriminator="supplier_user"):
    supplier_id = UnicodeAttribute()
    id = UnicodeAttribute()
    email = UnicodeAttribute()
    name = UnicodeAttribute()
    status = UnicodeAttribute()
    username = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()


class SecretLeaseItem(Item, discriminator="secret_lease"):
    name = UnicodeAttribute()
    holder = UnicodeAttribute(null=True)
    lease_until = UTCDateTimeAttribute()  # not `expires_at`: that is the table's TTL attribute
    version = VersionAttribute()


def _user_key(supplier_id: str, user_id: str) -> tuple[str, str]:
    return keys.supplier(supplier_id)[0], f"{USER_PREFIX}{user_id}"


def _lease_key(name: str) -> tuple[str, str]:
    return f"LEASE#{name}", keys.META


def _user(item: SupplierUserItem) -> SupplierUser:
    return SupplierUser(
        item.supplier_id, item.id, item.email, item.name, item.status, item.username, item.created_at, item.updated_at
    )


def _write(item: Any, version: int | None) -> Writes:
    new = Item.PK.does_not_exist() if version is None else None
    return [repo.Write(repo.with_version(item, version), new)]


def _load_user(supplier_id: str, user_id: str) -> tuple[SupplierUser, int] | None:
    item = repo.get(_user_key(supplier_id, user_id), SupplierUserItem)
    return None if item is None else (_user(item), int(item.version))


def _save_user(u: SupplierUser, version: int | None, at: datetime) -> Writes:
    item = SupplierUserItem(
        *_user_key(u.supplier_id, u.id),
        supplier_id=u.supplier_id,
        id=u.id,
        email=u.email,
        name=u.name,
        status=u.status,
        username=u.username,
        created_at=u.created_at,
        updated_at=u.updated_at,
    )
    return _write(item, version)


def _load_lease(name: str) -> tuple[SecretLease, int] | None:
    item = repo.get(_lease_key(name), SecretLeaseItem)
    return None if item is None else (SecretLease(item.name, item.holder, item.lease_until), int(item.version))


def _save_lease(lease: SecretLease, version: int | None, at: datetime) -> Writes:
    item = SecretLeaseItem(*_lease_key(lease.name), name=lease.name, holder=lease.holder, lease_until=lease.expires_at)
    return _write(item, version)


register(SupplierUser, Mapper(load=_load_user, save=_save_user))
register(SecretLease, Mapper(load=_load_lease, save=_save_lease))


class AccessDynamo:
    def supplier_users(self, supplier_id: str) -> list[Versioned[SupplierUser]]:
        found = repo.query_all(keys.supplier(supplier_id)[0], range_key_condition=Item.SK.startswith(USER_PREFIX))
        users = [Versioned(_user(i), int(i.version)) for i in found if isinstance(i, SupplierUserItem)]
        return sorted(users, key=lambda u: (u.value.created_at, u.value.id))
