"""Customer care acting from the exceptions queue in headless Chromium against the local stack: each row
says why, about what, how old and when due; several rows acknowledged (1280 px) or snoozed (390 px) at
once with the counts read again and focus kept on the bulk bar; an exception's history; the resolved
list; the queue filtered by team, reading itself again every 30 s (a fake clock) without redrawing
when nothing changed and keeping the selection and focus when something did. The seed's queue is the
material: the wide test acknowledges two open rows, the phone test snoozes those two and resolves one,
so the two run in this order; the team test assigns a row and puts it back unassigned."""

from __future__ import annotations

import re

import requests
from playwright.sync_api import Page, expect

from tests.browser.a11y import check_accessibility
from tests.browser.conftest import api_get, ready, sign_in
from tests.local_stack import Stack

CARE = ("carl", "customer_care")


def total(page: Page) -> int:
    text = page.get_by_test_id("exceptions-summary").inner_text()
    found = re.match(r"(\d+) exceptions? match", text)
    assert found, text
    return int(found.group(1))


def row_ids(page: Page) -> list[str]:
    rows = page.get_by_test_id("exception-row")
    return [rows.nth(i).get_attribute("data-id") or "" for i in range(rows.count())]


def select_two_and(page: Page, button: str, done: str) -> list[str]:
    """Tick the first two rows, press the bulk bar's button, and wait for its answer; the two ids."""
    before = total(page)
    assert before >= 2, f"the seed's queue has at least two rows here, not {before}"
    chosen = row_ids(page)[:2]
    for exc_id in chosen:
        page.locator(f"[data-testid='exception-row'][data-id='{exc_id}']").get_by_test_id("select-row").check()
    expect(page.get_by_test_id("bulk-count")).to_have_text("2 selected")
    page.get_by_role("button", name=button).click()
    expect(page.get_by_test_id("bulk-result")).to_contain_text(f"{done} 2 of 2")
    # the list and its count are read again: the two left this filtered view
    expect(page.get_by_test_id("exceptions-summary")).to_contain_text(f"{before - 2} exception")
    for exc_id in chosen:
        expect(page.locator(f"[data-testid='exception-row'][data-id='{exc_id}']")).to_have_count(0)
    focused = page.evaluate("document.activeElement && document.activeElement.textContent")
    assert focused == button, f"focus stays on the bulk bar's button, not {focused!r}"
    return chosen


def test_care_bulk_acknowledges_two_rows_and_reads_an_exceptions_history_at_1280(page: Page, stack: Stack):
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, stack, "customer_care")
    ready(page, "dashboard")
    page.goto(f"{stack.admin}/#/exceptions?status=open")
    ready(page, "exceptions")
    expect(page.get_by_test_id("filters-fold")).to_have_attribute("open", "")

    first = page.get_by_test_id("exception-row").first
    expect(first.get_by_test_id("exception-link")).not_to_be_empty()
    expect(first.get_by_test_id("exception-age")).to_have_text(re.compile(r"\d+ (s|min|h|d)"))
    expect(first.get_by_test_id("exception-due")).to_have_text(re.compile(r"(due in|overdue by) \d"))
    expect(first.get_by_test_id("exception-team")).to_contain_text("team:")
    # a seeded payment failure says why in the customer's words, not only its kind
    expect(page.get_by_test_id("exception-link").filter(has_text="card declined")).not_to_have_count(0)

    # Sort by: Due sorts by the times the Due column shows, soonest first
    page.get_by_label("Sort by").select_option(label="Due")
    dues = page.get_by_test_id("exception-due").locator("span[title]")
    shown = [dues.nth(i).get_attribute("title") or "" for i in range(dues.count())]
    assert shown and shown == sorted(shown), shown
    check_accessibility(page, "exceptions queue (1280 px)")

    acked = select_two_and(page, "Acknowledge selected", "Acknowledged")
    who = stack.headers(*CARE)
    for exc_id in acked:
        assert api_get(stack, f"/staff/exceptions/{exc_id}", who)["status"] == "acknowledged"

    page.goto(f"{stack.admin}/#/exceptions/{acked[0]}")
    ready(page, "exception")
    history = page.get_by_test_id("history-row")
    expect(history.first).to_contain_text("Raised")
    expect(history.first).to_contain_text("Waybill (automatic)")
    acknowledged = page.locator("[data-testid='history-row'][data-type='exception.acknowledged']")
    expect(acknowledged).to_contain_text("Carl Care")
    check_accessibility(page, "exception screen (1280 px)")


