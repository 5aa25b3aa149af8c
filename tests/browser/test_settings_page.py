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


def rule_row(page: Page, n: int):
    return page.get_by_test_id("rules-table").get_by_test_id("rule").nth(n)


def test_an_admin_edits_the_notification_rules_in_a_table_and_puts_back_the_default(page: Page, stack: Stack):
    admin = stack.headers("alex", "admin", email="alex@waybill.example", name="Alex Admin")
    read = api_get(stack, "/staff/settings/notification-rules", admin)
    assert read["default"] is True
    buyers_copy = next(i for i, r in enumerate(read["rules"]) if (r["event"], r["recipient"]) == ("po.created", "buyer"))
    sign_in(page, stack, "admin")
    ready(page, "dashboard")
    page.goto(f"{stack.admin}/#/settings")
    ready(page, "settings")
    rules = page.get_by_role("form", name="Notification rules")
    expect(page.get_by_test_id("rules-table").get_by_test_id("rule")).to_have_count(len(read["rules"]))

    # the buyer's copy of a new PO goes to the digest; a new rule tells the customer of po.created,
    # for which no mail is written: the 422 marks that rule's recipient, nothing is saved
    rule_row(page, buyers_copy).get_by_role("combobox", name=f"Rule {buyers_copy + 1}: timing").select_option("digest")
    rules.get_by_role("button", name="Add a rule").click()
    added = len(read["rules"])
    expect(rule_row(page, added).get_by_role("combobox", name=f"Rule {added + 1}: event")).to_be_focused()
    rule_row(page, added).get_by_role("combobox", name=f"Rule {added + 1}: event").select_option("po.created")
    recipient = rule_row(page, added).get_by_role("combobox", name=f"Rule {added + 1}: recipient")
    recipient.select_option("customer")
    rules.get_by_role("button", name="Save rules").click()
    expect(recipient).to_have_attribute("aria-invalid", "true")
    expect(rule_row(page, added).get_by_test_id("field-error")).to_contain_text("no e-mail is written")
    assert api_get(stack, "/staff/settings/notification-rules", admin)["version"] == read["version"]
    check_accessibility(page, "settings, a refused notification rule")

    recipient.select_option("logistics")
    rules.get_by_role("button", name="Save rules").click()
    expect(page.get_by_test_id("rules-saved")).to_contain_text(f"Saved {added + 1} rules")
    now = api_get(stack, "/staff/settings/notification-rules", admin)
    assert now["default"] is False and now["version"] == read["version"] + 1
    assert now["rules"][buyers_copy]["timing"] == "digest"
    assert (now["rules"][-1]["event"], now["rules"][-1]["recipient"], now["rules"][-1]["template"]) == (
        "po.created",
        "logistics",
        "po_created",
    )
    changes = page.get_by_test_id("settings-change").first.get_by_test_id("rule-changes")
    expect(changes).to_contain_text("po.created -> logistics by email, immediate")

    # a rule removed, then everything back to the code's rules
    rule_row(page, added).get_by_role("button", name=f"Remove rule {added + 1}").click()
    expect(page.get_by_test_id("rules-table").get_by_test_id("rule")).to_have_count(added)
    page.get_by_test_id("reset-rules").click()
    expect(page.get_by_test_id("rules-saved")).to_contain_text("Saved the default rules")
    expect(page.get_by_test_id("rules-state")).to_contain_text("the rules in the code")
    assert api_get(stack, "/staff/settings/notification-rules", admin)["rules"] == read["rules"]


def test_a_buyer_reads_the_notification_rules_without_controls_on_a_phone(page: Page, stack: Stack):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, stack, "buyer")
    ready(page, "dashboard")
    page.goto(f"{stack.admin}/#/settings")
    ready(page, "settings")
    table = page.get_by_test_id("rules-table")
    expect(table.get_by_test_id("rule").first).to_be_visible()
    expect(table.get_by_role("combobox")).to_have_count(0)
    expect(page.get_by_role("button", name="Save rules")).to_have_count(0)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the settings page scrolls sideways by {overflow}px at 390 px"
    check_accessibility(page, "settings, notification rules read-only (390 px)")
