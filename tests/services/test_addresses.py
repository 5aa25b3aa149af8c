"""The address book's rules, on the in-memory store (the HTTP tests in tests/api/test_addresses.py
keep the routes, the status codes, the request validation and the one-Query read on moto)."""

from __future__ import annotations

import pytest

from chalicelib.adapters.memory import MemoryStore
from chalicelib.domain.addresses import MAX_BOOK_ENTRIES, Address
from chalicelib.domain.errors import Conflict, Forbidden, NotFound, RuleViolation
from chalicelib.services import addresses as book
from chalicelib.services import uow
from chalicelib.services.ports import AddressBookRecord
from tests.services.conftest import ACME, ALICE, BOB, BUYER, CARE

HOME = {"name": "Alice Martin", "lines": ["12 rue des Lilas"], "city": "Paris", "postal_code": "75011", "country": "FR"}
WORK = {
    "name": "Alice Martin",
    "lines": ["c/o Atelier Nord", "8 quai de la Loire"],
    "city": "Paris",
    "postal_code": "75019",
    "country": "FR",
    "phone": "+33 6 12 34 56 78",
}
SHOP = {"name": "Alice Martin", "lines": ["Torstraße 1"], "city": "Berlin", "postal_code": "10119", "country": "DE"}


def address(fields: dict[str, object]) -> Address:
    return Address(**{**fields, "lines": tuple(fields["lines"])})  # type: ignore[arg-type]


def ids(saved: list[book.SavedAddress]) -> list[str]:
    return [a.id for a in saved]


def default_of(who=ALICE) -> str | None:
    return next((a.id for a in book.list_addresses(who) if a.is_default), None)


def rule(raised: pytest.ExceptionInfo[RuleViolation]) -> tuple[str, set[str]]:
    return raised.value.code, {str(d["field"]) for d in raised.value.details}


def test_the_first_saved_address_becomes_the_default_and_the_book_lists_them_oldest_first():
    assert book.list_addresses(ALICE) == []
    home = book.add_address(ALICE, HOME, label="Home")
    work = book.add_address(ALICE, WORK, label="Work")
    assert home.is_default is True and work.is_default is False
    assert (home.address, home.label, home.version) == (address(HOME), "Home", 1)
    listed = book.list_addresses(ALICE)
    assert ids(listed) == [home.id, work.id]
    assert [a.is_default for a in listed] == [True, False]
    assert [(a.label, a.address) for a in listed] == [("Home", address(HOME)), ("Work", address(WORK))]


def test_making_another_address_the_default_moves_it_so_there_is_only_ever_one():
    home, work = book.add_address(ALICE, HOME), book.add_address(ALICE, WORK)
    shop = book.add_address(ALICE, SHOP, make_default=True)
    assert shop.is_default is True and default_of() == shop.id
    changed = book.update_address(ALICE, work.id, {}, is_default=True)
    assert changed.is_default is True
    listed = book.list_addresses(ALICE)
    assert [a.id for a in listed if a.is_default] == [work.id]
    assert home.id in ids(listed)


def test_the_default_is_moved_never_unset():
    home = book.add_address(ALICE, HOME)
    with pytest.raises(RuleViolation) as raised:
        book.update_address(ALICE, home.id, {}, is_default=False)
    assert rule(raised) == ("default_address_required", {"body.is_default"})
    assert default_of() == home.id


def test_deleting_the_default_makes_the_oldest_remaining_address_the_default_and_the_last_leaves_none():
    home, work, shop = book.add_address(ALICE, HOME), book.add_address(ALICE, WORK), book.add_address(ALICE, SHOP)
    book.delete_address(ALICE, home.id)
    assert ids(book.list_addresses(ALICE)) == [work.id, shop.id] and default_of() == work.id
    book.delete_address(ALICE, shop.id)
    assert default_of() == work.id
    book.delete_address(ALICE, work.id)
    assert book.list_addresses(ALICE) == [] and default_of() is None
    with pytest.raises(NotFound):
        book.delete_address(ALICE, work.id)
    assert book.add_address(ALICE, SHOP).is_default is True  # an empty book's next address is its default again


def test_a_full_replacement_replaces_the_address_and_a_stale_expected_version_is_a_conflict():
    home = book.add_address(ALICE, HOME, label="Home")
    moved = book.update_address(ALICE, home.id, SHOP, label=None, expected_version=1)
    assert (moved.address, moved.version, moved.label, moved.is_default) == (address(SHOP), 2, None, True)
    with pytest.raises(Conflict):
        book.update_address(ALICE, home.id, HOME, label=None, expected_version=1)
    with pytest.raises(Conflict):
        book.update_address(ALICE, home.id, {"city": "Lyon"}, expected_version=1)
    with pytest.raises(Conflict):
        book.delete_address(ALICE, home.id, expected_version=1)
    now = book.get_address(ALICE, home.id)
    assert (now.address, now.version) == (address(SHOP), 2)


