"""`make run` as a child process on free ports, with its own state directory: what the e2e and
browser tests and the bench start (they use the stack from outside, as a client would)."""

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

from .server import free_port
from .stack import PROJECT_DIR, READY_LINE


class StackDidNotStart(RuntimeError):
    pass


@dataclass
class ChildStack:
    proc: subprocess.Popen[bytes]
    log: Path
    state_dir: Path
    api_port: int
    moto_port: int
    admin_port: int
    info: dict[str, Any]  # its stack.json


def free_ports(count: int) -> list[int]:
    """`count` different free ports (picked before anything listens on them)."""
    ports: list[int] = []
    while len(ports) < count:
        if (port := free_port()) not in ports:
            ports.append(port)
    return ports


def clean_environment() -> dict[str, str]:
    """The developer's shell, minus what in-process test runs and benchmarks set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WAYBILL_", "AWS_", "POWERTOOLS_", "MOTO_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@contextlib.contextmanager
def child_stack(state_dir: Path, *extra: str, timeout_s: float = 90) -> Iterator[ChildStack]:
    """Start `python -m chalicelib.local run` and yield once it is ready; on exit SIGINT it (if it still
    runs) and wait for it. Raises StackDidNotStart, with its output, when it exits or is not ready in time."""
    log = state_dir / "stack.log"
    api_port, moto_port, admin_port = free_ports(3)
    command = [
        sys.executable,
        "-m",
        "chalicelib.local",
        "run",
        "--api-port",
        str(api_port),
        "--moto-port",
        str(moto_port),
        "--admin-port",
        str(admin_port),
        "--state-dir",
        str(state_dir),
        *extra,
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, cwd=PROJECT_DIR, env=clean_environment(), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    try:
        deadline = time.monotonic() + timeout_s
        while READY_LINE not in log.read_text(errors="replace"):
            if proc.poll() is not None:
                raise StackDidNotStart(
                    f"the stack exited with {proc.returncode} before it was ready:\n{log.read_text(errors='replace')}"
                )
            if time.monotonic() > deadline:
                raise StackDidNotStart(f"the stack was not ready within {timeout_s} s:\n{log.read_text(errors='replace')}")
            time.sleep(0.2)
        info = json.loads((state_dir / "stack.json").read_text())
        yield ChildStack(proc, log, state_dir, api_port, moto_port, admin_port, info)
    finally:
        if proc.poll() is None:  # still running (a test may have stopped it itself)
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
