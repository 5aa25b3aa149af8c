"""Saved views on the exceptions queue, the complaints list and the purchase orders list, in headless
Chromium against the local stack: an admin filters the queue by a severity and saves it, opens the
complaints and purchase orders lists (each with its own views, read with its list) and saves one there,
comes back to the queue unfiltered and applies the view: the filter is back in the form and the rows;
then deletes it. axe checks each screen with its panel."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.a11y import check_accessibility
from tests.browser.conftest import api_get, ready, sign_in
from tests.local_stack import Stack

ADMIN = ("alex", "admin")


def _save(page: Page, name: str) -> None:
    views = page.get_by_test_id("saved-views")
    views.get_by_text("Save these filters…").click()
    views.get_by_label("Save these filters as").fill(name)
    views.get_by_role("button", name="Save view").click()
    expect(page.get_by_test_id("saved-view").filter(has_text=name)).to_have_count(1)


def test_admin_saves_a_queue_filter_opens_other_lists_and_applies_it_back_then_deletes_it(page: Page, stack: Stack):
    page.set_viewport_size({"width": 1280, "height": 800})
    queue = api_get(stack, "/staff/exceptions?limit=50", stack.headers(*ADMIN))["items"]
    assert queue, "the seed's queue has open exceptions"
    severity = queue[0]["severity"]

    sign_in(page, stack, "admin")
    ready(page, "dashboard")
    page.goto(f"{stack.admin}/#/exceptions")
    ready(page, "exceptions")
    fold = page.get_by_test_id("filters-fold")
    expect(fold.get_by_test_id("saved-views")).to_contain_text("None yet.")
    fold.get_by_label("Severity", exact=True).select_option(severity)
    fold.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(rf"#/exceptions\?severity={severity}(&sort=severity)?$"))
    ready(page, "exceptions")
    _save(page, "Mine by severity")
    check_accessibility(page, "exceptions, a view saved")
    saved = api_get(stack, "/staff/views?screen=exceptions", stack.headers(*ADMIN))["items"]
    assert [(v["name"], v["filters"]) for v in saved] == [("Mine by severity", {"severity": severity})]

    # each list keeps its own views, read with its list
    page.goto(f"{stack.admin}/#/complaints")
    ready(page, "complaints")
    expect(page.get_by_test_id("saved-views")).to_contain_text("None yet.")
    page.get_by_label("Status", exact=True).select_option("any")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"#/complaints\?status=any$"))
    ready(page, "complaints")
    _save(page, "Every complaint")
    check_accessibility(page, "complaints, a view saved")

    page.goto(f"{stack.admin}/#/purchase-orders")
    ready(page, "purchase-orders")
    expect(page.get_by_test_id("saved-views")).to_contain_text("None yet.")
    page.get_by_label("Stage or status").select_option("invoice")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"#/purchase-orders\?stage=invoice$"))
    ready(page, "purchase-orders")
    _save(page, "Waiting for invoices")
    expect(page.get_by_test_id("saved-view").filter(has_text="Every complaint")).to_have_count(0)
    check_accessibility(page, "purchase orders, a view saved")

    # back to the queue unfiltered: the view puts its filter back
    page.goto(f"{stack.admin}/#/exceptions")
    ready(page, "exceptions")
    expect(fold.get_by_label("Severity", exact=True)).to_have_value("")
    fold.get_by_test_id("saved-view").filter(has_text="Mine by severity").click()
    expect(page).to_have_url(re.compile(rf"#/exceptions\?severity={severity}$"))
    ready(page, "exceptions")
    expect(fold.get_by_label("Severity", exact=True)).to_have_value(severity)
    rows = page.get_by_test_id("exception-row")
    expect(rows.first).to_be_visible()
    assert {r.get_attribute("data-severity") for r in rows.all()} == {severity}
    check_accessibility(page, "exceptions, a saved view applied")

    fold.get_by_role("button", name="Delete saved view Mine by severity").click()
    expect(page.get_by_test_id("saved-view").filter(has_text="Mine by severity")).to_have_count(0)
    expect(fold.get_by_test_id("saved-views")).to_contain_text("None yet.")
    assert api_get(stack, "/staff/views?screen=exceptions", stack.headers(*ADMIN))["items"] == []
