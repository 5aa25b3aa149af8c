"""The two servers of the local stack: moto (embedded AWS, in this process) and `chalice local`
(the API, a child process in its own process group).

Both are started and stopped by `chalicelib.local.stack`; nothing here reads the topology.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import requests

from .moto_costs import cut_per_request_costs
from .moto_index import queries_read_their_partition, reads_answered_as_json
from .moto_index import touched as index_touched

log = logging.getLogger("chalicelib.local")

LOOPBACK = "127.0.0.1"
# Step Functions executions run inside moto; Lambda would need Docker, which we never use.
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}


class PortInUse(RuntimeError):
    pass


def free_port(host: str = LOOPBACK) -> int:
    """A port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def port_is_listening(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


class SerializeDynamoDB:
    """WSGI middleware: one DynamoDB (or DynamoDB Streams) request at a time.

    moto's DynamoDB backend is not thread-safe, and here several threads call it at once
    (the API, the pollers, the seed, Step Functions integrations). A transaction backs the
    table up with a deep copy and restores it on failure: a write interleaved with that copy
    either crashes it ("dictionary changed size during iteration", a 500) or is silently
    undone by the restore. Real DynamoDB has neither problem, so the local stack serializes
    DynamoDB calls; other services (notably SQS long polls) are not held up."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.RLock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
            with self.lock:
                return list(self.app(environ, start_response))
        return self.app(environ, start_response)


MAIL_PATH = "/_waybill/mail"  # an underscore: no S3 bucket (path-style) can be named so
DATA_PATH = "/moto-api/data.json"


def _json_safe(value: Any) -> tuple[bool, Any]:
    """(True, a detached copy of `value` as JSON data) or (False, None) when it is not JSON, or
    reading it raised (a property of a moto model may look things up, and fail)."""
    try:
        return True, json.loads(json.dumps(value))
    except Exception:  # noqa: BLE001 - whatever a moto property raises, the attribute is left out
        return False, None


def model_data() -> dict[str, dict[str, list[dict[str, Any]]]]:
    """moto's `/moto-api/data.json` (every tracked model instance, its JSON-able public attributes),
    except that an attribute whose property raises is left out instead of failing the whole view.

    moto's own view catches only TypeError, AttributeError and ValueError: during an S3 multipart
    upload the part keys' `status` property looks up a bucket by a name they do not have and raises
    `MissingBucket`, so the view answered 500 until the upload completed (an export, an invoice
    upload). Values are copied as they are read, so the stack's threads changing them meanwhile
    cannot break the serialization either."""
    from moto.core.model_instances import model_data as tracked

    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for service in sorted(tracked):
        models = tracked[service]
        results[service] = {}
        for name in sorted(models):
            rows = results[service][name] = []
            for instance in list(models[name].instances_tracked):  # type: ignore[attr-defined]
                row: dict[str, Any] = {}
                for attr in dir(instance):
                    if attr.startswith("_"):
                        continue
                    try:
                        value = getattr(instance, attr)
                    except Exception:  # noqa: BLE001 - see the docstring
                        continue
                    ok, copied = _json_safe(value)
                    if ok:
                        row[attr] = copied
                rows.append(row)
    return results


def sent_mail(to: str | None = None) -> list[dict[str, Any]]:
    """Every e-mail the embedded SES captured (each account and region), oldest first; with `to`,
    those with that address among their recipients."""
    from moto.ses.models import ses_backends

    out: list[dict[str, Any]] = []
    for account_id, regions in list(ses_backends.items()):
        for region, backend in list(regions.items()):
            for message in list(backend.sent_messages):
                row: dict[str, Any] = {"account_id": account_id, "region": region}
                for attr, value in vars(message).items():
                    ok, copied = _json_safe(value)
                    if ok and not attr.startswith("_"):
                        row[attr] = copied
                destinations: dict[str, list[str]] = row.get("destinations") or {}
                recipients = {a for field in ("ToAddresses", "CcAddresses", "BccAddresses") for a in destinations.get(field, [])}
                if to is None or to in recipients:
                    out.append(row)
    return out


class LocalViews:
    """WSGI middleware: the local stack's own read-only views, in front of moto's server.

    `GET /_waybill/mail[?to=address]`: the e-mail sent so far (`{"messages": [...]}`, each with its
    id, source, destinations, subject and body), the README's way to read the stack's mail.
    `GET /moto-api/data.json`: moto's model dump, readable whatever S3 holds (see `model_data`)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if method != "GET" or path not in {MAIL_PATH, DATA_PATH}:
            return self.app(environ, start_response)
        if path == MAIL_PATH:
            to = parse_qs(environ.get("QUERY_STRING", "")).get("to", [None])[0]
            body = json.dumps({"messages": sent_mail(to)}).encode()
        else:
            body = json.dumps(model_data()).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


class _ShareTables:
    """Stands in for the `copy` module inside moto's `transact_write_items` for one call: the
    whole-table backup it takes is skipped (the Table object itself stands in for its copy);
    every other deep copy is a real one. `transactions_with_undo_log` rolls back instead."""

    def __init__(self, table_type: type) -> None:
        self.table_type = table_type

    def deepcopy(self, obj: Any, memo: Any = None) -> Any:
        return obj if isinstance(obj, self.table_type) else copy.deepcopy(obj, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def transactions_with_undo_log(lock: Any) -> None:
    """Make a moto transaction cost what its items cost, not what the table holds.

    moto 5.2 deep-copies the whole table (items and stream records) once per *item* of a
    transaction, as a backup to restore when the transaction is cancelled: writes slow down as
    the table grows (a 400-order seed did not finish in 10 minutes). Here each transaction
    instead keeps a copy of just the items it touches and the length of each stream, and a
    cancelled one puts those items back and drops the stream records it added: the same
    outcome. Idempotent; needs `lock` held by every DynamoDB request (it swaps a module global
    for the duration of a call)."""
    from moto.dynamodb import models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    original = models.DynamoDBBackend.transact_write_items
    if getattr(original, "_waybill_patched", False):
        return

    def touched(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any, Any]]:
        undo = []
        for entry in transact_items:
            op = next(iter(entry.values())) if len(entry) == 1 else {}
            if not isinstance(op, dict) or op.get("TableName") not in backend.tables:
                continue
            table = backend.tables[op["TableName"]]
            key = op.get("Item") if "Item" in op else op.get("Key")
            if not isinstance(key, dict) or table.hash_key_attr not in key:
                continue
            hash_value = DynamoType(key[table.hash_key_attr])
            range_value = DynamoType(key[table.range_key_attr]) if table.has_range_key and table.range_key_attr in key else None
            current = table.get_item(hash_value, range_value) if (range_value or not table.has_range_key) else None
            undo.append((table, hash_value, range_value, copy.deepcopy(current)))
        return undo

    def roll_back(undo: list[tuple[Any, Any, Any, Any]], streams: dict[int, tuple[Any, int]]) -> None:
        for table, hash_value, range_value, before in reversed(undo):
            index_touched(table, hash_value, range_value)
            if table.has_range_key:
                if before is None:
                    table.items.get(hash_value, {}).pop(range_value, None)
                else:
                    table.items[hash_value][range_value] = before
            elif before is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = before
        for table, length in streams.values():
            del table.stream_shard.items[length:]

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        with lock:
            undo = touched(self, transact_items)
            streams = {id(t): (t, len(t.stream_shard.items)) for t, *_ in undo if t.stream_shard is not None}
            models.copy = _ShareTables(Table)  # type: ignore[attr-defined, assignment]  # moto's `copy`, swapped
            try:
                return original(self, transact_items)
            except Exception:
                roll_back(undo, streams)
                raise
            finally:
                models.copy = copy  # type: ignore[attr-defined]

    transact_write_items._waybill_patched = True  # type: ignore[attr-defined]
    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _event_input_paths_parsed_once() -> None:
    """moto 5.2.5's EventBridge parses each rule target's input paths (JSONPath) for every event it
    routes, and each parse builds a new parser (its grammar tables included): under carrier webhooks
    that was about an eighth of the local stack's CPU. The paths are the same for every event, and a
    parsed path is not changed by matching it: each is parsed once, then kept. Idempotent."""
    import functools

    import jsonpath_ng.ext as jsonpath

    original = getattr(jsonpath, "parse")  # noqa: B009 - not re-exported for the type checker
    if getattr(original, "_waybill_patched", False):
        return
    parse = functools.lru_cache(maxsize=512)(original)
    parse._waybill_patched = True  # type: ignore[attr-defined]
    setattr(jsonpath, "parse", parse)  # noqa: B010 - moto's EventTemplateParser imports it by name at each call


def _retention_read_from_the_queue() -> None:
    """moto 5.2.5 checks each received message against the queue's retention period by building all
    the queue's attributes (counting its messages, three times) per message: the same period is read
    from the queue itself. Idempotent."""
    from moto.core.utils import unix_time
    from moto.sqs.models import SQSBackend

    original = SQSBackend.is_message_valid_based_on_retention_period
    if getattr(original, "_waybill_patched", False):
        return

    def is_valid(self: Any, queue_name: str, message: Any) -> bool:
        retention_period = int(self.get_queue(queue_name).message_retention_period)
        return bool(retention_period + message.sent_timestamp / 1000 > unix_time())

    is_valid._waybill_patched = True  # type: ignore[attr-defined]
    SQSBackend.is_message_valid_based_on_retention_period = is_valid  # type: ignore[method-assign]


_SENDING = threading.local()  # .queue: the queue a send_message of this thread is adding to


def _sends_read_deduplication_from_the_queue() -> None:
    """moto 5.2.5 reads one attribute of the queue per sent message, ContentBasedDeduplication (and a
    FIFO queue reads it again to validate and to deduplicate), by building all of the queue's
    attributes, counting every message it holds three ways: with the events EventBridge routes to SQS
    that was ~28 % of the local stack's time under carrier webhooks, and it grows with the queue.
    During a send, the queue's attributes read that one setting from the queue itself, as the full
    attributes state it (a FIFO queue's "true"/"false"; nothing for a standard queue); any other read
    of them is moto's full dict. Idempotent."""
    from collections.abc import Mapping

    from moto.sqs.models import Queue, SQSBackend

    original_send = SQSBackend.send_message
    if getattr(original_send, "_waybill_patched", False):
        return
    full = Queue.attributes.fget  # type: ignore[attr-defined]

    class DeduplicationFirst(Mapping[str, Any]):
        def __init__(self, queue: Any) -> None:
            self.queue = queue

        def get(self, key: str, default: Any = None) -> Any:
            if key != "ContentBasedDeduplication":
                return full(self.queue).get(key, default)
            if not self.queue.fifo_queue:
                return default
            value = self.queue.content_based_deduplication
            return str(value).lower() if isinstance(value, bool) else value

        def __getitem__(self, key: str) -> Any:
            return full(self.queue)[key]

        def __iter__(self) -> Iterator[str]:
            return iter(full(self.queue))

        def __len__(self) -> int:
            return len(full(self.queue))

    def attributes(self: Any) -> Any:
        return DeduplicationFirst(self) if getattr(_SENDING, "queue", None) is self else full(self)

    def send_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        _SENDING.queue = self.get_queue(queue_name)
        try:
            return original_send(self, queue_name, *args, **kwargs)
        finally:
            _SENDING.queue = None

    send_message._waybill_patched = True  # type: ignore[attr-defined]
    Queue.attributes = property(attributes)  # type: ignore[method-assign, assignment]
    SQSBackend.send_message = send_message  # type: ignore[method-assign]


def stream_records_answered_as_stored() -> None:
    """moto 5.2.5 answers GetRecords through its generic response serializer, which walks every
    attribute of every record's images (old and new) against the API's shapes: under carrier webhooks
    that was about a quarter of the local stack's CPU. moto keeps each record in DynamoDB's JSON form
    already (`StreamRecord.record`), so the answer is that JSON, with the one timestamp of a record
    converted as the serializer converts it (`stream_answer`; the same answer, checked in
    tests/workflows/test_local_server.py). Idempotent."""
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    original = DynamoDBStreamsHandler.get_records
    if getattr(original, "_waybill_patched", False):
        return

    def get_records(self: Any) -> str:
        limit = self._get_param("Limit")
        return stream_answer(self.backend.get_records(self._get_param("ShardIterator"), 1000 if limit is None else limit))

    get_records._waybill_patched = True  # type: ignore[attr-defined]
    DynamoDBStreamsHandler.get_records = get_records  # type: ignore[assignment, method-assign]


def stream_answer(result: dict[str, Any]) -> str:
    """moto's GetRecords result as the JSON its serializer sends: datetimes as epoch seconds, binary
    attribute values in base64."""
    import base64
    from datetime import datetime

    from moto.core.serialize import TimestampSerializer

    def as_json(value: Any) -> Any:
        if isinstance(value, datetime):
            return TimestampSerializer._timestamp_unixtimestamp(value)
        if isinstance(value, bytes | bytearray):
            return base64.b64encode(bytes(value)).decode()
        raise TypeError(f"{type(value).__name__} is not JSON")

    return json.dumps(result, default=as_json)


# Services whose backend moto finds from a signed request's credential scope (and target) alone: their
# lookup is kept (see `_dispatcher`). Others (S3's path styles, SES v2, ...) look at the path each time.
CACHED_DISPATCH = frozenset({"dynamodb", "sqs", "events", "states", "secretsmanager", "sts", "ssm", "iam", "kms", "logs"})


def _dispatcher(create_backend_app: Any) -> Any:
    """moto's dispatcher, keeping which backend a signed request of a `CACHED_DISPATCH` service goes to
    by (service, region, target prefix): moto works it out for every request under one lock (host
    patterns, then the credential scope), the same answer each time for these services."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    class Dispatcher(DomainDispatcherApplication):
        cached: dict[tuple[str, str, str], Any]

        def get_application(self, environ: dict[str, Any]) -> Any:
            path = environ.get("PATH_INFO", "")
            auth = environ.get("HTTP_AUTHORIZATION", "")
            key = None
            if auth.startswith("AWS4-HMAC-SHA256") and not path.startswith(("/moto-api", "/latest/", "/favicon.ico")):
                scope = auth.split("Credential=", 1)[-1].split(",", 1)[0].split("/")
                if len(scope) == 5 and scope[3].lower() in CACHED_DISPATCH:
                    key = (scope[3].lower(), scope[2], environ.get("HTTP_X_AMZ_TARGET", "").split(".", 1)[0])
            if key is None:
                return super().get_application(environ)
            app = self.cached.get(key)
            if app is None:
                app = self.cached[key] = super().get_application(environ)
            return app

    dispatcher = Dispatcher(create_backend_app)
    dispatcher.cached = {}
    return dispatcher


def _heartbeat_timeouts_as_in_aws() -> None:
    """moto 5.2.5 reports a missed heartbeat on a callback task as `States.Timeout`; AWS reports
    `States.HeartbeatTimeout`. The tracking workflow catches the two differently (stale and wait
    again, versus give up), so the embedded AWS names the error as AWS does."""
    from moto.stepfunctions.parser.api import HistoryEventType, TaskTimedOutEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
        StateTaskServiceCallback,
    )
    from moto.stepfunctions.parser.asl.eval.callback.callback import HeartbeatTimeoutError
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    original = StateTaskServiceCallback._from_error
    if getattr(original, "_waybill_patched", False):
        return

    def from_error(self: Any, env: Any, ex: Exception) -> Any:
        if isinstance(ex, HeartbeatTimeoutError):
            name = StatesErrorNameType.StatesHeartbeatTimeout
            details = TaskTimedOutEventDetails(error=name.to_name())
            return FailureEvent(
                env=env,
                error_name=StatesErrorName(typ=name),
                event_type=HistoryEventType.TaskTimedOut,
                event_details=EventDetails(taskTimedOutEventDetails=details),  # type: ignore[typeddict-item]  # total=True in moto
            )
        return original(self, env, ex)

    from_error._waybill_patched = True  # type: ignore[attr-defined]
    StateTaskServiceCallback._from_error = from_error  # type: ignore[method-assign]


def _presigned_s3_requests_as_their_signer() -> None:
    """With IAM enforced, moto 5.2.5 answers a presigned S3 request (credentials in the query string
    or the POST form, no Authorization header) with a 500. AWS authorizes such a request as the
    principal that signed it: so does this, with moto's own policy evaluation (the signature itself
    moto does not verify either way)."""
    from moto import settings as moto_settings
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.iam.access_control import CreateAccessKeyFailure, S3IAMRequest, create_access_key
    from moto.s3.exceptions import S3AccessDeniedError
    from moto.s3.responses import S3Response

    original = S3Response._authenticate_and_authorize_s3_action
    if getattr(original, "_waybill_patched", False):
        return

    def authorize(self: Any, bucket_name: str | None = None, key_name: str | None = None) -> None:
        enforced = ActionAuthenticatorMixin.request_count >= moto_settings.INITIAL_NO_AUTH_ACTION_COUNT
        fields = {k.lower(): (v[0] if isinstance(v, list) else v) for k, v in (self.querystring or {}).items()}
        access_key = fields.get("awsaccesskeyid") or str(fields.get("x-amz-credential") or "").split("/")[0]
        if not enforced or "Authorization" in self.headers or not access_key:
            return original(self, bucket_name=bucket_name, key_name=key_name)
        token = fields.get("x-amz-security-token")
        try:
            signer = create_access_key(
                account_id=self.current_account,
                partition="aws",
                access_key_id=access_key,
                headers={"X-Amz-Security-Token": token} if token else {},
            )
        except CreateAccessKeyFailure:
            raise S3AccessDeniedError() from None
        request = S3IAMRequest.__new__(S3IAMRequest)  # its constructor reads the Authorization header
        request.account_id, request._access_key, request._data = self.current_account, signer, self.data
        request._action, request._region, request._service = f"s3:{self._get_action()}", self.region, "s3"
        key_name = key_name or fields.get("key")  # a browser's form upload names its object in the form
        path = f"{bucket_name or '*'}/{key_name}" if key_name else (bucket_name or "*")
        request.check_action_permitted(f"arn:aws:s3:::{path}")

    authorize._waybill_patched = True  # type: ignore[attr-defined]
    S3Response._authenticate_and_authorize_s3_action = authorize  # type: ignore[method-assign]


# The key moto's Step Functions signs its service integrations with (asl/utils/boto_client.py).
STATES_CREDENTIALS = ("ak", "sk")


def admit_access_key(user_name: str, access_key_id: str, secret_access_key: str) -> None:
    """Give an IAM user of the embedded account a chosen access key (moto makes random ones): the
    well-known `testing` key becomes the operator's, so tools and tests keep their credentials."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends

    backend = iam_backends[DEFAULT_ACCOUNT_ID]["aws"]
    key = backend.create_access_key(user_name)
    del backend.access_keys[key.physical_resource_id]
    key.access_key_id, key.secret_access_key = access_key_id, secret_access_key
    backend.access_keys[key.physical_resource_id] = key


