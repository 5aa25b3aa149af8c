"""Every function in the template has exactly the settings and permissions chalicelib/functions.py
declares for it: timeout, memory, concurrency, batch size, retries, failure destinations, and its
own role's policy statement for statement."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.functions import API_HANDLER, AUTHORIZER, FUNCTIONS, PUBLISHED_RECORDS, Function, function, policy_document
from chalicelib.topology import EXPORTS, TOPOLOGY
from infra.stacks import function_logical_id
from tests.infra.conftest import STAGED, resources


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _pairs(statements: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """Statements as (effect, action, resource) triples: how CDK groups them does not matter."""
    return {
        (st["Effect"], action, json.dumps(resource, sort_keys=True))
        for st in statements
        for action in _listed(st["Action"])
        for resource in _listed(st["Resource"])
    }


def _function(template: dict[str, Any], fn: Function) -> dict[str, Any]:
    return template["Resources"][function_logical_id(fn.name)]["Properties"]


def _policy(template: dict[str, Any], fn: Function) -> list[dict[str, Any]]:
    role_id = _function(template, fn)["Role"]["Fn::GetAtt"][0]
    return [
        st
        for policy in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for st in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _queue_ids(template: dict[str, Any]) -> dict[str, str]:
    """Each queue's logical id by its topology name (the template holds the stage's names)."""
    base = {
        staged.name: plain.name
        for plain, staged in [
            *zip(TOPOLOGY.queues, STAGED.queues, strict=True),
            *zip(TOPOLOGY.failure_queues, STAGED.failure_queues, strict=True),
        ]
    }
    by_name = {r["Properties"]["QueueName"]: k for k, r in resources(template, "AWS::SQS::Queue").items()}
    return {base.get(name, name): k for name, k in by_name.items()}


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda f: f.name)
def test_each_function_runs_with_its_defined_timeout_memory_and_concurrency(template, fn):
    props = _function(template, fn)
    assert (props["Timeout"], props["MemorySize"]) == (fn.timeout_s, fn.memory_mb)
    assert props.get("ReservedConcurrentExecutions") == fn.reserved_concurrency


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda f: f.name)
def test_each_function_has_its_own_role_with_exactly_the_defined_statements(template, stack, fn):
    expected = stack.resolve(policy_document(fn, stack.arn_format())["Statement"])
    assert _pairs(_policy(template, fn)) == _pairs(expected)
    others = [f for f in FUNCTIONS if f is not fn]
    role = _function(template, fn)["Role"]
    assert all(_function(template, other)["Role"] != role for other in others)


def test_the_long_consumers_get_the_lambda_maximum_and_no_consumer_outlives_its_visibility_timeout(template):
    assert _function(template, function("exports_consumer"))["Timeout"] == 900
    assert _function(template, function("purchase_orders_consumer"))["Timeout"] == 900  # campaign close
    assert _function(template, function("scheduled_exports"))["Timeout"] == 900
    for fn in FUNCTIONS:
        if fn.queue is not None:
            assert fn.timeout_s <= fn.queue.visibility_timeout_s, fn.name  # else SQS redelivers a running batch


def test_exports_may_batch_write_their_markers_and_nothing_else_batch_writes(template):
    for fn in FUNCTIONS:
        actions = {a for st in _policy(template, fn) for a in _listed(st["Action"])}
        assert ("dynamodb:BatchWriteItem" in actions) == (fn.name in {EXPORTS.handler, "scheduled_exports"}), fn.name


def test_the_authorizer_reaches_only_its_settings_its_logs_and_xray(template):
    actions = {a for st in _policy(template, function(AUTHORIZER)) for a in _listed(st["Action"])}
    assert {a.split(":")[0] for a in actions} == {"logs", "ssm", "xray"}


def test_only_the_webhook_receivers_and_their_consumer_read_the_inbound_secret_and_only_the_publisher_puts_events(
    template,
):
    def holders(action: str, on: str = "") -> set[str]:
        return {
            fn.name
            for fn in FUNCTIONS
            if any(action in _listed(st["Action"]) and on in json.dumps(st["Resource"]) for st in _policy(template, fn))
        }

    secret_ids = {r["Properties"]["Name"]: k for k, r in resources(template, "AWS::SecretsManager::Secret").items()}
    inbound = secret_ids[STAGED.secrets[0].name]
    assert holders("secretsmanager:GetSecretValue", on=inbound) == {API_HANDLER, "inbound_webhooks_consumer"}
    # the bank's credential: the API (approving payments), the bank's webhooks and the PO stages that pay
    bank = secret_ids[next(s.name for s in STAGED.secrets if s.name.endswith("/bank"))]
    assert holders("secretsmanager:GetSecretValue", on=bank) == {
        API_HANDLER,
        "inbound_webhooks_consumer",
        "po_stages_consumer",
    }
    assert holders("kms:Decrypt") == {API_HANDLER, "webhooks_out_consumer"}  # sealing outbound webhook secrets
    assert holders("events:PutEvents") == {"stream_publisher"}
    # Staff issue, rotate and revoke suppliers' inbound secrets through the API: it alone writes a secret,
    # and only that one.
    assert holders("secretsmanager:PutSecretValue") == holders("secretsmanager:PutSecretValue", on=inbound) == {API_HANDLER}
    [put] = [st for st in _policy(template, function(API_HANDLER)) if "secretsmanager:PutSecretValue" in _listed(st["Action"])]
    assert inbound in json.dumps(put["Resource"]) and len(_listed(put["Resource"])) == 1
    # Suppliers' users are made and disabled in the stack's own user pool, by the API only.
    # (the staff and suppliers' pool, not the customers' self-service one)
    [pool] = [k for k in resources(template, "AWS::Cognito::UserPool") if k.startswith("Users")]
    for action in ("cognito-idp:AdminCreateUser", "cognito-idp:AdminAddUserToGroup", "cognito-idp:AdminDisableUser"):
        assert holders(action) == {API_HANDLER}
        [st] = [st for st in _policy(template, function(API_HANDLER)) if action in _listed(st["Action"])]
        assert _listed(st["Resource"]) == [{"Fn::GetAtt": [pool, "Arn"]}]


def test_each_consumer_reads_its_own_queue_in_defined_batches(template):
    queue_ids = _queue_ids(template)
    for fn in FUNCTIONS:
        if fn.queue is None:
            continue
        (event,) = _function(template, fn)["Events"].values()
        assert event["Properties"]["BatchSize"] == fn.queue.batch_size
        assert event["Properties"]["ScalingConfig"] == {"MaximumConcurrency": fn.queue.max_concurrency}
        queue = {"Fn::GetAtt": [queue_ids[fn.queue.name], "Arn"]}
        receive = [st for st in _policy(template, fn) if "sqs:ReceiveMessage" in _listed(st["Action"])]
        assert [st["Resource"] for st in receive] == [queue], fn.name


def test_the_stream_mapping_bisects_retries_boundedly_and_sends_what_it_gives_up_on_to_its_queue(template):
    fn = function("stream_publisher")
    assert fn.stream is not None
    (event,) = _function(template, fn)["Events"].values()
    props = event["Properties"]
    queue_ids = _queue_ids(template)
    assert props["BatchSize"] == fn.stream.batch_size
    assert props["BisectBatchOnFunctionError"] is fn.stream.bisect_on_error is True
    assert props["MaximumRetryAttempts"] == fn.stream.maximum_retry_attempts and 0 <= props["MaximumRetryAttempts"] <= 10000
    assert props["MaximumRecordAgeInSeconds"] == fn.stream.maximum_record_age_s and props["MaximumRecordAgeInSeconds"] >= 60
    failures = {"Fn::GetAtt": [queue_ids[fn.stream.on_failure_queue], "Arn"]}
    assert props["DestinationConfig"] == {"OnFailure": {"Destination": failures}}
    assert ("Allow", "sqs:SendMessage", json.dumps(failures, sort_keys=True)) in _pairs(_policy(template, fn))
    # Lambda's filter: only the INSERTs the publisher puts on the bus invoke it (the local poller applies the same)
    patterns = [json.loads(f["Pattern"]) for f in props["FilterCriteria"]["Filters"]]
    assert patterns == list(fn.stream.filters) == [PUBLISHED_RECORDS]


def test_each_schedule_and_scheduled_function_retries_boundedly_and_leaves_failures_in_the_failure_queue(template):
    queue_ids = _queue_ids(template)
    schedules = {s["Properties"]["Name"]: s["Properties"] for s in resources(template, "AWS::Scheduler::Schedule").values()}
    invoke_configs = {
        r["Properties"]["FunctionName"]["Ref"]: r["Properties"]
        for r in resources(template, "AWS::Lambda::EventInvokeConfig").values()
    }
    scheduled = [fn for fn in FUNCTIONS if fn.schedule is not None]
    assert {fn.schedule.schedule.name for fn in scheduled if fn.schedule} == {s.name for s in TOPOLOGY.schedules}
    for fn in scheduled:
        assert fn.schedule is not None
        dlq = {"Fn::GetAtt": [queue_ids[fn.schedule.dead_letter_queue], "Arn"]}
        staged = {b.name: st.name for b, st in zip(TOPOLOGY.schedules, STAGED.schedules, strict=True)}
        target = schedules[staged[fn.schedule.schedule.name]]["Target"]
        assert target["RetryPolicy"] == {
            "MaximumRetryAttempts": fn.schedule.maximum_retry_attempts,
            "MaximumEventAgeInSeconds": fn.schedule.maximum_event_age_s,
        }
        assert target["DeadLetterConfig"] == {"Arn": dlq}
        config = invoke_configs[function_logical_id(fn.name)]
        assert config["MaximumRetryAttempts"] == fn.schedule.maximum_retry_attempts <= 2  # Lambda's asynchronous maximum
        assert config["MaximumEventAgeInSeconds"] == fn.schedule.maximum_event_age_s
        assert config["DestinationConfig"] == {"OnFailure": {"Destination": dlq}}


def test_the_failure_queues_are_watched_like_dead_letter_queues(template):
    queue_ids = _queue_ids(template)
    watched = {
        dimension["Value"]["Fn::GetAtt"][0]
        for alarm in resources(template, "AWS::CloudWatch::Alarm").values()
        for dimension in alarm["Properties"].get("Dimensions", [])
        if dimension["Name"] == "QueueName"
    }
    assert {queue_ids[q.name] for q in TOPOLOGY.failure_queues} <= watched
    assert len(TOPOLOGY.failure_queues) == 2
