"""Rejections reach customers: after a supplier acknowledges its PO, what it accepted goes to
the earliest orders; the money of the rest is settled once, as the payment mode says (a prepaid
order's refund goes through the gateway, once), and each affected customer is told."""

from __future__ import annotations

from datetime import timedelta

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb import repository as repo
from chalicelib.adapters.dynamodb.models import OrderItem, PaymentTxnItem
from chalicelib.config import settings
from chalicelib.domain.orders import Order
from chalicelib.domain.purchase_orders import LineAcceptance, RejectReason, Stage, acknowledge, po_id
from chalicelib.handlers import notifications, purchase_orders
from chalicelib.services import campaign_close, catalogue, orders, refunds, uow
from chalicelib.services.clock import now
from chalicelib.services.stages import load_po
from tests.adapters import shop
from tests.adapters.close_queue import run_queue
from tests.adapters.events import deliver_mail, seen_so_far, typed
from tests.adapters.shop import ALICE, BOB

OOS = RejectReason.OUT_OF_STOCK


def sent():
    return ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages


def closed_shop(campaign_id: str) -> dict[str, str]:
    """Three orders, oldest first, then the campaign closed: acme's PO has MUG-1 x6, MUG-2 x1."""
    ids = {
        "first": shop.place(ALICE, campaign_id, ("MUG-1", 3)).order.id,
        "second": shop.place(BOB, campaign_id, ("MUG-1", 2), ("CAP-1", 1)).order.id,
        "third": shop.place(ALICE, campaign_id, ("MUG-1", 1), ("MUG-2", 1)).order.id,
    }
    catalogue.end_due_campaigns(now() + timedelta(days=30))
    campaign_close.close_campaign(campaign_id)
    return ids


def acknowledged(campaign_id: str, supplier_id: str, *answers: tuple[str, int, RejectReason | None]) -> dict:
    """The supplier's answer recorded on its PO (as the acknowledge stage would), and the event it makes."""
    loaded = load_po(po_id(campaign_id, supplier_id))
    po = loaded.po
    po.stage = Stage.ACKNOWLEDGE
    decision = acknowledge(po, [LineAcceptance(sku, qty, reason) for sku, qty, reason in answers])
    repo.commit([repo.po_write(po, version=loaded.version, now=now(), execution_arn=loaded.execution_arn)], what="po")
    return typed(
        {
            "id": f"evt-ack-{po.id}",
            "type": "po.acknowledge_completed",
            "subject_id": po.id,
            "data": {
                "po_id": po.id,
                "campaign_id": campaign_id,
                "supplier_id": supplier_id,
                "stage": "acknowledge",
                "decision": decision.value,
            },
        }
    )


def refunds_of(order_id: str) -> list[tuple[int, str]]:
    """The order's refund records: (amount, status)."""
    items = PaymentTxnItem.query(keys.order_pk(order_id), PaymentTxnItem.SK.startswith("PAYMENT#"))
    return sorted((int(i.amount_cents), i.status) for i in items if isinstance(i, PaymentTxnItem) and i.payment_kind == "refund")


def order(order_id: str) -> OrderItem:
    return repo.get(keys.order(order_id), OrderItem)


def lines(order_id: str) -> list[tuple[str, int]]:
    return [(l.sku, int(l.quantity)) for l in order(order_id).lines]


def delivery(order_id: str, supplier_id: str) -> str:
    return next(d.status for d in order(order_id).deliveries if d.supplier_id == supplier_id)


