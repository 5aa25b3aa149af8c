"""Closing a campaign: one PO per supplier, deliveries ordered, workflows started, the PO
e-mailed once per recipient — through the sweep, the bus and the purchase-orders consumer."""

from __future__ import annotations

import json
from datetime import timedelta

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb import repository as repo
from chalicelib.adapters.dynamodb.models import CampaignItem, Item, OrderItem, PurchaseOrderItem
from chalicelib.config import settings
from chalicelib.domain.errors import InvalidTransition
from chalicelib.domain.notifications import rules_for
from chalicelib.domain.orders import Order, OrderAction
from chalicelib.domain.purchase_orders import po_id
from chalicelib.handlers import batch, notifications, publisher, purchase_orders
from chalicelib.services import campaign_close, catalogue, notify, orders, uow
from chalicelib.services.clock import now
from chalicelib.topology import NOTIFICATIONS, PURCHASE_ORDERS, TOPOLOGY
from tests.adapters import shop
from tests.adapters.close_queue import run_queue
from tests.adapters.events import drain, published, sqs_event, stream_records, typed
from tests.adapters.shop import ALICE, BOB, CARE


def sent():
    return ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages


def deliver(aws, seen: set[str]) -> list[dict]:
    """Publish the stream's new audit events; return the events the purchase-orders queue got."""
    records = stream_records(aws.stream_arn)
    fresh = [r for r in records if r["eventID"] not in seen]
    seen.update(r["eventID"] for r in records)
    publisher.publish(fresh)
    return [batch.domain_event(m["Body"]) for m in drain(aws.queue_urls[PURCHASE_ORDERS.name])]


def end_campaign(campaign_id: str) -> None:
    assert catalogue.end_due_campaigns(now() + timedelta(days=30)) == [campaign_id]


def pos_of(campaign_id: str) -> dict[str, PurchaseOrderItem]:
    items = Item.gsi2.query(keys.campaign_pos_pk(campaign_id))
    return {i.supplier_id: i for i in items if isinstance(i, PurchaseOrderItem)}


def order_status(order_id: str) -> tuple[str, dict[str, str]]:
    item = repo.get(keys.order(order_id), OrderItem)
    return item.status, {d.supplier_id: d.status for d in item.deliveries}


def shop_with_orders(campaign_id: str) -> dict[str, str]:
    placed = {
        "a1": shop.place(ALICE, campaign_id, ("MUG-1", 2), ("CAP-1", 1)),
        "b1": shop.place(BOB, campaign_id, ("MUG-1", 3), ("MUG-2", 1)),
        "a2": shop.place(ALICE, campaign_id, ("MUG-2", 2)),
        "held": shop.place(BOB, campaign_id, ("MUG-2", 30), ("CAP-1", 5)),  # above the hold threshold
        "gone": shop.place(ALICE, campaign_id, ("PEN-1", 5)),
    }
    orders.change_order(ALICE, placed["gone"].order.id, OrderAction.CANCEL)
    assert placed["held"].order.status.value == "on_hold"
    return {k: r.order.id for k, r in placed.items()}


def test_the_sweep_and_the_consumer_close_a_campaign_into_one_po_per_supplier(aws, campaign_id):
    ids = shop_with_orders(campaign_id)
    seen: set[str] = set()
    deliver(aws, seen)  # the order events so far: not this consumer's
    end_campaign(campaign_id)
    (ended,) = deliver(aws, seen)
    assert ended.type == "campaign.ended"

    purchase_orders.handle(ended)  # starts the close: its chunks follow on the queue
    assert pos_of(campaign_id) == {}
    assert run_queue(aws) == 1  # five orders: one chunk, which also makes the POs

    pos = pos_of(campaign_id)
    assert set(pos) == {"acme", "bolt"}  # cove's only order was cancelled; the held one is not ordered
    acme, bolt = pos["acme"], pos["bolt"]
    assert acme.id == po_id(campaign_id, "acme")
    assert [(l.sku, int(l.ordered_quantity), int(l.unit_cost_cents)) for l in acme.lines] == [
        ("MUG-1", 5, 500),
        ("MUG-2", 3, 900),
    ]
    assert int(acme.order_count) == 3 and int(acme.ordered_cents) == 5 * 500 + 3 * 900
    assert [(l.sku, int(l.ordered_quantity)) for l in bolt.lines] == [("CAP-1", 1)]
    assert acme.status == "open" and acme.currency == "EUR"

    assert order_status(ids["a1"]) == ("ordered", {"acme": "ordered", "bolt": "ordered"})
    assert order_status(ids["b1"]) == ("ordered", {"acme": "ordered"})
    # still held at the close: it can no longer be ordered, so it is refused and its customer told
    assert order_status(ids["held"]) == ("rejected", {"acme": "cancelled", "bolt": "cancelled"})
    held_trail = [e for e in orders.get_order_for_customer(BOB, ids["held"]).events if e.type == "order.rejected"]
    assert (held_trail[-1].customer_note or "").startswith(campaign_close.HELD_AT_CLOSE_NOTE)
    assert "WAYBILL_HELD_AT_CLOSE=reject" in (held_trail[-1].internal_note or "")  # never a silent "system"
    assert order_status(ids["gone"])[0] == "cancelled"
    assert repo.get(keys.campaign(campaign_id), CampaignItem).status == "closed"

    sfn = boto3.client("stepfunctions")
    for po in pos.values():
        execution = sfn.describe_execution(executionArn=po.execution_arn)
        assert execution["name"] == po.id
        assert execution["stateMachineArn"] == settings().supplier_fulfilment_arn
        assert json.loads(execution["input"]) == {"po_id": po.id, "deadlines": settings().stage_deadlines()}


