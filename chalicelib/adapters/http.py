"""One idempotent JSON POST with retries, shared by the outbound money ports (bank, payment gateway).

The caller's `Idempotency-Key` makes a retry safe: the other side executes one transaction per key.
2xx is an answer; 5xx, connection errors, timeouts and an unreadable 2xx body are retried with
exponential backoff (`backoff_s`, then twice that, ...) and end in `Unavailable`; any other status
(4xx) is `Refused` at once. urllib, not requests: the Lambda package stays small."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]  # the JSON object answered ({} for an empty body or a non-object)


class Unavailable(Exception):
    """No usable answer after every attempt; `last` says what the last attempt got."""

    def __init__(self, attempts: int, last: str) -> None:
        super().__init__(f"{attempts} attempt(s): {last}")
        self.attempts = attempts
        self.last = last


class Refused(Exception):
    """The other side answered with a status that says it will not execute this request (4xx)."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"refused ({status}): {body[:500]}")
        self.status = status
        self.body = body


def post_json(
    url: str,
    payload: dict[str, Any],
    *,
    idempotency_key: str,
    timeout_s: float,
    attempts: int,
    backoff_s: float,
    credentials: dict[str, str] | None = None,
) -> Answer:
    data = json.dumps(payload).encode()
    headers = {**(credentials or {}), "Content-Type": "application/json", "Idempotency-Key": idempotency_key}
    last = ""
    for attempt in range(attempts):
        if attempt:
            time.sleep(backoff_s * 2 ** (attempt - 1))
        request = urllib.request.Request(url, data=data, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 (configured URL)
                raw = response.read()
                parsed = json.loads(raw) if raw else {}
                return Answer(status=response.status, body=parsed if isinstance(parsed, dict) else {})
        except urllib.error.HTTPError as exc:
            text = exc.read().decode(errors="replace")
            if exc.code < 500:
                raise Refused(exc.code, text) from None
            last = f"HTTP {exc.code}: {text[:200]}"
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError, ValueError) as exc:
            last = f"{type(exc).__name__}: {exc}"
    raise Unavailable(attempts, last)
