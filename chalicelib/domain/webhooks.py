"""Outbound webhooks, as rules: which domain events subscribers may receive, the thin payload each
gets (signed in the adapter, Standard Webhooks), when a failed delivery is retried, when a subscriber
is disabled, and which addresses a webhook may never be sent to. Pure: no I/O, no clock."""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from .purchase_orders import STAGES

# ---------------------------------------------------------------- what subscribers may receive

OFFERED_EVENT_TYPES: tuple[str, ...] = (
    # orders (the customer-visible life of an order)
    "order.placed",
    "order.approved",
    "order.rejected",
    "order.cancelled",
    "order.lines_rejected",
    "order.shipped",
    "order.out_for_delivery",
    "order.delivered",
    "order.delivery_attempted",
    "order.delivery_returned",
    "order.delayed",
    "order.tracking_corrected",
    "order.payment_captured",
    "order.payment_failed",
    # after the close (ids only: a subscriber reads the order's lines and address from the staff API)
    "order.lines_cancelled",
    "order.address_corrected",
    # purchase orders: created, each supplier stage completed, overdue, cancelled
    "po.created",
    "po.cancelled",
    "po.stage_overdue",
    "po.shipment_added",
    *(f"po.{stage.value}_completed" for stage in STAGES),
    # shipments (parcels)
    "shipment.recorded",
    "shipment.corrected",
    "shipment.status_changed",
    "shipment.tracking_stale",
    # campaigns
    "campaign.went_live",
    "campaign.ended",
    "campaign.closed",
    "campaign.cancelled",
    # complaints, returns and refunds (issue 9)
    "order.partially_returned",
    "order.returned",
    "complaint.opened",
    "complaint.supplier_asked",
    "complaint.plan_offered",
    "complaint.plan_accepted",
    "complaint.plan_disputed",
    "complaint.replacement_requested",
    "complaint.refund_issued",
    "complaint.return_received",
    "complaint.resolved",
    "complaint.withdrawn",
)

# The ids a thin payload may carry from an event's data (never notes, addresses or amounts).
PAYLOAD_IDS = (
    "order_id",
    "po_id",
    "campaign_id",
    "supplier_id",
    "shipment_id",
    "carrier",
    "tracking_number",
    "stage",
    "order_ids",
    "complaint_id",
)
# Where a subscriber reads the full object (staff API paths under the public URL).
LINKS = {
    "order": "/staff/orders/{}",
    "po": "/staff/purchase-orders/{}",
    "campaign": "/staff/campaigns/{}",
    "complaint": "/staff/complaints/{}",
}

MAX_URL_LENGTH = 2048
MAX_EVENT_TYPES = len(OFFERED_EVENT_TYPES)
RESPONSE_EXCERPT_CHARS = 500
SECRET_PREFIX = "whsec_"


def subscription_problems(url: str, event_types: Iterable[str], *, local: bool) -> list[dict[str, str]]:
    """What is wrong with a subscription's URL and event types (empty when nothing), before any
    address is resolved. Outside local mode only https is accepted."""
    problems: list[dict[str, str]] = []
    parts = urlsplit(url)
    schemes = ("http", "https") if local else ("https",)
    if len(url) > MAX_URL_LENGTH:
        problems.append({"field": "url", "message": f"at most {MAX_URL_LENGTH} characters"})
    elif parts.scheme not in schemes or not parts.hostname:
        problems.append({"field": "url", "message": f"must be an absolute {' or '.join(schemes)} URL"})
    elif parts.username or parts.password:
        problems.append({"field": "url", "message": "must not carry credentials"})
    types = list(event_types)
    if not types:
        problems.append({"field": "event_types", "message": "choose at least one event type"})
    unknown = sorted(t for t in set(types) if not _offered_pattern(t))
    if unknown:
        problems.append(
            {
                "field": "event_types",
                "message": f"not offered to subscribers: {', '.join(unknown)}; every offered type, with its payload's "
                f"schema, is listed by GET {EVENT_TYPES_ROUTE}; `*` takes them all, `<subject>.*` (e.g. `order.*`) "
                "a subject's",
            }
        )
    return problems


