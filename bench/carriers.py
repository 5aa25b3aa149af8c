"""Carrier webhook ingestion: DynamoDB requests per webhook, and webhooks handled per second on
the local stack against a plain `put_item` loop on the same moto server (DESIGN §9: >= 0.3).

1. Requests per webhook, in-process on a private moto server: the route (`POST
   /webhooks/carriers/dhl` through `chalice.test.Client`: signature, DHL format, the conditional
   put) and the inbound consumer given the event the stream publisher makes of the stored item
   (`received_event`), each counted with `metered()`.
2. Throughput on the local stack (`make run` in a subprocess): signed DHL webhooks are POSTed to
   its API by a few senders at once, as a carrier's retries and bursts would arrive; a webhook is
   *handled* when its event is on the shipment (stored, published from the stream, routed by the
   bus to the queue, applied by the consumer the local poller calls). Baseline: a `put_item`
   loop from this process on the stack's moto server, in the same run."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .report import FAIL, INFO, NA, PASS, Section

TARGET = 0.3
REGION = "eu-west-1"


def run(n: int = 300, parcels: int = 20, burst: int = 1000) -> Section:
    """`n` webhooks one at a time in-process; `burst` on the local stack, long enough that the rate is
    the pipeline's sustained one (its fill and drain, ~2.5 s, were a third of a 300-webhook run) and each
    baseline loop (`burst` puts) runs ~6 s."""
    section = Section("6. Carrier webhooks", ["figure", "measured", "target"])
    _count_requests(section, n, parcels)
    # ~15 events a parcel, as in the in-process run: a parcel's item (its timeline) and its stream images
    # grow with its events, so more events a parcel would measure bigger parcels, not more webhooks.
    _throughput_on_the_local_stack(section, burst, max(parcels, burst * parcels // n))
    return section


def _count_requests(section: Section, n: int, parcels: int) -> None:
    from chalicelib.local.server import MotoServer, pointed_at

    server = MotoServer(port=0)
    try:
        with pointed_at(server.start(), MOTO_PORT=str(server.port)):
            _measure(section, n, parcels)
    finally:
        server.stop()


class _Message:
    """One SQS message as Chalice hands it to a consumer (`body`, `to_dict`)."""

    def __init__(self, body: str) -> None:
        self.body = body

    def to_dict(self) -> dict[str, str]:
        return {"messageId": "bench-1", "body": self.body}


def put_item_rate(n: int) -> float:
    """Baseline: a plain put_item loop on the server this process points at; puts per second."""
    import boto3

    from chalicelib.topology import TOPOLOGY

    ddb = boto3.client("dynamodb", region_name=REGION)
    for i in range(30):  # unmeasured: the client's first calls load its service model and open its connection
        ddb.put_item(TableName=TOPOLOGY.table.name, Item={"PK": {"S": f"BENCH#{i}"}, "SK": {"S": "#META"}})
    started = time.perf_counter()
    for i in range(n):
        ddb.put_item(TableName=TOPOLOGY.table.name, Item={"PK": {"S": f"BENCH#{i}"}, "SK": {"S": "#META"}, "n": {"N": str(i)}})
    return n / (time.perf_counter() - started)


def tracked_parcels(prefix: str, parcels: int, at: datetime) -> list[str]:
    """Parcels being tracked, written as the shipment consumer leaves them; their numbers."""
    from chalicelib.adapters.dynamodb import repository as repo
    from chalicelib.adapters.dynamodb import shipment_items
    from chalicelib.domain.shipments import Shipment

    numbers = [f"JD{prefix}{i:05d}" for i in range(parcels)]
    for i, number in enumerate(numbers):
        order = f"ord_{prefix.lower()}{i}"
        s = Shipment(
            id=f"shp_{prefix.lower()}{i}",
            carrier="dhl",
            tracking_number=number,
            po_id="po_bench",
            supplier_id="acme",
            campaign_id="cmp_bench",
            order_ids=[order],
            created_at=at,
        )
        repo.commit(
            [shipment_items.shipment_item(s, at=at, version=None), shipment_items.order_copy(s, order, at)],
            what="bench shipment",
        )
    return numbers


def _measure(section: Section, n: int, parcels: int) -> None:
    import boto3
    from chalice.test import Client

    import app as application
    from chalicelib.adapters import secrets
    from chalicelib.adapters.dynamodb.metering import metered
    from chalicelib.adapters.dynamodb.models import InboxItem
    from chalicelib.domain.shipments import TrackingStatus
    from chalicelib.events import domain_event
    from chalicelib.handlers import batch
    from chalicelib.handlers import inbound as inbound_handler
    from chalicelib.handlers.publisher import received_event
    from chalicelib.local.carrier_sim import new_secret, payload, signed_request
    from chalicelib.local.provision import provision
    from chalicelib.topology import TOPOLOGY

    provision(region=REGION)
    secret = new_secret()
    boto3.client("secretsmanager", region_name=REGION).put_secret_value(
        SecretId=TOPOLOGY.secrets[0].name, SecretString=json.dumps({"carrier:dhl": [secret]})
    )
    secrets.forget()

    puts_per_s = put_item_rate(n)
    at = datetime.now(UTC) - timedelta(days=1)
    numbers = tracked_parcels("BENCH", parcels, at)

    requests: list[tuple[bytes, dict[str, str]]] = []
    for i in range(n):
        body = payload(
            "dhl",
            numbers[i % parcels],
            TrackingStatus.IN_TRANSIT,
            at + timedelta(minutes=i),
            description="Processed at hub",
            location="Leipzig, DE",
        )
        requests.append(signed_request(body, secret, webhook_id=f"msg_bench_{i}"))

    client = Client(application.app)
    ingest_requests = apply_requests = guard_requests = 0

    def as_lambda(detail: dict[str, object]) -> str:
        """One queue message through `batch.process` (what the consumer's Lambda runs); the outcome."""
        seen: list[str] = []

        def handle(event: object) -> str:
            seen.append(inbound_handler.handle(event))  # type: ignore[arg-type]
            return seen[-1]

        handle.__module__ = inbound_handler.__name__  # the wrapper finds the consumer's queue and name by module
        body = json.dumps({"detail-type": "webhook.received", "detail": detail})
        failed = batch.process([_Message(body)], handle)["batchItemFailures"]
        return seen[0] if seen and not failed else f"failed:{failed}"

    # One unmeasured webhook first: each process reads the staff's settings once per settings_cache_s (one
    # GetItem, services/tunables.py), which is no part of a webhook's cost.
    warm_raw, warm_headers = signed_request(
        payload("dhl", numbers[0], TrackingStatus.IN_TRANSIT, at - timedelta(hours=1), description="warm-up"),
        secret,
        webhook_id="msg_bench_warm",
    )
    assert client.http.post("/webhooks/carriers/dhl", headers=warm_headers, body=warm_raw).status_code == 202

    statuses: dict[int, int] = {}
    outcomes: dict[str, int] = {}
    started = time.perf_counter()
    for raw, headers in requests:
        with metered() as m:
            response = client.http.post("/webhooks/carriers/dhl", headers=headers, body=raw)
        ingest_requests += m.total
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        # The event the stream publisher makes of the stored inbox item (built from the same fields),
        # handed to the consumer as Lambda does: through the batch wrapper and its exactly-once record.
        payload_ = received_event(
            InboxItem(provider="carrier:dhl", webhook_id=headers["webhook-id"], body=raw.decode(), received_at=datetime.now(UTC))
        )
        with metered() as m:
            outcome = as_lambda(payload_)
        applying = m.requests.get("GetItem", 0) + m.requests.get("TransactWriteItems", 0)
        apply_requests += applying
        guard_requests += m.total - applying
        kind = outcome.split(":")[0]
        outcomes[kind] = outcomes.get(kind, 0) + 1
    handled_per_s = n / (time.perf_counter() - started)
    ratio = handled_per_s / puts_per_s
    ok = statuses == {202: n} and set(outcomes) <= {"moved", "recorded"}

    # Status-changing events (issue 20): each parcel out for delivery, then delivered, applied by the consumer.
    changing: dict[TrackingStatus, tuple[int, float, dict[str, int]]] = {}
    later = at + timedelta(minutes=n + 1)
    for status in (TrackingStatus.OUT_FOR_DELIVERY, TrackingStatus.DELIVERED):
        total, seconds, kinds = 0, 0.0, dict[str, int]()
        for i, number in enumerate(numbers):
            body = payload("dhl", number, status, later + timedelta(minutes=i), description=status.value)
            raw, headers = signed_request(body, secret, webhook_id=f"msg_bench_{status.value}_{i}")
            assert client.http.post("/webhooks/carriers/dhl", headers=headers, body=raw).status_code == 202
            event = domain_event(
                received_event(
                    InboxItem(
                        provider="carrier:dhl",
                        webhook_id=headers["webhook-id"],
                        body=raw.decode(),
                        received_at=datetime.now(UTC),
                    )
                )
            )
            t0 = time.perf_counter()
            with metered() as m:
                outcome = inbound_handler.handle(event)
            seconds += time.perf_counter() - t0
            total += m.total
            kinds[outcome.split(":")[0]] = kinds.get(outcome.split(":")[0], 0) + 1
        changing[status] = (total, seconds, kinds)
        later += timedelta(hours=1)

    section.add(
        "DynamoDB requests per webhook: ingestion (route)",
        f"{ingest_requests / n:.2f}",
        "1 (conditional put)",
        verdict=PASS if ingest_requests == n else FAIL,
    )
    section.add(
        "DynamoDB requests per webhook: application (consumer)",
        f"{apply_requests / n:.2f}",
        "2 (1 read + 1 transaction)",
        verdict=PASS if apply_requests == 2 * n else FAIL,
    )
    section.add(
        "DynamoDB requests per webhook: the consumer's exactly-once record (claim + complete)",
        f"{guard_requests / n:.2f}",
        "0 (a recorded parcel's TRACK item guards it)",
        verdict=PASS if guard_requests == 0 else FAIL,
    )
    section.add(
        "in-process, one at a time: handled per second / put_item per second",
        f"{handled_per_s:.1f} / {puts_per_s:.1f} = {ratio:.2f}",
        "(quote only)",
        verdict=INFO if ok else FAIL,
    )
    for status, (total, seconds, kinds) in changing.items():
        per_event = total / parcels
        section.add(
            f"DynamoDB requests per {status.value} event (consumer), ms per event",
            f"{per_event:.2f}, {1000 * seconds / parcels:.1f} ms",
            "<= 2 (1 read + 1 transaction)",
            verdict=PASS if per_event <= 2 and set(kinds) <= {"moved"} else FAIL,
        )
        section.notes.append(f"{status.value}: {parcels} parcels, outcomes {kinds}")
    section.notes.append(
        f"requests: {n} DHL webhooks over {parcels} parcels, one at a time, client and moto server "
        f"in one process (one GIL); answers {statuses}, outcomes {outcomes}"
    )


@contextmanager
def _stack_without_seed(timeout_s: float = 120) -> Iterator[Path | None]:
    """`make run --no-seed` in a subprocess: the demo data's events would still be worked through while
    this bench measures (nothing here reads them). Yields its state directory (None if it did not start)."""
    from chalicelib.local.child import StackDidNotStart, child_stack

    with tempfile.TemporaryDirectory(prefix="waybill-bench-carriers-") as tmp:
        try:
            with child_stack(Path(tmp), "--no-seed", timeout_s=timeout_s) as child:
                yield child.state_dir
        except StackDidNotStart:
            yield None


def _throughput_on_the_local_stack(section: Section, n: int, parcels: int, senders: int = 4) -> None:
    with _stack_without_seed() as state_dir:
        if state_dir is None:
            section.add(
                "handled per second / put_item per second (local stack)",
                "n/a (the stack did not start)",
                f">= {TARGET}",
                verdict=NA,
            )
            return
        stack = json.loads((state_dir / "stack.json").read_text())
        secret = json.loads((state_dir / "webhook-secrets.json").read_text())["carrier:dhl"]
        from chalicelib.local.server import pointed_at

        from .env import as_operator

        with as_operator(), pointed_at(stack["moto_endpoint"]):
            figures = _drive(stack["api_url"].rstrip("/"), secret, n, parcels, senders)
    handled_per_s, (puts_before, puts_after), statuses, seconds, accepted = figures
    puts_per_s = (puts_before + puts_after) / 2
    ratio = handled_per_s / puts_per_s
    ok = statuses == {202: n}
    section.add("webhooks handled per second (local stack)", f"{handled_per_s:.1f}", "", verdict=INFO)
    section.add(
        "plain put_item per second (same moto server; before / after the webhooks)",
        f"{puts_per_s:.1f} ({puts_before:.1f} / {puts_after:.1f})",
        "",
        verdict=INFO,
    )
    section.add(
        "handled per second / put_item per second (local stack)",
        f"{ratio:.2f}",
        f">= {TARGET}",
        verdict=PASS if ok and ratio >= TARGET else FAIL,
    )
    section.notes.append(
        f"throughput: {n} DHL webhooks over {parcels} parcels from {senders} senders, all answered after "
        f"{accepted:.1f} s ({n / accepted:.1f}/s), all applied {seconds:.1f} s after the first was sent; answers {statuses}"
    )


def _same_instant(stored: str | None, when: datetime) -> bool:
    """Whether a stored UTC time (PynamoDB's format) is `when`."""
    if not stored:
        return False
    return datetime.strptime(stored, "%Y-%m-%dT%H:%M:%S.%f%z") == when


def _drive(
    api: str, secret: str, n: int, parcels: int, senders: int
) -> tuple[float, tuple[float, float], dict[int, int], float, float]:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import boto3
    import requests

    from chalicelib.adapters.dynamodb import keys
    from chalicelib.domain.shipments import TrackingStatus
    from chalicelib.topology import TOPOLOGY

    TABLE = TOPOLOGY.table.name
    from chalicelib.local.carrier_sim import payload, signed_request

    statuses: dict[int, int] = {}
    errors: list[str] = []
    lock = threading.Lock()
    session = requests.Session()
    ddb = boto3.client("dynamodb", region_name=REGION)

    def burst(prefix: str, count: int) -> tuple[float, float]:
        """`count` webhooks over fresh parcels from `senders` at once: (all answered, all applied) seconds."""
        at = datetime.now(UTC) - timedelta(days=1)
        numbers = tracked_parcels(prefix, parcels, at)
        last = {number: at for number in numbers}
        bodies = []
        for i in range(count):
            when = at + timedelta(minutes=i)
            last[numbers[i % parcels]] = when
            bodies.append(payload("dhl", numbers[i % parcels], TrackingStatus.IN_TRANSIT, when, description="hub scan"))

        def send(i: int) -> None:
            raw, headers = signed_request(bodies[i], secret, webhook_id=f"msg_{prefix.lower()}_{i}")
            response = session.post(f"{api}/webhooks/carriers/dhl", data=raw, headers=headers, timeout=60)
            status = response.status_code
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                if status >= 500 and len(errors) < 3:
                    errors.append(response.text[:300])

        wanted = [{"PK": {"S": pk}, "SK": {"S": sk}} for pk, sk in (keys.shipment("dhl", number) for number in numbers)]

        def applied() -> bool:
            # Only the two attributes it needs: reading whole parcels (each with its timeline) several times a
            # second cost the shared moto server more than some of what is measured.
            seen: dict[str, str] = {}
            request: dict[str, Any] = {TABLE: {"Keys": wanted, "ProjectionExpression": "tracking_number, last_event_at"}}
            while request:
                response = ddb.batch_get_item(RequestItems=request)
                for item in response["Responses"].get(TABLE, []):
                    seen[item["tracking_number"]["S"]] = item.get("last_event_at", {}).get("S", "")
                request = response.get("UnprocessedKeys") or {}
            return all(_same_instant(seen.get(number), when) for number, when in last.items())

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=senders) as pool:
            list(pool.map(send, range(count)))
        accepted = time.perf_counter() - started
        deadline = time.perf_counter() + 300
        while not applied() and time.perf_counter() < deadline:
            time.sleep(0.25)
        return accepted, time.perf_counter() - started

    sqs = boto3.client("sqs", region_name=REGION)
    urls = [sqs.get_queue_url(QueueName=q.name)["QueueUrl"] for q in TOPOLOGY.queues]

    def settle(timeout_s: float = 60) -> None:
        """Wait until no queue holds a message (visible, in flight or delayed) twice in a row: what a burst
        set off downstream (the events its consumers raise, and those consumers' cold starts) must not run
        during a put_item loop, or the baseline reads low."""
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"]
        quiet, deadline = 0, time.perf_counter() + timeout_s
        while quiet < 2 and time.perf_counter() < deadline:
            held = sum(
                int(v)
                for url in urls
                for v in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"].values()
            )
            quiet = quiet + 1 if held == 0 else 0
            time.sleep(0.5)

    # Warm-up, not measured: the first webhooks start the API's and the functions' processes (Lambda's
    # cold starts) and read what each process reads once (secrets, settings); the steady rate is the figure.
    burst("WARM", 2 * parcels)
    statuses.clear()
    settle()
    puts_before = put_item_rate(n)
    accepted, seconds = burst("STACK", n)
    settle()
    puts_after = put_item_rate(n)
    if errors:
        print("server errors:", *errors, sep="\n  ")
    return n / seconds, (puts_before, puts_after), statuses, seconds, accepted
