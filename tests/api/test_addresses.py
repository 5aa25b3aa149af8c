"""Customers keep an address book (/me/addresses) and every order ships to an address: given inline
or picked from the book, validated field by field, kept on the order as a snapshot."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.adapters.dynamodb.metering import metered
from chalicelib.domain.addresses import MAX_BOOK_ENTRIES, order_reference
from chalicelib.services import addresses as address_service
from tests.api.support import SHIP_TO, SUPPLIER_ACME, assert_error, order_body, place
from tests.aws import ALICE, BOB, BUYER, CARE, live_campaign

BOOK = "/me/addresses"
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


def save(api, body: dict[str, Any], who: dict[str, str] = ALICE, **extra: Any) -> dict[str, Any]:
    status, saved = api.post(BOOK, who, {**body, **extra})
    assert status == 201, saved
    return saved


def book(api, who: dict[str, str] = ALICE) -> dict[str, Any]:
    status, body = api.get(BOOK, who)
    assert status == 200, body
    return body


def as_view(fields: dict[str, Any]) -> dict[str, Any]:
    return {"phone": None, **fields}


# ---------------------------------------------------------------- the address book


def test_the_first_saved_address_becomes_the_default_and_the_book_lists_them_oldest_first(api):
    assert book(api) == {"items": [], "default_address_id": None, "max_addresses": MAX_BOOK_ENTRIES}
    home = save(api, HOME, label="Home")
    work = save(api, WORK, label="Work")
    assert home["is_default"] is True and work["is_default"] is False
    assert home["address"] == as_view(HOME) and home["label"] == "Home" and home["version"] == 1
    listed = book(api)
    assert [a["id"] for a in listed["items"]] == [home["id"], work["id"]]
    assert listed["default_address_id"] == home["id"]
    assert [a["is_default"] for a in listed["items"]] == [True, False]


def test_making_another_address_the_default_moves_it_so_there_is_only_ever_one(api):
    home, work = save(api, HOME), save(api, WORK)
    shop = save(api, SHOP, is_default=True)
    assert shop["is_default"] is True
    assert book(api)["default_address_id"] == shop["id"]
    status, changed = api.call("PATCH", f"{BOOK}/{work['id']}", ALICE, {"is_default": True})
    assert status == 200 and changed["is_default"] is True, changed
    listed = book(api)
    assert listed["default_address_id"] == work["id"]
    assert [a["id"] for a in listed["items"] if a["is_default"]] == [work["id"]]
    assert home["id"] in [a["id"] for a in listed["items"]]


def test_the_default_is_moved_never_unset(api):
    home = save(api, HOME)
    status, body = api.call("PATCH", f"{BOOK}/{home['id']}", ALICE, {"is_default": False})
    error = assert_error(status, body, 422, "default_address_required")
    assert error["details"][0]["field"] == "body.is_default"
    assert book(api)["default_address_id"] == home["id"]


def test_deleting_the_default_makes_the_oldest_remaining_address_the_default_and_the_last_leaves_none(api):
    home, work, shop = save(api, HOME), save(api, WORK), save(api, SHOP)
    status, after = api.call("DELETE", f"{BOOK}/{home['id']}", ALICE)
    assert status == 200, after
    assert [a["id"] for a in after["items"]] == [work["id"], shop["id"]]
    assert after["default_address_id"] == work["id"]
    assert api.call("DELETE", f"{BOOK}/{shop['id']}", ALICE)[1]["default_address_id"] == work["id"]
    status, empty = api.call("DELETE", f"{BOOK}/{work['id']}", ALICE)
    assert (status, empty["items"], empty["default_address_id"]) == (200, [], None)
    assert_error(*api.call("DELETE", f"{BOOK}/{work['id']}", ALICE), 404, "not_found")
    assert save(api, SHOP)["is_default"] is True  # an empty book's next address is its default again


def test_a_put_replaces_the_address_and_a_stale_expected_version_is_a_409(api):
    home = save(api, HOME, label="Home")
    status, moved = api.put(f"{BOOK}/{home['id']}", ALICE, {**SHOP, "expected_version": 1})
    assert status == 200, moved
    assert moved["address"] == as_view(SHOP) and moved["version"] == 2
    assert moved["label"] is None and moved["is_default"] is True  # PUT replaces the label too
    assert_error(*api.put(f"{BOOK}/{home['id']}", ALICE, {**HOME, "expected_version": 1}), 409, "conflict")
    assert_error(*api.call("PATCH", f"{BOOK}/{home['id']}", ALICE, {"city": "Lyon", "expected_version": 1}), 409, "conflict")
    assert_error(*api.call("DELETE", f"{BOOK}/{home['id']}?expected_version=1", ALICE), 409, "conflict")
    status, body = api.get(f"{BOOK}/{home['id']}", ALICE)
    assert status == 200 and body["address"] == as_view(SHOP) and body["version"] == 2


def test_a_patch_changes_only_the_fields_given_and_checks_the_whole_address(api):
    work = save(api, WORK, label="Work")
    status, moved = api.call("PATCH", f"{BOOK}/{work['id']}", ALICE, {"postal_code": "75010", "label": None})
    assert status == 200, moved
    assert moved["address"] == {**WORK, "postal_code": "75010"} and moved["label"] is None
    status, body = api.call("PATCH", f"{BOOK}/{work['id']}", ALICE, {"country": "ZZ"})
    assert {d["field"] for d in assert_error(status, body, 422, "invalid_address")["details"]} == {"body.country"}
    assert api.get(f"{BOOK}/{work['id']}", ALICE)[1]["address"]["country"] == "FR"


def test_an_invalid_address_is_a_422_naming_each_field(api):
    status, body = api.post(
        BOOK, ALICE, {**HOME, "city": "  ", "country": "Frankreich", "phone": "ask the porter", "postal_code": "75*011"}
    )
    error = assert_error(status, body, 422, "invalid_address")
    assert {d["field"] for d in error["details"]} == {"body.city", "body.country", "body.phone", "body.postal_code"}
    status, body = api.post(BOOK, ALICE, {k: v for k, v in HOME.items() if k != "name"} | {"lines": []})
    error = assert_error(status, body, 422, "validation_error")
    assert {d["field"] for d in error["details"]} == {"body.name", "body.lines"}
    assert book(api)["items"] == []


def test_another_customers_address_is_a_404_and_never_listed(api):
    home = save(api, HOME)
    path = f"{BOOK}/{home['id']}"
    assert_error(*api.get(path, BOB), 404, "not_found")
    assert_error(*api.put(path, BOB, SHOP), 404, "not_found")
    assert_error(*api.call("PATCH", path, BOB, {"city": "Lyon"}), 404, "not_found")
    assert_error(*api.call("DELETE", path, BOB), 404, "not_found")
    assert book(api, BOB)["items"] == []
    assert book(api)["items"][0]["address"] == as_view(HOME)


def test_an_address_book_holds_at_most_twenty_addresses(api):
    for n in range(MAX_BOOK_ENTRIES):
        save(api, {**HOME, "lines": [f"{n + 1} rue des Lilas"]})
    assert_error(*api.post(BOOK, ALICE, SHOP), 422, "address_book_full")
    assert len(book(api)["items"]) == MAX_BOOK_ENTRIES


@pytest.mark.parametrize("who", [SUPPLIER_ACME, BUYER, CARE])
def test_the_address_book_is_for_customers(api, who):
    assert_error(*api.get(BOOK, who), 403, "forbidden")
    assert_error(*api.post(BOOK, who, HOME), 403, "forbidden")


def test_reading_the_address_book_is_one_query(api):
    for body in (HOME, WORK, SHOP):
        save(api, body)
    with metered() as m:
        assert len(book(api)["items"]) == 3
    assert dict(m.requests) == {"Query": 1}


def test_two_changes_made_from_the_same_reading_of_the_book_cannot_both_win(api, monkeypatch):
    """The book's header is written under its version by every change that touches the default or the
    set of entries: a change computed from a stale reading is a 409, never a second default."""
    stale = address_service._load("cust-alice")  # the book as two concurrent requests read it: empty
    save(api, HOME)
    monkeypatch.setattr(address_service, "_load", lambda customer_id: stale)
    assert_error(*api.post(BOOK, ALICE, WORK), 409, "conflict")
    monkeypatch.undo()
    listed = book(api)
    assert len(listed["items"]) == 1 and listed["items"][0]["is_default"] is True


# ---------------------------------------------------------------- orders ship to an address


def test_an_order_ships_to_the_address_given_and_every_view_shows_it_with_the_reference(api):
    campaign = live_campaign(api)
    order = place(api, campaign["id"], ("MUG-1", 1), shipping_address={**WORK, "postal_code": " 75019 ", "country": "fr"})
    assert order["shipping_address"] == WORK  # normalised: trimmed, country upper case
    assert order["reference"] == order_reference(order["id"]) and order["reference"].startswith("WB-")
    assert api.get(f"/orders/{order['id']}", ALICE)[1]["shipping_address"] == WORK
    staff = api.get(f"/staff/orders/{order['id']}", CARE)[1]
    assert (staff["shipping_address"], staff["reference"]) == (WORK, order["reference"])
    assert api.get("/orders", ALICE)[1]["items"][0]["reference"] == order["reference"]
    assert api.get(f"/staff/orders?customer_id={'cust-alice'}", CARE)[1]["items"][0]["reference"] == order["reference"]


def test_an_order_placed_with_an_address_id_keeps_a_snapshot_that_later_edits_do_not_move(api):
    campaign = live_campaign(api)
    home = save(api, HOME)
    order = place(api, campaign["id"], ("MUG-1", 1), shipping_address=None, address_id=home["id"])
    assert order["shipping_address"] == as_view(HOME)
    assert api.put(f"{BOOK}/{home['id']}", ALICE, SHOP)[0] == 200
    assert api.call("DELETE", f"{BOOK}/{home['id']}", ALICE)[0] == 200
    assert api.get(f"/orders/{order['id']}", ALICE)[1]["shipping_address"] == as_view(HOME)


def test_an_order_without_an_address_is_a_422_that_says_it_needs_one(api):
    campaign = live_campaign(api)
    status, body = api.post("/orders", ALICE, order_body(campaign["id"], ("MUG-1", 1), shipping_address=None))
    error = assert_error(status, body, 422, "shipping_address_required")
    assert "needs a shipping address" in error["message"]
    assert error["details"][0]["field"] == "body.shipping_address"
    assert api.get("/orders", ALICE)[1]["items"] == []


def test_an_address_and_an_address_id_together_is_a_422(api):
    campaign = live_campaign(api)
    home = save(api, HOME)
    status, body = api.post("/orders", ALICE, order_body(campaign["id"], ("MUG-1", 1), address_id=home["id"]))
    assert_error(status, body, 422, "ambiguous_shipping_address")


def test_a_bad_shipping_address_is_a_422_naming_each_field(api):
    campaign = live_campaign(api)
    bad = {**SHIP_TO, "country": "XX", "phone": "12", "lines": ["ok", "   "]}
    status, body = api.post("/orders", ALICE, order_body(campaign["id"], ("MUG-1", 1), shipping_address=bad))
    error = assert_error(status, body, 422, "invalid_address")
    assert {d["field"] for d in error["details"]} == {
        "body.shipping_address.country",
        "body.shipping_address.phone",
        "body.shipping_address.lines[1]",
    }
    assert all(d["message"] for d in error["details"])


def test_another_customers_address_id_cannot_ship_an_order(api):
    campaign = live_campaign(api)
    alices = save(api, HOME)
    status, body = api.post(
        "/orders", BOB, order_body(campaign["id"], ("MUG-1", 1), shipping_address=None, address_id=alices["id"])
    )
    error = assert_error(status, body, 422, "unknown_address")
    assert error["details"] == [{"field": "body.address_id", "message": "not in your address book"}]
    assert "Alice" not in error["message"]


def test_the_idempotency_key_covers_the_address(api):
    campaign = live_campaign(api)
    key = {"Idempotency-Key": "checkout-7"}
    first = api.post("/orders", ALICE, order_body(campaign["id"], ("MUG-1", 1)), extra_headers=key)
    again = api.post("/orders", ALICE, order_body(campaign["id"], ("MUG-1", 1)), extra_headers=key)
    assert (first[0], again[0], again[1]["id"]) == (201, 200, first[1]["id"])
    elsewhere = order_body(campaign["id"], ("MUG-1", 1), shipping_address={**SHIP_TO, "city": "Lyon", "postal_code": "69001"})
    assert_error(*api.post("/orders", ALICE, elsewhere, extra_headers=key), 422, "idempotency_key_reused")
    home = save(api, HOME)
    by_book = order_body(campaign["id"], ("MUG-1", 1), shipping_address=None, address_id=home["id"])
    assert_error(*api.post("/orders", ALICE, by_book, extra_headers=key), 422, "idempotency_key_reused")


def test_placing_an_order_from_the_address_book_is_still_one_read_and_one_transaction(api):
    campaign = live_campaign(api)
    home = save(api, HOME)
    with metered() as m:
        place(api, campaign["id"], ("MUG-1", 1), ("CAP-1", 1), shipping_address=None, address_id=home["id"])
    assert dict(m.requests) == {"BatchGetItem": 1, "TransactWriteItems": 1}
