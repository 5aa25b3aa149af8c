"""A sandbox payment gateway for the local stack (and the tests): captures and refunds.

`POST /captures` (JSON {capture_id, order_id, amount_cents, currency, reference}) and
`POST /refunds` (JSON {refund_id, order_id, amount_cents, currency, reference} and optionally
the `transaction_id` of the capture refunded), each with the header `Idempotency-Key`.

- Success is 201 {transaction_id, status: "succeeded", amount_cents, currency}.
- Idempotent by key: a repeated key gets the first answer (status and body, the same
  transaction id) and never makes a second transaction; the same key with a different body
  is refused with 422 (a caller bug), as real gateways do.
- Declines: a capture or refund whose `reference` contains "decline" (any case) is answered
  402 {status: "declined", reason}; the decline is remembered for its key like a success.
- A refund naming an unknown `transaction_id` is 404; one that would take back more than
  that capture's amount is 422.
- 400 without the header or with a malformed body; 422 for a non-positive amount.

`transactions` lists every transaction made (successes only), oldest first; `requests` counts
every request. Standard library only."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from typing import Any

from .json_http import JsonServer

log = logging.getLogger("chalicelib.local.sandbox_gateway")

REQUIRED = {
    "captures": ("capture_id", "order_id", "amount_cents", "currency", "reference"),
    "refunds": ("refund_id", "order_id", "amount_cents", "currency", "reference"),
}
DECLINE_MARKER = "decline"


class SandboxGateway:
    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.transactions: list[dict[str, Any]] = []
        self.requests = 0
        self._answers: dict[str, tuple[str, dict[str, Any], int, dict[str, Any]]] = {}  # key -> (path, body, status, answer)
        self._lock = threading.Lock()
        self._http = JsonServer("sandbox-gateway", self.handle, host=host, port=port)

    @property
    def url(self) -> str:
        """The base URL (the port posts to `<url>/captures` and `<url>/refunds`)."""
        return self._http.base_url

    def start(self) -> str:
        self._http.start()
        return self.url

    def stop(self) -> None:
        self._http.stop()

    def transactions_for(self, key: str) -> list[dict[str, Any]]:
        return [t for t in self.transactions if t["idempotency_key"] == key]

    # ------------------------------------------------------------ requests

    def handle(self, path: str, key: str | None, raw: bytes) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests += 1
        kind = path.strip("/")
        if kind not in REQUIRED:
            return 404, {"error": "not found"}
        if not key:
            return 400, {"error": "Idempotency-Key header required"}
        try:
            body = json.loads(raw)
        except ValueError:
            return 400, {"error": "body is not JSON"}
        if not isinstance(body, dict) or any(f not in body for f in REQUIRED[kind]):
            return 400, {"error": f"fields required: {', '.join(REQUIRED[kind])}"}
        amount = body["amount_cents"]
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            return 422, {"error": "amount_cents must be a positive integer"}
        with self._lock:
            if key in self._answers:
                first_path, first_body, status, answer = self._answers[key]
                if (first_path, first_body) != (kind, body):
                    return 422, {"error": "Idempotency-Key reused with a different request"}
                return status, answer
            status, answer = self._decide(kind, key, body)
            self._answers[key] = (kind, body, status, answer)
        log.info("sandbox gateway: %s %s of %s %s -> %s", kind[:-1], key, amount, body["currency"], status)
        return status, answer

    def _decide(self, kind: str, key: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """The answer to a new key (under the lock)."""
        if DECLINE_MARKER in str(body["reference"]).lower():
            return 402, {"status": "declined", "reason": "the sandbox declines references containing 'decline'"}
        if kind == "refunds" and body.get("transaction_id") is not None:
            captured = next(
                (t for t in self.transactions if t["kind"] == "capture" and t["transaction_id"] == body["transaction_id"]), None
            )
            if captured is None:
                return 404, {"status": "declined", "reason": f"no capture {body['transaction_id']}"}
            refunded = sum(
                t["amount_cents"]
                for t in self.transactions
                if t["kind"] == "refund" and t.get("refunds") == body["transaction_id"]
            )
            if refunded + body["amount_cents"] > captured["amount_cents"]:
                return 422, {"status": "declined", "reason": "the refund exceeds what is left of the capture"}
        transaction_id = f"txn_{uuid.uuid4().hex[:20]}"
        self.transactions.append(
            {
                "transaction_id": transaction_id,
                "kind": kind[:-1],
                "idempotency_key": key,
                "order_id": body["order_id"],
                "amount_cents": body["amount_cents"],
                "currency": body["currency"],
                "reference": body["reference"],
                "refunds": body.get("transaction_id"),
            }
        )
        return 201, {
            "transaction_id": transaction_id,
            "status": "succeeded",
            "amount_cents": body["amount_cents"],
            "currency": body["currency"],
        }
