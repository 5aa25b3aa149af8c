"""The customer's order page without a login: a link's token opens one order (customer-safe facts only),
revoking or rotating the key makes old links 404, and the lookup by reference and e-mail answers one 404
whichever part is wrong and is rate-limited."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from chalicelib.adapters import secrets
from chalicelib.adapters.dynamodb.metering import metered
from chalicelib.config import settings
from chalicelib.domain.addresses import order_reference
from chalicelib.services import track
from tests.api.support import CARE_NAMED, assert_error, place, raw
from tests.aws import ALICE, BOB, live_campaign


@pytest.fixture
def order(api: Any) -> dict[str, Any]:
    secrets.forget()  # each test's account has its own random link key
    campaign = live_campaign(api)
    placed = place(api, campaign["id"], ("MUG-1", 2), ("CAP-1", 1))
    status, _ = api.post(
        f"/staff/orders/{placed['id']}/notes",
        CARE_NAMED,
        {"internal_note": "INTERNAL: supplier slow", "customer_note": "We have your order."},
    )
    assert status == 201
    return placed


def token_of(order_id: str, generation: int = 0) -> str:
    token = track.token_for(order_id, generation)
    assert token is not None
    return token


def test_a_link_opens_the_order_with_customer_facing_facts_only(api, order):
    status, view = api.get(f"/track/{token_of(order['id'])}")
    assert status == 200, view
    assert view["order_id"] == order["id"] and view["reference"] == order_reference(order["id"])
    assert view["status"] == order["status"] and view["next_step"] == order["status"]
    assert [(l["sku"], l["quantity"]) for l in view["lines"]] == [("MUG-1", 2), ("CAP-1", 1)]
    assert [d["number"] for d in view["deliveries"]] == [1, 2]
    assert any(e["note"] == "We have your order." for e in view["timeline"])
    text = json.dumps(view)
    for internal in ("INTERNAL", "supplier slow", "Carla", "care-7", "acme", "bolt", "unit_cost", "supplier_id", "500"):
        assert internal not in text, internal


def test_opening_a_link_reads_the_order_once(api, order):
    token = token_of(order["id"])
    track.link_keys()  # the key is cached: what is counted is the table
    with metered() as m:
        status, _ = api.get(f"/track/{token}")
    assert status == 200 and dict(m.requests) == {"Query": 1}


@pytest.mark.parametrize("bad", ["nope", "ord_x.0.AAAAAAAAAAAAAAAAAAAAAA", "x" * 64])
def test_a_forged_or_malformed_token_is_a_404(api, order, bad):
    assert_error(*api.get(f"/track/{bad}"), 404, "not_found")


def test_revoking_makes_old_links_404_and_answers_a_new_one(api, order):
    old = token_of(order["id"])
    status, fresh = api.post(f"/orders/{order['id']}/link/revoke", ALICE)
    assert status == 200, fresh
    assert fresh["token"] != old and fresh["url"] == f"{settings().site_base}/track/#/o/{fresh['token']}"
    assert_error(*api.get(f"/track/{old}"), 404, "not_found")
    assert api.get(f"/track/{fresh['token']}")[0] == 200
    # Staff may revoke too; another customer may not (and learns nothing).
    status, again = api.post(f"/orders/{order['id']}/link/revoke", CARE_NAMED)
    assert status == 200 and api.get(f"/track/{fresh['token']}")[0] == 404
    assert_error(*api.post(f"/orders/{order['id']}/link/revoke", BOB), 404, "not_found")
    assert api.get(f"/track/{again['token']}")[0] == 200


def test_the_customer_and_care_get_the_current_link_without_revoking_it_and_nobody_else_learns_of_the_order(api, order):
    status, mine = api.get(f"/orders/{order['id']}/link", ALICE)
    assert status == 200 and mine["token"] == token_of(order["id"])
    assert api.get(f"/orders/{order['id']}/link", CARE_NAMED)[1]["token"] == mine["token"]
    assert api.get(f"/track/{mine['token']}")[0] == 200  # reading it revoked nothing
    assert_error(*api.get(f"/orders/{order['id']}/link", BOB), 404, "not_found")


def test_rotating_the_key_keeps_links_of_the_previous_key_and_drops_older_ones(api, order):
    sm = boto3.client("secretsmanager", region_name="eu-west-1")
    name = settings().track_links_secret
    first = json.loads(sm.get_secret_value(SecretId=name)["SecretString"])["current"]
    old = token_of(order["id"])
    sm.put_secret_value(SecretId=name, SecretString=json.dumps({"current": "second-key", "previous": first}))
    secrets.forget()
    assert api.get(f"/track/{old}")[0] == 200  # during the rotation
    assert token_of(order["id"]) != old  # new links use the new key
    sm.put_secret_value(SecretId=name, SecretString=json.dumps({"current": "third-key", "previous": "second-key"}))
    secrets.forget()
    assert_error(*api.get(f"/track/{old}"), 404, "not_found")


def test_the_lookup_finds_the_link_by_reference_and_email(api, order):
    reference = order_reference(order["id"]).lower().replace("-", "")  # as people type it
    status, found = api.post("/track/lookup", body={"reference": reference, "email": "Alice@Example.com"})
    assert status == 200, found
    assert found["token"] == token_of(order["id"])
    assert api.get(f"/track/{found['token']}")[0] == 200


def test_the_lookup_answers_the_same_404_whichever_part_is_wrong(api, order):
    reference = order_reference(order["id"])
    wrong_email = api.post("/track/lookup", body={"reference": reference, "email": "bob@example.com"})
    wrong_reference = api.post("/track/lookup", body={"reference": "WB-0000-0000", "email": "alice@example.com"})
    nobody = api.post("/track/lookup", body={"reference": reference, "email": "nobody@example.com"})
    assert wrong_email == wrong_reference == nobody
    assert_error(*wrong_email, 404, "not_found")


def test_the_lookup_is_limited_per_client_and_per_reference(api, order):
    reference = order_reference(order["id"])
    limit = settings().track_lookup_limit
    for n in range(limit):
        assert api.post("/track/lookup", body={"reference": f"WB-0000-{n:04d}", "email": "x@example.com"})[0] == 404
    r = raw(api, "POST", "/track/lookup", body={"reference": reference, "email": "alice@example.com"})
    assert r.status_code == 429, r.body
    assert 0 < int(r.headers["Retry-After"]) <= settings().track_lookup_window_s
    assert json.loads(r.body)["error"]["code"] == "too_many_requests"


def test_a_bad_lookup_body_is_a_422(api, order):
    assert_error(*api.post("/track/lookup", body={"reference": "WB-1"}), 422, "validation_error")
