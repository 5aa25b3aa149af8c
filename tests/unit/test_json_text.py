"""Parsing JSON someone else sent: a depth limit checked before json.loads recurses, a 400's message
for every way the text can be wrong, and no input that makes the check itself slow."""

from __future__ import annotations

import time

import pytest

from chalicelib.domain import json_text
from chalicelib.domain.json_text import InvalidJson


def test_json_within_the_depth_limit_parses_as_json_loads_would():
    assert json_text.parse(b'{"a": [1, {"b": "]]]}}}"}], "c": "\\"[["}') == {"a": [1, {"b": "]]]}}}"}], "c": '"[['}
    assert json_text.parse("[" * 64 + "]" * 64) == json_text.parse("[" * 64 + "]" * 64)
    assert json_text.parse("3") == 3


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1", 0),
        ('"[[[["', 0),
        ('[[1, "]"], {"a": {"b": []}}]', 4),
        ('["\\\\", [[]]]', 3),  # an escaped backslash ends before the closing quote
        ('{"k": "\\"}"}', 1),  # an escaped quote does not end the string
    ],
)
def test_depth_counts_arrays_and_objects_but_not_brackets_inside_strings(text, expected):
    assert json_text.depth(text) == expected


@pytest.mark.parametrize("levels", [65, 990, 100_000])
def test_json_nested_deeper_than_the_limit_is_refused_without_a_recursion_error(levels):
    for text in ("[" * levels + "]" * levels, '{"a":' * levels + "1" + "}" * levels):
        with pytest.raises(InvalidJson, match="deeper than 64"):
            json_text.parse(text)


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"\xff\xfe\x00garbage", "not valid JSON"),  # announces UTF-16, is not
        (b"\x80abc", "not valid JSON"),
        (b"{", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"[1,]", "not valid JSON"),
        (b'"unterminated', "not valid JSON"),
    ],
)
def test_text_that_is_not_json_is_refused_with_what_is_wrong(raw, message):
    with pytest.raises(InvalidJson, match=message):
        json_text.parse(raw)


def test_bytes_are_decoded_as_json_loads_decodes_them():
    assert json_text.parse('{"a": ["é"]}'.encode("utf-16")) == {"a": ["é"]}
    assert json_text.parse('{"a": ["é"]}'.encode()) == {"a": ["é"]}


def test_a_custom_limit_and_float_parser_are_honoured():
    with pytest.raises(InvalidJson):
        json_text.parse("[[1]]", max_depth=1)
    assert json_text.parse("[1.5]", parse_float=str) == ["1.5"]


def test_pathological_quotes_and_brackets_are_checked_in_linear_time():
    # Each of these would be quadratic for a backtracking string pattern; a megabyte takes milliseconds.
    started = time.perf_counter()
    for text in ('\\"' * 500_000, '"' + '\\"' * 500_000, "[]" * 500_000, '"' + "a" * 1_000_000):
        with pytest.raises(InvalidJson):
            json_text.parse(text)
    assert time.perf_counter() - started < 2.0