def test_the_customer_timeline_says_the_order_went_to_the_suppliers(aws, campaign_id):
    record = shop.place(ALICE, campaign_id, ("MUG-1", 1))
    end_campaign(campaign_id)
    campaign_close.close_campaign(campaign_id)
    seen = orders.get_order_for_customer(ALICE, record.order.id)
    views = [e.customer_view() for e in seen.events]
    assert views[-1]["status"] == "ordered"
    assert "internal" not in json.dumps([v for v in views if v], default=str)


def test_closing_pages_through_any_number_of_orders(aws, campaign_id):
    placed = [shop.place(ALICE if i % 2 else BOB, campaign_id, ("PEN-1", i + 1)) for i in range(7)]
    end_campaign(campaign_id)

    result = campaign_close.close_campaign(campaign_id, page_size=2)  # four pages

    assert result.orders == 7
    (cove,) = pos_of(campaign_id).values()
    assert [(l.sku, int(l.ordered_quantity)) for l in cove.lines] == [("PEN-1", sum(range(1, 8)))]
    assert all(order_status(r.order.id)[0] == "ordered" for r in placed)


def test_closing_twice_or_a_redelivered_event_creates_no_duplicate_po_and_no_second_mail(aws, campaign_id):
    shop_with_orders(campaign_id)
    seen: set[str] = set()
    deliver(aws, seen)
    end_campaign(campaign_id)
    (ended,) = deliver(aws, seen)
    purchase_orders.handle(ended)
    run_queue(aws)
    created = [e for e in published(aws, NOTIFICATIONS.name, seen) if e.type == "po.created"]
    assert len(created) == 2
    for event in created:
        assert notifications.handle(event) == 2  # the PO to the supplier's contact and the buyer
    first_mails = len(sent())
    versions = {s: int(p.version) for s, p in pos_of(campaign_id).items()}

    again = purchase_orders.handle(ended)  # the queue delivered it again
    assert again.already_closed
    for event in created:  # and the po.created events too
        assert purchase_orders.handle(event) is None
        assert notifications.handle(event) == 0

    assert {s: int(p.version) for s, p in pos_of(campaign_id).items()} == versions
    assert [e for e in published(aws, NOTIFICATIONS.name, seen) if e.type == "po.created"] == []
    assert len(sent()) == first_mails == 2 * 2  # supplier contact + buyer, per PO


def test_a_close_interrupted_after_ordering_some_orders_is_finished_by_the_rerun(aws, campaign_id):
    ids = shop_with_orders(campaign_id)
    end_campaign(campaign_id)
    # A first run got as far as ordering one order, then crashed.
    read = uow.store().load(Order, ids["b1"])
    assert read is not None
    campaign_close._send_to_suppliers(read, campaign_close.SYSTEM)
    assert order_status(ids["b1"])[0] == "ordered"

    campaign_close.close_campaign(campaign_id)

    acme = pos_of(campaign_id)["acme"]
    assert [(l.sku, int(l.ordered_quantity)) for l in acme.lines] == [("MUG-1", 5), ("MUG-2", 3)]


