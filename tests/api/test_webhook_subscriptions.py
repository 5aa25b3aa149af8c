"""Staff routes for outbound webhooks: subscriptions (validation, SSRF refusal, versions, secret shown
once, rotation), the delivery log with its attempts, and replay."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from chalicelib.config import settings
from chalicelib.domain import webhooks as rules
from chalicelib.services import webhooks as svc
from tests.adapters.events import typed
from tests.adapters.test_webhooks_out import Receiver, event
from tests.api.support import assert_error, follow_pages
from tests.aws import ADMIN, BUYER, CARE

PUBLIC = "https://93.184.216.34/hooks"  # an IP literal: accepted without DNS


def create(api: Any, **body: Any) -> dict[str, Any]:
    status, sub = api.post("/staff/webhook-subscriptions", ADMIN, {"url": PUBLIC, "event_types": ["order.placed"], **body})
    assert status == 201, sub
    return sub


def test_admins_create_a_subscription_and_its_secret_is_shown_only_once(api):
    sub = create(api, description="ERP")
    assert sub["secret"].startswith("whsec_") and sub["active"] and sub["version"] == 1
    status, got = api.get(f"/staff/webhook-subscriptions/{sub['id']}", CARE)  # staff read
    assert status == 200 and "secret" not in got and got["url"] == PUBLIC
    status, page = api.get("/staff/webhook-subscriptions", CARE)
    assert status == 200 and [s["id"] for s in page["items"]] == [sub["id"]]
    assert_error(
        *api.post("/staff/webhook-subscriptions", BUYER, {"url": PUBLIC, "event_types": ["order.placed"]}), 403, "forbidden"
    )


@pytest.fixture(autouse=True)
def production_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Address checks apply outside local mode: say so here rather than trust the process environment
    (a suite that started a local stack in-process may have left WAYBILL_STAGE=local behind)."""
    monkeypatch.setattr(svc, "settings", lambda: dataclasses.replace(settings(), stage="prod"))


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/x",
        "https://localhost/x",
        "https://169.254.169.254/latest",
        "https://10.0.0.8/x",
        "https://[::1]/x",
        "http://93.184.216.34/x",
        "ftp://93.184.216.34/x",
    ],
)
def test_outside_local_mode_urls_to_private_addresses_or_without_https_are_refused(api, url):
    assert not svc.settings().is_local
    status, body = api.post("/staff/webhook-subscriptions", ADMIN, {"url": url, "event_types": ["order.placed"]})
    error = assert_error(status, body, 422, "invalid_subscription")
    assert error["details"][0]["field"] == "url"


def test_event_types_must_be_offered_ones(api):
    status, body = api.post(
        "/staff/webhook-subscriptions", ADMIN, {"url": PUBLIC, "event_types": ["order.placed", "customer.flagged"]}
    )
    error = assert_error(status, body, 422, "invalid_subscription")
    assert "customer.flagged" in error["details"][0]["message"]
    assert_error(*api.post("/staff/webhook-subscriptions", ADMIN, {"url": PUBLIC, "event_types": []}), 422, "validation_error")


def test_updates_check_the_version_and_the_url_again(api):
    sub = create(api)
    path = f"/staff/webhook-subscriptions/{sub['id']}"
    status, updated = api.put(path, ADMIN, {"event_types": ["order.placed", "po.created"], "expected_version": 1})
    assert status == 200 and updated["event_types"] == ["order.placed", "po.created"] and updated["version"] == 2
    assert_error(*api.put(path, ADMIN, {"active": False, "expected_version": 1}), 409, "conflict")
    assert_error(*api.put(path, ADMIN, {"url": "https://192.168.0.1/x"}), 422, "invalid_subscription")
    status, off = api.put(path, ADMIN, {"active": False})
    assert status == 200 and not off["active"] and off["disabled_reason"] == "disabled by staff"
    assert_error(*api.get("/staff/webhook-subscriptions/whs_nope", CARE), 404, "not_found")


def test_rotating_shows_the_new_secret_once_and_keeps_the_old_one_valid_for_a_while(api):
    sub = create(api)
    status, rotated = api.post(f"/staff/webhook-subscriptions/{sub['id']}/rotate-secret", ADMIN)
    assert status == 200 and rotated["secret"] != sub["secret"] and rotated["previous_secret_valid_until"]


