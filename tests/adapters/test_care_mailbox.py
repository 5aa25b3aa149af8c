"""Customer care as a team (issue 9): a `complaint_open` exception is e-mailed to the customer care
mailbox, escalates on its own SLA to that mailbox and then to the admins (never to the campaign's
buyer), and shows in care's daily digest.

Every event comes from the real write path (services -> table stream -> publisher -> bus ->
notifications queue); SES is moto's."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb import repository as repo
from chalicelib.adapters.dynamodb.models import ExceptionItem
from chalicelib.config import settings
from chalicelib.domain import exceptions as exc_rules
from chalicelib.handlers import notifications
from chalicelib.services import escalations, exceptions, notify
from chalicelib.topology import NOTIFICATIONS
from tests.adapters import shop
from tests.adapters.events import published, seen_so_far

KIND = "complaint_open"
TITLE = "Customer complaint waiting for customer care"
H = timedelta(hours=1)


def sent() -> list:
    return list(ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages)


def to(address: str, contains: str = "") -> list:
    return [m for m in sent() if m.destinations["ToAddresses"] == [address] and contains in m.subject]


def deliver(aws, seen: set[str] | None = None) -> list[dict]:
    """Publish what was written since `seen` and hand each notifications event to the consumer."""
    batch = published(aws, NOTIFICATIONS.name, seen)
    for event in batch:
        notifications.handle(event)
    return batch


def complaint(campaign_id: str, complaint_id: str = "cmp_1") -> exceptions.ExceptionRecord:
    """What the complaints service raises when a complaint is opened (or goes back to care)."""
    return exceptions.raise_or_bump(
        KIND,
        "complaint",
        complaint_id,
        {
            "complaint_id": complaint_id,
            "order_id": "ord_1",
            "supplier_id": "acme",
            "campaign_id": campaign_id,
            "po_id": "po_1",
            "reason": "damaged",
            "customer_email": shop.ALICE.email,
        },
    )


def due_at(exc_id: str):
    item = repo.get(keys.exception(exc_id), ExceptionItem)
    assert item is not None
    return item.due_at


def test_a_new_complaint_is_mailed_to_the_customer_care_mailbox_only(aws):
    shop.suppliers()
    campaign_id = shop.live_campaign()
    seen = seen_so_far(aws)
    care = settings().mailbox_customer_care
    assert care == "care@waybill.example"

    record = complaint(campaign_id)
    batch = deliver(aws, seen)

    assert [e.type for e in batch] == ["exception.raised"]
    assert batch[0].data.owner == "customer_care"
    (mail,) = to(care)
    assert mail.subject == f"[high] {TITLE}: complaint cmp_1"
    assert "customer care team" in mail.body
    assert f"{settings().site_base}/#/exceptions/{record.id}" in mail.body  # the admin page's screen
    # the buyer, the supplier, the customer named in the details and the other teams hear nothing
    assert [m.destinations["ToAddresses"] for m in sent()] == [[care]]


def test_a_complaint_escalates_on_its_own_sla_to_care_then_the_admins_never_the_buyer(aws):
    shop.suppliers()
    campaign_id = shop.live_campaign()
    care, admin = settings().mailbox_customer_care, settings().mailbox_admin
    record = complaint(campaign_id)
    failed = exceptions.raise_or_bump("payment_failed", "po", "po_9", {"campaign_id": campaign_id})  # high, no SLA
    opened = record.opened_at
    assert record.severity is failed.severity
    assert due_at(record.id) == opened + 4 * H
    deliver(aws)  # the raised mails
    seen = seen_so_far(aws)

    escalations.sweep(opened + 24 * H + timedelta(minutes=1))  # both reach level 2 (4/24/.. for both)
    level_2 = [e for e in deliver(aws, seen) if e.type == "exception.escalated"]
    targets = {e.data.kind: e.data.target for e in level_2}
    assert targets == {KIND: "customer_care", "payment_failed": "buyer"}  # care's kinds skip the buyer
    assert len(to(care, f"Escalated (level 2): {TITLE}")) == 1
    assert to("buyer@waybill.example", TITLE) == []
    # its own SLA: level 3 at 48 h, where a high kind without one waits until 72 h
    assert due_at(record.id) == opened + 48 * H
    assert due_at(failed.id) == failed.opened_at + 72 * H

    seen = seen_so_far(aws)
    escalations.sweep(opened + 48 * H + timedelta(minutes=1))
    level_3 = [e for e in deliver(aws, seen) if e.type == "exception.escalated"]
    assert [(e.data.kind, e.data.target, e.data.level) for e in level_3] == [(KIND, "admin", 3)]
    assert len(to(admin, f"Escalated (level 3): {TITLE}")) == 1
    assert exceptions.get(failed.id).level == 2  # type: ignore[union-attr]
    assert due_at(record.id) is None  # nothing more happens by time


def test_an_assigned_complaint_escalates_to_the_assignee_then_care(aws):
    shop.suppliers()
    campaign_id = shop.live_campaign()
    record = complaint(campaign_id)
    exceptions.assign(shop.ADMIN, record.id, "carla@waybill.example")
    seen = seen_so_far(aws)

    escalations.sweep(record.opened_at + 4 * H + timedelta(minutes=1))
    escalations.sweep(record.opened_at + 24 * H + timedelta(minutes=1))

    escalated = [e for e in deliver(aws, seen) if e.type == "exception.escalated" and e.subject_type == "exception"]
    assert [(e.data.level, e.data.target) for e in escalated] == [(1, "assignee"), (2, "customer_care")]
    assert len(to("carla@waybill.example", "Escalated (level 1)")) == 1
    assert len(to(settings().mailbox_customer_care, "Escalated (level 2)")) == 1


def test_resolving_the_complaint_clears_it_from_care_and_a_repeat_mails_nothing_new(aws):
    shop.suppliers()
    campaign_id = shop.live_campaign()
    record = complaint(campaign_id)
    deliver(aws)
    seen = seen_so_far(aws)

    again = complaint(campaign_id)  # back to care while still open: bumped, no second mail
    assert (again.id, again.count) == (record.id, 2)
    assert Counter(e.type for e in deliver(aws, seen)) == Counter({"exception.repeated": 1})
    assert len(to(settings().mailbox_customer_care)) == 1

    assert exceptions.resolve(KIND, "complaint", "cmp_1", note="refunded") is True
    assert exceptions.get(record.id).status is exc_rules.Status.RESOLVED  # type: ignore[union-attr]
    assert due_at(record.id) is None


def test_the_daily_digest_gives_care_its_open_complaints(aws):
    shop.suppliers()
    campaign_id = shop.live_campaign()
    complaint(campaign_id, "cmp_1")
    complaint(campaign_id, "cmp_2")
    exceptions.raise_or_bump("payment_failed", "po", "po_9", {"campaign_id": campaign_id})  # accounting's
    care, accounting = settings().mailbox_customer_care, settings().mailbox_accounting

    result = notify.daily_digest()

    assert care in result.sent and accounting in result.sent
    (mail,) = to(care)
    assert mail.subject == f"Waybill daily digest {result.day}: 2 open exceptions"
    assert TITLE in mail.body and "Payment failed" not in mail.body
    assert TITLE not in to(accounting)[0].body
