"""The local host of the site's three pages: the staff admin page (`admin/`) at `/`, the customer's
order page (`track/`) at `/track/` and the supplier front office (`supplier/`) at `/supplier/`, with
`/config.js`, a dev sign-in and a same-origin reverse proxy to the API.

In AWS the page is on S3 behind CloudFront, which routes `/api/*` to API Gateway's `api` stage,
and staff sign in with Cognito's hosted UI. Locally this server stands in for both:

- `GET /...`            the files of `admin/` (no build step), `/` is `index.html`;
- `GET /track/...`, `GET /supplier/...`  the files of `track/` and `supplier/` (beside `admin/`), which
                        import the admin page's modules by relative path: `admin/` is also at `/admin/`;
- `GET /config.js`      generated (the same at `/track/config.js` and `/supplier/config.js`):
                        `window.WAYBILL_CONFIG = {"apiBase": "/api", "auth": {...}}`;
                        locally `auth` is `{"mode": "dev", "users": [...]}` (the demo users below);
- `POST /dev/sign-in`   `{"sub", "role"}` -> `{"token", "expires_at"}`, minted by the stack's dev
                        issuer for one of the demo users and one of its roles (400 otherwise);
- `/api/<path>`         proxied to `<api_url>/<path>`: method, query string, body and the headers
                        Authorization, Content-Type, Idempotency-Key, Accept and If-None-Match go
                        through; status, body, Content-Type, X-Request-Id and ETag come back unchanged
                        (the menu's counts poll with If-None-Match and get a 304). An API that does not
                        answer is a 502 in the API's error shape.

Standard library only (`http.server.ThreadingHTTPServer`, `urllib.request`)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .issuer import DevIssuer

log = logging.getLogger("chalicelib.local.admin_site")

SITE_DIR = Path(__file__).resolve().parents[2] / "admin"
API_PREFIX = "/api"
SIGN_IN_PATH = "/dev/sign-in"
CONFIG_PATH = "/config.js"
# The directories beside the admin page served under their own name (the admin page's own too: the other
# pages import its modules as `../admin/js/...`).
MOUNTS = ("track", "supplier", "admin")
CONFIG_PATHS = frozenset({CONFIG_PATH, *(f"/{m}{CONFIG_PATH}" for m in MOUNTS)})

# The demo users the dev sign-in offers: one per staff role, and a supplier user (whose token the
# console refuses). Staff and supplier ids as in chalicelib/local/seed.py (BUYER, CARE, SUPPLIERS)
# and the README's `make token` examples. Kept literal: importing seed.py pulls in the services,
# which read the settings before the stack has set the environment.
DEV_USERS: list[dict[str, Any]] = [
    {"sub": "bea", "email": "bea@waybill.example", "name": "Bea Buyer", "roles": ["buyer"]},
    {"sub": "carl", "email": "carl@waybill.example", "name": "Carl Care", "roles": ["customer_care"]},
    {"sub": "ada", "email": "ada@waybill.example", "name": "Ada Accounting", "roles": ["accounting"]},
    {"sub": "leo", "email": "leo@waybill.example", "name": "Leo Logistics", "roles": ["logistics"]},
    {"sub": "alex", "email": "alex@waybill.example", "name": "Alex Admin", "roles": ["admin"]},
    {
        "sub": "supplier-acme",
        "email": "orders@acme.example",
        "name": "Acme Mugs (supplier)",
        "roles": ["supplier"],
        "supplier_id": "acme",
    },
    # Customers of the seed (chalicelib/local/seed.py `customer`): the order page's sign-in offers them.
    {"sub": "cust-01", "email": "cust-01@example.com", "name": "Customer 01 (customer)", "roles": ["customer"]},
    {"sub": "cust-02", "email": "cust-02@example.com", "name": "Customer 02 (customer)", "roles": ["customer"]},
]

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
}
# What the browser gets with every page and file: no framing, no sniffing, scripts and styles from
# this origin only (the page loads nothing from a CDN), API calls to this origin only. The page
# never evaluates strings; 'unsafe-eval' is there for browser-test tooling (Playwright's
# wait_for_function with a string predicate evaluates it in the page).
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self'; "
    "img-src 'self' data: {images}; connect-src {connect}; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'",
}
FORWARDED_REQUEST_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "Accept", "If-None-Match")
FORWARDED_RESPONSE_HEADERS = ("Content-Type", "X-Request-Id", "Content-Disposition", "Location", "ETag")
MAX_BODY_BYTES = 10 * 1024 * 1024
PROXY_TIMEOUT_S = 60.0
TOKEN_TTL_S = 12 * 3600


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> bytes:
    """The API's error shape, for the errors this host answers itself."""
    return json.dumps({"error": {"code": code, "message": message, "details": details or []}}).encode()


