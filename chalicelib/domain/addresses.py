"""Shipping addresses, the customer's address book, and the short order reference.

An `Address` is what a parcel is sent to: a name, one to three lines, a city, a postal code, an
ISO 3166-1 alpha-2 country and an optional phone number for the carrier. `parse_address` turns
whatever a client sent into one, or raises a `RuleViolation` naming every field that is wrong.
An order keeps its own copy (a snapshot): editing or deleting a book entry never moves a parcel.

The order reference (`WB-7KQ2-M9XD`) is what people read out and type: the packing list, the
customer's and staff's order views, and later the tracking page and its lookup form show it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import RuleViolation

# ISO 3166-1 alpha-2: the 249 officially assigned codes (ISO/TC 46 N1108, 2023-04-05; the same list
# as tzdata's iso3166.tab). User-assigned codes (XK for Kosovo, ...) are not in it.
COUNTRY_CODES: frozenset[str] = frozenset(
    (
        "AD",
        "AE",
        "AF",
        "AG",
        "AI",
        "AL",
        "AM",
        "AO",
        "AQ",
        "AR",
        "AS",
        "AT",
        "AU",
        "AW",
        "AX",
        "AZ",
        "BA",
        "BB",
        "BD",
        "BE",
        "BF",
        "BG",
        "BH",
        "BI",
        "BJ",
        "BL",
        "BM",
        "BN",
        "BO",
        "BQ",
        "BR",
        "BS",
        "BT",
        "BV",
        "BW",
        "BY",
        "BZ",
        "CA",
        "CC",
        "CD",
        "CF",
        "CG",
        "CH",
        "CI",
        "CK",
        "CL",
        "CM",
        "CN",
        "CO",
        "CR",
        "CU",
        "CV",
        "CW",
        "CX",
        "CY",
        "CZ",
        "DE",
        "DJ",
        "DK",
        "DM",
        "DO",
        "DZ",
        "EC",
        "EE",
        "EG",
        "EH",
        "ER",
        "ES",
        "ET",
        "FI",
        "FJ",
        "FK",
        "FM",
        "FO",
        "FR",
        "GA",
        "GB",
        "GD",
        "GE",
        "GF",
        "GG",
        "GH",
        "GI",
        "GL",
        "GM",
        "GN",
        "GP",
        "GQ",
        "GR",
        "GS",
        "GT",
        "GU",
        "GW",
        "GY",
        "HK",
        "HM",
        "HN",
        "HR",
        "HT",
        "HU",
        "ID",
        "IE",
        "IL",
        "IM",
        "IN",
        "IO",
        "IQ",
        "IR",
        "IS",
        "IT",
        "JE",
        "JM",
        "JO",
        "JP",
        "KE",
        "KG",
        "KH",
        "KI",
        "KM",
        "KN",
        "KP",
        "KR",
        "KW",
        "KY",
        "KZ",
        "LA",
        "LB",
        "LC",
        "LI",
        "LK",
        "LR",
        "LS",
        "LT",
        "LU",
        "LV",
        "LY",
        "MA",
        "MC",
        "MD",
        "ME",
        "MF",
        "MG",
        "MH",
        "MK",
        "ML",
        "MM",
        "MN",
        "MO",
        "MP",
        "MQ",
        "MR",
        "MS",
        "MT",
        "MU",
        "MV",
        "MW",
        "MX",
        "MY",
        "MZ",
        "NA",
        "NC",
        "NE",
        "NF",
        "NG",
        "NI",
        "NL",
        "NO",
        "NP",
        "NR",
        "NU",
        "NZ",
        "OM",
        "PA",
        "PE",
        "PF",
        "PG",
        "PH",
        "PK",
        "PL",
        "PM",
        "PN",
        "PR",
        "PS",
        "PT",
        "PW",
        "PY",
        "QA",
        "RE",
        "RO",
        "RS",
        "RU",
        "RW",
        "SA",
        "SB",
        "SC",
        "SD",
        "SE",
        "SG",
        "SH",
        "SI",
        "SJ",
        "SK",
        "SL",
        "SM",
        "SN",
        "SO",
        "SR",
        "SS",
        "ST",
        "SV",
        "SX",
        "SY",
        "SZ",
        "TC",
        "TD",
        "TF",
        "TG",
        "TH",
        "TJ",
        "TK",
        "TL",
        "TM",
        "TN",
        "TO",
        "TR",
        "TT",
        "TV",
        "TW",
        "TZ",
        "UA",
        "UG",
        "UM",
        "US",
        "UY",
        "UZ",
        "VA",
        "VC",
        "VE",
        "VG",
        "VI",
        "VN",
        "VU",
        "WF",
        "WS",
        "YE",
        "YT",
        "ZA",
        "ZM",
        "ZW",
    )
)

NAME_MAX = 100
LINE_MAX = 100
MAX_LINES = 3
CITY_MAX = 100
LABEL_MAX = 40
POSTAL_CODE = re.compile(r"[A-Z0-9](?:[A-Z0-9 -]{0,10}[A-Z0-9])?")  # 1-12 characters, e.g. 75011, SW1A 1AA
PHONE = re.compile(r"\+?[0-9 ()./-]{6,24}")
PHONE_DIGITS = (6, 15)  # E.164 allows at most 15 digits
# Characters that would break a CSV row or a label printer (and have no place in an address).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Address:
    name: str
    lines: tuple[str, ...]
    city: str
    postal_code: str
    country: str
    phone: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "lines": list(self.lines),
            "city": self.city,
            "postal_code": self.postal_code,
            "country": self.country,
            "phone": self.phone,
        }


def _text(value: object, field: str, limit: int, problems: list[dict[str, Any]], *, required: bool = True) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.append({"field": field, "message": "is required"})
        return None
    if not isinstance(value, str):
        problems.append({"field": field, "message": "must be text"})
        return None
    text = " ".join(value.split())  # one space between words: what a label printer expects
    if _CONTROL.search(value.replace("\n", " ").replace("\t", " ")) or len(text) > limit:
        problems.append({"field": field, "message": f"must be 1 to {limit} printable characters"})
        return None
    return text


def parse_address(data: Mapping[str, Any], *, where: str = "") -> Address:
    """An `Address` from a client's fields (normalised: spaces collapsed, postal code and country
    upper case), or a RuleViolation `invalid_address` with one detail per wrong field, each named
    `<where>.<field>`."""
    at = f"{where}." if where else ""
    problems: list[dict[str, Any]] = []
    name = _text(data.get("name"), f"{at}name", NAME_MAX, problems)
    raw_lines = data.get("lines")
    lines: list[str] = []
    if not isinstance(raw_lines, Sequence) or isinstance(raw_lines, str) or not 1 <= len(raw_lines) <= MAX_LINES:
        problems.append({"field": f"{at}lines", "message": f"give 1 to {MAX_LINES} address lines"})
    else:
        for i, raw in enumerate(raw_lines):
            line = _text(raw, f"{at}lines[{i}]", LINE_MAX, problems)
            if line is not None:
                lines.append(line)
    city = _text(data.get("city"), f"{at}city", CITY_MAX, problems)
    postal = _text(data.get("postal_code"), f"{at}postal_code", 12, problems)
    if postal is not None:
        postal = postal.upper()
        if not POSTAL_CODE.fullmatch(postal):
            problems.append({"field": f"{at}postal_code", "message": "must be 1 to 12 letters, digits, spaces or hyphens"})
    country = _text(data.get("country"), f"{at}country", 60, problems)
    if country is not None:
        country = country.upper()
        if country not in COUNTRY_CODES:
            problems.append(
                {"field": f"{at}country", "message": f"{country!r} is not an ISO 3166-1 alpha-2 country code (e.g. FR, DE, GB)"}
            )
    phone = _text(data.get("phone"), f"{at}phone", 24, problems, required=False)
    if phone is not None:
        digits = sum(c.isdigit() for c in phone)
        if not PHONE.fullmatch(phone) or not PHONE_DIGITS[0] <= digits <= PHONE_DIGITS[1]:
            problems.append(
                {"field": f"{at}phone", "message": "must be a phone number of 6 to 15 digits (e.g. +33 1 23 45 67 89)"}
            )
    if problems:
        raise RuleViolation(
            "invalid_address",
            "the address is not valid: " + "; ".join(f"{p['field']} {p['message']}" for p in problems),
            details=problems,
        )
    assert name and city and postal and country  # every required field was checked above
    return Address(name=name, lines=tuple(lines), city=city, postal_code=postal, country=country, phone=phone)


def shipping_address_required() -> RuleViolation:
    """An order is shipped somewhere: with neither an address nor a book entry it cannot be placed."""
    message = "an order needs a shipping address: give shipping_address, or address_id from your address book"
    return RuleViolation("shipping_address_required", message, details=[{"field": "body.shipping_address", "message": message}])


def one_address_only() -> RuleViolation:
    message = "give either shipping_address or address_id, not both"
    return RuleViolation("ambiguous_shipping_address", message, details=[{"field": "body.address_id", "message": message}])


# ---------------------------------------------------------------- the address book

MAX_BOOK_ENTRIES = 20


@dataclass(frozen=True)
class BookEntry:
    """One saved address of a customer, with an optional label ("Home", "Work")."""

    id: str
    address: Address
    label: str | None = None


@dataclass
class AddressBook:
    """A customer's saved addresses and which one is the default.

    Rules: at most MAX_BOOK_ENTRIES; the first address saved becomes the default; making another
    the default moves it (there is only ever one); deleting the default makes the oldest remaining
    entry the default, or leaves none when the book is empty."""

    entries: list[BookEntry]  # oldest first
    default_id: str | None = None

    def entry(self, address_id: str) -> BookEntry | None:
        return next((e for e in self.entries if e.id == address_id), None)

    def add(self, entry: BookEntry, *, make_default: bool = False) -> None:
        if len(self.entries) >= MAX_BOOK_ENTRIES:
            raise RuleViolation(
                "address_book_full", f"an address book holds at most {MAX_BOOK_ENTRIES} addresses; delete one first"
            )
        self.entries.append(entry)
        if make_default or self.default_id is None:
            self.default_id = entry.id

    def update(self, entry: BookEntry, *, is_default: bool | None = None) -> None:
        if is_default is False and self.default_id == entry.id:
            raise RuleViolation(
                "default_address_required",
                "an address book always has a default: make another address the default instead",
                details=[{"field": "body.is_default", "message": "make another address the default instead"}],
            )
        self.entries = [entry if e.id == entry.id else e for e in self.entries]
        if is_default:
            self.default_id = entry.id

    def remove(self, address_id: str) -> None:
        self.entries = [e for e in self.entries if e.id != address_id]
        if self.default_id == address_id:
            self.default_id = self.entries[0].id if self.entries else None


def label_of(value: object, *, where: str = "body.label") -> str | None:
    """An entry's label: optional, short, printable."""
    problems: list[dict[str, Any]] = []
    label = _text(value, where, LABEL_MAX, problems, required=False)
    if problems:
        raise RuleViolation("invalid_address", f"{where} {problems[0]['message']}", details=problems)
    return label


