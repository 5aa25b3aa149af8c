"""Every read at the floor: DynamoDB requests and items read per view or action, whatever the data holds.

In-process moto, one fresh provisioned account per figure's data, each view or action counted with
`metered()` (requests by operation, items read):
- the exceptions queue's first page (`limit` 10) and the dashboard with 3,000 open exceptions, their
  items and the queue's counters item as the exceptions' own transactions leave them (written with
  `batch_write` for seeding speed);
- a PO's detail (staff and supplier) with 40 parcels, its pointers, shipped markers and events as
  recording them leaves them;
- one carrier event per status on a tracked parcel (the inbound consumer's `apply_carrier_event`);
- approving a payment proposal; a supplier recording a parcel (orders placed through the services).
Targets: a page reads at most its page (`limit` + 1 look-ahead + the counters item); the dashboard's
exceptions one counters item; a PO's detail the partition before its parcels and one page of parcels;
a carrier event 1 read + 1 transaction; approve and record-shipment 1 read + 1 transaction."""

from __future__ import annotations

import io
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, redirect_stdout
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from unittest import mock

from .dynamo import _fmt_requests, _principal
from .report import FAIL, PASS, Section

OPEN_EXCEPTIONS = 3000
LIMIT = 10
PARCELS = 40
FLOOR = Counter({"GetItem": 1, "TransactWriteItems": 1})
ONE_READ = Counter({"BatchGetItem": 1, "TransactWriteItems": 1})


@contextmanager
def account() -> Iterator[None]:
    """A fresh moto account, provisioned; Step Functions' task callbacks answered in place."""
    from moto import mock_aws

    from chalicelib.adapters import workflows
    from chalicelib.adapters.aws import reset_clients
    from chalicelib.local.provision import provision

    with mock_aws(), mock.patch.object(workflows, "send_task_success", lambda *a, **k: None):
        reset_clients()
        provision()
        yield
    reset_clients()


def metered_call(fn: Callable[[], Any]) -> tuple[Counter[str], int]:
    from chalicelib.adapters.dynamodb.metering import metered

    with metered() as m:
        fn()
    return Counter(m.requests), m.items_read


def _seed_exceptions(n: int) -> None:
    """`n` open exceptions over three kinds: the items and the counters their transactions leave."""
    from chalicelib.adapters.dynamodb.models import Item
    from chalicelib.adapters.dynamodb.repository import commit
    from chalicelib.adapters.dynamodb.store_exceptions import count_writes, exception_item
    from chalicelib.config import settings
    from chalicelib.domain import exceptions as rules
    from chalicelib.services.exceptions import cell, exception_id
    from chalicelib.services.ports_exceptions import CountExceptions

    kinds = ("out_of_stock", "invoice_missing", "supplier_rejected")
    at = datetime.now(UTC) - timedelta(hours=1)
    cells: Counter[tuple[str, str, str]] = Counter()
    with Item.batch_write() as batch:
        for i in range(n):
            kind = kinds[i % 3]
            record = rules.new_record(
                exception_id(kind, "po", f"po-{i}"), kind, "po", f"po-{i}", at, settings().exception_policy(), {}
            )
            found = cell(record)
            assert found is not None
            cells[found] += 1
            batch.save(exception_item(record, None))
    commit(count_writes(CountExceptions(dict(cells))), what="bench counters")


def _exceptions(section: Section) -> None:
    from chalicelib.domain import exceptions as rules
    from chalicelib.services import dashboard, exceptions

    with account():
        _seed_exceptions(OPEN_EXCEPTIONS)
        flt = rules.QueueFilter()
        requests, items = metered_call(lambda: exceptions.page(flt, limit=LIMIT))
        section.add(
            f"exceptions page (limit {LIMIT}), {OPEN_EXCEPTIONS:,} open",
            _fmt_requests(requests),
            items,
            f"1 Query, <= {LIMIT + 2} items",
            verdict=PASS if requests == Counter({"Query": 1}) and items <= LIMIT + 2 else FAIL,
        )
        first = exceptions.page(flt, limit=LIMIT)
        requests, items = metered_call(lambda: exceptions.page(flt, limit=LIMIT, after=first.next_after))
        section.add(
            "exceptions: next page",
            _fmt_requests(requests),
            items,
            f"<= 2 requests, <= {LIMIT + 2} items",
            verdict=PASS if sum(requests.values()) <= 2 and items <= LIMIT + 2 else FAIL,
        )
        staff = _principal("care-1", "customer_care")
        requests, items = metered_call(lambda: dashboard.dashboard(staff))
        section.add(
            f"dashboard, {OPEN_EXCEPTIONS:,} open",
            _fmt_requests(requests),
            items,
            "exceptions: 1 counters item",
            verdict=PASS if items <= 20 else FAIL,
        )


