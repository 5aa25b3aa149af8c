"""How staff's search box writes and reads a term (domain/search.py): the same normalising on both sides,
a reference indexed without its constant WB, two characters reaching only suppliers and campaigns."""

from __future__ import annotations

import pytest

from chalicelib.domain.addresses import order_reference
from chalicelib.domain.search import (
    MAX_TERM,
    FindKind,
    matches,
    named_entries,
    normalise,
    order_entries,
    reference_term,
    shipment_entries,
    without_reference_prefix,
)


@pytest.mark.parametrize(
    ("typed", "term"),
    [
        ("Zoë.Nguyễn@Example.com", "zoenguyenexamplecom"),
        ("Đặng Thị Ngọc", "dangthingoc"),
        ("Straße", "strasse"),
        ("WB-7K3P-Q2XZ", "wb7k3pq2xz"),
        ("  JD 0000-0000 01 ", "jd0000000001"),
        ("Søren Ærø", "sorenaero"),
        ("—", ""),
    ],
)
def test_accents_case_and_everything_but_letters_and_digits_are_dropped(typed: str, term: str):
    assert normalise(typed) == term


def test_a_term_is_cut_where_nobody_types_further():
    assert len(normalise("a" * 500)) == MAX_TERM


def test_a_reference_is_indexed_without_wb_and_found_typed_with_it():
    term = reference_term("ord-1")
    assert normalise(order_reference("ord-1")) == "wb" + term
    assert without_reference_prefix(normalise(order_reference("ord-1"))[:6]) == term[:4]
    assert without_reference_prefix("wb7k") is None  # too short to name a partition
    assert without_reference_prefix("zorro") is None


def test_an_order_gives_its_reference_and_its_customers_email_and_name():
    entries = order_entries("ord-1", "cust-1", "Ann@Example.com", "Ann Lee")
    assert [(e.kind, e.slot, e.term) for e in entries] == [
        (FindKind.ORDER, "reference", reference_term("ord-1")),
        (FindKind.CUSTOMER, "email#ord-1", "annexamplecom"),
        (FindKind.CUSTOMER, "name#ord-1", "annlee"),
    ]
    assert entries[0].label == f"{order_reference('ord-1')} · Ann Lee · Ann@Example.com"
    assert [e.kind for e in order_entries("ord-2", "cust-2", None, None)] == [FindKind.ORDER]


def test_two_characters_reach_suppliers_and_campaigns_three_reach_everything():
    supplier = named_entries(FindKind.SUPPLIER, "acme", "Acme Mugs")
    parcel = shipment_entries("dhl", "AC123", "po-1", ["ord-1", "ord-2"])[0]
    assert parcel.opens == "po:po-1"  # several orders: its PO
    assert [matches(e, "ac") for e in supplier] == [True, True] and not matches(parcel, "ac")
    assert matches(parcel, "ac1") and not matches(parcel, "ac2")
