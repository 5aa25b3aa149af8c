"""Settings come from `WAYBILL_*` variables, read once, with typed defaults."""

from __future__ import annotations

from dataclasses import fields

import pytest

from chalicelib.config import Settings, load_settings
from chalicelib.topology import TOPOLOGY

INT_FIELDS = [f.name for f in fields(Settings) if f.type == "int"]


def test_without_variables_the_defaults_apply():
    s = load_settings({})
    assert s == Settings()
    assert (s.table_name, s.bus_name, s.mail_from) == (TOPOLOGY.table.name, TOPOLOGY.bus, TOPOLOGY.email_identities[0])
    assert s.is_local


def test_the_integer_settings_are_the_ones_expected():
    assert set(INT_FIELDS) == {
        "campaign_default_days",
        "close_chunk_orders",
        "hold_threshold_cents",
        "hold_decide_before_close_s",
        "max_line_quantity",
        "max_order_lines",
        "end_campaigns_rate_minutes",
        "page_size_default",
        "page_size_max",
        *(
            f"deadline_{stage}_s"
            for stage in (
                "acknowledge",
                "invoice",
                "payment_proposal",
                "payment_approval",
                "bank_payment",
                "settlement",
                "shipment",
            )
        ),
        "max_stage_reminders",
        "upload_max_bytes",
        "upload_expiry_s",
        "bank_timeout_s",
        "bank_retries",
        "exports_rate_minutes",
        "exports_lookback_days",
        "export_part_bytes",
        "export_page_size",
        "export_lease_s",
        "export_chunk_rows",
        "export_chunk_s",
        "export_link_expiry_s",
        "payment_gateway_timeout_s",
        "payment_gateway_retries",
        "webhook_timeout_s",
        "webhook_retry_scale_percent",
        "webhook_secret_grace_s",
        "inbound_secret_grace_s",
        "webhook_attempt_lease_s",
        "tracking_stale_after_s",
        "tracking_give_up_after_s",
        "escalation_sweep_rate_minutes",
        "due_index_shards",
        "sweep_chunk",
        "sweep_chain_stale_s",
        "delivery_expected_within_s",
        "daily_digest_rate_minutes",
        "complaint_window_s",
        "complaint_max_photos",
        "complaint_photo_max_bytes",
        "complaint_approval_threshold_cents",
        "complaint_supplier_bears_lost",
        "refund_max_attempts",
        "offline_payment_due_s",
        "capture_auto_retries",
        "capture_retry_after_s",
        "max_body_bytes",
        "max_webhook_body_bytes",
        "track_lookup_limit",
        "track_lookup_window_s",
        "settings_cache_s",
    }


def test_the_complaint_policy_comes_from_the_settings_and_a_malformed_one_is_refused_at_load():
    policy = load_settings(
        {
            "WAYBILL_COMPLAINT_WINDOW_S": "3600",
            "WAYBILL_COMPLAINT_PHOTO_TYPES": "image/png, image/gif",
            "WAYBILL_COMPLAINT_APPROVAL_THRESHOLD_CENTS": "2500",
            "WAYBILL_COMPLAINT_SUPPLIER_BEARS_LOST": "0",
        }
    ).complaint_policy()
    assert policy.window_s == 3600
    assert policy.photo_types == frozenset({"image/png", "image/gif"})
    assert policy.approval_threshold_cents == 2500
    assert policy.supplier_bears_lost_in_transit is False
    with pytest.raises(ValueError, match="complaint policy"):
        load_settings({"WAYBILL_COMPLAINT_WINDOW_S": "0"})


def test_what_the_close_does_with_a_held_order_is_reject_by_default_and_anything_else_is_refused_at_load():
    assert load_settings({}).held_at_close_policy().value == "reject"
    assert load_settings({"WAYBILL_HELD_AT_CLOSE": "wait"}).held_at_close_policy().value == "wait"
    with pytest.raises(ValueError, match="WAYBILL_HELD_AT_CLOSE must be 'reject' or 'wait'"):
        load_settings({"WAYBILL_HELD_AT_CLOSE": "approve"})
    with pytest.raises(ValueError, match="WAYBILL_HOLD_DECIDE_BEFORE_CLOSE_S"):
        load_settings({"WAYBILL_HOLD_DECIDE_BEFORE_CLOSE_S": "-1"})


