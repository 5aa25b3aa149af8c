"""The staff home on the admin page in headless Chromium against the local stack: each role sees its
own sections (as GET /staff/home answers for it), the menu's counts follow an action without a
reload (polled with an ETag: an unchanged poll is a 304 and reads no list again), and the trend
charts carry a legend in fixed colours, a label for screen readers and a table alternative."""

from __future__ import annotations

import re

import requests
from playwright.sync_api import Page, expect

from tests.browser.a11y import check_accessibility
from tests.browser.conftest import api_get, ready, sign_in
from tests.local_stack import Stack

ROLES = {  # role -> the dev sign-in's user
    "buyer": "bea",
    "customer_care": "carl",
    "accounting": "ada",
    "logistics": "leo",
    "admin": "alex",
}


def sign_in_as(page: Page, stack: Stack, role: str) -> None:
    if role == "logistics":  # not among the shared sign-in's users
        page.goto(stack.admin + "/")
        page.get_by_label("User").select_option(ROLES[role])
        page.get_by_label("Role").select_option(role)
        page.get_by_role("button", name="Sign in").click()
    else:
        sign_in(page, stack, role)
    ready(page, "dashboard")


def test_each_role_sees_its_own_home(page: Page, stack: Stack):
    for role, user in ROLES.items():
        page.context.clear_cookies()
        page.goto(stack.admin + "/")
        page.evaluate("() => localStorage.clear()")
        sign_in_as(page, stack, role)
        expected = api_get(stack, "/staff/home", stack.headers(user, role, email=f"{user}@waybill.example"))
        keys = [s["key"] for s in expected["sections"]]
        shown = page.get_by_test_id("home-section")
        expect(shown).to_have_count(len(keys))
        assert [shown.nth(i).get_attribute("data-key") for i in range(len(keys))] == keys, role
        expect(page.get_by_test_id("home-roles")).to_contain_text(role.replace("_", " "), ignore_case=True)
        if role in ("customer_care", "admin"):
            check_accessibility(page, f"home of {role}")


def test_the_menu_count_follows_an_action_without_a_reload_and_an_unchanged_poll_reads_no_list(page: Page, stack: Stack):
    seen: list[tuple[str, int]] = []
    page.on("response", lambda r: seen.append((r.url.split("/api", 1)[-1], r.status)) if "/api/staff/" in r.url else None)
    sign_in_as(page, stack, "admin")
    count = page.get_by_test_id("nav-count-exceptions")
    expect(count).to_have_text(re.compile(r"^\d+$"))
    before = int(count.inner_text())
    exceptions_link = page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile("^Exceptions"))
    expect(exceptions_link).to_have_text(f"Exceptions {before}")  # its name, as a screen reader says it

    # nothing changed: a poll answers 304 and the home reads no list again
    homes = sum(1 for url, _ in seen if url.startswith("/staff/home"))
    page.evaluate("() => document.dispatchEvent(new Event('visibilitychange'))")
    polls = sum(1 for url, _ in seen if url.startswith("/staff/counts"))
    page.wait_for_function(
        "n => performance.getEntriesByType('resource').filter(e => e.name.includes('/api/staff/counts')).length > n",
        arg=polls,
    )
    page.wait_for_timeout(300)  # the answer's event, had there been one, would have asked for the home by now
    assert [st for url, st in seen if url.startswith("/staff/counts")][-1] == 304
    assert sum(1 for url, _ in seen if url.startswith("/staff/home")) == homes

    # an action on the exceptions screen: the count moves without a reload
    page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile("^Exceptions")).click()
    ready(page, "exceptions")
    row = page.get_by_test_id("exception-row").filter(has=page.get_by_text("More actions")).first
    exc_id = row.get_attribute("data-id")
    row.get_by_text("More actions").click()
    form = row.get_by_role("form", name="Resolve")
    form.get_by_label("Resolution note").fill("Handled from the home test")
    form.get_by_role("button", name="Resolve").click()
    expect(page.locator(f"[data-testid='exception-row'][data-id='{exc_id}']")).to_have_count(0)
    expect(count).to_have_text(str(before - 1))

    # someone else acts meanwhile: back on the home, the next poll brings new counts and the lists with them
    page.get_by_role("link", name="Dashboard").first.click()
    ready(page, "dashboard")
    home = page.get_by_test_id("home")
    etag = home.get_attribute("data-etag")
    admin = stack.headers("dora", "admin", email="dora@waybill.example")
    queue = api_get(stack, "/staff/exceptions?limit=1", admin)
    victim = queue["items"][0]
    expect(page.locator(f"[data-testid='home-item'][data-id='{victim['id']}']").first).to_be_visible()
    r = requests.post(f"{stack.api}/staff/exceptions/{victim['id']}/resolve", headers=admin, json={"note": "done"}, timeout=10)
    assert r.status_code == 200, r.text
    page.evaluate("() => document.dispatchEvent(new Event('visibilitychange'))")
    expect(count).to_have_text(str(before - 2))
    expect(page.get_by_test_id("home")).not_to_have_attribute("data-etag", etag or "")
    expect(page.locator(f"[data-testid='home-item'][data-id='{victim['id']}']")).to_have_count(0)
    assert page.url.endswith("#/dashboard"), "no navigation happened"


