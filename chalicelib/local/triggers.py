"""The local stack's stand-ins for what AWS triggers, in a process of their own.

In AWS, Lambda's pollers (SQS and DynamoDB stream event source mappings) and EventBridge
Scheduler are the platform's own services: none of their work competes with the services they
read. Locally they were threads of the stack's process, beside the embedded moto server, so every
poll's client-side work (signing, parsing the replies, building Lambda's events, the hand-over to
the function's process) took the same interpreter lock as the server's answers to everyone else.
Here they run in a child process, with the function processes (`chalicelib.local.worker`) as its
own children: the server's process serves requests only.

What runs is unchanged: an SQS poller per queue (as many as the queue's `local_pollers`), a stream
poller per stream function with its filters and retry settings, and the scheduler, all built from
`chalicelib.functions` and `chalicelib.topology`, each invocation handed to the function's worker
running with its role's credentials.

Protocol: the stack starts `python -m chalicelib.local.triggers` with the stack's environment
(operator credentials, the embedded endpoint, the settings), writes one JSON line (`TriggerSpec`)
on its stdin and keeps stdin open; the child answers `ready` on stdout once every poller runs. The
child stops when its stdin closes (the stack stops it, or dies) or on SIGTERM: pollers joined as the
stack joined them, then the function processes stopped.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("chalicelib.local")

REGION = "eu-west-1"
READY = "ready"


@dataclass(frozen=True)
class TriggerSpec:
    """What the child needs from the stack's provisioning: where each source is, and who runs each function."""

    project_dir: str
    stream_arn: str
    roles: dict[str, str]  # function name -> its role's ARN
    queue_urls: dict[str, str]
    queue_arns: dict[str, str]
    failure_queue_urls: dict[str, str]
    schedule_scale: float = 1.0
    region: str = REGION

    @classmethod
    def from_provisioned(
        cls, provisioned: Any, *, project_dir: Path, roles: dict[str, str], schedule_scale: float
    ) -> TriggerSpec:
        return cls(
            project_dir=str(project_dir),
            stream_arn=provisioned.stream_arn,
            roles=dict(roles),
            queue_urls=dict(provisioned.queue_urls),
            queue_arns=dict(provisioned.queue_arns),
            failure_queue_urls=dict(provisioned.failure_queue_urls),
            schedule_scale=schedule_scale,
        )


@dataclass
class Triggers:
    """The pollers and the scheduler, started from a spec in the current process (the child's)."""

    spec: TriggerSpec
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[Any] = field(default_factory=list)
    workers: list[Any] = field(default_factory=list)  # a process per running function

    def _worker(self, function: str) -> Any:
        """A process that runs `function` under its role's credentials (started at its first invocation)."""
        from .credentials import function_environment, role_variables
        from .worker import FunctionProcess

        endpoint, role, region = os.environ["AWS_ENDPOINT_URL"], self.spec.roles[function], self.spec.region
        worker = FunctionProcess(
            function,
            env=function_environment(os.environ),
            cwd=Path(self.spec.project_dir),
            credentials=lambda: role_variables(endpoint, role, function, region=region),
        )
        self.workers.append(worker)
        return worker

    def start(self) -> None:
        import boto3

        from ..config import settings
        from ..functions import FUNCTIONS
        from ..topology import TOPOLOGY
        from .pollers import SqsPoller, StreamPoller
        from .scheduler import Scheduler

        spec = self.spec
        session = boto3.session.Session(region_name=spec.region)
        sqs = session.client("sqs")

        def send_to(queue: str) -> Any:
            url = spec.failure_queue_urls[queue]
            return lambda record: sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record, default=str))

        for fn in FUNCTIONS:
            if fn.queue is None:
                continue
            queue = fn.queue
            for n in range(queue.local_pollers):  # as Lambda's event source polls with concurrent batches
                self.threads.append(
                    SqsPoller(
                        queue_name=queue.name,
                        queue_url=spec.queue_urls[queue.name],
                        queue_arn=spec.queue_arns[queue.name],
                        handler_name=fn.name,
                        handler=self._worker(fn.name),
                        batch_size=queue.batch_size,
                        timeout_s=fn.timeout_s,
                        sqs=session.client("sqs"),
                        region=spec.region,
                        stop=self.stop,
                        worker=n,
                    )
                )
        for fn in FUNCTIONS:
            if fn.stream is None:
                continue
            self.threads.append(
                StreamPoller(
                    stream_arn=spec.stream_arn,
                    handler_name=fn.name,
                    handler=self._worker(fn.name),
                    streams=session.client("dynamodbstreams"),
                    region=spec.region,
                    stop=self.stop,
                    batch_size=fn.stream.batch_size,
                    maximum_retry_attempts=fn.stream.maximum_retry_attempts,
                    maximum_record_age_s=fn.stream.maximum_record_age_s,
                    bisect=fn.stream.bisect_on_error,
                    timeout_s=fn.timeout_s,
                    on_failure=send_to(fn.stream.on_failure_queue),
                    filters=fn.stream.filters,
                )
            )
        scheduled = [fn for fn in FUNCTIONS if fn.schedule is not None]
        scheduler = Scheduler.from_topology(
            TOPOLOGY.schedules,
            None,  # every scheduled function runs in its worker (`handlers`)
            settings(),
            scale=spec.schedule_scale,
            region=spec.region,
            stop=self.stop,
            handlers={fn.name: self._worker(fn.name) for fn in scheduled},
            on_failure=send_to(scheduled[0].schedule.dead_letter_queue) if scheduled and scheduled[0].schedule else None,
        )
        self.threads.append(scheduler)
        for thread in self.threads:
            thread.start()
        for job in scheduler.jobs:
            log.info("schedule %s -> %s every %.1f s", job.name, job.handler_name, job.period_s)
        log.info("pollers (process %d): %s", os.getpid(), ", ".join(t.name for t in self.threads))

    def shutdown(self) -> None:
        self.stop.set()
        for thread in self.threads:
            # A queue's poller inside its long poll (SqsPoller.wait_s) hands nothing over once stopped: its
            # daemon thread is not waited for (it ends with this process); one whose function is running is.
            if getattr(thread, "receiving", False):
                continue
            thread.join(timeout=10)
            if thread.is_alive() and not getattr(thread, "receiving", False):
                log.warning("%s did not stop within 10 s", thread.name)
        for worker in self.workers:
            worker.stop()


