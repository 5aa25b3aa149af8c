"""Completing a PO's open stage: the one path every stage action takes.

Load the PO's record (storage port), check the stage is open (a task token is stored), apply the
domain rule, commit the record without its token under its version, then call SendTaskSuccess once. A
repeated or out-of-stage action fails the check or the version condition (409) and never
reaches Step Functions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..adapters import workflows
from ..domain import metrics
from ..domain.audit import AuditEvent
from ..domain.errors import InvalidTransition, NotFound
from ..domain.exceptions import overdue_kind
from ..domain.permissions import Principal, Role
from ..domain.purchase_orders import Decision, PurchaseOrder, Stage
from . import exceptions, uow
from .clock import new_id, now
from .ports import Change, CountCampaign, CountStage, Record, Save
from .ports_common import Versioned
from .ports_purchase_orders import PORecord
from .retry import on_conflict


@dataclass
class LoadedPO:
    po: PurchaseOrder
    version: int
    task_token: str | None
    execution_arn: str | None
    stage_deadline: datetime | None = None

    def record(self) -> PORecord:
        """The PO as stored, with the open stage's token and deadline."""
        return PORecord(self.po, self.task_token, self.stage_deadline, self.execution_arn)

    def save(self) -> Save:
        """The PO as changed in place, under its version, keeping the open stage's token and deadline."""
        return Save(self.record(), self.version)


def load_po(po_id: str, *, for_supplier: str | None = None) -> LoadedPO:
    """One read. A supplier asking for another supplier's PO gets the same 404 as for none."""
    return loaded_po(po_id, uow.store().load(PORecord, po_id), for_supplier=for_supplier)


def loaded_po(po_id: str, found: Versioned[PORecord] | None, *, for_supplier: str | None = None) -> LoadedPO:
    """The PO's record as read (e.g. with other keys in one batch), checked as `load_po` checks it."""
    if found is None or (for_supplier is not None and found.value.po.supplier_id != for_supplier):
        raise NotFound(f"purchase order {po_id} not found")
    record = found.value
    return LoadedPO(record.po, found.version, record.task_token, record.execution_arn, record.stage_deadline)


def supplier_scope(actor: Principal) -> str | None:
    """The supplier a caller is confined to (None for staff)."""
    return actor.supplier_id if Role.SUPPLIER in actor.roles and not actor.is_staff else None


def complete_stage(
    actor: Principal,
    po_id: str,
    stage: Stage,
    apply: Callable[[PurchaseOrder], Decision],
    *,
    event_data: dict[str, Any] | None = None,
    internal_note: str | None = None,
    loaded: LoadedPO | None = None,
    extra: Sequence[Change] = (),
) -> tuple[PurchaseOrder, Decision]:
    """Complete the open stage: the PO (under its version), its event, the caller's `extra` changes and
    the metrics counters in one transaction, then answer the workflow's token once.

    When the PO changed after it was read (`loaded`, the caller's read, or one here) the internal
    write that changed it — the stage consumer storing a token, the acknowledgement's settlement
    recording the orders to ship — is no reason to refuse the caller: the PO is read again, the
    stage checked again and `apply` applied to the fresh PO, a few times, before a 409. A competing
    action that completed the stage meanwhile still ends it with 409 `invalid_transition` (the stage
    is no longer open). A caller's `loaded` is brought up to date with the PO the stage completed on."""
    current = loaded

    def attempt() -> tuple[LoadedPO, tuple[PurchaseOrder, Decision]]:
        nonlocal current
        fresh = current if current is not None else load_po(po_id, for_supplier=supplier_scope(actor))
        current = None  # a lost race reads the PO again
        return fresh, _complete(actor, fresh, stage, apply, event_data, internal_note, extra)

    completed_on, done = on_conflict(attempt, retries=STAGE_RETRIES, what=f"purchase order {po_id}")
    if loaded is not None and completed_on is not loaded:
        loaded.po, loaded.version, loaded.task_token = completed_on.po, completed_on.version, completed_on.task_token
        loaded.execution_arn, loaded.stage_deadline = completed_on.execution_arn, completed_on.stage_deadline
    return done


STAGE_RETRIES = 3


def _complete(
    actor: Principal,
    current: LoadedPO,
    stage: Stage,
    apply: Callable[[PurchaseOrder], Decision],
    event_data: dict[str, Any] | None,
    internal_note: str | None,
    extra: Sequence[Change],
) -> tuple[PurchaseOrder, Decision]:
    po_id = current.po.id
    if current.task_token is None or current.po.stage is not stage:
        where = current.po.stage.value if current.po.stage else current.po.status.value
        raise InvalidTransition(f"purchase order {po_id} is at {where}; {stage.value} is not open")
    po = current.po
    decision = apply(po)
    at = now()
    event = AuditEvent(
        id=new_id("evt"),
        subject_type="po",
        subject_id=po.id,
        type=f"po.{stage.value}_completed",
        actor=actor,
        at=at,
        from_status=stage.value,
        to_status=decision.value,
        internal_note=internal_note,
        data={
            "po_id": po.id,
            "campaign_id": po.campaign_id,
            "supplier_id": po.supplier_id,
            "stage": stage.value,
            "decision": decision.value,
            **(event_data or {}),
        },
    )
    counters = _counters(po, stage, decision, at)
    # The stage is answered: its token and deadline go (the next opening brings its own).
    done = Save(PORecord(po, None, None, current.execution_arn), current.version)
    what = f"purchase order {po_id}"
    uow.store().commit([done, Record(event), *extra, *counters], what=what, at=at)
    workflows.send_task_success(current.task_token, {"decision": decision.value, "stage": stage.value})
    if po.reminders.get(stage.value):  # it went overdue, so its exception may be open: the stage is done now
        exceptions.resolve(overdue_kind(stage.value), "po", po.id, note=f"the {stage.value} stage completed")
    return po, decision


def _counters(po: PurchaseOrder, stage: Stage, decision: Decision, at: datetime) -> list[Change]:
    """The metrics counters this completion adds, in its own transaction (at most 4 items); the PO
    forgets the stage's times so the next opening starts afresh."""
    changes: list[Change] = []
    timing = metrics.stage_completed(started_at=po.stage_started_at, due_at=po.stage_due_at, completed_at=at, decision=decision)
    if timing:
        changes.append(CountStage(po, stage, timing))
    cost = metrics.po_acknowledged(po.accepted_cents, decision) if stage is Stage.ACKNOWLEDGE else None
    if cost:
        changes.append(CountCampaign(po.campaign_id, po.id, cost))
    po.stage_started_at = po.stage_due_at = None
    return changes
