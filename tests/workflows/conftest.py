"""The supplier workflow, executed for real: the ASL in infra/statemachines runs on a moto
server (Step Functions execution on), whose service integrations put events on the bus,
which routes them to the po-stages queue. Tests drive the queue like the local poller does.

moto executes service integrations over HTTP against its server, so this suite runs one
server for the session, points boto3 and PynamoDB at it, and provisions the topology once;
each test uses its own PO ids."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.adapters import workflows
from chalicelib.adapters.aws import client
from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb import repository as repo
from chalicelib.adapters.dynamodb.models import PurchaseOrderItem
from chalicelib.domain.campaigns import Campaign, CampaignStatus
from chalicelib.domain.purchase_orders import POLine, PurchaseOrder, Stage
from chalicelib.local.pollers import LambdaContext, StreamPoller, sqs_record
from chalicelib.local.provision import Provisioned, provision
from chalicelib.local.server import MotoServer, pointed_at
from chalicelib.topology import NOTIFICATIONS, PO_STAGES, TOPOLOGY

REGION = "eu-west-1"
LONG = 120  # a deadline no test waits for


@pytest.fixture(scope="session")
def moto_server() -> Iterator[Provisioned]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per moto request otherwise
    server = MotoServer(port=0)
    endpoint = server.start()
    try:
        with pointed_at(endpoint, MOTO_PORT=str(server.port)):
            provisioned = provision(region=REGION)
            arns = {
                f"WAYBILL_{m.definition.upper()}_ARN": provisioned.state_machine_arns[m.name] for m in TOPOLOGY.state_machines
            }
            with pointed_at(endpoint, **arns):
                _MAIL["provisioned"] = provisioned
                yield provisioned
                _MAIL.clear()
    finally:
        server.stop()


@pytest.fixture
def payments_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The bank-payment stage pushes a payment to the bank (tested in tests/api/test_accounting.py);
    here the push only records the call, and the test completes the stage itself."""
    from chalicelib.services import payments

    calls: list[str] = []
    monkeypatch.setattr(payments, "on_bank_payment_stage", calls.append)
    return calls


_MAIL: dict[str, Any] = {}  # the session's provisioned resources and its stream poller


def _publish_mail_events(event: dict[str, Any], context: Any) -> int:
    """The stream publisher, restricted to the events some notification rule fires on: the other
    suites' queues (shipments, purchase orders) are driven by their tests, not by this poller."""
    from chalicelib.domain.notifications import event_types
    from chalicelib.handlers import publisher

    wanted = set(event_types())
    records = [
        r for r in event["Records"] if ((r.get("dynamodb") or {}).get("NewImage") or {}).get("type", {}).get("S") in wanted
    ]
    return publisher.publish(records) if records else 0


def deliver_mail() -> int:
    """What the local stack's stream poller and notifications poller do: publish the table's new audit
    events (the poller of chalicelib/local/pollers.py, kept for the session so each record is read
    once) and hand the notifications queue to its consumer until it is empty. Returns the messages."""
    from app import notifications_consumer

    provisioned: Provisioned = _MAIL["provisioned"]
    poller = _MAIL.get("poller")
    if poller is None:
        poller = _MAIL["poller"] = StreamPoller(
            stream_arn=provisioned.stream_arn,
            handler_name="stream_publisher",
            handler=_publish_mail_events,
            streams=client("dynamodbstreams"),
            region=REGION,
            stop=threading.Event(),
            maximum_retry_attempts=0,
            bisect=False,
        )
    while poller.step():
        pass
    handled = 0
    while messages := pump(provisioned, NOTIFICATIONS.name, notifications_consumer, wait_s=0):
        handled += len(messages)
    return handled


def sent_mail() -> list[Any]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    deliver_mail()
    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def mail_to(address: str, contains: str = "") -> list[Any]:
    """The mail sent to `address` (subject containing `contains`), once everything pending is delivered."""
    return [m for m in sent_mail() if address in m.destinations["ToAddresses"] and contains in m.subject]


def pump(
    provisioned: Provisioned, queue_name: str, consumer: Callable[..., dict[str, Any]], *, wait_s: int = 1
) -> list[dict[str, Any]]:
    """One receive on the queue, handed to its consumer as Lambda would; every message must succeed."""
    sqs = client("sqs")
    url = provisioned.queue_urls[queue_name]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_s, AttributeNames=["All"]).get(
        "Messages", []
    )
    if not messages:
        return []
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    result = consumer({"Records": [sqs_record(m, queue_arn=arn, region=REGION) for m in messages]}, LambdaContext(queue_name))
    assert not result["batchItemFailures"], result
    for m in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return messages


