"""Staff's search box, several statuses at once and saved views on the admin page, in headless Chromium
against the local stack: customer care types the start of a customer's e-mail, picks the result with the
keyboard and lands on that customer's orders; the start of an order's reference and of a parcel's tracking
number open the order; the orders list's own box, finding nothing whole, offers what starts so; the
orders list shows two statuses at once; a saved view is saved, applied from another filter and deleted.
axe checks each screen, the results list open."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.a11y import check_accessibility
from tests.browser.conftest import WALK_TIMEOUT_S, Walks, api_get, ready, sign_in
from tests.local_stack import Stack

BOX = "Find an order, customer, parcel, supplier or campaign"


def _type(page: Page, text: str) -> None:
    box = page.get_by_role("combobox", name=BOX)
    box.fill("")
    box.press_sequentially(text)
    expect(page.get_by_test_id("search-results")).to_be_visible()


def test_care_finds_a_customer_an_order_and_a_parcel_from_the_header(page: Page, stack: Stack, walks: Walks):
    care = stack.headers("carl", "customer_care", email="carl@waybill.example")
    order = api_get(stack, "/staff/orders?limit=1", care)["items"][0]
    sign_in(page, stack, "customer_care")
    ready(page, "dashboard")

    # an e-mail's start, chosen with the keyboard
    _type(page, "cust-0")
    box = page.get_by_role("combobox", name=BOX)
    expect(box).to_have_attribute("aria-expanded", "true")
    results = page.get_by_test_id("search-result")
    expect(results.first).to_have_attribute("data-kind", "customer")
    check_accessibility(page, "header search, results open")
    box.press("ArrowDown")
    expect(results.first).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", results.first.get_attribute("id") or "")
    first_label = results.first.inner_text()
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"#/orders\?customer_email=cust-0\d%40example\.com"))
    ready(page, "orders")
    email = re.search(r"cust-0\d@example\.com", first_label)
    assert email is not None
    rows = page.get_by_test_id("order-row")
    expect(rows.first).to_be_visible()
    for text in rows.all_inner_texts():
        assert email.group(0) in text

    # the start of a reference, as printed (with its WB-): the order
    _type(page, order["reference"][:7])
    page.locator("[data-testid='search-result'][data-kind='order']", has_text=order["reference"]).click()
    ready(page, "order")
    expect(page.get_by_role("heading", level=1)).to_contain_text(order["id"])

    # the start of a tracking number: the parcel, which opens its order
    shipped = walks.shipped.result(timeout=WALK_TIMEOUT_S)
    _type(page, "bt00000000")
    parcel = page.locator("[data-testid='search-result'][data-kind='shipment']").first
    expect(parcel).to_contain_text("BT00000000")
    parcel.click()
    ready(page, "order")
    expect(page.get_by_role("heading", level=1)).to_contain_text(re.compile("|".join(re.escape(o["id"]) for o in shipped)))

    # Escape closes the list; nothing starts with this
    box.fill("")
    box.press_sequentially("zzqq")
    expect(page.get_by_test_id("search-status")).to_contain_text("Nothing starts with")
    expect(page.get_by_test_id("search-results")).to_be_hidden()

    # the orders list's own box matches whole values; what only starts so is offered beside "No orders"
    page.goto(f"{stack.admin}/#/orders")
    ready(page, "orders")
    page.get_by_label("Order id, customer e-mail or tracking number").fill("cust-05")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"q=cust-05"))
    starting = page.get_by_test_id("starting-with")
    expect(starting.get_by_role("link")).to_contain_text(["cust-05@example.com"])
    check_accessibility(page, "orders, nothing whole, what starts so")
    starting.get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(r"customer_email=cust-05%40example\.com"))
    ready(page, "orders")
    expect(page.get_by_test_id("order-row").first).to_contain_text("cust-05@example.com")


def test_care_lists_two_statuses_at_once_saves_the_view_and_applies_it(page: Page, stack: Stack):
    sign_in(page, stack, "customer_care")
    ready(page, "dashboard")
    page.goto(f"{stack.admin}/#/orders")
    ready(page, "orders")
    page.get_by_test_id("status-summary").click()
    picker = page.get_by_test_id("status-picker")
    picker.get_by_label("placed", exact=True).check()
    picker.get_by_label("cancelled", exact=True).check()
    expect(page.get_by_test_id("status-summary")).to_have_text("Status: placed, cancelled")
    check_accessibility(page, "orders, statuses chosen")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"status=placed%2Ccancelled"))
    ready(page, "orders")
    statuses = {r.get_attribute("data-status") for r in page.get_by_test_id("order-row").all()}
    assert statuses and statuses <= {"placed", "cancelled"}, statuses

    views = page.get_by_test_id("saved-views")
    expect(views).to_contain_text("None yet.")
    views.get_by_text("Save these filters…").click()
    views.get_by_label("Save these filters as").fill("Placed or cancelled")
    views.get_by_role("button", name="Save view").click()
    saved = page.get_by_test_id("saved-view").filter(has_text="Placed or cancelled")
    expect(saved).to_have_count(1)

    page.goto(f"{stack.admin}/#/orders?status=on_hold")
    ready(page, "orders")
    page.get_by_test_id("saved-view").filter(has_text="Placed or cancelled").click()
    expect(page).to_have_url(re.compile(r"status=placed%2Ccancelled"))
    ready(page, "orders")
    expect(page.get_by_test_id("status-summary")).to_have_text("Status: placed, cancelled")
    check_accessibility(page, "orders, a saved view applied")

    # a name too long is marked on the field; then the view is deleted
    page.get_by_test_id("saved-views").get_by_text("Save these filters…").click()
    page.get_by_test_id("saved-views").get_by_label("Save these filters as").evaluate("el => el.removeAttribute('maxlength')")
    page.get_by_test_id("saved-views").get_by_label("Save these filters as").fill("x" * 41)
    page.get_by_test_id("saved-views").get_by_role("button", name="Save view").click()
    expect(page.get_by_test_id("field-error")).to_be_visible()
    page.get_by_role("button", name="Delete saved view Placed or cancelled").click()
    expect(page.get_by_test_id("saved-view").filter(has_text="Placed or cancelled")).to_have_count(0)