EVENT_TYPES_ROUTE = "/staff/webhook-event-types"
ALL_TYPES = "*"


def _pattern_matches(event_type: str, pattern: str) -> bool:
    """`*`: every type; `order.*`: every `order.` type; anything else: that exact type."""
    if pattern == ALL_TYPES:
        return True
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return event_type == pattern


def _offered_pattern(pattern: str) -> bool:
    """A pattern is accepted when it names an offered type or matches at least one (a prefix of nothing
    offered is a typo, refused like an unknown type)."""
    return any(_pattern_matches(t, pattern) for t in OFFERED_EVENT_TYPES)


def matches(event_type: str, subscribed: Iterable[str]) -> bool:
    """Whether a subscription's types (exact types or patterns) take this event; only offered types are sent."""
    return event_type in OFFERED_EVENT_TYPES and any(_pattern_matches(event_type, p) for p in subscribed)


# ---------------------------------------------------------------- addresses (SSRF)


# IPv6 forms that carry an IPv4 address (RFC 6052, 6145, 3056, 4380, 5214, 4291): a webhook sent to one
# may end up at the IPv4 address inside, so that address must be public too.
NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")  # site-specific translators: never a public route
IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated; nothing public is reached this way
ISATAP_ID, ISATAP_ID_MASK = 0x00005EFE, 0xFDFFFFFF  # interface id 0000:5efe or 0200:5efe, then the IPv4


