"""The embedded local stack as a test fixture: started exactly as `make run` starts it (on free
ports, with its own state directory), used over HTTP like a client would, stopped with SIGINT.
Shared by tests/e2e (the pipeline end to end) and tests/browser (the admin page in Chromium)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chalicelib.local import server
from chalicelib.local.issuer import DevIssuer

ROOT = Path(__file__).resolve().parents[1]
READY = "Waybill is running"
START_TIMEOUT_S = 90


def free_port(*taken: int) -> int:
    """A free port that is none of `taken` (ports picked before it, not yet listened on)."""
    while (port := server.free_port()) in taken:
        pass
    return port


@dataclass
class Stack:
    proc: subprocess.Popen[bytes]
    log: Path
    state_dir: Path
    api_port: int
    moto_port: int
    admin_port: int
    info: dict[str, Any]
    issuer: DevIssuer

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def moto(self) -> str:
        return f"http://127.0.0.1:{self.moto_port}"

    @property
    def admin(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def headers(self, sub: str, role: str, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issuer.token(sub, [role], **claims)}"}


def _clean_env() -> dict[str, str]:
    """The developer's shell, minus what the test suites set for in-process runs."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WAYBILL_", "AWS_", "POWERTOOLS_", "MOTO_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@contextlib.contextmanager
def running_stack(state_dir: Path, *extra: str) -> Iterator[Stack]:
    """Start `python -m chalicelib.local run` on free ports; SIGINT it on exit if still running."""
    log = state_dir / "stack.log"
    api_port = free_port()
    moto_port = free_port(api_port)
    admin_port = free_port(api_port, moto_port)
    command = [sys.executable, "-m", "chalicelib.local", "run", "--api-port", str(api_port),
               "--moto-port", str(moto_port), "--admin-port", str(admin_port), "--state-dir", str(state_dir),
               *extra]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=_clean_env(), stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while READY not in log.read_text(errors="replace"):
            if proc.poll() is not None:
                pytest.fail(f"the stack exited with {proc.returncode} before it was ready:\n{log.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"the stack was not ready within {START_TIMEOUT_S} s:\n{log.read_text()}")
            time.sleep(0.2)
        info = json.loads((state_dir / "stack.json").read_text())
        yield Stack(proc, log, state_dir, api_port, moto_port, admin_port, info,
                    DevIssuer.load(state_dir / "issuer.json"))
    finally:
        if proc.poll() is None:  # a test failed before the shutdown test: do not leave it running
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
