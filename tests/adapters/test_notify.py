"""The one sender of e-mail (services/notify.py): bus events -> rules -> recipients -> outbox -> SES.

Every event here comes from the real write path (services -> table stream -> publisher -> bus ->
notifications queue); SES is moto's, which rejects mail from an unverified identity."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb import repository as repo
from chalicelib.adapters.dynamodb.models import Item, OutboxItem, SupplierItem
from chalicelib.config import settings
from chalicelib.domain import exceptions as exc_rules
from chalicelib.domain.notifications import AlertMode
from chalicelib.domain.permissions import Principal, Role
from chalicelib.handlers import notifications
from chalicelib.services import campaign_close, catalogue, escalations, exceptions, notify
from chalicelib.services.clock import now
from chalicelib.topology import NOTIFICATIONS, TOPOLOGY
from tests.adapters import shop
from tests.adapters.events import published, seen_so_far
from tests.adapters.shop import ALICE, BOB, BUYER

OPS = "ops@waybill.example"
ADMIN = Principal("admin-7", frozenset({Role.ADMIN}), email="admin7@waybill.example")


def sent() -> list:
    return list(ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages)


def to(address: str, contains: str = "") -> list:
    return [m for m in sent() if m.destinations["ToAddresses"] == [address] and contains in m.subject]


def events(aws, seen: set[str] | None = None, type_: str | None = None) -> list[dict]:
    return [e for e in published(aws, NOTIFICATIONS.name, seen) if type_ is None or e.type == type_]


def outbox(event_id: str, address: str) -> OutboxItem:
    return OutboxItem.get(*keys.outbox(event_id, address))


def held() -> list[OutboxItem]:
    return [i for i in Item.gsi1.query(keys.DIGEST_PENDING_PK) if isinstance(i, OutboxItem)]


def closed_campaign(acme_contacts: list[str] | None = None) -> str:
    """Suppliers, a campaign with orders from Alice and Bob, closed into POs (for acme and bolt)."""
    shop.suppliers()
    if acme_contacts:
        acme = repo.get(keys.supplier("acme"), SupplierItem)
        acme.contact_emails = acme_contacts
        acme.save()
    campaign_id = shop.live_campaign()
    shop.place(ALICE, campaign_id, ("MUG-1", 2), ("CAP-1", 1))
    shop.place(BOB, campaign_id, ("MUG-2", 1))
    catalogue.end_due_campaigns(now() + timedelta(days=30))
    campaign_close.close_campaign(campaign_id)
    return campaign_id


def raise_(kind: str, subject_id: str, campaign_id: str | None = None, **details) -> str:
    record = exceptions.raise_or_bump(
        kind, "po", subject_id, {"campaign_id": campaign_id, "supplier_id": "acme", **details} if campaign_id else details
    )
    return record.id


def severity(kind: str) -> str:
    return exc_rules.kind(kind).severity.value


URGENT = ("critical", "high")


# ---------------------------------------------------------------- once per (event, address)


def test_each_rule_fires_once_under_redelivery(aws):
    assert severity("payment_failed") in URGENT and severity("po_not_acknowledged") in URGENT
    campaign_id = closed_campaign()
    critical = raise_("payment_failed", "po_1", campaign_id)  # accounting, alert
    high = raise_("po_not_acknowledged", "po_2", campaign_id)  # the campaign's buyer, alert
    exceptions.assign(ADMIN, high, OPS)  # the assignee (a mirror event goes on the PO's history too)
    record = exceptions.get(critical)
    level_1 = settings().exception_policy().escalation_at(record.severity, record.opened_at, 1)
    escalations.sweep(level_1 + timedelta(minutes=1))  # payment_failed reaches level 1: accounting (unassigned)
    batch = events(aws)
    types = Counter(e.type for e in batch)
    assert types["order.placed"] == 2 and types["po.created"] == 2 and types["exception.escalated"] >= 1
    assert types["exception.assigned"] == 2  # the exception's event and its mirror on the PO

    first = sum(notifications.handle(e) for e in batch)
    again = sum(notifications.handle(e) for e in reversed(batch))  # the queue delivered everything again

    assert (first, again) == (len(sent()), 0)
    subjects = Counter((m.destinations["ToAddresses"][0], m.subject) for m in sent())
    assert all(n == 1 for n in subjects.values()), subjects
    assert len(to("alice@example.com")) == 1 and len(to("bob@example.com")) == 1
    assert len(to("orders@acme.example", "Purchase order po_")) == 1
    assert len(to("buyer@waybill.example", "Purchase order po_")) == 2  # one copy per PO (acme, bolt)
    assert len(to("buyer@waybill.example", f"[{severity('po_not_acknowledged')}] Purchase order not ack")) == 1
    assert len(to(OPS, "Assigned to you")) == 1  # not twice: the mirror event fires no rule
    assert len(to(settings().mailbox_accounting, f"[{severity('payment_failed')}] Payment failed")) == 1
    assert len(to(settings().mailbox_accounting, "Escalated (level 1): Payment failed")) == 1
    escalated = to(settings().mailbox_accounting, "Escalated")[0]
    assert f"{settings().site_base}/#/exceptions/{critical}" in escalated.body  # the admin page's screen
    assert "notification-preferences" in escalated.body  # an alert carries the opt-out line
    # Every sent mail has its outbox record with SES's message id, and nothing else was sent.
    records = [i for i in OutboxItem.scan() if i.status == "sent"]
    assert sorted(r.message_id for r in records) == sorted(m.id for m in sent())


# ---------------------------------------------------------------- SES failures


def test_an_ses_failure_is_recorded_retried_on_redelivery_then_delivered_once(aws):
    closed_campaign()
    (created, *_) = events(aws, type_="po.created")
    ses = boto3.client("ses")
    ses.delete_identity(Identity=TOPOLOGY.email_identities[0])  # moto now rejects our sender

    with pytest.raises(notify.DeliveryFailed):
        notifications.handle(created)
    assert sent() == []
    supplier = next(
        a
        for a in ("orders@acme.example", "orders@bolt.example")
        if OutboxItem.count(f"OUTBOX#{created.id}", f"TO#{a}" == OutboxItem.SK)
    )
    record = outbox(created.id, supplier)
    assert (record.status, int(record.attempts), record.message_id) == ("failed", 1, None)
    assert "not verified" in record.last_error
    with pytest.raises(notify.DeliveryFailed):  # redelivered while SES still refuses: another attempt
        notifications.handle(created)
    assert int(outbox(created.id, supplier).attempts) == 2

    ses.verify_email_identity(EmailAddress=TOPOLOGY.email_identities[0])
    assert notifications.handle(created) == 2  # supplier and buyer
    assert notifications.handle(created) == 0
    record = outbox(created.id, supplier)
    assert (record.status, int(record.attempts)) == ("sent", 3)
    assert record.message_id in {m.id for m in sent()} and len(sent()) == 2


def test_a_redelivery_retries_exactly_the_addresses_not_yet_sent(aws):
    closed_campaign(acme_contacts=["orders@acme.example", "broken@@acme.example"])
    acme = next(e for e in events(aws, type_="po.created") if e.data.supplier_id == "acme")

    with pytest.raises(notify.DeliveryFailed, match="broken@@acme.example"):  # SES refuses that address only
        notifications.handle(acme)
    assert sorted(m.destinations["ToAddresses"][0] for m in sent()) == ["buyer@waybill.example", "orders@acme.example"]
    with pytest.raises(notify.DeliveryFailed):
        notifications.handle(acme)  # redelivered: only the failed address is tried again

    assert len(sent()) == 2
    attempts = {
        a: (outbox(acme.id, a).status, int(outbox(acme.id, a).attempts))
        for a in ("orders@acme.example", "buyer@waybill.example", "broken@@acme.example")
    }
    assert attempts == {
        "orders@acme.example": ("sent", 1),
        "buyer@waybill.example": ("sent", 1),
        "broken@@acme.example": ("failed", 2),
    }


def test_outbox_records_expire_after_30_days(aws):
    shop.suppliers()
    shop.place(ALICE, shop.live_campaign(), ("MUG-1", 1))
    (placed,) = events(aws, type_="order.placed")
    notifications.handle(placed)
    record = outbox(placed.id, "alice@example.com")
    assert record.template == "order_update" and record.category == "transactional"
    assert abs(int(record.expires_at) - (int(record.created_at.timestamp()) + 30 * 86400)) <= 1


# ---------------------------------------------------------------- preferences


def test_opting_out_stops_alerts_but_never_transactional_mail(aws):
    notify.set_preferences(ALICE, "Alice@Example.com", opt_out=True, alerts=AlertMode.IMMEDIATE)
    notify.set_preferences(BUYER, "buyer@waybill.example", opt_out=True, alerts=AlertMode.IMMEDIATE)
    notify.set_preferences(ADMIN, OPS, opt_out=True, alerts=AlertMode.IMMEDIATE)
    campaign_id = closed_campaign()
    exceptions.assign(ADMIN, raise_("po_not_acknowledged", "po_2", campaign_id), OPS)

    for e in events(aws):
        notifications.handle(e)

    assert len(to("alice@example.com")) == 1  # her order: transactional, whatever she chose
    assert len(to("orders@acme.example")) == 1  # the supplier's PO: transactional
    assert to("buyer@waybill.example") == [] and to(OPS) == []  # PO copies, the exception alert, the assignment
    skipped = [i for i in OutboxItem.scan() if i.status == "skipped_opted_out"]
    assert sorted({i.address for i in skipped}) == ["buyer@waybill.example", OPS]
    assert {i.template for i in skipped} == {"po_created", "exception_raised", "exception_assigned"}
    assert held() == []


def test_a_daily_digest_person_gets_alerts_in_the_digest_and_transactional_mail_at_once(aws):
    notify.set_preferences(ADMIN, OPS, opt_out=False, alerts=AlertMode.DAILY_DIGEST)
    notify.set_preferences(ALICE, "alice@example.com", opt_out=False, alerts=AlertMode.DAILY_DIGEST)
    campaign_id = closed_campaign()
    exc_id = raise_("po_not_acknowledged", "po_2", campaign_id)
    exceptions.assign(ADMIN, exc_id, OPS)
    for e in events(aws):
        notifications.handle(e)
    assert len(to("alice@example.com")) == 1  # transactional: not held
    assert to(OPS) == []
    (line,) = held()
    assert (line.address, line.status, line.template) == (OPS, "held_for_digest", "exception_assigned")
    assert line.subject.startswith("Assigned to you: Purchase order not acknowledged")

    result = notify.daily_digest()

    assert OPS in result.sent
    (digest,) = to(OPS)
    assert digest.subject.startswith(f"Waybill daily digest {result.day}")
    assert line.subject in digest.body and f"{settings().site_base}/#/exceptions/{exc_id}" in digest.body
    assert held() == []  # carried by the digest: the index entry is gone
    assert outbox(line.event_id, OPS).status == "digested"
    second = notify.daily_digest()  # the same day
    assert second.sent == [] and "buyer@waybill.example" in second.already_sent and len(to(OPS)) == 1
    tomorrow = notify.daily_digest(now() + timedelta(days=1))
    assert OPS not in tomorrow.sent and len(to(OPS)) == 1  # nothing held, and OPS is no team mailbox


# ---------------------------------------------------------------- the daily digest


def test_the_daily_digest_tells_each_team_the_open_exceptions_of_the_kinds_it_owns(aws):
    campaign_id = closed_campaign()
    failed = raise_("payment_failed", "po_1", campaign_id)  # accounting, critical
    raise_("invoice_missing", "po_1", campaign_id)  # accounting, medium
    raise_("invoice_missing", "po_3", campaign_id)
    raise_("po_not_acknowledged", "po_2", campaign_id)  # the campaign's buyer
    raise_("inbound_webhook_failed", "bank-1")  # admin
    exceptions.raise_or_bump("unknown_tracking", "tracking", "dhl#1", {})  # logistics: pending (grace), not yet open
    seen = seen_so_far(aws)
    accounting, logistics, admin = (settings().mailbox_accounting, settings().mailbox_logistics, settings().mailbox_admin)

    result = notify.daily_digest()

    assert sorted(result.sent) == sorted([accounting, admin, "buyer@waybill.example"])
    (mail,) = to(accounting)
    assert mail.subject == f"Waybill daily digest {result.day}: 3 open exceptions"
    body = mail.body  # moto keeps the HTML part
    assert "Payment failed" in body and "Invoice not uploaded in time" in body
    assert "Purchase order not acknowledged" not in body and "inbound webhook" not in body
    assert f"{settings().site_base}/#/exceptions/{failed}" in body
    assert "notification-preferences" in body
    assert "Purchase order not acknowledged" in to("buyer@waybill.example")[0].body
    assert "An inbound webhook could not be applied" in to(admin)[0].body
    assert to(logistics) == []
    assert events(aws, seen) == []  # the digest writes no audit event: nothing for the bus

    again = notify.daily_digest()
    assert again.sent == [] and sorted(again.already_sent) == sorted(result.sent)
    assert len(sent()) == 3
    assert sorted(notify.daily_digest(now() + timedelta(days=1)).sent) == sorted(result.sent)  # still open


def test_routine_exceptions_wait_for_the_digest_and_urgent_ones_go_at_once(aws):
    assert severity("invoice_missing") not in URGENT and severity("payment_failed") in URGENT
    campaign_id = closed_campaign()
    invoice = raise_("invoice_missing", "po_1", campaign_id)  # routine: digest category
    raise_("payment_failed", "po_1", campaign_id)  # urgent: alert
    accounting = settings().mailbox_accounting
    for e in events(aws, type_="exception.raised"):
        notifications.handle(e)

    assert [m.subject for m in to(accounting)] == [f"[{severity('payment_failed')}] Payment failed: po po_1"]
    (line,) = held()
    assert (line.address, line.category) == (accounting, "digest")
    notify.daily_digest()
    (digest,) = to(accounting, "digest")
    assert f"[{severity('invoice_missing')}] Invoice not uploaded in time: po po_1" in digest.body
    assert f"/#/exceptions/{invoice}" in digest.body
    assert held() == []


def test_people_who_opted_out_get_no_digest(aws):
    campaign_id = closed_campaign()
    raise_("payment_failed", "po_1", campaign_id)
    raise_("invoice_missing", "po_1", campaign_id)
    for e in events(aws, type_="exception.raised"):
        notifications.handle(e)  # the routine one is held for accounting's digest
    assert len(held()) == 1
    accounting = settings().mailbox_accounting
    notify.set_preferences(ADMIN, accounting, opt_out=True, alerts=AlertMode.IMMEDIATE)

    result = notify.daily_digest()

    assert accounting in result.opted_out and accounting not in result.sent
    assert to(accounting, "digest") == []
    assert held() == []  # what was held for it is dropped, not kept for ever


def test_a_digest_ses_refused_is_sent_by_the_next_run(aws):
    campaign_id = closed_campaign()
    raise_("payment_failed", "po_1", campaign_id)
    ses = boto3.client("ses")
    ses.delete_identity(Identity=TOPOLOGY.email_identities[0])
    with pytest.raises(notify.DeliveryFailed):
        notify.daily_digest()
    ses.verify_email_identity(EmailAddress=TOPOLOGY.email_identities[0])

    result = notify.daily_digest()

    accounting = settings().mailbox_accounting
    assert result.sent == [accounting]
    assert int(outbox(keys.digest_event_id(result.day), accounting).attempts) == 2
