"""Held orders come to staff: placed over HTTP, followed through the stream, the bus and the
consumers (campaign-orders, purchase-orders, notifications) on moto, swept by the escalation
sweep, closed under both `WAYBILL_HELD_AT_CLOSE` choices."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb import repository as repo
from chalicelib.adapters.dynamodb.metering import metered
from chalicelib.adapters.dynamodb.models import AuditEventItem, CampaignItem, Item, PurchaseOrderItem
from chalicelib.config import settings
from chalicelib.domain import holds as hold_rules
from chalicelib.domain.exceptions import Status
from chalicelib.handlers import batch, campaigns, notifications, publisher, purchase_orders
from chalicelib.services import catalogue, escalations, exceptions
from chalicelib.services.clock import now
from chalicelib.topology import CAMPAIGN_ORDERS, NOTIFICATIONS, PURCHASE_ORDERS
from tests.adapters.events import drain, stream_records
from tests.api.support import assert_error, place, place_on_hold
from tests.aws import ALICE, BOB, BUYER, CARE, live_campaign

BUYER_MAIL = "buyer@waybill.example"
CARE_MAILBOX = "care@waybill.example"  # settings().mailbox_customer_care
CONSUMERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    CAMPAIGN_ORDERS.name: campaigns.handle,
    PURCHASE_ORDERS.name: purchase_orders.handle,
    NOTIFICATIONS.name: notifications.handle,
}


@pytest.fixture
def held_at_close(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    def use(value: str) -> None:
        monkeypatch.setenv("WAYBILL_HELD_AT_CLOSE", value)
        settings.cache_clear()

    yield use
    monkeypatch.delenv("WAYBILL_HELD_AT_CLOSE", raising=False)
    settings.cache_clear()


def settle(aws: Any, seen: set[str], *, mail: bool = True) -> list[dict[str, Any]]:
    """What the local stack's pollers do: publish the stream's new audit events and hand each queue's
    messages to its consumer (the notifications one unless `mail` is off), until nothing new happens.
    Returns the events handled."""
    consumers = {q: h for q, h in CONSUMERS.items() if mail or q != NOTIFICATIONS.name}
    handled: list[dict[str, Any]] = []
    for _ in range(10):
        fresh = [r for r in stream_records(aws.stream_arn) if r["eventID"] not in seen]
        if not fresh:
            return handled
        seen.update(r["eventID"] for r in fresh)
        publisher.publish(fresh)
        for queue, handle in consumers.items():
            for message in drain(aws.queue_urls[queue]):
                event = batch.domain_event(message["Body"])
                handle(event)
                handled.append(event)
    raise AssertionError("the events never settled")


def mail_to(address: str, contains: str = "") -> list[Any]:
    sent = ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages
    return [m for m in sent if m.destinations["ToAddresses"] == [address] and contains in m.subject + m.body]


def hold_exception(order_id: str) -> exceptions.ExceptionRecord:
    record = exceptions.get(exceptions.exception_id(hold_rules.HOLD_KIND, "order", order_id))
    assert record is not None, f"no order_on_hold exception for {order_id}"
    return record


def waiting_exception(campaign_id: str) -> exceptions.ExceptionRecord | None:
    return exceptions.get(exceptions.exception_id(hold_rules.CLOSE_WAITING_KIND, "campaign", campaign_id))


def queue_of(api: Any, kind: str) -> list[dict[str, Any]]:
    status, page = api.get(f"/staff/exceptions?kind={kind}", CARE)
    assert status == 200, page
    return page["items"]


def ends_at(campaign: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(campaign["ends_at"])


def end(campaign_id: str) -> None:
    assert catalogue.end_due_campaigns(now() + timedelta(days=30)) == [campaign_id]


def pos_of(campaign_id: str) -> dict[str, PurchaseOrderItem]:
    return {i.supplier_id: i for i in Item.gsi2.query(keys.campaign_pos_pk(campaign_id)) if isinstance(i, PurchaseOrderItem)}


def campaign_status(campaign_id: str) -> str:
    item = repo.get(keys.campaign(campaign_id), CampaignItem)
    assert item is not None
    return str(item.status)


def order_of(api: Any, order_id: str) -> dict[str, Any]:
    status, order = api.get(f"/staff/orders/{order_id}", CARE)
    assert status == 200, order
    return order


# ---------------------------------------------------------------- placing


def test_placing_a_held_order_raises_one_exception_for_customer_care_in_the_same_transaction(api, aws):
    campaign = live_campaign(api)
    seen: set[str] = set()
    place(api, campaign["id"], ("MUG-1", 1))  # not held: nothing for staff
    with metered() as m:
        order = place_on_hold(api, campaign["id"])
    assert m.requests == {"BatchGetItem": 1, "TransactWriteItems": 1}, "no read or write more than any order"

    (item,) = queue_of(api, "order_on_hold")
    assert (item["subject_type"], item["subject_id"]) == ("order", order["id"])
    assert (item["owner"], item["severity"], item["status"]) == ("customer_care", "high", "open")
    assert item["campaign_id"] == campaign["id"]
    details = item["details"]
    assert details["hold_reasons"] == ["total_above_threshold"]
    assert (details["total_cents"], details["currency"]) == (order["total_cents"], "EUR")
    assert datetime.fromisoformat(details["campaign_ends_at"]) == ends_at(campaign)
    decide_by = datetime.fromisoformat(details["decide_by"])
    assert decide_by == ends_at(campaign) - timedelta(seconds=settings().hold_decide_before_close_s)
    assert datetime.fromisoformat(item["due_at"]) < ends_at(campaign)  # care's first reminder comes before

    settle(aws, seen)
    assert len(mail_to(CARE_MAILBOX, order["id"])) == 1  # care hears at once
    assert mail_to(BUYER_MAIL, order["id"]) == []  # the buyer not yet


def test_an_order_placed_in_the_campaigns_last_day_is_due_for_a_decision_at_once(api, aws, monkeypatch):
    campaign = live_campaign(api)
    monkeypatch.setenv("WAYBILL_HOLD_DECIDE_BEFORE_CLOSE_S", str(30 * 86400))  # longer than the campaign
    settings.cache_clear()
    try:
        before = now()
        order = place_on_hold(api, campaign["id"])
    finally:
        monkeypatch.delenv("WAYBILL_HOLD_DECIDE_BEFORE_CLOSE_S")
        settings.cache_clear()
    record = hold_exception(order["id"])
    assert record.deadline is not None and before <= record.deadline <= now()
    assert escalations.sweep(now()).actions == {"escalate": 1}
    assert hold_exception(order["id"]).level == 2  # straight to the buyer


# ---------------------------------------------------------------- deciding


@pytest.mark.parametrize("decision", ["approve", "reject", "cancel by the customer"])
def test_deciding_or_cancelling_a_held_order_resolves_its_exception(api, aws, decision):
    campaign = live_campaign(api)
    seen: set[str] = set()
    order = place_on_hold(api, campaign["id"])
    settle(aws, seen)
    if decision == "cancel by the customer":
        status, body = api.post(f"/orders/{order['id']}/cancel", ALICE, {})
        said = "cancelled by cust-alice (customer)"
    else:
        status, body = api.post(
            f"/staff/orders/{order['id']}/transitions",
            CARE,
            {"action": decision, "internal_note": "rang the customer", "customer_note": "Thanks for confirming."},
        )
        said = f"{'approved' if decision == 'approve' else 'rejected'} by care-1 (customer_care)"
    assert status == 200, body
    assert hold_exception(order["id"]).status is Status.OPEN  # the order's own change is one transaction

    settle(aws, seen)

    record = hold_exception(order["id"])
    assert record.status is Status.RESOLVED
    assert record.resolution is not None and said in record.resolution
    assert queue_of(api, "order_on_hold") == []
    assert escalations.sweep(ends_at(campaign)).read == 0  # nothing left due


def test_an_order_that_was_never_held_costs_the_consumer_nothing(api, aws):
    campaign = live_campaign(api)
    seen: set[str] = set()
    order = place(api, campaign["id"], ("MUG-1", 1))
    settle(aws, seen)
    assert api.post(f"/orders/{order['id']}/cancel", ALICE, {})[0] == 200
    fresh = [r for r in stream_records(aws.stream_arn) if r["eventID"] not in seen]
    seen.update(r["eventID"] for r in fresh)
    publisher.publish(fresh)
    (cancelled,) = [batch.domain_event(m["Body"]) for m in drain(aws.queue_urls[CAMPAIGN_ORDERS.name])]
    assert cancelled.type == "order.cancelled" and cancelled.from_status == "placed"
    with metered() as m:
        assert campaigns.handle(cancelled) == 0
    assert m.requests == {}


# ---------------------------------------------------------------- the deadline


def test_the_sweep_past_the_deadline_emails_the_buyer_once_naming_the_held_order(api, aws):
    campaign = live_campaign(api)
    seen: set[str] = set()
    order = place_on_hold(api, campaign["id"])
    settle(aws, seen)
    deadline = hold_exception(order["id"]).deadline
    assert deadline is not None

    assert escalations.sweep(now() + timedelta(hours=5)).actions == {"escalate": 1}  # care reminded first
    assert escalations.sweep(deadline - timedelta(minutes=1)).actions == {}
    settle(aws, seen)
    assert mail_to(BUYER_MAIL, order["id"]) == []

    assert escalations.sweep(deadline + timedelta(minutes=1)).actions == {"escalate": 1}
    assert escalations.sweep(deadline + timedelta(hours=2)).actions == {}  # once per level
    settle(aws, seen)

    (warning,) = mail_to(BUYER_MAIL, order["id"])
    assert warning.subject == f"Decide order {order['id']} before Winter sale closes: it is still on hold"
    assert "its total is above the pre-approval threshold" in warning.body
    assert f"{order['total_cents'] / 100:.2f} EUR" in warning.body
    assert "the close rejects it" in warning.body and "WAYBILL_HELD_AT_CLOSE=reject" in warning.body
    assert f"/#/orders/{order['id']}" in warning.body
    record = hold_exception(order["id"])
    assert (record.level, record.status) == (2, Status.OPEN)
    settle(aws, seen)
    assert len(mail_to(BUYER_MAIL, order["id"])) == 1  # a redelivery or a later sweep sends nothing more


# ---------------------------------------------------------------- the close


@pytest.mark.parametrize(
    ("mode", "money"),
    [
        ("prepaid", "We are refunding the 525.00 EUR you paid"),
        ("pay_on_delivery", "You have not been charged."),
        ("authorise_then_capture", "You have not been charged."),
    ],
)
def test_closing_with_reject_refuses_the_held_order_telling_the_customer_and_naming_the_setting(api, aws, mode, money):
    campaign = live_campaign(api)
    seen: set[str] = set()
    kept = place(api, campaign["id"], ("MUG-1", 2), who=BOB)
    held = place(api, campaign["id"], ("MUG-2", 21), payment_mode=mode)
    assert held["status"] == "on_hold" and held["total_cents"] == 52_500
    settle(aws, seen)

    end(campaign["id"])
    settle(aws, seen)

    assert campaign_status(campaign["id"]) == "closed"
    refused = order_of(api, held["id"])
    assert refused["status"] == "rejected"
    (rejection,) = [e for e in refused["events"] if e["type"] == "order.rejected"]
    said = rejection["customer_note"]
    assert said.startswith("The campaign closed before we could approve your order, so we could not accept it.")
    assert money in said
    assert ("not been charged" in said) is (mode != "prepaid")  # never both "not charged" and a refund
    assert "WAYBILL_HELD_AT_CLOSE=reject" in rejection["internal_note"]
    status, mine = api.get(f"/orders/{held['id']}", ALICE)
    assert status == 200 and "WAYBILL_HELD_AT_CLOSE" not in str(mine)  # the setting is for staff
    record = hold_exception(held["id"])
    assert record.status is Status.RESOLVED
    assert "WAYBILL_HELD_AT_CLOSE=reject" in (record.resolution or "")
    assert said in (record.resolution or "")
    (told,) = mail_to("alice@example.com", "could not accept it")
    assert held["id"] in told.body and money in told.body
    assert [(l.sku, int(l.ordered_quantity)) for l in pos_of(campaign["id"])["acme"].lines] == [("MUG-1", 2)]
    assert order_of(api, kept["id"])["status"] == "ordered"
    assert waiting_exception(campaign["id"]) is None


def test_closing_with_wait_leaves_the_campaign_open_until_the_held_order_is_approved(api, aws, held_at_close):
    held_at_close("wait")
    campaign = live_campaign(api)
    seen: set[str] = set()
    kept = place(api, campaign["id"], ("MUG-1", 2), who=BOB)
    held = place_on_hold(api, campaign["id"])
    settle(aws, seen)

    end(campaign["id"])
    settle(aws, seen)

    assert campaign_status(campaign["id"]) == "ended"
    assert pos_of(campaign["id"]) == {}
    assert order_of(api, held["id"])["status"] == "on_hold"
    assert order_of(api, kept["id"])["status"] == "placed"  # nothing moved: no PO, nothing ordered
    waiting = waiting_exception(campaign["id"])
    assert waiting is not None and waiting.status is Status.OPEN
    assert (waiting.severity.value, waiting.owner.value) == ("critical", "buyer")
    assert waiting.details["held_order_ids"] == [held["id"]]
    assert "WAYBILL_HELD_AT_CLOSE=wait" in waiting.details["setting"]
    assert hold_exception(held["id"]).severity.value == "critical"
    assert len(mail_to(BUYER_MAIL, "Campaign close waiting for held orders")) == 1

    status, body = api.post(f"/staff/campaigns/{campaign['id']}/close", BUYER)  # by hand: still waiting, and why
    error = assert_error(status, body, 422, "held_orders_undecided")
    assert held["id"] in str(error["details"]) and "WAYBILL_HELD_AT_CLOSE=wait" in error["message"]
    assert campaign_status(campaign["id"]) == "ended"

    assert api.post(f"/staff/orders/{held['id']}/transitions", CARE, {"action": "approve"})[0] == 200
    settle(aws, seen)

    assert campaign_status(campaign["id"]) == "closed"
    assert [(l.sku, int(l.ordered_quantity)) for l in pos_of(campaign["id"])["acme"].lines] == [("MUG-1", 2), ("MUG-2", 21)]
    assert order_of(api, held["id"])["status"] == "ordered"
    assert hold_exception(held["id"]).status is Status.RESOLVED
    resumed = waiting_exception(campaign["id"])
    assert resumed is not None and resumed.status is Status.RESOLVED
    trail = [i.type for i in repo.query_all(keys.campaign_pk(campaign["id"])) if isinstance(i, AuditEventItem)]
    assert trail.count("campaign.close_resumed") == 1 and trail[-1] == "campaign.closed"


def test_a_waiting_close_waits_for_the_last_held_order_and_never_orders_a_rejected_one(api, aws, held_at_close):
    held_at_close("wait")
    campaign = live_campaign(api)
    seen: set[str] = set()
    first = place_on_hold(api, campaign["id"])
    second = place_on_hold(api, campaign["id"], who=BOB)
    end(campaign["id"])
    settle(aws, seen)
    assert waiting_exception(campaign["id"]).details["held_count"] == 2  # type: ignore[union-attr]

    assert api.post(f"/staff/orders/{first['id']}/transitions", CARE, {"action": "reject"})[0] == 200
    settle(aws, seen)
    assert campaign_status(campaign["id"]) == "ended" and pos_of(campaign["id"]) == {}
    waiting = waiting_exception(campaign["id"])
    assert waiting is not None and waiting.status is Status.OPEN

    assert api.post(f"/staff/orders/{second['id']}/transitions", CARE, {"action": "approve"})[0] == 200
    settle(aws, seen)
    assert campaign_status(campaign["id"]) == "closed"
    assert [(l.sku, int(l.ordered_quantity)) for l in pos_of(campaign["id"])["acme"].lines] == [("MUG-2", 21)]
    assert order_of(api, first["id"])["status"] == "rejected"


# ---------------------------------------------------------------- the demo


def test_the_seeds_held_orders_wait_in_the_exceptions_queue_and_the_decided_ones_do_not(api, aws, monkeypatch):
    from chalicelib.local import seed

    # Its first 20 orders (the same draws) hold, approve and reject as the full seed does, at half the time.
    monkeypatch.setattr(seed, "ORDER_COUNT", 20)
    summary = seed.seed()
    settle(aws, set(), mail=False)  # what `make run`'s pollers do with the seed's events (its mail aside)

    statuses = {o: order_of(api, o)["status"] for o in summary.order_ids}
    were_held = {
        o
        for o in summary.order_ids
        if any(e["type"] == "order.placed" and e["to_status"] == "on_hold" for e in order_of(api, o)["events"])
    }
    still_held = {o for o, s in statuses.items() if s == "on_hold"}
    assert still_held and were_held - still_held, "the seed keeps some orders held and decides others"
    queued = {i["subject_id"] for i in queue_of(api, "order_on_hold")}
    assert queued == still_held
    for order_id in were_held - still_held:
        assert hold_exception(order_id).status is Status.RESOLVED
