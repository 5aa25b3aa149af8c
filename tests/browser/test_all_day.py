"""The admin page as people use it all day, in headless Chromium against the local stack: one
sign-in for every tab, a 409 that says who changed the item and reloads it, a 422 that marks its
field, focus kept on the row after an action, nothing clipped at 1280x800, cards on a phone."""

from __future__ import annotations

import json
import re
from typing import Any

import requests
from playwright.sync_api import BrowserContext, Page, Route, expect

from tests.browser.a11y import check_accessibility
from tests.browser.conftest import ready, sign_in
from tests.local_stack import Stack

PROPOSALS = re.compile(r"/staff/payment-proposals\?")  # the list, not a decision
LONG_ID = "pp_" + "0123456789abcdef" * 3 + "abc"  # 54 characters, as the payments screen met them


def fits(page: Page, where: str) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{where}: the page scrolls sideways by {overflow}px"


def test_one_sign_in_serves_every_tab_and_signing_out_signs_out_every_tab(context: BrowserContext, page: Page, stack: Stack):
    other = context.new_page()
    other.goto(stack.admin + "/")
    ready(other, "sign-in")

    sign_in(page, stack, "admin")
    ready(page, "dashboard")
    other.reload()
    ready(other, "dashboard")
    expect(other.get_by_test_id("signed-in-as")).to_be_visible()

    # Ctrl+click on an order opens it, signed in, in a new tab
    page.goto(f"{stack.admin}/#/orders")
    ready(page, "orders")
    link = page.get_by_test_id("order-link").first
    order_id = link.text_content()
    with context.expect_page() as opened:
        link.click(modifiers=["Control"])
    tab = opened.value
    ready(tab, "order")
    expect(tab.get_by_role("heading", level=1)).to_contain_text(order_id or "")

    # signing out in one tab signs out the others, without a reload
    page.get_by_role("button", name="Sign out").click()
    ready(page, "sign-in")
    ready(other, "sign-in")
    ready(tab, "sign-in")
    assert other.evaluate("() => localStorage.getItem('waybill.session')") is None


def test_a_stale_exception_action_says_who_changed_it_and_the_list_shows_the_change(page: Page, stack: Stack):
    sign_in(page, stack, "admin")
    ready(page, "dashboard")
    page.goto(f"{stack.admin}/#/exceptions")
    ready(page, "exceptions")
    row = page.get_by_test_id("exception-row").filter(has=page.get_by_role("button", name="Acknowledge")).first
    exc_id = row.get_attribute("data-id")
    assert exc_id
    # someone else acknowledges it first, through the API
    other = stack.headers("dora", "admin", email="dora@waybill.example", name="Dora Other")
    current = requests.get(f"{stack.api}/staff/exceptions/{exc_id}", headers=other, timeout=10).json()
    r = requests.post(
        f"{stack.api}/staff/exceptions/{exc_id}/acknowledge",
        headers=other,
        json={"expected_version": current["version"]},
        timeout=10,
    )
    assert r.status_code == 200, r.text

    row = page.locator(f"[data-testid='exception-row'][data-id='{exc_id}']")
    row.get_by_role("button", name="Acknowledge").click()
    # the queue says who changed it and reads the list again by itself: no Reload to press
    alert = page.locator(".feedback").get_by_role("alert")
    expect(alert).to_contain_text("Changed by Dora Other at")
    expect(alert).to_contain_text("It is shown below as it is now.")
    expect(alert.get_by_role("button", name="Reload")).to_have_count(0)
    row = page.locator(f"[data-testid='exception-row'][data-id='{exc_id}']")
    expect(row.get_by_test_id("status-badge")).to_have_attribute("data-status", "acknowledged")
    expect(row.get_by_role("button", name="Acknowledge")).to_have_count(0)
    check_accessibility(page, "exceptions, with a 409")
    # focus came back to the row the action was taken from, not to the page's body
    assert page.evaluate(f"() => Boolean(document.activeElement.closest(\"[data-id='{exc_id}']\"))")


