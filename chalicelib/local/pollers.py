"""Local stand-ins for the AWS event-source mappings: they read SQS and the table's stream
from the embedded moto server and call the app's handlers exactly as Lambda would, with
Lambda-shaped events and a Lambda-like context.

They never compute anything themselves: an error in a handler (or a handler running past its
function's timeout) is logged and the batch is left for a retry: SQS messages stay and come back
after their visibility timeout; a stream batch is bisected and retried in order, and given up on
(its record range sent to the on-failure queue) once it exhausts its retries or outlives the
maximum record age, as Lambda's event source mapping does. Settings come from
`chalicelib.functions`.
"""

from __future__ import annotations

import abc
import base64
import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger("chalicelib.local")

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LambdaContext:
    """The parts of Lambda's context object handlers (and Powertools) use."""

    function_name: str
    timeout_s: float = 60.0
    memory_limit_in_mb: int = 512
    region: str = "eu-west-1"
    account: str = "123456789012"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (time.monotonic() - self._started)) * 1000))


def function_name(handler: str) -> str:
    from ..topology import APP_NAME

    return f"{APP_NAME}-dev-{handler}"


class Loop(threading.Thread, abc.ABC):
    """A daemon thread running `step()` until stopped; a failing step is logged, then retried."""

    idle_s = 0.5

    def __init__(self, name: str, stop: threading.Event) -> None:
        super().__init__(name=name, daemon=True)
        self.stop_event = stop
        self.invocations = 0
        self.errors = 0

    @abc.abstractmethod
    def step(self) -> bool:
        """Do one unit of work; return whether there was any (else the loop idles briefly)."""

    def run(self) -> None:
        backoff = self.idle_s
        while not self.stop_event.is_set():
            try:
                busy = self.step()
                backoff = self.idle_s
            except Exception:
                if self.stop_event.is_set():
                    break
                self.errors += 1
                log.exception("%s: poll failed; retrying in %.1f s", self.name, backoff)
                self.stop_event.wait(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            if not busy:
                self.stop_event.wait(self.idle_s)

    def invoke(self, handler_name: str, handler: Handler, event: dict[str, Any], region: str, timeout_s: float = 60.0) -> Any:
        context = LambdaContext(function_name(handler_name), timeout_s=timeout_s, region=region)
        self.invocations += 1
        return handler(event, context)


# ---------------------------------------------------------------- SQS


def sqs_record(message: dict[str, Any], *, queue_arn: str, region: str) -> dict[str, Any]:
    """One SQS message as Lambda's SQS event source hands it over."""
    attributes = {}
    for name, value in (message.get("MessageAttributes") or {}).items():
        attr: dict[str, Any] = {"dataType": value.get("DataType"), "stringListValues": [], "binaryListValues": []}
        if "StringValue" in value:
            attr["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            attr["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
        attributes[name] = attr
    body = message["Body"]
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": attributes,
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


class SqsPoller(Loop):
    """Long-polls one queue and calls its consumer with up to `batch_size` messages; deletes
    the messages the consumer did not report in `batchItemFailures`."""

    # SQS's longest poll (what Lambda's pollers use): an idle queue costs the embedded server one request
    # per 20 s per poller instead of one per 2.5 s, and a message is still handed over as it arrives. A
    # stop does not wait for a poll in progress (`receiving`): once stopped, what it receives is left.
    wait_s = 20

    def __init__(
        self,
        *,
        queue_name: str,
        queue_url: str,
        queue_arn: str,
        handler_name: str,
        handler: Handler,
        batch_size: int,
        timeout_s: float,
        sqs: Any,
        region: str,
        stop: threading.Event,
        worker: int = 0,
    ) -> None:
        super().__init__(f"sqs:{queue_name}" + (f"#{worker + 1}" if worker else ""), stop)
        self.queue_url, self.queue_arn, self.region = queue_url, queue_arn, region
        self.handler_name, self.handler = handler_name, handler
        self.batch_size, self.timeout_s = min(batch_size, 10), float(timeout_s)
        self.sqs = sqs
        self.deleted = 0
        self.receiving = False  # inside a long poll: no function is running for this poller

    def step(self) -> bool:
        self.receiving = True
        try:
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=self.batch_size,
                WaitTimeSeconds=self.wait_s,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
        finally:
            self.receiving = False
        if not messages or self.stop_event.is_set():
            return False  # a batch received while stopping comes back after its visibility timeout
        records = [sqs_record(m, queue_arn=self.queue_arn, region=self.region) for m in messages]
        try:
            result = self.invoke(self.handler_name, self.handler, {"Records": records}, self.region, self.timeout_s)
        except Exception:
            self.errors += 1
            log.exception("%s: %s failed; %d message(s) will be retried", self.name, self.handler_name, len(records))
            return True
        failed = (
            {f.get("itemIdentifier") for f in (result or {}).get("batchItemFailures") or [] if isinstance(f, dict)}
            if isinstance(result, dict)
            else set()
        )
        done = [r for r in records if r["messageId"] not in failed]
        if failed:
            log.warning("%s: %d message(s) reported failed, left for retry", self.name, len(failed))
        if done:
            response = self.sqs.delete_message_batch(
                QueueUrl=self.queue_url, Entries=[{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(done)]
            )
            for failure in response.get("Failed") or []:
                log.warning("%s: could not delete a message: %s", self.name, failure)
            self.deleted += len(done) - len(response.get("Failed") or [])
        return True


# ---------------------------------------------------------------- DynamoDB stream


def _lambda_attribute_value(value: Any) -> Any:
    """boto3 gives binary attribute values as bytes; Lambda's JSON event carries base64 text."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dict):
        return {k: _lambda_attribute_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lambda_attribute_value(v) for v in value]
    return value


def stream_record(record: dict[str, Any], *, stream_arn: str, region: str) -> dict[str, Any]:
    """One stream record (as `GetRecords` returns it) as Lambda's DynamoDB event source hands it over."""
    ddb = record.get("dynamodb") or {}
    created = ddb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        created = created.timestamp()
    out: dict[str, Any] = {
        "ApproximateCreationDateTime": float(created) if created is not None else time.time(),
        "Keys": _lambda_attribute_value(ddb.get("Keys") or {}),
        "SequenceNumber": ddb.get("SequenceNumber"),
        "SizeBytes": ddb.get("SizeBytes", 0),
        "StreamViewType": ddb.get("StreamViewType"),
    }
    for image in ("NewImage", "OldImage"):
        if image in ddb:
            out[image] = _lambda_attribute_value(ddb[image])
    return {
        "eventID": record.get("eventID") or uuid.uuid4().hex,
        "eventName": record.get("eventName"),
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion") or region,
        "eventSourceARN": stream_arn,
        "dynamodb": out,
    }


def check_filter(pattern: dict[str, Any]) -> None:
    """Refuse a filter pattern this stand-in cannot apply as Lambda does (it knows exact values only:
    prefix, anything-but, numeric and exists matching are not here), so no topology can declare a filter
    the local stack would silently apply differently."""
    for key, expected in pattern.items():
        if isinstance(expected, dict):
            check_filter(expected)
        elif not isinstance(expected, list) or not expected or any(isinstance(v, (dict, list)) for v in expected):
            raise ValueError(f"filter pattern at {key!r}: only nested objects and non-empty lists of exact values are supported")


def matches_filter(pattern: dict[str, Any], value: Any) -> bool:
    """Lambda's event filtering for exact values: every key of the pattern is in `value` and matches (a
    nested object recursively; a list of values when the field equals one of them, or, for an array
    field, when one of its elements does)."""
    if not isinstance(value, dict):
        return False
    for key, expected in pattern.items():
        if key not in value:
            return False
        field = value[key]
        if isinstance(expected, dict):
            if not matches_filter(expected, field):
                return False
        elif not any(f in expected for f in (field if isinstance(field, list) else [field])):
            return False
    return True


@dataclass
class PendingBatch:
    """Records of one shard waiting to be (re)delivered, with the tries they have had."""

    records: list[dict[str, Any]]
    attempts: int = 0  # failed invocations of exactly these records (a bisected half starts again)


class StreamPoller(Loop):
    """Follows every shard of the table's stream from TRIM_HORIZON and calls the publisher with
    batches of up to `batch_size` records, in order per shard, as Lambda's stream event source
    mapping does: a failed batch is split in two (`bisect`) and the halves retried, the first
    before the second; a batch that failed `maximum_retry_attempts` retries, or whose oldest
    record is older than `maximum_record_age_s`, is given up on and its record range handed to
    `on_failure` (the mapping's on-failure destination)."""

    def __init__(
        self,
        *,
        stream_arn: str,
        handler_name: str,
        handler: Handler,
        streams: Any,
        region: str,
        stop: threading.Event,
        batch_size: int = 100,
        maximum_retry_attempts: int = 5,
        maximum_record_age_s: float = 3600.0,
        bisect: bool = True,
        timeout_s: float = 60.0,
        on_failure: Callable[[dict[str, Any]], None] | None = None,
        shard_refresh_s: float = 5.0,
        backoff_s: float = 0.5,
        filters: tuple[dict[str, Any], ...] = (),
    ) -> None:
        super().__init__("stream:" + stream_arn.rsplit("/", 1)[-1], stop)
        for pattern in filters:
            check_filter(pattern)
        self.filters = filters
        self.filtered = 0  # records no filter matched: dropped before any invocation, as Lambda drops them
        self.stream_arn, self.region = stream_arn, region
        self.handler_name, self.handler = handler_name, handler
        self.streams, self.batch_size = streams, batch_size
        self.maximum_retry_attempts, self.maximum_record_age_s, self.bisect = maximum_retry_attempts, maximum_record_age_s, bisect
        self.timeout_s, self.on_failure, self.backoff_s = timeout_s, on_failure, backoff_s
        self.shard_refresh_s = shard_refresh_s
        self.iterators: dict[str, str | None] = {}  # shard id -> next iterator (None: shard closed)
        self.pending: dict[str, list[PendingBatch]] = {}  # shard id -> batches read but not yet delivered
        self._refreshed = 0.0
        self.records = 0
        self.given_up: list[dict[str, Any]] = []  # what went to the on-failure destination

    def _refresh_shards(self) -> None:
        self._refreshed = time.monotonic()
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn}
        while True:
            description = self.streams.describe_stream(**kwargs)["StreamDescription"]
            for shard in description.get("Shards", []):
                shard_id = shard["ShardId"]
                if shard_id not in self.iterators:
                    self.iterators[shard_id] = self.streams.get_shard_iterator(
                        StreamArn=self.stream_arn,
                        ShardId=shard_id,
                        ShardIteratorType="TRIM_HORIZON",
                    )["ShardIterator"]
            last = description.get("LastEvaluatedShardId")
            if not last:
                return
            kwargs["ExclusiveStartShardId"] = last

    def step(self) -> bool:
        if not self.iterators or time.monotonic() - self._refreshed > self.shard_refresh_s:
            self._refresh_shards()
        busy = False
        for shard_id, iterator in list(self.iterators.items()):
            if self.stop_event.is_set():
                break
            queue = self.pending.setdefault(shard_id, [])
            if not queue:
                if iterator is None:
                    continue
                response = self.streams.get_records(ShardIterator=iterator, Limit=self.batch_size)
                records = [stream_record(r, stream_arn=self.stream_arn, region=self.region) for r in response.get("Records", [])]
                self.iterators[shard_id] = response.get("NextShardIterator")
                if self.filters:
                    wanted = [r for r in records if any(matches_filter(p, r) for p in self.filters)]
                    self.filtered += len(records) - len(wanted)
                    records = wanted
                if not records:
                    continue
                queue.append(PendingBatch(records))
            busy = True
            self._deliver(shard_id, queue)
        return busy

    def _deliver(self, shard_id: str, queue: list[PendingBatch]) -> None:
        batch = queue[0]
        try:
            self.invoke(self.handler_name, self.handler, {"Records": batch.records}, self.region, self.timeout_s)
        except Exception as exc:
            self.errors += 1
            batch.attempts += 1
            oldest = min(float(r["dynamodb"]["ApproximateCreationDateTime"]) for r in batch.records)
            if self.maximum_record_age_s >= 0 and time.time() - oldest > self.maximum_record_age_s:
                self._give_up(shard_id, queue, "RecordAgeExceeded")
            elif self.bisect and len(batch.records) > 1:
                half = len(batch.records) // 2
                log.warning(
                    "%s: %s failed (%s); retrying the batch of %d in halves",
                    self.name,
                    self.handler_name,
                    exc,
                    len(batch.records),
                )
                queue[0:1] = [PendingBatch(batch.records[:half]), PendingBatch(batch.records[half:])]
            elif batch.attempts > self.maximum_retry_attempts:
                self._give_up(shard_id, queue, "RetryAttemptsExhausted")
            else:
                log.warning(
                    "%s: %s failed (%s); retry %d of %d",
                    self.name,
                    self.handler_name,
                    exc,
                    batch.attempts,
                    self.maximum_retry_attempts,
                )
                self.stop_event.wait(min(self.backoff_s * 2 ** (batch.attempts - 1), 10.0))
            return
        queue.pop(0)
        self.records += len(batch.records)

    def _give_up(self, shard_id: str, queue: list[PendingBatch], condition: str) -> None:
        """Lambda's on-failure record for a stream batch: where the records are, not the records."""
        batch = queue.pop(0)
        records = batch.records
        created = [float(r["dynamodb"]["ApproximateCreationDateTime"]) for r in records]
        invocation = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": LambdaContext(function_name(self.handler_name), region=self.region).invoked_function_arn,
                "condition": condition,
                "approximateInvokeCount": batch.attempts,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": datetime.fromtimestamp(min(created), UTC).isoformat(),
                "approximateArrivalOfLastRecord": datetime.fromtimestamp(max(created), UTC).isoformat(),
                "batchSize": len(records),
                "streamArn": self.stream_arn,
            },
        }
        log.error(
            "%s: %s gave up on %d record(s) (%s); their range goes to the on-failure destination",
            self.name,
            self.handler_name,
            len(records),
            condition,
        )
        self.given_up.append(invocation)
        if self.on_failure is not None:
            self.on_failure(invocation)