def test_a_short_acceptance_goes_to_the_earliest_orders_and_refunds_exactly_the_rest(aws, campaign_id):
    ids = closed_shop(campaign_id)
    seen = seen_so_far(aws)
    event = acknowledged(campaign_id, "acme", ("MUG-1", 4, OOS), ("MUG-2", 0, RejectReason.DISCONTINUED))
    assert event.data.decision == "partially_accepted"

    result = purchase_orders.handle(event)

    assert (result.settled, result.refunds, result.lost) == (3, 2, 2)  # one refund per order that lost lines
    # first keeps its 3; second gets the last one of 2; third keeps nothing from acme
    assert delivery(ids["first"], "acme") == "accepted" and lines(ids["first"]) == [("MUG-1", 3)]
    assert delivery(ids["second"], "acme") == "accepted" and lines(ids["second"]) == [("MUG-1", 1), ("CAP-1", 1)]
    assert delivery(ids["second"], "bolt") == "ordered"
    assert delivery(ids["third"], "acme") == "rejected"
    assert int(order(ids["second"]).total_cents) == 2 * 1200 + 900  # what was ordered keeps its meaning

    assert refunds_of(ids["first"]) == []
    assert refunds_of(ids["second"]) == [(1200, "pending")]
    assert refunds_of(ids["third"]) == [(1200 + 2500, "pending")]

    assert sent() == []  # the settlement sends nothing itself: its events go through the notifications consumer
    deliver_mail(aws, seen)
    by_to = {m.destinations["ToAddresses"][0]: m for m in sent()}
    assert sorted(m.destinations["ToAddresses"][0] for m in sent()) == ["alice@example.com", "bob@example.com"]
    assert by_to["bob@example.com"].subject == f"Part of your order cannot be supplied ({ids['second']})"
    assert "12.00 EUR" in by_to["bob@example.com"].body and "out of stock" in by_to["bob@example.com"].body
    alice = by_to["alice@example.com"]
    assert ids["third"] in alice.subject and "37.00 EUR" in alice.body and "Big mug" in alice.body
    # the third order had only acme's lines: nothing of it can be supplied, and the mail says so
    assert alice.subject.startswith("Your order cannot be supplied")
    assert "none of your order can be supplied" in alice.body
    assert order(ids["third"]).status == "not_supplied"


def test_the_customer_sees_the_note_in_the_order_timeline_and_staff_detail_stays_internal(aws, campaign_id):
    ids = closed_shop(campaign_id)
    purchase_orders.handle(acknowledged(campaign_id, "acme", ("MUG-1", 4, OOS), ("MUG-2", 1, None)))
    seen = orders.get_order_for_customer(BOB, ids["second"])
    views = [v for v in (e.customer_view() for e in seen.events) if v]
    assert views[-1]["note"] == (
        "The supplier could not supply part of your order: 1 x Mug (is out of stock). "
        "We are refunding 12.00 EUR to your original payment method."
    )
    assert "purchase order" not in str(views)


def test_a_redelivered_acknowledgement_refunds_and_mails_nothing_more(aws, campaign_id):
    ids = closed_shop(campaign_id)
    seen = seen_so_far(aws)
    event = acknowledged(campaign_id, "acme", ("MUG-1", 4, OOS), ("MUG-2", 0, OOS))
    purchase_orders.handle(event)
    versions = {k: int(order(v).version) for k, v in ids.items()}

    again = purchase_orders.handle(event)

    assert (again.settled, again.replayed, again.refunds, again.lost) == (0, 3, 0, 0)
    assert {k: int(order(v).version) for k, v in ids.items()} == versions
    assert len([e for e in deliver_mail(aws, seen) if e.type == "order.lines_rejected"]) == 2
    assert len(refunds_of(ids["third"])) == 1 and len(sent()) == 2


def test_a_settlement_interrupted_after_some_orders_shares_out_the_same_on_rerun(aws, campaign_id):
    ids = closed_shop(campaign_id)
    event = acknowledged(campaign_id, "acme", ("MUG-1", 4, OOS), ("MUG-2", 1, None))
    po = load_po(event.data.po_id).po
    # The first run settled only the oldest order, then crashed.
    from chalicelib.domain.supply import Allocator

    first = uow.store().load(Order, ids["first"])
    assert first is not None
    refunds._settle_order(first, po, Allocator({"MUG-1": 4, "MUG-2": 1}), refunds.Settlement(po.id))

    result = refunds.settle_acknowledgement(po.id, page_size=1)  # and page by page

    assert (result.settled, result.replayed) == (2, 1)
    assert lines(ids["first"]) == [("MUG-1", 3)]
    assert lines(ids["second"]) == [("MUG-1", 1), ("CAP-1", 1)]
    assert lines(ids["third"]) == [("MUG-2", 1)]
    assert refunds_of(ids["second"]) == [(1200, "pending")]
    assert refunds_of(ids["third"]) == [(1200, "pending")]


def test_a_full_rejection_rejects_every_delivery_and_refunds_every_line(aws, campaign_id):
    ids = closed_shop(campaign_id)
    seen = seen_so_far(aws)
    event = acknowledged(campaign_id, "bolt", ("CAP-1", 0, OOS))
    assert event.data.decision == "rejected"

    result = purchase_orders.handle(event)
    deliver_mail(aws, seen)

    assert (result.settled, result.refunds, result.lost) == (1, 1, 1)
    assert delivery(ids["second"], "bolt") == "rejected" and delivery(ids["second"], "acme") == "ordered"
    assert refunds_of(ids["second"]) == [(900, "pending")]
    assert [m.destinations["ToAddresses"] for m in sent()] == [["bob@example.com"]]


