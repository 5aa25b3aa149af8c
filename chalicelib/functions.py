"""The one definition of every Lambda function Chalice deploys: its settings and its permissions.

The CDK app (`infra/stacks.py`) turns each `Function` into the function's settings, its event
source mapping and its own IAM role; the local stack (`chalicelib.local`) creates a moto role per
function with the same policy, runs each handler under that role's credentials, and applies the
same timeout and stream retry semantics in its pollers and scheduler. Pure data, plus
`policy_document`, which renders the symbolic statements as IAM JSON for both sides.

Permissions are symbolic (`Grant`: actions on `Ref`s to topology resources) so neither side
spells an ARN. Chalice puts every route in one function, `api_handler`: the webhook receivers
(`/webhooks/...`) live there, so they share its role; the authorizer (`jwt_auth`) is its own
function and reaches only what verifying a token needs (its settings parameter, its logs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from .topology import (
    BANK_SECRET,
    CAMPAIGN_ORDERS,
    COMPLAINTS,
    EXPORTS,
    EXPORTS_BUCKET,
    INBOUND_WEBHOOKS,
    NOTIFICATIONS,
    PAYMENT_GATEWAY_SECRET,
    PAYMENTS,
    PO_STAGES,
    PURCHASE_ORDERS,
    SCHEDULE_FAILURES,
    SHIPMENTS,
    STREAM_FAILURES,
    SWEEP,
    TOPOLOGY,
    TRACK_LINKS_SECRET,
    WEBHOOKS_OUT,
    Queue,
    Schedule,
)

RefKind = Literal[
    "table", "indexes", "stream", "queue", "bucket_objects", "bucket", "bus", "state_machines", "executions", "secret",
    "parameter", "email_identity", "log_group", "key", "user_pool", "any",
]  # fmt: skip


@dataclass(frozen=True)
class Ref:
    """A topology resource (or part of one) a statement applies to; `name` is its topology name,
    `prefix` narrows bucket objects to keys under it."""

    kind: RefKind
    name: str = ""
    prefix: str = ""


@dataclass(frozen=True)
class Grant:
    """One IAM statement: these actions (named, never wildcards) on these resources."""

    actions: tuple[str, ...]
    resources: tuple[Ref, ...]


# Items whose creation the stream publisher puts on the bus (the `kind` attribute of the table's items):
# an audit event, a newly stored inbound webhook.
PUBLISHED_KINDS = ("event", "inbox")
# The publisher's filter: only those INSERTs reach it. Every other write (an order's or a parcel's
# update, a counter, a marker: most of the stream, with both images) is dropped by Lambda before any
# invocation, so it costs no invocation and no transfer of its images.
PUBLISHED_RECORDS: dict[str, Any] = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"kind": {"S": list(PUBLISHED_KINDS)}}}}


@dataclass(frozen=True)
class StreamSource:
    """The DynamoDB stream event source mapping: Lambda's retry semantics and its filter criteria (a
    record reaches the function when it matches one of `filters`, Lambda's event filter patterns over
    the record as the function receives it), applied locally too."""

    filters: tuple[dict[str, Any], ...] = ()
    batch_size: int = 100
    starting_position: str = "TRIM_HORIZON"
    maximum_retry_attempts: int = 5
    maximum_record_age_s: int = 3600  # AWS accepts 60..604800 (or -1: forever)
    bisect_on_error: bool = True
    on_failure_queue: str = STREAM_FAILURES.name


@dataclass(frozen=True)
class ScheduleTarget:
    """How a scheduled run is retried and where one given up on is left: EventBridge Scheduler's
    retry policy and dead-letter queue cover invoking the function (throttles, permissions);
    Lambda's asynchronous invocation settings (the same numbers, the same queue) cover the run
    failing. Locally the scheduler applies them to the run."""

    schedule: Schedule
    maximum_retry_attempts: int = 2
    maximum_event_age_s: int = 3600
    dead_letter_queue: str = SCHEDULE_FAILURES.name


@dataclass(frozen=True)
class Function:
    name: str  # Chalice's function name (`lambda_functions` key, and the handler's name in app.py)
    timeout_s: int
    memory_mb: int = 512
    reserved_concurrency: int | None = None  # None: unreserved (new accounts may reserve none at all)
    grants: tuple[Grant, ...] = ()
    queue: Queue | None = None  # an SQS consumer: batch size and maximum concurrency are the queue's
    stream: StreamSource | None = None
    schedule: ScheduleTarget | None = None
    purpose: str = ""

    @property
    def kind(self) -> str:
        if self.queue:
            return "sqs"
        if self.stream:
            return "stream"
        if self.schedule:
            return "schedule"
        return "api" if self.name == API_HANDLER else "authorizer"


API_HANDLER = "api_handler"
AUTHORIZER = "jwt_auth"

# ------------------------------------------------------------------ grants by capability

TABLE = TOPOLOGY.table.name
UPLOADS_BUCKET = TOPOLOGY.buckets[0].name
INBOUND_SECRET = TOPOLOGY.secrets[0].name
SETTINGS_PARAMETER = TOPOLOGY.parameters[0].name


def _table(*actions: str) -> Grant:
    return Grant(actions, (Ref("table", TABLE), Ref("indexes", TABLE)))


READ = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:DescribeTable")
# Transactions need the actions of their parts: PynamoDB commits each aggregate in one TransactWriteItems.
WRITE = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem")
DATA = _table(*READ, *WRITE)
# Every function: its settings parameter (read at cold start) and X-Ray (no resource-level permissions).
BASE = (
    Grant(("ssm:GetParameter",), (Ref("parameter", SETTINGS_PARAMETER),)),
    Grant(("xray:PutTraceSegments", "xray:PutTelemetryRecords"), (Ref("any"),)),
)
# The deployment's own state machines, whichever the topology declares (resolved per deployment).
WORKFLOWS = (
    Grant(
        ("states:StartExecution", "states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"),
        (Ref("state_machines"),),
    ),
    Grant(("states:StopExecution",), (Ref("executions"),)),
)
MAIL = Grant(("ses:SendEmail", "ses:SendRawEmail"), tuple(Ref("email_identity", e) for e in TOPOLOGY.email_identities))
UPLOADS = (  # presigned uploads and downloads are signed with the function's credentials
    Grant(("s3:GetObject", "s3:PutObject"), (Ref("bucket_objects", UPLOADS_BUCKET),)),
    Grant(("s3:ListBucket",), (Ref("bucket", UPLOADS_BUCKET),)),
)
EXPORT_FILES = (  # multipart uploads are PutObject; reading back (XLSX, sizes) is GetObject
    Grant(("s3:GetObject", "s3:PutObject"), (Ref("bucket_objects", EXPORTS_BUCKET),)),
    # without it a missing key answers 403, not 404
    Grant(("s3:ListBucket",), (Ref("bucket", EXPORTS_BUCKET),)),
)
API_EXPORTS = (
    Grant(("s3:GetObject",), (Ref("bucket_objects", EXPORTS_BUCKET),)),  # presigned downloads of exports
    # packing lists (services/packing.py) are written by the API, under their own prefix
    Grant(("s3:PutObject",), (Ref("bucket_objects", EXPORTS_BUCKET, prefix="packing-lists/"),)),
)
# A campaign close queues its chunks on the purchase-orders queue (adapters/queues.py): the staff
# route its first, the purchase-orders consumer each next one.
CLOSE_CHUNKS = Grant(("sqs:GetQueueUrl", "sqs:SendMessage"), (Ref("queue", PURCHASE_ORDERS.name),))
# The escalation sweep queues its continuation on its own queue: the schedule's tick the first, the
# sweep consumer each next one.
SWEEP_CHUNKS = Grant(("sqs:GetQueueUrl", "sqs:SendMessage"), (Ref("queue", SWEEP.name),))
# A bounded export run queues its continuation on the exports queue: the exports consumer, and the
# schedule that starts or resumes runs.
EXPORT_CHUNKS = Grant(("sqs:GetQueueUrl", "sqs:SendMessage"), (Ref("queue", EXPORTS.name),))
INBOUND_SECRETS = Grant(("secretsmanager:GetSecretValue",), (Ref("secret", INBOUND_SECRET),))
# Staff issue, rotate and revoke suppliers' inbound webhook secrets (services/supplier_access.py), and
# invite and disable suppliers' users in the user pool (adapters/directory.py): the API only.
SUPPLIER_ACCESS = (
    Grant(("secretsmanager:PutSecretValue",), (Ref("secret", INBOUND_SECRET),)),
    Grant(
        ("cognito-idp:AdminCreateUser", "cognito-idp:AdminAddUserToGroup", "cognito-idp:AdminDisableUser"),
        (Ref("user_pool"),),
    ),
)
# The credentials sent with captures and refunds (adapters/gateway.py) and with payment orders
# (adapters/bank.py), granted to every function whose handler reaches that adapter.
GATEWAY = Grant(("secretsmanager:GetSecretValue",), (Ref("secret", PAYMENT_GATEWAY_SECRET),))
BANK = Grant(("secretsmanager:GetSecretValue",), (Ref("secret", BANK_SECRET),))
# The order-page link key: the API mints and checks links, the mail sender mints the ones in customer mail.
TRACK_LINKS = Grant(("secretsmanager:GetSecretValue",), (Ref("secret", TRACK_LINKS_SECRET),))
# Outbound webhook signing secrets are sealed (on subscribe and rotate) and opened (to sign) with this key.
SEALING = Grant(("kms:Encrypt", "kms:Decrypt"), tuple(Ref("key", k.alias) for k in TOPOLOGY.keys))


def _consumes(queue: Queue) -> Grant:
    """What Lambda's SQS event source mapping does with the function's role."""
    return Grant(
        ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"),
        (Ref("queue", queue.name),),
    )


def _consumer(queue: Queue, timeout_s: int, *grants: Grant, memory_mb: int = 512, purpose: str = "") -> Function:
    return Function(
        name=queue.handler,
        timeout_s=timeout_s,
        memory_mb=memory_mb,
        grants=(*BASE, _consumes(queue), *grants),
        queue=queue,
        purpose=purpose,
    )


def _scheduled(name: str, timeout_s: int, *grants: Grant, purpose: str = "") -> Function:
    schedule = next(s for s in TOPOLOGY.schedules if s.handler == name)
    # Scheduler invokes asynchronously: Lambda retries a failed run, then sends it to this queue with the function's role.
    failed = Grant(("sqs:SendMessage",), (Ref("queue", SCHEDULE_FAILURES.name),))
    return Function(
        name=name, timeout_s=timeout_s, grants=(*BASE, *grants, failed), schedule=ScheduleTarget(schedule), purpose=purpose
    )


# Each function's grants follow the adapters its handler reaches (its imports, read statically)
# and what those calls need; tests/infra/test_functions.py checks the template carries exactly these.
FUNCTIONS: tuple[Function, ...] = (
    Function(
        name=API_HANDLER,
        timeout_s=30,  # API Gateway gives up after 29 s anyway
        grants=(
            *BASE,
            DATA,
            *WORKFLOWS,
            MAIL,
            *UPLOADS,
            *API_EXPORTS,
            INBOUND_SECRETS,
            *SUPPLIER_ACCESS,
            GATEWAY,
            BANK,
            SEALING,
            TRACK_LINKS,
            CLOSE_CHUNKS,
        ),
        purpose="every route, the signed webhook receivers included (Chalice puts all routes in one function)",
    ),
    Function(
        name=AUTHORIZER,
        timeout_s=10,
        memory_mb=256,
        grants=BASE,  # verifies a JWT against the issuer's public keys: no data, no secrets
        purpose="API Gateway's token authorizer",
    ),
    _consumer(NOTIFICATIONS, 30, DATA, MAIL, TRACK_LINKS),
    _consumer(CAMPAIGN_ORDERS, 120, DATA, GATEWAY),
    _consumer(PO_STAGES, 30, DATA, *WORKFLOWS, GATEWAY, BANK),
    # A campaign close runs one bounded chunk per message (a redelivery has one effect); settling an
    # acknowledged PO still reads its orders in one invocation, up to the Lambda maximum.
    _consumer(PURCHASE_ORDERS, 900, DATA, *WORKFLOWS, MAIL, GATEWAY, CLOSE_CHUNKS),
    _consumer(INBOUND_WEBHOOKS, 60, DATA, *WORKFLOWS, INBOUND_SECRETS, GATEWAY, BANK),
    _consumer(SHIPMENTS, 120, DATA, *WORKFLOWS, GATEWAY),
    # An export marks each exported record with BatchWriteItem (ExportMarkerItem.batch_write).
    _consumer(EXPORTS, 900, _table(*READ, *WRITE, "dynamodb:BatchWriteItem"), *EXPORT_FILES, EXPORT_CHUNKS),
    _consumer(COMPLAINTS, 60, DATA, GATEWAY),
    _consumer(PAYMENTS, 60, DATA, GATEWAY),
    _consumer(WEBHOOKS_OUT, 120, DATA, SEALING),
    # The sweep's continuation: one chunk of `sweep_chunk` due entries per message, the tick's grants.
    _consumer(SWEEP, 300, DATA, GATEWAY, SWEEP_CHUNKS),
    Function(
        name="stream_publisher",
        timeout_s=60,
        grants=(
            *BASE,
            # What Lambda's stream event source mapping does with the function's role:
            Grant(("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"), (Ref("stream", TABLE),)),
            Grant(("dynamodb:ListStreams",), (Ref("any"),)),
            Grant(("sqs:SendMessage",), (Ref("queue", STREAM_FAILURES.name),)),  # the on-failure destination
            Grant(("events:PutEvents",), (Ref("bus", TOPOLOGY.bus),)),
            # which event types active webhook subscriptions chose (one Query per cache period), and
            # staff's settings overrides (services/tunables.py: one GetItem per settings_cache_s)
            _table("dynamodb:Query", "dynamodb:GetItem"),
        ),
        stream=StreamSource(filters=(PUBLISHED_RECORDS,)),
        purpose="puts the audit events of each stream batch on the bus, marking those a webhook subscription chose",
    ),
    _scheduled("end_campaigns", 60, DATA, GATEWAY),
    _scheduled("escalation_sweep", 300, DATA, GATEWAY, SWEEP_CHUNKS),
    _scheduled("daily_digest", 300, DATA, MAIL),
    _scheduled("scheduled_exports", 900, _table(*READ, *WRITE, "dynamodb:BatchWriteItem"), *EXPORT_FILES, EXPORT_CHUNKS),
)


# The state machines' role: their tasks put stage events on the bus (putEvents.waitForTaskToken).
STATE_MACHINE_GRANTS: tuple[Grant, ...] = (Grant(("events:PutEvents",), (Ref("bus", TOPOLOGY.bus),)),)


def function(name: str) -> Function:
    return next(f for f in FUNCTIONS if f.name == name)


# ------------------------------------------------------------------ rendering


class Arns(Protocol):
    """Where the symbolic references point: CloudFormation tokens in the CDK app, moto's ARNs locally."""

    def arn(self, ref: Ref) -> list[str]: ...


