"""Public routes: health and the OpenAPI document."""

from __future__ import annotations

from chalice import Blueprint

from ..config import settings
from . import schemas as s
from .http import endpoint
from .openapi import document

public_api = Blueprint(__name__)
API_VERSION = "1.0.0"


@endpoint(public_api, "/health", "GET", summary="Liveness", tag="public", roles=None, response=s.HealthView)
def health(call: object) -> s.HealthView:
    return s.HealthView(status="ok", stage=settings().stage, version=API_VERSION)


@endpoint(public_api, "/openapi.json", "GET", summary="This API's OpenAPI 3.1 document", tag="public", roles=None)
def openapi(call: object) -> dict:
    return document(API_VERSION)
