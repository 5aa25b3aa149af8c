"""Campaign close in chunks: a campaign of N orders (default 100,000) closed by driving the
purchase-orders consumer exactly as the local stack does (its SQS poller hands each chunk's message
to the app's Lambda handler; each chunk queues the next), on moto in-process.

Seeding writes the orders raw in batches (as `bench/po_generation.py` does: not what is measured).
Printed: orders closed per second, the number of chunks (invocations), the longest single
invocation (ms) against the Lambda maximum, and DynamoDB items read per order (metered). The
per-chunk time is what docs/design-notes.md ("Closing a big campaign") scales to 1,000,000 lines.
"""

from __future__ import annotations

import io
import random
import time
import warnings
from contextlib import ExitStack, redirect_stdout
from typing import Any

from .chains import CHUNK_TARGET_MS, drain
from .report import FAIL, PASS, Section


def _drive(campaign_id: str) -> tuple[int, list[float]]:
    """Start the close, then run the purchase-orders queue through the local stack's poller until
    it is empty; the invocations and each one's wall time."""
    import app
    from chalicelib.services import campaign_close
    from chalicelib.topology import PURCHASE_ORDERS

    campaign_close.start_close(campaign_id)
    times = drain(PURCHASE_ORDERS, app.purchase_orders_consumer)
    return len(times), times


def measure(orders: int, seed_value: int = 13) -> dict[str, Any]:
    from chalicelib.adapters.aws import reset_clients
    from chalicelib.adapters.dynamodb import keys
    from chalicelib.adapters.dynamodb.metering import metered
    from chalicelib.adapters.dynamodb.models import CampaignItem, Item

    from .po_generation import _seed, large_table_account

    with large_table_account():
        t0 = time.perf_counter()
        campaign_id, lines, placed = _seed(orders, random.Random(seed_value))
        seeded = time.perf_counter() - t0
        t0 = time.perf_counter()
        with metered() as m:
            chunks, times = _drive(campaign_id)
        seconds = time.perf_counter() - t0
        closed = Item.get(*keys.campaign(campaign_id))
        assert isinstance(closed, CampaignItem) and closed.status == "closed", "the close did not finish"
        reset_clients()
    return {
        "orders": orders,
        "lines": lines,
        "placed": placed,
        "seconds": seconds,
        "seed_seconds": seeded,
        "chunks": chunks,
        "longest_ms": max(times),
        "longest_chunk": times.index(max(times)),
        "mean_ms": sum(times) / len(times),
        "items_read": m.items_read,
        "requests": sum(m.requests.values()),
    }


def run(orders: int = 100_000) -> Section:
    from chalicelib.config import settings

    section = Section(
        f"Campaign close in chunks of {settings().close_chunk_orders} orders (moto in-process, the local stack's poller)",
        ["orders", "lines", "orders/s", "chunks", "longest chunk ms", "mean chunk ms", "items read/order", "requests/order"],
    )
    with ExitStack() as stack:
        stack.enter_context(redirect_stdout(io.StringIO()))
        stack.enter_context(warnings.catch_warnings())
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        r = measure(orders)
    section.add(
        r["orders"],
        r["lines"],
        f"{r['orders'] / r['seconds']:.0f}",
        r["chunks"],
        f"{r['longest_ms']:.0f}",
        f"{r['mean_ms']:.0f}",
        f"{r['items_read'] / r['orders']:.2f}",
        f"{r['requests'] / r['orders']:.2f}",
        verdict=PASS if r["longest_ms"] <= CHUNK_TARGET_MS else FAIL,
    )
    section.notes.append(
        f"the longest invocation was chunk {r['longest_chunk']} of {r['chunks']} (numbered from 0; the last also makes the POs)"
    )
    section.notes.append(
        f"seeded in {r['seed_seconds']:.0f} s (raw batch writes); target: the longest chunk under "
        f"{CHUNK_TARGET_MS / 1000:.0f} s, a tenth of the Lambda maximum, whatever the campaign's size"
    )
    return section
