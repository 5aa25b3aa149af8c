"""The embedded AWS answers a Query from the queried partition (chalicelib/local/moto_index.py):
after any mix of writes (puts, in-place updates that move an item between index keys, deletes,
batch writes, transactions, cancelled transactions), every Query answers what a walk of the whole
table answers, in the same order, and pages the same way."""

from __future__ import annotations

import random
from typing import Any

import boto3
from botocore.exceptions import ClientError

from chalicelib.local.moto_index import _MAPS
from chalicelib.local.provision import Provisioned
from chalicelib.topology import TABLE
from tests.conftest import EVERY_ATTRIBUTE_TYPE

HASHES = ["A", "B", "C"]


def _client() -> Any:
    return boto3.client("dynamodb", region_name="eu-west-1")


def _expected(items: list[dict[str, Any]], index: str | None, value: str, forward: bool) -> list[tuple[str, str]]:
    """What the Query must answer, computed from a Scan: the matching items in key order."""
    if index is None:
        rows = [i for i in items if i["PK"]["S"] == value]
        rows.sort(key=lambda i: i["SK"]["S"])
    else:
        rows = [i for i in items if i.get(f"{index}PK", {}).get("S") == value and f"{index}SK" in i]
        rows.sort(key=lambda i: (i[f"{index}SK"]["S"], i["PK"]["S"], i["SK"]["S"]))
    if not forward:
        rows.reverse()
    return [(i["PK"]["S"], i["SK"]["S"]) for i in rows]


