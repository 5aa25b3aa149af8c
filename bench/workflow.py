"""State transitions per PO on the happy path, from the execution history of a real run.

Starts the local stack as `make run` does (its own ports and state directory), walks the
seeded campaign's first PO through every stage with `chalicelib.local.demo`, and counts the
states its execution entered. Target (DESIGN §9): at most 40."""

from __future__ import annotations

import io
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path

from .report import FAIL, NA, PASS, Section

TARGET = 40


@contextmanager
def local_stack(timeout_s: float = 120) -> Iterator[Path | None]:
    """`make run` in a subprocess (its own ports and state directory); yields the state directory
    once it is up (None if it did not start), stops it afterwards."""
    from chalicelib.local.child import StackDidNotStart, child_stack

    with tempfile.TemporaryDirectory(prefix="waybill-bench-stack-") as tmp:
        try:
            with child_stack(Path(tmp), timeout_s=timeout_s) as child:
                yield child.state_dir
        except StackDidNotStart:
            yield None


def run() -> Section:
    section = Section("5. Supplier workflow (Step Functions on moto)", ["figure", "measured", "target"])
    with local_stack() as state_dir:
        if state_dir is None:
            section.add("states entered per PO", "n/a (the local stack did not start)", f"<= {TARGET}", verdict=NA)
            return section
        from chalicelib.local.demo import Demo

        walked = time.monotonic()
        with redirect_stdout(io.StringIO()):  # the demo narrates each step: not part of the report
            final = Demo(state_dir).run()
        seconds = time.monotonic() - walked
    entered = int(final.get("states_entered", 0))
    section.add(
        "states entered per PO (happy path)", str(entered), f"<= {TARGET}", verdict=PASS if 0 < entered <= TARGET else FAIL
    )
    section.notes.append(
        f"one PO walked through all 7 stages by `make demo` against the local stack in {seconds:.1f} s "
        "(quote only: it includes polling for each stage to open)"
    )
    return section
