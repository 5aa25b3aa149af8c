"""Money by hand on the admin page's order screen, in headless Chromium against the local stack:
accounting records an offline order's transfer, customer care refunds part of it. The order is made
through the API just before (a campaign of its own: the seeded one is closed by the walks), so
nothing waits on the queues."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import requests
from playwright.sync_api import Page, expect

from tests.browser.conftest import ready, sign_in
from tests.browser.test_admin_page import UNLABELLED
from tests.local_stack import Stack

PRICE_CENTS = 1200


def _call(stack: Stack, path: str, who: dict[str, str], body: dict) -> dict:
    r = requests.post(stack.api + path, headers=who, json=body, timeout=30)
    assert 200 <= r.status_code < 300, f"POST {path}: {r.text}"
    return r.json()


def _offline_order(stack: Stack) -> str:
    run = uuid.uuid4().hex[:6]
    buyer = stack.headers("bea", "buyer", email="bea@waybill.example")
    campaign = _call(
        stack,
        "/staff/campaigns",
        buyer,
        {
            "name": f"Order money page {run}",
            "products": [
                {
                    "sku": "OM1",
                    "name": "Order money mug",
                    "supplier_id": "acme",
                    "unit_price_cents": PRICE_CENTS,
                    "unit_cost_cents": PRICE_CENTS // 2,
                }
            ],
        },
    )
    _call(
        stack,
        f"/staff/campaigns/{campaign['id']}/go-live",
        buyer,
        {"ends_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()},
    )
    sub = f"om{run}"
    customer = stack.headers(sub, "customer", email=f"{sub}@example.com")
    order = _call(
        stack,
        "/orders",
        customer,
        {
            "campaign_id": campaign["id"],
            "payment_mode": "offline",
            "lines": [{"sku": "OM1", "quantity": 1}],
            "shipping_address": {
                "name": "Olive Money",
                "lines": ["1 rue de la Paix"],
                "city": "Lyon",
                "postal_code": "69002",
                "country": "FR",
            },
        },
    )
    return order["id"]


def test_accounting_records_an_offline_payment_and_customer_care_refunds_it_with_its_transfer_reference(page: Page, stack: Stack):
    order_id = _offline_order(stack)

    sign_in(page, stack, "accounting")
    ready(page, "dashboard")
    page.goto(f"{stack.admin}/#/orders/{order_id}")
    ready(page, "order")
    expect(page.get_by_test_id("order-status")).not_to_have_attribute("data-status", "placed")
    expect(page.get_by_test_id("money-paid")).to_have_text(re.compile(r"0[.,]00"))
    assert page.evaluate(UNLABELLED) == []  # accounting sees both money forms
    page.get_by_test_id("record-payment").locator("summary").click()
    form = page.get_by_role("form", name="Record a payment")
    form.get_by_label("Kind").select_option("offline_received")
    form.get_by_label("Amount (EUR)").fill("12.00")
    form.get_by_label("Transfer or receipt reference (optional)").fill("BANK-OM-1")
    form.get_by_role("button", name="Record payment").click()
    expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "placed")
    expect(page.get_by_test_id("money-paid")).to_have_text(re.compile(r"12[.,]00"))
    expect(page.get_by_test_id("money-balance")).to_have_text(re.compile(r"0[.,]00"))
    expect(page.locator("[data-testid='payment-row'][data-kind='offline_received']")).to_have_count(1)

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, stack, "customer_care")
    ready(page, "dashboard")
    page.goto(f"{stack.admin}/#/orders/{order_id}")
    ready(page, "order")
    expect(page.get_by_test_id("record-payment")).to_have_count(0)  # not customer care's to record
    page.get_by_test_id("refund").locator("summary").click()
    form = page.get_by_role("form", name="Refund")
    form.get_by_label("Refund amount (EUR)").fill("1.00")
    form.get_by_label("Why").fill("goodwill: the mug arrived late")
    form.get_by_role("button", name="Refund").click()
    error = form.get_by_role("alert")
    expect(error).to_have_attribute("data-code", "reference_required")
    expect(error).to_contain_text("body.reference")
    expect(page.locator("[data-testid='payment-row'][data-kind='refund']")).to_have_count(0)

    form.get_by_label("Refund transfer reference").fill("BANK-OM-BACK-1")
    form.get_by_role("button", name="Refund").click()
    refund = page.locator("[data-testid='payment-row'][data-kind='refund']")
    expect(refund).to_have_count(1)
    expect(refund).to_contain_text(re.compile(r"1[.,]00"))
    expect(form.get_by_role("alert")).to_have_count(0)
    # below the approval threshold it goes straight on (done, as its transfer is made, or on its way)
    expect(refund).to_have_attribute("data-status", re.compile(r"^(succeeded|pending|awaiting_transfer)$"))
    moved = page.get_by_test_id("money-refunded").or_(page.get_by_test_id("money-refund-pending"))
    expect(moved.filter(has_text=re.compile(r"1[.,]00"))).to_have_count(1)
    expect(page.get_by_test_id("notice")).to_be_focused()
