"""The one declaration of every AWS resource Waybill uses.

Both the embedded local stack (`chalicelib.local.provision`) and the CDK app (`infra/`)
build their resources from these definitions, and the runtime takes resource names from
here, so adding a queue or an index happens in exactly one place. Pure data: no boto3.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .domain.notifications import event_types as notification_event_types
from .domain.webhooks import OFFERED_EVENT_TYPES as webhook_event_types

APP_NAME = "waybill"
EVENT_SOURCE = "waybill"
# The stream publisher marks an offered event some active webhook subscription chose (its cached view of
# them, services/webhooks.py `wanted`) with `"webhook": "subscribed"`; only marked events are queued to
# the webhooks-out consumer, so an event nobody subscribed to costs no message and no read there.
WEBHOOK_MARK = "webhook"
SUBSCRIBED = "subscribed"


@dataclass(frozen=True)
class Index:
    name: str
    pk: str
    sk: str
    purpose: str


@dataclass(frozen=True)
class Table:
    name: str
    pk: str
    sk: str
    indexes: tuple[Index, ...]
    stream_view: str
    ttl_attribute: str


@dataclass(frozen=True)
class Queue:
    """An SQS queue feeding one Chalice consumer, with its dead-letter queue."""

    name: str
    handler: str
    max_receive_count: int = 5
    visibility_timeout_s: int = 60
    batch_size: int = 10
    # Batches consumed at once: the SQS event source's ScalingConfig.MaximumConcurrency in AWS
    # (2 is its minimum; sized from the rates at 100 orders/s: docs/design-notes.md "Consumer
    # sizing"). Consumers are idempotent either way.
    max_concurrency: int = 2
    # Poller threads the local stack runs for the queue (one machine, not Lambda's fleet: every idle
    # long poll costs the embedded moto server, so only a queue that takes bursts gets more).
    local_pollers: int = 2

    @property
    def dlq_name(self) -> str:
        return f"{self.name}-dlq"


@dataclass(frozen=True)
class FailureQueue:
    """Where AWS leaves what a function gave up on outside SQS: the stream's on-failure destination
    (the batch's record range), a schedule's dead-letter queue (the invocation it could not make)."""

    name: str
    purpose: str


@dataclass(frozen=True)
class Rule:
    """An EventBridge rule on the bus that routes matching events to a queue."""

    name: str
    detail_types: tuple[str, ...]
    queue: str
    description: str = ""
    detail: dict[str, list[Any]] | None = None  # a further match on the event's detail (e.g. `SUBSCRIBED`)

    @property
    def pattern(self) -> dict[str, Any]:
        pattern: dict[str, Any] = {"source": [EVENT_SOURCE], "detail-type": list(self.detail_types)}
        if self.detail:
            pattern["detail"] = self.detail
        return pattern


@dataclass(frozen=True)
class Bucket:
    name: str
    purpose: str
    cors: bool = False
    expire_days: int | None = None


@dataclass(frozen=True)
class Schedule:
    """A scheduled handler; `rate_setting` names the Settings field holding its rate in minutes."""

    name: str
    handler: str
    rate_setting: str
    description: str = ""


@dataclass(frozen=True)
class Secret:
    """A Secrets Manager secret; its value is set by operators, never by code or templates."""

    name: str
    purpose: str


@dataclass(frozen=True)
class Key:
    """A symmetric KMS key (rotated yearly) that the app encrypts small values with; code names it by
    its alias, `alias/<alias>`."""

    alias: str
    purpose: str


@dataclass(frozen=True)
class Parameter:
    """An SSM parameter: configuration the stack knows only once a resource exists (read at cold
    start), where an environment variable would tie the functions into a dependency cycle."""

    name: str
    purpose: str


@dataclass(frozen=True)
class StateMachine:
    """A Step Functions state machine: `infra/statemachines/<definition>.asl.json`."""

    name: str
    definition: str


@dataclass(frozen=True)
class Topology:
    table: Table
    bus: str
    queues: tuple[Queue, ...]
    rules: tuple[Rule, ...]
    buckets: tuple[Bucket, ...]
    schedules: tuple[Schedule, ...]
    email_identities: tuple[str, ...]
    alerts_topic: str = f"{APP_NAME}-ops-alerts"  # SNS: alarms (dead letters waiting, ...) go here
    secrets: tuple[Secret, ...] = field(default=())
    keys: tuple[Key, ...] = field(default=())
    state_machines: tuple[StateMachine, ...] = field(default=())
    parameters: tuple[Parameter, ...] = field(default=())
    failure_queues: tuple[FailureQueue, ...] = field(default=())

    def queue(self, name: str) -> Queue:
        return next(q for q in self.queues if q.name == name)


TABLE = Table(
    name=f"{APP_NAME}-main",
    pk="PK",
    sk="SK",
    indexes=(
        Index(
            "GSI1",
            "GSI1PK",
            "GSI1SK",
            "owner lists: a customer's orders, campaigns by status, a supplier's deliveries, shipments by tracking number",
        ),
        Index("GSI2", "GSI2PK", "GSI2SK", "a campaign's orders by creation time"),
        Index(
            "GSI3", "GSI3PK", "GSI3SK", "work queues: orders by status, POs by stage, proposals by status, open exceptions ranked"
        ),
        Index(
            "GSI4",
            "GSI4PK",
            "GSI4SK",
            "all orders (and POs, payments, shipments: exports) by creation time; sparse due-deadline shards for the sweep",
        ),
    ),
    stream_view="NEW_AND_OLD_IMAGES",
    ttl_attribute="expires_at",
)

# Consumer sizing at 100 orders/s (issue 20; the arithmetic is in docs/design-notes.md "Consumer sizing"):
# concurrency = messages/s x seconds per message (one batch runs its messages one after another) x headroom.
# notifications ~700 msg/s x ~0.08 s (2 reads + one SES send) = 56, x1.5 -> 90.
NOTIFICATIONS = Queue(name=f"{APP_NAME}-notifications", handler="notifications_consumer", max_concurrency=90)
PO_STAGES = Queue(name=f"{APP_NAME}-po-stages", handler="po_stages_consumer")
PURCHASE_ORDERS = Queue(
    name=f"{APP_NAME}-purchase-orders", handler="purchase_orders_consumer", batch_size=1, visibility_timeout_s=900
)
CAMPAIGN_ORDERS = Queue(
    name=f"{APP_NAME}-campaign-orders", handler="campaign_orders_consumer", batch_size=1, visibility_timeout_s=300
)
# inbound ~1,000 msg/s x ~0.025 s (verify + parse, 1 read + 1 transaction) = 25, x2 -> 50.
INBOUND_WEBHOOKS = Queue(
    name=f"{APP_NAME}-inbound-webhooks",
    handler="inbound_webhooks_consumer",
    visibility_timeout_s=120,
    max_concurrency=50,
    local_pollers=4,
)
SHIPMENTS = Queue(name=f"{APP_NAME}-shipments", handler="shipments_consumer", batch_size=5, visibility_timeout_s=300)
# An export runs `export_chunk_s` / `export_chunk_rows` per invocation, then queues its continuation
# here; a redelivery resumes the run from its checkpoint (the timeout stays the Lambda maximum: the
# budget is checked between pages, and the XLSX step runs in the last invocation).
EXPORTS = Queue(
    name=f"{APP_NAME}-exports", handler="exports_consumer", batch_size=1, visibility_timeout_s=900, max_receive_count=3
)
EXPORTS_BUCKET = f"{APP_NAME}-exports"
# The escalation sweep's continuation: a tick that finds more due than one chunk queues the rest here,
# one bounded chunk per message (services/escalations.py). Its own queue, not another consumer's: its
# function has only the sweep's grants, its dead letters name the sweep, and its chain never waits
# behind a campaign close's or an export's long messages. A chain is serial (one message at a time):
# the default concurrency of 2 is plenty, and one local poller.
SWEEP = Queue(name=f"{APP_NAME}-sweep", handler="sweep_consumer", batch_size=1, visibility_timeout_s=300, local_pollers=1)
COMPLAINTS = Queue(name=f"{APP_NAME}-complaints", handler="complaints_consumer", batch_size=1, visibility_timeout_s=120)
PAYMENTS = Queue(name=f"{APP_NAME}-payments", handler="payments_consumer", batch_size=1, visibility_timeout_s=120)
STREAM_FAILURES = FailureQueue(
    name=f"{APP_NAME}-stream-failures",
    purpose="the stream publisher's on-failure destination: the shard and sequence range of records it gave up on",
)
SCHEDULE_FAILURES = FailureQueue(
    name=f"{APP_NAME}-schedule-failures",
    purpose="EventBridge Scheduler's dead-letter queue: scheduled invocations that failed every retry",
)
# webhooks-out <= ~1,700 msg/s (every offered event subscribed; only subscribed ones are queued) x ~0.3 s
# (the delivery's create + a subscriber's POST, p50 well under its timeout + the attempt's log) = 510 -> 600;
# batches of 5 so one slow subscriber holds back few others.
WEBHOOKS_OUT = Queue(
    name=f"{APP_NAME}-webhooks-out",
    handler="webhooks_out_consumer",
    batch_size=5,
    visibility_timeout_s=300,
    max_concurrency=600,
)

PAYMENT_GATEWAY_SECRET = f"{APP_NAME}/payment-gateway"
BANK_SECRET = f"{APP_NAME}/bank"
# The key the customer's order-page links are signed with (domain/track_links.py): `{"current": k,
# "previous": k}`; provisioning writes a random current key locally and in tests.
TRACK_LINKS_SECRET = f"{APP_NAME}/track-links"
# Credentials of the outbound HTTP APIs: JSON `{"header": "Authorization", "value": "Bearer ..."}`,
# written by operators (docs/operations.md); `{}` sends no credential.
CREDENTIAL_SECRETS = (
    Secret(name=PAYMENT_GATEWAY_SECRET, purpose="payment gateway credential: the header sent with captures and refunds"),
    Secret(name=BANK_SECRET, purpose="bank API credential: the header sent with payment orders"),
)

TOPOLOGY = Topology(
    table=TABLE,
    bus=f"{APP_NAME}-bus",
    queues=(
        NOTIFICATIONS,
        CAMPAIGN_ORDERS,
        PO_STAGES,
        PURCHASE_ORDERS,
        INBOUND_WEBHOOKS,
        SHIPMENTS,
        EXPORTS,
        WEBHOOKS_OUT,
        COMPLAINTS,
        PAYMENTS,
        SWEEP,
    ),
    rules=(
        Rule(
            name=f"{APP_NAME}-notifications",
            detail_types=notification_event_types(),
            queue=NOTIFICATIONS.name,
            description="every event a notification rule (domain/notifications.py) turns into e-mail",
        ),
        Rule(
            name=f"{APP_NAME}-campaign-cancellations",
            detail_types=("campaign.cancelled", "order.approved", "order.rejected", "order.cancelled"),
            queue=CAMPAIGN_ORDERS.name,
            description="a cancelled campaign cancels its open orders; an order leaving on_hold resolves its "
            "exception and, when it was the last one a campaign's close waited for, resumes the close",
        ),
        Rule(
            name=f"{APP_NAME}-po-stages",
            detail_types=("po.stage_opened", "po.stage_overdue"),
            queue=PO_STAGES.name,
            description="the supplier workflow opens a stage (with its task token) or misses a deadline",
        ),
        Rule(
            name=f"{APP_NAME}-campaign-close",
            detail_types=("campaign.ended", "campaign.close_resumed", "po.acknowledge_completed"),
            queue=PURCHASE_ORDERS.name,
            description="an ended campaign is closed into POs (again once the held orders it waited for are "
            "decided); an acknowledged PO is shared out over its orders and lost lines are refunded",
        ),
        Rule(
            name=f"{APP_NAME}-inbound-webhooks",
            detail_types=("webhook.received",),
            queue=INBOUND_WEBHOOKS.name,
            description="a verified, stored inbound webhook (carrier, bank, supplier system) is processed",
        ),
        Rule(
            name=f"{APP_NAME}-shipments",
            detail_types=(
                "shipment.recorded",
                "shipment.corrected",
                "shipment.status_changed",
                "shipment.tracking_opened",
                "shipment.tracking_stale",
            ),
            queue=SHIPMENTS.name,
            description="a recorded shipment dispatches its orders and starts tracking; a carrier's status change "
            "tells the customers and completes deliveries; the tracking workflow opens a wait (with its task "
            "token) or finds tracking gone quiet",
        ),
        Rule(
            name=f"{APP_NAME}-complaints",
            detail_types=("complaint.plan_accepted", "complaint.return_received"),
            queue=COMPLAINTS.name,
            description="an accepted complaint plan is carried out (refunds through the payment gateway, the "
            "return authorised, the replacement asked of the supplier); a received return's refunds "
            "are sent",
        ),
        Rule(
            name=f"{APP_NAME}-payments",
            detail_types=("order.refund_due",),
            queue=PAYMENTS.name,
            description="a refund to a customer fell due (lines a supplier refused on a prepaid order, a cancelled "
            "prepaid order, a staff refund): sent through the payment gateway once",
        ),
        Rule(
            name=f"{APP_NAME}-exports",
            detail_types=("export.requested",),
            queue=EXPORTS.name,
            description="a requested export (POST /staff/exports) runs: rows streamed to S3, each record marked",
        ),
        Rule(
            name=f"{APP_NAME}-webhooks-out",
            detail_types=webhook_event_types,
            queue=WEBHOOKS_OUT.name,
            description="every event offered to webhook subscribers (domain/webhooks.py) that an active subscription "
            "chose (marked by the stream publisher) is delivered to those subscribed",
            detail={WEBHOOK_MARK: [SUBSCRIBED]},
        ),
    ),
    buckets=(
        Bucket(name=f"{APP_NAME}-uploads", purpose="supplier invoices and product files", cors=True),
        Bucket(name=EXPORTS_BUCKET, purpose="CSV and XLSX exports", expire_days=90),
    ),
    schedules=(
        Schedule(
            name=f"{APP_NAME}-end-campaigns",
            handler="end_campaigns",
            rate_setting="end_campaigns_rate_minutes",
            description="mark live campaigns whose end has passed as ended",
        ),
        Schedule(
            name=f"{APP_NAME}-escalation-sweep",
            handler="escalation_sweep",
            rate_setting="escalation_sweep_rate_minutes",
            description="read the due-deadline index: open exceptions after their grace period, wake "
            "snoozed ones, escalate those left open, raise overdue deadlines",
        ),
        Schedule(
            name=f"{APP_NAME}-daily-digest",
            handler="daily_digest",
            rate_setting="daily_digest_rate_minutes",
            description="one e-mail per person who chose a digest and per team: open exceptions and what was held back",
        ),
        Schedule(
            name=f"{APP_NAME}-exports",
            handler="scheduled_exports",
            rate_setting="exports_rate_minutes",
            description="run every exporter (resuming an interrupted run first), each chain in order: "
            "CSV files in the exports bucket, each exported record marked",
        ),
    ),
    email_identities=("noreply@waybill.example",),
    failure_queues=(STREAM_FAILURES, SCHEDULE_FAILURES),
    state_machines=(
        StateMachine(name=f"{APP_NAME}-supplier-fulfilment", definition="supplier_fulfilment"),
        StateMachine(name=f"{APP_NAME}-delivery-tracking", definition="delivery_tracking"),
    ),
    secrets=(
        Secret(
            name=f"{APP_NAME}/webhooks/inbound",
            purpose="per-sender signing secrets of inbound webhooks (carriers, bank, suppliers)",
        ),
        *CREDENTIAL_SECRETS,
        Secret(name=TRACK_LINKS_SECRET, purpose="signing key of the customers' order-page links (current and previous)"),
    ),
    keys=(
        Key(
            alias=f"{APP_NAME}-webhook-secrets",
            purpose="encrypts outbound webhook signing secrets in the table (context: the subscription id)",
        ),
    ),
    parameters=(
        # WAYBILL_ variables the functions read at cold start (config.deployed_variables): the Cognito
        # client id (the tokens' audience) and the admin site's URL. The client names the site's URL
        # and the site routes /api/* to the API, so these cannot be environment variables.
        Parameter(
            name=f"/{APP_NAME}/deployed-settings",
            purpose="WAYBILL_ settings known once the stack exists (JSON): token audience, public URL",
        ),
    ),
)


STATE_MACHINE_DIR = "infra/statemachines"


def definition_substitutions(topology: Topology, *, bus_arn: str) -> dict[str, str]:
    """The `${...}` values in the ASL files, the same locally and in the CDK stack."""
    return {"BusName": topology.bus, "BusArn": bus_arn, "EventSource": EVENT_SOURCE}


# ------------------------------------------------------------------ stages

# Stages that run against the local stack or moto keep the unscoped names above, so nothing local
# changes; every other stage (`cdk synth -c stage=prod`) scopes each physical name with `physical`.
UNSCOPED_STAGES = frozenset({"", "local", "test"})


def physical(name: str, stage: str) -> str:
    """`name` as deployed in `stage`: the stage follows the app's prefix (`waybill-main` ->
    `waybill-prod-main`, `waybill/webhooks/inbound` -> `waybill/prod/webhooks/inbound`,
    `/waybill/deployed-settings` -> `/waybill/prod/deployed-settings`), so two stages share an
    account and region, and IAM can still scope a grant to one stage's names."""
    if stage in UNSCOPED_STAGES:
        return name
    lead = "/" if name.startswith("/") else ""
    bare = name.removeprefix("/")
    for separator in ("-", "/"):
        if bare.startswith(APP_NAME + separator):
            return f"{lead}{APP_NAME}{separator}{stage}{separator}{bare[len(APP_NAME) + 1 :]}"
    return f"{name}-{stage}"


def staged(topology: Topology, stage: str) -> Topology:
    """The topology with every physical name scoped to `stage` (see `physical`); queues keep their
    handlers and every other setting, rules follow their queues."""
    from dataclasses import replace

    def name(value: str) -> str:
        return physical(value, stage)

    return replace(
        topology,
        table=replace(topology.table, name=name(topology.table.name)),
        bus=name(topology.bus),
        queues=tuple(replace(q, name=name(q.name)) for q in topology.queues),
        rules=tuple(replace(r, name=name(r.name), queue=name(r.queue)) for r in topology.rules),
        buckets=tuple(replace(b, name=name(b.name)) for b in topology.buckets),
        schedules=tuple(replace(s, name=name(s.name)) for s in topology.schedules),
        alerts_topic=name(topology.alerts_topic),
        secrets=tuple(replace(s, name=name(s.name)) for s in topology.secrets),
        state_machines=tuple(replace(m, name=name(m.name)) for m in topology.state_machines),
        parameters=tuple(replace(p, name=name(p.name)) for p in topology.parameters),
        keys=tuple(replace(k, alias=name(k.alias)) for k in topology.keys),
        failure_queues=tuple(replace(q, name=name(q.name)) for q in topology.failure_queues),
    )