def test_a_full_acceptance_accepts_the_deliveries_and_refunds_nothing(aws, campaign_id):
    ids = closed_shop(campaign_id)
    seen = seen_so_far(aws)
    result = purchase_orders.handle(acknowledged(campaign_id, "acme", ("MUG-1", 6, None), ("MUG-2", 1, None)))
    assert (result.settled, result.refunds, result.lost) == (3, 0, 0)
    assert all(delivery(i, "acme") == "accepted" for i in ids.values())
    assert deliver_mail(aws, seen) == []  # no rule for order.supplier_accepted: not even routed to the queue
    assert sent() == []


def test_a_redelivered_lines_rejected_event_sends_no_second_mail(aws, campaign_id):
    closed_shop(campaign_id)
    seen = seen_so_far(aws)
    purchase_orders.handle(acknowledged(campaign_id, "acme", ("MUG-1", 4, OOS), ("MUG-2", 1, None)))
    rejected = [e for e in deliver_mail(aws, seen) if e.type == "order.lines_rejected"]
    assert len(rejected) == 2 and all(e.customer_note for e in rejected)  # second and third lost a mug
    assert len(sent()) == 2

    assert [notifications.handle(e) for e in rejected] == [0, 0]  # the queue delivered them again
    assert purchase_orders.handle(rejected[0]) is None  # the purchase-orders consumer mails nothing
    assert len(sent()) == 2
    (bob,) = [m for m in sent() if m.destinations["ToAddresses"] == ["bob@example.com"]]
    assert "12.00 EUR" in bob.body


# ---------------------------------------------------------------- the settlement in chunks


@pytest.fixture
def chunk_of_two(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("WAYBILL_CLOSE_CHUNK_ORDERS", "2")
    settings.cache_clear()
    yield
    monkeypatch.delenv("WAYBILL_CLOSE_CHUNK_ORDERS")
    settings.cache_clear()


def _shared_out_first_come_first_served(campaign_id: str, ids: dict[str, str]) -> None:
    """What acme's answer (MUG-1 x4 of 6, MUG-2 none) shares out over `closed_shop`'s orders."""
    assert delivery(ids["first"], "acme") == "accepted" and lines(ids["first"]) == [("MUG-1", 3)]
    assert delivery(ids["second"], "acme") == "accepted" and lines(ids["second"]) == [("MUG-1", 1), ("CAP-1", 1)]
    assert delivery(ids["third"], "acme") == "rejected"
    assert refunds_of(ids["second"]) == [(1200, "pending")]
    assert refunds_of(ids["third"]) == [(1200 + 2500, "pending")]
    assert load_po(po_id(campaign_id, "acme")).po.orders_to_ship == 2


def test_an_acknowledgement_over_more_orders_than_a_chunk_shares_out_across_the_queued_chunks(aws, campaign_id, chunk_of_two):
    ids = closed_shop(campaign_id)
    event = acknowledged(campaign_id, "acme", ("MUG-1", 4, OOS), ("MUG-2", 0, OOS))

    first = purchase_orders.handle(event)  # the first chunk: the two oldest orders; the next one queued

    assert (first.settled, first.accepted) == (2, 2) and delivery(ids["third"], "acme") == "ordered"
    assert run_queue(aws) == 1
    _shared_out_first_come_first_served(campaign_id, ids)


def test_a_settlement_chunk_that_crashed_half_way_is_finished_by_its_redelivery(aws, campaign_id, chunk_of_two, monkeypatch):
    ids = closed_shop(campaign_id)
    event = acknowledged(campaign_id, "acme", ("MUG-1", 4, OOS), ("MUG-2", 0, OOS))
    real = refunds._settle_order
    calls = {"n": 0}

    def crash_on_the_second_order(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("the function timed out")
        return real(*args, **kwargs)

    monkeypatch.setattr(refunds, "_settle_order", crash_on_the_second_order)
    with pytest.raises(RuntimeError):
        purchase_orders.handle(event)
    assert delivery(ids["first"], "acme") == "accepted" and delivery(ids["second"], "acme") == "ordered"

    again = purchase_orders.handle(event)  # the queue delivers it again
    repeated = purchase_orders.handle(event)  # and once more, after the chunk was recorded

    assert (again.settled, again.replayed) == (1, 1)
    assert (repeated.settled, repeated.replayed, repeated.refunds) == (0, 2, 0)
    assert run_queue(aws) == 2  # the next chunk, queued twice: the second delivery is skipped
    _shared_out_first_come_first_served(campaign_id, ids)
    assert len(refunds_of(ids["third"])) == 1
