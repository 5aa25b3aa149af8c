"""Notification rules as data (issue 21, item 6), on the in-memory store: the code's rules are the
default and survive a round trip through their stored form; a stored set is checked rule by rule (each
problem named `rules[i].field`), kept in the settings' versioned record with who changed which rules,
read through the cached settings, and obeyed by the notifications consumer at its next event."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.adapters import mail
from chalicelib.adapters.memory import MemoryStore
from chalicelib.config import settings
from chalicelib.domain import notifications
from chalicelib.domain.errors import Conflict, Forbidden, RuleViolation
from chalicelib.domain.notifications import Category, Recipient
from chalicelib.domain.permissions import Role
from chalicelib.services import notify, tunables
from chalicelib.services.ports_outbound import OutboxEntry
from tests.adapters.events import typed
from tests.services.conftest import BUYER, principal

ADMIN = principal("ada", Role.ADMIN, email="ada@waybill.example", name="Ada Admin")
OTHER_ADMIN = principal("bea", Role.ADMIN, email="bea@waybill.example", name="Bea Other")
CARE = "care@waybill.example"


@pytest.fixture(autouse=True)
def overrides() -> Iterator[None]:
    settings.use_overrides(tunables.load_overrides)
    yield
    settings.use_overrides(None)


@pytest.fixture
def outgoing(monkeypatch: pytest.MonkeyPatch) -> list[mail.Mail]:
    sent: list[mail.Mail] = []

    def send(m: mail.Mail) -> str:
        sent.append(m)
        return f"ses-{len(sent)}"

    monkeypatch.setattr(mail, "send", send)
    return sent


def placed(n: int = 1) -> Any:
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


def rule(event: str, recipient: str, timing: str = "immediate", **extra: Any) -> dict[str, Any]:
    return {"event": event, "recipient": recipient, "channel": "email", "timing": timing, **extra}


def defaults() -> list[dict[str, Any]]:
    return notifications.default_rule_data()


def test_the_codes_rules_survive_their_stored_form_unchanged():
    assert notifications.parse_rules(defaults()) == notifications.RULES
    assert notifications.rules_from_text("") is notifications.RULES


def test_every_problem_of_a_rule_set_is_named_by_its_rule_and_field():
    with pytest.raises(RuleViolation) as raised:
        tunables.change_rules(
            ADMIN,
            [
                rule("order.placed", "customer"),
                {**rule("order.placed", "boss"), "channel": "sms"},
                rule("order.teleported", "admin", timing="weekly"),
                rule("po.created", "buyer", timing="digest", mandatory=True),
                rule("order.placed", "supplier"),
                {**rule("po.created", "supplier"), "when": [{"path": "Data..x", "values": []}]},
            ],
            expected_version=0,
        )
    fields = [d["field"] for d in raised.value.details]
    assert fields == [
        "rules[1].recipient",
        "rules[1].channel",
        "rules[2].event",
        "rules[2].timing",
        "rules[3].mandatory",
        "rules[4].recipient",
        "rules[5].when[0].path",
    ]
    assert tunables.current_rules(BUYER).version == 0  # nothing stored


def test_a_rule_borrows_its_mail_from_the_default_rules_and_staff_may_hear_of_any_event():
    (care_copy, plain) = notifications.parse_rules([rule("po.created", "logistics"), rule("complaint.opened", "customer_care")])
    assert care_copy.template == "po_created" and care_copy.headline == "Purchase order sent"  # the buyer's copy
    assert plain.template == notifications.STAFF_EVENT and plain.headline == "Complaint opened"
    with pytest.raises(notifications.RulesInvalid) as raised:
        notifications.parse_rules([rule("order.placed", "customer", template="po_created")])
    assert raised.value.problems == [("rules[0].template", "must be one of order_update")]


def test_only_admins_change_the_rules_and_a_stale_version_names_who_changed_them():
    with pytest.raises(Forbidden):
        tunables.change_rules(BUYER, defaults(), expected_version=0)
    tunables.change(OTHER_ADMIN, {"max_stage_reminders": 1}, expected_version=0)
    with pytest.raises(Conflict) as raised:
        tunables.change_rules(ADMIN, [rule("order.placed", "customer")], expected_version=0)
    assert raised.value.details[0]["changed_by"] == "Bea Other"


def test_a_change_is_versioned_audited_and_in_force_at_once_and_reset_brings_back_the_code(store: MemoryStore):
    changed = [r for r in defaults() if r["event"] != "po.created" or r["recipient"] != "buyer"]
    changed.append(rule("po.created", "buyer", timing="digest"))
    report = tunables.change_rules(ADMIN, changed, expected_version=0)

    assert report.version == 1 and not report.default and report.updated_by == "ada@waybill.example"
    buyers = [r for r in settings().notification_rule_set() if r.event_type == "po.created" and r.recipient is Recipient.BUYER]
    assert [r.category for r in buyers] == [Category.DIGEST]
    (event,) = tunables.history(BUYER, limit=5).items
    change = event.data["changes"]["notification_rules"]
    assert change["added"] == ["po.created -> buyer by email, digest"]
    assert change["removed"] == ["po.created -> buyer by email, immediate"]
    assert tunables.current(BUYER).version == 1  # one record, one version with the other settings

    back = tunables.change_rules(ADMIN, None, expected_version=1)
    assert back.default and back.version == 2 and back.rules == defaults()
    assert settings().notification_rule_set() is notifications.RULES


def test_sending_the_codes_rules_while_they_are_in_force_writes_nothing(store: MemoryStore):
    assert tunables.change_rules(ADMIN, defaults(), expected_version=0).version == 0
    assert store.commits == 0


def test_the_next_event_is_delivered_per_the_changed_rules(store: MemoryStore, outgoing: list[mail.Mail]):
    assert notify.handle(placed(1)).sent == 1  # the code's rule: the customer, at once

    customers_digest = [r for r in defaults() if r["event"] != "order.placed"]
    customers_digest += [rule("order.placed", "customer", timing="digest"), rule("order.placed", "customer_care")]
    tunables.change_rules(ADMIN, customers_digest, expected_version=0)
    outcome = notify.handle(placed(2))

    assert (outcome.sent, outcome.held) == (1, 1)
    assert [m.to for m in outgoing] == ["alice@example.com", CARE]
    assert outgoing[-1].subject == "Order placed: order ord_2"
    held = store.load(OutboxEntry, "evt-2", "alice@example.com")
    assert held is not None and held.value.status == "held_for_digest"
