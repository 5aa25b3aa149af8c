"""Every test here runs its services on a fresh in-memory store (`services.uow.using`), so nothing
reaches DynamoDB: no moto is started, and a service that still reached for AWS would open a socket,
which fails the test."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from chalicelib.adapters.memory import MemoryStore
from chalicelib.domain.addresses import Address
from chalicelib.domain.orders import (
    Delivery,
    DeliveryAction,
    DeliveryStatus,
    Order,
    OrderLine,
    OrderStatus,
    PaymentMode,
    apply_delivery_action,
    settle_acknowledgement,
)
from chalicelib.domain.permissions import Principal, Role
from chalicelib.services import uow
from chalicelib.services.ports import Save, Store
from tests.unit.factories import NOW

D = DeliveryStatus


@pytest.fixture(autouse=True)
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """A service still reaching for AWS fails at once, instead of trying the network."""

    def refuse(*_: object) -> None:
        raise AssertionError("a service test opened a socket: something it calls is not on the storage port")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


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


SHIP_TO = Address("Alice Martin", ("12 rue des Lilas", "Bâtiment B"), "Paris", "75011", "FR", "+33 1 23 45 67 89")
BOB_HOME = Address("Bob Berger", ("Schönhauser Allee 148",), "Berlin", "10435", "DE")
PRICES = {"MUG-1": ("Mug", "acme", 1200), "MUG-2": ("Big mug", "acme", 2500), "CAP-1": ("Cap", "bolt", 900)}


def placed(
    order_id: str,
    *lines: tuple[str, int],
    campaign_id: str = "cmp-1",
    customer_id: str = "cust-alice",
    minutes: int = 0,
    ship_to: Address | None = SHIP_TO,
    on_hold: bool = False,
) -> Order:
    """An order as placing it leaves it (placed, or on hold), created `minutes` after NOW."""
    order_lines = [OrderLine(sku, PRICES[sku][0], PRICES[sku][1], n, PRICES[sku][2]) for sku, n in lines]
    first = D.ON_HOLD if on_hold else D.PENDING
    return Order(
        id=order_id,
        campaign_id=campaign_id,
        customer_id=customer_id,
        customer_email=f"{customer_id}@example.com",
        currency="EUR",
        payment_mode=PaymentMode.PREPAID,
        lines=order_lines,
        deliveries=[Delivery(s, first) for s in dict.fromkeys(l.supplier_id for l in order_lines)],
        created_at=NOW + timedelta(minutes=minutes),
        status=OrderStatus.ON_HOLD if on_hold else OrderStatus.PLACED,
        shipping_address=ship_to,
    )


def acknowledged(order: Order, supplier_id: str, kept: dict[str, int]) -> Order:
    """What sharing out the supplier's acknowledgement does to one order (lines cut to what it kept)."""
    apply_delivery_action(order, supplier_id, DeliveryAction.SEND_PO)
    settle_acknowledgement(order, supplier_id, kept)
    return order


def save_new(store: Store, *orders: Order, at: datetime = NOW) -> None:
    for order in orders:
        store.commit([Save(order, None)], what=f"order {order.id}", at=at)


@pytest.fixture(autouse=True)
def link_keys() -> Iterator[None]:
    """Order-page links are signed with a test key here, never one read from Secrets Manager."""
    from chalicelib.domain.track_links import LinkKeys
    from chalicelib.services import track

    with track.using_keys(LinkKeys(b"services-test-link-key")):
        yield
