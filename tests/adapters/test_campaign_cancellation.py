"""A cancelled campaign cancels its open orders, through the bus and the campaign-orders queue."""

from __future__ import annotations

import json

import boto3

from chalicelib.handlers import campaigns
from chalicelib.services import orders
from chalicelib.topology import CAMPAIGN_ORDERS, TOPOLOGY
from tests.adapters.events import typed
from tests.api.support import order_body
from tests.aws import ALICE, BOB, BUYER, CARE, live_campaign


def _order(api, who, campaign_id, qty=1):
    status, order = api.post("/orders", who, order_body(campaign_id, ("MUG-1", qty)))
    assert status == 201, order
    return order


def test_cancelling_a_campaign_cancels_every_open_order_and_tells_the_customer(api):
    campaign = live_campaign(api)
    open_orders = [_order(api, ALICE, campaign["id"]) for _ in range(5)] + [_order(api, BOB, campaign["id"])]
    rejected = _order(api, BOB, campaign["id"], qty=99)  # above the hold threshold: on hold
    assert rejected["status"] == "on_hold"
    status, _ = api.post(f"/staff/orders/{rejected['id']}/transitions", CARE, {"action": "reject"})
    assert status == 200

    status, body = api.post(f"/staff/campaigns/{campaign['id']}/cancel", BUYER, {"reason": "supplier went bust"})
    assert status == 200 and body["status"] == "cancelled"

    # page_size 2 forces the consumer through several pages
    assert orders.cancel_orders_of_campaign(campaign["id"], page_size=2) == len(open_orders)

    for o in open_orders:
        who = ALICE if o in open_orders[:5] else BOB
        status, seen = api.get(f"/orders/{o['id']}", who)
        assert seen["status"] == "cancelled"
        assert seen["timeline"][-1]["note"].startswith(orders.CAMPAIGN_CANCELLED_NOTE)
        assert "We are refunding the" in seen["timeline"][-1]["note"]  # prepaid: the money goes back
    status, seen = api.get(f"/orders/{rejected['id']}", BOB)
    assert seen["status"] == "rejected"  # not touched: it was no longer open


def test_a_redelivered_cancellation_changes_nothing_more(api):
    campaign = live_campaign(api)
    order = _order(api, ALICE, campaign["id"])
    api.post(f"/staff/campaigns/{campaign['id']}/cancel", BUYER, {"reason": "duplicate campaign"})
    event = typed({"type": "campaign.cancelled", "subject_id": campaign["id"]})
    assert campaigns.handle(event) == 1
    assert campaigns.handle(event) == 0
    status, detail = api.get(f"/staff/orders/{order['id']}", CARE)
    assert [e["type"] for e in detail["events"]].count("order.cancelled") == 1


def test_the_bus_routes_campaign_cancellations_to_the_campaign_orders_queue(aws):
    events = boto3.client("events")
    detail = {"id": "evt_1", "type": "campaign.cancelled", "subject_id": "cmp_1"}
    events.put_events(
        Entries=[
            {"Source": "waybill", "DetailType": "campaign.cancelled", "Detail": json.dumps(detail), "EventBusName": TOPOLOGY.bus}
        ]
    )
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=aws.queue_urls[CAMPAIGN_ORDERS.name], WaitTimeSeconds=1, MaxNumberOfMessages=10).get(
        "Messages", []
    )
    assert [json.loads(m["Body"])["detail"] for m in messages] == [detail]
