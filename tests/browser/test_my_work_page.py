"""Assignment across kinds on the admin page in headless Chromium against the local stack: customer care
takes an order from its page, finds it at the top of My work with its priority, opens it from there and
hands it to the logistics team; the team's view lists it, and unassigning takes it off."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.a11y import check_accessibility
from tests.browser.conftest import api_get, ready, sign_in
from tests.local_stack import Stack


def test_care_takes_an_order_finds_it_in_my_work_and_hands_it_to_logistics(page: Page, stack: Stack):
    sign_in(page, stack, "customer_care")
    ready(page, "dashboard")
    page.goto(f"{stack.admin}/#/orders")
    ready(page, "orders")
    link = page.get_by_test_id("order-link").first
    order_id = link.inner_text()
    link.click()
    ready(page, "order")

    panel = page.get_by_test_id("assignment")
    expect(panel.get_by_test_id("assigned-to")).to_contain_text("Nobody is assigned.")
    panel.get_by_text("Assign someone").click()
    form = panel.get_by_role("form", name="Assign")
    form.get_by_role("button", name="Assign to me").click()
    form.get_by_label("Priority").select_option("critical")
    form.get_by_label("Note (staff only)").fill("The customer called twice")
    form.get_by_role("button", name="Assign", exact=True).click()
    expect(panel.get_by_test_id("assign-notice")).to_be_visible()
    me = panel.get_by_test_id("assigned-to").get_attribute("data-assignee") or ""
    assert "@" in me
    check_accessibility(page, "order, assigned")

    page.get_by_role("link", name="My work").click()
    ready(page, "my-work")
    first = page.get_by_test_id("work-row").first
    expect(first).to_have_attribute("data-id", order_id)  # critical: on top
    expect(first).to_contain_text("The customer called twice")
    check_accessibility(page, "my work")
    first.get_by_test_id("work-link").click()
    ready(page, "order")

    # handed over to the logistics team (no person): off my list, on the team's
    panel = page.get_by_test_id("assignment")
    panel.get_by_text("Reassign").first.click()
    form = panel.get_by_role("form", name="Assign")
    form.get_by_label("Person (e-mail)").fill("")
    form.get_by_label("Team").select_option("logistics")
    form.get_by_role("button", name="Reassign", exact=True).click()
    expect(panel.get_by_test_id("assigned-to")).to_have_attribute("data-team", "logistics")
    page.goto(f"{stack.admin}/#/my-work")
    ready(page, "my-work")
    expect(page.locator(f"[data-testid='work-row'][data-id='{order_id}']")).to_have_count(0)
    page.get_by_label("Show").select_option("logistics")
    ready(page, "my-work")
    expect(page.locator(f"[data-testid='work-row'][data-id='{order_id}']")).to_have_count(1)

    # unassigned: nobody's work any more; the order's trail says who did what
    page.goto(f"{stack.admin}/#/orders/{order_id}")
    ready(page, "order")
    page.get_by_test_id("assignment").get_by_role("button", name="Unassign").click()
    expect(page.get_by_test_id("assigned-to")).to_contain_text("Nobody is assigned.")
    care = stack.headers("carl", "customer_care", email="carl@waybill.example")
    assert api_get(stack, f"/staff/assignments/order/{order_id}", care)["assigned"] is False
    team = api_get(stack, "/staff/my-work?team=logistics", care)
    assert order_id not in {w["id"] for w in team["items"]}
