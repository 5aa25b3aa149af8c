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
    chalice_pid, triggers_pid = stack.info["chalice_pid"], stack.info["triggers_pid"]
    assert alive(chalice_pid) and listening(stack.api_port) and listening(stack.moto_port)
    assert alive(triggers_pid) and triggers_pid != stack.proc.pid, "the pollers do not run in a process of their own"
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
    assert not alive(triggers_pid), "the pollers' process outlived the stack"
    assert not listening(stack.api_port), "the API port is still open"
    assert not listening(stack.moto_port), "the moto port is still open"
    assert not listening(stack.admin_port), "the admin page's port is still open"
    assert not processes_mentioning("chalice", "local", f"--port {stack.api_port}")
    assert not processes_mentioning("chalicelib.local", str(stack.state_dir))
    assert not workers_of(stack.moto), "a function's worker process outlived the stack"
    assert not (stack.state_dir / "stack.json").exists()


def test_a_stack_whose_pollers_process_dies_stops_rather_than_serving_without_them(tmp_path: Path) -> None:
    """Without its pollers nothing a request sets off would ever run (no mail, no stage, no webhook
    applied): the stack says so and stops, with everything it started."""
    from chalicelib.local.child import child_stack

    with child_stack(tmp_path, "--no-seed") as child:
        triggers_pid, chalice_pid = child.info["triggers_pid"], child.info["chalice_pid"]
        assert alive(triggers_pid) and triggers_pid not in (child.proc.pid, chalice_pid)
        os.kill(triggers_pid, signal.SIGKILL)
        try:
            code = child.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the stack kept running without its pollers:\n{child.log.read_text()[-3000:]}")
        output = child.log.read_text(errors="replace")
        assert code == 1, output[-3000:]
        assert "the pollers' process exited; stopping the stack" in output
        assert not alive(chalice_pid), "chalice local outlived the stack"
        assert not listening(child.moto_port) and not listening(child.api_port)
        assert not (tmp_path / "stack.json").exists()