def _orders_in_shipment(supplier: str, n_orders: int) -> tuple[str, list[str], Any]:
    """A live campaign with `n_orders` orders from one supplier, their deliveries accepted, and its PO at
    the shipment stage (token stored); (PO id, order ids, the supplier's principal)."""
    from chalicelib.adapters.dynamodb import keys
    from chalicelib.adapters.dynamodb import repository as repo
    from chalicelib.adapters.dynamodb.models import OrderItem
    from chalicelib.domain.campaigns import Product
    from chalicelib.domain.orders import DeliveryAction, PaymentMode, RequestedLine, apply_delivery_action
    from chalicelib.domain.permissions import Principal, Role
    from chalicelib.domain.purchase_orders import POLine, PurchaseOrder, Stage, po_id
    from chalicelib.services import catalogue, orders
    from chalicelib.services.clock import now

    buyer = _principal("buyer-1", "buyer")
    catalogue.create_supplier(buyer, name="Acme", contact_emails=["orders@acme.example"], supplier_id=supplier)
    view = catalogue.create_campaign(
        buyer,
        name="Reads",
        currency="EUR",
        products=[Product(sku="MUG-1", name="Mug", supplier_id=supplier, unit_price_cents=1200, unit_cost_cents=600)],
    )
    campaign = view.campaign.id
    catalogue.go_live(buyer, campaign)
    order_ids = []
    for i in range(n_orders):
        record, _ = orders.place_order(
            _principal(f"cust-{i}", "customer"),
            campaign_id=campaign,
            lines=[RequestedLine("MUG-1", 1)],
            payment_mode=PaymentMode.PREPAID,
            shipping_address={"name": "B", "lines": ["1 Street"], "city": "Paris", "postal_code": "75001", "country": "FR"},
        )
        item = repo.get(keys.order(record.order.id), OrderItem)
        assert item is not None
        order = repo.order_from_item(item)
        apply_delivery_action(order, supplier, DeliveryAction.SEND_PO)
        apply_delivery_action(order, supplier, DeliveryAction.ACCEPT)
        repo.commit(repo.order_writes(order, version=int(item.version), now=now()), what="bench order")
        order_ids.append(order.id)
    line = POLine("MUG-1", "Mug", n_orders, 600)
    line.accepted_quantity = n_orders
    po = PurchaseOrder(
        id=po_id(campaign, supplier),
        campaign_id=campaign,
        supplier_id=supplier,
        currency="EUR",
        lines=[line],
        created_at=now(),
        order_count=n_orders,
        stage=Stage.SHIPMENT,
        orders_to_ship=n_orders + 1,  # the stage stays open while the bench records parcels
    )
    repo.commit([repo.po_write(po, version=None, now=now(), task_token="tok")], what="bench PO")
    who = Principal(sub=f"{supplier}-1", roles=frozenset({Role.SUPPLIER}), supplier_id=supplier, email=f"ops@{supplier}.example")
    return po.id, order_ids, who


def _po_detail_and_record_shipment(section: Section) -> None:
    from chalicelib.services import shipments, supplier_portal, supplier_workflow

    with account():
        po, order_ids, acme = _orders_in_shipment("acme", 2)
        record: Counter[str] = Counter()
        for n in range(PARCELS):
            parcel = partial(
                shipments.record_shipment, acme, po, carrier="dhl", tracking_number=f"READ{n:04d}", order_ids=order_ids
            )
            record, _ = metered_call(parcel)
        section.add(
            "record a parcel (supplier)",
            _fmt_requests(record),
            "-",
            "1 read + 1 transaction",
            verdict=PASS if record == ONE_READ else FAIL,
        )
        requests, items = metered_call(lambda: supplier_workflow.get_po(po))
        shown = supplier_portal.PARCELS_SHOWN
        events = len(supplier_workflow.get_po(po).events)
        section.add(
            f"PO detail (staff), {PARCELS} parcels",
            _fmt_requests(requests),
            items,
            f"2 Queries, <= {shown + 1} parcels + {events} events + PO",
            verdict=PASS if requests == Counter({"Query": 2}) and items <= shown + events + 4 else FAIL,
        )
        requests, items = metered_call(lambda: supplier_portal.get_purchase_order(acme, po))
        section.add(
            f"PO detail (supplier), {PARCELS} parcels",
            _fmt_requests(requests),
            items,
            f"3 Queries, <= {shown + 1} parcels + PO",
            verdict=PASS if requests == Counter({"Query": 3}) and items <= shown + 4 else FAIL,
        )


