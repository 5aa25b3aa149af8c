"""Every e-mail speaks in words: whatever status, stage or team an event names, no template shows
its raw code (`out_for_delivery`, `payment_proposal`, `customer_care`).

Each notification rule's template is rendered exactly as the notifications consumer renders it
(`notify.context` then `mail.render`), once per status code the system has, and the daily digest
once per exception status. Nothing here reaches AWS."""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import StrEnum

import pytest

from chalicelib.adapters import mail
from chalicelib.domain import complaints, exceptions, orders, purchase_orders, shipments
from chalicelib.domain.exceptions import Owner
from chalicelib.domain.notifications import RULES, NotificationRule
from chalicelib.domain.purchase_orders import POLine, PurchaseOrder, Stage
from chalicelib.events import DomainEvent, domain_event
from chalicelib.services import notify
from chalicelib.services.clock import now


@pytest.fixture(autouse=True)
def link_keys() -> Iterator[None]:
    """Customer mails carry an order-page link, signed here with a test key (no Secrets Manager)."""
    from chalicelib.domain.track_links import LinkKeys
    from chalicelib.services import track

    with track.using_keys(LinkKeys(b"mail-wording-link-key")):
        yield


STATUS_ENUMS: tuple[type[StrEnum], ...] = (
    orders.OrderStatus,
    orders.DeliveryStatus,
    orders.PaymentMode,
    shipments.ShipmentStatus,
    shipments.TrackingStatus,
    complaints.ComplaintStatus,
    complaints.ReturnStatus,
    purchase_orders.POStatus,
    purchase_orders.Stage,
    exceptions.Status,
    Owner,
)
STATUSES = sorted({s.value for enum in STATUS_ENUMS for s in enum})
# The codes a reader would recognise as codes: the ones with an underscore (`delivered` is a word).
CODES = sorted(s for s in STATUSES if "_" in s)


def shown_codes(text: str) -> list[str]:
    return [c for c in CODES if re.search(rf"(?<![\w/=.-]){re.escape(c)}(?![\w/-])", text)]


def po_item() -> PurchaseOrder:
    po = PurchaseOrder(
        id="po_1",
        campaign_id="cmp_1",
        supplier_id="acme",
        currency="EUR",
        lines=[POLine("MUG-1", "Mug", 2, 500)],
        created_at=now(),
        order_count=1,
        stage=Stage.PAYMENT_PROPOSAL,
    )
    return po


def event_for(rule: NotificationRule, status: str) -> DomainEvent:
    """An event of the rule's type naming `status` wherever an event can carry a status."""
    stage = status if status in {s.value for s in Stage} else Stage.PAYMENT_PROPOSAL.value
    owner = status if status in {o.value for o in Owner} else Owner.CUSTOMER_CARE.value
    parcel = {
        "carrier": "dhl",
        "carrier_name": "DHL",
        "tracking_number": "JD0001",
        "po_id": "po_1",
        "tracking_url": "https://www.dhl.com/track?tracking-id=JD0001",
        "order_ids": ["ord_1"],
        "shipment_id": "shp_1",
        "status": status,
        "abandoned": False,
    }
    data = {
        **parcel,
        "order_id": "ord_1",
        "customer_email": "alice@example.com",
        "status": status,
        "reason": status,
        "stage": stage,
        "deadline": "2030-01-01T00:00:00+00:00",
        "reminders": 2,
        "ordered_cents": 3800,
        "total_cents": 2400,
        "currency": "EUR",
        "refund_cents": 1200,
        "amount_cents": 1200,
        "payable_cents": 1200,
        "lines": [{"sku": "MUG-1", "name": "Mug", "quantity": 1, "amount_cents": 1200}],
        "complaint_id": "cpl_1",
        "supplier_id": "acme",
        "campaign_id": "cmp_1",
        "question": "Packed well?",
        "lines_text": "1 x Mug",
        "exception_id": "exc_1",
        "kind": "tracking_stale",
        "title": "Tracking went quiet",
        "severity": "high",
        "owner": owner,
        "subject_type": "po",
        "subject_id": "po_1",
        "count": 2,
        "level": 1,
        "assignee": "ops@waybill.example",
        "target": owner,
        "details": parcel,
    }
    return domain_event(
        {
            "id": "evt_1",
            "type": rule.event_type,
            "subject_type": "exception" if rule.event_type.startswith("exception.") else "order",
            "subject_id": "exc_1" if rule.event_type.startswith("exception.") else "ord_1",
            "at": "2030-01-01T00:00:00+00:00",
            "actor": {"sub": "system", "role": "admin"},
            "from_status": status,
            "to_status": status,
            "customer_note": "A word from us.",
            "data": data,
        }
    )


@pytest.mark.parametrize("rule", RULES, ids=lambda r: f"{r.event_type}-{r.recipient.value}")
def test_no_notification_shows_a_raw_status_code_whatever_status_its_event_names(rule):
    shown: dict[str, list[str]] = {}
    for status in STATUSES:
        event = event_for(rule, status)
        loaded = notify.Loaded(event, po=po_item() if rule.template == "po_created" else None)
        rendered = mail.render(rule.template, "someone@example.com", **notify.context(rule, loaded))
        codes = sorted({c for part in (rendered.subject, rendered.text, rendered.html) for c in shown_codes(part)})
        if codes:
            shown[status] = codes
    assert shown == {}


@pytest.mark.parametrize("status", [s.value for s in exceptions.Status])
def test_the_daily_digest_shows_no_raw_code(status):
    rendered = mail.render(
        "daily_digest",
        "care@waybill.example",
        day="2030-01-01",
        total=1,
        kinds=[notify.KindSummary("complaint_open", "A complaint waits for customer care", {"high": 1}, 1)],
        oldest=[
            {
                "id": "exc_1",
                "title": "A complaint waits for customer care",
                "severity": "high",
                "status": status,
                "subject_type": "complaint",
                "subject_id": "cpl_1",
                "opened_at": "2030-01-01 10:00",
                "link": "https://waybill.example/staff/exceptions/exc_1",
            }
        ],
        held=[],
        category="digest",
        preferences_url="https://waybill.example/me/notification-preferences",
    )
    for part in (rendered.subject, rendered.text, rendered.html):
        assert shown_codes(part) == [], part


def test_the_codes_checked_include_the_ones_customers_met():
    assert {"out_for_delivery", "partially_dispatched", "payment_proposal", "customer_care"} <= set(CODES)
