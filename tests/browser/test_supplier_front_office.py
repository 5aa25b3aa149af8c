"""The supplier front office (`supplier/`) in headless Chromium against the local stack: a supplier
walks a purchase order from acknowledgement to its last parcel through the page alone, on a phone
(390 px) and on a desktop (1280 px); axe-core finds no serious or critical violation on any screen
of the front office, nor of the admin page.

The dev sign-in offers one supplier user (acme), whose PO the session's background walk moves on by
the API; the walk here takes cobalt's PO, signed in with a cobalt token from the same dev issuer."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.browser.a11y import check_accessibility
from tests.browser.conftest import USERS, Walks, ready, sign_in
from tests.local_stack import Stack

ROOT = Path(__file__).resolve().parents[2]
SUPPLIER = "cobalt"
COBALT = {"sub": "sam-cobalt", "email": "sales@cobalt.example", "name": "Sam Cobalt"}
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
STAGE_TIMEOUT_MS = 120_000  # the workflow opens each step in a few seconds; the bank settles by webhook
ADMIN_SCREENS = ("dashboard", "exceptions", "orders", "campaigns", "complaints", "payments", "exports", "webhooks", "settings")
INVOICE_PDF = b"%PDF-1.4 cobalt invoice\n%%EOF\n"


@pytest.fixture(scope="module")
def site(stack: Stack) -> str:
    """The site's base URL: the stack serves the front office at /supplier/ beside the admin page, whose
    modules it imports from /admin/."""
    for path in ("/supplier/", "/admin/js/dom.js"):
        assert requests.get(stack.admin + path, timeout=10).status_code == 200, path
    return stack.admin


def with_token(page: Page, site: str, token: str, hash_: str) -> None:
    """Open the front office with a dev-issuer token kept where the dev sign-in keeps it."""
    page.goto(site + "/supplier/")
    ready(page, "sign-in")
    page.evaluate("(token) => sessionStorage.setItem('waybill.session', JSON.stringify({token, mode: 'dev'}))", token)
    page.goto(site + "/supplier/" + hash_)


def as_cobalt(page: Page, stack: Stack, site: str, hash_: str = "#/campaigns") -> None:
    """Signed in as cobalt's user (the sign-in form itself is checked with acme's user below)."""
    assert stack.issuer is not None
    token = stack.issuer.token(COBALT["sub"], ["supplier"], supplier_id=SUPPLIER, email=COBALT["email"], name=COBALT["name"])
    with_token(page, site, token, hash_)


def fits(page: Page, where: str) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{where}: the page scrolls sideways by {overflow}px"


def at_stage(page: Page, stage: str) -> None:
    """The PO screen polls while the workflow has the move; it re-renders at the next step."""
    expect(page.get_by_test_id("po-step")).to_have_attribute("data-stage", stage, timeout=STAGE_TIMEOUT_MS)
    ready(page, "purchase-order")


def screen_ok(page: Page, where: str) -> None:
    fits(page, where)
    check_accessibility(page, where)


@pytest.fixture(scope="module")
def walked(stack: Stack, site: str, walks: Walks, browser: Any) -> dict[str, Any]:
    """Cobalt's PO walked at 390 px through the page, from acknowledgement to its last parcel."""
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        return _walk_po(page, stack, site, walks)
    except Exception:
        page.screenshot(path=str(ROOT / ".test-results" / "supplier-walk-failure.png"), full_page=True)
        raise
    finally:
        context.close()


