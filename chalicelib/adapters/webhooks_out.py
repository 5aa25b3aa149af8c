"""The outbound webhook port: sign a body (Standard Webhooks, with the `standardwebhooks` library),
resolve a subscriber's host, POST one signed body, report what came back.

http.client, not urllib: it never follows a redirect (a 3xx is a failed attempt, so a subscriber
cannot bounce us to a private address), and it lets the connection go to the address that was
checked (`pinned`), so DNS cannot change between the check and the connect."""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from standardwebhooks.webhooks import Webhook

READ_LIMIT = 4096  # bytes of the answer kept (the log keeps an excerpt)


@dataclass(frozen=True)
class Sent:
    status_code: int | None
    latency_ms: int
    response: str
    error: str | None = None


def signed_headers(secrets: Iterable[str], msg_id: str, timestamp: int, payload: str) -> dict[str, str]:
    """The three Standard Webhooks headers (`v1,<base64 HMAC-SHA256 of id.timestamp.body>`); during a
    secret rotation one signature per valid secret, space-separated, so either secret verifies."""
    at = datetime.fromtimestamp(timestamp, UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(Webhook(secret).sign(msg_id, at, payload) for secret in secrets),
        "content-type": "application/json",
    }


def resolve(host: str, port: int | None = None) -> list[str]:
    """Every address `host` resolves to (an IP literal resolves to itself); empty when it does not."""
    try:
        infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return []
    return sorted({str(info[4][0]) for info in infos})


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int | None, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int | None, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


def post(url: str, body: str, headers: dict[str, str], *, timeout_s: float, pinned: str | None = None) -> Sent:
    """One POST; never raises for what the network or the subscriber does (that is an attempt's outcome)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    address = pinned or host
    cls = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    started = time.monotonic()
    conn = cls(host, parts.port, address, timeout_s)
    try:
        conn.request("POST", path, body=body.encode(), headers={**headers, "user-agent": "Waybill-Webhooks/1"})
        answer = conn.getresponse()
        text = answer.read(READ_LIMIT).decode("utf-8", errors="replace")
        return Sent(answer.status, _ms(started), text)
    except (OSError, http.client.HTTPException) as exc:
        return Sent(None, _ms(started), "", error=f"{type(exc).__name__}: {exc}"[:500])
    finally:
        conn.close()


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
