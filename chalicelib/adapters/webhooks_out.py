"""The outbound webhook port: keep a signing secret sealed (KMS), sign a body (Standard Webhooks, with
the `standardwebhooks` library), resolve a subscriber's host, POST one signed body, report what came back.

Secrets are sealed with KMS `Encrypt` under the webhook-secrets key (topology.py `keys`), the
subscription id as encryption context, so a sealed secret copied onto another subscription does not
open; a secret is small, so no envelope. Opened only to sign (`open_secret`, cached per process).

http.client, not urllib: it never follows a redirect (a 3xx is a failed attempt, so a subscriber
cannot bounce us to a private address), and it lets the connection go to the address that was
checked (`pinned`), so DNS cannot change between the check and the connect."""

from __future__ import annotations

import base64
import http.client
import socket
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import urlsplit

from standardwebhooks.webhooks import Webhook

from ..config import settings
from ..domain.webhooks import SECRET_PREFIX
from .aws import client

READ_LIMIT = 4096  # bytes of the answer kept (the log keeps an excerpt)
SEALED_PREFIX = "kms:"  # then the base64 KMS ciphertext; a plaintext secret starts with whsec_


def is_sealed(stored: str) -> bool:
    return stored.startswith(SEALED_PREFIX)


def seal_secret(secret: str, subscription_id: str) -> str:
    """The secret as it may be stored: encrypted with the webhook-secrets key, bound to the subscription."""
    blob = client("kms").encrypt(
        KeyId=settings().webhook_secrets_key,
        Plaintext=secret.encode(),
        EncryptionContext={"subscription_id": subscription_id},
    )["CiphertextBlob"]
    return SEALED_PREFIX + base64.b64encode(blob).decode()


def open_secret(stored: str, subscription_id: str) -> str:
    """The secret to sign with. A plaintext `whsec_` value (stored before secrets were sealed) is
    accepted as it is; the webhooks service seals it at its first send or change."""
    if stored.startswith(SECRET_PREFIX):
        return stored
    if not is_sealed(stored):
        raise ValueError(f"the signing secret of subscription {subscription_id} is neither sealed nor a whsec_ secret")
    return _decrypt(stored, subscription_id)


@lru_cache(maxsize=256)  # each ciphertext is unique: a cached entry never outlives a rotation's meaning
def _decrypt(stored: str, subscription_id: str) -> str:
    plain = client("kms").decrypt(
        KeyId=settings().webhook_secrets_key,
        CiphertextBlob=base64.b64decode(stored.removeprefix(SEALED_PREFIX)),
        EncryptionContext={"subscription_id": subscription_id},
    )["Plaintext"]
    return bytes(plain).decode()


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
