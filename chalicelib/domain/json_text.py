"""Parsing JSON that someone else sent (request bodies, inbound webhooks) with an explicit depth limit.

`json.loads` recurses once per nesting level, so ~1000 nested arrays end in a RecursionError (a 500
where a 400 is due). `parse` measures the nesting first, without recursion and in linear time (the
strings are cut out by one regular expression that can never backtrack, then the brackets are
counted), and refuses anything deeper than `max_depth` before `json.loads` sees it. Pure: stdlib only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from itertools import accumulate
from typing import Any

MAX_DEPTH = 64

# A JSON string: possessive, and an unterminated one runs to the end of the text instead of failing, so a
# match never backtracks and never restarts inside a string (`"\"\"\"...` stays linear).
_STRING = re.compile(r'"(?:[^"\\]++|\\[\s\S]?)*+(?:"|\Z)')
_NOT_BRACKET = re.compile(r"[^\[\]{}]++")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class InvalidJson(ValueError):
    """The text is not JSON we accept: malformed, not UTF-8, or nested deeper than the limit."""


def depth(text: str) -> int:
    """How deeply arrays and objects nest in `text` (0 for a scalar); exact for valid JSON, and never
    less than what `json.loads` would reach on any prefix of it it can parse."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def parse(raw: str | bytes, *, max_depth: int = MAX_DEPTH, parse_float: Callable[[str], Any] | None = None) -> Any:
    """`json.loads(raw)`, refusing (InvalidJson) bytes it cannot decode, text that is not JSON, and JSON
    nested more than `max_depth` arrays/objects deep. Bytes are decoded as `json.loads` decodes them
    (UTF-8, or UTF-16/32 when they start so)."""
    try:
        text = raw.decode(json.detect_encoding(raw), "surrogatepass") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise InvalidJson(f"the body is not valid JSON: {exc}") from None
    found = depth(text)
    if found > max_depth:
        raise InvalidJson(f"the JSON nests deeper than {max_depth} levels of arrays and objects")
    try:
        return json.loads(text, parse_float=parse_float)
    except RecursionError:  # not expected after the depth check; a 400 all the same, never a 500
        raise InvalidJson(f"the JSON nests deeper than {max_depth} levels of arrays and objects") from None
    except ValueError as exc:
        raise InvalidJson(f"the body is not valid JSON: {exc}") from None
