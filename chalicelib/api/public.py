"""Public routes: health, the OpenAPI document, and the customer's order page without a login (a link's
token opens one order; the lookup by reference and e-mail finds a link)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint

from ..config import settings
from ..lazy import lazy_module
from .http import Call, endpoint, error_response

# Loaded on first use, not at `import app` (see chalicelib/lazy.py).
if TYPE_CHECKING:
    from ..services import track
    from .views import common
    from .views import customer as views
else:
    common = lazy_module("chalicelib.api.views.common")
    track = lazy_module("chalicelib.services.track")
    views = lazy_module("chalicelib.api.views.customer")

public_api = Blueprint(__name__)
API_VERSION = "1.0.0"


@endpoint(public_api, "/health", "GET", summary="Liveness", tag="public", roles=None, response="HealthView")
def health(call: object) -> common.HealthView:
    return common.HealthView(status="ok", stage=settings().stage, version=API_VERSION)


@endpoint(public_api, "/openapi.json", "GET", summary="This API's OpenAPI 3.1 document", tag="public", roles=None)
def openapi(call: object) -> dict[str, Any]:
    from .openapi import document

    return document(API_VERSION)


@endpoint(
    public_api,
    "/track/{token}",
    "GET",
    summary="An order as its order page shows it, opened by the link's token (no login)",
    tag="public",
    roles=None,
    response="TrackView",
)
def track_order(call: Call, token: str) -> views.TrackView:
    return views.TrackView.of(track.open_order(token))


@endpoint(
    public_api,
    "/track/lookup",
    "POST",
    summary="Find an order's page link by its reference and the e-mail it was placed with",
    tag="public",
    roles=None,
    body="TrackLookupRequest",
    response="TrackLinkView",
    extra_errors=(404, 429),
)
def track_lookup(call: Call) -> object:
    body: views.TrackLookupRequest = call.body
    request = public_api.current_request
    identity = (request.context or {}).get("identity") or {}
    client = str(identity.get("sourceIp") or "unknown")
    try:
        found = track.lookup(body.reference, body.email, client=client)
    except track.TooManyAttempts as exc:
        return error_response(
            429,
            "too_many_requests",
            f"too many lookups; try again in {exc.retry_after_s} seconds",
            headers={"Retry-After": str(exc.retry_after_s)},
        )
    return views.TrackLinkView(token=found.token, url=track.page_url(found.token))