def test_a_malformed_exception_policy_is_refused_when_settings_load():
    with pytest.raises(ValueError, match="unknown exception kind"):
        load_settings({"WAYBILL_EXCEPTION_SEVERITIES": "no_such_kind=high"})
    with pytest.raises(ValueError, match="increasing"):
        load_settings({"WAYBILL_EXCEPTION_ESCALATION_H": "critical=4/1/24"})
    policy = load_settings(
        {"WAYBILL_EXCEPTION_SEVERITIES": "tracking_stale=critical", "WAYBILL_EXCEPTION_GRACES_S": "unknown_tracking=0"}
    ).exception_policy()
    assert policy.severity("tracking_stale").value == "critical"
    assert policy.grace_s("unknown_tracking") == 0
    assert policy.severity("out_of_stock").value == "high"  # untouched kinds keep their default


def test_every_supplier_stage_has_a_deadline_setting():
    assert load_settings({"WAYBILL_DEADLINE_SHIPMENT_S": "5"}).stage_deadlines()["shipment"] == 5
    assert set(load_settings({}).stage_deadlines()) == {
        "acknowledge",
        "invoice",
        "payment_proposal",
        "payment_approval",
        "bank_payment",
        "settlement",
        "shipment",
    }


@pytest.mark.parametrize("name", INT_FIELDS)
def test_integer_settings_are_parsed_as_integers(name):
    s = load_settings({f"WAYBILL_{name.upper()}": "42"})
    assert getattr(s, name) == 42
    assert type(getattr(s, name)) is int


def test_string_settings_are_taken_as_given():
    s = load_settings({"WAYBILL_TABLE_NAME": "other-table", "WAYBILL_STAGE": "prod", "WAYBILL_JWT_AUDIENCE": "123"})
    assert (s.table_name, s.stage, s.jwt_audience) == ("other-table", "prod", "123")
    assert not s.is_local


def test_a_non_numeric_integer_setting_fails_loudly():
    with pytest.raises(ValueError):
        load_settings({"WAYBILL_HOLD_THRESHOLD_CENTS": "lots"})


def test_variables_without_the_prefix_are_ignored():
    assert load_settings({"TABLE_NAME": "x", "HOLD_THRESHOLD_CENTS": "1"}) == Settings()


def test_the_region_falls_back_to_the_aws_default_region():
    assert load_settings({"AWS_DEFAULT_REGION": "us-west-2"}).region == "us-west-2"
    assert load_settings({"AWS_DEFAULT_REGION": "us-west-2", "WAYBILL_REGION": "eu-central-1"}).region == "eu-central-1"


def test_settings_read_from_the_process_environment_by_default(monkeypatch):
    monkeypatch.setenv("WAYBILL_MAX_ORDER_LINES", "7")
    assert load_settings().max_order_lines == 7


def test_a_close_chunk_of_no_orders_is_refused_at_start():
    assert load_settings({"WAYBILL_CLOSE_CHUNK_ORDERS": "500"}).close_chunk_orders == 500
    with pytest.raises(ValueError, match="WAYBILL_CLOSE_CHUNK_ORDERS"):
        load_settings({"WAYBILL_CLOSE_CHUNK_ORDERS": "0"})


@pytest.mark.parametrize("name", ["WAYBILL_SWEEP_CHUNK", "WAYBILL_EXPORT_CHUNK_ROWS", "WAYBILL_EXPORT_CHUNK_S"])
def test_a_sweep_or_export_chunk_of_nothing_is_refused_at_start(name):
    assert getattr(load_settings({name: "7"}), name.removeprefix("WAYBILL_").lower()) == 7
    with pytest.raises(ValueError, match=name):
        load_settings({name: "0"})