class MotoServer:
    """moto's server on loopback, in a thread of this process, with Step Functions execution on.

    Built from the same parts as `moto.server.ThreadedMotoServer`, but binds in the calling
    thread (a taken port raises at once instead of hanging) and serializes DynamoDB calls."""

    def __init__(self, port: int = 0, host: str = LOOPBACK) -> None:
        self.host, self.requested_port = host, port
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> str:
        from moto.moto_server.werkzeug_app import MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        moto = SerializeDynamoDB(_dispatcher(create_backend_app))
        transactions_with_undo_log(moto.lock)
        queries_read_their_partition()
        reads_answered_as_json()
        cut_per_request_costs()
        _event_input_paths_parsed_once()
        _retention_read_from_the_queue()
        _sends_read_deduplication_from_the_queue()
        stream_records_answered_as_stored()
        app = LocalViews(moto)
        _heartbeat_timeouts_as_in_aws()
        _presigned_s3_requests_as_their_signer()

        class KeepAlive(MotoRequestHandler):
            """HTTP/1.1: clients keep their connection (a new TCP connection per AWS call cost ~1 ms
            on each side, and botocore pools connections anyway)."""

            protocol_version = "HTTP/1.1"

        try:
            self._server = make_server(self.host, self.requested_port, app, threaded=True, request_handler=KeepAlive)
        except (OSError, SystemExit) as exc:  # werkzeug exits on a taken port
            raise PortInUse(f"moto port {self.requested_port} is already in use") from exc
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto-server", daemon=True)
        self._thread.start()
        response = requests.post(f"{self.endpoint}/moto-api/config", json=MOTO_CONFIG, timeout=10)
        response.raise_for_status()
        return self.endpoint

    def enforce_iam(self) -> None:
        """From now on every request is checked against its caller's IAM policies (moto's
        INITIAL_NO_AUTH_ACTION_COUNT, set to the requests made so far: provisioning was free)."""
        response = requests.post(f"{self.endpoint}/moto-api/reset-auth", data=b"0", timeout=10)
        response.raise_for_status()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        with contextlib.suppress(Exception):
            server.shutdown()
        with contextlib.suppress(Exception):
            server.server_close()  # shutdown() stops serving; this closes the listening socket
        if self._thread is not None:
            self._thread.join(timeout=5)


