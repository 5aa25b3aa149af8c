"""Walk the seeded campaign through every supplier stage against a running `make run`.

    make demo            # (or: python -m chalicelib.local demo)

Closes the live campaign as the buyer, then for one supplier: acknowledges the PO (one line
short, out of stock), uploads and submits an invoice, proposes payment; accounting approves;
the sandbox bank settles by webhook; the supplier ships each accepted order in its own parcel;
DHL's (simulated) webhooks carry the first parcel to the customer's door, and the customer's
view shows it delivered. The supplier packs from its packing list (order references, lines,
ship-to addresses) with its own token: it never needs a staff route. Every call is a plain HTTP
request with a dev-issuer token or a Standard Webhooks signature, as any client would make it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import requests

from .issuer import DevIssuer


class Demo:
    def __init__(self, state_dir: Path) -> None:
        stack = json.loads((state_dir / "stack.json").read_text())
        self.api = stack["api_url"].rstrip("/")
        self.site = (stack.get("admin_url") or self.api).rstrip("/")
        self.moto = stack["moto_endpoint"]
        self.campaign_id = stack["seed"]["live_campaign_id"]
        self.issuer = DevIssuer.load(state_dir / "issuer.json")
        secrets_file = state_dir / "webhook-secrets.json"
        self.webhook_secrets = json.loads(secrets_file.read_text()) if secrets_file.exists() else {}

    def who(self, sub: str, role: str, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issuer.token(sub, [role], **claims)}"}

    def call(self, method: str, path: str, who: dict[str, str], body: Any = None) -> Any:
        r = requests.request(method, self.api + path, headers=who, json=body, timeout=30)
        if not 200 <= r.status_code < 300:
            raise SystemExit(f"{method} {path} -> {r.status_code}: {r.text}")
        return r.json()

    def wait_stage(self, po_id: str, stage: str | None, who: dict[str, str], timeout_s: float = 60) -> dict[str, Any]:
        """The stage opens when the workflow's event has reached the stage consumer (a few seconds)."""
        deadline = time.monotonic() + timeout_s
        while True:
            po = self.call("GET", f"/supplier/purchase-orders/{po_id}", who)
            if po.get("stage") == stage and (stage is None or po.get("stage_deadline")):
                return po
            if time.monotonic() > deadline:
                raise SystemExit(f"PO {po_id} did not reach stage {stage}; it is at {po.get('stage')} ({po.get('status')})")
            time.sleep(1)

    def states_entered(self, execution_arn: str) -> int:
        """State transitions of the PO's execution, from its history (what AWS bills)."""
        import boto3

        sfn = boto3.client(
            "stepfunctions",
            endpoint_url=self.moto,
            region_name="eu-west-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        events, kwargs = [], {"executionArn": execution_arn, "maxResults": 1000}
        while True:
            page = sfn.get_execution_history(**kwargs)
            events += page["events"]
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
        return sum(1 for e in events if "stateEnteredEventDetails" in e)

    def actors(self, supplier_id: str) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
        """The buyer, the supplier's user and accounting, as dev-issuer tokens."""
        return (
            self.who("bea", "buyer", email="bea@waybill.example"),
            self.who("sam", "supplier", supplier_id=supplier_id, email=f"sam@{supplier_id}.example"),
            self.who("ada", "accounting", email="ada@waybill.example"),
        )

    def close_campaign(self) -> dict[str, Any]:
        buyer, _, _ = self.actors("acme")
        started = self.call("POST", f"/staff/campaigns/{self.campaign_id}/close", buyer)
        # The route only starts the close (202); its chunks run from the purchase-orders queue.
        deadline = time.monotonic() + 120  # generous: a loaded machine runs the queues slowly
        closed = started
        while closed["status"] != "closed":
            if time.monotonic() > deadline:
                raise SystemExit(f"campaign {self.campaign_id} did not close in time: {closed.get('close')}")
            time.sleep(1)
            closed = self.call("GET", f"/staff/campaigns/{self.campaign_id}", buyer)
        print(f"1. buyer closed campaign {self.campaign_id}: {closed['status']}")
        return closed

    def to_payment_approval(self, supplier_id: str) -> tuple[str, dict[str, Any]]:
        """Walk the supplier's PO of the closed campaign to accounting's approval: acknowledged (one
        line short), invoiced, payment proposed. Returns the PO id and the pending proposal."""
        _, supplier, _ = self.actors(supplier_id)
        pos = [
            p for p in self.call("GET", "/supplier/purchase-orders", supplier)["items"] if p["campaign_id"] == self.campaign_id
        ]
        po_id = pos[0]["id"]
        po = self.wait_stage(po_id, "acknowledge", supplier)
        print(f"2. {supplier_id} has PO {po_id} with {len(po['lines'])} lines, waiting for acknowledgement")

        lines = [{"sku": line["sku"], "accepted_quantity": line["ordered_quantity"]} for line in po["lines"]]
        lines[-1] = {
            "sku": lines[-1]["sku"],
            "accepted_quantity": max(0, lines[-1]["accepted_quantity"] - 1),
            "reason": "out_of_stock",
        }
        self.call("POST", f"/supplier/purchase-orders/{po_id}/acknowledge", supplier, {"lines": lines})
        print(f"3. acknowledged, one {lines[-1]['sku']} short (out of stock): those customers get refunds")

        po = self.wait_stage(po_id, "invoice", supplier)
        upload = self.call(
            "POST", f"/supplier/purchase-orders/{po_id}/invoices/upload", supplier, {"content_type": "application/pdf"}
        )
        stored = requests.post(
            upload["url"],
            data=upload["fields"],
            files={"file": ("invoice.pdf", b"%PDF-1.4 demo invoice", "application/pdf")},
            timeout=30,
        )
        stored.raise_for_status()
        amount = po["accepted_cents"]
        self.call(
            "POST",
            f"/supplier/purchase-orders/{po_id}/invoices",
            supplier,
            {
                "number": f"INV-{supplier_id.upper()}-1",
                "amount_cents": amount,
                "currency": po["currency"],
                "file_key": upload["key"],
            },
        )
        print(f"4. invoice uploaded and submitted: {amount / 100:.2f} {po['currency']}")

        self.wait_stage(po_id, "payment_proposal", supplier)
        proposal = self.call("POST", f"/supplier/purchase-orders/{po_id}/payment-proposals", supplier, {"amount_cents": amount})
        print(f"5. payment proposed: {proposal['id']}")
        self.wait_stage(po_id, "payment_approval", supplier)
        return po_id, proposal

    def packing_list(self, po_id: str, supplier: dict[str, str], page_size: int = 25) -> list[dict[str, Any]]:
        """Every entry of the PO's packing list, as the supplier reads it (page by page)."""
        entries: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = self.call(
                "GET",
                f"/supplier/purchase-orders/{po_id}/orders?limit={page_size}" + (f"&cursor={cursor}" if cursor else ""),
                supplier,
            )
            entries += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return entries

    def ship_accepted(self, supplier_id: str, po_id: str, tracking_prefix: str = "JD") -> list[dict[str, Any]]:
        """Once the PO is at its shipment stage, the supplier packs from its packing list (its own token
        only): one parcel per order not yet left, labelled with the order's reference and ship-to
        address, tracking numbers `<prefix>0000000001`, ... Returns the orders shipped, as staff see
        them (the demo follows their parcels as their customers)."""
        buyer, supplier, _ = self.actors(supplier_id)
        self.wait_stage(po_id, "shipment", supplier, timeout_s=90)
        to_pack = [e for e in self.packing_list(po_id, supplier) if not e["has_left"]]
        for n, entry in enumerate(to_pack, 1):
            self.call(
                "POST",
                f"/supplier/purchase-orders/{po_id}/shipments",
                supplier,
                {"carrier": "dhl", "tracking_number": f"{tracking_prefix}{n:010d}", "order_ids": [entry["order_id"]]},
            )
        if to_pack:
            first = to_pack[0]
            where = first["ship_to"] or {}
            print(
                f"   packed {len(to_pack)} parcel(s) from the packing list, e.g. {first['reference']} to "
                f"{where.get('name')}, {where.get('city')} ({where.get('country')}): "
                + ", ".join(f"{line['quantity']} x {line['sku']}" for line in first["lines"])
            )
        return [self.call("GET", f"/staff/orders/{e['order_id']}", buyer) for e in to_pack]

    def run(self, supplier_id: str = "acme") -> dict[str, Any]:
        buyer, _, accounting = self.actors(supplier_id)
        self.close_campaign()
        po_id, proposal = self.to_payment_approval(supplier_id)
        self.call("POST", f"/staff/payment-proposals/{proposal['id']}/approve", accounting, {"note": "matches the invoice"})
        print("6. accounting approved; the payment goes to the (sandbox) bank, which settles by webhook")

        to_ship = self.ship_accepted(supplier_id, po_id)
        final = self.call("GET", f"/staff/purchase-orders/{po_id}", buyer)
        print(
            f"7. {len(to_ship)} parcel(s) recorded, one per accepted order; the PO is {final['status']}. Its trail: "
            + ", ".join(sorted({e["type"] for e in final.get("events", [])}))
        )
        if final.get("execution_arn"):
            time.sleep(2)  # the execution takes its last step after the shipment's SendTaskSuccess
            final["states_entered"] = self.states_entered(final["execution_arn"])
            print(f"   Step Functions: {final['states_entered']} states entered for this PO")
        if to_ship:
            final["followed_order"] = self.follow_parcel(to_ship[0], "JD0000000001")
        if len(to_ship) > 1:
            final["complaint"] = self.complaint_for_approval(to_ship[1], "JD0000000002", supplier_id)
        if to_ship:
            order = to_ship[0]
            link = self.call("GET", f"/orders/{order['id']}/link", self.who("carl", "customer_care"))
            final["order_page"], final["front_office"] = link["url"], f"{self.site}/supplier/"
            print(f"10. {order['id']}'s customer follows it at {link['url']}")
            print(f"    {supplier_id} works its POs at {final['front_office']} (sign in as a demo supplier user)")
        return final

    def follow_parcel(self, order: dict[str, Any], tracking_number: str) -> dict[str, Any]:
        """DHL reports the parcel's journey by signed webhooks; the customer sees it arrive."""
        from datetime import UTC, datetime, timedelta

        from ..domain.shipments import TrackingStatus
        from .carrier_sim import payload, signed_request

        secret = self.webhook_secrets.get("carrier:dhl")
        if not secret:
            print("8. no carrier secrets in the state dir (start the stack with `make run`); skipping tracking")
            return {}
        start = datetime.now(UTC) - timedelta(hours=3)
        for hours, status in (
            (0, TrackingStatus.IN_TRANSIT),
            (2, TrackingStatus.OUT_FOR_DELIVERY),
            (3, TrackingStatus.DELIVERED),
        ):
            raw, hdrs = signed_request(
                payload(
                    "dhl",
                    tracking_number,
                    status,
                    start + timedelta(hours=hours),
                    description=status.value.replace("_", " "),
                    location="Berlin, DE",
                ),
                secret,
            )
            r = requests.post(f"{self.api}/webhooks/carriers/dhl", data=raw, headers=hdrs, timeout=30)
            if r.status_code not in (200, 202):
                raise SystemExit(f"carrier webhook -> {r.status_code}: {r.text}")
        customer = self.who(order["customer_id"], "customer", email=order.get("customer_email"))
        deadline = time.monotonic() + 120  # generous: a loaded machine (CI on 2 cores) runs the queues slowly
        while True:
            view = self.call("GET", f"/orders/{order['id']}", customer)
            parcels = [p for d in view["deliveries"] for p in d["shipments"] if p["tracking_number"] == tracking_number]
            if parcels and parcels[0]["status"] == "delivered":
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"parcel {tracking_number} did not arrive: {parcels}")
            time.sleep(1)
        print(
            f"8. DHL reported {tracking_number}: "
            + " -> ".join(t["status_text"] for t in parcels[0]["timeline"])
            + f"; order {order['id']} is {view['status']} for its customer"
        )
        return view

    def complaint_for_approval(self, order: dict[str, Any], tracking_number: str, supplier_id: str = "bolt") -> dict[str, Any]:
        """The parcel arrives (carrier webhooks), its customer complains with a photo, customer care
        proposes refunding everything the delivery cost and submits it: above the approval threshold,
        the plan waits for an admin. Returns {order_id, complaint_id, refund_cents}."""
        view = self.follow_parcel(order, tracking_number)
        if not view:
            raise SystemExit("the parcel could not be followed; no complaint")
        customer = self.who(order["customer_id"], "customer", email=order.get("customer_email"))
        deadline = time.monotonic() + 120  # the shipments queue may dispatch after the carrier delivered
        while not any(d["supplier_id"] == supplier_id and d["status"] == "delivered" for d in view["deliveries"]):
            if time.monotonic() > deadline:
                raise SystemExit(f"the {supplier_id} delivery of {order['id']} never showed delivered")
            time.sleep(1)
            view = self.call("GET", f"/orders/{order['id']}", customer)
        care = self.who("care-demo", "customer_care", email="care@waybill.example", name="Carl Care")
        # Care can refund only money taken: the shipments consumer captures last (a gateway outage must
        # not hold tracking up), which may be after the customer already sees the parcel delivered.
        while self.call("GET", f"/staff/orders/{order['id']}", care)["money"]["paid_cents"] <= 0:
            if time.monotonic() > deadline:
                raise SystemExit(f"the payment of {order['id']} was never taken")
            time.sleep(1)
        lines = [line for line in view["lines"] if line["supplier_id"] == supplier_id]
        jpeg = b"\xff\xd8\xff\xe0demo photo of a squashed hat"
        upload = self.call(
            "POST",
            f"/orders/{order['id']}/complaint-photos",
            customer,
            {"content_type": "image/jpeg", "size_bytes": len(jpeg), "file_name": "squashed.jpg"},
        )
        r = requests.post(upload["url"], data=upload["fields"], files={"file": ("squashed.jpg", jpeg, "image/jpeg")}, timeout=30)
        if r.status_code >= 300:
            raise SystemExit(f"photo upload -> {r.status_code}: {r.text[:300]}")
        complaint = self.call(
            "POST",
            f"/orders/{order['id']}/complaints",
            customer,
            {
                "supplier_id": supplier_id,
                "reason": "damaged",
                "wanted_resolution": "refund",
                "lines": [{"sku": line["sku"], "quantity": line["quantity"]} for line in lines],
                "photos": [{"key": upload["key"], "content_type": "image/jpeg", "size_bytes": len(jpeg)}],
                "description": "The parcel arrived crushed; everything in it is damaged.",
            },
        )
        plan = [
            {
                "sku": line["sku"],
                "resolution": "refund",
                "quantity": line["quantity"],
                "refund_cents": line["quantity"] * line["unit_price_cents"],
            }
            for line in lines
        ]
        proposed = self.call(
            "POST",
            f"/staff/complaints/{complaint['id']}/plan",
            care,
            {
                "lines": plan,
                "internal_note": "photos show crush damage: refund in full",
                "expected_version": complaint["version"],
            },
        )
        submitted = self.call(
            "POST", f"/staff/complaints/{complaint['id']}/submit", care, {"expected_version": proposed["version"]}
        )
        print(
            f"9. {order['id']}: complaint {complaint['id']} is {submitted['status']} "
            f"(refund {submitted['refund_cents'] / 100:.2f} {submitted['currency']})"
        )
        return {
            "order_id": order["id"],
            "complaint_id": complaint["id"],
            "refund_cents": submitted["refund_cents"],
            "status": submitted["status"],
        }
