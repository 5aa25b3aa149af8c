"""Purchase orders, stage tokens and a scripted bank for the supplier, accounting and webhook tests.

A PO is written through the repository with its stage open and a task token stored, as the
stage consumer would leave it; `send_task_success` is recorded instead of called, so a test can
count that a stage answered Step Functions exactly once."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from moto import mock_aws

from chalicelib.adapters import workflows
from chalicelib.adapters.aws import reset_clients
from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb import repository as repo
from chalicelib.adapters.dynamodb.models import OrderItem, PurchaseOrderItem
from chalicelib.domain.orders import DeliveryAction, apply_delivery_action
from chalicelib.domain.purchase_orders import POLine, PurchaseOrder, Stage, po_id
from chalicelib.local.provision import Provisioned
from chalicelib.services.clock import now
from chalicelib.topology import PURCHASE_ORDERS, TOPOLOGY
from tests.api.support import _SESSION, API_TOPOLOGY, headers
from tests.aws import SFN_CONFIG, provisioned

ACME = headers("sup-acme-1", "supplier", supplier_id="acme")
BOLT = headers("sup-bolt-1", "supplier", supplier_id="bolt")
# MUG-1 costs 500 and MUG-2 900 in tests.aws.live_campaign: 4 x 500 + 2 x 900
ORDERED_CENTS = 3800


@pytest.fixture
def aws() -> Iterator[Provisioned]:
    """The API's account plus the uploads bucket (invoices and product files) and the purchase-orders
    queue (a campaign close runs from it)."""
    topology = dataclasses.replace(API_TOPOLOGY, buckets=TOPOLOGY.buckets[:1], queues=(PURCHASE_ORDERS,))
    with mock_aws(config=SFN_CONFIG):  # type: ignore[arg-type]
        reset_clients()
        yield provisioned(topology, session=_SESSION)
    reset_clients()


@pytest.fixture
def sfn_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    calls: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(workflows, "send_task_success", lambda token, output: calls.append((token, output)))
    return calls


def make_po(
    campaign_id: str,
    supplier_id: str = "acme",
    *,
    stage: Stage | None = Stage.ACKNOWLEDGE,
    token: str | None = "tok",
    accepted: bool = False,
    invoiced: int = 0,
    proposed: int = 0,
    orders_to_ship: int | None = None,
) -> str:
    lines = (
        [POLine("MUG-1", "Mug", 4, 500), POLine("MUG-2", "Big mug", 2, 900)]
        if supplier_id == "acme"
        else [POLine("CAP-1", "Cap", 3, 300)]
    )
    if accepted:
        for line in lines:
            line.accepted_quantity = line.ordered_quantity
    po = PurchaseOrder(
        id=po_id(campaign_id, supplier_id),
        campaign_id=campaign_id,
        supplier_id=supplier_id,
        currency="EUR",
        lines=lines,
        created_at=now(),
        order_count=1,
        stage=stage,
        invoiced_cents=invoiced,
        proposed_cents=proposed,
        orders_to_ship=orders_to_ship if orders_to_ship is not None else (1 if accepted else None),
    )
    repo.commit([repo.po_write(po, version=None, now=now(), task_token=token)], what="test PO")
    return po.id


def accept_deliveries(supplier_id: str, *order_ids: str) -> None:
    """What closing the campaign and sharing out the acknowledgement do to an order's delivery."""
    for order_id in order_ids:
        item = repo.get(keys.order(order_id), OrderItem)
        assert item is not None
        order = repo.order_from_item(item)
        apply_delivery_action(order, supplier_id, DeliveryAction.SEND_PO)
        apply_delivery_action(order, supplier_id, DeliveryAction.ACCEPT)
        repo.commit(repo.order_writes(order, version=int(item.version), now=now()), what="test order")


def po_item(po_id_: str) -> PurchaseOrderItem:
    item = repo.get(keys.po(po_id_), PurchaseOrderItem)
    assert item is not None
    return item


def open_stage(po_id_: str, stage: Stage, token: str = "tok") -> None:
    """What the stage consumer does when the workflow opens a stage: store the stage and its token."""
    item = po_item(po_id_)
    po = repo.po_from_item(item)
    po.stage = stage
    repo.commit([repo.po_write(po, version=int(item.version), now=now(), task_token=token)], what="test stage")


class ScriptedBank:
    """A real HTTP server that answers each request with the next scripted (status, delay)."""

    def __init__(self, script: list[tuple[int, float]] | None = None) -> None:
        self.script = list(script or [])
        self.requests: list[dict[str, Any]] = []
        self._stop = threading.Event()
        bank = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                bank.requests.append({"headers": dict(self.headers), "body": json.loads(body)})
                status, delay = bank.script.pop(0) if bank.script else (202, 0.0)
                if delay:
                    bank._stop.wait(delay)
                data = json.dumps({"status": "accepted" if status < 300 else "error", "reference": "ref-1"}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (timeout)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/payments"

    def __enter__(self) -> ScriptedBank:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def bank_settings(monkeypatch: pytest.MonkeyPatch, url: str, *, retries: int = 1, timeout_s: int = 2) -> Iterator[None]:
    """Point the bank port at `url` (settings are read once; the port reads them through this name)."""
    from chalicelib.adapters import bank
    from chalicelib.config import settings

    patched = dataclasses.replace(settings(), bank_url=url, bank_retries=retries, bank_timeout_s=timeout_s)
    monkeypatch.setattr(bank, "settings", lambda: patched)
    yield
