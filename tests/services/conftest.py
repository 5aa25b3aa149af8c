"""Every test here runs its services on a fresh in-memory store (`services.uow.using`), so nothing
reaches DynamoDB: a service that still did would fail for want of AWS (no moto is started here)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib.adapters.memory import MemoryStore
from chalicelib.domain.permissions import Principal, Role
from chalicelib.services import uow


@pytest.fixture(autouse=True)
def store() -> Iterator[MemoryStore]:
    memory = MemoryStore()
    with uow.using(memory):
        yield memory


def principal(sub: str, role: Role, **claims: str) -> Principal:
    return Principal(sub=sub, roles=frozenset({role}), **claims)  # type: ignore[arg-type]


ALICE = principal("cust-alice", Role.CUSTOMER, email="alice@example.com")
BOB = principal("cust-bob", Role.CUSTOMER, email="bob@example.com")
ACME = principal("sup-acme-user", Role.SUPPLIER, supplier_id="acme")
BOLT = principal("sup-bolt-user", Role.SUPPLIER, supplier_id="bolt")
BUYER = principal("buyer-1", Role.BUYER)
CARE = principal("care-1", Role.CUSTOMER_CARE)