def test_the_delivery_log_lists_filters_and_shows_attempts_and_staff_replay(api, monkeypatch):
    monkeypatch.setattr(svc, "settings", lambda: dataclasses.replace(settings(), stage="local"))
    r = Receiver(500)
    try:
        status, sub = api.post("/staff/webhook-subscriptions", ADMIN, {"url": r.url, "event_types": ["order.placed"]})
        assert status == 201, sub
        svc.deliver_event(typed(event(1)))  # attempt 1 answered 500: pending
        svc.deliver_event(typed(event(2)))  # answered 200
        first, second = rules.webhook_id("evt_0001", sub["id"]), rules.webhook_id("evt_0002", sub["id"])
        status, page = api.get(f"/staff/webhook-deliveries?subscription_id={sub['id']}", CARE)
        assert status == 200 and [d["id"] for d in page["items"]] == [second, first]
        status, pending = api.get("/staff/webhook-deliveries?status=pending", CARE)
        assert [d["id"] for d in pending["items"]] == [first] and pending["items"][0]["next_attempt_at"]
        status, one = api.get(f"/staff/webhook-deliveries?subscription_id={sub['id']}&status=succeeded&limit=1", CARE)
        assert [d["id"] for d in one["items"]] == [second]
        status, all_ = api.get("/staff/webhook-deliveries?limit=1", CARE)
        assert len(all_["items"]) == 1 and all_["next_cursor"]
        status, detail = api.get(f"/staff/webhook-deliveries/{first}", CARE)
        assert status == 200 and detail["payload"]["id"] == "evt_0001"
        [attempt] = detail["attempts"]
        assert attempt["status_code"] == 500 and attempt["response_excerpt"] == "not today"
        assert_error(*api.post(f"/staff/webhook-deliveries/{first}/replay", CARE), 403, "forbidden")
        status, replayed = api.post(f"/staff/webhook-deliveries/{first}/replay", ADMIN)
        assert status == 201 and replayed["replay_of"] == first and replayed["id"] not in (first, second)
        assert replayed["status"] == "succeeded" and r.ids()[-1] == replayed["id"]
        Webhook(sub["secret"]).verify(r.received[-1][1], r.received[-1][0])
        assert_error(*api.get("/staff/webhook-deliveries/msg_nope", CARE), 404, "not_found")
    finally:
        r.close()


def test_a_filtered_delivery_log_page_is_never_empty_while_matching_deliveries_remain(api, monkeypatch):
    """A subscription's deliveries filtered by status: the Query evaluates deliveries of every status,
    so the service reads on until the page is full or the subscription's deliveries end."""
    monkeypatch.setattr(svc, "settings", lambda: dataclasses.replace(settings(), stage="local"))
    r = Receiver(500)  # the oldest delivery fails (pending a retry); the six after it succeed
    try:
        status, sub = api.post("/staff/webhook-subscriptions", ADMIN, {"url": r.url, "event_types": ["order.placed"]})
        assert status == 201, sub
        for n in range(1, 8):
            svc.deliver_event(typed(event(n)))
    finally:
        r.close()
    oldest = rules.webhook_id("evt_0001", sub["id"])
    path = f"/staff/webhook-deliveries?subscription_id={sub['id']}"

    status, page = api.get(f"{path}&status=pending&limit=2", CARE)  # six newer ones evaluated first
    assert status == 200 and [d["id"] for d in page["items"]] == [oldest] and page["next_cursor"] is None

    newest_first = [rules.webhook_id(f"evt_000{n}", sub["id"]) for n in range(7, 1, -1)]
    for limit in (1, 4, 6, 10):
        pages: list[list[str]] = []
        cursor = None
        while True:
            status, page = api.get(f"{path}&status=succeeded&limit={limit}" + (f"&cursor={cursor}" if cursor else ""), CARE)
            assert status == 200, page
            assert page["items"] or not page["next_cursor"], f"an empty page with a cursor (limit {limit})"
            pages.append([d["id"] for d in page["items"]])
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert [i for p in pages for i in p] == newest_first, (limit, pages)  # none skipped, none twice
        assert all(len(p) == limit for p in pages[:-1]), (limit, pages)  # full pages until the last
    items, _ = follow_pages(api, path, CARE, 3)
    assert [d["id"] for d in items] == [*newest_first, oldest]


def test_the_secret_is_stored_sealed_and_neither_it_nor_its_ciphertext_is_ever_answered(api):
    from chalicelib.adapters import webhooks_out as port
    from chalicelib.adapters.dynamodb import keys
    from chalicelib.adapters.dynamodb import repository as repo
    from chalicelib.adapters.dynamodb.models import WebhookSubscriptionItem

    sub = create(api)
    status, rotated = api.post(f"/staff/webhook-subscriptions/{sub['id']}/rotate-secret", ADMIN)
    assert status == 200
    item = repo.get(keys.webhook_subscription(sub["id"]), WebhookSubscriptionItem)
    assert item is not None and port.is_sealed(item.secret) and port.is_sealed(item.previous_secret or "")
    answers = [
        rotated,
        api.get(f"/staff/webhook-subscriptions/{sub['id']}", ADMIN)[1],
        api.get("/staff/webhook-subscriptions", ADMIN)[1],
    ]
    for answer in answers:
        text = json.dumps(answer)
        assert port.SEALED_PREFIX not in text and item.secret not in text and (item.previous_secret or "") not in text
    assert sub["secret"] not in json.dumps(answers)  # the first secret was shown once, at creation


@pytest.mark.parametrize(
    "url",
    ["https://[2002:a9fe:a9fe::]/", "https://[64:ff9b::a9fe:a9fe]/hooks", "https://[::ffff:a9fe:a9fe]/", "https://[2001::1]/"],
)
def test_a_url_naming_an_ipv6_form_of_a_private_address_is_refused(api, url):
    status, body = api.post("/staff/webhook-subscriptions", ADMIN, {"url": url, "event_types": ["order.placed"]})
    error = assert_error(status, body, 422, "invalid_subscription")
    assert error["details"][0]["field"] == "url"
