"""The embedded AWS's transactions (chalicelib/local/server.py keeps an undo log instead of
moto's whole-table backups): a cancelled transaction leaves no item and no stream record behind."""

from __future__ import annotations

import uuid

import boto3
import pytest

from chalicelib.topology import TOPOLOGY

TABLE = TOPOLOGY.table.name


def stream_records(stream_arn: str) -> int:
    streams = boto3.client("dynamodbstreams", region_name="eu-west-1")
    total = 0
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        it = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")[
            "ShardIterator"
        ]
        while it:
            page = streams.get_records(ShardIterator=it, Limit=1000)
            total += len(page["Records"])
            if not page["Records"]:
                break
            it = page.get("NextShardIterator")
    return total


def put(pk: str, **extra: dict[str, str]) -> dict[str, object]:
    return {"Put": {"TableName": TABLE, "Item": {"PK": {"S": pk}, "SK": {"S": "#META"}, **extra}}}


def test_a_cancelled_transaction_changes_nothing_and_a_committed_one_everything(moto_server):
    ddb = boto3.client("dynamodb", region_name="eu-west-1")
    arn = moto_server.stream_arn
    run = uuid.uuid4().hex[:8]
    existing, fresh = f"UNDO#{run}#a", f"UNDO#{run}#b"
    ddb.put_item(TableName=TABLE, Item={"PK": {"S": existing}, "SK": {"S": "#META"}, "v": {"N": "1"}})
    before = stream_records(arn)

    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": {"PK": {"S": existing}, "SK": {"S": "#META"}},
                        "UpdateExpression": "SET v = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}},
                    }
                },
                put(fresh, v={"N": "1"}),
                {"Put": {**put(f"UNDO#{run}#c")["Put"], "ConditionExpression": "attribute_exists(PK)"}},  # fails
            ]
        )
    assert ddb.get_item(TableName=TABLE, Key={"PK": {"S": existing}, "SK": {"S": "#META"}})["Item"]["v"] == {"N": "1"}
    assert "Item" not in ddb.get_item(TableName=TABLE, Key={"PK": {"S": fresh}, "SK": {"S": "#META"}})
    assert stream_records(arn) == before

    ddb.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": {"PK": {"S": existing}, "SK": {"S": "#META"}},
                    "UpdateExpression": "SET v = :two",
                    "ExpressionAttributeValues": {":two": {"N": "2"}},
                }
            },
            put(fresh, v={"N": "1"}),
        ]
    )
    assert ddb.get_item(TableName=TABLE, Key={"PK": {"S": existing}, "SK": {"S": "#META"}})["Item"]["v"] == {"N": "2"}
    assert "Item" in ddb.get_item(TableName=TABLE, Key={"PK": {"S": fresh}, "SK": {"S": "#META"}})
    assert stream_records(arn) == before + 2
