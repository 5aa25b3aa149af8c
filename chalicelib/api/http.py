"""The one way a route is declared: parse (pydantic) -> authorize -> service -> response.

`endpoint` registers a Chalice route and records it for the OpenAPI document; it parses
the JSON body and query string into models, checks the caller's role, calls the handler
and serialises its response model. Every error leaves through `error_response`, so the
body is always `{"error": {"code", "message", "details"}}`.
"""

from __future__ import annotations

import decimal
import functools
import re
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, overload

from chalice.app import Blueprint, Request, Response

from ..config import settings
from ..domain import json_text
from ..domain.errors import Conflict, DomainError, Forbidden, InvalidTransition, NotFound, RuleViolation
from ..domain.permissions import Principal, Role
from ..lazy import lazy_module
from ..observability import logger
from .auth import jwt_auth, principal_from_context

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError


STATUS_BY_ERROR: dict[type[DomainError], int] = {
    NotFound: 404,
    Forbidden: 403,
    InvalidTransition: 409,
    Conflict: 409,
    RuleViolation: 422,
}
BAD_REQUEST_CODES = {"invalid_cursor"}


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[Any] | None = None,
    headers: Mapping[str, str | list[str]] | None = None,
) -> Response:
    return Response(
        body={"error": {"code": code, "message": message, "details": details or []}},
        status_code=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def domain_error_response(exc: DomainError) -> Response:
    status = next((s for cls, s in STATUS_BY_ERROR.items() if isinstance(exc, cls)), 400)
    if exc.code in BAD_REQUEST_CODES:
        status = 400
    return error_response(status, exc.code, exc.message, exc.details)


def validation_details(exc: ValidationError, where: str) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(p) for p in (where, *e["loc"])), "message": e["msg"], "type": e["type"]}
        for e in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


@dataclass
class EndpointSpec:
    """What the OpenAPI generator needs to know about a route. Models are named, not held,
    so declaring a route does not import pydantic (see `chalicelib/lazy.py`)."""

    method: str
    path: str
    summary: str
    roles: frozenset[Role] | None
    body: str | None
    query: str | None
    response: str | None
    status: int
    tag: str
    errors: tuple[int, ...] = field(default=())
    replay_status: int | None = None  # success status of an idempotent replay (Idempotency-Key)
    signed: bool = False  # an inbound webhook: Standard Webhooks headers over the raw body it parses itself


REGISTRY: list[EndpointSpec] = []
# The view modules, by audience (chalicelib/api/views); a route names its models, each defined in one of them.
_VIEWS: tuple[ModuleType, ...] = tuple(
    lazy_module(f"chalicelib.api.views.{audience}")
    for audience in (
        "common",
        "customer",
        "supplier",
        "staff",
        "complaints",
        "webhooks",
        "storefront",
        "settings",
        "work",
        "search",
    )
)


@overload
def model(name: str) -> type[BaseModel]: ...
@overload
def model(name: None) -> None: ...
def model(name: str | None) -> type[BaseModel] | None:
    """The model class a route names (defined in one of the modules of chalicelib.api.views)."""
    if not name:
        return None
    for views in _VIEWS:
        found = getattr(views, name, None)
        if isinstance(found, type):
            return found
    raise LookupError(f"no model named {name} in chalicelib.api.views")


@dataclass
class Call:
    """One request as the handler sees it."""

    principal: Principal | None
    body: Any
    query: Any
    headers: dict[str, str]

    @property
    def actor(self) -> Principal:
        assert self.principal is not None
        return self.principal


_PATH_PARAM = re.compile(r"{(\w+)}")
# Every id in a path is part of a table key: one that cannot exist is a 404, never a key
# DynamoDB refuses (over-long keys would be a 500).
PATH_ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
_PATH_ID = re.compile(PATH_ID_PATTERN)
# Path parameters that are not ids, by name: an e-mail address (notification preferences).
PATH_PATTERNS: dict[str, str] = {"email": r"^[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9.-]{1,189}\.[A-Za-z]{2,63}$"}
_PATH_RES = {name: re.compile(pattern) for name, pattern in PATH_PATTERNS.items()}