def test_a_422_marks_the_field_it_names_with_its_message(page: Page, stack: Stack):
    sign_in(page, stack, "admin")
    ready(page, "dashboard")
    page.goto(f"{stack.admin}/#/webhooks")
    ready(page, "webhooks")
    page.get_by_text("New subscription").click()
    form = page.get_by_role("form", name="New subscription")
    form.get_by_role("button", name="Create subscription").click()
    url = form.get_by_label("URL", exact=True)
    expect(url).to_have_attribute("aria-invalid", "true")
    expect(form.locator("[aria-invalid='true']").first).to_be_focused()
    message = form.get_by_test_id("field-error").first
    expect(message).to_be_visible()
    described = url.get_attribute("aria-describedby") or ""
    assert message.get_attribute("id") in described.split()
    check_accessibility(page, "webhooks, with a 422")
    # a valid answer clears the marks
    url.fill("https://example.com/hooks-all-day")
    form.get_by_role("checkbox").first.check()
    form.get_by_role("button", name="Create subscription").click()
    expect(page.get_by_test_id("webhook-secret")).to_be_visible()
    expect(form.locator("[aria-invalid='true']")).to_have_count(0)


def _one_pending_proposal(route: Route) -> None:
    proposal: dict[str, Any] = {
        "id": LONG_ID,
        "po_id": "po_" + "9" * 40,
        "campaign_id": "cmp_" + "8" * 40,
        "supplier_id": "acme",
        "amount_cents": 181800,
        "currency": "EUR",
        "created_at": "2026-01-05T10:00:00+00:00",
        "status": "pending",
        "note": "Invoice for the whole purchase order, as agreed",
    }
    route.fulfill(status=200, content_type="application/json", body=json.dumps({"items": [proposal], "next_cursor": None}))


def _the_po_behind_it(route: Route) -> None:
    """The purchase order of the routed proposal: invoiced €1,500 of €1,600 accepted, €0 paid."""
    po: dict[str, Any] = {
        "id": "po_" + "9" * 40,
        "currency": "EUR",
        "accepted_cents": 160000,
        "invoiced_cents": 150000,
        "paid_cents": 0,
        "charge_back_cents": 0,
        "invoices": [
            {
                "id": "inv-1",
                "number": "INV-ACME-7",
                "amount_cents": 150000,
                "currency": "EUR",
                "file_key": "k",
                "created_at": "2026-01-04T10:00:00+00:00",
                "download_url": "https://files.example/inv-1.pdf",
            }
        ],
    }
    route.fulfill(status=200, content_type="application/json", body=json.dumps(po))


def test_approving_a_payment_shows_its_invoice_and_amounts_and_asks_before_money_moves(page: Page, stack: Stack):
    page.route(PROPOSALS, _one_pending_proposal)
    page.route(re.compile(r"/staff/purchase-orders/po_9+$"), _the_po_behind_it)
    decisions: list[str] = []

    def refuse(route: Route) -> None:  # count what would have been sent; the bank is never reached
        decisions.append(route.request.url)
        route.abort()

    page.route(f"**/staff/payment-proposals/{LONG_ID}/approve", refuse)
    sign_in(page, stack, "accounting")
    ready(page, "dashboard")
    page.goto(f"{stack.admin}/#/payments")
    ready(page, "payments")
    row = page.locator(f"[data-testid='proposal-row'][data-id='{LONG_ID}']")
    # the row shows what the decision rests on: the invoice, accepted vs invoiced, and what is off
    context = row.get_by_test_id("proposal-context")
    expect(context.get_by_test_id("invoice-link")).to_have_attribute("href", "https://files.example/inv-1.pdf")
    expect(context.get_by_test_id("accepted-amount")).to_contain_text("1,600.00")
    expect(context.get_by_test_id("invoiced-amount")).to_contain_text("1,500.00")
    expect(context.get_by_test_id("context-warning")).to_contain_text("318.00 more than is invoiced and unpaid")

    # Approve asks first, naming the amount and the supplier; Cancel sends nothing
    row.get_by_role("button", name="Approve").press("Enter")
    ask = row.get_by_role("group", name="Confirm the payment")
    expect(ask).to_contain_text("1,818.00")
    expect(ask).to_contain_text("acme")
    expect(ask.get_by_role("button", name=re.compile(r"^Pay .*1,818\.00"))).to_be_focused()
    check_accessibility(page, "payments, confirming a payment")
    ask.get_by_role("button", name="Cancel").click()
    expect(ask).to_be_hidden()
    expect(row.get_by_role("button", name="Approve")).to_be_focused()
    assert decisions == []
    # the second, explicit press is what sends it
    row.get_by_role("button", name="Approve").click()
    ask.get_by_role("button", name=re.compile(r"^Pay ")).click()
    expect(row.get_by_role("alert")).to_be_visible()  # the routed request was refused: said, not swallowed
    assert len(decisions) == 1


