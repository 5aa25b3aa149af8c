"""Exports: orders (1,000 and 10,000 by default; DESIGN asks 10,000 and 100,000) exported to CSV through the
real service: rows per second and peak memory, which must stay flat (<= 1.2x) for 10x the orders.

DynamoDB is moto in-process (section 4's large-table shortcuts), seeded with batched raw writes of
the orders as `order_writes` builds them. S3 is a moto server in a subprocess (reached through
mock_aws's passthrough): moto keeps every uploaded part in memory, and an in-process S3 would put
the file itself into the figure. The run (`orders_paid`: every order is taken, and marked) is
measured with tracemalloc: the figure judged is the working memory, peak minus what is still
allocated when the run returns (the markers it writes live in moto's table in this process).
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import tracemalloc
import urllib.request
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .dynamo import no_table_snapshots
from .po_generation import faster_moto_dynamodb
from .report import FAIL, PASS, Section

# DESIGN asks 10,000 -> 100,000; moto's Query walks and sorts the whole table for every page (~0.3 s
# per page at 10,000 orders), so a run costs O(n^2) here and 100,000 takes hours. Default: 1,000 -> 10,000
# (the same 10x); WAYBILL_BENCH_EXPORT_SIZES=10000,100000 for the DESIGN sizes, given the time.
SIZES = tuple(int(n) for n in os.environ.get("WAYBILL_BENCH_EXPORT_SIZES", "1000,10000").split(",") if n.strip())
MEMORY_RATIO_TARGET = 1.2


@contextmanager
def s3_server() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def account(port: int) -> Iterator[None]:
    from moto import mock_aws

    from chalicelib.adapters.aws import reset_clients
    from chalicelib.local.provision import provision

    urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/moto-api/reset", method="POST")).close()
    saved = os.environ.get("AWS_ENDPOINT_URL_S3")
    os.environ["AWS_ENDPOINT_URL_S3"] = f"http://127.0.0.1:{port}"
    config = {"core": {"passthrough": {"urls": [rf"http://127\.0\.0\.1:{port}/.*"]}}}
    try:
        with mock_aws(config=config), no_table_snapshots(), faster_moto_dynamodb():  # type: ignore[arg-type]
            reset_clients()
            provision()
            yield
    finally:
        if saved is None:
            os.environ.pop("AWS_ENDPOINT_URL_S3", None)
        else:
            os.environ["AWS_ENDPOINT_URL_S3"] = saved
        reset_clients()


@dataclass
class Run:
    orders: int
    rows: int
    seconds: float
    seed_seconds: float
    size_bytes: int
    peak_kib: float
    retained_kib: float

    @property
    def working_kib(self) -> float:
        return self.peak_kib - self.retained_kib


def _seed(n: int) -> None:
    from chalicelib.adapters.dynamodb import repository as repo
    from chalicelib.adapters.dynamodb.models import Item
    from chalicelib.domain.orders import Delivery, DeliveryStatus, Order, OrderLine, OrderStatus, PaymentMode

    start = datetime.now(UTC) - timedelta(days=1)
    with Item.batch_write() as batch:
        for i in range(n):
            lines = [OrderLine("ACME-1", "Mug", "acme", 1 + i % 3, 1200), OrderLine("BOLT-1", "Cap", "bolt", 1, 900)]
            order = Order(id=f"ord_bench_{i:06d}", campaign_id="cmp_bench", customer_id=f"cust-{i % 500:03d}",
                          customer_email=f"cust-{i % 500:03d}@example.com", currency="EUR",
                          payment_mode=PaymentMode.PREPAID, lines=lines,
                          deliveries=[Delivery("acme", DeliveryStatus.ORDERED), Delivery("bolt", DeliveryStatus.ORDERED)],
                          created_at=start + timedelta(milliseconds=i))
            order.status = OrderStatus.ORDERED
            for write in repo.order_writes(order, version=None, now=order.created_at):
                if hasattr(write.item, "version"):
                    write.item.version = 1
                batch.save(write.item)


def measure(n: int, port: int) -> Run:
    from chalicelib.domain.exports import ExportFormat, ExportKind
    from chalicelib.domain.permissions import SYSTEM
    from chalicelib.services import exports

    with account(port):
        t0 = time.perf_counter()
        _seed(n)
        seeded = time.perf_counter() - t0
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        t0 = time.perf_counter()
        item = exports.request_export(SYSTEM, kind=ExportKind.ORDERS, fmt=ExportFormat.CSV, exporter="orders_paid")
        outcome = exports.run_export(item.id)
        seconds = time.perf_counter() - t0
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        from chalicelib.adapters.dynamodb import keys
        from chalicelib.adapters.dynamodb import repository as repo
        from chalicelib.adapters.dynamodb.models import ExportRunItem

        done = repo.get(keys.export_run(item.id), ExportRunItem)
        assert outcome.rows == n and done is not None, (outcome, n)
        return Run(orders=n, rows=outcome.rows, seconds=seconds, seed_seconds=seeded,
                   size_bytes=int(done.size_bytes or 0), peak_kib=(peak - before) / 1024,
                   retained_kib=(current - before) / 1024)


def run(sizes: tuple[int, ...] | None = None) -> Section:
    sizes = sizes or SIZES
    section = Section("8. Exports: orders to CSV in S3 (DynamoDB in-process, S3 on a moto server)",
                      ["orders", "rows", "file MB", "export s", "rows/s", "peak KiB", "working KiB"])
    runs: list[Run] = []
    with ExitStack() as stack:
        stack.enter_context(redirect_stdout(io.StringIO()))
        stack.enter_context(warnings.catch_warnings())
        warnings.filterwarnings("ignore")
        port = stack.enter_context(s3_server())
        for n in sizes:
            runs.append(measure(n, port))
    for r in runs:
        section.add(r.orders, r.rows, f"{r.size_bytes / 1e6:.1f}", f"{r.seconds:.1f}", f"{r.rows / r.seconds:.0f}",
                    f"{r.peak_kib:.0f}", f"{r.working_kib:.0f}")
    if len(runs) >= 2:
        small, big = runs[0], runs[-1]
        ratio = big.working_kib / max(small.working_kib, 1.0)
        section.add(f"{small.orders} -> {big.orders}", "", "", "", "working memory ratio", "", f"{ratio:.2f}x",
                    verdict=PASS if ratio <= MEMORY_RATIO_TARGET else FAIL)
    section.notes += [
        "the run: exporter orders_paid over every order (one Query page of 100, one BatchGetItem of markers and one "
        "BatchWriteItem of claims per page), rows to a temporary file, 5 MiB parts uploaded from disk, a checkpoint "
        "after each part.",
        f"target: working memory (peak - still allocated at the end) <= {MEMORY_RATIO_TARGET}x for 10x the orders "
        f"(DESIGN.md section 9). Seeding: {', '.join(f'{r.seed_seconds:.0f} s' for r in runs)}.",
        "rows/s and export s: moto in-process plus an HTTP moto server -- quote only.",
    ]
    return section


if __name__ == "__main__":
    from .env import setup

    setup()
    print(run().render())
