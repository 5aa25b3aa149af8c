"""Suppliers' users and the inbound secret's lease in memory (`services.ports_access`)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from ..services.ports_access import SecretLease, SupplierUser
from ..services.ports_common import Versioned

ACCESS_KEYS: dict[type, Callable[[Any], tuple[str, ...]]] = {
    SupplierUser: lambda u: (u.supplier_id, u.id),
    SecretLease: lambda lease: (lease.name,),
}


class AccessMemory:
    _aggregates: dict[tuple[type, tuple[str, ...]], tuple[Any, int]]

    def supplier_users(self, supplier_id: str) -> list[Versioned[SupplierUser]]:
        users = [
            Versioned(copy.deepcopy(v), n)
            for (kind, key), (v, n) in self._aggregates.items()
            if kind is SupplierUser and key[0] == supplier_id
        ]
        return sorted(users, key=lambda u: (u.value.created_at, u.value.id))
