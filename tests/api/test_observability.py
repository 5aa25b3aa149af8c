"""Every handler logs structured JSON with a correlation id and emits CloudWatch metrics (EMF)."""

from __future__ import annotations

import io
import json
import logging

import pytest

from chalicelib.api.http import logger as http_logger
from tests.aws import CARE


def _json_lines(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            out.append(value)
    return out


@pytest.fixture
def info_logs():
    """What the service logger writes, formatted by its own (Powertools JSON) formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(http_logger.registered_formatter)
    level = http_logger.log_level
    http_logger.addHandler(handler)
    http_logger.setLevel("INFO")
    yield stream
    http_logger.setLevel(level)
    http_logger.removeHandler(handler)


def test_each_request_is_logged_as_json_with_the_correlation_id_it_answers_with(client, info_logs):
    response = client.http.get("/staff/orders?status=on_hold", headers=CARE)
    assert response.status_code == 200
    request_id = response.headers["X-Request-Id"]
    logs = [line for line in _json_lines(info_logs.getvalue()) if line.get("message") == "request"]
    assert logs, "no structured request log line"
    assert logs[-1]["correlation_id"] == request_id
    assert (logs[-1]["method"], logs[-1]["path"], logs[-1]["status"]) == ("GET", "/staff/orders", 200)
    assert logs[-1]["service"] == "waybill"


def test_two_requests_get_two_correlation_ids(client):
    first = client.http.get("/health").headers["X-Request-Id"]
    second = client.http.get("/health").headers["X-Request-Id"]
    assert first != second


def _emf(text: str) -> list[dict]:
    return [line for line in _json_lines(text) if "_aws" in line]


def test_an_http_request_emits_an_invocation_metric(client, capsys, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    client.http.get("/health")
    metrics = _emf(capsys.readouterr().out)
    assert metrics and metrics[-1]["Invocations"] == [1.0]
    assert metrics[-1]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Waybill"
    assert "Errors" not in metrics[-1]


def test_a_scheduled_handler_emits_its_metric_under_its_own_name(client, capsys, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])
    result = client.lambda_.invoke("end_campaigns", event)
    assert result.payload == {"ended": []}
    metrics = _emf(capsys.readouterr().out)
    assert metrics[-1]["Invocations"] == [1.0]
    assert metrics[-1]["handler"] == "end_campaigns"


def test_a_failing_consumer_message_is_counted_and_reported_not_lost(client, capsys, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    event = client.events.generate_sqs_event(message_bodies=["not json"], queue_name="waybill-notifications")
    result = client.lambda_.invoke("notifications_consumer", event)
    assert len(result.payload["batchItemFailures"]) == 1
    assert _emf(capsys.readouterr().out)[-1]["handler"] == "notifications_consumer"