def path_pattern(name: str) -> str:
    """The pattern a path parameter must match (an id unless named in PATH_PATTERNS)."""
    return PATH_PATTERNS.get(name, PATH_ID_PATTERN)


def _path_value(name: str, value: str) -> str | None:
    """The parameter's value when it is valid (addresses may arrive percent-encoded), else None."""
    if name in _PATH_RES:
        value = urllib.parse.unquote(value)
        return value if _PATH_RES[name].fullmatch(value) else None
    return value if _PATH_ID.fullmatch(value) else None


def endpoint(
    bp: Blueprint,
    path: str,
    method: str,
    *,
    summary: str,
    tag: str,
    roles: frozenset[Role] | None,
    response: str | None = None,
    body: str | None = None,
    query: str | None = None,
    status: int = 200,
    replay_status: int | None = None,
    signed: bool = False,
    extra_errors: tuple[int, ...] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a route. `roles=None` makes it public (no authorizer); models are named by
    their class name in chalicelib.api.views. `signed`: an inbound webhook (see EndpointSpec)."""
    errors = ((400, 422) if body or query else ()) + extra_errors
    if body or signed:
        errors += (413,)
    if signed:
        errors += (415,)
    if roles is not None:
        errors += (401, 403)
    if _PATH_PARAM.search(path):
        errors += (404,)
    if method in ("POST", "PUT", "PATCH", "DELETE") and roles is not None:
        errors += (409,)  # a change can meet a concurrent one, a status that forbids it, or a duplicate
    REGISTRY.append(
        EndpointSpec(
            method, path, summary, roles, body, query, response, status, tag, tuple(sorted(set(errors))), replay_status, signed
        )
    )

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def view(**path_params: str) -> Response:
            from pydantic import BaseModel, ValidationError

            request = bp.current_request
            principal = principal_from_context(request.context) if roles is not None else None
            if roles is not None:
                if principal is None:
                    return error_response(401, "unauthorized", "sign in: this route needs a bearer token")
                if not principal.has_any(roles):
                    return error_response(
                        403,
                        "forbidden",
                        f"this route is for {', '.join(sorted(roles))}; your roles: {', '.join(sorted(principal.roles))}",
                    )
            checked = {name: _path_value(name, value) for name, value in path_params.items()}
            bad_ids = [name for name, value in checked.items() if value is None]
            if bad_ids:
                return error_response(
                    404,
                    "not_found",
                    f"no such {bad_ids[0].removesuffix('_id')}",
                    [{"field": f"path.{n}", "message": "not a valid id"} for n in bad_ids],
                )
            path_params = {name: str(value) for name, value in checked.items()}
            refused = _refused_body(request, signed=signed) if body or signed else None
            if refused is not None:
                return refused
            where = "query"
            try:
                query_model, body_model = model(query), model(body)
                parsed_query = query_model.model_validate(dict(request.query_params or {})) if query_model else None
                where = "body"
                parsed_body = _parse_body(raw_body(request), body_model) if body_model else None
            except ValidationError as exc:
                return error_response(
                    422, "validation_error", f"the request {where} is not valid", validation_details(exc, where)
                )
            except _BadJson as exc:
                return error_response(400, exc.code, str(exc), exc.details)
            call = Call(principal, parsed_body, parsed_query, dict(request.headers or {}))
            try:
                result = fn(call, **path_params)
            except DomainError as exc:
                return domain_error_response(exc)
            if isinstance(result, Response):
                return result
            payload = result.model_dump(mode="json", by_alias=True) if isinstance(result, BaseModel) else result
            return Response(body=payload, status_code=status, headers={"Content-Type": "application/json"})

        # Chalice needs each view to be uniquely named within the app.
        view.__name__ = fn.__name__
        kwargs: dict[str, Any] = {"methods": [method]}
        if roles is not None:
            kwargs["authorizer"] = jwt_auth
        if method in ("POST", "PUT", "PATCH"):
            # Accept any declared type; the body parser says clearly when it is not JSON.
            kwargs["content_types"] = ["application/json", "text/plain", "application/x-www-form-urlencoded"]
        bp.route(path, **kwargs)(view)
        return fn

    return decorate


class _BadJson(Exception):
    def __init__(self, message: str, code: str = "invalid_json", details: list[Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.details = code, details


def required_fields(model: type[BaseModel]) -> list[str]:
    """The body fields a request must name: a body is required (and documented so) when there are any."""
    return [f.alias or name for name, f in model.model_fields.items() if f.is_required()]


def _number(text: str) -> int | float:
    """A JSON number with no fraction is an integer, as JSON Schema's `integer` (and so the OpenAPI
    document) says: `414.0` and `4.14e2` reach an integer field as 414; `414.5` stays a float, which
    an integer field refuses."""
    value = decimal.Decimal(text)
    if value.is_finite() and value.adjusted() < 19 and value == value.to_integral_value():  # no 1e999999999 ints
        return int(value)
    return float(text)


JSON_MEDIA_TYPE = re.compile(r"^application/(?:[\w.+-]+\+)?json$")


def is_json_media_type(content_type: str) -> bool:
    """`application/json` or a structured `application/...+json`, whatever its parameters (charset)."""
    return bool(JSON_MEDIA_TYPE.match(content_type.split(";", 1)[0].strip().lower()))


def body_limit(*, signed: bool) -> int:
    """The largest body a route reads (bytes): inbound webhooks have their own, smaller limit."""
    s = settings()
    return s.max_webhook_body_bytes if signed else s.max_body_bytes


def _refused_body(request: Request, *, signed: bool) -> Response | None:
    """413 for a body over the limit, before anything parses it; 415 for a signed webhook whose declared
    Content-Type is not JSON (a sender that declares none is read as JSON, as Chalice does)."""
    limit = body_limit(signed=signed)
    size = len(raw_body(request))
    if size > limit:
        return error_response(
            413,
            "body_too_large",
            f"the request body is {size} bytes; this route accepts at most {limit}",
            [{"field": "body", "message": f"at most {limit} bytes"}],
        )
    content_type = request.headers.get("content-type") if request.headers else None
    if signed and content_type and not is_json_media_type(content_type):
        return error_response(
            415,
            "unsupported_media_type",
            f"a webhook body must be sent as application/json, not {content_type[:100]}",
            [{"field": "headers.content-type", "message": "must be application/json"}],
        )
    return None


def raw_body(request: Request) -> bytes:
    """The request's body as sent (Chalice hands over bytes; a str, as its type allows, is encoded)."""
    raw = request.raw_body
    return raw.encode() if isinstance(raw, str) else raw


