"""What staff's search box finds, and how a term is written so a prefix finds it.

Each searchable thing gives one or more `FindEntry`s: the normalised term, what it is (`kind`), its
id, and the label a result shows. Terms are normalised the same way when written and when searched:
accents dropped, case folded, everything but letters and digits removed, so "Nguyễn", "nguyen" and
"NGUYEN" meet, and "WB-7K3P" finds the reference "WB-7K3P-Q2XZ". Pure: no storage here.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from .addresses import REFERENCE_PREFIX, order_reference

# What a search answers with, at most (the box shows a short list, not a listing).
MAX_RESULTS = 20
MIN_QUERY = 2
MAX_QUERY = 100
# Terms are indexed under their first PREFIX characters; a shorter query reads the short index, which
# only suppliers and campaigns (few, rarely written) are also written to.
PREFIX = 3
SHORT_PREFIX = 2
MAX_TERM = 60  # longer terms are cut: nobody types more before picking a result

_FOLD = str.maketrans({"đ": "d", "ð": "d", "ø": "o", "ł": "l", "æ": "ae", "œ": "oe", "ß": "ss", "þ": "th"})


class FindKind(StrEnum):
    ORDER = "order"  # by its reference
    CUSTOMER = "customer"  # by e-mail or name (written per order: a customer is known by their orders)
    SHIPMENT = "shipment"  # by tracking number
    SUPPLIER = "supplier"  # by id or name
    CAMPAIGN = "campaign"  # by id or name


@dataclass(frozen=True)
class FindEntry:
    """One term of one thing. `slot` tells the entries of one thing apart (a rename replaces its slot's
    entry); `opens` is what a result opens (an order id, a PO id, an e-mail...); `short` entries are also
    written to the two-character index."""

    kind: FindKind
    id: str
    slot: str
    term: str
    label: str
    opens: str
    short: bool = False


def normalise(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_FOLD))
    return "".join(c for c in decomposed if c.isalnum() and c.isascii())[:MAX_TERM]


def reference_term(order_id: str) -> str:
    """An order's reference without its constant `WB` (every reference shares it: indexing it would
    put every order under one index key), e.g. `7k3pq2xz`."""
    return normalise(order_reference(order_id))[len(REFERENCE_PREFIX) :]


def without_reference_prefix(query: str) -> str | None:
    """A normalised query that may be a reference typed with its `WB`: the rest, when long enough."""
    prefix = REFERENCE_PREFIX.lower()
    rest = query[len(prefix) :] if query.startswith(prefix) else ""
    return rest if len(rest) >= PREFIX else None


def order_entries(
    order_id: str, customer_id: str, email: str | None, name: str | None, *, reference: str | None = None
) -> list[FindEntry]:
    """An order's entries: its reference, and its customer's e-mail and name (a result for the customer)."""
    ref = reference or order_reference(order_id)
    who = " · ".join(x for x in (name, email) if x) or customer_id
    entries = [FindEntry(FindKind.ORDER, order_id, "reference", reference_term(order_id), f"{ref} · {who}", order_id)]
    opens = email or customer_id
    if email and normalise(email):
        entries.append(FindEntry(FindKind.CUSTOMER, customer_id, f"email#{order_id}", normalise(email), who, opens))
    if name and normalise(name):
        entries.append(FindEntry(FindKind.CUSTOMER, customer_id, f"name#{order_id}", normalise(name), who, opens))
    return entries


def shipment_entries(carrier: str, tracking_number: str, po_id: str, order_ids: list[str]) -> list[FindEntry]:
    """A parcel's entry: its tracking number, opening its order (or its PO when it carries several)."""
    opens = f"order:{order_ids[0]}" if len(order_ids) == 1 else f"po:{po_id}"
    label = f"{tracking_number} · {carrier} · {len(order_ids)} order{'s' if len(order_ids) != 1 else ''}"
    return [FindEntry(FindKind.SHIPMENT, f"{carrier}#{tracking_number}", "tracking", normalise(tracking_number), label, opens)]


def named_entries(kind: FindKind, thing_id: str, name: str) -> list[FindEntry]:
    """A supplier's or a campaign's entries: its id and its name, in both indexes."""
    label = f"{name} ({thing_id})"
    found = [FindEntry(kind, thing_id, "id", normalise(thing_id), label, thing_id, short=True)]
    if normalise(name):
        found.append(FindEntry(kind, thing_id, "name", normalise(name), label, thing_id, short=True))
    return [e for e in found if e.term]


def matches(entry: FindEntry, query: str) -> bool:
    """Whether a normalised query finds an entry (the rule both stores answer by)."""
    if len(query) < PREFIX:
        return entry.short and entry.term.startswith(query)
    return entry.term.startswith(query)
