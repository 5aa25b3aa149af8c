"""Build the Lambda deployment package: `chalice package`, then drop what the runtime ships.

The Python Lambda runtime already provides boto3, botocore and their dependencies; PyNamoDB
pulls botocore in again (16 MB of the 26 MB zip). The slimmed zip is what gets deployed.

    python -m infra.package [OUT_DIR]      # prints the zip's path and size
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import botocore.session

ROOT = Path(__file__).resolve().parent.parent
# Top-level names in the zip that the Lambda Python runtime provides (with their dist-info).
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
# Our own code that only the development machine runs (the embedded local stack).
DEV_ONLY = ("chalicelib/local/",)
# `chalice package` deploys nothing, but its botocore session needs a region: only the partition
# shows in the output (service principals), so any commercial region builds the same package.
PACKAGE_REGION = "eu-west-1"


def _snapshot(dest: Path) -> None:
    """Only what the Lambda needs, in a scratch directory (Chalice's wheel cache stays out of the repo)."""
    shutil.copy2(ROOT / "app.py", dest / "app.py")
    shutil.copy2(ROOT / "requirements.txt", dest / "requirements.txt")
    shutil.copytree(ROOT / "chalicelib", dest / "chalicelib", ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "local"))
    (dest / ".chalice").mkdir()
    shutil.copy2(ROOT / ".chalice" / "config.json", dest / ".chalice" / "config.json")


def _runtime_provided(name: str) -> bool:
    top = name.split("/", 1)[0]
    base = top.split("-", 1)[0].removesuffix(".py")
    return base in RUNTIME_PROVIDED or (
        top.endswith(".dist-info") and base.lower() in {p.replace("dateutil", "python_dateutil") for p in RUNTIME_PROVIDED}
    )


def slim(zip_path: Path) -> list[str]:
    """Rewrite the zip without the runtime-provided packages and dev-only code; return what was dropped."""
    dropped: set[str] = set()
    tmp = zip_path.with_suffix(".slim.zip")
    with zipfile.ZipFile(zip_path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if _runtime_provided(info.filename):
                dropped.add(info.filename.split("/", 1)[0])
                continue
            if info.filename.startswith(DEV_ONLY):
                dropped.add(next(p for p in DEV_ONLY if info.filename.startswith(p)))
                continue
            dst.writestr(info, src.read(info))
    tmp.replace(zip_path)
    return sorted(dropped)


def chalice_env() -> dict[str, str]:
    """The environment `chalice package` runs in: ours, with a region when none is configured
    (neither in the environment nor in the AWS config file), so a build needs no AWS setup."""
    env = dict(os.environ)
    if botocore.session.Session().get_config_variable("region") is None:
        env["AWS_DEFAULT_REGION"] = PACKAGE_REGION
    return env


def build(out: Path, *, timeout_s: float = 300) -> tuple[Path, list[str]]:
    """Package the app into `out` and slim it; raise RuntimeError with Chalice's reason on failure."""
    chalice = Path(sys.executable).with_name("chalice")
    shutil.rmtree(out, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="waybill-pkg-src-") as tmp:
        _snapshot(Path(tmp))
        done = subprocess.run(
            [str(chalice), "package", str(out)],
            cwd=tmp,
            env=chalice_env(),
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise RuntimeError(f"chalice package failed: {lines[-1] if lines else 'exit ' + str(done.returncode)}")
    zip_path = out / "deployment.zip"
    return zip_path, slim(zip_path)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "chalice.out"
    path, dropped = build(target)
    print(f"{path}: {path.stat().st_size / 1_000_000:.1f} MB (dropped, provided by the runtime: {', '.join(dropped)})")
