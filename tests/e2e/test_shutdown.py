"""Ctrl-C stops the local stack and everything it started. Run last: it stops the stack that
tests/e2e/test_local_stack.py and tests/browser share (see the Makefile's test-e2e)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from tests.local_stack import Stack


def listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purposes
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def processes_mentioning(*needles: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if all(n in cmdline for n in needles):
            found.append(f"{proc.name}: {cmdline}")
    return found


def workers_of(endpoint: str) -> list[str]:
    """The function worker processes (chalicelib.local.worker) pointed at this stack's embedded AWS."""
    found = []
    for line in processes_mentioning("chalicelib.local.worker"):
        pid = line.split(":", 1)[0]
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"AWS_ENDPOINT_URL={endpoint}".encode() in environ and alive(int(pid)):
            found.append(line)
    return found


@pytest.fixture(scope="module")
def stack(local_stack: Stack) -> Stack:
    return local_stack


def test_ctrl_c_stops_everything_it_started(stack: Stack) -> None:
    chalice_pid = stack.info["chalice_pid"]
    assert alive(chalice_pid) and listening(stack.api_port) and listening(stack.moto_port)
    assert workers_of(stack.moto), "no function ran in its own process"  # the seed's events reached some
    assert listening(stack.admin_port)

    stack.proc.send_signal(signal.SIGINT)
    try:
        code = stack.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the stack did not stop within 30 s of SIGINT:\n{stack.output()[-5000:]}")

    assert code == 0, stack.output()[-5000:]
    assert "Waybill stopped" in stack.output()
    assert not alive(chalice_pid), "chalice local outlived the stack"
    assert not listening(stack.api_port), "the API port is still open"
    assert not listening(stack.moto_port), "the moto port is still open"
    assert not listening(stack.admin_port), "the admin page's port is still open"
    assert not processes_mentioning("chalice", "local", f"--port {stack.api_port}")
    assert not processes_mentioning("chalicelib.local", str(stack.state_dir))
    assert not workers_of(stack.moto), "a function's worker process outlived the stack"
    assert not (stack.state_dir / "stack.json").exists()
