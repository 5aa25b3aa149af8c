"""Typed events: what travels on the bus, one pydantic model per event type.

Two families share the bus. Domain events are the audit events the stream publisher puts there
(handlers/publisher.py): one envelope (`id`, `type`, `subject_type`, `subject_id`, `at`, `actor`,
statuses, the customer note, `data`) whose `data` is modelled per type where a consumer or a
subscriber relies on it, and open otherwise (extra facts are kept, never dropped). Workflow events
are what the Step Functions machines put there (`po.stage_opened`, `po.stage_overdue`,
`shipment.tracking_opened`, `shipment.tracking_stale`): no envelope and no id, so their
idempotency key is derived from what makes each one unique.

`parse` is the one way from a queue message to a typed event (handlers/batch.py calls it); an
event of a type not in the catalogue, or one that does not fit its model, raises `BadEvent`. The
JSON Schemas of every model are published in the OpenAPI document (api/openapi.py).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_serializer

from .domain.audit import EVENT_NAMES
from .domain.campaigns import CampaignAction
from .domain.complaints import ComplaintAction
from .domain.notifications import RULES
from .domain.orders import OrderAction
from .domain.purchase_orders import STAGES
from .domain.webhooks import OFFERED_EVENT_TYPES


class BadEvent(ValueError):
    """A message that is no event of the catalogue: not JSON, an unknown type, or not its model's shape."""


