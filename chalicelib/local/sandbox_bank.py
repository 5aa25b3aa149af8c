"""A sandbox bank for the local stack: takes payment orders and settles them by webhook.

`POST /payments` (JSON {payment_id, amount_cents, currency, supplier_id, reference}, header
`Idempotency-Key`) answers 202; one payment per key (a repeated key gets the first answer and
settles nothing again). After `settle_delay_s` it calls the API's `POST /webhooks/bank` with a
`payment.settled` event signed per the Standard Webhooks spec, retrying with backoff while the
API does not answer 2xx. Standard library plus `standardwebhooks`: nothing AWS-shaped."""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger("chalicelib.local.sandbox_bank")

REQUIRED = ("payment_id", "amount_cents", "currency", "supplier_id", "reference")


def new_secret() -> str:
    """A Standard Webhooks signing secret (`whsec_` + base64 of 24 random bytes)."""
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


def signed_headers(secret: str, body: str, *, msg_id: str | None = None, at: datetime | None = None) -> dict[str, str]:
    from standardwebhooks.webhooks import Webhook

    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    at = at or datetime.now(UTC)
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(secret).sign(msg_id, at, body), "Content-Type": "application/json"}


class SandboxBank:
    def __init__(self, *, webhook_url: str | None, secret: str | None, host: str = "127.0.0.1", port: int = 0,
                 settle_delay_s: float = 5.0, webhook_attempts: int = 6) -> None:
        self.webhook_url, self.secret = webhook_url, secret
        self.settle_delay_s, self.webhook_attempts = settle_delay_s, webhook_attempts
        self.payments: dict[str, dict[str, Any]] = {}
        self.requests = 0
        self.settled: list[str] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._timers: list[threading.Timer] = []
        bank = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (signature of the base)
                log.debug(format, *args)

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                status, body = bank.handle(self.path, self.headers.get("Idempotency-Key"),
                                           self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                self._answer(status, body)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="sandbox-bank", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/payments"

    def start(self) -> str:
        self._thread.start()
        return self.url

    def stop(self) -> None:
        self._stopped.set()
        for timer in self._timers:
            timer.cancel()
        self._server.shutdown()
        self._server.server_close()

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
        log.info("sandbox bank: payment %s of %s %s accepted", order["payment_id"], order["amount_cents"],
                 order["currency"])
        if self.webhook_url and self.secret:
            timer = threading.Timer(self.settle_delay_s, self._settle, args=(key,))
            timer.daemon = True
            self._timers.append(timer)
            timer.start()
        return 202, answer

    def settlement_event(self, key: str) -> str:
        payment = self.payments[key]
        order = payment["order"]
        return json.dumps({"type": "payment.settled", "timestamp": datetime.now(UTC).isoformat(),
                           "data": {"payment_id": order["payment_id"], "amount_cents": order["amount_cents"],
                                    "currency": order["currency"], "reference": payment["answer"]["reference"]}})

    def _settle(self, key: str) -> None:
        assert self.webhook_url and self.secret
        body = self.settlement_event(key)
        msg_id = f"msg_{uuid.uuid4().hex}"
        for attempt in range(self.webhook_attempts):
            if self._stopped.is_set():
                return
            # Signed per attempt: the timestamp must stay within the receiver's tolerance.
            request = urllib.request.Request(self.webhook_url, data=body.encode(), method="POST",
                                             headers=signed_headers(self.secret, body, msg_id=msg_id))
            try:
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (local API)
                    if 200 <= response.status < 300:
                        self.settled.append(key)
                        return
            except (urllib.error.URLError, OSError) as exc:
                log.info("sandbox bank: webhook attempt %d failed: %s", attempt + 1, exc)
            self._stopped.wait(min(30.0, 0.5 * 2 ** attempt))
        log.warning("sandbox bank: gave up settling %s", key)