class TriggersProcess:
    """The stack's handle on the child: started with the stack's environment, stopped by closing its stdin."""

    def __init__(self, spec: TriggerSpec, *, env: dict[str, str], cwd: Path) -> None:
        self.spec, self.env, self.cwd = spec, env, cwd
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 60.0, stop: threading.Event | None = None) -> None:
        """Start it and wait until every poller runs (its `ready` line)."""
        from .server import _die_with_parent

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "chalicelib.local.triggers"],
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,  # a terminal's Ctrl-C reaches the stack, which stops this
            preexec_fn=_die_with_parent(),
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(asdict(self.spec)).encode() + b"\n")
        self.proc.stdin.flush()
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout_s
        line = b""
        while not line.endswith(b"\n"):
            if stop is not None and stop.is_set():
                raise RuntimeError("stopped while starting the pollers")
            ready, _, _ = select.select([fd], [], [], min(0.5, max(0.0, deadline - time.monotonic())))
            if ready:
                chunk = os.read(fd, 256)
                if not chunk:
                    raise RuntimeError(f"the pollers' process exited with code {self.proc.wait()} before it was ready")
                line += chunk
            elif time.monotonic() > deadline:
                raise TimeoutError(f"the pollers' process was not ready within {timeout_s:.0f} s")
        if line.strip().decode() != READY:
            raise RuntimeError(f"the pollers' process answered {line!r}, not {READY!r}")

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout_s: float = 30.0) -> int | None:
        """Close its stdin (it joins its pollers and stops its functions), kill it if it lingers."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        with contextlib.suppress(OSError):
            if proc.stdin is not None:
                proc.stdin.close()
        try:
            return proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("the pollers' process (pid %s) did not stop within %.0f s; killing it", proc.pid, timeout_s)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            return proc.wait(timeout=5)


def main() -> int:
    from .server import configure_logging

    configure_logging()
    ready_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # anything printed goes to the log, never into the protocol
    spec = TriggerSpec(**json.loads(sys.stdin.readline()))
    triggers = Triggers(spec)
    signal.signal(signal.SIGTERM, lambda signum, frame: triggers.stop.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the stack decides when to stop
    if spec.project_dir not in sys.path:
        sys.path.insert(0, spec.project_dir)

    def until_stdin_closes() -> None:
        with contextlib.suppress(OSError, ValueError):
            sys.stdin.read()
        triggers.stop.set()

    threading.Thread(target=until_stdin_closes, name="stdin", daemon=True).start()
    triggers.start()
    ready_out.write(READY + "\n")
    ready_out.flush()
    while not triggers.stop.wait(0.2):
        pass
    triggers.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