def merged(entry: BookEntry, changes: Mapping[str, Any], *, where: str = "body") -> Address:
    """The entry's address with `changes` applied (a partial update), validated as a whole."""
    return parse_address({**entry.address.as_dict(), **changes}, where=where)


# ---------------------------------------------------------------- the order reference

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_PREFIX = "WB"
REFERENCE_CHARS = 8  # 40 bits


def order_reference(order_id: str) -> str:
    """A short, stable reference for an order: `WB-` and 8 Crockford base32 characters (in two groups
    of four) of the order id's SHA-256. Derived, never stored as a key, the same everywhere it is
    shown. 40 bits: two orders share a reference with probability ~n²/2⁴¹ (about 0.5 % at 100,000
    orders), so a lookup by reference must also match something else (the e-mail, the order id)."""
    value = int.from_bytes(hashlib.sha256(order_id.encode()).digest()[:5], "big")
    chars = "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(35, -1, -5))
    return f"{REFERENCE_PREFIX}-{chars[:4]}-{chars[4:]}"


_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0"})  # Crockford: what people mistype


def parse_reference(text: str) -> str | None:
    """A reference as someone typed it (any case, with or without hyphens and spaces, O for 0, I or L
    for 1), in its canonical form; None when it cannot be one."""
    compact = re.sub(r"[\s-]", "", text.upper())
    if len(compact) == len(REFERENCE_PREFIX) + REFERENCE_CHARS and compact.startswith(REFERENCE_PREFIX):
        compact = compact[len(REFERENCE_PREFIX) :]  # W and B are Crockford digits too: strip by length
    compact = compact.translate(_READ_AS)
    if len(compact) != REFERENCE_CHARS or any(c not in _CROCKFORD for c in compact):
        return None
    return f"{REFERENCE_PREFIX}-{compact[:4]}-{compact[4:]}"
