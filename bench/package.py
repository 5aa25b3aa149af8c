"""Lambda package size: `chalice package` on a snapshot of the app, deployment.zip measured.

The snapshot (app.py, chalicelib/, requirements.txt, .chalice/config.json) is built in a
temporary directory so Chalice's wheel cache (.chalice/deployments) never lands in the repo.
Chalice downloads Lambda-platform wheels with pip; without network the figure is n/a."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from pathlib import Path

from .env import ROOT
from .report import FAIL, NA, PASS, Section

OUT = Path("/tmp/waybill-pkg")
TARGET_MB = 25.0
MB, MIB = 1_000_000, 1024 * 1024


def _snapshot(dest: Path) -> None:
    shutil.copy2(ROOT / "app.py", dest / "app.py")
    shutil.copy2(ROOT / "requirements.txt", dest / "requirements.txt")
    shutil.copytree(ROOT / "chalicelib", dest / "chalicelib",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    if (ROOT / "vendor").is_dir():
        shutil.copytree(ROOT / "vendor", dest / "vendor")
    (dest / ".chalice").mkdir()
    shutil.copy2(ROOT / ".chalice" / "config.json", dest / ".chalice" / "config.json")


def _largest(zip_path: Path, top: int = 4) -> list[tuple[str, int]]:
    sizes: Counter[str] = Counter()
    with zipfile.ZipFile(zip_path) as z:
        for info in z.infolist():
            sizes[info.filename.split("/")[0]] += info.compress_size
    return sizes.most_common(top)


def run(timeout_s: float = 150) -> Section:
    section = Section("3. Lambda package", ["figure", "measured", "target"])
    chalice = Path(sys.executable).with_name("chalice")
    reason = ""
    with tempfile.TemporaryDirectory(prefix="waybill-pkg-src-") as tmp:
        try:
            _snapshot(Path(tmp))
            shutil.rmtree(OUT, ignore_errors=True)
            done = subprocess.run([str(chalice), "package", str(OUT)], cwd=tmp, env=dict(os.environ),
                                  capture_output=True, text=True, timeout=timeout_s)
            if done.returncode != 0:
                lines = (done.stderr or done.stdout).strip().splitlines()
                reason = f"chalice package failed: {lines[-1] if lines else 'exit ' + str(done.returncode)}"
        except subprocess.TimeoutExpired:
            reason = f"chalice package took longer than {timeout_s:.0f} s"
        except OSError as exc:
            reason = f"cannot run chalice package: {exc}"
    zip_path = OUT / "deployment.zip"
    if reason or not zip_path.is_file():
        section.add("deployment.zip", f"n/a ({reason or 'no deployment.zip produced'})", f"<= {TARGET_MB:.0f} MB",
                    verdict=NA)
        return section
    size = zip_path.stat().st_size
    section.add("deployment.zip", f"{size / MB:.1f} MB ({size / MIB:.1f} MiB)", f"<= {TARGET_MB:.0f} MB",
                verdict=PASS if size / MB <= TARGET_MB else FAIL)
    largest = _largest(zip_path)
    section.notes.append(f"built by `chalice package {OUT}`; MB = 10^6 bytes. Largest entries (compressed): "
                         + ", ".join(f"{name} {n / MB:.1f} MB" for name, n in largest))
    if any(name == "botocore" for name, _ in largest):
        section.notes.append("botocore comes in as a dependency of pynamodb, though the Lambda runtime already "
                             "provides it.")
    return section
