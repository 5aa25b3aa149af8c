"""Customer e-mails in the customer's language (chalicelib/i18n): every key a template or the sender
asks for exists in every locale and no catalogue keeps a key nobody asks for; the customer templates
hold no word of their own; a Vietnamese order mail speaks Vietnamese and writes money and dates the
Vietnamese way, while English stays as the mails always were (tests/adapters/test_mail_wording.py and
tests/services/test_notify_reads_models.py pin the English output)."""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from typing import Any

import jinja2
import pytest
from jinja2 import nodes

from chalicelib import i18n
from chalicelib.adapters import mail
from chalicelib.config import load_settings
from chalicelib.domain.audit import status_text
from chalicelib.domain.notifications import RULES, Recipient
from chalicelib.events import domain_event
from chalicelib.services import notify
from chalicelib.services.notify import Preferences


@pytest.fixture(autouse=True)
def link_keys() -> Iterator[None]:
    """Customer mails carry an order-page link, signed here with a test key (no Secrets Manager)."""
    from chalicelib.domain.track_links import LinkKeys
    from chalicelib.services import track

    with track.using_keys(LinkKeys(b"unit-test-link-key")):
        yield


CUSTOMER_TEMPLATES = sorted({r.template for r in RULES if r.recipient is Recipient.CUSTOMER})
PARTS = (".subject.txt", ".txt", ".html")


def _source(name: str) -> str:
    return (mail.TEMPLATES / name).read_text(encoding="utf-8")


@cache
def template_calls() -> dict[str, set[str]]:
    """Each key a template asks the catalogue for (`t("key", ...)`), with the values it passes."""
    env = jinja2.Environment()
    found: dict[str, set[str]] = {}
    for path in sorted(mail.TEMPLATES.iterdir()):
        for call in env.parse(path.read_text(encoding="utf-8")).find_all(nodes.Call):
            if isinstance(call.node, nodes.Name) and call.node.name == "t":
                key = call.args[0]
                assert isinstance(key, nodes.Const) and isinstance(key.value, str), f"{path.name}: a key built at render time"
                found.setdefault(key.value, set()).update(k.key for k in call.kwargs)
    return found


def used_keys() -> set[str]:
    return set(template_calls()) | set(notify.catalogue_keys())


def placeholders(message: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(message) if name}


@pytest.mark.parametrize("locale", i18n.SUPPORTED)
def test_every_key_a_template_or_the_sender_asks_for_is_in_every_catalogue(locale: str):
    assert sorted(used_keys() - set(i18n.catalogue(locale))) == []


@pytest.mark.parametrize("locale", i18n.SUPPORTED)
def test_no_catalogue_keeps_a_key_that_nothing_asks_for(locale: str):
    assert sorted(set(i18n.catalogue(locale)) - used_keys()) == []


@pytest.mark.parametrize("locale", i18n.SUPPORTED)
def test_a_message_names_only_values_its_callers_pass(locale: str):
    calls = template_calls()
    wrong = {
        key: sorted(placeholders(message) - calls.get(key, set()))
        for key, message in i18n.catalogue(locale).items()
        if placeholders(message) - calls.get(key, set())
    }
    assert wrong == {}


def test_the_templates_ask_for_their_words_and_the_sender_for_headlines_and_statuses():
    assert {"order.follow", "parcel.tracking_number", "complaint.subject"} <= set(template_calls())
    assert {"headline.order.placed", "status.out_for_delivery", "status.placed"} <= notify.catalogue_keys()


@pytest.mark.parametrize("template", CUSTOMER_TEMPLATES)
def test_a_customer_template_holds_no_word_of_its_own(template: str):
    """Outside `{{ ... }}` a customer template has markup, link paths, punctuation and the brand: never a word."""
    env = jinja2.Environment()
    for part in PARTS:
        text = "".join(
            d.data for d in env.parse(_source(template + part)).find_all(nodes.TemplateData) if isinstance(d.data, str)
        )
        words = re.findall(r"[A-Za-z]{2,}", re.sub(r"<[^>]*>|&\w+;|/[\w/-]*", " ", text))
        assert [w for w in words if w != "Waybill"] == [], template + part


def test_customer_templates_are_sent_to_customers_only():
    staff = {r.template for r in RULES if r.recipient is not Recipient.CUSTOMER}
    assert staff.isdisjoint(CUSTOMER_TEMPLATES)


def test_english_headlines_and_statuses_are_the_ones_the_mails_always_said():
    en = i18n.catalogue("en")
    for rule in notify.rules_for_customers():
        assert en[f"headline.{rule.event_type}"] == rule.headline
    for key in notify.catalogue_keys():
        if key.startswith("status."):
            assert en[key] == status_text(key.removeprefix("status."))


# ---------------------------------------------------------------- money and dates


@pytest.mark.parametrize(
    ("cents", "currency", "locale", "shown"),
    [
        (1250, "EUR", "en", "12.50 EUR"),
        (123456700, "VND", "en", "1234567.00 VND"),  # English as it always was
        (1250, "EUR", "vi", "12,50 €"),
        (123456700, "VND", "vi", "1.234.567 ₫"),
        (123456789, "USD", "vi", "1.234.567,89 US$"),
        (-1250, "EUR", "vi", "-12,50 €"),
        (1250, "CHF", "vi", "12,50 CHF"),
        (1250, "", "en", "12.50 "),
    ],
)
def test_money_is_written_as_the_locale_writes_it(cents: int, currency: str, locale: str, shown: str):
    assert i18n.money(cents, currency, locale) == shown


