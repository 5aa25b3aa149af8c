"""The customer's address book: save, list, change and delete shipping addresses, and pick a default.

Reads are one read of the whole book (`ports.Store.address_book`: the header and its entries).
Every change is one transaction: the entry (under its version), the book's header when the default
or the set of entries changes (under its version, so two concurrent changes can neither leave two
defaults nor pass the cap) and an audit event on the customer (ids only: no address on the bus).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ..domain.addresses import Address, AddressBook, BookEntry, label_of, merged, parse_address
from ..domain.audit import AuditEvent
from ..domain.errors import AlreadyExists, Conflict, NotFound
from ..domain.permissions import Principal, Role, roles
from . import uow
from .clock import new_id, now
from .guard import require
from .ports import AddressBookHeader, AddressEntry, Change, Record, Remove, Save, Versioned

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
    header: Versioned[AddressBookHeader] | None
    entries: list[Versioned[AddressEntry]] = field(default_factory=list)  # oldest first

    @property
    def default_id(self) -> str | None:
        return self.header.value.default_address_id if self.header else None

    def book(self) -> AddressBook:
        return AddressBook([BookEntry(e.value.id, e.value.address, e.value.label) for e in self.entries], self.default_id)

    def entry(self, address_id: str) -> Versioned[AddressEntry]:
        found = next((e for e in self.entries if e.value.id == address_id), None)
        if found is None:
            raise NotFound(f"address {address_id} not found")  # also another customer's: never confirm it exists
        return found


def _load(customer_id: str) -> _Loaded:
    found = uow.store().address_book(customer_id)
    return _Loaded(found.header, list(found.entries))


def _saved(entry: Versioned[AddressEntry], default_id: str | None) -> SavedAddress:
    e = entry.value
    return SavedAddress(e.id, e.label, e.address, e.id == default_id, entry.version, e.created_at, e.updated_at)


def _header_save(customer_id: str, loaded: _Loaded, default_id: str | None, at: datetime) -> Save:
    return Save(AddressBookHeader(customer_id, default_id, at), loaded.header.version if loaded.header else None)


def _event(actor: Principal, action: str, address_id: str, default_id: str | None, at: datetime) -> Record:
    event = AuditEvent(
        id=new_id("evt"),
        subject_type="customer",
        subject_id=actor.sub,
        type=f"customer.address_{action}",
        actor=actor,
        at=at,
        data={"customer_id": actor.sub, "address_id": address_id, "default_address_id": default_id},
    )
    return Record(event)


def _commit(changes: Sequence[Change], *, what: str, at: datetime) -> None:
    try:
        uow.store().commit(changes, what=what, at=at)
    except AlreadyExists as exc:
        # The book's header (or an entry) created meanwhile by a concurrent change: a lost race, not a duplicate.
        raise Conflict(f"{what} was changed by someone else; reload and try again") from exc


def _check_version(entry: Versioned[AddressEntry], expected_version: int | None) -> None:
    if expected_version is not None and expected_version != entry.version:
        raise Conflict(f"address {entry.value.id} is at version {entry.version}, not {expected_version}")


def list_addresses(actor: Principal) -> list[SavedAddress]:
    require(actor, CUSTOMERS, "keep an address book")
    loaded = _load(actor.sub)
    return [_saved(e, loaded.default_id) for e in loaded.entries]


def get_address(actor: Principal, address_id: str) -> SavedAddress:
    require(actor, CUSTOMERS, "keep an address book")
    loaded = _load(actor.sub)
    return _saved(loaded.entry(address_id), loaded.default_id)


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
    _commit(
        [
            _header_save(actor.sub, loaded, book.default_id, at),
            Save(AddressEntry(actor.sub, entry.id, label, address, at, at), None),
            _event(actor, "added", entry.id, book.default_id, at),
        ],
        what="your address book",
        at=at,
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
    current = loaded.entry(address_id)
    _check_version(current, expected_version)
    book = loaded.book()
    before = book.entry(address_id)
    assert before is not None
    address = merged(before, changes) if changes else before.address
    entry = BookEntry(address_id, address, before.label if label is _UNSET else label_of(label))
    default_before = book.default_id
    book.update(entry, is_default=is_default)
    at = now()
    todo: list[Change] = [
        Save(replace(current.value, label=entry.label, address=address, updated_at=at), current.version),
        _event(actor, "updated", address_id, book.default_id, at),
    ]
    if book.default_id != default_before or loaded.header is None:
        todo.append(_header_save(actor.sub, loaded, book.default_id, at))
    _commit(todo, what=f"address {address_id}", at=at)
    return SavedAddress(
        address_id, entry.label, address, book.default_id == address_id, current.version + 1, current.value.created_at, at
    )


def delete_address(actor: Principal, address_id: str, *, expected_version: int | None = None) -> None:
    """Delete a saved address; deleting the default makes the oldest remaining one the default."""
    require(actor, CUSTOMERS, "keep an address book")
    loaded = _load(actor.sub)
    current = loaded.entry(address_id)
    _check_version(current, expected_version)
    book = loaded.book()
    book.remove(address_id)
    at = now()
    _commit(
        [
            Remove(current.value, current.version),  # deleted only as read: a concurrent change is a 409
            _header_save(actor.sub, loaded, book.default_id, at),
            _event(actor, "removed", address_id, book.default_id, at),
        ],
        what=f"address {address_id}",
        at=at,
    )