def test_a_close_interrupted_after_creating_the_pos_starts_the_workflows_and_closes_on_rerun(aws, campaign_id):
    shop_with_orders(campaign_id)
    end_campaign(campaign_id)
    campaign_close.close_campaign(campaign_id)
    # Pretend the first run stopped before closing: put the campaign back to ended.
    item = repo.get(keys.campaign(campaign_id), CampaignItem)
    item.status = "ended"
    item.save()

    result = campaign_close.close_campaign(campaign_id)

    assert sorted(result.po_ids) == sorted(po_id(campaign_id, s) for s in ("acme", "bolt"))
    assert len(pos_of(campaign_id)) == 2
    arns = [p.execution_arn for p in pos_of(campaign_id).values()]
    assert (
        len(boto3.client("stepfunctions").list_executions(stateMachineArn=settings().supplier_fulfilment_arn)["executions"]) == 2
    )
    assert all(arns)
    assert repo.get(keys.campaign(campaign_id), CampaignItem).status == "closed"


def test_a_live_or_cancelled_campaign_is_not_closed_by_the_consumer(aws, campaign_id):
    shop.place(ALICE, campaign_id, ("MUG-1", 1))
    assert purchase_orders.handle(typed({"type": "campaign.ended", "subject_id": campaign_id})) is None
    assert pos_of(campaign_id) == {}
    assert repo.get(keys.campaign(campaign_id), CampaignItem).status == "live"


def po_created(aws, campaign_id: str, supplier_id: str) -> dict:
    """The `po.created` event of a supplier's PO, as the notifications queue receives it."""
    wanted = po_id(campaign_id, supplier_id)
    (event,) = [e for e in published(aws, NOTIFICATIONS.name) if e.type == "po.created" and e.data.po_id == wanted]
    return event


def test_the_po_e_mail_lists_lines_unit_costs_and_totals_with_a_link(aws, campaign_id):
    shop_with_orders(campaign_id)
    end_campaign(campaign_id)
    campaign_close.close_campaign(campaign_id)
    acme = po_id(campaign_id, "acme")

    assert notifications.handle(po_created(aws, campaign_id, "acme")) == 2

    by_to = {m.destinations["ToAddresses"][0]: m for m in sent()}
    assert set(by_to) == {"orders@acme.example", "buyer@waybill.example"}
    supplier_mail = by_to["orders@acme.example"]
    assert supplier_mail.source == TOPOLOGY.email_identities[0]
    assert supplier_mail.subject == f"Purchase order {acme} for Winter"
    body = supplier_mail.body  # moto keeps the HTML part
    assert "MUG-1" in body and "Mug" in body and ">5<" in body and "5.00" in body and "25.00" in body
    assert "MUG-2" in body and ">3<" in body and "9.00" in body and "27.00" in body
    assert "52.00 EUR" in body
    assert f"{settings().site_base}/supplier/#/purchase-orders/{acme}" in body  # the front office's screen
    assert "Acme Mugs" in by_to["buyer@waybill.example"].subject
    assert f"{settings().site_base}/#/purchase-orders/{acme}" in by_to["buyer@waybill.example"].body  # the admin page's


def test_the_po_e_mail_in_text_carries_the_same_figures(aws, campaign_id):
    shop_with_orders(campaign_id)
    end_campaign(campaign_id)
    campaign_close.close_campaign(campaign_id)
    event = po_created(aws, campaign_id, "acme")  # the typed event the rules and templates read
    rules = rules_for(event)
    loaded = notify.load(event, rules)
    from chalicelib.adapters import mail

    text = mail.render("po_created", "x@example.com", **notify.context(rules[0], loaded)).text
    assert "MUG-1  Mug  5 x 5.00 = 25.00 EUR" in text
    assert "MUG-2  Big mug  3 x 9.00 = 27.00 EUR" in text
    assert "Total: 52.00 EUR" in text
    assert "notification-preferences" not in text  # the supplier's PO is transactional: no opt-out line
    assert [(a, r.recipient.value) for r in rules for a in notify.addresses(r.recipient, loaded)] == [
        ("orders@acme.example", "supplier"),
        ("buyer@waybill.example", "buyer"),
    ]


