"""Helpers shared by the API tests (fixtures come from tests.aws through conftest.py)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from moto import mock_aws

from chalicelib.adapters.aws import reset_clients
from chalicelib.local.provision import Provisioned
from chalicelib.topology import PURCHASE_ORDERS, TOPOLOGY
from tests.aws import ALICE, SFN_CONFIG, Api, headers, provisioned

# The HTTP API reads and writes only the table (queues, rules, buckets and mail belong to the
# consumers, tested in tests/adapters): provisioning just the table and bus keeps a fresh account
# per test cheap. A route that starts using another resource fails loudly here, never silently.
API_TOPOLOGY = dataclasses.replace(TOPOLOGY, queues=(), rules=(), buckets=(), email_identities=())
# One boto3 session for every account: a fresh session re-reads the service models each time.
_SESSION = boto3.session.Session(region_name="eu-west-1")


@contextmanager
def mocked_account() -> Iterator[Provisioned]:
    """A fresh moto account with the API's resources; everything in it is gone on exit."""
    with mock_aws(config=SFN_CONFIG):  # type: ignore[arg-type]
        reset_clients()
        yield provisioned(API_TOPOLOGY, session=_SESSION)
    reset_clients()


# Closing a campaign queues its chunks on the purchase-orders queue: suites that close one add it.
CLOSE_TOPOLOGY = dataclasses.replace(API_TOPOLOGY, queues=(PURCHASE_ORDERS,))


@contextmanager
def mocked_account_with_close_queue() -> Iterator[Provisioned]:
    """`mocked_account` with the purchase-orders queue, which a campaign close runs from (drive it
    with tests.adapters.close_queue.run_queue)."""
    with mock_aws(config=SFN_CONFIG):  # type: ignore[arg-type]
        reset_clients()
        yield provisioned(CLOSE_TOPOLOGY, session=_SESSION)
    reset_clients()


# A staff member with a name, so tests can check that staff identities never reach customers.
CARE_NAMED = headers("care-7", "customer_care", email="carla@waybill.example", name="Carla Care")
LOGISTICS = headers("log-1", "logistics")
SUPPLIER_ACME = headers("sup-user-1", "supplier", supplier_id="acme")

HOLD_THRESHOLD_CENTS = 50_000  # settings().hold_threshold_cents default
BIG_MUG_CENTS = 2500  # MUG-2 in live_campaign(): 21 of them exceed the threshold, 20 do not


def assert_error(status: int, body: Any, expected_status: int, code: str | None = None) -> dict[str, Any]:
    """The house error shape: {"error": {"code", "message", "details"}}, with the expected status."""
    assert status == expected_status, (status, body)
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert isinstance(error["code"], str) and error["code"], error
    assert isinstance(error["message"], str) and error["message"], error
    assert isinstance(error["details"], list), error
    if code is not None:
        assert error["code"] == code, error
    return error


def raw(
    api: Api,
    method: str,
    path: str,
    who: dict[str, str] | None = None,
    body: Any = None,
    extra_headers: dict[str, str] | None = None,
) -> Any:
    """The Chalice test client's full response (status, headers, bytes)."""
    data = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else b"")
    return api.client.http.request(method, path, headers={**(who or {}), **(extra_headers or {})}, body=data)


# Where the tests' orders ship (POST /orders needs an address).
SHIP_TO = {
    "name": "Alice Martin",
    "lines": ["12 rue des Lilas", "Bâtiment B"],
    "city": "Paris",
    "postal_code": "75011",
    "country": "FR",
    "phone": "+33 1 23 45 67 89",
}


def order_body(campaign_id: str, *lines: tuple[str, int], **extra: Any) -> dict[str, Any]:
    """A POST /orders body shipping to SHIP_TO (`shipping_address=None, address_id=...` ships to a book entry)."""
    return {
        "campaign_id": campaign_id,
        "lines": [{"sku": sku, "quantity": q} for sku, q in lines],
        "shipping_address": SHIP_TO,
        **extra,
    }


def place(api: Api, campaign_id: str, *lines: tuple[str, int], who: dict[str, str] = ALICE, **extra: Any) -> dict[str, Any]:
    status, order = api.post("/orders", who, order_body(campaign_id, *lines, **extra))
    assert status == 201, order
    return order


def place_on_hold(api: Api, campaign_id: str, who: dict[str, str] = ALICE) -> dict[str, Any]:
    order = place(api, campaign_id, ("MUG-2", 21), who=who)
    assert order["status"] == "on_hold", order
    return order


def draft_campaign(api: Api, who: dict[str, str], *products: dict[str, Any], name: str = "Spring sale") -> dict[str, Any]:
    status, campaign = api.post("/staff/campaigns", who, {"name": name, "products": list(products)})
    assert status == 201, campaign
    return campaign


def product(sku: str, supplier_id: str = "acme", price: int = 1000) -> dict[str, Any]:
    return {
        "sku": sku,
        "name": f"Product {sku}",
        "supplier_id": supplier_id,
        "unit_price_cents": price,
        "unit_cost_cents": price // 2,
    }


def ensure_supplier(api: Api, who: dict[str, str], supplier_id: str, name: str | None = None) -> None:
    status, body = api.post(
        "/staff/suppliers",
        who,
        {"id": supplier_id, "name": name or supplier_id.title(), "contact_emails": [f"orders@{supplier_id}.example"]},
    )
    assert status in (201, 409), body


def staff_order(api: Api, order_id: str, who: dict[str, str]) -> dict[str, Any]:
    status, order = api.get(f"/staff/orders/{order_id}", who)
    assert status == 200, order
    return order


def follow_pages(api: Api, path: str, who: dict[str, str], limit: int) -> tuple[list[dict[str, Any]], int]:
    """Every item of a cursor-paginated listing, and how many pages it took."""
    sep = "&" if "?" in path else "?"
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        url = f"{path}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        status, page = api.get(url, who)
        assert status == 200, page
        assert len(page["items"]) <= limit
        items += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            return items, pages
        assert pages < 50, "pagination does not terminate"


def process_webhooks() -> list[str]:
    """What the inbound-webhooks consumer does for each stored, unprocessed webhook (the stream ->
    bus -> queue path that feeds it is tested in tests/adapters/test_inbound_pipeline.py), then what the
    shipments consumer does with the status changes they recorded; the inbound outcomes."""
    from chalicelib.adapters.dynamodb.models import InboxItem, Item
    from chalicelib.handlers import inbound
    from tests.adapters.events import typed
    from tests.carriers import follow_all

    waiting = [i for i in Item.scan() if isinstance(i, InboxItem) and i.processed_at is None]
    outcomes = [
        inbound.handle(typed({"type": "webhook.received", "data": {"provider": i.provider, "webhook_id": i.webhook_id}}))
        for i in sorted(waiting, key=lambda i: i.received_at)
    ]
    follow_all()  # and the shipments consumer, for the status changes the carrier events recorded
    return outcomes
