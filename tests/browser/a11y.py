"""axe-core (npm, `make` installs it into node_modules/) run inside the page under test: a screen
fails on any violation axe rates serious or critical."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


def violations(page: Page) -> list[dict[str, Any]]:
    """axe's violations on the page as it is now, every impact level."""
    assert AXE.is_file(), f"{AXE} is missing: run `make {AXE.relative_to(AXE.parents[2])}` (npm ci)"
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated rather than added as a <script>: the pages' CSP refuses inline scripts.
        page.evaluate(AXE.read_text())
    found: list[dict[str, Any]] = page.evaluate(
        "async () => (await window.axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return found


def check_accessibility(page: Page, where: str = "") -> None:
    """Fail, naming each rule and the elements it caught, on any serious or critical violation."""
    blocking = [v for v in violations(page) if v.get("impact") in BLOCKING]
    report = "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']}; "
        + "; ".join(str(n.get("target")) + " " + str(n.get("failureSummary", "")).replace("\n", " ") for n in v["nodes"][:5])
        for v in blocking
    )
    assert not blocking, f"axe found serious or critical violations{' on ' + where if where else ''}:\n{report}"
