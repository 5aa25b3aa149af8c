"""Time to first render of the admin page's dashboard and order detail, in Debian's headless
Chromium (Playwright) against the local stack started as `make run` starts it.

"Rendered" is what the browser tests wait on: the screen has its data on the page and marks
`body[data-ready]`. Each figure is the median of cold loads (a fresh browser context: no cache,
no session; signed in by a token put in sessionStorage before the page's scripts run), from
navigation start to the mark, as the page itself measures it with `performance.now()`. The
stack is local, so this is the page's own cost plus the API's, without network latency."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from .report import INFO, NA, Section
from .workflow import local_stack

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOADS = 7  # DESIGN §9 sets no target: the figures are reported, not judged

READY_AT = """(screen) => new Promise((resolve) => {
  const done = () => document.body.dataset.ready === screen;
  if (done()) return resolve(performance.now());
  new MutationObserver((_, observer) => {
    if (done()) { observer.disconnect(); resolve(performance.now()); }
  }).observe(document.body, {attributes: true, attributeFilter: ['data-ready']});
})"""


def _session(token: str) -> str:
    return json.dumps({"token": token, "expiresAt": None, "mode": "dev"})


def _load(browser: Any, url: str, screen: str, session: str) -> tuple[float, int]:
    """One cold load: (ms from navigation start to the ready mark, API requests made)."""
    context = browser.new_context()
    context.add_init_script(f"sessionStorage.setItem('waybill.session', {json.dumps(session)});")
    api_calls: list[str] = []
    page = context.new_page()
    page.on("request", lambda r: api_calls.append(r.url) if "/api/" in r.url else None)
    page.goto(url, wait_until="domcontentloaded")  # performance.now() counts from navigation start anyway
    ms = float(page.evaluate(READY_AT, screen))
    context.close()
    return ms, len(api_calls)


def run() -> Section:
    section = Section(
        "9. Admin page: time to first render (Chromium, local stack)", ["screen", "median ms", "min..max ms", "API requests"]
    )
    if not Path(CHROMIUM).exists():
        section.add("dashboard", "n/a", "", "", verdict=NA)
        section.notes.append(f"{CHROMIUM} is missing: `make test` (or apt-get install chromium) installs it")
        return section
    from playwright.sync_api import sync_playwright

    from chalicelib.local.issuer import DevIssuer

    with local_stack() as state_dir:
        if state_dir is None:
            section.add("dashboard", "n/a (the local stack did not start)", "", "", verdict=NA)
            return section
        info = json.loads((state_dir / "stack.json").read_text())
        issuer = DevIssuer.load(state_dir / "issuer.json")
        session = _session(issuer.token("carl", ["customer_care"], email="carl@waybill.example", name="Carl Care"))
        order_id = _an_order_with_history(info, issuer)
        screens = [("dashboard", f"{info['admin_url']}/#/dashboard"), ("order", f"{info['admin_url']}/#/orders/{order_id}")]
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
            _load(browser, screens[0][1], "dashboard", session)  # warm the stack's caches, not the browser's
            for screen, url in screens:
                loads = [_load(browser, url, screen, session) for _ in range(LOADS)]
                times = [ms for ms, _ in loads]
                median = statistics.median(times)
                section.add(screen, f"{median:.0f}", f"{min(times):.0f}..{max(times):.0f}", str(loads[0][1]), verdict=INFO)
            browser.close()
    section.notes.append(
        f"median of {LOADS} cold loads each (new browser context: no cache, no session), from "
        "navigation start to the screen's ready mark; API requests counted per load (/me included)"
    )
    return section


def _an_order_with_history(info: dict[str, Any], issuer: Any) -> str:
    """A seeded order that has notes on its trail (the seed approves, rejects and annotates some)."""
    import requests

    care = {"Authorization": f"Bearer {issuer.token('carl', ['customer_care'])}"}
    page = requests.get(
        f"{info['api_url']}/staff/orders", params={"status": "placed", "limit": "50"}, headers=care, timeout=10
    ).json()
    best, events = page["items"][0]["id"], -1
    for o in page["items"][:10]:
        detail = requests.get(f"{info['api_url']}/staff/orders/{o['id']}", headers=care, timeout=10).json()
        if len(detail["events"]) > events:
            best, events = o["id"], len(detail["events"])
    return best
