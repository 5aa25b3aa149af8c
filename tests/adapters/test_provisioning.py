"""The local stack builds exactly what the topology declares."""

from __future__ import annotations

import json

import boto3

from chalicelib.topology import EVENT_SOURCE, SUBSCRIBED, TOPOLOGY, WEBHOOK_MARK


def test_the_table_has_every_index_of_the_topology_with_its_keys(aws):
    table = boto3.client("dynamodb").describe_table(TableName=TOPOLOGY.table.name)["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {"PK": "HASH", "SK": "RANGE"}
    indexes = {ix["IndexName"]: ix for ix in table["GlobalSecondaryIndexes"]}
    assert set(indexes) == {ix.name for ix in TOPOLOGY.table.indexes}
    for ix in TOPOLOGY.table.indexes:
        schema = {k["AttributeName"]: k["KeyType"] for k in indexes[ix.name]["KeySchema"]}
        assert schema == {ix.pk: "HASH", ix.sk: "RANGE"}
        assert indexes[ix.name]["Projection"]["ProjectionType"] == "ALL"
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_the_table_streams_new_and_old_images(aws):
    table = boto3.client("dynamodb").describe_table(TableName=TOPOLOGY.table.name)["Table"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": TOPOLOGY.table.stream_view}
    assert table["LatestStreamArn"] == aws.stream_arn


def test_the_table_expires_items_by_their_ttl_attribute(aws):
    ttl = boto3.client("dynamodb").describe_time_to_live(TableName=TOPOLOGY.table.name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": TOPOLOGY.table.ttl_attribute}


def test_every_queue_parks_failed_messages_in_its_dead_letter_queue(aws):
    sqs = boto3.client("sqs")
    assert set(aws.queue_urls) == {q.name for q in TOPOLOGY.queues}
    for q in TOPOLOGY.queues:
        attrs = sqs.get_queue_attributes(QueueUrl=aws.queue_urls[q.name], AttributeNames=["All"])["Attributes"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=aws.dlq_urls[q.name], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        assert dlq_arn.endswith(":" + q.dlq_name)
        assert json.loads(attrs["RedrivePolicy"]) == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": q.max_receive_count}
        assert attrs["VisibilityTimeout"] == str(q.visibility_timeout_s)


def test_every_rule_on_the_bus_targets_its_queue(aws):
    events, sqs = boto3.client("events"), boto3.client("sqs")
    rules = {r["Name"]: r for r in events.list_rules(EventBusName=TOPOLOGY.bus)["Rules"]}
    assert set(rules) == {r.name for r in TOPOLOGY.rules}
    for rule in TOPOLOGY.rules:
        assert json.loads(rules[rule.name]["EventPattern"]) == rule.pattern
        assert rules[rule.name]["State"] == "ENABLED"
        queue_arn = sqs.get_queue_attributes(QueueUrl=aws.queue_urls[rule.queue], AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        targets = events.list_targets_by_rule(Rule=rule.name, EventBusName=TOPOLOGY.bus)["Targets"]
        assert [t["Arn"] for t in targets] == [queue_arn]


def test_an_event_of_each_routed_type_lands_in_its_queue_and_nowhere_else(aws):
    events, sqs = boto3.client("events"), boto3.client("sqs")
    expected: dict[str, list[str]] = {q.name: [] for q in TOPOLOGY.queues}
    for rule in TOPOLOGY.rules:
        for detail_type in rule.detail_types:
            expected[rule.queue].append(detail_type)  # a type two rules name lands in both queues
    for detail_type in sorted({t for rule in TOPOLOGY.rules for t in rule.detail_types}):
        events.put_events(
            Entries=[
                {
                    "Source": EVENT_SOURCE,
                    "DetailType": detail_type,
                    "EventBusName": TOPOLOGY.bus,
                    # marked as a subscriber's, as the publisher marks what someone subscribed to
                    "Detail": json.dumps({"type": detail_type, WEBHOOK_MARK: SUBSCRIBED}),
                }
            ]
        )
    events.put_events(
        Entries=[
            {
                "Source": EVENT_SOURCE,
                "DetailType": "supplier.created",
                "EventBusName": TOPOLOGY.bus,
                "Detail": json.dumps({"type": "supplier.created"}),
            }
        ]
    )
    events.put_events(
        Entries=[
            {
                "Source": "someone-else",
                "DetailType": "order.placed",
                "EventBusName": TOPOLOGY.bus,
                "Detail": json.dumps({"type": "order.placed"}),
            }
        ]
    )
    for queue, types in expected.items():
        received = []
        while batch := sqs.receive_message(QueueUrl=aws.queue_urls[queue], MaxNumberOfMessages=10).get("Messages"):
            received += [json.loads(m["Body"])["detail-type"] for m in batch]
            sqs.delete_message_batch(
                QueueUrl=aws.queue_urls[queue],
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
            )
        assert sorted(received) == sorted(types), queue


def test_the_buckets_exist(aws):
    s3 = boto3.client("s3")
    names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert names >= {b.name for b in TOPOLOGY.buckets}
    assert sorted(aws.buckets) == sorted(b.name for b in TOPOLOGY.buckets)


def test_the_sender_address_is_verified_for_sending(aws):
    identities = boto3.client("ses").list_identities(IdentityType="EmailAddress")["Identities"]
    assert set(TOPOLOGY.email_identities) <= set(identities)
