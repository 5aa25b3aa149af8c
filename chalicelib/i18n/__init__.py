"""The customer's language: message catalogues for the e-mails, and each locale's way of writing
money and dates.

Every customer-facing word of a customer's e-mail lives in `<locale>.json` beside this module (one
flat object of key -> message, `{name}` placeholders, the same keys in every locale); the templates
ask for a message with `t("key", name=value)` and for amounts and dates with `money(...)` and
`date(...)`. A translation may leave out a placeholder it has no use for (the Vietnamese status line
names the day, the English one never did). Staff and supplier e-mails stay English and are not
catalogued.

Imports nothing of the project and no third party at import: the settings import `SUPPORTED` to
check the default locale."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

SUPPORTED: tuple[str, ...] = ("en", "vi")
CATALOGUES = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Formats:
    """How a locale writes numbers and dates. `decimals` None: as many as the currency has."""

    group: str
    point: str
    decimals: int | None
    symbols: bool  # `₫`, `€` rather than the ISO code
    date: str
    minute: str


FORMATS: dict[str, Formats] = {
    # English as the mails always wrote it: `12.50 EUR`, ISO dates.
    "en": Formats(group="", point=".", decimals=2, symbols=False, date="%Y-%m-%d", minute="%Y-%m-%d %H:%M UTC"),
    # Vietnamese: `1.234.567 ₫`, `12,50 €`, dd/mm/yyyy.
    "vi": Formats(group=".", point=",", decimals=None, symbols=True, date="%d/%m/%Y", minute="%d/%m/%Y %H:%M UTC"),
}
SYMBOLS = {"VND": "₫", "EUR": "€", "USD": "US$", "GBP": "£", "JPY": "¥"}
NO_MINOR_UNIT = frozenset({"VND", "JPY", "KRW"})  # amounts are kept in hundredths all the same


def supported(value: str | None) -> str | None:
    """The supported locale a tag names (`vi`, `vi-VN`, `VI_vn` -> `vi`), else None."""
    if not value:
        return None
    tag = value.strip().replace("_", "-").split("-", 1)[0].lower()
    return tag if tag in SUPPORTED else None


def resolve(*choices: str | None, default: str) -> str:
    """The first supported choice, else the default (the settings' `default_locale`)."""
    for choice in choices:
        if found := supported(choice):
            return found
    return default


@lru_cache(maxsize=len(SUPPORTED))
def catalogue(locale: str) -> dict[str, str]:
    """The locale's messages (read once per process)."""
    if locale not in SUPPORTED:
        raise LookupError(f"no catalogue for locale {locale!r}")
    loaded = json.loads((CATALOGUES / f"{locale}.json").read_text(encoding="utf-8"))
    if not isinstance(loaded, dict) or not all(isinstance(v, str) for v in loaded.values()):
        raise ValueError(f"catalogue {locale}.json must be one object of strings")
    return {str(k): v for k, v in loaded.items()}


def money(cents: int, currency: str | None, locale: str) -> str:
    """An amount kept in hundredths, as the locale writes it."""
    f = FORMATS[locale]
    code = currency or ""
    decimals = f.decimals if f.decimals is not None else (0 if code in NO_MINOR_UNIT else 2)
    number = f"{abs(cents) / 100:,.{decimals}f}".replace(",", "\0").replace(".", f.point).replace("\0", f.group)
    sign = "-" if cents < 0 else ""
    unit = SYMBOLS.get(code, code) if f.symbols else code
    if f.symbols and not unit:
        return f"{sign}{number}"
    return f"{sign}{number} {unit}"


def _moment(value: datetime | str) -> datetime:
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.astimezone(UTC) if when.tzinfo is not None else when


def date(value: datetime | str, locale: str) -> str:
    """A day (UTC), as the locale writes it."""
    return _moment(value).strftime(FORMATS[locale].date)


def minute(value: datetime | str, locale: str) -> str:
    """A moment to the minute (UTC, said so), as the locale writes it."""
    return _moment(value).strftime(FORMATS[locale].minute)


class Messages:
    """One locale's messages for one rendering: `t(key, **params)`; `html` escapes what goes in."""

    def __init__(self, locale: str, *, html: bool = False) -> None:
        self.locale = locale
        self.html = html
        self.messages = catalogue(locale)

    def get(self, key: str, **params: Any) -> str | None:
        """The message, or None when the catalogue has no such key (a code without wording)."""
        message = self.messages.get(key)
        if message is None:
            return None
        if self.html:
            from markupsafe import Markup, escape

            return Markup(escape(message)).format(**params)  # the values are escaped unless marked safe
        return message.format(**params)

    def __call__(self, key: str, **params: Any) -> str:
        found = self.get(key, **params)
        if found is None:
            raise KeyError(f"catalogue {self.locale} has no message {key!r}")
        return found

    def b(self, value: Any) -> str:
        """A value the message stresses (bold in HTML, as the mails always showed it)."""
        if self.html:
            from markupsafe import Markup

            return Markup("<strong>{}</strong>").format(value)
        return str(value)

    def money(self, cents: int, currency: str | None) -> str:
        return money(cents, currency, self.locale)

    def date(self, value: datetime | str) -> str:
        return date(value, self.locale)

    def minute(self, value: datetime | str) -> str:
        return minute(value, self.locale)

    def helpers(self) -> dict[str, Any]:
        """What a template calls: `t`, `b`, `money`, `date`, `minute`, and its `locale`."""
        return {"t": self, "b": self.b, "money": self.money, "date": self.date, "minute": self.minute, "locale": self.locale}
