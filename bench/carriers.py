"""Carrier webhook ingestion against the local stack's embedded AWS (moto server on loopback).

A webhook is *handled* when the route has verified and stored it (`POST /webhooks/carriers/dhl`
through `chalice.test.Client`: signature, DHL format, the conditional write) and the inbound
consumer has applied it (the tracking event on the shipment, its TRACK item, the customer's copy).
The hops between the two (table stream -> bus -> queue) are AWS's and are not timed; the
consumer gets the event the stream publisher makes of the stored item (`received_event`).

Baseline, on the same server in the same run: a plain `put_item` loop. Target (DESIGN §9):
webhooks handled per second / put_item per second >= 0.3. DynamoDB requests per webhook are
counted with `metered()` (client side), split into ingestion and application."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta

from .report import FAIL, INFO, PASS, Section

TARGET = 0.3
REGION = "eu-west-1"


def _reset_connections() -> None:
    from chalicelib.adapters.dynamodb.models import Item

    stack: list[type] = [Item]
    while stack:
        cls = stack.pop()
        cls._connection = None  # type: ignore[attr-defined]
        stack.extend(cls.__subclasses__())


def run(n: int = 300, parcels: int = 20) -> Section:
    section = Section("6. Carrier webhooks (local stack's moto server)", ["figure", "measured", "target"])
    from chalicelib.adapters.aws import reset_clients
    from chalicelib.config import settings
    from chalicelib.local.server import MotoServer

    server = MotoServer(port=0)
    endpoint = server.start()
    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "MOTO_PORT")}
    os.environ.update({"AWS_ENDPOINT_URL": endpoint, "MOTO_PORT": str(server.port)})
    settings.cache_clear()
    reset_clients()
    _reset_connections()
    try:
        _measure(section, n, parcels)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        settings.cache_clear()
        reset_clients()
        _reset_connections()
        server.stop()
    return section


def _measure(section: Section, n: int, parcels: int) -> None:
    import boto3
    from chalice.test import Client

    import app as application
    from chalicelib.adapters import secrets
    from chalicelib.adapters.dynamodb import repository as repo
    from chalicelib.adapters.dynamodb.metering import metered
    from chalicelib.adapters.dynamodb.models import InboxItem
    from chalicelib.domain.shipments import Shipment, TrackingStatus
    from chalicelib.handlers import inbound as inbound_handler
    from chalicelib.handlers.publisher import received_event
    from chalicelib.local.carrier_sim import new_secret, payload, signed_request
    from chalicelib.local.provision import provision
    from chalicelib.services import shipments
    from chalicelib.topology import TOPOLOGY

    provision(region=REGION)
    secret = new_secret()
    boto3.client("secretsmanager", region_name=REGION).put_secret_value(
        SecretId=TOPOLOGY.secrets[0].name, SecretString=json.dumps({"carrier:dhl": [secret]}))
    secrets.forget()

    # Baseline: a plain put_item loop on the same server.
    ddb = boto3.client("dynamodb", region_name=REGION)
    started = time.perf_counter()
    for i in range(n):
        ddb.put_item(TableName=TOPOLOGY.table.name, Item={"PK": {"S": f"BENCH#{i}"}, "SK": {"S": "#META"},
                                                          "n": {"N": str(i)}})
    puts_per_s = n / (time.perf_counter() - started)

    # Parcels being tracked (written as the shipment consumer leaves them).
    at = datetime.now(UTC) - timedelta(days=1)
    numbers = [f"JDBENCH{i:05d}" for i in range(parcels)]
    for i, number in enumerate(numbers):
        s = Shipment(id=f"shp_bench{i}", carrier="dhl", tracking_number=number, po_id="po_bench", supplier_id="acme",
                     campaign_id="cmp_bench", order_ids=[f"ord_bench{i}"], created_at=at)
        repo.commit([shipments.shipment_item(s, at=at, version=None), shipments.order_copy(s, f"ord_bench{i}", at)],
                    what="bench shipment")

    requests: list[tuple[bytes, dict[str, str]]] = []
    for i in range(n):
        body = payload("dhl", numbers[i % parcels], TrackingStatus.IN_TRANSIT, at + timedelta(minutes=i),
                       description="Processed at hub", location="Leipzig, DE")
        requests.append(signed_request(body, secret, webhook_id=f"msg_bench_{i}"))

    client = Client(application.app)
    ingest_requests = apply_requests = 0
    statuses: dict[int, int] = {}
    outcomes: dict[str, int] = {}
    started = time.perf_counter()
    for raw, headers in requests:
        with metered() as m:
            response = client.http.post("/webhooks/carriers/dhl", headers=headers, body=raw)
        ingest_requests += m.total
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        # The event the stream publisher makes of the stored inbox item (built from the same fields).
        event = received_event(InboxItem(provider="carrier:dhl", webhook_id=headers["webhook-id"], body=raw.decode(),
                                         received_at=datetime.now(UTC)))
        with metered() as m:
            outcome = inbound_handler.handle(event)
        apply_requests += m.total
        kind = outcome.split(":")[0]
        outcomes[kind] = outcomes.get(kind, 0) + 1
    handled_per_s = n / (time.perf_counter() - started)
    ratio = handled_per_s / puts_per_s
    ok = statuses == {202: n} and set(outcomes) <= {"moved", "recorded"}

    section.add("DynamoDB requests per webhook: ingestion (route)", f"{ingest_requests / n:.2f}",
                "1 (conditional put)", verdict=PASS if ingest_requests == n else FAIL)
    section.add("DynamoDB requests per webhook: application (consumer)", f"{apply_requests / n:.2f}",
                "2 (1 read + 1 transaction)", verdict=PASS if apply_requests == 2 * n else FAIL)
    section.add("webhooks handled per second", f"{handled_per_s:.1f}", "", verdict=INFO)
    section.add("plain put_item per second (baseline, same server)", f"{puts_per_s:.1f}", "", verdict=INFO)
    section.add("handled per second / put_item per second", f"{ratio:.2f}", f">= {TARGET}",
                verdict=PASS if ok and ratio >= TARGET else FAIL)
    section.notes.append(f"{n} DHL webhooks over {parcels} parcels, one at a time; answers {statuses}, "
                         f"outcomes {outcomes}")
