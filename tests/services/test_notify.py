"""The notify service's storage rules on the in-memory store: preferences kept per address (the last
choice wins), one outbox entry per (event, address) written before sending, a redelivery that retries
exactly what was not done, opted-out and digest-held alerts recorded as such. Sending is a stand-in for
our mail adapter (`mail.send`); what SES receives and what the mails say stay on moto in
tests/adapters/test_notify.py, test_notifications_consumer.py, test_care_mailbox.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib.adapters import mail
from chalicelib.adapters.memory import MemoryStore
from chalicelib.domain.notifications import AlertMode
from chalicelib.domain.permissions import SYSTEM, Principal, Role
from chalicelib.services import notify
from chalicelib.services.ports_outbound import OutboxEntry
from tests.adapters.events import typed

ALICE = Principal("cust-alice", frozenset({Role.CUSTOMER}), email="Alice@Example.com")
OPS = "ops@waybill.example"


class Outgoing:
    """Mails handed to the mail adapter; `refuse` makes the next sends fail as SES would."""

    def __init__(self) -> None:
        self.sent: list[mail.Mail] = []
        self.refuse = 0

    def send(self, m: mail.Mail) -> str:
        if self.refuse:
            self.refuse -= 1
            raise RuntimeError("MessageRejected: address not verified")
        self.sent.append(m)
        return f"ses-{len(self.sent)}"


@pytest.fixture(autouse=True)
def outgoing(monkeypatch: pytest.MonkeyPatch) -> Outgoing:
    out = Outgoing()
    monkeypatch.setattr(mail, "send", out.send)
    return out


def placed(n: int = 1) -> Any:
    """An order placed by Alice: transactional mail to her."""
    return typed(
        {
            "id": f"evt-{n}",
            "type": "order.placed",
            "subject_type": "order",
            "subject_id": f"ord_{n}",
            "to_status": "placed",
            "data": {"order_id": f"ord_{n}", "customer_email": "alice@example.com", "total_cents": 1200, "currency": "EUR"},
        }
    )


def assigned(n: int = 1, assignee: str | None = OPS) -> Any:
    """An exception assigned to someone: an alert to the assignee."""
    return typed(
        {
            "id": f"evt-a{n}",
            "type": "exception.assigned",
            "subject_type": "exception",
            "subject_id": f"exc_{n}",
            "data": {"exception_id": f"exc_{n}", "assignee": assignee, "kind": "po_not_acknowledged", "title": "PO late"},
        }
    )


def entry(store: MemoryStore, event_id: str, address: str) -> OutboxEntry:
    found = store.load(OutboxEntry, event_id, address)
    assert found is not None
    return found.value


def test_a_rule_with_no_address_to_send_to_sends_nothing_and_records_nothing(store: MemoryStore, outgoing: Outgoing):
    assert notify.handle(assigned(assignee=None)) == notify.Outcome()
    assert outgoing.sent == [] and store.mail_state("evt-a1", [OPS]).outbox == {} and store.commits == 0


def test_preferences_are_kept_per_address_and_the_last_choice_wins():
    assert notify.get_preferences("alice@example.com") == notify.Preferences("alice@example.com")  # nothing chosen yet
    notify.set_preferences(ALICE, "Alice@Example.com", opt_out=True, alerts=AlertMode.IMMEDIATE)
    chosen = notify.set_preferences(SYSTEM, "ALICE@example.com", opt_out=False, alerts=AlertMode.DAILY_DIGEST)
    kept = notify.get_preferences("alice@EXAMPLE.com")
    assert kept == chosen and (kept.email, kept.opt_out, kept.alerts) == ("alice@example.com", False, AlertMode.DAILY_DIGEST)
    assert kept.updated_by == SYSTEM.sub


def test_each_mail_is_recorded_before_it_is_sent_and_a_redelivery_sends_it_no_second_time(store: MemoryStore, outgoing: Outgoing):
    assert notify.handle(placed()).sent == 1
    assert notify.handle(placed()) == notify.Outcome(duplicates=1)
    assert [m.to for m in outgoing.sent] == ["alice@example.com"]
    record = entry(store, "evt-1", "alice@example.com")
    assert (record.status, record.attempts, record.message_id, record.template) == ("sent", 1, "ses-1", "order_update")
    assert record.lease_until is None and record.expires_at == int(record.created_at.timestamp()) + 30 * 86400


def test_a_refused_send_is_recorded_failed_and_the_redelivery_sends_it_once(store: MemoryStore, outgoing: Outgoing):
    outgoing.refuse = 1
    with pytest.raises(notify.DeliveryFailed):
        notify.handle(placed())
    record = entry(store, "evt-1", "alice@example.com")
    assert (record.status, record.attempts, record.message_id) == ("failed", 1, None)
    assert "not verified" in (record.last_error or "")
    assert notify.handle(placed()).sent == 1
    assert notify.handle(placed()).duplicates == 1
    record = entry(store, "evt-1", "alice@example.com")
    assert (record.status, record.attempts, record.message_id) == ("sent", 2, "ses-1") and len(outgoing.sent) == 1


def test_a_mail_another_consumer_is_sending_is_left_to_it_until_its_lease_ends(
    store: MemoryStore, outgoing: Outgoing, monkeypatch: pytest.MonkeyPatch
):
    def crash(m: mail.Mail) -> str:
        raise SystemExit("the consumer died mid-send")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mail, "send", crash)
        with pytest.raises(SystemExit):
            notify.handle(placed())
    claimed = entry(store, "evt-1", "alice@example.com")
    assert claimed.status == "sending" and claimed.lease_until is not None
    with pytest.raises(notify.DeliveryFailed):  # redelivered while the lease runs: left alone
        notify.handle(placed())
    assert outgoing.sent == [] and entry(store, "evt-1", "alice@example.com").attempts == 1
    after_lease = claimed.lease_until + timedelta(seconds=1)
    monkeypatch.setattr(notify, "now", lambda: after_lease)
    assert notify.handle(placed()).sent == 1  # the lease ran out: taken over
    assert entry(store, "evt-1", "alice@example.com").attempts == 2 and len(outgoing.sent) == 1


def test_an_opted_out_alert_is_recorded_skipped_but_transactional_mail_still_goes(store: MemoryStore, outgoing: Outgoing):
    notify.set_preferences(SYSTEM, OPS, opt_out=True, alerts=AlertMode.IMMEDIATE)
    notify.set_preferences(SYSTEM, "alice@example.com", opt_out=True, alerts=AlertMode.IMMEDIATE)
    assert notify.handle(assigned()) == notify.Outcome(skipped=1)
    assert notify.handle(placed()).sent == 1
    assert [m.to for m in outgoing.sent] == ["alice@example.com"]
    assert entry(store, "evt-a1", OPS).status == "skipped_opted_out"
    assert notify.handle(assigned()).duplicates == 1


def test_an_alert_for_a_daily_digest_person_is_held_and_listed_for_the_digest(store: MemoryStore, outgoing: Outgoing):
    notify.set_preferences(SYSTEM, OPS, opt_out=False, alerts=AlertMode.DAILY_DIGEST)
    assert notify.handle(assigned(1)).held == 1 and notify.handle(assigned(2)).held == 1
    assert outgoing.sent == []
    held = store.held_mail()
    assert sorted((e.value.event_id, e.value.address) for e in held) == [("evt-a1", OPS), ("evt-a2", OPS)]
    assert all(e.value.subject and e.value.link and e.value.held_at for e in held)