def test_dates_are_written_as_the_locale_writes_them():
    at = datetime(2030, 3, 9, 23, 30, tzinfo=UTC)
    assert i18n.date(at, "vi") == "09/03/2030"
    assert i18n.date("2030-03-10T01:30:00+02:00", "vi") == "09/03/2030"  # the UTC day
    assert i18n.date(at, "en") == "2030-03-09"
    assert i18n.minute(at, "vi") == "09/03/2030 23:30 UTC"


def test_a_locale_tag_names_a_supported_locale_or_none():
    assert i18n.supported("vi-VN") == "vi"
    assert i18n.supported("EN_gb") == "en"
    assert i18n.supported("fr") is None
    assert i18n.supported(None) is None
    assert i18n.resolve("fr", None, "vi", default="en") == "vi"
    assert i18n.resolve("fr", default="en") == "en"


def test_a_default_locale_no_catalogue_speaks_is_refused_at_start():
    assert load_settings({"WAYBILL_DEFAULT_LOCALE": "vi"}).default_locale == "vi"
    with pytest.raises(ValueError, match="WAYBILL_DEFAULT_LOCALE"):
        load_settings({"WAYBILL_DEFAULT_LOCALE": "fr"})


# ---------------------------------------------------------------- a Vietnamese order mail


def order_event(event_type: str, **data: Any) -> Any:
    return domain_event(
        {
            "id": "evt_1",
            "type": event_type,
            "subject_type": "order",
            "subject_id": "ord_1",
            "at": "2030-03-09T10:00:00+00:00",
            "actor": {"sub": "system", "role": "admin"},
            "to_status": "placed",
            "data": {
                "order_id": "ord_1",
                "customer_email": "an@example.vn",
                "status": "placed",
                "total_cents": 123456700,
                "currency": "VND",
                **data,
            },
        }
    )


def rendered(event_type: str, locale: str | None, **data: Any) -> mail.Mail:
    rule = next(r for r in RULES if r.event_type == event_type and r.recipient is Recipient.CUSTOMER)
    return mail.render(
        rule.template, "an@example.vn", **notify.context(rule, notify.Loaded(order_event(event_type, **data)), locale)
    )


def test_a_vietnamese_order_mail_speaks_vietnamese_with_vietnamese_money_and_dates():
    m = rendered("order.placed", "vi")
    assert m.subject == "Chúng tôi đã nhận được đơn hàng của bạn (ord_1)"
    for part in (m.text, m.html):
        assert "Đơn hàng" in part and "Tổng cộng: 1.234.567 ₫" in part
        assert "09/03/2030" in part
        assert "Your order" not in part and "Total" not in part and "Follow your order" not in part
    assert "Đơn hàng của bạn đã được xác nhận." in m.text  # the status, in words
    assert '<html lang="vi">' in m.html
    assert "<strong>ord_1</strong>" in m.html


def test_the_same_mail_in_english_is_unchanged():
    m = rendered("order.placed", "en")
    assert m.subject == "We have received your order (ord_1)"
    assert "Order ord_1: Your order is confirmed. It goes to the suppliers when the campaign ends.\n" in m.text
    assert "Total: 1234567.00 VND" in m.text
    assert '<html lang="en">' in m.html


def test_a_vietnamese_parcel_mail_escapes_what_it_is_given():
    m = rendered(
        "order.shipped",
        "vi",
        carrier_name="<Giao> & Nhanh",
        tracking_number="VN<1>",
        tracking_url="https://track.example/VN1",
        status="in_transit",
    )
    assert "Đơn vị vận chuyển: &lt;Giao&gt; &amp; Nhanh" in m.html
    assert "Mã vận đơn: <strong>VN&lt;1&gt;</strong>" in m.html
    assert "Đơn vị vận chuyển: <Giao> & Nhanh" in m.text
    assert "Đang vận chuyển" in m.text


def test_the_default_locale_speaks_when_nobody_chose(monkeypatch: pytest.MonkeyPatch):
    from chalicelib import config

    monkeypatch.setattr(config, "settings", lambda: load_settings({"WAYBILL_DEFAULT_LOCALE": "vi"}))
    monkeypatch.setattr(notify, "settings", config.settings)
    monkeypatch.setattr(mail, "settings", config.settings)
    assert "Tổng cộng" in rendered("order.placed", None).text


# ---------------------------------------------------------------- whose language


def test_a_customer_mail_speaks_the_order_s_locale_else_the_customer_s_and_staff_mail_stays_english():
    placed = next(r for r in RULES if r.event_type == "order.placed" and r.recipient is Recipient.CUSTOMER)
    supplier = next(r for r in RULES if r.recipient is Recipient.SUPPLIER)
    chose_vi = Preferences("an@example.vn", locale="vi")
    assert notify.mail_locale(placed, notify.Loaded(order_event("order.placed")), chose_vi) == "vi"
    assert notify.mail_locale(placed, notify.Loaded(order_event("order.placed", customer_locale="en")), chose_vi) == "en"
    assert notify.mail_locale(placed, notify.Loaded(order_event("order.placed")), Preferences("x@example.com")) == "en"
    assert notify.mail_locale(supplier, notify.Loaded(order_event("order.placed")), chose_vi) is None


def test_the_api_accepts_exactly_the_locales_the_catalogues_speak():
    from typing import get_args

    from chalicelib.api.views.common import Locale

    assert get_args(Locale) == i18n.SUPPORTED
