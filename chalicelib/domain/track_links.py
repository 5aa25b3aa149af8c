"""The customer's order-page link: a signed token that opens one order without a login.

A token is `<order id>.<generation>.<mac>`: the mac is HMAC-SHA256 (cut to 128 bits, base64url) over the
order id and the order's link generation, under a key kept in Secrets Manager (`{"current": k,
"previous": k}`). Nothing is stored per link: revoking an order's links bumps its generation (every token
minted before no longer matches), rotating the key drops the links signed with a key that is neither
current nor previous. Both answer the same 404 as a token that never existed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

MAC_BYTES = 16  # 128 bits: unguessable, and the token stays a short path segment
_TOKEN = re.compile(r"(?P<order>[A-Za-z0-9_-]{1,40})\.(?P<gen>\d{1,6})\.(?P<mac>[A-Za-z0-9_-]{22})")


@dataclass(frozen=True)
class LinkKeys:
    """The keys links are signed with: new links with `current`, old ones still open with `previous`
    (during a rotation). No current key: links cannot be made (the secret is still `{}`)."""

    current: bytes | None
    previous: bytes | None = None

    @classmethod
    def of(cls, value: Any) -> LinkKeys:
        """From the secret's JSON value; anything but non-empty strings counts as absent."""
        data = value if isinstance(value, dict) else {}

        def key(name: str) -> bytes | None:
            raw = data.get(name)
            return raw.encode() if isinstance(raw, str) and raw else None

        return cls(key("current"), key("previous"))

    @property
    def accepted(self) -> list[bytes]:
        return [k for k in (self.current, self.previous) if k is not None]


def _mac(key: bytes, order_id: str, generation: int) -> str:
    digest = hmac.new(key, f"{order_id}\n{generation}".encode(), hashlib.sha256).digest()[:MAC_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def mint(order_id: str, generation: int, key: bytes) -> str:
    """The token of the order's current links (`generation`: the order's link generation)."""
    return f"{order_id}.{generation}.{_mac(key, order_id, generation)}"


@dataclass(frozen=True)
class Claim:
    """What a well-signed token names; it opens the order only if `generation` is still the order's."""

    order_id: str
    generation: int


def verify(token: str, keys: Sequence[bytes]) -> Claim | None:
    """The order and generation a token names when one of `keys` signed it; None otherwise (malformed,
    forged, or signed by a key rotated out)."""
    found = _TOKEN.fullmatch(token or "")
    if found is None:
        return None
    order_id, generation = found["order"], int(found["gen"])
    for key in keys:
        if hmac.compare_digest(_mac(key, order_id, generation), found["mac"]):
            return Claim(order_id, generation)
    return None