def test_the_consumer_lambda_closes_the_campaign_from_a_queued_event(aws, campaign_id, client):
    shop.place(ALICE, campaign_id, ("MUG-1", 1))
    seen: set[str] = set()
    deliver(aws, seen)
    end_campaign(campaign_id)
    publisher.publish([r for r in stream_records(aws.stream_arn) if r["eventID"] not in seen])
    messages = drain(aws.queue_urls[PURCHASE_ORDERS.name])
    arn = boto3.client("sqs").get_queue_attributes(QueueUrl=aws.queue_urls[PURCHASE_ORDERS.name], AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]

    response = client.lambda_.invoke(PURCHASE_ORDERS.handler, sqs_event(messages, arn))

    assert response.payload == {"batchItemFailures": []}
    assert pos_of(campaign_id) == {}  # started: the first chunk is queued
    chunk = drain(aws.queue_urls[PURCHASE_ORDERS.name])
    assert len(chunk) == 1
    response = client.lambda_.invoke(PURCHASE_ORDERS.handler, sqs_event(chunk, arn))
    assert response.payload == {"batchItemFailures": []}
    assert set(pos_of(campaign_id)) == {"acme"}


def test_the_bus_routes_po_work_to_the_purchase_orders_queue_and_po_mail_to_the_notifications_queue(aws):
    events = boto3.client("events")
    for kind in ("po.created", "po.acknowledge_completed", "order.lines_rejected"):
        events.put_events(
            Entries=[
                {
                    "Source": "waybill",
                    "DetailType": kind,
                    "EventBusName": TOPOLOGY.bus,
                    "Detail": json.dumps({"id": f"evt-{kind}", "type": kind}),
                }
            ]
        )

    def got(queue: str) -> set[str]:
        return {json.loads(m["Body"])["detail-type"] for m in drain(aws.queue_urls[queue])}  # routing only

    assert got(PURCHASE_ORDERS.name) == {"po.acknowledge_completed"}
    assert got(NOTIFICATIONS.name) == {"po.created", "order.lines_rejected"}


def test_a_held_order_cannot_be_approved_once_its_campaign_has_closed(aws, campaign_id):
    ids = shop_with_orders(campaign_id)
    end_campaign(campaign_id)
    view = campaign_close.close_by_staff(shop.BUYER, campaign_id)
    assert view.campaign.status.value == "ended" and view.close is not None and view.close.state == "running"
    run_queue(aws)
    assert catalogue.get_campaign(shop.BUYER, campaign_id).campaign.status.value == "closed"
    with pytest.raises(InvalidTransition):
        orders.change_order(CARE, ids["held"], OrderAction.APPROVE)
    assert order_status(ids["held"])[0] == "rejected"  # never left waiting for a PO that went out
    assert int(pos_of(campaign_id)["acme"].version) == 2  # created, then its execution ARN stored


# ---------------------------------------------------------------- the close in chunks