def _walk_po(page: Page, stack: Stack, site: str, walks: Walks) -> dict[str, Any]:
    campaign_id = walks.demo.campaign_id
    as_cobalt(page, stack, site)
    ready(page, "campaigns")
    screen_ok(page, "campaigns")
    card = page.locator(f"[data-testid='campaign-card'][data-campaign='{campaign_id}']")
    expect(card).to_have_count(1)
    expect(card.get_by_test_id("campaign-status")).to_have_attribute("data-status", "closed")
    po_id = card.get_attribute("data-po")
    assert po_id

    # The campaign: its PO, sales so far per product (from the campaign's counters), files.
    card.get_by_test_id("campaign-link").click()
    ready(page, "campaign")
    expect(page.get_by_test_id("sales")).to_have_count(1)
    expect(page.get_by_test_id("sales-unavailable")).to_have_count(0)
    screen_ok(page, "campaign")
    page.get_by_test_id("campaign-pos").get_by_test_id("po-link").click()
    ready(page, "purchase-order")
    expect(page.get_by_role("heading", level=1)).to_contain_text(po_id)

    # 1. Acknowledge: everything but one unit of the last line, out of stock.
    at_stage(page, "acknowledge")
    screen_ok(page, "PO: acknowledge")
    lines = page.get_by_test_id("ack-line")
    last = lines.nth(lines.count() - 1)
    sku = last.get_attribute("data-sku")
    quantity = last.get_by_label("Accepted quantity")
    ordered = int(quantity.input_value())
    quantity.fill(str(ordered - 1))
    page.get_by_role("button", name="Acknowledge").click()
    # the API's refusal is shown as it states it: a short line needs its reason
    expect(page.get_by_role("form", name="Acknowledge the lines").get_by_role("alert")).to_be_visible()
    last.get_by_label("Reason for the rest").select_option("out_of_stock")
    page.get_by_role("button", name="Acknowledge").click()

    # 2. The invoice: its file to the presigned POST, then the invoice itself.
    at_stage(page, "invoice")
    screen_ok(page, "PO: invoice")
    line = page.locator(f"[data-testid='po-line'][data-sku='{sku}']")
    expect(line.get_by_test_id("accepted")).to_have_text(str(ordered - 1))
    expect(line).to_contain_text("Out of stock")
    form = page.get_by_role("form", name="Submit an invoice")
    invoice = {"name": "invoice.pdf", "mimeType": "application/pdf", "buffer": INVOICE_PDF}
    form.get_by_label("Invoice file").set_input_files(invoice)
    form.get_by_label("Invoice number").fill("INV-COBALT-1")
    form.get_by_role("button", name="Submit invoice").click()

    # 3. The payment proposal, up to what was invoiced (the form offers exactly that).
    at_stage(page, "payment_proposal")
    expect(page.get_by_test_id("invoice-card")).to_contain_text("INV-COBALT-1")
    screen_ok(page, "PO: payment proposal")
    page.get_by_role("button", name="Propose payment").click()
    at_stage(page, "payment_approval")
    expect(page.get_by_test_id("proposal-card")).to_have_attribute("data-status", "pending")

    # Accounting approves (the staff console's part, not the supplier's): by the API.
    _, _, accounting = walks.demo.actors(SUPPLIER)
    proposal = walks.demo.call("GET", f"/staff/purchase-orders/{po_id}", accounting)["proposals"][0]
    walks.demo.call("POST", f"/staff/payment-proposals/{proposal['id']}/approve", accounting, {"note": "matches"})

    # 4. Shipment: the packing list with addresses, its CSV, and one parcel per order.
    at_stage(page, "shipment")
    screen_ok(page, "PO: shipment")
    entries = page.get_by_test_id("packing-entry")
    expect(entries.first.get_by_test_id("ship-to")).to_be_visible()
    references = [entries.nth(i).locator("h3 code").inner_text() for i in range(entries.count())]
    page.get_by_test_id("packing-csv").click()
    csv_link = page.get_by_test_id("packing-csv-link")
    expect(csv_link).to_be_visible()
    csv_text = requests.get(csv_link.get_attribute("href") or "", timeout=10).text
    assert all(ref in csv_text for ref in references), csv_text[:500]

    # A CSV whose row is wrong: the per-row report, nothing recorded.
    page.get_by_text("Import parcels from a CSV").click()
    importer = page.get_by_role("form", name="Import parcels from a CSV")
    importer.get_by_label("Or paste the rows").fill("order_id,carrier,tracking_number\nno-such-order,pigeon,?\n")
    importer.get_by_role("button", name="Import parcels").click()
    expect(importer.get_by_test_id("import-row-error").first).to_have_attribute("data-row", re.compile(r"^\d+$"))
    screen_ok(page, "PO: CSV import refused")
    expect(page.get_by_test_id("shipment-card")).to_have_count(0)

    shipped: list[tuple[str, str]] = []
    while page.get_by_role("form", name="Record a parcel").count():
        form = page.get_by_role("form", name="Record a parcel")
        box = form.get_by_role("checkbox").first
        order_id = box.get_attribute("data-order") or ""
        box.check()
        form_carrier = form.get_by_label("Carrier").input_value()
        tracking = f"CB{len(shipped) + 1:010d}"
        form.get_by_label("Tracking number").fill(tracking)
        form.get_by_role("button", name="Record parcel").click()
        expect(page.get_by_role("status").filter(has_text=f"Parcel {tracking} recorded")).to_be_visible()
        ready(page, "purchase-order")
        shipped.append((order_id, tracking))
        if len(shipped) == 1:  # the first parcel's number was mistyped: correct it
            card = page.locator(f"[data-testid='shipment-card'][data-tracking='{tracking}']")
            card.get_by_text("Correct the tracking number").click()
            card.get_by_label("Tracking number").fill("CB9000000001")
            card.get_by_role("button", name="Save correction").click()
            expect(page.locator("[data-testid='shipment-card'][data-tracking='CB9000000001']")).to_have_count(1)
            shipped[0] = (order_id, "CB9000000001")
            screen_ok(page, "PO: a parcel recorded")
            shipped += _import_the_rest(page, walks, po_id, carrier=form_carrier)
        assert len(shipped) <= 60, "the parcel form never went away"
    assert shipped, "cobalt's PO had no orders to pack"
    # the PO's detail carries the first page of its parcels; "More parcels" reads the next ones
    cards = page.get_by_test_id("shipment-card")
    for _ in range(10):
        more = page.get_by_test_id("more-parcels")
        if not more.count():
            break
        button = more.element_handle()
        button.click()
        button.wait_for_element_state("hidden")  # the list is drawn again: more cards, and the button if more follow
    expect(cards).to_have_count(len(shipped))
    expect(page.get_by_test_id("po-status")).to_have_attribute("data-status", "shipped", timeout=STAGE_TIMEOUT_MS)
    screen_ok(page, "PO: shipped")

    who = stack.headers(COBALT["sub"], "supplier", supplier_id=SUPPLIER)
    po = requests.get(f"{stack.api}/supplier/purchase-orders/{po_id}", headers=who, timeout=10).json()
    assert po["status"] == "shipped"
    parcels, cursor = list(po["shipments"]), po.get("shipments_cursor")
    while cursor:  # the detail's first page, then GET .../shipments?cursor= for the rest
        more = requests.get(
            f"{stack.api}/supplier/purchase-orders/{po_id}/shipments", params={"cursor": cursor}, headers=who, timeout=10
        ).json()
        parcels, cursor = parcels + more["items"], more.get("next_cursor")
    assert sorted(s["tracking_number"] for s in parcels) == sorted(t for _, t in shipped)
    # each order's delivery leaves once the shipments consumer has dispatched its parcel (asynchronously)
    deadline = time.monotonic() + 60
    while not all(e["has_left"] for e in walks.demo.packing_list(po_id, who)):
        assert time.monotonic() < deadline, "an order of the shipped PO never left on the packing list"
        time.sleep(1)
    return {"po_id": po_id, "campaign_id": campaign_id, "shipped": shipped}


