"""The customer's order page without a login: minting, checking and revoking its links, and the lookup
by reference and e-mail.

A link carries a signed token (domain/track_links.py) over the order id and the order's link generation;
nothing is stored per link. Opening one is one read (the order's partition, `order_trail`); a token whose
generation is no longer the order's, or whose key was rotated out, is the same 404 as one that never
existed. The lookup answers the same 404 whichever of the reference and the e-mail is wrong, and counts
its attempts per client address and per reference (a counter item with a TTL, one update each)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from ..config import settings
from ..domain.addresses import order_reference, parse_reference
from ..domain.errors import NotFound
from ..domain.orders import Order
from ..domain.permissions import Principal, Role, roles
from ..domain.track_links import LinkKeys, mint, verify
from . import uow
from .clock import now
from .orders import OrderRecord, _record
from .ports import Save
from .ports_orders import OrderFilters
from .retry import on_conflict

STAFF_REVOKE = roles(Role.CUSTOMER_CARE, Role.ADMIN)
LOOKUP_PAGES = 5  # a customer's orders, newest first, read for a reference: at most this many pages
LOOKUP_PAGE_SIZE = 100
GONE = "no order page at this link"  # one message for every link that opens nothing

_installed: list[LinkKeys] = []


def link_keys() -> LinkKeys:
    """The keys links are signed with: the installed ones (tests), else the Secrets Manager secret's."""
    if _installed:
        return _installed[-1]
    from ..adapters import secrets

    return LinkKeys.of(secrets.track_link_keys())


@contextmanager
def using_keys(keys: LinkKeys) -> Iterator[LinkKeys]:
    """Sign and check links with `keys` for the block (a test's own key, no Secrets Manager)."""
    _installed.append(keys)
    try:
        yield keys
    finally:
        _installed.remove(keys)


def token_for(order_id: str, generation: int) -> str | None:
    """The order's current link token; None while no key is set (the secret still `{}`)."""
    key = link_keys().current
    return mint(order_id, generation, key) if key is not None else None


def page_url(token: str | None) -> str:
    """The order page for a token (without one: the page's lookup form)."""
    base = f"{settings().site_base}/track/"
    return f"{base}#/o/{token}" if token else base


def order_page_url(order_id: str, generation: int) -> str:
    return page_url(token_for(order_id, generation))


def open_order(token: str) -> OrderRecord:
    """The order a link opens: one read of the order's partition. NotFound for a malformed, forged,
    rotated-out or revoked token, exactly as for an order that does not exist."""
    claim = verify(token, link_keys().accepted)
    if claim is None:
        raise NotFound(GONE)
    trail = uow.store().order_trail(claim.order_id)
    if trail is None or trail.order.link_generation != claim.generation:
        raise NotFound(GONE)
    return _record(trail)


# ---------------------------------------------------------------- lookup


class TooManyAttempts(Exception):
    """The lookup's limit is reached for this client or this reference; try again after `retry_after_s`."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many lookups; try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


def _limit(scopes: Sequence[str]) -> None:
    s = settings()
    window_s = max(1, s.track_lookup_window_s)
    at = int(now().timestamp())
    window = at // window_s
    retry_after = (window + 1) * window_s - at
    counts = [uow.store().count_attempt(scope, window, expires_at=(window + 2) * window_s) for scope in scopes]
    if any(c > s.track_lookup_limit for c in counts):
        raise TooManyAttempts(max(1, retry_after))


@dataclass(frozen=True)
class Found:
    order_id: str
    token: str


def lookup(reference: str, email: str, *, client: str) -> Found:
    """The order whose reference and customer e-mail both match, with its link token. Counts the attempt
    for `client` (the caller's address) and for the reference first (TooManyAttempts); NotFound whichever
    part is wrong, and when no link can be made."""
    canonical = parse_reference(reference)
    _limit([f"ip#{client[:64]}", f"ref#{canonical or reference.strip().upper()[:32]}"])
    address = email.strip().lower()
    if canonical is None or "@" not in address:
        raise NotFound("no order matches that reference and e-mail")
    cursor: str | None = None
    for _ in range(LOOKUP_PAGES):
        page = uow.store().search_orders(OrderFilters(customer_email=address), limit=LOOKUP_PAGE_SIZE, cursor=cursor)
        for summary in page.items:
            if order_reference(summary.id) == canonical:
                order = uow.store().load(Order, summary.id)
                token = token_for(summary.id, order.value.link_generation) if order is not None else None
                if token is None:
                    break
                return Found(summary.id, token)
        cursor = page.cursor
        if not cursor:
            break
    raise NotFound("no order matches that reference and e-mail")


# ---------------------------------------------------------------- the current link, revoking


def current(actor: Principal, order_id: str, *, as_customer: bool) -> str | None:
    """The order page's current link token (None while no signing key is set), for the customer (their own
    order only, `as_customer`) or customer care and admins: one GetItem."""
    found = uow.store().load(Order, order_id)
    if found is None or (as_customer and found.value.customer_id != actor.sub):
        raise NotFound(f"order {order_id} not found")  # never confirm another customer's order exists
    return token_for(order_id, found.value.link_generation)


def revoke(actor: Principal, order_id: str, *, as_customer: bool) -> str | None:
    """Bump the order's link generation: every link made before opens nothing. The customer (their own
    order only, `as_customer`) or customer care and admins (the route checks the role). Returns the order's new link token."""

    def bump() -> int:
        found = uow.store().load(Order, order_id)
        if found is None or (as_customer and found.value.customer_id != actor.sub):
            raise NotFound(f"order {order_id} not found")  # never confirm another customer's order exists
        order = found.value
        order.link_generation += 1
        uow.store().commit([Save(order, found.version)], what=f"order {order_id} links", at=now())
        return order.link_generation

    generation = on_conflict(bump, what=f"order {order_id} links")
    return token_for(order_id, generation)