def _parse_body(raw: bytes, model: type[BaseModel]) -> BaseModel:
    if not raw:  # no body: the same as {} for a route whose fields are all optional
        needed = required_fields(model)
        if needed:
            raise _BadJson(
                f"the request body is missing: send a JSON object with {', '.join(needed)}",
                "missing_body",
                [{"field": f"body.{n}", "message": "required"} for n in needed],
            )
        raw = b"{}"
    try:
        data = json_text.parse(raw, parse_float=_number)
    except json_text.InvalidJson as exc:
        raise _BadJson(str(exc)) from None
    if not isinstance(data, dict):
        raise _BadJson("the body must be a JSON object")
    return model.model_validate(data)


def translate_gateway_errors(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """HTTP middleware: Chalice's own errors (405, 415, 500) get the house error shape, and
    every request gets a correlation id in the logs and in the response."""
    request_id = (getattr(event, "context", None) or {}).get("requestId") or uuid.uuid4().hex
    logger.set_correlation_id(request_id)
    try:
        response = get_response(event)
    except Exception:  # a bug: log it, answer 500 in the house shape
        logger.exception("unhandled error")
        response = error_response(500, "internal_error", "an internal error occurred; it has been logged")
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and {"Code", "Message"} <= set(body):
        if response.status_code >= 500:
            logger.error("chalice error", extra={"chalice_error": body})
        code = re.sub(r"(?<!^)(?=[A-Z])", "_", str(body["Code"])).lower().removesuffix("_error")
        response = error_response(response.status_code, code, str(body["Message"]), headers=response.headers)
    response.headers["X-Request-Id"] = request_id
    logger.info(
        "request",
        extra={"method": getattr(event, "method", None), "path": getattr(event, "path", None), "status": response.status_code},
    )
    return response
