"""The admin page in Debian's headless Chromium (Playwright), against the local stack started
as `make run` starts it. Supplier workflows that the tests need (a PO waiting for accounting, a
PO whose parcels have shipped) are walked through the API in the background as soon as the stack
is up, by the same steps `make demo` takes, so their waiting overlaps."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from chalicelib.local.demo import Demo
from tests.local_stack import Stack

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WALK_TIMEOUT_S = 180
TIMEOUT_MS = 20_000  # generous: CI shares two cores between Chromium, the stack and moto

expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(autouse=True)
def _patient(page: Page) -> None:
    page.set_default_timeout(TIMEOUT_MS)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_FLAGS}


@pytest.fixture(scope="session")
def stack(local_stack: Stack) -> Stack:
    """The session's local stack (tests/conftest.py), shared with tests/e2e."""
    return local_stack


@dataclass
class Walks:
    """Background walks of the seeded campaign's POs (the campaign is closed first)."""

    demo: Demo
    awaiting_approval: concurrent.futures.Future[tuple[str, dict[str, Any]]]  # acme: (po id, proposal)
    shipped: concurrent.futures.Future[list[dict[str, Any]]]  # bolt: orders with a parcel each, tracking BT...


def _walk(fn: Callable[[], Any]) -> Callable[[], Any]:
    def run() -> Any:
        try:
            return fn()
        except SystemExit as exc:  # Demo's way of failing: a message
            raise RuntimeError(str(exc)) from None

    return run


@pytest.fixture(scope="session", autouse=True)
def walks(stack: Stack) -> Iterator[Walks]:
    """Started before the first browser test, so the walks progress while the others run."""
    demo = Demo(stack.state_dir)
    demo.close_campaign()
    _, _, accounting = demo.actors("bolt")

    def ship_bolt() -> list[dict[str, Any]]:
        po_id, proposal = demo.to_payment_approval("bolt")
        demo.call("POST", f"/staff/payment-proposals/{proposal['id']}/approve", accounting, {"note": "ok"})
        return demo.ship_accepted("bolt", po_id, tracking_prefix="BT")

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        yield Walks(demo, pool.submit(_walk(lambda: demo.to_payment_approval("acme"))), pool.submit(_walk(ship_bolt)))


USERS = {  # the dev sign-in's users (chalicelib.local.admin_site.DEV_USERS), by role
    "accounting": "ada",
    "customer_care": "carl",
    "buyer": "bea",
    "admin": "alex",
    "supplier": "supplier-acme",
}


def sign_in(page: Page, stack: Stack, role: str) -> None:
    """The dev sign-in: pick the user, then the role, and wait for the first screen."""
    page.goto(stack.admin + "/")
    page.get_by_label("User").select_option(USERS[role])
    page.get_by_label("Role").select_option(role)
    page.get_by_role("button", name="Sign in").click()


def ready(page: Page, screen: str) -> None:
    """Each screen marks `body[data-ready]` with its name once its data is on the page."""
    expect(page.locator(f"body[data-ready='{screen}']")).to_have_count(1)


def api_get(stack: Stack, path: str, who: dict[str, str]) -> Any:
    r = requests.get(stack.api + path, headers=who, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()
