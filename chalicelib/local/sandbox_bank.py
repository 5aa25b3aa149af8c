"""A sandbox bank for the local stack: takes payment orders and settles them by webhook.

`POST /payments` (JSON {payment_id, amount_cents, currency, supplier_id, reference}, header
`Idempotency-Key`) answers 202; one payment per key (a repeated key gets the first answer and
settles nothing again). After `settle_delay_s` it calls the API's `POST /webhooks/bank` with a
`payment.settled` event signed per the Standard Webhooks spec, retrying with backoff while the
API does not answer 2xx. Standard library plus `standardwebhooks`: nothing AWS-shaped."""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any

from .json_http import JsonServer
from .signing import new_secret, signed_request

log = logging.getLogger("chalicelib.local.sandbox_bank")

__all__ = ["SandboxBank", "new_secret"]

REQUIRED = ("payment_id", "amount_cents", "currency", "supplier_id", "reference")


class SandboxBank:
    def __init__(
        self,
        *,
        webhook_url: str | None,
        secret: str | None,
        host: str = "127.0.0.1",
        port: int = 0,
        settle_delay_s: float = 5.0,
        webhook_attempts: int = 6,
    ) -> None:
        self.webhook_url, self.secret = webhook_url, secret
        self.settle_delay_s, self.webhook_attempts = settle_delay_s, webhook_attempts
        self.payments: dict[str, dict[str, Any]] = {}
        self.requests = 0
        self.settled: list[str] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._timers: list[threading.Timer] = []
        self._http = JsonServer("sandbox-bank", self.handle, host=host, port=port)

    @property
    def url(self) -> str:
        return f"{self._http.base_url}/payments"

    def start(self) -> str:
        self._http.start()
        return self.url

    def stop(self) -> None:
        self._stopped.set()
        for timer in self._timers:
            timer.cancel()
        self._http.stop()

    # ------------------------------------------------------------ payments

    def handle(self, path: str, key: str | None, raw: bytes) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests += 1
        if path.rstrip("/") != "/payments":
            return 404, {"error": "not found"}
        if not key:
            return 400, {"error": "Idempotency-Key header required"}
        try:
            order = json.loads(raw)
        except ValueError:
            return 400, {"error": "body is not JSON"}
        if not isinstance(order, dict) or any(f not in order for f in REQUIRED):
            return 400, {"error": f"fields required: {', '.join(REQUIRED)}"}
        if not isinstance(order["amount_cents"], int) or order["amount_cents"] <= 0:
            return 422, {"error": "amount_cents must be a positive integer"}
        with self._lock:
            if key in self.payments:
                return 202, self.payments[key]["answer"]
            answer = {"payment_id": order["payment_id"], "status": "accepted", "reference": f"sbx_{uuid.uuid4().hex[:16]}"}
            self.payments[key] = {"order": order, "answer": answer}
        log.info("sandbox bank: payment %s of %s %s accepted", order["payment_id"], order["amount_cents"], order["currency"])
        if self.webhook_url and self.secret:
            timer = threading.Timer(self.settle_delay_s, self._settle, args=(key,))
            timer.daemon = True
            self._timers.append(timer)
            timer.start()
        return 202, answer

    def settlement_event(self, key: str) -> str:
        payment = self.payments[key]
        order = payment["order"]
        return json.dumps(
            {
                "type": "payment.settled",
                "timestamp": datetime.now(UTC).isoformat(),
                "data": {
                    "payment_id": order["payment_id"],
                    "amount_cents": order["amount_cents"],
                    "currency": order["currency"],
                    "reference": payment["answer"]["reference"],
                },
            }
        )

    def _settle(self, key: str) -> None:
        assert self.webhook_url and self.secret
        body = self.settlement_event(key)
        msg_id = f"msg_{uuid.uuid4().hex}"
        for attempt in range(self.webhook_attempts):
            if self._stopped.is_set():
                return
            # Signed per attempt: the timestamp must stay within the receiver's tolerance.
            raw, headers = signed_request(body, self.secret, webhook_id=msg_id)
            request = urllib.request.Request(
                self.webhook_url, data=raw, method="POST", headers={**headers, "Content-Type": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (local API)
                    if 200 <= response.status < 300:
                        self.settled.append(key)
                        return
            except (urllib.error.URLError, OSError) as exc:
                log.info("sandbox bank: webhook attempt %d failed: %s", attempt + 1, exc)
            self._stopped.wait(min(30.0, 0.5 * 2**attempt))
        log.warning("sandbox bank: gave up settling %s", key)
