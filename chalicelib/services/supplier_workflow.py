"""The supplier workflow's side of Step Functions: a stage opens (store its task token and
deadline on the PO) or misses its deadline (count the reminder, raise an exception record).

Both arrive through the po-stages queue at least once and in any order: the consumer runs each
event once (its idempotency record, keyed on the task token or on the overdue state's entry time:
handlers/batch.py), and the token is only written when it is new. The audit events written here
(`po.stage_started`, `po.stage_reminded`, `po.stage_escalated`) are what the notification rules
turn into e-mail to whoever must act, or to the buyer (services/notify.py): nothing is sent here."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .. import observability
from ..adapters import workflows
from ..adapters.dynamodb import keys
from ..adapters.dynamodb import repository as repo
from ..adapters.dynamodb.models import Item, PurchaseOrderItem
from ..config import settings
from ..domain.audit import AuditEvent
from ..domain.errors import InvalidTransition, NotFound, RuleViolation
from ..domain.exceptions import overdue_kind
from ..domain.permissions import SYSTEM, Principal
from ..domain.purchase_orders import (
    Decision,
    POStatus,
    PurchaseOrder,
    Stage,
    cancel,
    open_stage,
    overdue_action,
)
from ..events import StageOpened, StageOverdue
from ..observability import logger
from . import exceptions, stages
from .clock import new_id, now
from .retry import on_conflict
from .supplier_portal import POSummary, po_summary

CONSUMER = "po_stages"
RETRIES = 5

# Which exception a missed deadline raises, and how bad it is.
OVERDUE_SEVERITY: dict[Stage, str] = {
    Stage.ACKNOWLEDGE: "high",
    Stage.BANK_PAYMENT: "high",
    Stage.SETTLEMENT: "high",
}


def _load(po_id: str) -> PurchaseOrderItem:
    item = repo.get(keys.po(po_id), PurchaseOrderItem)
    if item is None:
        raise NotFound(f"purchase order {po_id} not found")
    return item


def _audit(
    po: PurchaseOrder, type_: str, at: datetime, data: dict[str, Any], actor: Principal = SYSTEM, note: str | None = None
) -> repo.Write:
    # Not named po.stage_opened / po.stage_overdue: those detail-types route back to this consumer.
    event = AuditEvent(
        id=new_id("evt"),
        subject_type="po",
        subject_id=po.id,
        type=type_,
        actor=actor,
        at=at,
        from_status=data.get("from"),
        to_status=data.get("to"),
        internal_note=note,
        data={
            "po_id": po.id,
            "campaign_id": po.campaign_id,
            "supplier_id": po.supplier_id,
            "ordered_cents": po.ordered_cents,
            "currency": po.currency,
            **data,
        },
    )
    return repo.event_write(keys.po_pk(po.id), event)


def _answer(task_token: str, decision: Decision, stage: str) -> bool:
    """SendTaskSuccess, tolerating a token that is no longer waiting (timed out, already answered)."""
    try:
        workflows.send_task_success(task_token, {"decision": decision.value, "stage": stage})
    except Exception as exc:  # botocore ClientError: TaskTimedOut / TaskDoesNotExist / InvalidToken
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        if code in {"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"}:
            logger.info("task token no longer waiting", extra={"code": code})
            return False
        raise
    return True


# ---------------------------------------------------------------- a stage opens


@dataclass
class Outcome:
    action: str  # stored / cancelled / duplicate / ignored / remind / escalate


def stage_opened(event: StageOpened) -> Outcome:
    """Store the stage's task token and deadline on the PO (its `po.stage_started` event tells whoever
    must act); the bank-payment and settlement stages are acted on here."""
    po_id, stage, token = event.po_id, Stage(event.stage), event.task_token
    deadline_s = event.deadline_s
    execution_arn = event.execution_arn

    def store() -> Outcome | None:
        item = _load(po_id)
        po = repo.po_from_item(item)
        if po.status is not POStatus.OPEN:
            # Cancelled (or otherwise finished) while the machine moved on: end the execution.
            _answer(token, Decision.CANCELLED, stage.value)
            return Outcome("cancelled")
        if item.task_token == token:
            return None  # a redelivery: already stored; only the system stages' work may still be missing
        at = now()
        deadline = at + timedelta(seconds=deadline_s)
        previous = po.stage.value if po.stage else None
        open_stage(po, stage, at=at, due_at=deadline)
        repo.commit(
            [
                repo.po_write(
                    po,
                    version=int(item.version),
                    now=at,
                    task_token=token,
                    stage_deadline=deadline,
                    execution_arn=execution_arn or item.execution_arn,
                ),
                _audit(
                    po,
                    "po.stage_started",
                    at,
                    {
                        "stage": stage.value,
                        "from": previous,
                        "to": stage.value,
                        "deadline": deadline.isoformat(),
                        "reminders": po.reminders.get(stage.value, 0),
                    },
                ),
            ],
            what=f"purchase order {po_id}",
        )
        return None

    if (ended := on_conflict(store, retries=RETRIES, what=f"purchase order {po_id}")) is not None:
        return ended
    if stage is Stage.BANK_PAYMENT:
        # The system acts: push the payment (idempotent per proposal). Imported when needed only.
        importlib.import_module("chalicelib.services.payments").on_bank_payment_stage(po_id)
    elif stage is Stage.SETTLEMENT:
        # The bank's webhook may have come before this stage opened: then complete it now.
        importlib.import_module("chalicelib.services.payments").on_settlement_stage(po_id)
    elif stage is Stage.SHIPMENT:
        # Every order still to ship may have been cancelled since the acknowledgement: then it completes now.
        importlib.import_module("chalicelib.services.cancellations").finish_if_nothing_to_ship(po_id)
    return Outcome("stored")


# ---------------------------------------------------------------- a deadline passes


def stage_overdue(event: StageOverdue) -> Outcome:
    """Count the reminder and raise/bump the exception; the `po.stage_reminded` / `po.stage_escalated`
    event reminds the actor or tells the buyer."""
    return _overdue(event.po_id, Stage(event.stage))


def _overdue(po_id: str, stage: Stage) -> Outcome:
    def count() -> tuple[PurchaseOrder, str] | None:
        item = _load(po_id)
        po = repo.po_from_item(item)
        if po.status is not POStatus.OPEN:
            return None
        so_far = po.reminders.get(stage.value, 0)
        action = overdue_action(so_far, settings().max_stage_reminders)
        po.reminders[stage.value] = so_far + 1
        at = now()
        # The token stays as stored: the machine reopens the stage and the next opening replaces it.
        repo.commit(
            [
                repo.po_write(
                    po,
                    version=int(item.version),
                    now=at,
                    task_token=item.task_token,
                    stage_deadline=item.stage_deadline,
                    execution_arn=item.execution_arn,
                ),
                _audit(
                    po,
                    f"po.stage_{'escalated' if action == 'escalate' else 'reminded'}",
                    at,
                    {"stage": stage.value, "reminders": so_far + 1, "action": action},
                ),
            ],
            what=f"purchase order {po_id}",
        )
        return po, action

    counted = on_conflict(count, retries=RETRIES, what=f"purchase order {po_id}")
    if counted is None:
        return Outcome("ignored")
    po, action = counted
    observability.po_late()
    kind = overdue_kind(stage.value)
    severity = "critical" if action == "escalate" else OVERDUE_SEVERITY.get(stage)
    exceptions.raise_or_bump(
        kind,
        "po",
        po_id,
        {
            "stage": stage.value,
            "reminders": po.reminders[stage.value],
            "supplier_id": po.supplier_id,
            "campaign_id": po.campaign_id,
        },
        severity=severity,
    )
    return Outcome(action)


# ---------------------------------------------------------------- staff: cancel


def cancel_po(actor: Principal, po_id: str, *, internal_note: str | None = None) -> PurchaseOrder:
    """Cancel a PO. With a stage open, through the stage path (its 'cancelled' decision ends the
    execution); between stages, directly (the next opening answers 'cancelled')."""
    current = stages.load_po(po_id)
    if current.po.status is not POStatus.OPEN:
        raise InvalidTransition(f"purchase order {po_id} is {current.po.status.value}")
    if current.task_token is not None and current.po.stage is not None:
        po, _ = stages.complete_stage(actor, po_id, current.po.stage, cancel, internal_note=internal_note, loaded=current)
        return po
    po = current.po
    from_status = po.status.value
    cancel(po)
    at = now()
    repo.commit(
        [
            repo.po_write(po, version=current.version, now=at, execution_arn=current.execution_arn),
            _audit(po, "po.cancelled", at, {"from": from_status, "to": po.status.value}, actor=actor, note=internal_note),
        ],
        what=f"purchase order {po_id}",
    )
    return po


# ---------------------------------------------------------------- staff: read


def summary(item: PurchaseOrderItem) -> POSummary:
    """The same summary the supplier portal shows; staff views pick their fields from it."""
    return po_summary(item)


def list_pos(
    *, stage_or_status: str | None, campaign_id: str | None, limit: int, cursor: str | None
) -> tuple[list[POSummary], str | None]:
    """One query per page: a campaign's POs (GSI2, optionally filtered by stage/status), or the
    POs waiting in a stage or status (GSI3)."""
    if campaign_id:
        flt = None
        if stage_or_status:
            flt = (PurchaseOrderItem.stage == stage_or_status) | (PurchaseOrderItem.status == stage_or_status)
        page = repo.query_page(
            Item.gsi2, keys.campaign_pos_pk(campaign_id), filter_condition=flt, limit=limit, cursor=cursor, newest_first=False
        )
    elif stage_or_status:
        page = repo.query_page(Item.gsi3, keys.pos_in_pk(stage_or_status), limit=limit, cursor=cursor)
    else:
        raise RuleViolation(
            "filter_required",
            "filter by stage, status or campaign_id",
            details=[{"field": "stage", "message": "give a stage, a status or a campaign_id"}],
        )
    return [summary(i) for i in page.items if isinstance(i, PurchaseOrderItem)], page.cursor


@dataclass
class PODetail:
    item: PurchaseOrderItem
    po: PurchaseOrder
    events: list[AuditEvent]
    invoices: list[Any] = field(default_factory=list)  # supplier_portal.Invoice
    proposals: list[Any] = field(default_factory=list)  # supplier_portal.Proposal
    shipments: list[Any] = field(default_factory=list)  # supplier_portal.Shipment
    charge_backs: list[Any] = field(default_factory=list)  # ChargeBackItem: complaint refunds the supplier bears


def get_po(po_id: str) -> PODetail:
    """One query on the PO partition: the PO, its documents (invoices), payment proposals,
    shipments and audit events."""
    from ..adapters.dynamodb.models import (
        AuditEventItem,
        ChargeBackItem,
        InvoiceItem,
        PaymentProposalItem,
        POShipmentItem,
    )
    from . import supplier_portal as portal

    found: PurchaseOrderItem | None = None
    events: list[AuditEvent] = []
    invoices, proposals, shipments, charge_backs = [], [], [], []
    for item in repo.query_all(keys.po_pk(po_id)):
        if isinstance(item, PurchaseOrderItem):
            found = item
        elif isinstance(item, AuditEventItem):
            events.append(repo.event_from_item(item))
        elif isinstance(item, InvoiceItem):
            invoices.append(portal.invoice_view(item))
        elif isinstance(item, PaymentProposalItem):
            proposals.append(portal.proposal_view(item))
        elif isinstance(item, POShipmentItem):
            shipments.append(portal.shipment_view(item))
        elif isinstance(item, ChargeBackItem):
            charge_backs.append(item)
    if found is None:
        raise NotFound(f"purchase order {po_id} not found")
    return PODetail(found, repo.po_from_item(found), events, invoices, proposals, shipments, charge_backs)
