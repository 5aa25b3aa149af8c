"""The customer's address book: save, list, change and delete shipping addresses, and pick a default.

Reads are one Query on the customer's partition (`ADDRESSBOOK` header + `ADDRESS#<id>` entries).
Every change is one transaction: the entry (under its version), the book's header when the default
or the set of entries changes (under its version, so two concurrent changes can neither leave two
defaults nor pass the cap) and an audit event on the customer (ids only: no address on the bus).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..adapters.dynamodb import keys
from ..adapters.dynamodb import repository as repo
from ..adapters.dynamodb.models import AddressBookItem, AddressItem, Item
from ..domain.addresses import Address, AddressBook, BookEntry, label_of, merged, parse_address
from ..domain.audit import AuditEvent
from ..domain.errors import Conflict, NotFound
from ..domain.permissions import Principal, Role, roles
from .clock import new_id, now
from .guard import require

CUSTOMERS = roles(Role.CUSTOMER)


@dataclass
class SavedAddress:
    id: str
    label: str | None
    address: Address
    is_default: bool
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass
class _Loaded:
    header: AddressBookItem | None
    items: list[AddressItem] = field(default_factory=list)  # oldest first

    def book(self) -> AddressBook:
        return AddressBook(
            [BookEntry(i.id, repo.address_from_map(i.address), i.label) for i in self.items],
            self.header.default_address_id if self.header else None,
        )

    def item(self, address_id: str) -> AddressItem:
        found = next((i for i in self.items if i.id == address_id), None)
        if found is None:
            raise NotFound(f"address {address_id} not found")  # also another customer's: never confirm it exists
        return found


def _load(customer_id: str) -> _Loaded:
    found = repo.query_all(keys.customer_pk(customer_id), range_key_condition=Item.SK.startswith(keys.ADDRESS_BOOK_PREFIX))
    header = next((i for i in found if isinstance(i, AddressBookItem)), None)
    items = sorted((i for i in found if isinstance(i, AddressItem)), key=lambda i: (i.created_at, i.id))
    return _Loaded(header, items)


def _saved(item: AddressItem, default_id: str | None) -> SavedAddress:
    return SavedAddress(
        id=item.id,
        label=item.label,
        address=repo.address_from_map(item.address),
        is_default=item.id == default_id,
        version=int(item.version),
        created_at=item.created_at,
        updated_at=item.updated_at,
    )


def _header_write(customer_id: str, loaded: _Loaded, default_id: str | None, at: datetime) -> repo.Write:
    item = AddressBookItem(*keys.address_book(customer_id), customer_id=customer_id, default_address_id=default_id, updated_at=at)
    return repo.Write(repo.with_version(item, int(loaded.header.version) if loaded.header else None))


def _event(actor: Principal, action: str, address_id: str, default_id: str | None, at: datetime) -> repo.Write:
    event = AuditEvent(
        id=new_id("evt"),
        subject_type="customer",
        subject_id=actor.sub,
        type=f"customer.address_{action}",
        actor=actor,
        at=at,
        data={"customer_id": actor.sub, "address_id": address_id, "default_address_id": default_id},
    )
    return repo.event_write(keys.customer_pk(actor.sub), event)


def _check_version(item: AddressItem, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != int(item.version):
        raise Conflict(f"address {item.id} is at version {item.version}, not {expected_version}")


def list_addresses(actor: Principal) -> list[SavedAddress]:
    require(actor, CUSTOMERS, "keep an address book")
    loaded = _load(actor.sub)
    default_id = loaded.header.default_address_id if loaded.header else None
    return [_saved(i, default_id) for i in loaded.items]


def get_address(actor: Principal, address_id: str) -> SavedAddress:
    require(actor, CUSTOMERS, "keep an address book")
    loaded = _load(actor.sub)
    return _saved(loaded.item(address_id), loaded.header.default_address_id if loaded.header else None)


def add_address(
    actor: Principal, fields: Mapping[str, Any], *, label: str | None = None, make_default: bool = False
) -> SavedAddress:
    """Save a new address (validated; the first one saved becomes the default)."""
    require(actor, CUSTOMERS, "keep an address book")
    address = parse_address(fields, where="body")
    label = label_of(label)
    loaded = _load(actor.sub)
    book = loaded.book()
    entry = BookEntry(new_id("adr"), address, label)
    book.add(entry, make_default=make_default)
    at = now()
    item = AddressItem(
        *keys.customer_address(actor.sub, entry.id),
        id=entry.id,
        customer_id=actor.sub,
        label=label,
        address=repo.address_map(address),
        created_at=at,
        updated_at=at,
    )
    repo.commit(
        [
            _header_write(actor.sub, loaded, book.default_id, at),
            repo.new_item(item),
            _event(actor, "added", entry.id, book.default_id, at),
        ],
        what="your address book",
    )
    return SavedAddress(entry.id, label, address, book.default_id == entry.id, 1, at, at)


_UNSET: Any = object()


def update_address(
    actor: Principal,
    address_id: str,
    changes: Mapping[str, Any],
    *,
    label: Any = _UNSET,
    is_default: bool | None = None,
    expected_version: int | None = None,
) -> SavedAddress:
    """Change a saved address: `changes` are address fields (a full replacement passes all of them),
    `label` a new label (None clears it), `is_default` True makes it the default. Orders placed with
    it keep the address they were placed with."""
    require(actor, CUSTOMERS, "keep an address book")
    loaded = _load(actor.sub)
    current = loaded.item(address_id)
    _check_version(current, expected_version)
    book = loaded.book()
    before = book.entry(address_id)
    assert before is not None
    address = merged(before, changes) if changes else before.address
    entry = BookEntry(address_id, address, before.label if label is _UNSET else label_of(label))
    default_before = book.default_id
    book.update(entry, is_default=is_default)
    at = now()
    item = AddressItem(
        *keys.customer_address(actor.sub, address_id),
        id=address_id,
        customer_id=actor.sub,
        label=entry.label,
        address=repo.address_map(address),
        created_at=current.created_at,
        updated_at=at,
    )
    writes: list[repo.Write | repo.Update | repo.Delete] = [
        repo.Write(repo.with_version(item, int(current.version))),
        _event(actor, "updated", address_id, book.default_id, at),
    ]
    if book.default_id != default_before or loaded.header is None:
        writes.append(_header_write(actor.sub, loaded, book.default_id, at))
    repo.commit(writes, what=f"address {address_id}")
    return SavedAddress(
        address_id, entry.label, address, book.default_id == address_id, int(current.version) + 1, current.created_at, at
    )


def delete_address(actor: Principal, address_id: str, *, expected_version: int | None = None) -> None:
    """Delete a saved address; deleting the default makes the oldest remaining one the default."""
    require(actor, CUSTOMERS, "keep an address book")
    loaded = _load(actor.sub)
    current = loaded.item(address_id)
    _check_version(current, expected_version)
    book = loaded.book()
    book.remove(address_id)
    at = now()
    gone = AddressItem(*keys.customer_address(actor.sub, address_id))
    gone.version = int(current.version)  # deleted only as read (a version condition): a concurrent change is a 409
    repo.commit(
        [
            repo.Delete(gone),
            _header_write(actor.sub, loaded, book.default_id, at),
            _event(actor, "removed", address_id, book.default_id, at),
        ],
        what=f"address {address_id}",
    )