def test_the_trend_charts_have_a_legend_fixed_colours_and_a_table(page: Page, stack: Stack):
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in_as(page, stack, "admin")
    chart = page.get_by_test_id("trend-exceptions")
    picture = chart.get_by_role("img")
    expect(picture).to_have_attribute("aria-label", re.compile("opened and resolved", re.I))
    legend = chart.get_by_test_id("trend-exceptions-legend")
    expect(legend.locator("li")).to_have_count(2)
    assert legend.locator("li[data-key='opened']").get_attribute("data-colour") == "#b91c1c"
    assert legend.locator("li[data-key='resolved']").get_attribute("data-colour") == "#15803d"
    chart.get_by_text("Show as table").click()
    table = chart.get_by_test_id("trend-exceptions-table")
    expect(table).to_be_visible()
    expect(table.locator("thead th")).to_have_text(["Period", "Opened", "Resolved"])
    expect(table.locator("tbody tr")).to_have_count(30)
    expect(page.get_by_test_id("trend-orders").get_by_role("img")).to_have_attribute("aria-label", re.compile("orders", re.I))
    expect(page.get_by_test_id("trend-on-time-legend")).to_contain_text("On time")

    # the orders-per-status bar: readable, with a legend, each status in its own colour whatever the counts
    share = page.get_by_test_id("orders-share")
    expect(share.get_by_role("img")).to_have_attribute("aria-label", re.compile("Share of orders per status: .+ \\d"))
    parts = share.locator(".stacked-part")
    colours = {
        parts.nth(i).get_attribute("data-key"): parts.nth(i).evaluate("e => getComputedStyle(e).backgroundColor")
        for i in range(parts.count())
    }
    if "placed" in colours:
        assert colours["placed"] == "rgb(29, 78, 216)"
    items = share.get_by_test_id("orders-share-legend").locator("li")
    expect(items).to_have_count(parts.count())

    # the stages table fits at 1280 px: nothing clipped
    stages = page.get_by_test_id("stage-metrics")
    clipped = stages.evaluate("t => t.closest('.table-wrap').scrollWidth - t.closest('.table-wrap').clientWidth")
    assert clipped <= 0, f"the stages table is clipped by {clipped}px at 1280px"
    check_accessibility(page, "home with its trends")


def test_the_home_and_its_charts_fit_a_phone(page: Page, stack: Stack):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in_as(page, stack, "admin")
    expect(page.get_by_test_id("trend-orders")).to_be_visible()  # the charts follow the screen: wait for them
    expect(page.get_by_test_id("home-section").first).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the home scrolls sideways by {overflow}px at 390px"
    first_act = page.get_by_test_id("home-act").first  # the seed leaves exceptions in the queue
    expect(first_act).to_be_visible()
    box = first_act.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390, "an item's link to act is on screen"
    check_accessibility(page, "home on a phone")