def _query_all(ddb: Any, index: str | None, value: str, forward: bool, limit: int) -> list[tuple[str, str]]:
    key = f"{index}PK" if index else "PK"
    args: dict[str, Any] = {
        "TableName": TABLE.name,
        "KeyConditionExpression": "#k = :v",
        "ExpressionAttributeNames": {"#k": key},
        "ExpressionAttributeValues": {":v": {"S": value}},
        "ScanIndexForward": forward,
        "Limit": limit,
    }
    if index:
        args["IndexName"] = index
    got: list[tuple[str, str]] = []
    while True:
        page = ddb.query(**args)
        got += [(i["PK"]["S"], i["SK"]["S"]) for i in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return got
        args["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _scan(ddb: Any) -> list[dict[str, Any]]:
    return list(item for page in ddb.get_paginator("scan").paginate(TableName=TABLE.name) for item in page["Items"])


def _random_item(rng: random.Random, n: int) -> dict[str, Any]:
    item: dict[str, Any] = {"PK": {"S": f"P#{rng.randrange(6)}"}, "SK": {"S": f"S#{rng.randrange(n):03d}"}}
    for index in ("GSI1", "GSI3"):
        if rng.random() < 0.8:
            item[f"{index}PK"] = {"S": rng.choice(HASHES)}
        if rng.random() < 0.9:
            item[f"{index}SK"] = {"S": f"{rng.randrange(50):02d}"}
    return item


def _write(ddb: Any, rng: random.Random, n: int) -> None:
    kind = rng.choice(["put", "put", "update", "update", "delete", "batch", "transact", "cancelled"])
    if kind == "put":
        ddb.put_item(TableName=TABLE.name, Item=_random_item(rng, n))
    elif kind == "update":  # moves the item to another index key, or off the index
        key = {"PK": {"S": f"P#{rng.randrange(6)}"}, "SK": {"S": f"S#{rng.randrange(n):03d}"}}
        if rng.random() < 0.3:
            ddb.update_item(TableName=TABLE.name, Key=key, UpdateExpression="REMOVE GSI1PK")
        else:
            ddb.update_item(
                TableName=TABLE.name,
                Key=key,
                UpdateExpression="SET GSI1PK = :h, GSI1SK = :s",
                ExpressionAttributeValues={":h": {"S": rng.choice(HASHES)}, ":s": {"S": f"{rng.randrange(50):02d}"}},
            )
    elif kind == "delete":
        key = {"PK": {"S": f"P#{rng.randrange(6)}"}, "SK": {"S": f"S#{rng.randrange(n):03d}"}}
        ddb.delete_item(TableName=TABLE.name, Key=key)
    elif kind == "batch":
        items = {(i["PK"]["S"], i["SK"]["S"]): i for i in (_random_item(rng, n) for _ in range(5))}
        ddb.batch_write_item(RequestItems={TABLE.name: [{"PutRequest": {"Item": i}} for i in items.values()]})
    else:
        put = _random_item(rng, n)
        update_key = {"PK": {"S": f"P#{rng.randrange(6)}"}, "SK": {"S": f"S#{rng.randrange(n):03d}"}}
        if (update_key["PK"], update_key["SK"]) == (put["PK"], put["SK"]):
            return
        items: list[dict[str, Any]] = [
            {"Put": {"TableName": TABLE.name, "Item": put}},
            {
                "Update": {
                    "TableName": TABLE.name,
                    "Key": update_key,
                    "UpdateExpression": "SET GSI3PK = :h, GSI3SK = :s",
                    "ExpressionAttributeValues": {":h": {"S": rng.choice(HASHES)}, ":s": {"S": "99"}},
                }
            },
        ]
        if kind == "cancelled":  # the last condition fails: nothing of the transaction stays
            items.append(
                {
                    "ConditionCheck": {
                        "TableName": TABLE.name,
                        "Key": {"PK": {"S": "NOPE"}, "SK": {"S": "NOPE"}},
                        "ConditionExpression": "attribute_exists(PK)",
                    }
                }
            )
        try:
            ddb.transact_write_items(TransactItems=items)
        except ClientError as error:
            assert kind == "cancelled", error
            return
        assert kind == "transact"


def test_every_query_answers_what_a_walk_of_the_table_answers_after_any_mix_of_writes(aws: Provisioned) -> None:
    ddb = _client()
    rng = random.Random(20)
    n = 40
    for _ in range(60):
        ddb.put_item(TableName=TABLE.name, Item=_random_item(rng, n))
    checked = 0
    for _round in range(12):
        for _ in range(rng.randrange(1, 12)):
            _write(ddb, rng, n)
        items = _scan(ddb)
        for index, values in ((None, [f"P#{p}" for p in range(6)]), ("GSI1", HASHES), ("GSI3", HASHES)):
            for value in values:
                forward = rng.random() < 0.5
                want = _expected(items, index, value, forward)
                assert _query_all(ddb, index, value, forward, limit=rng.choice([4, 100])) == want
                checked += len(want)
    assert checked > 500  # the comparison saw many items, not empty partitions


def test_a_gsi_query_reads_the_map_of_its_index_not_the_table(aws: Provisioned) -> None:
    """The maps are really in use: after a query on GSI1 the table carries one, holding exactly the
    items that have the index's hash attribute."""
    from moto.dynamodb.models import dynamodb_backends

    ddb = _client()
    for i in range(30):
        item = {"PK": {"S": f"P#{i}"}, "SK": {"S": "X"}}
        if i % 3 == 0:
            item["GSI1PK"], item["GSI1SK"] = {"S": "A"}, {"S": f"{i:02d}"}
        ddb.put_item(TableName=TABLE.name, Item=item)
    assert len(_query_all(ddb, "GSI1", "A", True, 100)) == 10
    table = dynamodb_backends["123456789012"]["eu-west-1"].tables[TABLE.name]
    index_map = table.__dict__[_MAPS]["GSI1"]
    assert sum(len(bucket) for bucket in index_map.by_value.values()) == len(index_map.value_of)
    assert {str(v.value) for v in index_map.by_value} >= {"A"}
    assert len(index_map.by_value[next(v for v in index_map.by_value if v.value == "A")]) == 10


def test_reads_written_as_json_are_what_motos_serializer_writes(aws: Provisioned, monkeypatch: Any) -> None:
    """Query, GetItem and BatchGetItem answered by `json.dumps` parse, for the client, into exactly
    what moto's own serializer gives, for every kind of attribute value, paging and projection."""
    from moto.dynamodb.responses import DynamoResult

    ddb = _client()
    every_kind = EVERY_ATTRIBUTE_TYPE
    for i in range(5):
        ddb.put_item(
            TableName=TABLE.name,
            Item={"PK": {"S": "K"}, "SK": {"S": f"{i}"}, "GSI1PK": {"S": "G"}, "GSI1SK": {"S": f"{i}"}, **every_kind},
        )
    key = {"PK": {"S": "K"}, "SK": {"S": "2"}}
    reads = [
        lambda: ddb.get_item(TableName=TABLE.name, Key=key),
        lambda: ddb.get_item(TableName=TABLE.name, Key={"PK": {"S": "none"}, "SK": {"S": "x"}}),
        lambda: ddb.get_item(TableName=TABLE.name, Key=key, ProjectionExpression="m.nested, ns"),
        lambda: ddb.query(
            TableName=TABLE.name,
            KeyConditionExpression="PK = :k",
            ExpressionAttributeValues={":k": {"S": "K"}},
            Limit=2,
            ReturnConsumedCapacity="TOTAL",
        ),
        lambda: ddb.query(
            TableName=TABLE.name,
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :k",
            ExpressionAttributeValues={":k": {"S": "G"}},
            ScanIndexForward=False,
        ),
        lambda: ddb.query(
            TableName=TABLE.name,
            KeyConditionExpression="PK = :k",
            ExpressionAttributeValues={":k": {"S": "K"}},
            Select="COUNT",
        ),
        lambda: ddb.batch_get_item(RequestItems={TABLE.name: {"Keys": [key, {"PK": {"S": "K"}, "SK": {"S": "9"}}]}}),
    ]

    def answers() -> list[Any]:
        out = []
        for read in reads:
            answer = read()
            answer.pop("ResponseMetadata")
            out.append(answer)
        return out

    as_json = answers()
    patched = DynamoResult.execute_result
    assert getattr(patched, "_waybill_patched", False)
    monkeypatch.setattr(DynamoResult, "execute_result", patched.original)  # type: ignore[attr-defined]
    assert answers() == as_json
    assert as_json[0]["Item"]["b"] == {"B": b"\x00\xffbytes"} and "Item" not in as_json[1]
