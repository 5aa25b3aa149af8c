"""A small JSON-over-HTTP server on a thread, for the local sandboxes (bank, payment gateway).

Each POST is answered by `handle(path, idempotency_key, raw_body) -> (status, json_body)`."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Handle = Callable[[str, str | None, bytes], tuple[int, dict[str, Any]]]


class JsonServer:
    def __init__(self, name: str, handle: Handle, *, host: str = "127.0.0.1", port: int = 0) -> None:
        log = logging.getLogger(f"chalicelib.local.{name}")

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (signature of the base)
                log.debug(format, *args)

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                status, body = handle(
                    self.path, self.headers.get("Idempotency-Key"), self.rfile.read(int(self.headers.get("Content-Length") or 0))
                )
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name=name, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host.decode() if isinstance(host, bytes) else host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for serve_forever: only when it runs
            self._server.shutdown()
        self._server.server_close()