def test_care_bulk_snoozes_on_a_phone_resolves_one_and_lists_it_among_the_resolved_at_390(page: Page, stack: Stack):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, stack, "customer_care")
    ready(page, "dashboard")
    page.goto(f"{stack.admin}/#/exceptions?status=acknowledged")
    ready(page, "exceptions")
    # the filters fold away: the first row starts on the first screen, and nothing scrolls sideways
    expect(page.get_by_test_id("filters-fold")).not_to_have_attribute("open", "")
    box = page.get_by_test_id("exception-row").first.bounding_box()
    assert box is not None and box["y"] < 844, f"the first row starts {box} down at 390 px"
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"
    check_accessibility(page, "exceptions queue (390 px)")

    snoozed = select_two_and(page, "Snooze selected", "Snoozed")

    page.goto(f"{stack.admin}/#/exceptions/{snoozed[0]}")
    ready(page, "exception")
    expect(page.locator("[data-testid='history-row'][data-type='exception.snoozed']")).to_contain_text("Snoozed until")
    page.get_by_label("Resolution note").fill("customer called back: paid by transfer")
    page.get_by_role("button", name="Resolve").click()
    expect(page.get_by_test_id("exception-status")).to_have_attribute("data-status", "resolved")
    resolved = page.locator("[data-testid='history-row'][data-type='exception.resolved']")
    expect(resolved).to_contain_text("Resolved")
    expect(resolved).to_contain_text("Carl Care")
    check_accessibility(page, "exception screen (390 px)")

    page.goto(f"{stack.admin}/#/exceptions")
    ready(page, "exceptions")
    page.get_by_test_id("view-resolved").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Resolved exceptions")
    row = page.locator(f"[data-testid='exception-row'][data-id='{snoozed[0]}']")
    expect(row).to_have_attribute("data-status", "resolved")
    expect(row).to_contain_text("paid by transfer")
    check_accessibility(page, "resolved exceptions (390 px)")


POLL_MS = 30_000  # admin/js/screens/exceptions.js POLL_MS


def test_the_queue_filtered_by_team_reads_itself_again_keeping_selection_and_focus(page: Page, stack: Stack):
    who = stack.headers(*CARE)
    by_team = {
        team: api_get(stack, f"/staff/exceptions?team={team}&limit=50", who)
        for team in ("buyer", "accounting", "logistics", "customer_care", "admin")
    }
    team, listed = max(by_team.items(), key=lambda kv: len(kv[1]["items"]))
    assert len(listed["items"]) >= 2, {t: len(p["items"]) for t, p in by_team.items()}
    assert {i["owner"] for i in listed["items"]} == {team}

    page.clock.install()
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, stack, "customer_care")
    ready(page, "dashboard")
    page.goto(f"{stack.admin}/#/exceptions")
    ready(page, "exceptions")
    page.get_by_label("Team").select_option(team)
    page.get_by_role("button", name="Filter", exact=True).click()
    expect(page).to_have_url(re.compile(rf"team={team}"))
    expect(page.get_by_test_id("exceptions-summary")).to_contain_text(f"{listed['counts']['total']} exception")
    assert set(row_ids(page)) == {i["id"] for i in listed["items"]}
    check_accessibility(page, "exceptions queue filtered by team")

    # the second row ticked and focused; nothing changes: the next read redraws nothing
    first_id, second_id = row_ids(page)[:2]
    second = page.locator(f"[data-testid='exception-row'][data-id='{second_id}']").get_by_test_id("select-row")
    second.check()
    page.evaluate("document.querySelector(\"[data-testid='exception-row']\").dataset.untouched = 'yes'")
    with page.expect_response(lambda r: "/staff/exceptions?" in r.url and f"team={team}" in r.url):
        page.clock.run_for(POLL_MS + 1000)
    expect(page.locator(".table-host[data-polls='1']")).to_have_count(1)
    expect(page.locator("[data-testid='exception-row'][data-untouched='yes']")).to_have_count(1)

    # someone else assigns the first row: the next read shows it, the tick and the focus stay
    first = next(i for i in listed["items"] if i["id"] == first_id)
    path = f"{stack.api}/staff/exceptions/{first_id}/assign"
    r = requests.post(
        path, json={"assignee": "dana@waybill.example", "expected_version": first["version"]}, headers=who, timeout=10
    )
    assert r.status_code == 200, r.text
    with page.expect_response(lambda r: "/staff/exceptions?" in r.url and f"team={team}" in r.url):
        page.clock.run_for(POLL_MS + 1000)
    first_row = page.locator(f"[data-testid='exception-row'][data-id='{first_id}']")
    expect(first_row).to_contain_text("dana@waybill.example")
    expect(page.locator("[data-testid='exception-row'][data-untouched='yes']")).to_have_count(0)
    expect(second).to_be_checked()
    expect(second).to_be_focused()
    expect(page.get_by_test_id("bulk-count")).to_have_text("1 selected")

    back = {"assignee": None, "expected_version": r.json()["version"]}
    assert requests.post(path, json=back, headers=who, timeout=10).status_code == 200  # as it was found
