"""The synthesized template and the local provisioning agree: both come from chalicelib.topology
(here both for the checked stage, whose names `topology.staged` scopes)."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from chalicelib.local.provision import provision
from tests.infra.conftest import STAGED, resources


@pytest.fixture(scope="module")
def local():
    """What `make run` creates, described back from moto."""
    with mock_aws():
        provision(STAGED)  # the checked stage's names, provisioned the way the local stack does
        ddb, sqs, events = boto3.client("dynamodb"), boto3.client("sqs"), boto3.client("events")
        table = ddb.describe_table(TableName=STAGED.table.name)["Table"]
        ttl = ddb.describe_time_to_live(TableName=STAGED.table.name)["TimeToLiveDescription"]
        queues = {}
        for url in sqs.list_queues()["QueueUrls"]:
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            queues[url.rsplit("/", 1)[1]] = attrs
        rules = {r["Name"]: r for r in events.list_rules(EventBusName=STAGED.bus)["Rules"]}
        targets = {name: events.list_targets_by_rule(Rule=name, EventBusName=STAGED.bus)["Targets"] for name in rules}
        machines = [m["name"] for m in boto3.client("stepfunctions").list_state_machines()["stateMachines"]]
        topics = [t["TopicArn"].rsplit(":", 1)[1] for t in boto3.client("sns").list_topics()["Topics"]]
        secrets = [s["Name"] for s in boto3.client("secretsmanager").list_secrets()["SecretList"]]
        yield {
            "table": table,
            "ttl": ttl,
            "queues": queues,
            "rules": rules,
            "targets": targets,
            "machines": machines,
            "topics": topics,
            "secrets": secrets,
        }


def _table(template):
    (table,) = resources(template, "AWS::DynamoDB::Table").values()
    return table["Properties"]


def test_the_table_has_the_same_keys_here_and_locally(template, local):
    cfn, moto = _table(template), local["table"]
    assert cfn["TableName"] == moto["TableName"]
    assert cfn["KeySchema"] == moto["KeySchema"]
    assert sorted(cfn["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
        moto["AttributeDefinitions"], key=lambda a: a["AttributeName"]
    )


def test_the_table_has_the_same_indexes_here_and_locally(template, local):
    def shape(indexes):
        return {ix["IndexName"]: (ix["KeySchema"], ix["Projection"]["ProjectionType"]) for ix in indexes}

    assert shape(_table(template)["GlobalSecondaryIndexes"]) == shape(local["table"]["GlobalSecondaryIndexes"])
    assert set(shape(local["table"]["GlobalSecondaryIndexes"])) == {ix.name for ix in STAGED.table.indexes}


def test_stream_and_ttl_match(template, local):
    cfn = _table(template)
    assert cfn["StreamSpecification"]["StreamViewType"] == local["table"]["StreamSpecification"]["StreamViewType"]
    assert cfn["TimeToLiveSpecification"] == {"AttributeName": local["ttl"]["AttributeName"], "Enabled": True}


def test_the_same_queues_exist_with_the_same_dead_letter_redrive(template, local):
    cfn_queues = {q["Properties"]["QueueName"]: q["Properties"] for q in resources(template, "AWS::SQS::Queue").values()}
    assert set(cfn_queues) == set(local["queues"])
    for q in STAGED.queues:
        local_redrive = json.loads(local["queues"][q.name]["RedrivePolicy"])
        assert cfn_queues[q.name]["RedrivePolicy"]["maxReceiveCount"] == local_redrive["maxReceiveCount"]
        assert local_redrive["deadLetterTargetArn"].endswith(f":{q.dlq_name}")
        assert cfn_queues[q.name]["VisibilityTimeout"] == int(local["queues"][q.name]["VisibilityTimeout"])


def test_the_same_rules_route_the_same_events_to_the_same_queues(template, local):
    cfn_rules = {r["Properties"]["Name"]: r["Properties"] for r in resources(template, "AWS::Events::Rule").values()}
    assert set(cfn_rules) == set(local["rules"])
    queue_ids = {r["Properties"]["QueueName"]: k for k, r in resources(template, "AWS::SQS::Queue").items()}
    for name, rule in cfn_rules.items():
        assert rule["EventPattern"] == json.loads(local["rules"][name]["EventPattern"])
        (target,) = rule["Targets"]
        (local_target,) = local["targets"][name]
        queue_name = local_target["Arn"].rsplit(":", 1)[1]
        assert target["Arn"] == {"Fn::GetAtt": [queue_ids[queue_name], "Arn"]}


def test_the_same_state_machines_exist(template, local):
    cfn = sorted(r["Properties"]["StateMachineName"] for r in resources(template, "AWS::StepFunctions::StateMachine").values())
    assert cfn == sorted(local["machines"]) == sorted(m.name for m in STAGED.state_machines)


def test_the_same_alerts_topic_and_secrets_exist(template, local):
    assert [t["Properties"]["TopicName"] for t in resources(template, "AWS::SNS::Topic").values()] == local["topics"]
    assert sorted(s["Properties"]["Name"] for s in resources(template, "AWS::SecretsManager::Secret").values()) == sorted(
        local["secrets"]
    )


def test_the_same_app_keys_exist_rotated_and_the_app_role_may_encrypt_and_decrypt_with_them(template, local):
    aliases = {
        a["Properties"]["AliasName"]: a["Properties"]["TargetKeyId"]["Fn::GetAtt"][0]
        for a in resources(template, "AWS::KMS::Alias").values()
    }
    statements = [
        s for p in resources(template, "AWS::IAM::Policy").values() for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    kms = boto3.client("kms", region_name="eu-west-1")  # the local account: `local` keeps it mocked for the module
    local_keys = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    for key in STAGED.keys:
        logical = aliases[f"alias/{key.alias}"]
        assert template["Resources"][logical]["Properties"]["EnableKeyRotation"] is True
        granted = {
            action
            for s in statements
            if s["Effect"] == "Allow" and {"Fn::GetAtt": [logical, "Arn"]} in _listed(s["Resource"])
            for action in _listed(s["Action"])
        }
        assert granted == {"kms:Encrypt", "kms:Decrypt"}
        assert kms.get_key_rotation_status(KeyId=local_keys[f"alias/{key.alias}"])["KeyRotationEnabled"]


def _listed(value):
    return value if isinstance(value, list) else [value]
