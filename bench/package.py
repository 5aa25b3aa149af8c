"""Lambda package size: `chalice package` on a snapshot of the app, deployment.zip measured.

The snapshot (app.py, chalicelib/, requirements.txt, .chalice/config.json) is built in a
temporary directory so Chalice's wheel cache (.chalice/deployments) never lands in the repo.
Chalice downloads Lambda-platform wheels with pip; without network the figure is n/a."""

from __future__ import annotations

import subprocess
import zipfile
from collections import Counter
from pathlib import Path

from infra.package import build

from .report import FAIL, NA, PASS, Section

OUT = Path("/tmp/waybill-pkg")
TARGET_MB = 25.0
MB, MIB = 1_000_000, 1024 * 1024


def _largest(zip_path: Path, top: int = 4) -> list[tuple[str, int]]:
    sizes: Counter[str] = Counter()
    with zipfile.ZipFile(zip_path) as z:
        for info in z.infolist():
            sizes[info.filename.split("/")[0]] += info.compress_size
    return sizes.most_common(top)


def run(timeout_s: float = 150) -> Section:
    section = Section("3. Lambda package", ["figure", "measured", "target"])
    reason = ""
    dropped: list[str] = []
    zip_path = OUT / "deployment.zip"
    try:
        zip_path, dropped = build(OUT, timeout_s=timeout_s)
    except RuntimeError as exc:
        reason = str(exc)
    except subprocess.TimeoutExpired:
        reason = f"chalice package took longer than {timeout_s:.0f} s"
    except OSError as exc:
        reason = f"cannot run chalice package: {exc}"
    if reason or not zip_path.is_file():
        section.add("deployment.zip", f"n/a ({reason or 'no deployment.zip produced'})", f"<= {TARGET_MB:.0f} MB", verdict=NA)
        return section
    size = zip_path.stat().st_size
    section.add(
        "deployment.zip",
        f"{size / MB:.1f} MB ({size / MIB:.1f} MiB)",
        f"<= {TARGET_MB:.0f} MB",
        verdict=PASS if size / MB <= TARGET_MB else FAIL,
    )
    largest = _largest(zip_path)
    section.notes.append(
        f"built by `python -m infra.package {OUT}` (chalice package, then the packages the "
        f"Lambda runtime provides dropped: {', '.join(dropped) or 'none'}); MB = 10^6 bytes."
    )
    section.notes.append("largest entries (compressed): " + ", ".join(f"{name} {n / MB:.1f} MB" for name, n in largest))
    return section
