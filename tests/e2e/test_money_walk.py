"""Money that adds up, end to end over HTTP on the local stack: four customers pay in the four
payment modes and a fifth asks, after the close, to cancel part of her order. One supplier accepts
everything, one refuses everything, one accepts only part (first come, first served). The suppliers
pack from their packing lists with their own tokens; the carrier reports most parcels by signed
webhook and one supplier confirms a parcel by hand. Every order ends final, and for each one
the money taken or received, less what went back, is exactly what the customer owes for what was
delivered: nothing pending, nothing owed either way.

Everything moves through the real pipeline: stream → bus → queues → consumers, Step Functions
for the supplier stages, the sandbox bank and payment gateway."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from chalicelib.local.demo import Demo
from tests.local_stack import Stack

FINAL = {"completed", "not_supplied", "cancelled", "rejected", "returned", "partially_returned"}
PRICES = {"A1": 1000, "B1": 700, "C1": 500}
WAIT_S = 180  # a loaded 2-core CI machine runs the queues slowly


@pytest.fixture(scope="module")
def stack(local_stack: Stack) -> Stack:
    return local_stack


class Walk:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.demo = Demo(stack.state_dir)
        run = uuid.uuid4().hex[:6]
        self.suppliers = {k: f"mw{run}-{k}" for k in ("acme", "bolt", "cove")}
        self.buyer = stack.headers("bea", "buyer", email="bea@waybill.example")
        self.care = stack.headers("carl", "customer_care", email="carl@waybill.example")
        self.accounting = stack.headers("ada", "accounting", email="ada@waybill.example")
        self.run = run

    def call(self, method: str, path: str, who: dict[str, str], body: Any = None, expect: int | None = None) -> Any:
        r = requests.request(method, self.stack.api + path, headers=who, json=body, timeout=30)
        assert (r.status_code == expect) if expect else (200 <= r.status_code < 300), f"{method} {path}: {r.text}"
        return r.json()

    def supplier(self, key: str) -> dict[str, str]:
        sid = self.suppliers[key]
        return self.stack.headers(f"sam-{sid}", "supplier", supplier_id=sid, email=f"sam@{sid}.example")

    def customer(self, mode: str) -> dict[str, str]:
        sub = f"mw{self.run}-{mode}"
        return self.stack.headers(sub, "customer", email=f"{sub}@example.com")

    def until(self, what: str, check: Any, timeout_s: float = WAIT_S, show: Any = None) -> Any:
        deadline = time.monotonic() + timeout_s
        while True:
            found = check()
            if found:
                return found
            seen = f"last seen: {show()}\n" if show else ""
            assert time.monotonic() < deadline, f"{what} did not happen in {timeout_s} s:\n{seen}{self.stack.output()[-3000:]}"
            time.sleep(1)

    def walk_to_shipment(self, key: str, po_id: str, accepted: dict[str, int]) -> None:
        """Acknowledge as given, invoice, propose, accounting approves; the bank settles by webhook."""
        supplier = self.supplier(key)
        po = self.demo.wait_stage(po_id, "acknowledge", supplier, timeout_s=WAIT_S)
        lines = [
            {
                "sku": line["sku"],
                "accepted_quantity": accepted[line["sku"]],
                **({"reason": "out_of_stock"} if accepted[line["sku"]] < line["ordered_quantity"] else {}),
            }
            for line in po["lines"]
        ]
        self.call("POST", f"/supplier/purchase-orders/{po_id}/acknowledge", supplier, {"lines": lines})
        if not any(accepted.values()):
            return  # refused everything: the PO ends there
        po = self.demo.wait_stage(po_id, "invoice", supplier, timeout_s=WAIT_S)
        upload = self.call(
            "POST", f"/supplier/purchase-orders/{po_id}/invoices/upload", supplier, {"content_type": "application/pdf"}
        )
        stored = requests.post(
            upload["url"],
            data=upload["fields"],
            files={"file": ("invoice.pdf", b"%PDF-1.4 invoice", "application/pdf")},
            timeout=30,
        )
        assert stored.status_code < 300, stored.text
        # the packing list as a file: written by the API to the exports bucket, downloaded through its signed link
        packing = self.call("POST", f"/staff/purchase-orders/{po_id}/packing-list", self.buyer, {})
        download = requests.get(packing["url"], timeout=30)
        assert download.status_code == 200 and download.content, download.text
        self.call(
            "POST",
            f"/supplier/purchase-orders/{po_id}/invoices",
            supplier,
            {
                "number": f"INV-{key}-{self.run}",
                "amount_cents": po["accepted_cents"],
                "currency": "EUR",
                "file_key": upload["key"],
            },
        )
        self.demo.wait_stage(po_id, "payment_proposal", supplier, timeout_s=WAIT_S)
        proposal = self.call(
            "POST", f"/supplier/purchase-orders/{po_id}/payment-proposals", supplier, {"amount_cents": po["accepted_cents"]}
        )
        self.demo.wait_stage(po_id, "payment_approval", supplier, timeout_s=WAIT_S)
        self.call("POST", f"/staff/payment-proposals/{proposal['id']}/approve", self.accounting, {"note": "ok"})

    def ship_all(self, key: str, po_id: str) -> list[dict[str, Any]]:
        """The supplier packs from its packing list (its own token only): one parcel per order."""
        supplier = self.supplier(key)
        self.demo.wait_stage(po_id, "shipment", supplier, timeout_s=WAIT_S)
        parcels = []
        for n, entry in enumerate(self.demo.packing_list(po_id, supplier), 1):
            assert entry["ship_to"]["city"] == "Lyon" and "email" not in str(entry["ship_to"])
            number = f"MW{self.run.upper()}{key[0].upper()}{n:04d}"
            shipment = self.call(
                "POST",
                f"/supplier/purchase-orders/{po_id}/shipments",
                supplier,
                {"carrier": "dhl", "tracking_number": number, "order_ids": [entry["order_id"]]},
            )
            parcels.append({**shipment, "order_id": entry["order_id"], "po_id": po_id})
        return parcels

    def deliver_by_carrier(self, number: str) -> None:
        from chalicelib.domain.shipments import TrackingStatus
        from chalicelib.local.carrier_sim import payload, signed_request

        secret = self.demo.webhook_secrets["carrier:dhl"]
        start = datetime.now(UTC) - timedelta(hours=2)
        for hours, status in ((0, TrackingStatus.IN_TRANSIT), (1, TrackingStatus.DELIVERED)):
            raw, hdrs = signed_request(
                payload("dhl", number, status, start + timedelta(hours=hours), description=status.value, location="Lyon, FR"),
                secret,
            )
            r = requests.post(f"{self.stack.api}/webhooks/carriers/dhl", data=raw, headers=hdrs, timeout=30)
            assert r.status_code in (200, 202), r.text


def test_every_payment_mode_ends_final_with_money_that_adds_up(stack: Stack) -> None:
    w = Walk(stack)
    for key, sid in w.suppliers.items():
        w.call(
            "POST",
            "/staff/suppliers",
            w.buyer,
            {"id": sid, "name": f"Money walk {key}", "contact_emails": [f"orders@{sid}.example"]},
        )
    products = [
        {
            "sku": sku,
            "name": f"Item {sku}",
            "supplier_id": w.suppliers[key],
            "unit_price_cents": PRICES[sku],
            "unit_cost_cents": PRICES[sku] // 2,
        }
        for sku, key in (("A1", "acme"), ("B1", "bolt"), ("C1", "cove"))
    ]
    campaign = w.call("POST", "/staff/campaigns", w.buyer, {"name": f"Money walk {w.run}", "products": products})
    ends_at = datetime.now(UTC) + timedelta(seconds=25)
    w.call("POST", f"/staff/campaigns/{campaign['id']}/go-live", w.buyer, {"ends_at": ends_at.isoformat()})

    ship_to = {"name": "Money Walker", "lines": ["3 quai Saint-Antoine"], "city": "Lyon", "postal_code": "69002", "country": "FR"}
    orders: dict[str, dict[str, Any]] = {}
    everything = [{"sku": "A1", "quantity": 1}, {"sku": "B1", "quantity": 1}, {"sku": "C1", "quantity": 2}]
    for mode in ("prepaid", "authorise_then_capture", "offline", "pay_on_delivery"):  # first come, first served
        orders[mode] = w.call(
            "POST",
            "/orders",
            w.customer(mode),
            {"campaign_id": campaign["id"], "payment_mode": mode, "shipping_address": ship_to, "lines": everything},
        )
    orders["cancel"] = w.call(
        "POST",
        "/orders",
        w.customer("cancel"),
        {
            "campaign_id": campaign["id"],
            "payment_mode": "prepaid",
            "shipping_address": ship_to,
            "lines": [{"sku": "A1", "quantity": 2}],
        },
    )
    assert orders["offline"]["status"] == "awaiting_payment"
    w.call(
        "POST",
        f"/staff/orders/{orders['offline']['id']}/payments",
        w.accounting,
        {"kind": "offline_received", "amount_cents": 2700, "reference": f"TRF-{w.run}"},
    )

    # The schedule ends the campaign; its close makes one PO per supplier.
    w.until("the close", lambda: w.call("GET", f"/staff/campaigns/{campaign['id']}", w.buyer)["status"] == "closed")
    po_ids = {}
    for key in w.suppliers:
        pos = w.until(
            f"{key}'s PO",
            lambda key=key: [
                p
                for p in w.call("GET", "/supplier/purchase-orders", w.supplier(key))["items"]
                if p["campaign_id"] == campaign["id"]
            ],
        )
        po_ids[key] = pos[0]["id"]

    # After the close and before dispatch, one customer cancels one of her two A1.
    [request] = w.call(
        "POST",
        f"/orders/{orders['cancel']['id']}/cancellation-request",
        w.customer("cancel"),
        {"lines": [{"sku": "A1", "quantity": 1}], "reason": "I only need one"},
    )["items"]

    w.walk_to_shipment("bolt", po_ids["bolt"], {"B1": 0})  # out of stock: every B1 delivery refused
    w.walk_to_shipment("cove", po_ids["cove"], {"C1": 5})  # 8 ordered: prepaid 2, capture 2, offline 1, on delivery 0
    w.call(
        "POST",
        f"/staff/orders/{orders['cancel']['id']}/cancellation-requests/{request['id']}/decide",
        w.care,
        {"accept": True, "note": "done"},
    )
    w.walk_to_shipment("acme", po_ids["acme"], {"A1": 6})

    parcels = w.ship_all("acme", po_ids["acme"]) + w.ship_all("cove", po_ids["cove"])
    assert len(parcels) == 5 + 3
    by_hand = next(p for p in parcels if p["order_id"] == orders["pay_on_delivery"]["id"])
    for parcel in parcels:
        if parcel is not by_hand:
            w.deliver_by_carrier(parcel["tracking_number"])
    # The carrier never reports the pay-on-delivery parcel: the supplier confirms it by hand.
    w.until(
        "the parcel to be dispatched",
        lambda: w.call("GET", f"/orders/{orders['pay_on_delivery']['id']}", w.customer("pay_on_delivery"))["status"] != "ordered",
    )
    w.call(
        "POST",
        f"/supplier/purchase-orders/{by_hand['po_id']}/shipments/{by_hand['id']}/delivered",
        w.supplier("acme"),
        {"note": "handed to the customer, cash collected"},
    )

    # What the offline order paid for lines refused after it paid goes back by transfers accounting makes.
    def both_settled() -> dict[str, Any] | None:
        view = w.call("GET", f"/staff/orders/{orders['offline']['id']}", w.care)
        statuses = {d["supplier_id"]: d["status"] for d in view["deliveries"]}
        return view if statuses[w.suppliers["bolt"]] == "rejected" and statuses[w.suppliers["cove"]] != "ordered" else None

    offline = w.until("both acknowledgements settled on the offline order", both_settled)
    assert offline["money"]["balance_cents"] == -(700 + 500)  # paid 27.00, owes 15.00
    transfers = [p for p in offline["payments"] if p["status"] == "awaiting_transfer"]
    assert sorted(p["amount_cents"] for p in transfers) == [500, 700]  # promised, each on the record
    assert offline["money"]["refund_pending_cents"] == 700 + 500
    for n, transfer in enumerate(transfers, 1):
        w.call(
            "POST",
            f"/staff/orders/{orders['offline']['id']}/refunds/{transfer['id']}/transferred",
            w.accounting,
            {"reference": f"TRF-BACK-{w.run}-{n}"},
        )

    last: dict[str, Any] = {}

    def settled(mode: str) -> dict[str, Any] | None:
        view = last[mode] = w.call("GET", f"/orders/{orders[mode]['id']}", w.customer(mode))
        done = view["status"] in FINAL and view["money"]["refund_pending_cents"] == 0
        return view if done and view["money"]["balance_cents"] == 0 else None

    owed = {
        "prepaid": 1000 + 2 * 500,
        "authorise_then_capture": 1000 + 2 * 500,
        "offline": 1000 + 500,
        "pay_on_delivery": 1000,
        "cancel": 1000,
    }
    for mode, expected in owed.items():
        view = w.until(
            f"the {mode} order to end with its money settled",
            lambda mode=mode: settled(mode),
            show=lambda mode=mode: last.get(mode),
        )
        money = view["money"]
        assert view["status"] == "completed", (mode, view["status"])
        assert money["payable_cents"] == expected, (mode, money)
        # captured + received - refunded == what the customer owes for what was delivered
        assert money["paid_cents"] - money["refunded_cents"] == expected, (mode, money)
        staff = w.call("GET", f"/staff/orders/{orders[mode]['id']}", w.care)
        assert staff["money"] == money, mode  # the staff view and the customer's agree
        assert orders[mode]["total_cents"] == view["total_cents"]  # what was ordered keeps its meaning
    kinds = {
        mode: sorted(p["kind"] for p in w.call("GET", f"/orders/{orders[mode]['id']}", w.customer(mode))["payments"])
        for mode in owed
    }
    assert kinds["prepaid"] == ["payment", "refund"]  # B1 refused, refunded through the gateway
    assert kinds["authorise_then_capture"] == ["authorisation", "capture", "capture"]  # only what shipped
    assert kinds["offline"] == ["offline_received", "refund", "refund"]  # two transfers back: bolt's and cove's
    assert kinds["pay_on_delivery"] == ["cash_collected"]  # the cove and bolt deliveries cost nothing
    assert kinds["cancel"] == ["payment", "refund"]