def test_at_1280x800_a_long_proposal_id_wraps_and_the_decision_buttons_stay_in_view(page: Page, stack: Stack):
    page.set_viewport_size({"width": 1280, "height": 800})
    # the list answered with a proposal of the shape that clipped the buttons (a 54-character id)
    page.route(PROPOSALS, _one_pending_proposal)
    sign_in(page, stack, "accounting")
    ready(page, "dashboard")
    page.goto(f"{stack.admin}/#/payments")
    ready(page, "payments")
    row = page.locator(f"[data-testid='proposal-row'][data-id='{LONG_ID}']")
    for name in ("Approve", "Reject"):
        box = row.get_by_role("button", name=name).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 1280, (name, box)
    fits(page, "payments at 1280px")
    check_accessibility(page, "payments at 1280px")


def test_on_a_390px_phone_lists_are_cards_with_their_actions_in_view(page: Page, stack: Stack):
    page.set_viewport_size({"width": 390, "height": 844})
    page.route(PROPOSALS, _one_pending_proposal)
    sign_in(page, stack, "accounting")  # the role that decides payments
    ready(page, "dashboard")
    for screen, row_id in (("orders", "order-row"), ("exceptions", "exception-row"), ("payments", "proposal-row")):
        page.goto(f"{stack.admin}/#/{screen}")
        ready(page, screen)
        fits(page, f"{screen} at 390px")
        first = page.get_by_test_id(row_id).first
        expect(first).to_be_visible()
        box = first.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, (screen, box)
        # each cell says which column it is
        assert first.locator("[data-label]").count() >= 3, screen
        check_accessibility(page, f"{screen} at 390px")
    approve = page.get_by_test_id("proposal-row").first.get_by_role("button", name="Approve")
    box = approve.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390


def test_focus_stays_on_the_payment_row_after_a_decision(page: Page, stack: Stack):
    page.route(PROPOSALS, _one_pending_proposal)
    decided = {"id": LONG_ID, "status": "rejected", "po_id": "po_" + "9" * 40, "supplier_id": "acme"}
    decided.update(amount_cents=181800, currency="EUR", campaign_id="cmp_1")
    page.route(
        f"**/staff/payment-proposals/{LONG_ID}/reject",
        lambda route: route.fulfill(status=200, content_type="application/json", body=json.dumps(decided)),
    )
    sign_in(page, stack, "accounting")
    ready(page, "dashboard")
    page.goto(f"{stack.admin}/#/payments")
    ready(page, "payments")
    row = page.locator(f"[data-testid='proposal-row'][data-id='{LONG_ID}']")
    row.get_by_role("button", name="Reject").click()
    row.get_by_label("Reason").fill("The invoice is for another PO")
    row.get_by_role("button", name="Reject proposal").press("Enter")
    expect(row).to_have_attribute("data-status", "rejected")
    expect(row).to_be_focused()


def test_a_campaigns_cost_and_margin_say_they_are_provisional_while_a_po_is_unacknowledged(page: Page, stack: Stack):
    admin = stack.headers("alex", "admin", email="alex@waybill.example")
    campaigns = requests.get(f"{stack.api}/staff/campaigns", params={"status": "closed"}, headers=admin, timeout=10).json()
    campaign_id = campaigns["items"][0]["id"]

    def unacknowledged(route: Route) -> None:  # the real figures, as they read before the last acknowledgement
        answer = route.fetch().json()
        answer["summary"].update(margin_provisional=True, purchase_orders=1, purchase_orders_created=3)
        route.fulfill(status=200, content_type="application/json", body=json.dumps(answer))

    sign_in(page, stack, "admin")
    ready(page, "dashboard")
    page.route(f"**/staff/metrics/campaigns/{campaign_id}", unacknowledged)
    page.goto(f"{stack.admin}/#/campaigns/{campaign_id}")
    ready(page, "campaign")
    summary = page.get_by_test_id("campaign-summary")
    expect(summary.get_by_test_id("provisional-badge")).to_have_count(3)  # cost, margin, margin per order
    expect(page.get_by_test_id("margin-provisional")).to_contain_text("1 of 3 purchase orders acknowledged")
    check_accessibility(page, "campaign, provisional margin")

    page.unroute(f"**/staff/metrics/campaigns/{campaign_id}")
    page.reload()
    ready(page, "campaign")
    final = requests.get(f"{stack.api}/staff/metrics/campaigns/{campaign_id}", headers=admin, timeout=10).json()["summary"]
    badges = page.get_by_test_id("campaign-summary").get_by_test_id("provisional-badge")
    expect(badges).to_have_count(3 if final["margin_provisional"] else 0)
