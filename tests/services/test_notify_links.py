"""Every link in every e-mail opens a page a person can use: customers' the order page (with a token for
that order), staff's the admin page's screen of the exception, order, PO or complaint, suppliers' the
front office's screen. Each notification rule's template is rendered (as in test_notify_reads_models.py)
and every link in it is checked against those formats and the subject's id."""

from __future__ import annotations

import re

import pytest

from chalicelib.adapters import mail
from chalicelib.config import settings
from chalicelib.domain.notifications import RULES, NotificationRule, Recipient
from chalicelib.domain.track_links import verify
from chalicelib.services import notify, track
from tests.services.test_notify_reads_models import PARCEL, firing, po

URL = re.compile(r"https?://[^\s\"'<>)]+")
# The ids the fired events carry (tests/services/test_notify_reads_models.py DATA), by screen.
IDS = {"exceptions": "exc_1", "orders": "ord_1", "purchase-orders": "po_1", "complaints": "cpl_1"}


def links_in(rendered: mail.Mail) -> set[str]:
    hrefs = set(re.findall(r'href="([^"]+)"', rendered.html))
    return {u.rstrip(".,;:") for u in URL.findall(rendered.text)} | hrefs


def check(link: str, recipient: Recipient) -> None:
    """The link has one of the page formats for this recipient and names the subject's id."""
    site = re.escape(settings().site_base)
    if recipient is Recipient.CUSTOMER:
        found = re.fullmatch(rf"{site}/track/#/o/(?P<token>[^/]+)", link)
        assert found, link
        claim = verify(found["token"], track.link_keys().accepted)
        assert claim is not None and claim.order_id == IDS["orders"], link
        return
    prefix = "/supplier" if recipient is Recipient.SUPPLIER else ""
    screens = "purchase-orders|complaints" if recipient is Recipient.SUPPLIER else "exceptions|orders|purchase-orders|complaints"
    found = re.fullmatch(rf"{site}{prefix}/#/(?P<screen>{screens})/(?P<id>[A-Za-z0-9_.-]+)", link)
    assert found, (recipient.value, link)
    assert found["id"] == IDS[found["screen"]], link


@pytest.mark.parametrize("rule", RULES, ids=lambda r: f"{r.event_type}-{r.recipient.value}-{r.template}")
def test_every_link_of_every_mail_opens_a_page_of_its_reader_naming_the_subject(rule: NotificationRule):
    event = firing(rule)
    loaded = notify.Loaded(event, po=po() if rule.template == "po_created" else None, supplier_contacts=["orders@acme.example"])
    loaded.buyer_email = "buyer@waybill.example"
    ctx = notify.context(rule, loaded)
    rendered = mail.render(rule.template, "someone@example.com", **ctx)
    links = links_in(rendered) - {ctx["preferences_url"], PARCEL["tracking_url"]}  # the opt-out line; the carrier's page
    assert ctx["link"] is not None and ctx["link"] in links | {ctx["link"]}
    assert links, rule.template
    for found in links:
        check(found, rule.recipient)


def test_a_customer_link_is_minted_from_the_orders_current_generation():
    rule = next(r for r in RULES if r.recipient is Recipient.CUSTOMER and r.template == "order_update")
    loaded = notify.Loaded(firing(rule), link_generation=3)
    token = notify.link(rule, loaded).rsplit("/", 1)[-1]
    claim = verify(token, track.link_keys().accepted)
    assert claim is not None and (claim.order_id, claim.generation) == ("ord_1", 3)
