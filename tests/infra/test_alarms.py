"""Every failure path has an alarm that tells the alerts topic, one dashboard shows the same
metrics, and every function and state machine logs into a group with the stage's retention."""

from __future__ import annotations

import json
from typing import Any

from infra.deployment import CHECK_CONTEXT, Deployment
from tests.infra.conftest import STAGED, resources

RETENTION = Deployment.from_context(CHECK_CONTEXT.get).log_retention_days


def _alarms(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [a["Properties"] for a in resources(template, "AWS::CloudWatch::Alarm").values()]


def _by_metric(template: dict[str, Any], namespace: str, metric: str) -> list[dict[str, Any]]:
    return [a for a in _alarms(template) if a.get("Namespace") == namespace and a.get("MetricName") == metric]


def _topic(template: dict[str, Any]) -> dict[str, str]:
    (topic_id,) = resources(template, "AWS::SNS::Topic")
    return {"Ref": topic_id}


def _dimension(alarm: dict[str, Any], name: str) -> Any:
    return next(d["Value"] for d in alarm["Dimensions"] if d["Name"] == name)


def test_every_alarm_tells_the_alerts_topic_under_a_stage_scoped_name(template):
    alarms = _alarms(template)
    assert len(alarms) > 50
    assert all(a["AlarmActions"] == [_topic(template)] for a in alarms)
    assert all(a["AlarmName"].startswith("waybill-prod-") for a in alarms)


def test_every_function_has_an_errors_and_a_throttles_alarm(template):
    functions = set(resources(template, "AWS::Serverless::Function"))
    assert len(functions) >= 17
    for metric in ("Errors", "Throttles"):
        alarmed = {_dimension(a, "FunctionName")["Ref"] for a in _by_metric(template, "AWS/Lambda", metric)}
        assert alarmed == functions, metric


def test_the_api_alarms_on_5xx_and_latency_of_its_named_stage(template):
    (api,) = resources(template, "AWS::Serverless::Api").values()
    for metric in ("5XXError", "Latency"):
        (alarm,) = _by_metric(template, "AWS/ApiGateway", metric)
        assert _dimension(alarm, "ApiName") == api["Properties"]["Name"] == "waybill-prod-api"
        assert _dimension(alarm, "Stage") == api["Properties"]["StageName"]


def test_the_stream_publishers_iterator_age_is_alarmed(template):
    (alarm,) = _by_metric(template, "AWS/Lambda", "IteratorAge")
    assert _dimension(alarm, "FunctionName") == {"Ref": "StreamPublisher"}
    assert alarm["Statistic"] == "Maximum" and alarm["Threshold"] <= 15 * 60 * 1000


def test_failed_executions_of_each_state_machine_are_alarmed(template):
    machines = {k for k in resources(template, "AWS::StepFunctions::StateMachine")}
    alarmed = {_dimension(a, "StateMachineArn")["Ref"] for a in _by_metric(template, "AWS/States", "ExecutionsFailed")}
    assert alarmed == machines and len(machines) == len(STAGED.state_machines)


def test_schedule_failures_table_throttles_and_mail_reputation_are_alarmed(template):
    assert _by_metric(template, "AWS/Scheduler", "TargetErrorCount")
    assert _by_metric(template, "AWS/Scheduler", "InvocationDroppedCount")
    (throttles,) = [a for a in _alarms(template) if "ReadThrottleEvents" in json.dumps(a.get("Metrics", []))]
    assert "WriteThrottleEvents" in json.dumps(throttles["Metrics"])
    (bounces,) = _by_metric(template, "AWS/SES", "Reputation.BounceRate")
    (complaints,) = _by_metric(template, "AWS/SES", "Reputation.ComplaintRate")
    assert bounces["Threshold"] < 0.05 and complaints["Threshold"] < 0.001  # below where SES reviews the account


def test_every_queue_alarms_on_its_oldest_message_beyond_its_retries(template):
    queue_ids = {r["Properties"]["QueueName"]: k for k, r in resources(template, "AWS::SQS::Queue").items()}
    ages = {
        _dimension(a, "QueueName")["Fn::GetAtt"][0]: a for a in _by_metric(template, "AWS/SQS", "ApproximateAgeOfOldestMessage")
    }
    assert set(ages) == {queue_ids[q.name] for q in STAGED.queues}
    for q in STAGED.queues:
        assert ages[queue_ids[q.name]]["Threshold"] > q.visibility_timeout_s * q.max_receive_count


def test_one_dashboard_shows_the_alarmed_metrics(template):
    (dashboard,) = resources(template, "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for metric in (
        "Errors",
        "Throttles",
        "5XXError",
        "Latency",
        "IteratorAge",
        "ExecutionsFailed",
        "TargetErrorCount",
        "ReadThrottleEvents",
        "Reputation.BounceRate",
        "ApproximateAgeOfOldestMessage",
        "ApproximateNumberOfMessagesVisible",
    ):
        assert metric in body, metric


def test_every_function_logs_into_its_own_group_with_the_stages_retention(template):
    groups = {json.dumps(g["Properties"].get("LogGroupName")): g for g in resources(template, "AWS::Logs::LogGroup").values()}
    for function_id in resources(template, "AWS::Serverless::Function"):
        name = json.dumps({"Fn::Join": ["", ["/aws/lambda/", {"Ref": function_id}]]})
        assert groups[name]["Properties"]["RetentionInDays"] == RETENTION, function_id
        assert groups[name]["DeletionPolicy"] == "Retain"


def test_the_state_machines_and_api_access_logs_keep_the_same_retention(template):
    every = resources(template, "AWS::Logs::LogGroup").values()
    assert all(g["Properties"].get("RetentionInDays") == RETENTION for g in every)
    machine = next(iter(resources(template, "AWS::StepFunctions::StateMachine").values()))
    (destination,) = machine["Properties"]["LoggingConfiguration"]["Destinations"]
    assert destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0] in resources(template, "AWS::Logs::LogGroup")


def test_every_rule_alarms_on_events_it_could_not_deliver(template):
    rules = {r["Properties"]["Name"] for r in resources(template, "AWS::Events::Rule").values()}
    alarmed = {_dimension(a, "RuleName") for a in _by_metric(template, "AWS/Events", "FailedInvocations")}
    assert alarmed == rules == {r.name for r in STAGED.rules}
