"""GET /openapi.json is a valid OpenAPI 3.1 document describing exactly the routes the app serves,
and what the API really answers matches what the document promises."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator, ValidationError
from openapi_spec_validator import validate

from app import app
from chalicelib.api.http import PATH_ID_PATTERN, PATH_PATTERNS, REGISTRY, model
from tests.api.support import CARE_NAMED, assert_error, order_body, place_on_hold, raw
from tests.aws import ADMIN, ALICE, BUYER, CARE, live_campaign

assert REGISTRY  # importing the app declares every route


@pytest.fixture
def doc(api) -> dict[str, Any]:
    r = raw(api, "GET", "/openapi.json")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    return json.loads(r.body)


def conforms(doc: dict[str, Any], instance: Any, schema: dict[str, Any]) -> None:
    """Validate `instance` against a schema of the document, resolving its $refs inside the document."""
    Draft202012Validator({**schema, "components": doc["components"]}).validate(instance)


def response_schema(doc: dict[str, Any], method: str, path: str, status: int) -> dict[str, Any]:
    responses = doc["paths"][path][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {path} answered {status}, which the document does not declare"
    return responses[str(status)]["content"]["application/json"]["schema"]


def test_the_document_is_valid_openapi_3_1(doc):
    assert doc["openapi"] == "3.1.0"
    assert doc["info"]["title"] == "Waybill API" and doc["info"]["version"] == "1.0.0"
    validate(doc)


def test_the_document_is_served_without_a_token_and_is_stable(api, doc):
    assert api.get("/openapi.json") == (200, doc)


def test_every_route_the_app_serves_is_in_the_document_and_nothing_else(doc):
    served = {(path, method.lower()) for path, methods in app.routes.items() for method in methods}
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert served == documented


def test_every_declared_route_appears_with_its_request_and_response_schemas(doc):
    schemas = doc["components"]["schemas"]
    for spec in REGISTRY:
        op = doc["paths"][spec.path][spec.method.lower()]
        where = f"{spec.method} {spec.path}"
        assert op["summary"] == spec.summary, where
        if spec.body:
            ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref == f"#/components/schemas/{spec.body}", where
            assert schemas[spec.body]["additionalProperties"] is False, where  # unknown fields refused
        else:  # only a signed webhook reads a body it parses itself
            assert ("requestBody" in op) is spec.signed, where
        ok = op["responses"][str(spec.status)]["content"]["application/json"]["schema"]
        if spec.response:
            assert ok == {"$ref": f"#/components/schemas/{spec.response}"}, where
        for status in spec.errors:
            error = op["responses"][str(status)]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/ErrorBody"}, where
        params = {(p["in"], p["name"]) for p in op.get("parameters", [])}
        assert {n for where_, n in params if where_ == "path"} == set(re.findall(r"{(\w+)}", spec.path)), where
        if spec.query:
            assert {n for where_, n in params if where_ == "query"} == set(model(spec.query).model_fields), where


def test_protected_routes_declare_bearer_auth_and_their_roles_and_public_ones_do_not(doc):
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    for spec in REGISTRY:
        op = doc["paths"][spec.path][spec.method.lower()]
        if spec.roles is None:
            assert "security" not in op, spec.path
            assert ("401" in op["responses"]) == spec.path.startswith("/webhooks/"), spec.path  # bad signature
        else:
            assert op["security"] == [{"bearerAuth": []}], spec.path
            assert op["x-roles"] == sorted(spec.roles), spec.path
            assert {"401", "403"} <= set(op["responses"]), spec.path
    assert set(doc["paths"]) >= {"/health", "/openapi.json"}
    assert "security" not in doc["paths"]["/health"]["get"]


def test_changes_declare_409_and_path_ids_declare_their_pattern(doc):
    for spec in REGISTRY:
        op = doc["paths"][spec.path][spec.method.lower()]
        if spec.method != "GET" and spec.roles is not None:
            assert "409" in op["responses"], spec.path
        for p in op.get("parameters", []):
            if p["in"] == "path":
                assert p["schema"] == {"type": "string", "pattern": PATH_PATTERNS.get(p["name"], PATH_ID_PATTERN)}


def test_every_reference_resolves_and_operation_ids_are_unique(doc):
    text = json.dumps(doc)
    for ref in set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', text)):
        assert ref in doc["components"]["schemas"], ref
    op_ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(op_ids) == len(set(op_ids))


def test_the_order_search_filters_are_documented_with_their_allowed_values(doc):
    params = {p["name"]: p for p in doc["paths"]["/staff/orders"]["get"]["parameters"]}
    assert set(params) == {
        "q",
        "status",
        "campaign_id",
        "supplier_id",
        "customer_id",
        "customer_email",
        "created_from",
        "created_to",
        "limit",
        "cursor",
    }
    assert not any(p["required"] for p in params.values())
    statuses = doc["components"]["schemas"]["OrderStatus"]["enum"]
    assert {"on_hold", "placed", "rejected", "cancelled", "completed"} <= set(statuses)


def test_placing_an_order_documents_the_idempotent_replay(doc):
    op = doc["paths"]["/orders"]["post"]
    assert {"201", "200"} <= set(op["responses"])
    assert any(p["in"] == "header" and p["name"] == "Idempotency-Key" for p in op["parameters"])


def test_real_responses_match_the_documented_schemas(api, doc):
    campaign = live_campaign(api)
    body = order_body(campaign["id"], ("MUG-1", 1))
    key = {"Idempotency-Key": "k-1"}
    held = place_on_hold(api, campaign["id"])
    api.post(f"/staff/orders/{held['id']}/notes", CARE_NAMED, {"internal_note": "a", "customer_note": "b"})
    checks: list[tuple[str, str, str, dict[str, str] | None, Any, dict[str, str] | None]] = [
        ("GET", "/health", "/health", None, None, None),
        ("POST", "/orders", "/orders", ALICE, body, key),
        ("POST", "/orders", "/orders", ALICE, body, key),  # the replay: 200
        ("POST", "/orders", "/orders", ALICE, {**body, "lines": [{"sku": "NOPE", "quantity": 1}]}, None),
        ("POST", "/orders", "/orders", ALICE, b"{", None),
        ("GET", "/orders", "/orders", ALICE, None, None),
        ("GET", f"/orders/{held['id']}", "/orders/{order_id}", ALICE, None, None),
        ("GET", "/orders/ord_nope", "/orders/{order_id}", ALICE, None, None),
        ("GET", "/staff/orders", "/staff/orders", CARE, None, None),
        ("GET", f"/staff/orders/{held['id']}", "/staff/orders/{order_id}", CARE, None, None),
        ("POST", f"/staff/orders/{held['id']}/notes", "/staff/orders/{order_id}/notes", CARE, {"internal_note": "x"}, None),
        (
            "POST",
            f"/staff/orders/{held['id']}/transitions",
            "/staff/orders/{order_id}/transitions",
            CARE,
            {"action": "approve", "expected_version": 9},
            None,
        ),
        (
            "POST",
            f"/staff/orders/{held['id']}/transitions",
            "/staff/orders/{order_id}/transitions",
            CARE,
            {"action": "approve"},
            None,
        ),
        ("POST", f"/orders/{held['id']}/cancel", "/orders/{order_id}/cancel", ALICE, {}, None),
        ("GET", "/staff/suppliers", "/staff/suppliers", BUYER, None, None),
        ("GET", "/staff/suppliers/acme", "/staff/suppliers/{supplier_id}", BUYER, None, None),
        ("POST", "/staff/suppliers", "/staff/suppliers", BUYER, {"id": "acme", "name": "A", "contact_emails": ["a@b.cd"]}, None),
        ("GET", "/staff/campaigns", "/staff/campaigns", BUYER, None, None),
        ("GET", f"/staff/campaigns/{campaign['id']}", "/staff/campaigns/{campaign_id}", BUYER, None, None),
        ("POST", f"/staff/campaigns/{campaign['id']}/go-live", "/staff/campaigns/{campaign_id}/go-live", BUYER, {}, None),
        (
            "PUT",
            "/staff/customers/cust-bob/flag",
            "/staff/customers/{customer_id}/flag",
            ADMIN,
            {"flagged": True, "reason": "r"},
            None,
        ),
        ("GET", "/staff/orders", "/staff/orders", ALICE, None, None),
    ]
    statuses = set()
    for method, path, template, who, payload, extra in checks:
        r = raw(api, method, path, who, payload, extra_headers=extra)
        statuses.add(r.status_code)
        instance = json.loads(r.body)
        conforms(doc, instance, response_schema(doc, method, template, r.status_code))
        if r.status_code >= 400:
            assert_error(r.status_code, instance, r.status_code)
    assert statuses == {200, 201, 400, 403, 404, 409, 422}


# ---------------------------------------------------------------- what the document says is what happens


def request_schema(doc: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    return doc["paths"][path][method.lower()]["requestBody"]["content"]["application/json"]["schema"]


def products(price: Any, cost: Any = 500) -> dict[str, Any]:
    return {
        "name": "Winter",
        "products": [{"sku": "MUG-1", "name": "Mug", "supplier_id": "acme", "unit_price_cents": price, "unit_cost_cents": cost}],
    }


def test_an_integer_valued_number_is_an_integer_as_the_document_says(api, doc):
    """JSON Schema's `integer` takes 1200.0 (a number with no fraction); so does the API. A fraction or
    a string is refused by both."""
    live_campaign(api)  # the supplier
    schema = request_schema(doc, "POST", "/staff/campaigns")
    for price, cost in ((1200.0, 5e2), (1200, 500)):
        conforms(doc, products(price, cost), schema)
        status, campaign = api.post("/staff/campaigns", BUYER, products(price, cost))
        assert status == 201, campaign
        assert [(p["unit_price_cents"], p["unit_cost_cents"]) for p in campaign["products"]] == [(1200, 500)]
        assert isinstance(campaign["products"][0]["unit_price_cents"], int)
    for price in (1200.5, "1200", True):
        with pytest.raises(ValidationError):
            conforms(doc, products(price), schema)
        body = assert_error(*api.post("/staff/campaigns", BUYER, products(price)), 422, "validation_error")
        assert [d["field"] for d in body["details"]] == ["body.products.0.unit_price_cents"], body
    flag = request_schema(doc, "PUT", "/staff/customers/{customer_id}/flag")
    with pytest.raises(ValidationError):
        conforms(doc, {"flagged": "yes", "reason": "r"}, flag)
    assert_error(*api.put("/staff/customers/cust-bob/flag", ADMIN, {"flagged": "yes", "reason": "r"}), 422, "validation_error")


def test_a_body_is_documented_as_required_exactly_when_the_route_needs_one(doc):
    for spec in REGISTRY:
        if not spec.body:
            continue
        needs_fields = bool(model(spec.body).model_json_schema().get("required"))
        body = doc["paths"][spec.path][spec.method.lower()]["requestBody"]
        assert body["required"] is needs_fields, f"{spec.method} {spec.path}"


def test_a_missing_body_is_refused_with_what_the_route_needs_when_one_is_required(api, doc):
    assert doc["paths"]["/staff/suppliers"]["post"]["requestBody"]["required"] is True
    r = raw(api, "POST", "/staff/suppliers", BUYER)
    error = assert_error(r.status_code, json.loads(r.body), 400, "missing_body")
    assert "name" in error["message"] and "contact_emails" in error["message"], error
    assert {d["field"] for d in error["details"]} == {"body.name", "body.contact_emails"}
    conforms(doc, json.loads(r.body), response_schema(doc, "POST", "/staff/suppliers", 400))
    # A route whose body is all optional documents it so, and takes no body at all.
    held = place_on_hold(api, live_campaign(api)["id"])
    assert doc["paths"]["/orders/{order_id}/cancel"]["post"]["requestBody"]["required"] is False
    r = raw(api, "POST", f"/orders/{held['id']}/cancel", ALICE)
    assert r.status_code == 200, r.body


@pytest.mark.parametrize("path", ["/webhooks/bank", "/webhooks/carriers/{carrier}", "/webhooks/suppliers/{supplier_id}"])
def test_the_webhook_routes_document_the_standard_webhooks_headers_and_their_body(doc, path):
    op = doc["paths"][path]["post"]
    headers = {p["name"]: p for p in op["parameters"] if p["in"] == "header"}
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert all(h["required"] and h["description"] and h["schema"]["type"] == "string" for h in headers.values())
    assert op["requestBody"]["required"] is True
    assert op["requestBody"]["content"]["application/json"]["schema"]["type"] == "object"
    assert {"400", "401", "422"} <= set(op["responses"])


def test_a_webhook_without_its_signature_headers_is_refused_as_documented(api, doc):
    r = raw(api, "POST", "/webhooks/bank", None, {"type": "payment.settled"})
    body = json.loads(r.body)
    assert_error(r.status_code, body, 400, "missing_signature_headers")
    conforms(doc, body, response_schema(doc, "POST", "/webhooks/bank", 400))
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        assert name in body["error"]["message"]
