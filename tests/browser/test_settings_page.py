"""Business settings on the admin page in headless Chromium against the local stack: an admin changes a
deadline in hours and a count, the API and the history say so, a value out of bounds marks its field,
"Use the default" puts it back; a buyer sees them read-only. Each test leaves the settings as it found
them (the stack is shared)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.a11y import check_accessibility
from tests.browser.conftest import api_get, ready, sign_in
from tests.local_stack import Stack


def setting(page: Page, name: str):
    return page.locator(f"[data-testid='setting'][data-name='{name}']")


def test_an_admin_changes_a_deadline_in_hours_and_puts_it_back(page: Page, stack: Stack):
    admin = stack.headers("alex", "admin", email="alex@waybill.example", name="Alex Admin")
    read = api_get(stack, "/staff/settings", admin)
    before = {i["name"]: i for i in read["items"]}
    sign_in(page, stack, "admin")
    ready(page, "dashboard")
    page.goto(f"{stack.admin}/#/settings")
    ready(page, "settings")
    form = page.get_by_role("form", name="Business settings")
    expect(form.get_by_role("group", name="Held orders")).to_be_visible()
    check_accessibility(page, "settings, business settings")

    # a value out of bounds: the API's 422 marks the field it names, nothing is saved
    invoice = setting(page, "deadline_invoice_s")
    invoice.get_by_role("spinbutton").fill("0")
    form.get_by_role("button", name="Save settings").click()
    expect(invoice.get_by_role("spinbutton")).to_have_attribute("aria-invalid", "true")
    expect(invoice.get_by_test_id("field-error")).to_contain_text("between")
    assert api_get(stack, "/staff/settings", admin)["version"] == read["version"]
    invoice.get_by_role("spinbutton").fill(str(before["deadline_invoice_s"]["value"] // 3600))
    invoice.get_by_role("combobox").select_option("h")

    # 36 hours to decide held orders, and 3 reminders: saved as seconds and a count
    held = setting(page, "hold_decide_before_close_s")
    held.get_by_role("spinbutton").fill("36")
    held.get_by_role("combobox").select_option("h")
    setting(page, "max_stage_reminders").get_by_role("spinbutton").fill("3")
    form.get_by_role("button", name="Save settings").click()
    expect(page.get_by_test_id("settings-saved")).to_contain_text("Saved 2 settings")
    expect(setting(page, "hold_decide_before_close_s")).to_have_attribute("data-overridden", "true")
    now = {i["name"]: i for i in api_get(stack, "/staff/settings", admin)["items"]}
    assert now["hold_decide_before_close_s"]["value"] == 36 * 3600 and now["max_stage_reminders"]["value"] == 3
    assert now["deadline_invoice_s"]["value"] == before["deadline_invoice_s"]["value"]  # the refused one unchanged
    latest = page.get_by_test_id("settings-change").first
    expect(latest).to_contain_text(api_get(stack, "/staff/settings/history", admin)["items"][0]["by"])
    expect(latest).to_contain_text("hold_decide_before_close_s")

    # each back to the deployment's default
    for name in ("hold_decide_before_close_s", "max_stage_reminders"):
        setting(page, name).get_by_role("button", name="Use the default").click()
        expect(setting(page, name)).to_have_attribute("data-overridden", "false")
    after = {i["name"]: i for i in api_get(stack, "/staff/settings", admin)["items"]}
    assert not any(i["overridden"] for i in after.values())


def test_a_buyer_sees_the_settings_in_force_but_cannot_change_them(page: Page, stack: Stack):
    sign_in(page, stack, "buyer")
    ready(page, "dashboard")
    page.goto(f"{stack.admin}/#/settings")
    ready(page, "settings")
    form = page.get_by_role("form", name="Business settings")
    expect(setting(page, "deadline_acknowledge_s").get_by_role("spinbutton")).to_be_disabled()
    expect(form.get_by_role("button", name="Save settings")).to_have_count(0)
    check_accessibility(page, "settings, read-only")
