"""Outbound-webhook work per event (DESIGN §9: with no subscriber, 0 messages and 0 reads).

In-process moto (`mock_aws`, `provision()`): orders are placed and cancelled through the services, and
the table's stream records are handed to the stream publisher as Lambda would (`publisher.publish`),
under `metered()`. Counted: the messages the webhooks-out queue received and the DynamoDB requests the
publisher made, first with no subscription, then with one to `order.placed`. The publisher reads the
subscribed event types once per `SUBSCRIBED_TTL_S` (one Query) and caches them: the first batch pays
that read, the next ones nothing."""

from __future__ import annotations

import io
import time
from contextlib import ExitStack, redirect_stdout
from typing import Any

from .dynamo import SHIP_TO, _principal, no_table_snapshots
from .report import FAIL, PASS, Section

ORDERS = 20


def _records(stream_arn: str, seen: set[str]) -> list[dict[str, Any]]:
    """The stream's records not seen yet, in the shape a Lambda stream event carries."""
    from datetime import datetime

    from chalicelib.adapters.aws import client

    streams = client("dynamodbstreams")
    fresh: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
        position: str | None = iterator["ShardIterator"]
        while position:  # GetRecords answers at most 1,000 records: read on until the shard has no more
            answer = streams.get_records(ShardIterator=position, Limit=1000)
            for record in answer["Records"]:
                if record["eventID"] in seen:
                    continue
                seen.add(record["eventID"])
                created = record["dynamodb"].get("ApproximateCreationDateTime")
                if isinstance(created, datetime):
                    record["dynamodb"]["ApproximateCreationDateTime"] = created.timestamp()
                fresh.append(record)
            position = answer.get("NextShardIterator") if answer["Records"] else None
    return fresh


def _queued(url: str) -> list[str]:
    """Drain the queue; the detail-types it held."""
    import json

    from chalicelib.adapters.aws import client

    sqs, types = client("sqs"), []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        types += [json.loads(m["Body"])["detail-type"] for m in batch]
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
        )
    return types


def run() -> Section:
    from moto import mock_aws

    from chalicelib.adapters.aws import reset_clients
    from chalicelib.adapters.dynamodb.metering import metered
    from chalicelib.domain.campaigns import Product
    from chalicelib.domain.orders import OrderAction, PaymentMode, RequestedLine
    from chalicelib.domain.permissions import SYSTEM
    from chalicelib.handlers import publisher
    from chalicelib.local.provision import provision
    from chalicelib.services import catalogue, orders
    from chalicelib.services import webhooks as outbound
    from chalicelib.topology import WEBHOOKS_OUT

    section = Section("10. Outbound webhooks: work per event (moto in-process)", ["figure", "measured", "target"])
    with ExitStack() as stack:
        stack.enter_context(redirect_stdout(io.StringIO()))
        stack.enter_context(mock_aws())
        stack.enter_context(no_table_snapshots())
        reset_clients()
        aws = provision()
        outbound.forget_subscribed()
        buyer, care = _principal("buyer-1", "buyer"), _principal("care-1", "customer_care")
        catalogue.create_supplier(buyer, name="Acme", contact_emails=["orders@acme.example"], supplier_id="acme")
        view = catalogue.create_campaign(
            buyer,
            name="Outbound",
            currency="EUR",
            products=[Product(sku="MUG-1", name="Mug", supplier_id="acme", unit_price_cents=1200, unit_cost_cents=600)],
        )
        catalogue.go_live(buyer, view.campaign.id)
        seen: set[str] = set()
        _records(aws.stream_arn, seen)  # the campaign's own events: not measured
        url = aws.queue_urls[WEBHOOKS_OUT.name]

        def orders_placed_and_cancelled() -> tuple[int, int, list[str], float]:
            """Place and cancel ORDERS orders, publish their records; (events, publisher requests, queued,
            when published)."""
            for i in range(ORDERS):
                record, _ = orders.place_order(
                    _principal(f"cust-{i}", "customer"),
                    campaign_id=view.campaign.id,
                    lines=[RequestedLine("MUG-1", 1)],
                    payment_mode=PaymentMode.PREPAID,
                    shipping_address=SHIP_TO,
                )
                orders.change_order(care, record.order.id, OrderAction.CANCEL, customer_note="Sorry.")
            records = _records(aws.stream_arn, seen)
            at = time.monotonic()
            with metered() as m:
                events = publisher.publish(records)
            return events, m.total, _queued(url), at

        first = orders_placed_and_cancelled()
        second = orders_placed_and_cancelled()
        outbound.create_subscription(
            SYSTEM, url="https://93.184.215.14/waybill", event_types=["order.placed"], description="bench"
        )
        subscribed = orders_placed_and_cancelled()
        outbound.forget_subscribed()
        reset_clients()

    periods = 1 + int((second[3] - first[3]) // outbound.SUBSCRIBED_TTL_S)  # cache periods the two batches span
    reads = first[1] + second[1]
    queued_none = first[2] + second[2]
    section.add(
        f"no subscriber: messages queued / publisher reads for {first[0] + second[0]} events in 2 batches",
        f"{len(queued_none)} / {reads} ({second[3] - first[3]:.0f} s apart)",
        f"0 / <= {periods} (1 per {outbound.SUBSCRIBED_TTL_S:.0f} s)",
        verdict=PASS if not queued_none and reads <= periods else FAIL,
    )
    events, _, queued, _ = subscribed
    placed = queued.count("order.placed")
    section.add(
        f"one subscriber (order.placed): messages queued for {events} events",
        f"{len(queued)} ({placed} order.placed)",
        f"{ORDERS} (order.placed only)",
        verdict=PASS if len(queued) == placed == ORDERS else FAIL,
    )
    section.notes.append(
        f"each batch: {ORDERS} orders placed and cancelled (placed, cancelled, refund due: 3 events each) and "
        f"published; the subscribed types are cached {outbound.SUBSCRIBED_TTL_S:.0f} s (one Query per period)"
    )
    return section


if __name__ == "__main__":
    from .env import setup

    setup()
    print(run().render())