@pytest.fixture
def chunk_of_two(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("WAYBILL_CLOSE_CHUNK_ORDERS", "2")
    settings.cache_clear()
    yield
    monkeypatch.delenv("WAYBILL_CLOSE_CHUNK_ORDERS")
    settings.cache_clear()


def _expected_pos(campaign_id: str) -> None:
    """The POs `shop_with_orders` closes into, whatever the chunking."""
    pos = pos_of(campaign_id)
    assert set(pos) == {"acme", "bolt"}
    assert [(l.sku, int(l.ordered_quantity)) for l in pos["acme"].lines] == [("MUG-1", 5), ("MUG-2", 3)]
    assert int(pos["acme"].order_count) == 3
    assert [(l.sku, int(l.ordered_quantity)) for l in pos["bolt"].lines] == [("CAP-1", 1)]
    assert int(pos["bolt"].order_count) == 1


def _chunk_records(campaign_id: str, run_id: str) -> list[Item]:
    from chalicelib.adapters.dynamodb.store_close import CloseChunkItem, close_chunks_pk

    return [i for i in Item.query(close_chunks_pk(campaign_id, run_id)) if isinstance(i, CloseChunkItem)]


def test_a_redelivered_chunk_has_one_effect_no_doubled_sums_and_no_duplicate_po(aws, campaign_id):
    shop_with_orders(campaign_id)  # five orders, three of which go on POs
    end_campaign(campaign_id)
    started = campaign_close.start_close(campaign_id)
    assert isinstance(started, campaign_close.CloseProgress)
    (queued,) = [batch.domain_event(m["Body"]) for m in drain(aws.queue_urls[PURCHASE_ORDERS.name])]
    assert (queued.number, queued.cursor, queued.run_id) == (0, None, started.run_id)

    first = campaign_close.run_chunk(campaign_id, started.run_id, 0, None, page_size=2)
    again = campaign_close.run_chunk(campaign_id, started.run_id, 0, None, page_size=2)  # the same message, redelivered

    assert (first.replayed, again.replayed) == (False, True)
    # a chunk evaluates two orders of the campaign's index (its shards in turn); the cancelled one is
    # filtered out, so it may hold fewer
    assert again.next_cursor == first.next_cursor and again.orders_read == first.orders_read in (1, 2)
    progress = uow.store().load(campaign_close.CloseProgress, campaign_id)
    assert progress is not None and (progress.value.orders_done, progress.value.chunks_done) == (first.orders_read, 1)
    number, cursor = 1, first.next_cursor
    while True:
        step = campaign_close.run_chunk(campaign_id, started.run_id, number, cursor, page_size=2)
        if step.result is not None:
            break
        number, cursor = number + 1, step.next_cursor
    _expected_pos(campaign_id)
    versions = {s: int(p.version) for s, p in pos_of(campaign_id).items()}

    last = campaign_close.run_chunk(campaign_id, started.run_id, number, cursor, page_size=2)  # the last one again

    assert last.stale  # the run is over: nothing done
    assert {s: int(p.version) for s, p in pos_of(campaign_id).items()} == versions
    assert len(_chunk_records(campaign_id, started.run_id)) == number + 1 >= 3  # five orders, at most two a chunk
    progress = uow.store().load(campaign_close.CloseProgress, campaign_id)
    # the held order was read (and refused) by its chunk; the cancelled one is not read: four read
    assert progress is not None and (progress.value.state, progress.value.orders_done) == ("done", 4)


def test_a_chunk_that_crashed_half_way_is_finished_by_its_redelivery_into_the_same_pos(
    aws, campaign_id, chunk_of_two, monkeypatch
):
    ids = shop_with_orders(campaign_id)
    end_campaign(campaign_id)
    started = campaign_close.start_close(campaign_id)
    assert isinstance(started, campaign_close.CloseProgress)
    real = campaign_close._send_to_suppliers
    calls = {"n": 0}

    def crash_on_the_second_order(read, actor, retries=3):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("the function timed out")
        return real(read, actor, retries)

    monkeypatch.setattr(campaign_close, "_send_to_suppliers", crash_on_the_second_order)
    import app

    received: list[str] = []

    def consumer(event, context):
        received.extend(r["receiptHandle"] for r in event["Records"])
        return app.purchase_orders_consumer(event, context)

    from tests.adapters.close_queue import poller

    runner = poller(aws, consumer)
    while calls["n"] < 2:  # the chunks up to the crash: its first order ordered, then the function dies
        assert runner.step()
    statuses = [order_status(i)[0] for i in ids.values()]
    assert "placed" in statuses  # the order it died on (and those after it) wait for the redelivery
    assert pos_of(campaign_id) == {}
    boto3.client("sqs").change_message_visibility(  # the visibility timeout passes
        QueueUrl=aws.queue_urls[PURCHASE_ORDERS.name], ReceiptHandle=received[-1], VisibilityTimeout=0
    )

    assert run_queue(aws) >= 1  # the crashed chunk again, then the rest (five orders, at most two a chunk)
    assert len(_chunk_records(campaign_id, started.run_id)) >= 3  # one record a chunk, none twice (by key)

    _expected_pos(campaign_id)  # the same POs as one run over all the orders
    assert repo.get(keys.campaign(campaign_id), CampaignItem).status == "closed"
    assert order_status(ids["a1"])[0] == order_status(ids["b1"])[0] == "ordered"


def test_a_chunk_costs_one_transaction_per_order_and_four_requests_of_its_own(aws, campaign_id):
    from chalicelib.adapters.dynamodb.metering import metered

    for i in range(4):
        shop.place(ALICE if i % 2 else BOB, campaign_id, ("PEN-1", i + 1))
    end_campaign(campaign_id)
    started = campaign_close.start_close(campaign_id)
    assert isinstance(started, campaign_close.CloseProgress)

    with metered() as m:
        step = campaign_close.run_chunk(campaign_id, started.run_id, 0, None, page_size=2)

    assert (step.orders_read, step.ordered, step.result) == (2, 2, None)
    # the progress and the chunk record read (by key), one page of orders (the index's shards in turn
    # until two are read: an empty shard is a Query that reads nothing), one transaction per order, and
    # the chunk record written with the progress in one more
    requests = dict(m.requests)
    assert 1 <= requests.pop("Query") <= keys.INDEX_SHARDS
    assert requests == {"GetItem": 2, "TransactWriteItems": 2 + 1}
    assert m.items_read == 1 + 2  # the progress, and the page's two orders, each read once (no chunk record yet)
