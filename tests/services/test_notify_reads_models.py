"""The notifications consumer reads the typed event (chalicelib/events.py), never its JSON form: every
rule fires, finds its addresses, its link and its template's facts from the event model's attributes.
Each test here makes the event's JSON form unreachable (`payload()`, `facts()`, `model_dump` raise), so
a rule or a template that went back to looking facts up in a dict fails here."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from chalicelib.adapters import mail
from chalicelib.domain.notifications import RULES, NotificationRule, rules_for
from chalicelib.domain.purchase_orders import POLine, PurchaseOrder, Stage
from chalicelib.events import DomainEvent, EventData, domain_event
from chalicelib.services import notify
from chalicelib.services.clock import now

PARCEL = {
    "carrier": "dhl",
    "carrier_name": "DHL",
    "tracking_number": "JD0001",
    "tracking_url": "https://www.dhl.com/track?tracking-id=JD0001",
    "po_id": "po_1",
    "order_ids": ["ord_1"],
    "shipment_id": "shp_1",
    "abandoned": False,
    "last_event_at": "2030-01-01T10:00:00+00:00",
}
DATA: dict[str, Any] = {
    **PARCEL,
    "order_id": "ord_1",
    "campaign_id": "cmp_1",
    "supplier_id": "acme",
    "customer_email": "alice@example.com",
    "status": "shipped",
    "total_cents": 2400,
    "currency": "EUR",
    "lines": [{"sku": "MUG-1", "name": "Mug", "quantity": 1, "amount_cents": 1200}],
    "refund_cents": 1200,
    "payable_cents": 1200,
    "amount_cents": 1200,
    "reason": "damaged_item",
    "reference": "R-0001",
    "request_id": "req_1",
    "complaint_id": "cpl_1",
    "question": "Packed well?",
    "lines_text": "1 x Mug",
    "stage": "acknowledge",
    "deadline": "2030-01-01T00:00:00+00:00",
    "reminders": 2,
    "ordered_cents": 3800,
    "exception_id": "exc_1",
    "title": "Something needs you",
    "owner": "logistics",
    "severity": "high",
    "subject_type": "po",
    "subject_id": "po_1",
    "count": 2,
    "level": 2,
    "assignee": "ops@waybill.example",
    "details": {
        **PARCEL,
        "order_id": "ord_1",
        "customer_email": "alice@example.com",
        "amount_cents": 1200,
        "currency": "EUR",
        "total_cents": 2400,
        "hold_reasons": ["new_customer"],
        "decide_by": "2030-01-02T00:00:00+00:00",
        "campaign_ends_at": "2030-01-03T00:00:00+00:00",
    },
}


def firing(rule: NotificationRule) -> DomainEvent:
    """An event of the rule's type that meets its conditions."""
    data = copy.deepcopy(DATA)
    envelope: dict[str, Any] = {
        "id": "evt_1",
        "type": rule.event_type,
        "subject_type": rule.event_type.split(".", 1)[0],
        "subject_id": "x_1",
        "at": "2030-01-01T00:00:00+00:00",
        "actor": {"sub": "system", "role": "admin"},
        "to_status": "approved",
        "customer_note": "A word from us.",
    }
    for condition in rule.conditions:
        *parents, name = condition.path.split(".")
        (envelope if not parents else data)[name] = condition.values[0]
    return domain_event({**envelope, "data": data})


def po() -> PurchaseOrder:
    return PurchaseOrder(
        id="po_1",
        campaign_id="cmp_1",
        supplier_id="acme",
        currency="EUR",
        lines=[POLine("MUG-1", "Mug", 2, 500)],
        created_at=now(),
        order_count=1,
        stage=Stage.ACKNOWLEDGE,
    )


@pytest.fixture
def no_json_form(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """From here on, asking an event (or any model) for its JSON form fails the test."""

    def refuse(*_: object, **__: object) -> Any:
        raise AssertionError("the notifications consumer asked for the event's JSON form")

    for owner, name in (
        (DomainEvent, "payload"),
        (EventData, "facts"),
        (BaseModel, "model_dump"),
        (BaseModel, "model_dump_json"),
    ):
        monkeypatch.setattr(owner, name, refuse)
    yield


@pytest.mark.parametrize("rule", RULES, ids=lambda r: f"{r.event_type}-{r.recipient.value}-{r.template}")
def test_a_typed_event_fires_the_same_rules_as_its_json_form(rule: NotificationRule):
    event = firing(rule)
    assert rule in rules_for(event)
    assert rules_for(event) == rules_for(event.payload())


@pytest.mark.parametrize("rule", RULES, ids=lambda r: f"{r.event_type}-{r.recipient.value}-{r.template}")
def test_every_rule_addresses_links_and_renders_its_mail_from_the_event_model_alone(rule: NotificationRule, no_json_form):
    event = firing(rule)
    assert rule in rules_for(event)
    notify.load(event, [rule])  # what it reads is named by the event's attributes (nothing is stored here)
    loaded = notify.Loaded(event, po=po() if rule.template == "po_created" else None, supplier_contacts=["orders@acme.example"])
    loaded.buyer_email = "buyer@waybill.example"
    assert notify.addresses(rule.recipient, loaded)
    assert notify.link(rule, loaded) is not None
    rendered = mail.render(rule.template, "someone@example.com", **notify.context(rule, loaded))
    assert "None" not in rendered.subject + rendered.text


def test_a_template_reading_an_event_of_another_subject_fails_loudly_instead_of_mailing_blanks():
    rule = next(r for r in RULES if r.template == "order_update")
    other = firing(next(r for r in RULES if r.template == "po_stage_opened"))
    with pytest.raises(TypeError, match="carries no OrderData"):
        notify.context(rule, notify.Loaded(other))


def test_the_consumer_sends_from_the_typed_event_without_its_json_form(monkeypatch: pytest.MonkeyPatch, no_json_form):
    sent: list[mail.Mail] = []
    monkeypatch.setattr(mail, "send", lambda m: sent.append(m) or f"ses-{len(sent)}")
    placed = next(r for r in RULES if r.event_type == "order.placed")
    assigned = next(r for r in RULES if r.event_type == "exception.assigned")
    assert notify.handle(firing(placed)).sent == 1
    assert notify.handle(firing(assigned)).sent == 1
    assert [m.to for m in sent] == ["alice@example.com", "ops@waybill.example"]
    assert sent[0].subject == "We have received your order (ord_1)"
