"""Outbound webhook rules: offered types, retry schedule, disabling, refused addresses (signing: test_webhook_signing.py)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import pytest

from chalicelib.domain import webhooks as rules
from chalicelib.domain.webhooks import Outcome, Result


def test_the_retry_schedule_is_the_standard_webhooks_one_scaled_by_the_setting():
    assert [rules.delay_before(n, 100) for n in range(1, 9)] == [0, 5, 300, 1800, 7200, 18000, 36000, 36000]
    assert rules.delay_before(2, 1) == 0.05 and rules.delay_before(8, 10) == 3600
    assert rules.delay_before(9, 100) is None and rules.delay_before(0, 100) is None


@pytest.mark.parametrize(
    "status, attempt, expected",
    [
        (200, 1, Outcome.SUCCEEDED),
        (299, 8, Outcome.SUCCEEDED),
        (500, 1, Outcome.RETRY),
        (None, 7, Outcome.RETRY),
        (301, 3, Outcome.RETRY),
        (500, 8, Outcome.EXHAUSTED),
        (410, 1, Outcome.GONE),
        (404, 8, Outcome.EXHAUSTED),
    ],
)
def test_an_attempts_outcome(status, attempt, expected):
    o = rules.outcome(Result(status), attempt)
    assert o is expected
    assert rules.disables(o) is (expected in (Outcome.GONE, Outcome.EXHAUSTED))


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.9",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "100.64.0.1",
        "::",
    ],
)
def test_private_loopback_link_local_multicast_reserved_and_unspecified_addresses_are_refused(address):
    assert rules.refused_address(address)
    assert rules.address_problems("hooks.example", ["93.184.216.34", address])


def test_public_addresses_are_accepted_and_a_host_that_does_not_resolve_is_not():
    assert rules.refused_address("93.184.216.34") is None and rules.refused_address("2606:4700::1111") is None
    assert rules.address_problems("hooks.example", ["93.184.216.34"]) == []
    assert rules.address_problems("nowhere.example", [])


def test_a_subscription_needs_https_outside_local_mode_and_offered_event_types():
    assert rules.subscription_problems("https://hooks.example/x", ["order.placed"], local=False) == []
    assert rules.subscription_problems("http://hooks.example/x", ["order.placed"], local=True) == []
    assert [p["field"] for p in rules.subscription_problems("http://hooks.example/x", ["order.placed"], local=False)] == ["url"]
    assert rules.subscription_problems("https://u:p@hooks.example/x", ["order.placed"], local=False)
    problems = rules.subscription_problems("https://hooks.example/x", ["order.placed", "customer.flagged"], local=False)
    assert [p["field"] for p in problems] == ["event_types"] and "customer.flagged" in problems[0]["message"]
    assert rules.subscription_problems("https://hooks.example/x", [], local=False)


def test_the_webhook_id_is_the_same_for_every_run_of_one_event_and_subscription():
    assert rules.webhook_id("evt_1", "whs_1") == rules.webhook_id("evt_1", "whs_1")
    assert rules.webhook_id("evt_1", "whs_1") != rules.webhook_id("evt_1", "whs_2")
    assert rules.webhook_id("evt_1", "whs_1") != rules.webhook_id("evt_2", "whs_1")


def test_the_thin_payload_carries_ids_status_and_links_but_no_notes_or_personal_data():
    event = {
        "id": "evt_1",
        "type": "shipment.recorded",
        "subject_type": "shipment",
        "subject_id": "dhl#JD1",
        "at": "2030-01-01T00:00:00+00:00",
        "to_status": "dispatched",
        "customer_note": "ring twice",
        "data": {
            "po_id": "po_1",
            "order_ids": ["ord_1"],
            "tracking_url": "https://dhl.example/JD1",
            "customer_email": "a@b.example",
            "internal_note": "x",
        },
    }
    payload = rules.thin_payload(event, "https://api.example/")
    assert payload == {
        "type": "shipment.recorded",
        "id": "evt_1",
        "timestamp": "2030-01-01T00:00:00+00:00",
        "data": {
            "subject_type": "shipment",
            "subject_id": "dhl#JD1",
            "status": "dispatched",
            "po_id": "po_1",
            "order_ids": ["ord_1"],
            "links": {"po": "https://api.example/staff/purchase-orders/po_1", "tracking": "https://dhl.example/JD1"},
        },
    }


def test_only_order_po_shipment_and_campaign_events_are_offered():
    assert {t.split(".")[0] for t in rules.OFFERED_EVENT_TYPES} == {"order", "po", "shipment", "campaign", "complaint"}
    assert "po.acknowledge_completed" in rules.OFFERED_EVENT_TYPES
    assert rules.matches("order.placed", ["order.placed"]) and not rules.matches("order.placed", ["po.created"])


def test_a_complaint_event_is_offered_thin_with_a_link_to_the_complaint_and_no_customer_details():
    event = {
        "type": "complaint.resolved",
        "id": "evt_1",
        "at": "2026-12-03T10:00:00+00:00",
        "subject_type": "complaint",
        "subject_id": "cmp_1",
        "to_status": "resolved",
        "data": {
            "complaint_id": "cmp_1",
            "order_id": "ord_1",
            "supplier_id": "acme",
            "po_id": "po_1",
            "customer_email": "alice@example.com",
            "refund_cents": 1200,
        },
    }
    payload = rules.thin_payload(event, "https://waybill.example")
    assert "complaint.resolved" in rules.OFFERED_EVENT_TYPES
    assert payload["data"]["links"]["complaint"] == "https://waybill.example/staff/complaints/cmp_1"
    assert payload["data"]["links"]["order"] == "https://waybill.example/staff/orders/ord_1"
    assert "customer_email" not in payload["data"] and "refund_cents" not in payload["data"]


@pytest.mark.parametrize(
    "address, form",
    [
        ("2002:a9fe:a9fe::", "6to4"),  # 169.254.169.254, the instance metadata service
        ("2002:7f00:1::1", "6to4"),  # 127.0.0.1
        ("2002:c0a8:101:1::1", "6to4"),  # 192.168.1.1
        ("64:ff9b::a9fe:a9fe", "NAT64"),
        ("64:ff9b::7f00:1", "NAT64"),
        ("::ffff:169.254.169.254", "IPv4-mapped"),
        ("::ffff:0:a00:1", "IPv4-translated"),  # 10.0.0.1
        ("2a00:1450:4001:81b::5efe:a9fe:a9fe", "ISATAP"),
        ("2a00:1450:4001:81b:200:5efe:a00:1", "ISATAP"),  # the universal/local bit set
    ],
)
def test_an_ipv6_address_carrying_a_private_or_link_local_ipv4_is_refused_naming_the_form(address, form):
    why = rules.refused_address(address)
    assert why and form in why
    assert rules.address_problems("hooks.example", ["93.184.216.34", address])


@pytest.mark.parametrize(
    "address",
    [
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo, whatever client it names
        "2001::5db8:d822",
        "::169.254.169.254",  # IPv4-compatible (deprecated)
        "::93.184.216.34",
        "64:ff9b:1::a9fe:a9fe",  # local-use NAT64
        "64:ff9b:1:2::5db8:d822",
    ],
)
def test_teredo_ipv4_compatible_and_local_use_nat64_addresses_are_always_refused(address):
    assert rules.refused_address(address)


def test_an_ipv6_form_of_a_public_ipv4_address_is_not_refused_for_what_it_carries():
    assert rules.refused_address("2002:5db8:d822::1") is None  # 6to4 of 93.184.216.34
    assert rules.refused_address("::ffff:93.184.216.34") is None
    assert rules.refused_address("2a00:1450:4001:81b::5efe:5db8:d822") is None  # ISATAP id, public IPv4
    assert rules.embedded_ipv4(ipaddress.IPv6Address("2606:4700::1111")) is None


def test_a_url_naming_the_6to4_form_of_the_metadata_address_is_refused():
    from chalicelib.adapters.webhooks_out import resolve  # an IP literal resolves to itself, without DNS

    url = "https://[2002:a9fe:a9fe::]/"
    host = urlsplit(url).hostname or ""
    assert rules.subscription_problems(url, ["order.placed"], local=False) == []
    problems = rules.address_problems(host, resolve(host))
    assert problems and "169.254.169.254" in problems[0]["message"]


def test_a_subscription_may_take_every_type_or_a_subjects_types_by_pattern():
    assert rules.matches("order.shipped", ["*"]) and rules.matches("po.created", ["*"])
    assert rules.matches("order.shipped", ["order.*"]) and not rules.matches("po.created", ["order.*"])
    assert rules.matches("po.created", ["order.*", "po.created"])
    assert not rules.matches("order.placed", ["order.shipped"])
    assert not rules.matches("customer.flagged", ["*"])  # never a type that is not offered
    assert not rules.matches("orders.placed", ["order.*"])  # a prefix is a whole subject


def test_a_pattern_that_matches_no_offered_type_is_refused_and_the_message_names_the_catalogue_route():
    assert rules.subscription_problems("https://hooks.example/x", ["*", "order.*", "complaint.*"], local=False) == []
    [problem] = rules.subscription_problems("https://hooks.example/x", ["customer.*", "order.*"], local=False)
    assert "customer.*" in problem["message"] and "order.*" not in problem["message"].split(";")[0]
    assert "GET /staff/webhook-event-types" in problem["message"]
