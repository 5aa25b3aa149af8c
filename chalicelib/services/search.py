"""Staff's search box and saved views (issue 21 item 4).

A search normalises what was typed (domain/search.py) and reads find entries by prefix: ONE Query, or
TWO when it may be an order reference typed with its `WB` (the reference is indexed without it). The
entries carry their label and what they open, so nothing else is read. A customer is found through the
orders that carry their e-mail or name and shown once.

A saved view is a person's named filters of a list screen, checked against what that screen filters
by; a person's views are one Query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlencode

from ..domain import exceptions as exc_rules
from ..domain.complaints import ComplaintStatus
from ..domain.errors import NotFound, RuleViolation
from ..domain.orders import OrderStatus
from ..domain.permissions import READ_STAFF, Principal
from ..domain.purchase_orders import POStatus, Stage
from ..domain.search import (
    MAX_QUERY,
    MAX_RESULTS,
    MIN_QUERY,
    SHORT_PREFIX,
    FindEntry,
    FindKind,
    normalise,
    without_reference_prefix,
)
from . import uow
from .clock import now
from .guard import require
from .ports import Remove, Save, Versioned
from .ports_search import SavedView

READ = 60  # entries one Query reads: room for a customer's many orders to fold into one result


@dataclass(frozen=True)
class SearchResult:
    kind: str
    id: str
    label: str
    link: str  # the admin page's hash that opens it


def _link(e: FindEntry) -> str:
    if e.kind is FindKind.ORDER:
        return f"#/orders/{quote(e.opens, safe='')}"
    if e.kind is FindKind.CUSTOMER:
        by = "customer_email" if "@" in e.opens else "customer_id"
        return f"#/orders?{urlencode({by: e.opens})}"
    if e.kind is FindKind.SHIPMENT:
        what, _, target = e.opens.partition(":")
        return f"#/purchase-orders/{quote(target, safe='')}" if what == "po" else f"#/orders/{quote(target, safe='')}"
    if e.kind is FindKind.SUPPLIER:
        return f"#/orders?{urlencode({'supplier_id': e.opens})}"
    return f"#/campaigns/{quote(e.opens, safe='')}"


def search(actor: Principal, text: str) -> list[SearchResult]:
    """What a prefix finds: orders by reference, customers by e-mail or name, parcels by tracking number,
    suppliers and campaigns by id or name; at most MAX_RESULTS, each thing once."""
    require(actor, READ_STAFF, "search")
    if not MIN_QUERY <= len(text.strip()) <= MAX_QUERY:
        raise RuleViolation(
            "invalid_query",
            f"type {MIN_QUERY} to {MAX_QUERY} characters",
            details=[{"field": "q", "message": f"{MIN_QUERY} to {MAX_QUERY} characters"}],
        )
    query = normalise(text)
    if len(query) < SHORT_PREFIX:
        return []
    store = uow.store()
    entries: list[FindEntry] = []
    rest = without_reference_prefix(query)
    if rest is not None:  # "WB-7K3P...": the reference's own characters first
        entries += [e for e in store.find(rest, limit=READ) if e.kind is FindKind.ORDER]
    entries += store.find(query, limit=READ)
    results: dict[tuple[str, str], SearchResult] = {}
    for e in entries:
        key = (e.kind.value, e.id)
        if key not in results:
            results[key] = SearchResult(e.kind.value, e.id, e.label, _link(e))
        if len(results) == MAX_RESULTS:
            break
    return list(results.values())


def index_existing(*, chunk: int = 100) -> int:
    """Give what a table held before find items existed its entries: one pass over every order, parcel,
    supplier and campaign (run once after the deploy that adds search; running it again rewrites the
    same items). Answers how many entries it wrote."""
    written, cursor = 0, None
    while True:
        n, cursor = uow.store().index_existing(cursor, limit=chunk)
        written += n
        if cursor is None:
            return written


# ---------------------------------------------------------------- saved views

MAX_VIEWS = 30
NAME_MAX = 40
VALUE_MAX = 200
_LIST = re.compile(r"^[a-z_]+(,[a-z_]+)*$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_ASSIGNEE = re.compile(r"^(none|[^@\s]+@[^@\s]+\.[^@\s]+)$")

# What each list screen filters by (its hash's query, under the same names): a saved view holds only these.
SCREENS: dict[str, frozenset[str]] = {
    "orders": frozenset(
        {"q", "status", "campaign_id", "supplier_id", "customer_id", "customer_email", "created_from", "created_to"}
    ),
    "exceptions": frozenset({"kind", "severity", "status", "assignee", "team", "sort"}),
    "complaints": frozenset({"status", "supplier_id"}),
    "purchase_orders": frozenset({"stage", "campaign_id"}),
}


@dataclass(frozen=True)
class _Choice:
    allowed: frozenset[str]
    several: bool  # comma-separated, like the list's own query


# The filters whose values are one of a set; the others are free text (ids, dates, addresses: below).
_CHOICES: dict[tuple[str, str], _Choice] = {
    ("orders", "status"): _Choice(frozenset(s.value for s in OrderStatus), several=True),
    ("exceptions", "kind"): _Choice(frozenset(exc_rules.KINDS), several=True),
    ("exceptions", "severity"): _Choice(frozenset(s.value for s in exc_rules.Severity), several=True),
    ("exceptions", "status"): _Choice(
        frozenset(s.value for s in exc_rules.Status if s is not exc_rules.Status.PENDING), several=True
    ),
    ("exceptions", "team"): _Choice(frozenset(o.value for o in exc_rules.Owner), several=False),
    ("exceptions", "sort"): _Choice(frozenset({"severity", "opened", "last_seen", "due", "resolved"}), several=False),
    # `care` (the statuses waiting for customer care, the screen's default) and `any` are the screen's own.
    ("complaints", "status"): _Choice(frozenset({"care", "any"} | {s.value for s in ComplaintStatus}), several=True),
    ("purchase_orders", "stage"): _Choice(frozenset({s.value for s in Stage} | {s.value for s in POStatus}), several=False),
}
_PATTERNS: dict[str, tuple[re.Pattern[str], str]] = {
    "created_from": (_DATE, "a date: YYYY-MM-DD"),
    "created_to": (_DATE, "a date: YYYY-MM-DD"),
    "campaign_id": (_ID, "an id: letters, digits, . _ -"),
    "supplier_id": (_ID, "an id: letters, digits, . _ -"),
    "assignee": (_ASSIGNEE, "an e-mail address, or none"),
}


def _problem(field: str, message: str) -> RuleViolation:
    return RuleViolation("invalid_view", message, details=[{"field": field, "message": message}])


def _check_value(screen: str, key: str, text: str) -> None:
    where = f"filters.{key}"
    choice = _CHOICES.get((screen, key))
    if choice is not None:
        values = text.split(",") if choice.several else [text]
        if (choice.several and not _LIST.match(text)) or set(values) - choice.allowed:
            each = ", ".join(sorted(choice.allowed))
            raise _problem(where, f"{'values separated by commas, each' if choice.several else 'one'} of: {each}")
    pattern = _PATTERNS.get(key)
    if pattern is not None and not pattern[0].match(text):
        raise _problem(where, pattern[1])


def _checked(screen: str, name: str, filters: dict[str, str]) -> tuple[str, dict[str, str]]:
    if screen not in SCREENS:
        raise NotFound(f"no list screen {screen!r} keeps saved views")
    clean_name = " ".join(name.split())
    if not 1 <= len(clean_name) <= NAME_MAX or not clean_name.isprintable():
        raise _problem("name", f"a name of 1 to {NAME_MAX} printable characters")
    kept: dict[str, str] = {}
    for key, value in filters.items():
        where = f"filters.{key}"
        if key not in SCREENS[screen]:
            raise _problem(where, f"the {screen} list has no filter {key!r}")
        text = value.strip()
        if len(text) > VALUE_MAX or not text.isprintable():
            raise _problem(where, f"at most {VALUE_MAX} printable characters")
        if not text:
            continue
        _check_value(screen, key, text)
        kept[key] = text
    return clean_name, kept


def _owner(actor: Principal) -> str:
    return actor.sub.strip().lower()


def views_of(actor: Principal, screen: str | None = None) -> list[Versioned[SavedView]]:
    """The person's saved views (of one screen, when named), by screen then name: one Query."""
    require(actor, READ_STAFF, "keep saved views")
    found = uow.store().saved_views(_owner(actor))
    return [v for v in found if screen is None or v.value.screen == screen]


