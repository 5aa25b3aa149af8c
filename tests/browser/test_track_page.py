"""E-mail links open pages, in headless Chromium against the local stack: a customer's link opens the
order page (no login) showing the order's reference, on a phone-sized screen; a staff alert's link opens
the admin page's screen of that exception (after signing in) showing its id; a supplier's purchase-order
mail opens the front office's screen of that PO. axe-core finds no serious or critical violation on the
order page's screens."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import requests
from playwright.sync_api import Page, expect

from chalicelib.domain.addresses import order_reference
from tests.browser.a11y import check_accessibility
from tests.browser.conftest import USERS, Walks, ready, sign_in
from tests.local_stack import Stack

MAIL_TIMEOUT_S = 180


def _mail_links(stack: Stack, pattern: str, to: str | None = None) -> list[str]:
    """Links matching `pattern` in the mail moto's SES holds (to `to` only, when given), from the local
    stack's mail view (`/_waybill/mail`), waiting for the first."""
    deadline = time.monotonic() + MAIL_TIMEOUT_S
    while True:
        r = requests.get(f"{stack.moto}/_waybill/mail", params={"to": to} if to else None, timeout=30)
        assert r.status_code == 200, r.text
        messages: list[Any] = r.json()["messages"]
        found = sorted({m for message in messages for m in re.findall(pattern, json.dumps(message).replace("\\/", "/"))})
        if found:
            return found
        assert time.monotonic() < deadline, f"no mail links like {pattern} within {MAIL_TIMEOUT_S} s"
        time.sleep(1)


def test_a_customer_mail_link_opens_the_order_page_on_a_phone(page: Page, stack: Stack):
    link = _mail_links(stack, re.escape(stack.admin) + r"/track/#/o/[A-Za-z0-9_.-]+")[0]
    order_id = link.rsplit("/", 1)[-1].split(".")[0]
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(link)
    ready(page, "order")
    expect(page.get_by_test_id("order-reference")).to_contain_text(order_reference(order_id))
    expect(page.get_by_test_id("order-status")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing sideways on a phone
    check_accessibility(page, "order page")


def test_the_lookup_form_is_the_order_page_without_a_link_and_passes_axe(page: Page, stack: Stack):
    page.goto(stack.admin + "/track/")
    expect(page.get_by_role("button", name=re.compile("find", re.IGNORECASE)).first).to_be_visible()
    check_accessibility(page, "order lookup")


def test_a_staff_exception_mail_link_opens_its_screen_in_the_admin_page(page: Page, stack: Stack):
    link = _mail_links(stack, re.escape(stack.admin) + r"/#/exceptions/exc_[A-Za-z0-9]+")[0]
    exception_id = link.rsplit("/", 1)[-1]
    sign_in(page, stack, "admin")
    ready(page, "dashboard")
    page.goto(link)
    ready(page, "exception")
    expect(page.get_by_role("heading", level=1)).to_contain_text(exception_id)
    expect(page.get_by_test_id("exception-title")).not_to_be_empty()
    check_accessibility(page, "admin exception screen")


def test_a_supplier_purchase_order_mail_link_opens_its_screen_in_the_front_office(page: Page, stack: Stack, walks: Walks):
    # the session's walks closed the campaign: each supplier was sent its PO (acme is the dev sign-in's supplier)
    link = _mail_links(stack, re.escape(stack.admin) + r"/supplier/#/purchase-orders/[A-Za-z0-9_-]+", to="orders@acme.example")[0]
    po_id = link.rsplit("/", 1)[-1]
    page.goto(stack.admin + "/supplier/")
    page.get_by_label("User").select_option(USERS["supplier"])
    page.get_by_role("button", name="Sign in").click()
    ready(page, "campaigns")
    page.goto(link)
    ready(page, "purchase-order")
    expect(page.get_by_role("heading", level=1)).to_contain_text(po_id)


def test_the_customer_signs_in_on_the_order_page_to_ask_for_something(page: Page, stack: Stack):
    link = _mail_links(stack, re.escape(stack.admin) + r"/track/#/o/[A-Za-z0-9_.-]+", to="cust-01@example.com")[0]
    page.goto(link)
    ready(page, "order")
    page.get_by_role("form", name="Are you the customer?").get_by_label("Account").select_option("cust-01")
    page.get_by_role("button", name="Sign in").click()
    ready(page, "order")
    expect(page.get_by_test_id("signed-in-as")).to_contain_text("Customer 01")
    expect(page.get_by_role("button", name="Sign in")).to_have_count(0)
    asks = page.locator("[data-testid='cancel-form'], [data-testid='complaint-form']")
    nothing = page.get_by_text("There is nothing to ask for on this order right now.")
    expect(asks.or_(nothing).first).to_be_visible()


def test_the_order_page_speaks_vietnamese_when_chosen(page: Page, stack: Stack):
    link = _mail_links(stack, re.escape(stack.admin) + r"/track/#/o/[A-Za-z0-9_.-]+")[0]
    page.goto(link)
    ready(page, "order")
    page.get_by_label("Language").select_option("vi")
    ready(page, "order")
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.get_by_test_id("order-reference")).to_contain_text("Đơn hàng")