class AdminSite:
    """Serves the admin page on `host:port` (0: any free port) from a daemon thread."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        api_url: str = "http://127.0.0.1:8000",
        issuer: DevIssuer | None = None,
        users: list[dict[str, Any]] | None = None,
        site_dir: Path = SITE_DIR,
        *,
        auth: dict[str, Any] | None = None,
        token_ttl_s: int = TOKEN_TTL_S,
        proxy_timeout_s: float = PROXY_TIMEOUT_S,
        invited_users: Callable[[], list[dict[str, Any]]] | None = None,
    ) -> None:
        """`auth`: the page's auth configuration when it is not the dev sign-in (e.g. Cognito's);
        by default the dev sign-in with `users`, which needs `issuer`. `invited_users`: the supplier users
        staff invited since (read at each sign-in; the dev directory of services/supplier_access.py)."""
        self.host, self.port = host, port
        self.api_url = api_url.rstrip("/")
        self.issuer = issuer
        self.users = [dict(u) for u in (DEV_USERS if users is None else users)]
        self.invited_users = invited_users
        self.site_dir = Path(site_dir).resolve()
        self.auth = auth
        self.token_ttl_s = token_ttl_s
        self.proxy_timeout_s = proxy_timeout_s
        # No proxies from the environment: the API is on loopback.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        if self._server is None:
            return f"http://{self.host}:{self.port}"
        host, port = self._server.server_address[:2]
        return f"http://{host.decode() if isinstance(host, bytes) else host}:{port}"

    def start(self) -> str:
        """Listen and serve from a daemon thread; returns the URL."""
        if self._server is not None:
            return self.url
        if not (self.site_dir / "index.html").is_file():
            raise RuntimeError(f"no admin page in {self.site_dir} (index.html is missing)")
        self._server = _Server((self.host, self.port), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, name="admin-site", daemon=True)
        self._thread.start()
        log.info("admin page on %s (API proxied from %s/)", self.url, API_PREFIX)
        return self.url

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        if thread is not None and thread.is_alive():
            server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server, self._thread = None, None

    # ------------------------------------------------------------ config and sign-in

    def config(self) -> dict[str, Any]:
        auth = (
            self.auth
            if self.auth is not None
            else {
                "mode": "dev",
                "users": [{k: u.get(k) for k in ("sub", "email", "name", "roles", "supplier_id")} for u in self.all_users()],
            }
        )
        return {"apiBase": API_PREFIX, "auth": auth}

    def all_users(self) -> list[dict[str, Any]]:
        """The demo users, then the supplier users staff invited (disabled ones are not there)."""
        return [*self.users, *(self.invited_users() if self.invited_users is not None else [])]

    def security_headers(self) -> dict[str, str]:
        """SECURITY_HEADERS, the page's own origin (and the Cognito domain it exchanges codes at) allowed
        for fetch."""
        connect = "'self'"
        if self.auth and self.auth.get("mode") == "cognito" and self.auth.get("domain"):
            connect += " " + str(self.auth["domain"]).rstrip("/")
        # Complaint photos are shown from presigned S3 URLs: locally, the embedded AWS's address.
        images = os.environ.get("AWS_ENDPOINT_URL", "").rstrip("/")
        if images:  # and the supplier page posts invoices and product files to presigned S3 POSTs there
            connect += " " + images
        return {
            **SECURITY_HEADERS,
            "Content-Security-Policy": SECURITY_HEADERS["Content-Security-Policy"]
            .format(connect=connect, images=images)
            .replace(" ;", ";"),
        }

    def config_js(self) -> bytes:
        data = json.dumps(self.config(), indent=2).replace("</", "<\\/")
        return f"window.WAYBILL_CONFIG = Object.freeze({data});\n".encode()

    def sign_in(self, raw: bytes) -> tuple[int, bytes]:
        """`{"sub", "role"}` -> `{"token", "expires_at"}` for a demo user and one of its roles."""
        if self.issuer is None or self.auth is not None:
            return 404, error_body("not_found", "the dev sign-in is not enabled on this host")
        try:
            body = json.loads(raw or b"{}")
        except (ValueError, UnicodeDecodeError) as exc:
            return 400, error_body("invalid_json", f"the body is not valid JSON: {exc}")
        if not isinstance(body, dict):
            return 400, error_body("invalid_json", "the body must be a JSON object")
        unknown = sorted(set(body) - {"sub", "role"})
        if unknown:
            return 400, error_body(
                "validation_error",
                "the request body is not valid",
                [{"field": f"body.{k}", "message": "Extra inputs are not permitted"} for k in unknown],
            )
        sub, role = body.get("sub"), body.get("role")
        users = self.all_users()
        user = next((u for u in users if u["sub"] == sub), None)
        if user is None:
            return 400, error_body(
                "unknown_user",
                f"no demo user {sub!r}",
                [{"field": "body.sub", "message": "choose one of: " + ", ".join(u["sub"] for u in users)}],
            )
        if role not in user["roles"]:
            return 400, error_body(
                "unknown_role",
                f"{sub} does not have the role {role!r}",
                [{"field": "body.role", "message": "choose one of: " + ", ".join(user["roles"])}],
            )
        token = self.issuer.token(
            user["sub"],
            [str(role)],  # one of the user's roles: checked above
            email=user.get("email"),
            supplier_id=user.get("supplier_id"),
            name=user.get("name"),
            ttl_seconds=self.token_ttl_s,
        )
        expires = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=self.token_ttl_s)
        log.info("dev sign-in: %s as %s", sub, role)
        return 200, json.dumps({"token": token, "expires_at": expires.isoformat()}).encode()

    # ------------------------------------------------------------ static files

    def static_file(self, url_path: str) -> Path | None:
        """The file a URL path names inside the site directory, or None (missing, a directory,
        a dotfile, or outside the site: `..`, encoded or not, never escapes it)."""
        path = urllib.parse.unquote(url_path)
        if "\x00" in path or "\\" in path:
            return None
        if path.endswith("/"):
            path += "index.html"
        parts = [p for p in path.split("/") if p]
        if any(p.startswith(".") for p in parts):
            return None
        root = self.site_dir
        if parts and parts[0] in MOUNTS:
            root = self.site_dir if parts[0] == "admin" else (self.site_dir.parent / parts[0]).resolve()
            parts = parts[1:] or ["index.html"]
        candidate = root.joinpath(*parts).resolve() if parts else root / "index.html"
        if not candidate.is_relative_to(root) or not candidate.is_file():
            return None
        return candidate

    # ------------------------------------------------------------ proxy

    def proxy(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, dict[str, str], bytes]:
        target = f"{self.api_url}{path[len(API_PREFIX) :] or '/'}" + (f"?{query}" if query else "")
        request = urllib.request.Request(
            target, data=body, method=method, headers={k: v for k, v in headers.items() if k in FORWARDED_REQUEST_HEADERS}
        )
        try:
            with self._opener.open(request, timeout=self.proxy_timeout_s) as response:
                return response.status, _pick(response.headers), response.read()
        except urllib.error.HTTPError as exc:  # an answer, just not a 2xx: pass it through as it is
            with exc:
                return exc.code, _pick(exc.headers), exc.read()
        except OSError as exc:  # URLError, refused, reset, timed out
            reason = getattr(exc, "reason", exc)
            log.warning("proxy %s %s: %s", method, target, reason)
            return (
                502,
                {"Content-Type": "application/json"},
                error_body("bad_gateway", f"the API at {self.api_url} did not answer: {reason}"),
            )


def _pick(headers: Any) -> dict[str, str]:
    return {name: headers[name] for name in FORWARDED_RESPONSE_HEADERS if headers and headers.get(name)}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect from the API goes back to the browser as it is."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def _handler(site: AdminSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the page's modules load over a few connections
        # Headers and body go out in separate sends: with Nagle on, the body waits for the
        # browser's delayed ACK (tens of ms per file). As in chalice_local.py.
        disable_nagle_algorithm = True
        server_version = "WaybillAdmin/1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's signature)
            log.debug("%s " + format, self.address_string(), *args)

        # -------------------------------------------------------- plumbing

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None, *, head: bool = False) -> None:
            self.send_response(status)
            for name, value in {**site.security_headers(), **(headers or {})}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _json(self, status: int, body: bytes) -> None:
            self._send(status, body, {"Content-Type": "application/json", "Cache-Control": "no-store"})

        def _body(self) -> bytes | None:
            """The request body (None: there is none); refuses what it cannot read cleanly."""
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                self.close_connection = True
                self._json(411, error_body("length_required", "send the body with a Content-Length"))
                raise _Answered
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0 or length > MAX_BODY_BYTES:
                self.close_connection = True
                self._json(413, error_body("payload_too_large", f"the body must be 0 to {MAX_BODY_BYTES} bytes"))
                raise _Answered
            return self.rfile.read(length) if length else None

        def _dispatch(self, method: str) -> None:
            try:
                split = urllib.parse.urlsplit(self.path)
                path = split.path or "/"
                if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
                    self._proxy(method, path, split.query)
                elif path == SIGN_IN_PATH:
                    body = self._body()
                    if method != "POST":
                        self._json(405, error_body("method_not_allowed", f"{SIGN_IN_PATH} takes POST"))
                        return
                    status, answer = site.sign_in(body or b"")
                    self._json(status, answer)
                elif method in ("GET", "HEAD"):
                    self._static(path, head=method == "HEAD")
                else:
                    self._body()
                    self._json(405, error_body("method_not_allowed", f"{method} is not allowed on {path}"))
            except _Answered:
                pass
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
            except Exception:  # a bug here: say so in the log, answer 500 in the API's shape
                log.exception("admin site: %s %s failed", method, self.path)
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self._json(500, error_body("internal_error", "the admin host failed; see its log"))

        def _proxy(self, method: str, path: str, query: str) -> None:
            body = self._body()
            if body is None and method in ("POST", "PUT", "PATCH"):
                body = b""  # Content-Length: 0, as the browser sent it
            headers = {name: value for name in FORWARDED_REQUEST_HEADERS if (value := self.headers.get(name))}
            status, answer_headers, answer = site.proxy(method, path, query, headers, body)
            self._send(status, answer, {**answer_headers, "Cache-Control": "no-store"}, head=method == "HEAD")

        def _static(self, path: str, *, head: bool) -> None:
            if path in {f"/{m}" for m in MOUNTS}:  # relative URLs need the directory's slash
                self._send(301, b"", {"Location": path + "/"}, head=head)
                return
            if path in CONFIG_PATHS:
                self._send(200, site.config_js(), {"Content-Type": CONTENT_TYPES[".js"], "Cache-Control": "no-cache"}, head=head)
                return
            file = site.static_file(path)
            if file is None:
                self._send(404, b"not found\n", {"Content-Type": "text/plain; charset=utf-8"}, head=head)
                return
            stat = file.stat()
            etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
            # No build step, so no hashed names: the browser revalidates every file (a 304 is cheap).
            headers = {
                "Content-Type": CONTENT_TYPES.get(file.suffix.lower(), "application/octet-stream"),
                "Cache-Control": "no-cache",
                "ETag": etag,
            }
            if etag in (self.headers.get("If-None-Match") or ""):
                self.send_response(304)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self._send(200, file.read_bytes(), headers, head=head)

        # -------------------------------------------------------- methods

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self._dispatch("GET")

        def do_HEAD(self) -> None:  # noqa: N802
            self._dispatch("HEAD")

        def do_POST(self) -> None:  # noqa: N802
            self._dispatch("POST")

        def do_PUT(self) -> None:  # noqa: N802
            self._dispatch("PUT")

        def do_PATCH(self) -> None:  # noqa: N802
            self._dispatch("PATCH")

        def do_DELETE(self) -> None:  # noqa: N802
            self._dispatch("DELETE")

        def do_OPTIONS(self) -> None:  # noqa: N802
            self._dispatch("OPTIONS")

    return Handler


class _Answered(Exception):
    """The handler has already answered (e.g. refused the body)."""