def _ipv4_refusal(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    for name, flag in (
        ("loopback", ip.is_loopback),
        ("private", ip.is_private),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("unspecified", ip.is_unspecified),
    ):
        if flag:
            return f"a {name} address"
    if not ip.is_global:
        return "not a public address"
    return None


def embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 address carries by a transition mechanism, with the mechanism's name."""
    value = int(ip)
    low32 = ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if ip.ipv4_mapped is not None:
        return "IPv4-mapped", ip.ipv4_mapped
    if ip in IPV4_TRANSLATED:
        return "IPv4-translated", low32
    if ip in IPV4_COMPATIBLE and value > 1:  # :: and ::1 are themselves, not IPv4
        return "IPv4-compatible", low32
    if ip.sixtofour is not None:
        return "6to4", ip.sixtofour
    if ip.teredo is not None:
        return "Teredo", ip.teredo[1]
    if ip in NAT64_WELL_KNOWN:
        return "NAT64", low32
    if (value >> 32) & ISATAP_ID_MASK == ISATAP_ID:
        return "ISATAP", low32
    return None


def refused_address(address: str) -> str | None:
    """Why a webhook may not go to this IP address (None: a public address). An IPv6 address that
    encapsulates an IPv4 one (mapped, translated, compatible, 6to4, Teredo, NAT64, ISATAP) is refused
    when the IPv4 inside is; Teredo, the IPv4-compatible form and local-use NAT64 always are (tunnels
    and translators whose far end we cannot judge)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in NAT64_LOCAL_USE:
            return f"{address} is a local-use NAT64 address"
        embedded = embedded_ipv4(ip)
        if embedded is not None:
            form, inner = embedded
            if form in ("Teredo", "IPv4-compatible"):
                return f"{address} is a {form} address (carrying {inner}): a tunnel whose far end we cannot check"
            why = _ipv4_refusal(inner)
            if why:
                return f"{address} carries {inner} ({form}), {why}"
            if form == "IPv4-mapped":
                ip = inner  # the socket connects to the IPv4 address itself
    why = _ipv4_refusal(ip)
    return f"{address} is {why}" if why else None


def address_problems(host: str, addresses: Iterable[str]) -> list[dict[str, str]]:
    """Every resolved address must be public (one private answer is enough for a rebinding attack)."""
    found = list(addresses)
    if not found:
        return [{"field": "url", "message": f"{host} does not resolve"}]
    return [
        {"field": "url", "message": f"{host} resolves to a refused address: {why}"}
        for why in (refused_address(a) for a in found)
        if why
    ]


# ---------------------------------------------------------------- payload and signature


def webhook_id(event_id: str, subscription_id: str) -> str:
    """The id every attempt of one (event, subscription) delivery carries: a retry, a redelivered
    event or a rerun after a crash sends the same id, so the subscriber can deduplicate."""
    return "msg_" + hashlib.sha256(f"{event_id}\x00{subscription_id}".encode()).hexdigest()[:26]


def _field(source: object, name: str) -> Any:
    """A field of an event or of its data: by attribute on the typed event (the webhooks consumer's
    way), by key on its JSON form."""
    if isinstance(source, Mapping):
        return source.get(name)
    return getattr(source, name, None)


def thin_payload(event: object, public_url: str) -> dict[str, Any]:
    """Type, ids, status, time and links: the subscriber fetches the rest through the API."""
    source = _field(event, "data") or {}
    subject_type, subject_id = _field(event, "subject_type"), _field(event, "subject_id")
    data: dict[str, Any] = {"subject_type": subject_type, "subject_id": subject_id, "status": _field(event, "to_status")}
    ids = {k: value for k in PAYLOAD_IDS if (value := _field(source, k)) is not None}
    data.update(ids)
    refs = {f"{subject_type}_id": subject_id, **ids}
    base = public_url.rstrip("/")
    links = {
        kind: base + path.format(refs[f"{kind}_id"]) for kind, path in LINKS.items() if isinstance(refs.get(f"{kind}_id"), str)
    }
    if tracking := _field(source, "tracking_url"):
        links["tracking"] = tracking
    data["links"] = links
    at = _field(event, "at")
    timestamp = at.isoformat() if isinstance(at, datetime) else at  # as the bus carries it (`+00:00`)
    return {"type": _field(event, "type"), "id": _field(event, "id"), "timestamp": timestamp, "data": data}


def body(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True)


# ---------------------------------------------------------------- retries and disabling

# Standard Webhooks' schedule: attempt 1 at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h after
# the previous failure.
RETRY_SCHEDULE_S: tuple[int, ...] = (0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
MAX_ATTEMPTS = len(RETRY_SCHEDULE_S)


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    RETRY = "retry"  # failed; another attempt follows
    EXHAUSTED = "exhausted"  # the last attempt failed: the subscription is disabled
    GONE = "gone"  # 410: the subscriber asked to stop; disabled at once


class DeliveryStatus(StrEnum):
    SENDING = "sending"  # an attempt is under way (claimed, with a lease)
    PENDING = "pending"  # waiting for its next attempt
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # gave up (exhausted or 410)
    ABANDONED = "abandoned"  # its subscription was disabled or deleted before it got through


def delay_before(attempt: int, scale_percent: int) -> float | None:
    """Seconds to wait before `attempt` (1-based) after the previous one failed; None: no such attempt."""
    if not 1 <= attempt <= MAX_ATTEMPTS:
        return None
    return RETRY_SCHEDULE_S[attempt - 1] * max(0, scale_percent) / 100


@dataclass(frozen=True)
class Result:
    """What one attempt got back: an HTTP status, or an error (timeout, refused address, ...)."""

    status_code: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def outcome(result: Result, attempt: int) -> Outcome:
    if result.ok:
        return Outcome.SUCCEEDED
    if result.status_code == 410:
        return Outcome.GONE
    return Outcome.RETRY if attempt < MAX_ATTEMPTS else Outcome.EXHAUSTED


def disables(o: Outcome) -> bool:
    return o in (Outcome.EXHAUSTED, Outcome.GONE)


def excerpt(text: str) -> str:
    return text[:RESPONSE_EXCERPT_CHARS]
