"""Staff close a campaign by hand: `POST /staff/campaigns/{campaign_id}/close` starts the close (202)
and the purchase-orders queue carries it out, one chunk of orders per message; the campaign shows
its progress meanwhile."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.models import Item, PurchaseOrderItem
from chalicelib.config import settings
from chalicelib.domain.purchase_orders import po_id
from chalicelib.local.provision import Provisioned
from tests.adapters.close_queue import poller, run_queue, waiting
from tests.api.support import assert_error, mocked_account_with_close_queue, order_body
from tests.aws import ADMIN, ALICE, BOB, BUYER, CARE, live_campaign


@pytest.fixture
def aws() -> Iterator[Provisioned]:
    with mocked_account_with_close_queue() as provisioned:  # the close route queues the close's first chunk
        yield provisioned


@pytest.fixture
def chunk_of_two(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("WAYBILL_CLOSE_CHUNK_ORDERS", "2")
    settings.cache_clear()
    yield
    monkeypatch.delenv("WAYBILL_CLOSE_CHUNK_ORDERS")
    settings.cache_clear()


def _order(api, who, campaign_id, *lines):
    status, order = api.post("/orders", who, order_body(campaign_id, *lines))
    assert status == 201, order
    return order


def _pos(campaign_id):
    return {i.supplier_id: i for i in Item.gsi2.query(keys.campaign_pos_pk(campaign_id)) if isinstance(i, PurchaseOrderItem)}


def test_a_buyer_closes_a_live_campaign_it_is_ended_then_closed_into_purchase_orders(api, aws):
    campaign = live_campaign(api)
    a = _order(api, ALICE, campaign["id"], ("MUG-1", 2), ("CAP-1", 1))
    b = _order(api, BOB, campaign["id"], ("MUG-1", 1))

    status, body = api.post(f"/staff/campaigns/{campaign['id']}/close", BUYER)

    assert status == 202, body
    assert body["status"] == "ended" and body["id"] == campaign["id"]  # started: the queue closes it
    assert body["close"]["state"] == "running"
    assert (body["close"]["orders_done"], body["close"]["orders_total"]) == (0, 2)
    assert _pos(campaign["id"]) == {} and waiting(aws) == 1

    assert run_queue(aws) == 1  # two orders: one chunk

    pos = _pos(campaign["id"])
    assert set(pos) == {"acme", "bolt"} and pos["acme"].id == po_id(campaign["id"], "acme")
    assert [(l.sku, int(l.ordered_quantity)) for l in pos["acme"].lines] == [("MUG-1", 3)]
    for who, order in ((ALICE, a), (BOB, b)):
        status, seen = api.get(f"/orders/{order['id']}", who)
        assert seen["status"] == "ordered"
    status, events = api.get(f"/staff/campaigns/{campaign['id']}", CARE)
    assert events["status"] == "closed"
    assert events["close"]["state"] == "done" and events["close"]["orders_done"] == 2


def test_the_campaign_shows_how_many_orders_its_close_has_done_chunk_by_chunk(api, aws, chunk_of_two):
    campaign = live_campaign(api)
    for i in range(5):
        _order(api, ALICE if i % 2 else BOB, campaign["id"], ("MUG-1", 1))
    status, body = api.post(f"/staff/campaigns/{campaign['id']}/close", BUYER)
    assert status == 202 and (body["close"]["orders_done"], body["close"]["orders_total"]) == (0, 5)
    runner = poller(aws)

    seen = []
    while runner.step():
        status, now = api.get(f"/staff/campaigns/{campaign['id']}", CARE)
        seen.append((now["status"], now["close"]["state"], now["close"]["orders_done"], now["close"]["chunks_done"]))

    assert seen == [
        ("ended", "running", 2, 1),
        ("ended", "running", 4, 2),
        ("closed", "done", 5, 3),
    ]
    (acme,) = _pos(campaign["id"]).values()
    assert [(l.sku, int(l.ordered_quantity)) for l in acme.lines] == [("MUG-1", 5)] and int(acme.order_count) == 5


def test_closing_again_while_the_close_runs_starts_no_second_run(api, aws, chunk_of_two):
    campaign = live_campaign(api)
    for _ in range(3):
        _order(api, ALICE, campaign["id"], ("MUG-1", 1))
    status, first = api.post(f"/staff/campaigns/{campaign['id']}/close", BUYER)
    assert status == 202
    assert poller(aws).step()  # the first chunk ran

    status, again = api.post(f"/staff/campaigns/{campaign['id']}/close", ADMIN)

    assert status == 202 and again["close"]["started_at"] == first["close"]["started_at"]
    assert again["close"]["orders_done"] == 2
    run_queue(aws)  # the re-queued chunk and its original: one effect
    (acme,) = _pos(campaign["id"]).values()
    assert [(l.sku, int(l.ordered_quantity)) for l in acme.lines] == [("MUG-1", 3)]
    status, now = api.get(f"/staff/campaigns/{campaign['id']}", CARE)
    assert now["status"] == "closed" and now["close"]["orders_done"] == 3


def test_closing_a_closed_campaign_is_a_409_and_changes_nothing(api, aws):
    campaign = live_campaign(api)
    _order(api, ALICE, campaign["id"], ("MUG-1", 2))
    status, _ = api.post(f"/staff/campaigns/{campaign['id']}/close", ADMIN)
    assert status == 202
    run_queue(aws)
    status, first = api.get(f"/staff/campaigns/{campaign['id']}", CARE)
    assert first["status"] == "closed"

    status, body = api.post(f"/staff/campaigns/{campaign['id']}/close", BUYER)

    assert_error(status, body, 409, "invalid_transition")
    status, now = api.get(f"/staff/campaigns/{campaign['id']}", CARE)
    assert now["version"] == first["version"]
    assert waiting(aws) == 0


def test_customer_care_may_not_close_a_campaign(api, aws):
    campaign = live_campaign(api)
    status, body = api.post(f"/staff/campaigns/{campaign['id']}/close", CARE)
    assert_error(status, body, 403)
    status, still = api.get(f"/staff/campaigns/{campaign['id']}", CARE)
    assert still["status"] == "live" and still["close"] is None
    assert waiting(aws) == 0


def test_closing_a_draft_or_unknown_campaign_is_refused(api, aws):
    status, draft = api.post("/staff/campaigns", BUYER, {"name": "Draft", "products": []})
    assert status == 201
    status, body = api.post(f"/staff/campaigns/{draft['id']}/close", BUYER)
    assert_error(status, body, 409, "invalid_transition")
    status, body = api.post("/staff/campaigns/cmp_nope/close", BUYER)
    assert_error(status, body, 404, "not_found")
    assert waiting(aws) == 0
