"""The embedded AWS's transactions (chalicelib/local/server.py keeps an undo log instead of
moto's whole-table backups): a cancelled transaction leaves no item and no stream record behind.
Its views: the sent mail, and moto's data dump, readable while S3 holds a multipart upload."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import boto3
import pytest
import requests

from chalicelib.local.server import MAIL_PATH
from chalicelib.topology import TOPOLOGY
from tests.conftest import EVERY_ATTRIBUTE_TYPE

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


def test_the_sent_mail_and_the_moto_data_views_answer_while_an_s3_multipart_upload_is_in_progress(moto_server):
    """moto's own /moto-api/data.json answered 500 from the first uploaded part until the upload
    completed (a part's `status` property raises MissingBucket): no mail could be read while an
    export or an invoice uploaded."""
    run = uuid.uuid4().hex[:8]
    ses = boto3.client("ses", region_name="eu-west-1")
    endpoint = ses.meta.endpoint_url
    sender, reader, other = f"noreply-{run}@waybill.example", f"reader-{run}@waybill.example", f"other-{run}@waybill.example"
    ses.verify_email_identity(EmailAddress=sender)
    for to, subject in ((reader, f"Hello {run}"), (other, f"Not for the reader {run}")):
        ses.send_email(
            Source=sender,
            Destination={"ToAddresses": [to]},
            Message={"Subject": {"Data": subject}, "Body": {"Text": {"Data": f"body {run}"}}},
        )
    s3 = boto3.client("s3", region_name="eu-west-1")
    bucket = f"uploads-{run}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    upload = s3.create_multipart_upload(Bucket=bucket, Key="exports/orders.csv")["UploadId"]
    try:
        s3.upload_part(Bucket=bucket, Key="exports/orders.csv", UploadId=upload, PartNumber=1, Body=b"id,total\n" * 100)

        for _ in range(3):  # a part's status moves on each time it is read: read it past every step
            r = requests.get(f"{endpoint}{MAIL_PATH}", params={"to": reader}, timeout=10)
            assert r.status_code == 200, r.text
            [mail] = r.json()["messages"]
            assert (mail["source"], mail["subject"], mail["body"]) == (sender, f"Hello {run}", f"body {run}")
            assert mail["destinations"]["ToAddresses"] == [reader]

            r = requests.get(f"{endpoint}/moto-api/data.json", timeout=10)
            assert r.status_code == 200, r.text[-2000:]
            subjects = {m.get("subject") for m in r.json()["ses"]["Message"]}
            assert {f"Hello {run}", f"Not for the reader {run}"} <= subjects
        everyone = requests.get(f"{endpoint}{MAIL_PATH}", timeout=10).json()["messages"]
        assert {f"Hello {run}", f"Not for the reader {run}"} <= {m["subject"] for m in everyone}
    finally:
        s3.abort_multipart_upload(Bucket=bucket, Key="exports/orders.csv", UploadId=upload)


def test_stream_records_are_answered_as_moto_serializes_them_with_every_attribute_type(moto_server):
    from moto.core.serialize import XFormedAttributePicker, get_serializer_class
    from moto.core.utils import get_service_model
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    from chalicelib.local.server import stream_answer

    ddb = boto3.client("dynamodb", region_name="eu-west-1")
    every_type = EVERY_ATTRIBUTE_TYPE
    pk = f"STREAM#{uuid.uuid4().hex}"
    ddb.put_item(TableName=TABLE, Item={"PK": {"S": pk}, "SK": {"S": "#META"}, **every_type})
    ddb.put_item(TableName=TABLE, Item={"PK": {"S": pk}, "SK": {"S": "#META"}, "s": {"S": "changed"}})  # old and new images
    ddb.delete_item(TableName=TABLE, Key={"PK": {"S": pk}, "SK": {"S": "#META"}})
    streams = boto3.client("dynamodbstreams", region_name="eu-west-1")
    [shard] = streams.describe_stream(StreamArn=moto_server.stream_arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(
        StreamArn=moto_server.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    backend = dynamodbstreams_backends["123456789012"]["eu-west-1"]

    result = backend.get_records(iterator, 1000)
    operation = get_service_model("dynamodbstreams").operation_model("GetRecords")
    serializer = get_serializer_class("dynamodbstreams", "json")(
        operation_model=operation, pretty_print=False, value_picker=XFormedAttributePicker(response_transformers=None)
    )
    ours = json.loads(stream_answer(result))
    assert ours == json.loads(serializer.serialize(result)["body"])
    assert [r["eventName"] for r in ours["Records"]][-3:] == ["INSERT", "MODIFY", "REMOVE"]
    # and through the server, as boto3 reads it
    page = streams.get_records(ShardIterator=iterator, Limit=1000)
    mine = [r for r in page["Records"] if r["dynamodb"]["Keys"]["PK"]["S"] == pk]
    assert mine[0]["dynamodb"]["NewImage"]["b"] == {"B": b"\x00\xffbytes"} and mine[1]["dynamodb"]["OldImage"]["ns"]["NS"]
    assert isinstance(mine[0]["dynamodb"]["ApproximateCreationDateTime"], datetime)


def test_a_send_reads_content_based_deduplication_as_the_queues_attributes_state_it(moto_server):
    """The embedded AWS reads a queue's ContentBasedDeduplication from the queue during a send instead
    of building every attribute: a FIFO queue with it on still drops a duplicate body, one with it off
    still asks for a deduplication id, a standard queue keeps every message, and the attributes read
    afterwards are moto's whole set."""
    from botocore.exceptions import ClientError

    sqs = boto3.client("sqs", region_name="eu-west-1")
    name = uuid.uuid4().hex[:12]
    on = sqs.create_queue(QueueName=f"{name}-on.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})
    off = sqs.create_queue(QueueName=f"{name}-off.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "false"})
    standard = sqs.create_queue(QueueName=f"{name}-std")
    for _ in range(2):
        sqs.send_message(QueueUrl=on["QueueUrl"], MessageBody="same", MessageGroupId="g")
        sqs.send_message(QueueUrl=standard["QueueUrl"], MessageBody="same")
    with pytest.raises(ClientError, match="ContentBasedDeduplication enabled or MessageDeduplicationId"):
        sqs.send_message(QueueUrl=off["QueueUrl"], MessageBody="same", MessageGroupId="g")

    def waiting(url: str) -> dict[str, str]:
        return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]

    assert waiting(on["QueueUrl"])["ApproximateNumberOfMessages"] == "1"
    assert waiting(on["QueueUrl"])["ContentBasedDeduplication"] == "true"
    assert waiting(standard["QueueUrl"])["ApproximateNumberOfMessages"] == "2"
    assert "ContentBasedDeduplication" not in waiting(standard["QueueUrl"])
    assert waiting(off["QueueUrl"])["ApproximateNumberOfMessages"] == "0"
