"""Complaints in the admin page, in headless Chromium against the local stack: an admin approves a
plan whose refund total is above the approval threshold, and the customer sees it offered."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.browser.conftest import WALK_TIMEOUT_S, Walks, _walk, api_get, ready, sign_in
from tests.local_stack import Stack


@pytest.fixture(scope="module")
def for_approval(walks: Walks) -> dict[str, Any]:
    """A complaint in needs_approval on a delivered parcel: the last bolt order shipped by the session's
    walk is delivered through carrier webhooks, its customer complains, and customer care proposes and
    submits a plan above the threshold (`Demo.complaint_for_approval`). The first shipped order is left
    to the order-search test."""
    shipped = walks.shipped.result(timeout=WALK_TIMEOUT_S)
    assert len(shipped) >= 2, "the seed ships at least two bolt orders"
    n = len(shipped)
    found = _walk(lambda: walks.demo.complaint_for_approval(shipped[-1], f"BT{n:010d}"))()
    assert found["status"] == "needs_approval", found
    return found


def test_an_admin_approves_a_plan_above_the_threshold(page: Page, stack: Stack, for_approval: dict[str, Any]):
    order_id, complaint_id = for_approval["order_id"], for_approval["complaint_id"]
    sign_in(page, stack, "admin")
    ready(page, "dashboard")
    page.get_by_role("link", name="Complaints").click()
    ready(page, "complaints")
    page.get_by_label("Status", exact=True).select_option("needs_approval")
    page.get_by_role("button", name="Filter").click()
    ready(page, "complaints")
    row = page.locator(f"[data-testid='complaint-row'][data-id='{complaint_id}']")
    expect(row).to_have_attribute("data-status", "needs_approval")
    expect(row).to_have_attribute("data-order", order_id)
    row.get_by_test_id("complaint-link").click()
    ready(page, "complaint")
    expect(page.get_by_role("heading", level=1)).to_contain_text(complaint_id)

    # The plan's total, and that it waits for an admin because of it
    status = page.get_by_test_id("complaint-status")
    expect(status).to_have_attribute("data-status", "needs_approval")
    total = page.get_by_test_id("plan-total")
    expect(total).to_be_visible()
    expect(total).to_have_attribute("data-cents", str(for_approval["refund_cents"]))
    expect(page.get_by_test_id("plan-approval")).to_have_attribute("data-needs-approval", "true")

    # What the admin decides on sits beside the button: the plan's lines and the customer's photos
    before = api_get(stack, f"/staff/complaints/{complaint_id}", stack.headers("alex", "admin", email="alex@waybill.example"))
    page.set_viewport_size({"width": 1280, "height": 800})
    decision = page.get_by_test_id("plan-decision")
    context = decision.get_by_test_id("decision-context")
    for line in before["plan"]["lines"]:
        expect(context.locator(f"li[data-sku='{line['sku']}']")).to_contain_text(line["sku"])
    expect(context.get_by_test_id("decision-photo")).to_have_count(len(before["photos"]))
    page.get_by_role("button", name="Approve plan").scroll_into_view_if_needed()
    expect(context).to_be_in_viewport()

    page.get_by_role("form", name="Approve plan").get_by_label("Internal note (optional)").fill("Photos are clear.")
    page.get_by_role("button", name="Approve plan").click()
    expect(status).to_have_attribute("data-status", "plan_approved")
    ready(page, "complaint")
    expect(page.get_by_role("button", name="Approve plan")).to_have_count(0)
    trail = page.get_by_test_id("complaint-audit-trail")
    expect(trail.locator("[data-testid='to-status'][data-status='plan_approved']").first).to_be_visible()
    expect(trail.get_by_test_id("internal-note").filter(has_text="Photos are clear.")).to_have_count(1)

    # The API says the same, to staff and to the customer, whose plan is now on offer
    staff = api_get(stack, f"/staff/complaints/{complaint_id}", stack.headers("alex", "admin", email="alex@waybill.example"))
    assert staff["status"] == "plan_approved" and staff["plan"]["approved_at"]
    customer = stack.headers(staff["customer_id"], "customer", email=staff["customer_email"])
    view = api_get(stack, f"/orders/{order_id}/complaints/{complaint_id}", customer)
    assert view["status"] == "plan_approved"

    # The customer accepts: the complaints consumer refunds through the (sandbox) gateway, and the
    # supplier's share shows against its PO on the campaign's page and the complaint on the PO's page.
    r = requests.post(
        f"{stack.api}/orders/{order_id}/complaints/{complaint_id}/accept",
        headers=customer,
        json={"expected_version": view["version"]},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 90
    while (done := api_get(stack, f"/orders/{order_id}/complaints/{complaint_id}", customer))["status"] != "resolved":
        assert time.monotonic() < deadline, done
        time.sleep(1)
    assert [(x["amount_cents"], x["status"]) for x in done["refunds"]] == [(for_approval["refund_cents"], "succeeded")]
    page.goto(f"{stack.admin}/#/campaigns/{staff['campaign_id']}")
    ready(page, "campaign")
    row = page.locator(f"[data-testid='charge-back-row'][data-supplier='{staff['supplier_id']}']")
    expect(row).to_have_attribute("data-cents", str(for_approval["refund_cents"]))
    page.goto(f"{stack.admin}/#/orders/{order_id}")
    ready(page, "order")
    on_order = page.locator(f"[data-testid='order-complaint-row'][data-id='{complaint_id}']")
    expect(on_order).to_have_attribute("data-status", "resolved")
    page.goto(f"{stack.admin}/#/purchase-orders/{staff['po_id']}")
    ready(page, "purchase-order")
    complaint_row = page.locator(f"[data-testid='po-complaint-row'][data-id='{complaint_id}']")
    expect(complaint_row).to_have_attribute("data-status", "resolved")
    expect(page.get_by_test_id("po-charge-back")).to_have_attribute("data-cents", str(for_approval["refund_cents"]))