def save_view(
    actor: Principal, screen: str, name: str, filters: dict[str, str], *, at: datetime | None = None
) -> Versioned[SavedView]:
    """Save the filters under a name (a name the person used on that screen is replaced)."""
    require(actor, READ_STAFF, "keep saved views")
    clean_name, kept = _checked(screen, name, filters)
    view = SavedView(_owner(actor), screen, clean_name, kept, at or now())
    store = uow.store()
    mine = store.saved_views(view.owner)
    existing = next((v for v in mine if v.value.screen == screen and v.value.key == view.key), None)
    if existing is None and len(mine) >= MAX_VIEWS:
        raise _problem("name", f"at most {MAX_VIEWS} saved views: delete one first")
    version = existing.version if existing else None
    store.commit([Save(view, version)], what=f"saved view {clean_name!r}", at=view.saved_at or now())
    return Versioned(view, (version or 0) + 1)


def delete_view(actor: Principal, screen: str, name: str) -> None:
    require(actor, READ_STAFF, "keep saved views")
    if screen not in SCREENS:
        raise NotFound(f"no list screen {screen!r} keeps saved views")
    key = " ".join(name.split()).casefold()
    found = uow.store().load(SavedView, _owner(actor), screen, key)
    if found is None:
        raise NotFound(f"no saved view {name!r} on the {screen} list")
    uow.store().commit([Remove(found.value, found.version)], what=f"saved view {name!r}", at=now())
