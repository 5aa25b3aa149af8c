"""One local function as its own process: the stand-in for a Lambda execution environment.

The pollers and the scheduler hand each invocation to the function's worker process, which runs
with that function's role credentials in its environment (`credentials()`: an `sts:AssumeRole`
made by the stack), so every AWS call the handler makes is checked against the function's own
policy by the embedded server. Credentials expire: a worker whose credentials are within
`refresh_s` of expiring is replaced, between invocations, by one with fresh credentials (Lambda
renews an environment's credentials the same way, unseen by the handler). A handler running
past the function's timeout is killed and the invocation fails, as Lambda does; the next
invocation starts a fresh process (a cold start).

Protocol: one JSON line per invocation on the worker's stdin ({"handler", "event", "context"}),
one JSON line back on the descriptor that was its stdout ({"result"} or {"error"}); whatever
the handler prints goes to stderr, with the stack's own log.

    python -m chalicelib.local.worker
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

log = logging.getLogger("chalicelib.local")


class FunctionError(RuntimeError):
    """The handler raised (Lambda: an unhandled function error)."""


class FunctionTimedOut(FunctionError):
    """The handler ran past the function's timeout and was stopped."""


class FunctionProcess:
    """Invokes one function in its worker process; callable like a handler, `(event, context)`.
    One instance serves one poller thread at a time (a Lambda environment runs one invocation)."""

    def __init__(
        self,
        function: str,
        *,
        env: dict[str, str],
        cwd: Path,
        credentials: Callable[[], tuple[dict[str, str], float]] | None = None,
        start_s: float = 30.0,
        refresh_s: float = 900.0,
    ) -> None:
        """`credentials()` gives the role's variables (AWS_ACCESS_KEY_ID, ...) and when they expire (epoch s)."""
        self.function, self.env, self.cwd, self.start_s = function, env, cwd, start_s
        self.credentials, self.refresh_s = credentials, refresh_s
        self.expires_at = float("inf")
        self.proc: subprocess.Popen[bytes] | None = None
        self.cold_starts = 0
        self.cold_start_pending = True
        self._lock = threading.Lock()

    def _start(self) -> subprocess.Popen[bytes]:
        from .server import _die_with_parent

        env = dict(self.env)
        if self.credentials is not None:
            variables, self.expires_at = self.credentials()
            env.update(variables)
        self.cold_starts += 1
        self.cold_start_pending = True
        return subprocess.Popen(
            [sys.executable, "-m", "chalicelib.local.worker"],
            cwd=self.cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,  # a terminal's Ctrl-C reaches the stack, which stops its workers
            preexec_fn=_die_with_parent(),
        )

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        with self._lock:
            if self.proc is not None and time.time() > self.expires_at - self.refresh_s:
                self.stop()  # idle between invocations: replaced by one with fresh credentials
            if self.proc is None or self.proc.poll() is not None:
                self.proc = self._start()
            proc = self.proc
            assert proc.stdin is not None and proc.stdout is not None
            request = {
                "handler": self.function,
                "event": event,
                "context": {
                    "function_name": context.function_name,
                    "timeout_s": context.timeout_s,
                    "memory_limit_in_mb": context.memory_limit_in_mb,
                    "region": context.region,
                    "aws_request_id": context.aws_request_id,
                },
            }
            try:
                proc.stdin.write(json.dumps(request, default=str).encode() + b"\n")
                proc.stdin.flush()
            except (BrokenPipeError, OSError) as exc:
                self._kill()
                raise FunctionError(f"{self.function}: its process exited") from exc
            # The first invocation of a fresh process also imports the app: its start-up is not billed
            # against the timeout, as Lambda's init phase is not.
            deadline = time.monotonic() + float(context.timeout_s) + (self.start_s if self.cold_start_pending else 0.0)
            line = self._read_line(proc.stdout, deadline)
            if line is None:
                self._kill()
                raise FunctionTimedOut(f"{self.function} timed out after {context.timeout_s:.0f} s")
            if not line:
                self._kill()
                raise FunctionError(f"{self.function}: its process exited (code {proc.poll()})")
            self.cold_start_pending = False
            reply = json.loads(line)
            if "error" in reply:
                raise FunctionError(f"{self.function}: {reply['error']}")
            return reply.get("result")

    @staticmethod
    def _read_line(stream: IO[bytes], deadline: float) -> bytes | None:
        """One reply line, or None once `deadline` passes (the handler is still running)."""
        fd = stream.fileno()
        chunks: list[bytes] = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            if chunk.endswith(b"\n"):
                return b"".join(chunks)

    def _kill(self) -> None:
        proc, self.proc = self.proc, None
        self.cold_start_pending = True
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)

    def stop(self) -> None:
        """End the process: stdin closed (it exits when idle), killed if it lingers."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            if proc.stdin is not None:
                proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def serve(requests_in: IO[str], replies: IO[str]) -> None:
    """The worker's loop: import the app once, then run each invocation it is handed."""
    import app  # noqa: PLC0415  # the Chalice app, as Lambda imports it

    from .pollers import LambdaContext

    for line in requests_in:
        request = json.loads(line)
        context = LambdaContext(**request["context"])
        try:
            result: dict[str, Any] = {"result": getattr(app, request["handler"])(request["event"], context)}
        except Exception as exc:  # Lambda reports the error; the environment lives on
            traceback.print_exc(file=sys.stderr)
            result = {"error": f"{type(exc).__name__}: {exc}"}
        replies.write(json.dumps(result, default=str) + "\n")
        replies.flush()


def main() -> int:
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # the handler's prints and logs go to stderr, never into the replies
    serve(sys.stdin, replies)
    return 0


if __name__ == "__main__":
    sys.exit(main())