def configure_logging() -> None:
    """The local stack's processes (the stack, the pollers' process): its own lines at INFO, libraries' at WARNING."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("chalicelib.local").setLevel(logging.INFO)
    for noisy in ("werkzeug", "botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _die_with_parent() -> Any:
    """Linux: a pre-exec hook so the child gets SIGTERM if this process dies without cleaning
    up (e.g. SIGKILL). libc is resolved here, in the parent: the hook itself only calls it."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig, sigterm = 1, int(signal.SIGTERM)

    def hook() -> None:  # pragma: no cover - runs in the child between fork and exec
        prctl(pr_set_pdeathsig, sigterm)

    return hook


class ChaliceProcess:
    """`chalice local --no-autoreload` serving app.py, in its own process group."""

    def __init__(self, *, project_dir: Path, port: int, env: dict[str, str], host: str = LOOPBACK, stage: str = "dev") -> None:
        self.project_dir, self.port, self.host, self.env, self.stage = project_dir, port, host, env, stage
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def command(self) -> list[str]:
        exe = [sys.executable, "-m", "chalicelib.local.chalice_local"]  # `chalice local`, Nagle off
        return [*exe, "local", "--no-autoreload", "--stage", self.stage, "--host", self.host, "--port", str(self.port)]

    def start(self) -> None:
        if not port_is_free(self.port, self.host):
            raise PortInUse(
                f"API port {self.port} is already in use (another `make run`?); pick another with ARGS='--api-port <port>'"
            )
        self.proc = subprocess.Popen(
            self.command(),
            cwd=self.project_dir,
            env=self.env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # own process group: a terminal Ctrl-C reaches us, and we stop it
            preexec_fn=_die_with_parent(),
        )

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, timeout: float, stop: Any = None) -> None:
        """Until the API answers (any HTTP status), the child exits, or the time is up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if stop is not None and stop.is_set():
                raise RuntimeError("stopped while waiting for the API")
            if not self.running():
                code = self.proc.returncode if self.proc else None
                raise RuntimeError(f"chalice local exited with code {code} before serving")
            with contextlib.suppress(requests.RequestException):
                requests.get(f"{self.url}/health", timeout=2)
                return
            time.sleep(0.2)
        raise TimeoutError(f"chalice local did not answer on {self.url} within {timeout:.0f} s")

    def stop(self, timeout: float = 10) -> int | None:
        """SIGTERM the process group, SIGKILL it if it lingers; reap the child."""
        proc = self.proc
        if proc is None:
            return None
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, sig)  # pid == pgid: start_new_session made it the group leader
            try:
                proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                log.warning("chalice local (pid %s) ignored %s", proc.pid, sig.name)
        # Anything left in the group (there should be nothing) goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        return proc.returncode


@contextmanager
def pointed_at(endpoint: str, **env: str) -> Iterator[None]:
    """Point this process's AWS calls (boto3 clients, PynamoDB, settings) at `endpoint`, with the
    extra `WAYBILL_*`/`MOTO_*` variables given, and put everything back afterwards."""
    from ..adapters.aws import reset_clients
    from ..adapters.dynamodb.models import reset_connections
    from ..config import settings

    wanted = {"AWS_ENDPOINT_URL": endpoint, **env}
    saved = {k: os.environ.get(k) for k in wanted}

    def refresh() -> None:
        settings.cache_clear()
        reset_clients()
        reset_connections()

    os.environ.update(wanted)
    refresh()
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        refresh()
