"""Cold `import app` against a bare Chalice app plus boto3, each in fresh subprocesses.

Each figure is the median wall time of `python -c <code>` minus the median of
`python -c pass` (interpreter start), runs interleaved so drift hits all three alike.
When the ratio misses its target, `python -X importtime` names what `app` adds."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections import Counter

from .env import ROOT
from .report import FAIL, PASS, Section

BASELINE = "import chalice, boto3; chalice.Chalice('x')"
APP = "import app"
TARGET = 1.5


def _wall(code: str, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - t0


def _importtime(code: str, env: dict[str, str]) -> list[tuple[int, str, int]]:
    """(depth, module, self us) in pre-order (importer before what it imports)."""
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ).stderr
    rows = []
    for line in err.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _, name = line[len("import time:") :].split("|", 2)
        rows.append(((len(name) - len(name.lstrip()) - 1) // 2, name.strip(), int(self_us)))
    return rows[::-1]


def _ours(module: str) -> bool:
    return module == "app" or module.startswith("chalicelib")


def offenders(env: dict[str, str], top: int = 10) -> list[tuple[str, str, float]]:
    """What `import app` loads beyond the baseline, grouped by (package, our module importing it), in ms."""
    base = {name for _, name, _ in _importtime(BASELINE, env)}
    stack: list[str] = []
    added: Counter[tuple[str, str]] = Counter()
    for depth, name, self_us in _importtime(APP, env):
        stack = [*stack[:depth], name]
        if name in base:
            continue
        via = next((m for m in reversed(stack[:-1]) if _ours(m)), "app") if not _ours(name) else name
        package = name if _ours(name) else name.split(".")[0]
        added[package, via] += self_us
    return [(pkg, via, us / 1000) for (pkg, via), us in added.most_common(top)]


def run(runs: int = 7) -> Section:
    env = dict(os.environ)
    section = Section(
        "2. Cold import (fresh subprocesses, median of runs, interpreter start subtracted)", ["figure", "measured", "target"]
    )
    try:
        for code in ("pass", BASELINE, APP):  # warm the bytecode caches; not timed
            _wall(code, env)
        samples: dict[str, list[float]] = {"pass": [], BASELINE: [], APP: []}
        for _ in range(runs):
            for code in samples:
                samples[code].append(_wall(code, env))
    except subprocess.CalledProcessError as exc:
        section.add(
            "import app / bare Chalice + boto3",
            f"n/a: {exc.stderr.decode(errors='replace')[-200:]}",
            f"<= {TARGET}x",
            verdict=FAIL,
        )
        return section
    med = {code: statistics.median(s) for code, s in samples.items()}
    start = med["pass"]
    base, app = med[BASELINE] - start, med[APP] - start
    ratio = app / base
    section.add("interpreter start (python -c pass)", f"{start * 1000:.0f} ms", "")
    section.add("bare Chalice app + boto3", f"{base * 1000:.0f} ms", "")
    section.add("import app", f"{app * 1000:.0f} ms", "")
    section.add("import app / bare Chalice + boto3", f"{ratio:.2f}x", f"<= {TARGET}x", verdict=PASS if ratio <= TARGET else FAIL)
    section.notes.append(f"{runs} runs each, interleaved; run from the repo root with the bench environment.")
    try:
        heavy = offenders(env)
    except subprocess.CalledProcessError:
        heavy = []
    if heavy:
        section.notes.append("what `import app` adds over the baseline (-X importtime self time, one run):")
        section.notes += [f"  {ms:6.1f} ms  {pkg}" + ("" if pkg == via else f"  (imported by {via})") for pkg, via, ms in heavy]
    return section
