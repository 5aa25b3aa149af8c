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
from . import exceptions, stages, uow
from .clock import new_id, now
from .conflicts import stale_subject
from .ports import Record, Save, Versioned
from .ports_purchase_orders import ChargeBack, PORecord
from .retry import on_conflict
from .supplier_portal import Invoice, POSummary, Proposal, Shipment, invoice_view, po_summary, proposal_view, shipment_view

CONSUMER = "po_stages"
RETRIES = 5

# Which exception a missed deadline raises, and how bad it is.
OVERDUE_SEVERITY: dict[Stage, str] = {
    Stage.ACKNOWLEDGE: "high",
    Stage.BANK_PAYMENT: "high",
    Stage.SETTLEMENT: "high",
}


def _load(po_id: str) -> Versioned[PORecord]:
    found = uow.store().load(PORecord, po_id)
    if found is None:
        raise NotFound(f"purchase order {po_id} not found")
    return found


def _audit(
    po: PurchaseOrder, type_: str, at: datetime, data: dict[str, Any], actor: Principal = SYSTEM, note: str | None = None
) -> Record:
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
    return Record(event)


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
        found = _load(po_id)
        record = found.value
        po = record.po
        if po.status is not POStatus.OPEN:
            # Cancelled (or otherwise finished) while the machine moved on: end the execution.
            _answer(token, Decision.CANCELLED, stage.value)
            return Outcome("cancelled")
        if record.task_token == token:
            return None  # a redelivery: already stored; only the system stages' work may still be missing
        at = now()
        deadline = at + timedelta(seconds=deadline_s)
        previous = po.stage.value if po.stage else None
        open_stage(po, stage, at=at, due_at=deadline)
        uow.store().commit(
            [
                Save(PORecord(po, token, deadline, execution_arn or record.execution_arn), found.version),
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
            at=at,
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
        found = _load(po_id)
        po = found.value.po
        if po.status is not POStatus.OPEN:
            return None
        so_far = po.reminders.get(stage.value, 0)
        action = overdue_action(so_far, settings().max_stage_reminders)
        po.reminders[stage.value] = so_far + 1
        at = now()
        # The token stays as stored: the machine reopens the stage and the next opening replaces it.
        uow.store().commit(
            [
                Save(found.value, found.version),
                _audit(
                    po,
                    f"po.stage_{'escalated' if action == 'escalate' else 'reminded'}",
                    at,
                    {"stage": stage.value, "reminders": so_far + 1, "action": action},
                ),
            ],
            what=f"purchase order {po_id}",
            at=at,
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


def cancel_po(
    actor: Principal, po_id: str, *, internal_note: str | None = None, expected_version: int | None = None
) -> PurchaseOrder:
    """Cancel a PO. With a stage open, through the stage path (its 'cancelled' decision ends the
    execution); between stages, directly (the next opening answers 'cancelled'). `expected_version`:
    the version the page showed; a PO changed since is a 409 naming who changed it."""
    current = stages.load_po(po_id)
    if expected_version is not None and expected_version != current.version:
        raise stale_subject(f"purchase order {po_id}", "po", po_id, current.version, expected_version)
    if current.po.status is not POStatus.OPEN:
        raise InvalidTransition(f"purchase order {po_id} is {current.po.status.value}")
    if current.task_token is not None and current.po.stage is not None:
        po, _ = stages.complete_stage(actor, po_id, current.po.stage, cancel, internal_note=internal_note, loaded=current)
        return po
    po = current.po
    from_status = po.status.value
    cancel(po)
    at = now()
    uow.store().commit(
        [
            Save(PORecord(po, None, None, current.execution_arn), current.version),
            _audit(po, "po.cancelled", at, {"from": from_status, "to": po.status.value}, actor=actor, note=internal_note),
        ],
        what=f"purchase order {po_id}",
        at=at,
    )
    return po


# ---------------------------------------------------------------- staff: read


def summary(record: PORecord) -> POSummary:
    """The same summary the supplier portal shows; staff views pick their fields from it."""
    return po_summary(record)


def list_pos(
    *, stage_or_status: str | None, campaign_id: str | None, limit: int, cursor: str | None
) -> tuple[list[POSummary], str | None]:
    """One query per page: a campaign's POs (optionally only those in a stage or status), or the POs
    waiting in a stage or status."""
    store = uow.store()
    if campaign_id:
        page = store.campaign_pos(campaign_id, stage_or_status=stage_or_status or None, limit=limit, cursor=cursor)
    elif stage_or_status:
        page = store.pos_in(stage_or_status, limit=limit, cursor=cursor)
    else:
        raise RuleViolation(
            "filter_required",
            "filter by stage, status or campaign_id",
            details=[{"field": "stage", "message": "give a stage, a status or a campaign_id"}],
        )
    return [summary(r.value) for r in page.items], page.cursor


@dataclass
class PODetail:
    record: PORecord
    version: int
    events: list[AuditEvent]
    invoices: list[Invoice] = field(default_factory=list)
    proposals: list[Proposal] = field(default_factory=list)
    shipments: list[Shipment] = field(default_factory=list)
    charge_backs: list[ChargeBack] = field(default_factory=list)  # complaint refunds the supplier bears
    shipments_cursor: str | None = None  # more parcels: `po_parcels`

    @property
    def po(self) -> PurchaseOrder:
        return self.record.po


PARCELS_SHOWN = 20  # parcels a PO's detail carries; the rest a page at a time (`po_parcels`)


def get_po(po_id: str) -> PODetail:
    """The PO, its documents (invoices), payment proposals, audit events and its first
    `PARCELS_SHOWN` shipments: one query of the partition before its parcels, one page of parcels."""
    found = uow.store().po_file(po_id, parcels=PARCELS_SHOWN)
    if found is None:
        raise NotFound(f"purchase order {po_id} not found")
    return PODetail(
        found.record,
        found.version,
        found.events,
        [invoice_view(i) for i in found.invoices],
        [proposal_view(p) for p in found.proposals],
        [shipment_view(x) for x in found.shipments],
        found.charge_backs,
        found.shipments_cursor,
    )


def po_parcels(po_id: str, *, limit: int, cursor: str | None) -> tuple[list[Shipment], str | None]:
    """A page of the PO's parcels, oldest first: one Query."""
    page = uow.store().po_parcels(po_id, limit=limit, cursor=cursor)
    return [shipment_view(p) for p in page.items], page.cursor
