"""Create every resource of `chalicelib.topology` through boto3 (against moto locally).

The CDK app reads the same topology; nothing here lists a resource of its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from ..topology import STATE_MACHINE_DIR, TOPOLOGY, Topology, definition_substitutions

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Provisioned:
    table_name: str
    stream_arn: str
    bus_arn: str
    queue_urls: dict[str, str] = field(default_factory=dict)
    dlq_urls: dict[str, str] = field(default_factory=dict)
    buckets: list[str] = field(default_factory=list)
    state_machine_arns: dict[str, str] = field(default_factory=dict)
    alerts_topic_arn: str = ""
    secrets: list[str] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)  # alias -> key id
    parameters: list[str] = field(default_factory=list)


class _Clients:
    """A session's clients, made once: the tests provision a fresh mocked account per test, and
    moto serves whichever account is current to clients made before it."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.made: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self.made:
            self.made[service] = self.session.client(service)
        return self.made[service]


_clients: dict[int, _Clients] = {}


def provision(
    topology: Topology = TOPOLOGY, *, region: str = "eu-west-1", session: Any = None, state_machine_dir: Path | None = None
) -> Provisioned:
    if session is None:
        s: Any = boto3.session.Session(region_name=region)
    else:
        s = _clients.setdefault(id(session), _Clients(session))
    ddb, sqs, events = s.client("dynamodb"), s.client("sqs"), s.client("events")
    s3, ses = s.client("s3"), s.client("ses")

    t = topology.table
    key_attrs = {t.pk, t.sk} | {a for ix in t.indexes for a in (ix.pk, ix.sk)}
    table = ddb.create_table(
        TableName=t.name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in sorted(key_attrs)],
        KeySchema=[{"AttributeName": t.pk, "KeyType": "HASH"}, {"AttributeName": t.sk, "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": ix.name,
                "KeySchema": [{"AttributeName": ix.pk, "KeyType": "HASH"}, {"AttributeName": ix.sk, "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }
            for ix in t.indexes
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": t.stream_view},
    )["TableDescription"]
    ddb.update_time_to_live(TableName=t.name, TimeToLiveSpecification={"Enabled": True, "AttributeName": t.ttl_attribute})

    bus_arn = events.create_event_bus(Name=topology.bus)["EventBusArn"]
    result = Provisioned(table_name=t.name, stream_arn=table["LatestStreamArn"], bus_arn=bus_arn)

    queue_arns: dict[str, str] = {}
    for q in topology.queues:
        dlq_url = sqs.create_queue(QueueName=q.dlq_name, Attributes={"MessageRetentionPeriod": "1209600"})["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        url = sqs.create_queue(
            QueueName=q.name,
            Attributes={
                "VisibilityTimeout": str(q.visibility_timeout_s),
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": q.max_receive_count}),
            },
        )["QueueUrl"]
        queue_arns[q.name] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        result.queue_urls[q.name], result.dlq_urls[q.name] = url, dlq_url

    for rule in topology.rules:
        rule_arn = events.put_rule(
            Name=rule.name,
            EventBusName=topology.bus,
            EventPattern=json.dumps(rule.pattern),
            Description=rule.description,
            State="ENABLED",
        )["RuleArn"]
        events.put_targets(Rule=rule.name, EventBusName=topology.bus, Targets=[{"Id": "queue", "Arn": queue_arns[rule.queue]}])
        sqs.set_queue_attributes(
            QueueUrl=result.queue_urls[rule.queue],
            Attributes={
                "Policy": json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "events.amazonaws.com"},
                                "Action": "sqs:SendMessage",
                                "Resource": queue_arns[rule.queue],
                                "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
                            }
                        ],
                    }
                )
            },
        )

    for bucket in topology.buckets:
        s3.create_bucket(Bucket=bucket.name, CreateBucketConfiguration={"LocationConstraint": region})
        result.buckets.append(bucket.name)

    for identity in topology.email_identities:
        ses.verify_email_identity(EmailAddress=identity)

    result.alerts_topic_arn = s.client("sns").create_topic(Name=topology.alerts_topic)["TopicArn"]

    secrets = s.client("secretsmanager")
    for secret in topology.secrets:
        secrets.create_secret(Name=secret.name, Description=secret.purpose, SecretString="{}")
        result.secrets.append(secret.name)

    kms = s.client("kms")
    for key in topology.keys:
        key_id = kms.create_key(Description=key.purpose, KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
        kms.enable_key_rotation(KeyId=key_id)
        kms.create_alias(AliasName=f"alias/{key.alias}", TargetKeyId=key_id)
        result.keys[key.alias] = key_id

    ssm = s.client("ssm")
    for parameter in topology.parameters:  # empty locally: the local stack sets its variables directly
        ssm.put_parameter(Name=parameter.name, Description=parameter.purpose, Type="String", Value="{}", Overwrite=True)
        result.parameters.append(parameter.name)

    sfn = s.client("stepfunctions")
    values = definition_substitutions(topology, bus_arn=bus_arn)
    for machine in topology.state_machines:
        definition = ((state_machine_dir or ROOT / STATE_MACHINE_DIR) / f"{machine.definition}.asl.json").read_text()
        for placeholder, value in values.items():
            definition = definition.replace("${" + placeholder + "}", value)
        result.state_machine_arns[machine.name] = sfn.create_state_machine(
            name=machine.name,
            definition=definition,
            roleArn="arn:aws:iam::123456789012:role/waybill-local-states",  # moto does not check roles
        )["stateMachineArn"]
    return result
