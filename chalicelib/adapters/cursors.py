"""Page cursors handed to clients: a JSON value, compact, URL-safe base64 without padding.

One codec for every listing: DynamoDB start keys (`repository.encode_cursor`) and positions in
lists ranked in memory (the exceptions queue). What a decoded value must look like is the listing's
own check; a cursor that does not even decode is an `invalid_cursor` here."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from ..domain.errors import RuleViolation

INVALID_MESSAGE = "the cursor is not one this listing returned"


def encode(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).decode().rstrip("=")


def decode(cursor: str) -> Any:
    """The JSON value a cursor carries (padded cursors, as issued before, decode too)."""
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid() from None


def invalid(details: list[dict[str, str]] | None = None) -> RuleViolation:
    return RuleViolation("invalid_cursor", INVALID_MESSAGE, details=details)