def _key(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


# ---------------------------------------------------------------- domain events (the audit envelope)


class Actor(BaseModel):
    """Who caused the event (`system` for the app itself)."""

    model_config = ConfigDict(frozen=True)
    sub: str
    role: str


class EventData(BaseModel):
    """Facts and references of an event (never internal notes nor staff-only data). Every type may
    carry more than its model declares: extra facts are kept as they are."""

    model_config = ConfigDict(extra="allow", frozen=True)

    def facts(self) -> dict[str, Any]:
        """All facts, declared and extra, as JSON values (for mail rendering and webhook payloads)."""
        return self.model_dump(mode="json", exclude_unset=True)


class DomainEvent(BaseModel):
    """The envelope of every domain event, exactly as the stream publisher emits it."""

    model_config = ConfigDict(frozen=True)
    family: ClassVar[str] = "domain"

    id: str = Field(min_length=1)
    type: str
    subject_type: str
    subject_id: str
    at: datetime
    actor: Actor
    from_status: str | None = None
    to_status: str | None = None
    customer_note: str | None = None
    has_internal_note: bool = False
    data: EventData = Field(default_factory=EventData)

    @field_serializer("at")
    def _at(self, at: datetime) -> str:
        return at.isoformat()  # as the publisher writes it (`+00:00`, not `Z`)

    @property
    def idempotency_key(self) -> str:
        return self.id

    def payload(self) -> dict[str, Any]:
        """The event as JSON values, with every fact of its data (the bus detail)."""
        body = self.model_dump(mode="json", exclude={"data"})
        body["data"] = self.data.facts()
        return body


class EventRefs(EventData):
    """The references an event of an order, a PO, a complaint or an exception may name (the
    notifications consumer reads the supplier, the campaign and the PO they point to)."""

    order_id: str | None = None
    campaign_id: str | None = None
    supplier_id: str | None = None
    po_id: str | None = None


class EventLine(BaseModel):
    """One order line an event names (lines lost, cancelled or asked to be cancelled)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    sku: str = ""
    name: str = ""
    quantity: int = 0
    amount_cents: int = 0


class OrderData(EventRefs):
    customer_email: str | None = None
    customer_locale: str | None = None  # order.placed: the language the order was placed in (chalicelib/i18n)
    status: str | int | None = None  # the order's status; on order.refund_failed, the gateway's HTTP status
    total_cents: int | None = None
    currency: str | None = None
    kind: str | None = None  # order.payment_recorded: how the money came
    # A parcel's events (order.shipped, order.delivered, ...): services/shipment_records.py `refs`.
    carrier_name: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    # Lines lost or cancelled, and what that does to the money.
    lines: list[EventLine] | None = None
    refund_cents: int | None = None
    payable_cents: int | None = None
    whole_order: bool = False
    amount_cents: int | None = None  # order.refund_*: the refund's amount
    reason: str | None = None
    # A supplier's part after the close (cancellation requests, a new ship-to).
    reference: str | None = None
    request_id: str | None = None
    whole_delivery: bool = False
    tell_customer: bool = False


class POData(EventRefs):
    ordered_cents: int | None = None
    currency: str | None = None
    stage: str | None = None
    deadline: str | None = None
    reminders: int | None = None


class ComplaintData(EventRefs):
    complaint_id: str | None = None
    customer_email: str | None = None
    reason: str | None = None
    currency: str | None = None
    question: str | None = None
    refund_cents: int | None = None
    amount_cents: int | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    lines_text: str | None = None


class ExceptionDetails(BaseModel):
    """What an exception says about its subject (per kind; the facts its e-mails read are declared:
    an overdue offline payment, an order on hold, a parcel gone quiet)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    order_id: str | None = None
    customer_email: str | None = None
    amount_cents: int | None = None
    total_cents: int | None = None
    currency: str | None = None
    hold_reasons: list[str] | None = None
    decide_by: str | None = None
    campaign_ends_at: str | None = None
    # tracking_stale: the shipment (services/shipment_records.py `refs`) and its silence.
    po_id: str | None = None
    carrier_name: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    order_ids: list[str] | None = None
    last_event_at: str | None = None
    abandoned: bool = False


class ExceptionData(EventRefs):
    """What every exception event carries (services/exceptions.py `event_data`)."""

    exception_id: str | None = None
    kind: str | None = None
    title: str | None = None
    severity: str | None = None
    owner: str | None = None
    subject_type: str | None = None
    subject_id: str | None = None
    count: int | None = None
    level: int | None = None
    assignee: str | None = None
    target: str | None = None  # exception.escalated: whom the level goes to
    customer_email: str | None = None  # usually in the details (an overdue payment's customer)
    details: ExceptionDetails | None = None


class RefundDueData(EventData):
    order_id: str | None = None
    refund_id: str | None = None


class ShipmentData(EventData):
    carrier: str
    tracking_number: str
    previous_execution_arn: str | None = None


class ShipmentStatusChangedData(ShipmentData):
    shipment_id: str | None = None  # every status change names it (`shipment_records.refs`)
    carrier_code: str | None = None
    occurred_at: datetime | None = None
    description: str | None = None
    source: str | None = None  # "carrier", or "manual" (recorded by hand: its request followed it up)


class WebhookReceivedData(EventData):
    provider: str
    webhook_id: str
    event_type: str | None = None
    body: str | None = None  # absent when too big for the bus: read back from the inbox


class OrderEvent(DomainEvent):
    data: OrderData = Field(default_factory=OrderData)


class POEvent(DomainEvent):
    data: POData = Field(default_factory=POData)


class ComplaintEvent(DomainEvent):
    data: ComplaintData = Field(default_factory=ComplaintData)


class CampaignEvent(DomainEvent):
    pass


class ExceptionEvent(DomainEvent):
    data: ExceptionData = Field(default_factory=ExceptionData)


class CampaignEnded(CampaignEvent):
    type: Literal["campaign.ended"]


class CampaignCloseResumed(CampaignEvent):
    type: Literal["campaign.close_resumed"]


class CampaignCancelled(CampaignEvent):
    type: Literal["campaign.cancelled"]


class OrderDecided(OrderEvent):
    """A held order's decision (or any approval, rejection, cancellation): `from_status` says whether it was held."""

    type: Literal["order.approved", "order.rejected", "order.cancelled"]


class OrderRefundDue(DomainEvent):
    type: Literal["order.refund_due"]
    data: RefundDueData = Field(default_factory=RefundDueData)


class POAcknowledgeCompleted(POEvent):
    type: Literal["po.acknowledge_completed"]


class ComplaintPlanAccepted(ComplaintEvent):
    type: Literal["complaint.plan_accepted"]


class ComplaintReturnReceived(ComplaintEvent):
    type: Literal["complaint.return_received"]


class ShipmentRecorded(DomainEvent):
    type: Literal["shipment.recorded"]
    data: ShipmentData


class ShipmentCorrected(DomainEvent):
    type: Literal["shipment.corrected"]
    data: ShipmentData


class ShipmentStatusChanged(DomainEvent):
    type: Literal["shipment.status_changed"]
    data: ShipmentStatusChangedData


class ExportRequested(DomainEvent):
    type: Literal["export.requested"]


class WebhookReceived(DomainEvent):
    type: Literal["webhook.received"]
    data: WebhookReceivedData


# ---------------------------------------------------------------- workflow events (Step Functions)


class WorkflowEvent(BaseModel):
    """An event a state machine put on the bus (no envelope, no id)."""

    model_config = ConfigDict(frozen=True, extra="allow")
    family: ClassVar[str] = "workflow"
    type: ClassVar[str]

    @property
    def idempotency_key(self) -> str:
        raise NotImplementedError


class StageOpened(WorkflowEvent):
    """The supplier workflow waits on a stage with this task token until its deadline."""

    type: ClassVar[str] = "po.stage_opened"
    po_id: str
    stage: str
    task_token: str = Field(min_length=1)
    deadline_s: int = 0
    execution_arn: str | None = None

    @property
    def idempotency_key(self) -> str:
        return f"opened#{_key(self.task_token)}"  # one token per opening of a stage


class StageOverdue(WorkflowEvent):
    """A stage's deadline passed (the state machine entered its overdue state at `overdue_at`)."""

    type: ClassVar[str] = "po.stage_overdue"
    po_id: str
    stage: str
    execution_arn: str | None = None
    overdue_at: str | None = None

    @property
    def idempotency_key(self) -> str:
        return f"overdue#{_key(self.po_id, self.stage, str(self.execution_arn), str(self.overdue_at))}"


class TrackingOpened(WorkflowEvent):
    """The tracking workflow waits for the carrier with this task token."""

    type: ClassVar[str] = "shipment.tracking_opened"
    shipment_id: str
    carrier: str
    tracking_number: str
    task_token: str = Field(min_length=1)
    execution_arn: str | None = None

    @property
    def idempotency_key(self) -> str:
        return f"opened#{_key(self.task_token)}"


class TrackingStale(WorkflowEvent):
    """No carrier event for the stale threshold (or, `abandoned`, for the give-up one)."""

    type: ClassVar[str] = "shipment.tracking_stale"
    shipment_id: str
    carrier: str
    tracking_number: str
    execution_arn: str | None = None
    stale_at: str = Field(min_length=1)
    abandoned: bool = False

    @property
    def idempotency_key(self) -> str:
        return f"{self.carrier}#{self.tracking_number}#{self.stale_at}"


WORKFLOW_EVENTS: dict[str, type[WorkflowEvent]] = {m.type: m for m in (StageOpened, StageOverdue, TrackingOpened, TrackingStale)}


class ChunkDue(WorkflowEvent):
    """One chunk of a long run the app queued for itself: a campaign's close or an acknowledged PO's
    settlement (services/campaign_close.py, on the purchase-orders queue), the escalation sweep's chain
    (services/escalations.py, on the sweep queue), an export's next invocation (services/exports.py, on
    the exports queue); `number` of run `run_id`, reading from `cursor` (opaque; None: from the start).
    Never on the bus: sent straight to its queue."""

    type: ClassVar[str] = "waybill.chunk_due"
    job: Literal["close", "settle", "sweep", "export"]
    subject_id: str  # the campaign (close), the PO (settle), the sweep (`SWEEP_RUN`), the export run (export)
    run_id: str = Field(min_length=1)
    number: int = Field(ge=0)
    cursor: str | None = None

    @property
    def idempotency_key(self) -> str:
        return f"{self.job}#{self.subject_id}#{self.run_id}#{self.number}"


# Messages the app queues for itself (not bus events: not in the catalogue, the rules or the OpenAPI).
WORK_MESSAGES: dict[str, type[WorkflowEvent]] = {ChunkDue.type: ChunkDue}

Event = DomainEvent | WorkflowEvent


# ---------------------------------------------------------------- the catalogue


def _past(subject: str, actions: Any) -> set[str]:
    return {f"{subject}.{EVENT_NAMES.get(a.value, a.value)}" for a in actions}


# Domain event types written by the services; those built from an action's name are derived from
# the action enums, so a new action is catalogued with it (tests/unit/test_events.py checks the rest).
DOMAIN_EVENT_TYPES: frozenset[str] = frozenset(
    {
        *OFFERED_EVENT_TYPES,
        *(r.event_type for r in RULES),
        "order.placed",
        *_past("order", OrderAction),
        "settings.changed",  # services/tunables.py
        *(f"{s}.{verb}" for s in ("order", "complaint", "po") for verb in ("assigned", "unassigned")),  # services/assignments.py
        "order.sent_to_suppliers",
        "order.supplier_accepted",
        "order.payment_recorded",
        "order.refund_needs_approval",
        "order.refund_started",
        "order.refund_succeeded",
        "order.refund_failed",
        "order.refund_approved",
        "order.refund_rejected",
        "order.refund_due",
        "order.delivery_not_delivered",
        "order.cancellation_requested",
        "order.cancellation_refused",
        "order.ship_to_changed",
        "supplier.created",
        # supplier onboarding (services/supplier_access.py): never the secret itself
        "supplier.user_invited",
        "supplier.user_disabled",
        "supplier.webhook_secret_issued",
        "supplier.webhook_secret_rotated",
        "supplier.webhook_secret_revoked",
        "customer.flagged",
        "customer.unflagged",
        "customer.address_corrected",
        "customer.address_requested",
        *(f"customer.address_{action}" for action in ("added", "updated", "removed")),  # services/addresses.py
        "campaign.created",
        "campaign.close_resumed",
        *_past("campaign", CampaignAction),
        "po.created",
        "po.workflow_started",
        "po.shipment_added",
        "po.stage_started",
        "po.stage_reminded",
        "po.stage_escalated",
        "po.acknowledgement",
        *(f"po.{stage.value}_completed" for stage in STAGES),
        "payment.pushed",
        "payment.settled",
        "payment.failed",
        "shipment.recorded",
        "shipment.corrected",
        "shipment.status_changed",
        "shipment.event_recorded",
        "shipment.notice",
        *(f"complaint.{a.value}" for a in ComplaintAction),
        "complaint.opened",
        "complaint.supplier_asked",
        "complaint.supplier_answered",
        "complaint.plan_proposed",
        "complaint.plan_offered",
        "complaint.plan_needs_approval",
        "complaint.plan_rejected",
        "complaint.plan_accepted",
        "complaint.plan_disputed",
        "complaint.started",
        "complaint.resolved",
        "complaint.withdrawn",
        "complaint.note_added",
        "complaint.return_shipped",
        "complaint.return_received",
        "complaint.replacement_requested",
        "complaint.replacement_shipped",
        "complaint.replacement_delivered",
        "complaint.refund_issued",
        "complaint.refund_failed",
        *(
            f"exception.{s}"
            for s in (
                "raised",
                "repeated",
                "acknowledged",
                "assigned",
                "pending",
                "snoozed",
                "woke",
                "escalated",
                "resolved",
                "cleared",
            )
        ),
        "export.requested",
        "export.completed",
        "export.failed",
        "webhook.received",
        *(f"webhook_subscription.{s}" for s in ("created", "updated", "disabled", "recovered", "secret_rotated", "deleted")),
    }
    - set(WORKFLOW_EVENTS)
)

_TYPED: dict[str, type[DomainEvent]] = {
    "campaign.ended": CampaignEnded,
    "campaign.close_resumed": CampaignCloseResumed,
    "campaign.cancelled": CampaignCancelled,
    "order.approved": OrderDecided,
    "order.rejected": OrderDecided,
    "order.cancelled": OrderDecided,
    "order.refund_due": OrderRefundDue,
    "po.acknowledge_completed": POAcknowledgeCompleted,
    "complaint.plan_accepted": ComplaintPlanAccepted,
    "complaint.return_received": ComplaintReturnReceived,
    "shipment.recorded": ShipmentRecorded,
    "shipment.corrected": ShipmentCorrected,
    "shipment.status_changed": ShipmentStatusChanged,
    "export.requested": ExportRequested,
    "webhook.received": WebhookReceived,
}

_BASE_BY_SUBJECT: dict[str, type[DomainEvent]] = {
    "order": OrderEvent,
    "po": POEvent,
    "complaint": ComplaintEvent,
    "campaign": CampaignEvent,
    "exception": ExceptionEvent,
}


def _model_name(event_type: str) -> str:
    return "".join(p.capitalize() for p in event_type.replace(".", "_").split("_")) + "Event"


def _generated(event_type: str) -> type[DomainEvent]:
    base = _BASE_BY_SUBJECT.get(event_type.split(".", 1)[0], DomainEvent)
    model: type[DomainEvent] = create_model(
        _model_name(event_type),
        __base__=base,
        __module__=__name__,
        type=(Literal[event_type], ...),  # type: ignore[arg-type]
    )
    return model


# One model per domain event type (the ones a consumer reads are written out above).
EVENT_MODELS: dict[str, type[DomainEvent]] = {t: _TYPED.get(t) or _generated(t) for t in sorted(DOMAIN_EVENT_TYPES | set(_TYPED))}


# ---------------------------------------------------------------- outbound webhooks


class WebhookPayloadData(BaseModel):
    """What a subscriber gets about the subject (domain/webhooks.py `thin_payload`): ids, status, links;
    the references named in `PAYLOAD_IDS` (order_id, po_id, ...) are added when the event has them."""

    model_config = ConfigDict(extra="allow", frozen=True)
    subject_type: str
    subject_id: str
    status: str | None = None
    links: dict[str, str] = Field(default_factory=dict)


class WebhookPayload(BaseModel):
    """The body of every outbound webhook (Standard Webhooks: `type`, `id`, `timestamp`, `data`)."""

    model_config = ConfigDict(frozen=True)
    type: str
    id: str = Field(min_length=1)
    timestamp: str
    data: WebhookPayloadData


def _webhook_model(event_type: str) -> type[WebhookPayload]:
    model: type[WebhookPayload] = create_model(
        _model_name(event_type).removesuffix("Event") + "Webhook",
        __base__=WebhookPayload,
        __module__=__name__,
        type=(Literal[event_type], ...),  # type: ignore[arg-type]
    )
    return model


# One payload model per event type offered to subscribers.
WEBHOOK_MODELS: dict[str, type[WebhookPayload]] = {t: _webhook_model(t) for t in OFFERED_EVENT_TYPES}


def webhook_payload(payload: dict[str, Any]) -> WebhookPayload:
    """Check an outbound payload against its type's model (ValueError when it does not fit)."""
    model = WEBHOOK_MODELS.get(str(payload.get("type")))
    if model is None:
        raise BadEvent(f"{payload.get('type')!r} is not offered to subscribers")
    return model.model_validate(payload)


def model_for(event_type: str) -> type[DomainEvent] | None:
    return EVENT_MODELS.get(event_type)


def domain_event(payload: dict[str, Any]) -> DomainEvent:
    """A domain event from its bus detail; BadEvent when its type is unknown or its shape wrong."""
    model = model_for(str(payload.get("type")))
    if model is None:
        raise BadEvent(f"unknown event type {payload.get('type')!r}")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise BadEvent(f"{payload.get('type')}: {exc}") from exc


def workflow_event(detail_type: str | None, detail: dict[str, Any]) -> WorkflowEvent:
    """A state machine's event; without its detail-type (a bare detail) the shape tells which one."""
    if detail_type is None:
        if detail.get("task_token"):
            detail_type = TrackingOpened.type if detail.get("tracking_number") else StageOpened.type
        elif detail.get("stale_at"):
            detail_type = TrackingStale.type
        else:
            detail_type = StageOverdue.type
    try:
        return WORKFLOW_EVENTS[detail_type].model_validate(detail)
    except ValidationError as exc:
        raise BadEvent(f"{detail_type}: {exc}") from exc


def parse(body: str) -> Event:
    """A queue message's event. EventBridge delivers its whole envelope to SQS: the event is the detail,
    and the detail-type tells a workflow event from a domain event."""
    try:
        envelope = json.loads(body)
        if not isinstance(envelope, dict):
            raise BadEvent("not an object")
        detail = envelope.get("detail", envelope)
        if isinstance(detail, str):
            detail = json.loads(detail)
    except json.JSONDecodeError as exc:
        raise BadEvent(f"not JSON: {exc}") from exc
    if not isinstance(detail, dict):
        raise BadEvent("the detail is not an object")
    detail_type = envelope.get("detail-type")
    if detail_type in WORK_MESSAGES:
        try:
            return WORK_MESSAGES[detail_type].model_validate(detail)
        except ValidationError as exc:
            raise BadEvent(f"{detail_type}: {exc}") from exc
    if "type" not in detail and (detail_type in WORKFLOW_EVENTS or detail_type is None):
        return workflow_event(detail_type, detail)
    return domain_event(detail)


def schemas() -> dict[str, dict[str, Any]]:
    """Every event and webhook payload model's JSON Schema by model name, with `$defs` hoisted for
    `components.schemas`."""
    out: dict[str, dict[str, Any]] = {}
    models: list[type[BaseModel]] = [
        *dict.fromkeys(EVENT_MODELS.values()),
        *WORKFLOW_EVENTS.values(),
        *WEBHOOK_MODELS.values(),
    ]
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            out.setdefault(name, sub)
        out[model.__name__] = schema
    return out


def schema_name(event_type: str) -> str:
    """The `components.schemas` name of an event type's model."""
    model: type[BaseModel] = EVENT_MODELS.get(event_type) or WORKFLOW_EVENTS[event_type]
    return model.__name__


def openapi_webhooks() -> dict[str, Any]:
    """The OpenAPI 3.1 `webhooks` section: one signed POST per event type offered to subscribers."""
    return {
        event_type: {
            "post": {
                "summary": f"{event_type} (Standard Webhooks: signed, retried, the same webhook-id on each retry)",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
                },
                "responses": {"2XX": {"description": "received; anything else is retried"}},
            }
        }
        for event_type, model in sorted(WEBHOOK_MODELS.items())
    }


def openapi_bus_events() -> dict[str, dict[str, str]]:
    """`x-bus-events`: each event type on the bus and the schema of its detail."""
    types = sorted({*EVENT_MODELS, *WORKFLOW_EVENTS})
    return {t: {"$ref": f"#/components/schemas/{schema_name(t)}"} for t in types}