def _import_the_rest(page: Page, walks: Walks, po_id: str, *, carrier: str) -> list[tuple[str, str]]:
    """Up to four of the orders still to pack, as one CSV pasted into the import form: one parcel per row."""
    who = walks.demo.who(COBALT["sub"], "supplier", supplier_id=SUPPLIER)
    rest = [e for e in walks.demo.packing_list(po_id, who) if not e["has_left"]]
    if not rest:
        return []
    # a few rows: the import records each parcel as the form does (the rest are recorded one by one)
    rows = [(e["order_id"], f"CS{n:010d}") for n, e in enumerate(rest[:4], 1)]
    page.get_by_text("Import parcels from a CSV").click()
    importer = page.get_by_role("form", name="Import parcels from a CSV")
    importer.get_by_label("Or paste the rows").fill(
        "order_id,carrier,tracking_number\n" + "".join(f"{o},{carrier},{t}\n" for o, t in rows)
    )
    importer.get_by_role("button", name="Import parcels").click()
    suffix = "" if len(rows) == 1 else "s"
    recorded = page.get_by_role("status").filter(has_text=f"{len(rows)} parcel{suffix} recorded from the CSV")
    expect(recorded).to_be_visible(timeout=STAGE_TIMEOUT_MS)
    ready(page, "purchase-order")
    screen_ok(page, "PO: CSV imported")
    return rows


def test_a_supplier_walks_a_purchase_order_to_its_last_parcel_on_a_phone(walked: dict[str, Any]):
    assert walked["shipped"]


def test_the_dev_sign_in_opens_the_front_office_for_a_supplier_user_only(page: Page, stack: Stack, site: str):
    page.set_viewport_size(PHONE)
    page.goto(site + "/supplier/")
    ready(page, "sign-in")
    screen_ok(page, "sign-in")
    # only supplier users are offered, with the supplier role
    offered = page.get_by_label("User").locator("option").evaluate_all("(os) => os.map((o) => o.value)")
    assert offered == [USERS["supplier"]]
    page.get_by_role("button", name="Sign in").click()
    ready(page, "campaigns")
    expect(page.get_by_test_id("signed-in-as")).to_contain_text("acme")
    expect(page.get_by_test_id("campaign-card").first).to_be_visible()
    # a staff token is refused by the front office
    page.get_by_role("button", name="Sign out").click()
    ready(page, "sign-in")
    assert stack.issuer is not None
    with_token(page, site, stack.issuer.token("bea", ["buyer"], email="bea@waybill.example"), "#/campaigns")
    ready(page, "refused")
    expect(page.get_by_test_id("refusal")).to_contain_text("not a supplier")
    screen_ok(page, "refused")


