"""Staff manage suppliers, campaigns (draft -> live -> cancelled) and customer flags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.api.support import assert_error, draft_campaign, ensure_supplier, follow_pages, order_body, product
from tests.aws import ADMIN, ALICE, BUYER, CARE, live_campaign

# ---------------------------------------------------------------- suppliers


def test_a_buyer_creates_a_supplier_with_a_chosen_id_and_reads_it_back(api):
    status, created = api.post(
        "/staff/suppliers",
        BUYER,
        {"id": "acme", "name": "Acme Mugs", "contact_emails": ["orders@acme.example", "ceo@acme.example"]},
    )
    assert status == 201, created
    assert created["id"] == "acme" and created["name"] == "Acme Mugs" and created["active"] is True
    assert created["contact_emails"] == ["orders@acme.example", "ceo@acme.example"]
    status, fetched = api.get("/staff/suppliers/acme", CARE)
    assert status == 200 and fetched == created


def test_a_supplier_without_an_id_gets_a_generated_one(api):
    status, created = api.post("/staff/suppliers", ADMIN, {"name": "Nameless", "contact_emails": ["a@b.example"]})
    assert status == 201 and created["id"].startswith("sup_")
    assert api.get(f"/staff/suppliers/{created['id']}", BUYER)[1]["name"] == "Nameless"


def test_creating_a_supplier_with_an_existing_id_is_a_409_and_keeps_the_first(api):
    assert api.post("/staff/suppliers", BUYER, {"id": "acme", "name": "Acme", "contact_emails": ["a@acme.example"]})[0] == 201
    status, body = api.post("/staff/suppliers", BUYER, {"id": "acme", "name": "Impostor", "contact_emails": ["x@evil.example"]})
    assert "acme" in assert_error(status, body, 409, "conflict")["message"]
    assert api.get("/staff/suppliers/acme", BUYER)[1]["name"] == "Acme"


def test_suppliers_are_listed_by_name_across_pages(api):
    for sid, name in (("s3", "Charlie"), ("s1", "alpha"), ("s2", "Bravo")):
        ensure_supplier(api, BUYER, sid, name)
    items, _ = follow_pages(api, "/staff/suppliers", CARE, limit=2)
    assert [s["name"] for s in items] == ["alpha", "Bravo", "Charlie"]


def test_an_unknown_supplier_is_a_404(api):
    status, body = api.get("/staff/suppliers/nobody", BUYER)
    assert_error(status, body, 404, "not_found")


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"name": "X", "contact_emails": ["not-an-email"]}, "body.contact_emails.0"),
        ({"name": "X", "contact_emails": []}, "body.contact_emails"),
        ({"name": "   ", "contact_emails": ["a@b.example"]}, "body.name"),
        ({"id": "has space", "name": "X", "contact_emails": ["a@b.example"]}, "body.id"),
        ({"name": "X", "contact_emails": ["a@b.example"], "iban": "DE00"}, "body.iban"),
    ],
)
def test_an_invalid_supplier_is_refused_naming_the_field(api, payload, field):
    status, body = api.post("/staff/suppliers", BUYER, payload)
    assert field in [d["field"] for d in assert_error(status, body, 422, "validation_error")["details"]]
    assert api.get("/staff/suppliers", BUYER)[1]["items"] == []


# ---------------------------------------------------------------- campaigns


def test_a_buyer_creates_a_draft_campaign_with_products(api):
    ensure_supplier(api, BUYER, "acme")
    ensure_supplier(api, BUYER, "bolt")
    status, campaign = api.post(
        "/staff/campaigns",
        BUYER,
        {"name": "  Winter  ", "currency": "GBP", "products": [product("A-1", "acme", 1200), product("B-1", "bolt", 800)]},
    )
    assert status == 201, campaign
    assert campaign["status"] == "draft" and campaign["name"] == "Winter" and campaign["currency"] == "GBP"
    assert campaign["buyer_id"] == "buyer-1" and campaign["buyer_email"] == "buyer@waybill.example"
    assert campaign["product_count"] == 2 and campaign["supplier_ids"] == ["acme", "bolt"]
    assert campaign["starts_at"] is None and campaign["ends_at"] is None
    assert campaign["version"] == 1
    assert {p["sku"]: p["unit_price_cents"] for p in campaign["products"]} == {"A-1": 1200, "B-1": 800}


def test_the_campaign_detail_shows_its_products(api):
    ensure_supplier(api, BUYER, "acme")
    created = draft_campaign(api, BUYER, product("A-1"), product("A-2", price=50))
    status, detail = api.get(f"/staff/campaigns/{created['id']}", CARE)
    assert status == 200
    assert sorted(p["sku"] for p in detail["products"]) == ["A-1", "A-2"]
    assert detail["products"][0] == {
        "sku": "A-1",
        "name": "Product A-1",
        "supplier_id": "acme",
        "unit_price_cents": 1000,
        "unit_cost_cents": 500,
    }


def test_a_campaign_with_an_unknown_supplier_is_refused_naming_it(api):
    ensure_supplier(api, BUYER, "acme")
    status, body = api.post("/staff/campaigns", BUYER, {"name": "X", "products": [product("A-1"), product("G-1", "ghost")]})
    error = assert_error(status, body, 422, "unknown_supplier")
    assert "ghost" in error["message"] and "acme" not in error["message"]
    assert api.get("/staff/campaigns?status=draft", BUYER)[1]["items"] == []


def test_a_campaign_listing_the_same_sku_twice_is_refused(api):
    ensure_supplier(api, BUYER, "acme")
    status, body = api.post("/staff/campaigns", BUYER, {"name": "X", "products": [product("A-1"), product("A-1")]})
    assert "A-1" in assert_error(status, body, 422, "duplicate_sku")["message"]


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"unit_price_cents": -1}, "unit_price_cents"),
        ({"unit_price_cents": 12.5}, "unit_price_cents"),
        ({"unit_price_cents": True}, "unit_price_cents"),
        ({"sku": "A 1"}, "sku"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_an_invalid_product_is_refused_naming_the_field(api, bad, field):
    status, body = api.post("/staff/campaigns", BUYER, {"name": "X", "products": [{**product("A-1"), **bad}]})
    error = assert_error(status, body, 422, "validation_error")
    assert f"body.products.0.{field}" in [d["field"] for d in error["details"]]


def test_campaigns_are_listed_by_status(api):
    live = live_campaign(api)
    draft = draft_campaign(api, BUYER, product("D-1"), name="Draft one")
    doomed = draft_campaign(api, BUYER, product("D-2"), name="Doomed")
    assert api.post(f"/staff/campaigns/{doomed['id']}/cancel", BUYER, {"reason": "never mind"})[0] == 200

    def ids(status: str) -> list[str]:
        code, page = api.get(f"/staff/campaigns?status={status}", CARE)
        assert code == 200, page
        assert all(c["status"] == status for c in page["items"])
        assert all(c["products"] is None for c in page["items"])  # the listing stays light
        return [c["id"] for c in page["items"]]

    assert ids("live") == [live["id"]]
    assert ids("draft") == [draft["id"]]
    assert ids("cancelled") == [doomed["id"]]
    assert ids("ended") == []
    assert [c["id"] for c in api.get("/staff/campaigns", CARE)[1]["items"]] == [live["id"]]  # live by default
    code, every = api.get("/staff/campaigns?status=any&limit=2", CARE)
    assert code == 200 and len(every["items"]) == 2 and every["next_cursor"]
    code, rest = api.get(f"/staff/campaigns?status=any&limit=2&cursor={every['next_cursor']}", CARE)
    assert code == 200 and rest["next_cursor"] is None
    assert sorted(c["id"] for c in every["items"] + rest["items"]) == sorted([live["id"], draft["id"], doomed["id"]])


def test_listing_campaigns_in_an_unknown_status_is_refused(api):
    status, body = api.get("/staff/campaigns?status=paused", BUYER)
    assert assert_error(status, body, 422, "validation_error")["details"][0]["field"] == "query.status"


def test_an_unknown_campaign_is_a_404_everywhere(api):
    ensure_supplier(api, BUYER, "acme")
    assert_error(*api.get("/staff/campaigns/cmp_nope", BUYER), 404, "not_found")
    assert_error(*api.post("/staff/campaigns/cmp_nope/go-live", BUYER, {}), 404, "not_found")
    assert_error(*api.post("/staff/campaigns/cmp_nope/cancel", BUYER, {"reason": "x"}), 404, "not_found")
    assert_error(*api.post("/staff/campaigns/cmp_nope/products", BUYER, {"products": [product("A-1")]}), 404, "not_found")


def test_products_are_added_to_a_draft(api):
    ensure_supplier(api, BUYER, "acme")
    ensure_supplier(api, BUYER, "bolt")
    draft = draft_campaign(api, BUYER, product("A-1"))
    status, updated = api.post(
        f"/staff/campaigns/{draft['id']}/products", BUYER, {"products": [product("B-1", "bolt"), product("A-2")]}
    )
    assert status == 200, updated
    assert updated["product_count"] == 3 and updated["supplier_ids"] == ["acme", "bolt"]
    assert updated["version"] == draft["version"] + 1
    detail = api.get(f"/staff/campaigns/{draft['id']}", BUYER)[1]
    assert sorted(p["sku"] for p in detail["products"]) == ["A-1", "A-2", "B-1"]


def test_adding_a_sku_the_draft_already_sells_is_refused_and_adds_nothing(api):
    ensure_supplier(api, BUYER, "acme")
    draft = draft_campaign(api, BUYER, product("A-1", price=1000))
    status, body = api.post(
        f"/staff/campaigns/{draft['id']}/products", BUYER, {"products": [product("A-2"), product("A-1", price=1)]}
    )
    assert "A-1" in assert_error(status, body, 422, "duplicate_sku")["message"]
    detail = api.get(f"/staff/campaigns/{draft['id']}", BUYER)[1]
    assert [(p["sku"], p["unit_price_cents"]) for p in detail["products"]] == [("A-1", 1000)]
    assert detail["product_count"] == 1


def test_adding_products_to_a_live_campaign_is_an_invalid_transition(api):
    campaign = live_campaign(api)
    status, body = api.post(f"/staff/campaigns/{campaign['id']}/products", BUYER, {"products": [product("NEW-1")]})
    assert_error(status, body, 409, "invalid_transition")
    assert api.get(f"/staff/campaigns/{campaign['id']}", BUYER)[1]["product_count"] == 3


def test_adding_products_of_an_unknown_supplier_is_refused(api):
    ensure_supplier(api, BUYER, "acme")
    draft = draft_campaign(api, BUYER, product("A-1"))
    status, body = api.post(f"/staff/campaigns/{draft['id']}/products", BUYER, {"products": [product("G-1", "ghost")]})
    assert_error(status, body, 422, "unknown_supplier")


def test_adding_no_products_is_refused(api):
    ensure_supplier(api, BUYER, "acme")
    draft = draft_campaign(api, BUYER, product("A-1"))
    status, body = api.post(f"/staff/campaigns/{draft['id']}/products", BUYER, {"products": []})
    assert assert_error(status, body, 422, "validation_error")["details"][0]["field"] == "body.products"


def test_going_live_opens_the_campaign_for_the_default_seven_days(api):
    ensure_supplier(api, BUYER, "acme")
    draft = draft_campaign(api, BUYER, product("A-1"))
    status, live = api.post(f"/staff/campaigns/{draft['id']}/go-live", BUYER, {})
    assert status == 200, live
    assert live["status"] == "live" and live["version"] == 2
    starts = datetime.fromisoformat(live["starts_at"])
    ends = datetime.fromisoformat(live["ends_at"])
    assert ends - starts == timedelta(days=7)
    assert api.post("/orders", ALICE, order_body(draft["id"], ("A-1", 1)))[0] == 201


def test_going_live_with_an_explicit_end(api):
    ensure_supplier(api, BUYER, "acme")
    draft = draft_campaign(api, BUYER, product("A-1"))
    ends_at = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    status, live = api.post(
        f"/staff/campaigns/{draft['id']}/go-live", BUYER, {"ends_at": ends_at.isoformat(), "expected_version": draft["version"]}
    )
    assert status == 200, live
    assert datetime.fromisoformat(live["ends_at"]) == ends_at


def test_a_campaign_without_products_cannot_go_live(api):
    draft = draft_campaign(api, BUYER)
    assert draft["product_count"] == 0
    status, body = api.post(f"/staff/campaigns/{draft['id']}/go-live", BUYER, {})
    assert_error(status, body, 422, "no_products")
    assert api.get(f"/staff/campaigns/{draft['id']}", BUYER)[1]["status"] == "draft"


def test_a_campaign_cannot_go_live_with_an_end_in_the_past(api):
    ensure_supplier(api, BUYER, "acme")
    draft = draft_campaign(api, BUYER, product("A-1"))
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    status, body = api.post(f"/staff/campaigns/{draft['id']}/go-live", BUYER, {"ends_at": past})
    assert_error(status, body, 422, "invalid_end")
    assert api.get(f"/staff/campaigns/{draft['id']}", BUYER)[1]["status"] == "draft"


def test_an_end_without_a_timezone_is_refused(api):
    ensure_supplier(api, BUYER, "acme")
    draft = draft_campaign(api, BUYER, product("A-1"))
    status, body = api.post(f"/staff/campaigns/{draft['id']}/go-live", BUYER, {"ends_at": "2099-01-01T00:00:00"})
    assert assert_error(status, body, 422, "validation_error")["details"][0]["field"] == "body.ends_at"


def test_going_live_twice_is_an_invalid_transition(api):
    campaign = live_campaign(api)
    status, body = api.post(f"/staff/campaigns/{campaign['id']}/go-live", BUYER, {})
    assert "live" in assert_error(status, body, 409, "invalid_transition")["message"]


def test_going_live_with_a_stale_version_is_a_conflict(api):
    ensure_supplier(api, BUYER, "acme")
    draft = draft_campaign(api, BUYER, product("A-1"))
    api.post(f"/staff/campaigns/{draft['id']}/products", BUYER, {"products": [product("A-2")]})  # version 2
    status, body = api.post(f"/staff/campaigns/{draft['id']}/go-live", BUYER, {"expected_version": 1})
    assert_error(status, body, 409, "conflict")
    assert api.get(f"/staff/campaigns/{draft['id']}", BUYER)[1]["status"] == "draft"


def test_cancelling_a_live_campaign_records_the_reason_and_refuses_new_orders(api):
    campaign = live_campaign(api)
    status, cancelled = api.post(f"/staff/campaigns/{campaign['id']}/cancel", BUYER, {"reason": "Supplier went bust"})
    assert status == 200, cancelled
    assert cancelled["status"] == "cancelled" and cancelled["version"] == campaign["version"] + 1
    status, body = api.post("/orders", ALICE, order_body(campaign["id"], ("MUG-1", 1)))
    assert_error(status, body, 422, "campaign_not_live")


def test_a_draft_campaign_can_be_cancelled_but_a_cancelled_one_cannot_go_live(api):
    ensure_supplier(api, BUYER, "acme")
    draft = draft_campaign(api, BUYER, product("A-1"))
    assert api.post(f"/staff/campaigns/{draft['id']}/cancel", ADMIN, {"reason": "duplicate"})[1]["status"] == "cancelled"
    assert_error(*api.post(f"/staff/campaigns/{draft['id']}/go-live", BUYER, {}), 409, "invalid_transition")
    assert_error(*api.post(f"/staff/campaigns/{draft['id']}/cancel", BUYER, {"reason": "again"}), 409, "invalid_transition")


@pytest.mark.parametrize("payload", [{}, {"reason": ""}, {"reason": "   "}])
def test_cancelling_a_campaign_needs_a_reason(api, payload):
    campaign = live_campaign(api)
    status, body = api.post(f"/staff/campaigns/{campaign['id']}/cancel", BUYER, payload)
    assert assert_error(status, body, 422, "validation_error")["details"][0]["field"] == "body.reason"
    assert api.get(f"/staff/campaigns/{campaign['id']}", BUYER)[1]["status"] == "live"


# ---------------------------------------------------------------- customer flags


def test_flagging_a_customer_needs_a_reason(api):
    status, body = api.put("/staff/customers/cust-alice/flag", CARE, {"flagged": True})
    assert_error(status, body, 422, "reason_required")


def test_a_customer_can_be_flagged_cleared_and_flagged_again(api):
    for flagged in (True, False, True):
        status, profile = api.put(
            "/staff/customers/cust-alice/flag", ADMIN, {"flagged": flagged, "reason": "why" if flagged else None}
        )
        assert status == 200, profile
        assert profile["flagged"] is flagged


def test_a_malformed_customer_id_is_a_404_not_a_server_error(api):
    status, body = api.put("/staff/customers/" + "c" * 3000 + "/flag", CARE, {"flagged": True, "reason": "x"})
    assert_error(status, body, 404, "not_found")
