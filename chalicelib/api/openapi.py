"""The OpenAPI 3.1 document, generated from the routes' pydantic models (never hand-written)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from pydantic import BaseModel

from .. import events
from .http import REGISTRY, model, path_pattern, required_fields
from .views.common import ErrorBody

_REF = "#/components/schemas/{model}"
# Standard Webhooks (https://www.standardwebhooks.com): what a signed inbound webhook carries.
SIGNATURE_HEADERS = {
    "webhook-id": "the message id: the same on every retry of one message (a repeat is acknowledged, not applied)",
    "webhook-timestamp": "when it was sent, in Unix seconds; refused beyond 5 minutes either way",
    "webhook-signature": "`v1,<base64 HMAC-SHA256 of id.timestamp.body>`, space-separated during a secret rotation",
}
ERROR_TEXT = {
    400: "Malformed request",
    401: "Missing, expired or invalid token",
    403: "Role not allowed",
    404: "Not found (or not yours)",
    409: "Conflict with the current state or version",
    413: "The request body is over the route's size limit",
    415: "The body is not declared as JSON (Content-Type)",
    422: "Well-formed but not acceptable",
    429: "Too many requests: wait for Retry-After seconds",
}


def _schema(cls: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = cls.model_json_schema(ref_template=_REF)
    components.update(schema.pop("$defs", {}))
    components[cls.__name__] = schema
    return {"$ref": _REF.format(model=cls.__name__)}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


@lru_cache(maxsize=4)
def document(version: str) -> dict[str, Any]:
    components: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    error_ref = _schema(ErrorBody, components)
    for spec in REGISTRY:
        op: dict[str, Any] = {
            "operationId": re.sub(r"\W+", "_", f"{spec.method.lower()}{spec.path}").strip("_"),
            "summary": spec.summary,
            "tags": [spec.tag],
            "responses": {},
        }
        params = [
            {"name": n, "in": "path", "required": True, "schema": {"type": "string", "pattern": path_pattern(n)}}
            for n in re.findall(r"{(\w+)}", spec.path)
        ]
        if spec.replay_status:
            params.append(
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "description": "retrying with the same key and body returns the first result",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                }
            )
        if spec.query:
            qs = model(spec.query).model_json_schema(ref_template=_REF)
            components.update(qs.pop("$defs", {}))
            required = set(qs.get("required", []))
            params += [
                {"name": name, "in": "query", "required": name in required, "schema": prop}
                for name, prop in qs.get("properties", {}).items()
            ]
        if spec.signed:
            params += [
                {"name": name, "in": "header", "required": True, "description": text, "schema": {"type": "string"}}
                for name, text in SIGNATURE_HEADERS.items()
            ]
            op["requestBody"] = {
                "required": True,
                "description": "the sender's event, signed byte for byte as sent",
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        if params:
            op["parameters"] = params
        if spec.body:
            body_model = model(spec.body)
            body_schema = _schema(body_model, components)
            # Required exactly when the route refuses a missing body (api/http.py `_parse_body`).
            op["requestBody"] = {
                "required": bool(required_fields(body_model)),
                "content": {"application/json": {"schema": body_schema}},
            }
        ok = _schema(model(spec.response), components) if spec.response else {"type": "object"}
        op["responses"][str(spec.status)] = _json(ok, "Success")
        if spec.replay_status:
            op["responses"][str(spec.replay_status)] = _json(
                ok, "Replayed: an earlier request with the same Idempotency-Key and body (header Idempotent-Replayed)"
            )
        for status in spec.errors:
            op["responses"][str(status)] = _json(error_ref, ERROR_TEXT[status])
        if spec.roles is not None:
            op["security"] = [{"bearerAuth": []}]
            op["x-roles"] = sorted(spec.roles)
        paths.setdefault(spec.path, {})[spec.method.lower()] = op
    components.update(events.schemas())  # what subscribers and consumers validate payloads against
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Waybill API",
            "version": version,
            "description": "Order tracking for campaign shops: customers, suppliers and staff.",
        },
        "paths": paths,
        "webhooks": events.openapi_webhooks(),
        "x-bus-events": events.openapi_bus_events(),
        "components": {
            "schemas": components,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