def _approve(section: Section) -> None:
    from chalicelib.adapters.dynamodb import repository as repo
    from chalicelib.domain.purchase_orders import POLine, PurchaseOrder, Stage
    from chalicelib.services import payments, uow
    from chalicelib.services.clock import now
    from chalicelib.services.ports import Save
    from chalicelib.services.ports_purchase_orders import PaymentProposal, proposal_id

    with account():
        line = POLine("MUG-1", "Mug", 2, 600)
        line.accepted_quantity = 2
        po = PurchaseOrder(
            id="po_reads",
            campaign_id="cmp_reads",
            supplier_id="acme",
            currency="EUR",
            lines=[line],
            created_at=now(),
            order_count=1,
            stage=Stage.PAYMENT_APPROVAL,
            invoiced_cents=1200,
            proposed_cents=1200,
        )
        repo.commit([repo.po_write(po, version=None, now=now(), task_token="tok")], what="bench PO")
        pid = proposal_id(po.id, "pp_1")
        at = now()
        proposal = PaymentProposal(pid, po.id, "acme", "cmp_reads", 1200, "EUR", "pending", at, at)
        uow.store().commit([Save(proposal, None)], what="bench proposal", at=at)
        accounting = _principal("acc-1", "accounting")
        requests, _ = metered_call(lambda: payments.decide(accounting, pid, approve=True, note=None))
        section.add(
            "approve a payment proposal",
            _fmt_requests(requests),
            "-",
            "1 read + 1 transaction",
            verdict=PASS if requests == ONE_READ else FAIL,
        )


def _carrier_events(section: Section) -> None:
    from chalicelib.domain.shipments import CarrierEvent, TrackingStatus
    from chalicelib.services import inbound

    from .carriers import tracked_parcels

    stories = {
        "in_transit": [TrackingStatus.IN_TRANSIT],
        "out_for_delivery": [TrackingStatus.OUT_FOR_DELIVERY],
        "attempted": [TrackingStatus.OUT_FOR_DELIVERY, TrackingStatus.ATTEMPTED],
        "exception": [TrackingStatus.EXCEPTION],
        "delivered": [TrackingStatus.OUT_FOR_DELIVERY, TrackingStatus.DELIVERED],
        "returned_to_sender": [TrackingStatus.RETURNED_TO_SENDER],
    }
    with account():
        at = datetime.now(UTC) - timedelta(days=1)
        numbers = tracked_parcels("RD", len(stories), at)
        for number, (name, story) in zip(numbers, stories.items(), strict=True):
            last: Counter[str] = Counter()
            for hours, status in enumerate(story, start=1):
                event = CarrierEvent(number, status.value, status, at + timedelta(hours=hours), "scan", "Hub")
                last, _ = metered_call(partial(inbound.apply_carrier_event, "dhl", event))
            section.add(
                f"carrier event: {name}",
                _fmt_requests(last),
                "-",
                "1 read + 1 transaction",
                verdict=PASS if last == FLOOR else FAIL,
            )


def run() -> Section:
    section = Section("10. Every read at the floor (moto in-process)", ["figure", "requests", "items read", "target"])
    with ExitStack() as stack:
        stack.enter_context(redirect_stdout(io.StringIO()))  # the services' log lines
        stack.enter_context(warnings.catch_warnings())
        warnings.filterwarnings("ignore")
        _exceptions(section)
        _po_detail_and_record_shipment(section)
        _approve(section)
        _carrier_events(section)
    section.notes += [
        "the inbox put of a carrier webhook happens on receipt (section 6); what a status change means beyond the "
        "parcel (order events, completing deliveries, exceptions) runs in the shipments consumer",
        "a PO's detail for staff still reads its audit trail (one event per parcel recorded); its parcels come a page "
        "at a time, and the supplier's (no audit trail) reads nothing that grows with the parcels",
    ]
    return section