def test_a_partial_change_changes_only_the_fields_given_and_checks_the_whole_address():
    work = book.add_address(ALICE, WORK, label="Work")
    moved = book.update_address(ALICE, work.id, {"postal_code": "75010"}, label=None)
    assert moved.address == address({**WORK, "postal_code": "75010"}) and moved.label is None
    with pytest.raises(RuleViolation) as raised:
        book.update_address(ALICE, work.id, {"country": "ZZ"})
    assert rule(raised) == ("invalid_address", {"body.country"})
    assert book.get_address(ALICE, work.id).address.country == "FR"


def test_an_invalid_address_is_refused_naming_each_field_and_nothing_is_saved():
    with pytest.raises(RuleViolation) as raised:
        book.add_address(
            ALICE, {**HOME, "city": "  ", "country": "Frankreich", "phone": "ask the porter", "postal_code": "75*011"}
        )
    assert rule(raised) == ("invalid_address", {"body.city", "body.country", "body.phone", "body.postal_code"})
    assert book.list_addresses(ALICE) == []


def test_another_customers_address_is_not_found_and_never_listed():
    home = book.add_address(ALICE, HOME)
    with pytest.raises(NotFound):
        book.get_address(BOB, home.id)
    with pytest.raises(NotFound):
        book.update_address(BOB, home.id, SHOP)
    with pytest.raises(NotFound):
        book.update_address(BOB, home.id, {"city": "Lyon"})
    with pytest.raises(NotFound):
        book.delete_address(BOB, home.id)
    assert book.list_addresses(BOB) == []
    assert book.list_addresses(ALICE)[0].address == address(HOME)


def test_an_address_book_holds_at_most_twenty_addresses():
    for n in range(MAX_BOOK_ENTRIES):
        book.add_address(ALICE, {**HOME, "lines": [f"{n + 1} rue des Lilas"]})
    with pytest.raises(RuleViolation) as raised:
        book.add_address(ALICE, SHOP)
    assert raised.value.code == "address_book_full"
    assert len(book.list_addresses(ALICE)) == MAX_BOOK_ENTRIES


@pytest.mark.parametrize("who", [ACME, BUYER, CARE])
def test_the_address_book_is_for_customers(who):
    with pytest.raises(Forbidden):
        book.list_addresses(who)
    with pytest.raises(Forbidden):
        book.add_address(who, HOME)


class StaleBook(MemoryStore):
    """A store whose next read of the book returns the book as it was before: two concurrent requests."""

    def __init__(self) -> None:
        super().__init__()
        self.stale: AddressBookRecord | None = None

    def address_book(self, customer_id: str) -> AddressBookRecord:
        if self.stale is not None:
            stale, self.stale = self.stale, None
            return stale
        return super().address_book(customer_id)


def test_two_changes_made_from_the_same_reading_of_the_book_cannot_both_win():
    """The book's header is written under its version by every change that touches the default or the
    set of entries: a change computed from a stale reading is a conflict, never a second default."""
    store = StaleBook()
    with uow.using(store):
        empty = store.address_book(ALICE.sub)  # the book as two concurrent requests read it
        book.add_address(ALICE, HOME)
        store.stale = empty
        with pytest.raises(Conflict) as raised:
            book.add_address(ALICE, WORK)
        assert raised.value.code == "conflict"  # a lost race, which a retry clears
        listed = book.list_addresses(ALICE)
    assert len(listed) == 1 and listed[0].is_default is True


def test_each_change_records_an_event_on_the_customer_naming_ids_only(store: MemoryStore):
    home = book.add_address(ALICE, HOME)
    work = book.add_address(ALICE, WORK, make_default=True)
    book.update_address(ALICE, home.id, {"city": "Lyon"})
    book.delete_address(ALICE, work.id)
    events = store.history("customer", ALICE.sub, limit=10).items
    assert [(e.type, e.data["address_id"], e.data["default_address_id"]) for e in events] == [
        ("customer.address_added", home.id, home.id),
        ("customer.address_added", work.id, work.id),
        ("customer.address_updated", home.id, work.id),
        ("customer.address_removed", work.id, home.id),
    ]
    assert all(set(e.data) == {"customer_id", "address_id", "default_address_id"} for e in events)
    assert store.history("customer", BOB.sub, limit=10).items == []


def test_every_event_the_address_book_records_is_a_type_the_bus_catalogue_knows():
    """Its types are built from the action (`customer.address_<action>`), which a scan of the source
    cannot see: the publisher would warn of each and a consumer would refuse it."""
    from chalicelib.events import model_for

    saved = book.add_address(ALICE, HOME)
    book.update_address(ALICE, saved.id, {"city": "Lyon"})
    book.delete_address(ALICE, saved.id)
    recorded = uow.store().history("customer", ALICE.sub, limit=10).items
    assert sorted(e.type for e in recorded) == ["customer.address_added", "customer.address_removed", "customer.address_updated"]
    assert [e.type for e in recorded if model_for(e.type) is None] == []