def wait_until(what: Callable[[], bool], step: Callable[[], object], timeout_s: float, why: Callable[[], str]) -> None:
    """Run `step` (a queue pump) until `what` holds, or fail saying what was awaited."""
    deadline = time.monotonic() + timeout_s
    while not what():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {why()}")
        step()


@dataclass
class Flow:
    """One PO with its supplier and campaign, and the means to drive its execution."""

    provisioned: Provisioned
    po_id: str
    supplier_email: str
    buyer_email: str
    execution_arn: str = ""
    handled: list[dict[str, Any]] = field(default_factory=list)

    def start(self, **deadlines: int) -> str:
        arn = workflows.start_supplier_fulfilment(
            self.po_id, {"po_id": self.po_id, "deadlines": {s.value: deadlines.get(s.value, LONG) for s in Stage}}
        )
        assert arn is not None
        self.execution_arn = arn
        return arn

    def pump(self, wait_s: int = 1) -> int:
        """One receive on the po-stages queue, handed to the consumer as Lambda would."""
        from app import po_stages_consumer

        messages = pump(self.provisioned, PO_STAGES.name, po_stages_consumer, wait_s=wait_s)
        self.handled += messages
        return len(messages)

    def item(self) -> PurchaseOrderItem:
        found = repo.get(keys.po(self.po_id), PurchaseOrderItem)
        assert found is not None
        return found

    def until(self, what: Callable[[], bool], timeout_s: float = 20, why: str = "") -> None:
        wait_until(what, self.pump, timeout_s, lambda: f"{why or what}; PO: {self.item().attribute_values}")

    def wait_open(self, stage: Stage, *, not_token: str | None = None) -> str:
        """Until the stage is open on the PO (its token stored); returns the token."""

        def opened() -> bool:
            item = self.item()
            return item.stage == stage.value and item.task_token is not None and item.task_token != not_token

        self.until(opened, why=f"{stage.value} to open")
        return str(self.item().task_token)

    def status(self) -> str:
        return str(client("stepfunctions").describe_execution(executionArn=self.execution_arn)["status"])

    def wait_finished(self, timeout_s: float = 15) -> str:
        self.until(lambda: self.status() != "RUNNING", timeout_s, why="the execution to finish")
        return self.status()

    def history(self) -> list[dict[str, Any]]:
        return workflows.history(self.execution_arn)

    def states_entered(self) -> list[str]:
        return [e["stateEnteredEventDetails"]["name"] for e in self.history() if "stateEnteredEventDetails" in e]


@pytest.fixture
def flow(moto_server: Provisioned, payments_calls: list[str]) -> Flow:
    """A supplier with a contact, a closed campaign with a buyer, and its open PO (two lines)."""
    run = uuid.uuid4().hex[:8]
    supplier_id, campaign_id = f"sup-{run}", f"cmp-{run}"
    at = datetime.now(UTC)
    supplier_email, buyer_email = f"orders@{supplier_id}.example", f"buyer-{run}@waybill.example"
    sk_pk = keys.supplier(supplier_id)
    from chalicelib.adapters.dynamodb.models import SupplierItem

    SupplierItem(*sk_pk, id=supplier_id, name=f"Supplier {run}", contact_emails=[supplier_email], created_at=at).save()
    campaign = Campaign(
        id=campaign_id,
        name="Winter",
        buyer_id="buyer-1",
        currency="EUR",
        status=CampaignStatus.CLOSED if hasattr(CampaignStatus, "CLOSED") else CampaignStatus.LIVE,
        starts_at=at,
        ends_at=at,
        supplier_ids={supplier_id},
    )
    repo.campaign_item(campaign, created_at=at, buyer_email=buyer_email, version=None).save()
    po = PurchaseOrder(
        id=f"po_{run}",
        campaign_id=campaign_id,
        supplier_id=supplier_id,
        currency="EUR",
        lines=[POLine("MUG-1", "Mug", 10, 500), POLine("CAP-1", "Cap", 4, 300)],
        created_at=at,
        order_count=3,
    )
    repo.commit([repo.po_write(po, version=None, now=at)], what="test purchase order")
    return Flow(moto_server, po.id, supplier_email, buyer_email)