def test_every_front_office_screen_works_at_desktop_width_and_passes_axe(
    page: Page, stack: Stack, site: str, walks: Walks, walked: dict[str, Any]
):
    complaint_id = _complaint_asking_cobalt(walks, walked)
    page.set_viewport_size(DESKTOP)
    as_cobalt(page, stack, site)
    ready(page, "campaigns")
    screen_ok(page, "campaigns (desktop)")
    page.goto(f"{site}/supplier/#/purchase-orders/{walked['po_id']}")
    ready(page, "purchase-order")
    expect(page.get_by_test_id("po-status")).to_have_attribute("data-status", "shipped")
    screen_ok(page, "purchase order (desktop)")

    # Product files: upload one, and it is listed with a working download link.
    page.goto(f"{site}/supplier/#/files")
    ready(page, "files")
    screen_ok(page, "files")
    panel = page.get_by_role("form", name=f"Upload a product file for {walked['campaign_id']}")
    spec = {"name": "jacket spec.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 spec"}
    panel.get_by_label("File").set_input_files(spec)
    panel.get_by_role("button", name="Upload file").click()
    link = page.get_by_test_id("file-download").filter(has_text="jacket-spec.pdf")
    expect(link).to_have_count(1)
    assert requests.get(link.get_attribute("href") or "", timeout=10).content.startswith(b"%PDF")

    # The complaint customer care asked about: answer it.
    page.goto(f"{site}/supplier/#/purchase-orders/{walked['po_id']}")
    ready(page, "purchase-order")
    page.locator(f"[data-testid='complaint-card'][data-id='{complaint_id}']").get_by_role("link").click()
    ready(page, "complaint")
    expect(page.get_by_test_id("supplier-question")).to_contain_text("packed")
    screen_ok(page, "complaint")
    page.get_by_label("Your answer").fill("Packed in a double box; the carrier crushed it.")
    page.get_by_role("button", name="Send answer").click()
    expect(page.get_by_test_id("complaint-status")).to_have_attribute("data-status", "supplier_answered")
    expect(page.get_by_test_id("supplier-answer")).to_contain_text("double box")
    screen_ok(page, "complaint answered")

    page.goto(f"{site}/supplier/#/nowhere")
    ready(page, "not-found")
    screen_ok(page, "not found")


def _complaint_asking_cobalt(walks: Walks, walked: dict[str, Any]) -> str:
    """The last parcel arrives (carrier webhooks), its customer complains, customer care asks cobalt."""
    demo = walks.demo
    order_id, tracking = walked["shipped"][-1]
    buyer, _, _ = demo.actors(SUPPLIER)
    order = demo.call("GET", f"/staff/orders/{order_id}", buyer)
    demo.follow_parcel(order, tracking)
    customer = demo.who(order["customer_id"], "customer", email=order.get("customer_email"))
    deadline = time.monotonic() + 120
    view = demo.call("GET", f"/orders/{order_id}", customer)
    while not any(d["supplier_id"] == SUPPLIER and d["status"] == "delivered" for d in view["deliveries"]):
        assert time.monotonic() < deadline, f"the {SUPPLIER} delivery of {order_id} never showed delivered"
        time.sleep(1)
        view = demo.call("GET", f"/orders/{order_id}", customer)
    lines = [line for line in view["lines"] if line["supplier_id"] == SUPPLIER]
    complaint = demo.call(
        "POST",
        f"/orders/{order_id}/complaints",
        customer,
        {
            "supplier_id": SUPPLIER,
            "reason": "damaged",
            "wanted_resolution": "refund",
            "lines": [{"sku": lines[0]["sku"], "quantity": 1}],
            "description": "The box arrived crushed.",
        },
    )
    care = demo.who("carl", "customer_care", email="carl@waybill.example", name="Carl Care")
    demo.call(
        "POST",
        f"/staff/complaints/{complaint['id']}/ask-supplier",
        care,
        {"question": "How was this parcel packed?", "expected_version": complaint["version"]},
    )
    return str(complaint["id"])


def test_the_admin_page_passes_axe_on_every_screen(page: Page, stack: Stack):
    page.set_viewport_size(DESKTOP)
    page.goto(stack.admin + "/")
    ready(page, "sign-in")
    check_accessibility(page, "admin sign-in")
    sign_in(page, stack, "admin")
    ready(page, "dashboard")
    for screen in ADMIN_SCREENS:
        page.goto(f"{stack.admin}/#/{screen}")
        ready(page, screen)
        check_accessibility(page, f"admin {screen}")
