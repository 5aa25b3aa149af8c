"""Public routes: health and the OpenAPI document."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint

from ..config import settings
from ..lazy import lazy_module
from .http import endpoint

# Loaded on first use, not at `import app` (see chalicelib/lazy.py).
if TYPE_CHECKING:
    from .views import common
else:
    common = lazy_module("chalicelib.api.views.common")

public_api = Blueprint(__name__)
API_VERSION = "1.0.0"


@endpoint(public_api, "/health", "GET", summary="Liveness", tag="public", roles=None, response="HealthView")
def health(call: object) -> common.HealthView:
    return common.HealthView(status="ok", stage=settings().stage, version=API_VERSION)


@endpoint(public_api, "/openapi.json", "GET", summary="This API's OpenAPI 3.1 document", tag="public", roles=None)
def openapi(call: object) -> dict[str, Any]:
    from .openapi import document

    return document(API_VERSION)