def policy_document(fn: Function, arns: Arns) -> dict[str, Any]:
    """The function's IAM policy: one statement per grant, plus writing its own logs."""
    logs = Grant(("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"), (Ref("log_group", fn.name),))
    return grants_document((logs, *fn.grants), arns)


def grants_document(grants: tuple[Grant, ...], arns: Arns) -> dict[str, Any]:
    """IAM JSON for `grants`: one statement each, its references resolved by `arns`."""
    statements = [
        {"Effect": "Allow", "Action": list(g.actions), "Resource": [a for ref in g.resources for a in arns.arn(ref)]}
        for g in grants
    ]
    return {"Version": "2012-10-17", "Statement": statements}


@dataclass
class ArnFormat:
    """Render references from a few formatting functions (both sides differ only in these)."""

    partition: str
    region: str
    account: str
    table_arn: Callable[[str], str]
    stream_arn: Callable[[str], str]
    queue_arn: Callable[[str], str]
    bus_arn: Callable[[str], str]
    state_machine_arns: Callable[[], dict[str, str]]  # every state machine of the deployment, by name
    secret_arn: Callable[[str], str]
    bucket_arn: Callable[[str], str]
    log_group: Callable[[str], str]
    key_arn: Callable[[str], str]  # by alias
    # The identities the app may send from; by default each reference's own name (the local stack's
    # address), a deployment's domain identity in AWS.
    email_identity_arns: Callable[[str], list[str]] | None = None
    physical: Callable[[str], str] = str  # a topology name as this deployment spells it (its stage's)
    # The user pool suppliers' users are made in: the stack's pool in AWS; locally (no pool: the dev
    # directory) any pool of the account.
    user_pool_arn: Callable[[], str] | None = None

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account}:{resource}"

    def arn(self, ref: Ref) -> list[str]:
        kind, name = ref.kind, ref.name
        if kind == "any":
            return ["*"]
        if kind == "table":
            return [self.table_arn(name)]
        if kind == "indexes":
            return [f"{self.table_arn(name)}/index/{ix.name}" for ix in TOPOLOGY.table.indexes]
        if kind == "stream":
            return [self.stream_arn(name)]
        if kind == "queue":
            return [self.queue_arn(name)]
        if kind == "bucket":
            return [self.bucket_arn(name)]
        if kind == "bucket_objects":
            return [f"{self.bucket_arn(name)}/{ref.prefix}*"]
        if kind == "bus":
            return [self.bus_arn(name)]
        if kind == "state_machines":
            return list(self.state_machine_arns().values())
        if kind == "executions":
            return [self._arn("states", f"execution:{machine}:*") for machine in self.state_machine_arns()]
        if kind == "secret":
            return [self.secret_arn(name)]
        if kind == "parameter":
            return [self._arn("ssm", f"parameter/{self.physical(name).lstrip('/')}")]
        if kind == "email_identity":
            if self.email_identity_arns is not None:
                return self.email_identity_arns(name)
            return [self._arn("ses", f"identity/{name}")]
        if kind == "key":
            return [self.key_arn(name)]
        if kind == "user_pool":
            return [self.user_pool_arn() if self.user_pool_arn is not None else self._arn("cognito-idp", "userpool/*")]
        if kind == "log_group":
            group = self._arn("logs", f"log-group:{self.log_group(name)}")
            return [group, f"{group}:*"]
        raise ValueError(f"unknown reference kind {kind}")
