"""Staff correct an order's shipping address until its last delivery leaves (issue 16 item 7).

One read (the order with its trail, which the staff view shows next: `services.orders`) and one
transaction through the port: the order with its new snapshot (saving an
order rewrites what its packing lists show, so every packing list that may show the address shows
the new one; a delivery that already left keeps the address it left for), an `order.address_corrected`
event (the customer's e-mail, which names no address; the old and new addresses stay in its data for
staff, which the stream publisher keeps off the bus: `domain.audit.STAFF_ONLY_DATA`) and one
`order.ship_to_changed` event per supplier whose delivery is on a PO and has not left (its e-mail reads
the new address from its packing-list entry, never from the bus). The same address again changes
nothing and tells nobody; once every delivery has left it is a 409.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..domain import orders as domain
from ..domain.addresses import Address, order_reference, parse_address
from ..domain.audit import AuditEvent
from ..domain.permissions import CORRECT_ADDRESSES, Principal
from ..domain.purchase_orders import po_id
from . import orders, uow
from .clock import new_id, now
from .conflicts import stale_subject
from .guard import require
from .ports import Record, Save

CORRECTED_EVENT = "order.address_corrected"
SUPPLIER_TOLD_EVENT = "order.ship_to_changed"
CUSTOMER_NOTE = "We have corrected the shipping address of your order; your order page shows where it ships now."


def one_line(address: Address | None) -> str:
    if address is None:
        return "none"
    return ", ".join([address.name, *address.lines, f"{address.postal_code} {address.city}", address.country])


def correct_address(
    actor: Principal,
    order_id: str,
    shipping_address: Mapping[str, Any],
    *,
    note: str | None = None,
    expected_version: int | None = None,
) -> orders.OrderRecord:
    """Correct where the order ships (see the module docstring); `expected_version` is the order's."""
    require(actor, CORRECT_ADDRESSES, "correct shipping addresses")
    record = orders.get_order_for_staff(actor, order_id)
    if expected_version is not None and expected_version != record.version:
        raise stale_subject(f"order {order_id}", "order", order_id, record.version, expected_version, record.events)
    address = parse_address(shipping_address, where="body.shipping_address")
    order = record.order
    if address == order.shipping_address:
        return record  # a repeat (a retry, a double click): nothing to change or tell
    previous = order.shipping_address
    told = domain.correct_shipping_address(order, address)
    at = now()
    refs = {
        "order_id": order.id,
        "campaign_id": order.campaign_id,
        "customer_id": order.customer_id,
        "customer_email": order.customer_email,
        "total_cents": order.total_cents,
        "currency": order.currency,
        "status": order.status.value,
        "reference": order_reference(order.id),
    }
    event = AuditEvent(
        id=new_id("evt"),
        subject_type="order",
        subject_id=order.id,
        type=CORRECTED_EVENT,
        actor=actor,
        at=at,
        from_status=order.status.value,
        to_status=order.status.value,
        internal_note="; ".join(filter(None, [f"shipping address corrected (was: {one_line(previous)})", note])),
        customer_note=CUSTOMER_NOTE,
        data={
            **refs,
            "suppliers_told": told,
            "previous_address": previous.as_dict() if previous else None,
            "shipping_address": address.as_dict(),
        },
    )
    # The suppliers' notices name no customer e-mail and no address: their mail reads the packing list.
    notices = [
        AuditEvent(
            id=new_id("evt"),
            subject_type="order",
            subject_id=order.id,
            type=SUPPLIER_TOLD_EVENT,
            actor=actor,
            at=at,
            from_status=order.status.value,
            to_status=order.status.value,
            data={
                "order_id": order.id,
                "campaign_id": order.campaign_id,
                "supplier_id": s,
                "po_id": po_id(order.campaign_id, s),
                "reference": refs["reference"],
            },
        )
        for s in told
    ]
    uow.store().commit(
        [Save(order, record.version), *(Record(e) for e in (event, *notices))],  # its status stays: no count moves
        what=f"order {order_id}",
        at=at,
    )
    return orders.OrderRecord(
        order,
        record.version + 1,
        at,
        [*record.events, event, *notices],
        record.shipments,
        record.payments,
        record.cancellation_requests,
    )
