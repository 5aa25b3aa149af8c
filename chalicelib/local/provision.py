"""Create every resource of `chalicelib.topology` through boto3 (against moto locally).

The CDK app reads the same topology; nothing here lists a resource of its own.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from secrets import token_urlsafe
from typing import Any

import boto3

from ..functions import FUNCTIONS, STATE_MACHINE_GRANTS, ArnFormat, Function, grants_document, policy_document
from ..topology import STATE_MACHINE_DIR, TOPOLOGY, TRACK_LINKS_SECRET, Topology, definition_substitutions

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Provisioned:
    table_name: str
    stream_arn: str
    bus_arn: str
    queue_urls: dict[str, str] = field(default_factory=dict)
    dlq_urls: dict[str, str] = field(default_factory=dict)
    failure_queue_urls: dict[str, str] = field(default_factory=dict)
    queue_arns: dict[str, str] = field(default_factory=dict)  # every queue above, by name
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
_defaults: dict[tuple[str, str | None, str | None], _Clients] = {}


def _default_clients(region: str) -> _Clients:
    """One session per region, endpoint and credentials in this process: a new session parses every
    service model again (about a second per provisioned account, which the tests make one of per test)."""
    key = (region, os.environ.get("AWS_ENDPOINT_URL"), os.environ.get("AWS_ACCESS_KEY_ID"))
    if key not in _defaults:
        _defaults[key] = _Clients(boto3.session.Session(region_name=region))
    return _defaults[key]


def provision(
    topology: Topology = TOPOLOGY, *, region: str = "eu-west-1", session: Any = None, state_machine_dir: Path | None = None
) -> Provisioned:
    s: Any = _default_clients(region) if session is None else _clients.setdefault(id(session), _Clients(session))
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
    for failures in topology.failure_queues:
        url = sqs.create_queue(QueueName=failures.name, Attributes={"MessageRetentionPeriod": "1209600"})["QueueUrl"]
        queue_arns[failures.name] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        result.failure_queue_urls[failures.name] = url
    result.queue_arns = dict(queue_arns)

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
        # The order-page link key is the one secret the app makes itself: a random key, here and in tests.
        initial = {"current": token_urlsafe(32)} if secret.name.endswith(TRACK_LINKS_SECRET) else {}
        secrets.create_secret(Name=secret.name, Description=secret.purpose, SecretString=json.dumps(initial))
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


# ------------------------------------------------------------------ each function's role

ACCOUNT = "123456789012"  # moto's default account
ROLE_PREFIX = "waybill-local-"
OPERATOR = "waybill-local-operator"
# moto checks the resource of a request only for S3, SQS, IAM and STS; every other request it
# evaluates against the resource "*", which a statement naming an ARN never matches. Locally
# those statements are scoped to "*": the actions stay exactly the deployed ones.
RESOURCE_CHECKED = ("s3:", "sqs:", "iam:", "sts:")
# ... except these, which name no queue or bucket in the request (GetQueueUrl takes a queue's name):
# moto evaluates them against "*" too.
RESOURCE_UNCHECKED = ("sqs:GetQueueUrl",)
# moto names a DynamoDB transaction's action after the API call; IAM authorizes its parts.
MOTO_ACTIONS = {
    "dynamodb:ConditionCheckItem": "dynamodb:TransactWriteItems",
    "dynamodb:GetItem": "dynamodb:TransactGetItems",
}


def local_arns(provisioned: Provisioned, topology: Topology = TOPOLOGY, *, region: str = "eu-west-1") -> ArnFormat:
    """Where chalicelib/functions.py's references point in the embedded account."""
    return ArnFormat(
        partition="aws",
        region=region,
        account=ACCOUNT,
        table_arn=lambda _: f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{provisioned.table_name}",
        stream_arn=lambda _: provisioned.stream_arn,
        queue_arn=lambda name: provisioned.queue_arns[name],
        bus_arn=lambda _: provisioned.bus_arn,
        state_machine_arns=lambda: provisioned.state_machine_arns,
        secret_arn=lambda name: f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{name}-*",
        bucket_arn=lambda name: f"arn:aws:s3:::{name}",
        log_group=lambda name: f"/aws/lambda/waybill-dev-{name}",
        key_arn=lambda alias: f"arn:aws:kms:{region}:{ACCOUNT}:key/{provisioned.keys[alias]}",
        user_pool_arn=lambda: f"arn:aws:cognito-idp:{region}:{ACCOUNT}:userpool/*",  # no pool locally: the dev directory
    )


def for_moto(document: dict[str, Any]) -> dict[str, Any]:
    """A function's policy as moto can enforce it: the same actions (with moto's names for
    transactions added), resources kept wherever moto checks them (see RESOURCE_CHECKED)."""
    statements = []
    for st in document["Statement"]:
        actions = list(st["Action"])
        actions += [MOTO_ACTIONS[a] for a in st["Action"] if a in MOTO_ACTIONS]
        checked = [a for a in actions if a.startswith(RESOURCE_CHECKED) and a not in RESOURCE_UNCHECKED]
        if len(checked) == len(actions):
            statements.append({**st, "Action": actions, "Resource": st["Resource"]})
        elif not checked:
            statements.append({**st, "Action": actions, "Resource": "*"})
        else:  # split: what moto checks keeps its resources, the rest is scoped to "*"
            statements.append({**st, "Action": checked, "Resource": st["Resource"]})
            rest = {k: v for k, v in st.items() if k != "Sid"}  # a Sid names one statement
            statements.append({**rest, "Action": [a for a in actions if a not in checked], "Resource": "*"})
    return {**document, "Statement": statements}


def provision_roles(
    provisioned: Provisioned,
    functions: tuple[Function, ...] = FUNCTIONS,
    *,
    region: str = "eu-west-1",
    session: Any = None,
    drop: dict[str, str] | None = None,
) -> dict[str, str]:
    """A moto role per function with its deployed policy; returns their ARNs by function name.
    `drop` ({function: action}) leaves one action out: how a test shows the policy is enforced."""
    iam = (session or boto3.session.Session(region_name=region)).client("iam")
    arns = local_arns(provisioned, region=region)
    # Locally the stack stands in for Lambda: its operator identity assumes the roles (moto compares
    # the caller's ARN with the trust policy's AWS principal).
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/{OPERATOR}"}, "Action": "sts:AssumeRole"}
        ],
    }
    roles = {}
    for fn in functions:
        document = for_moto(policy_document(fn, arns))
        if drop and fn.name in drop:
            for st in document["Statement"]:
                st["Action"] = [a for a in st["Action"] if a != drop[fn.name]]
            document["Statement"] = [st for st in document["Statement"] if st["Action"]]
        name = f"{ROLE_PREFIX}{fn.name}"
        roles[fn.name] = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), MaxSessionDuration=43200)[
            "Role"
        ]["Arn"]
        iam.put_role_policy(RoleName=name, PolicyName="function", PolicyDocument=json.dumps(document))
    return roles


STATES = "waybill-local-states"


def provision_states_identity(provisioned: Provisioned, *, region: str = "eu-west-1", session: Any = None) -> str:
    """moto's Step Functions calls AWS with the fixed key `ak`: a user with the state machines'
    deployed grants (functions.STATE_MACHINE_GRANTS) is given that key (server.admit_access_key),
    so their tasks run with what their role allows in AWS. Returns the user name."""
    iam = (session or boto3.session.Session(region_name=region)).client("iam")
    document = for_moto(grants_document(STATE_MACHINE_GRANTS, local_arns(provisioned, region=region)))
    iam.create_user(UserName=STATES)
    iam.put_user_policy(UserName=STATES, PolicyName="state-machines", PolicyDocument=json.dumps(document))
    return STATES


def provision_operator(*, region: str = "eu-west-1", session: Any = None) -> str:
    """The embedded account's administrator: what the local stack itself acts as where AWS would
    (Lambda's pollers, Scheduler, the provisioning and the seed) and what a developer's
    `aws --endpoint-url` uses. Returns the user name; its key is made by the server."""
    iam = (session or boto3.session.Session(region_name=region)).client("iam")
    iam.create_user(UserName=OPERATOR)
    admin = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_user_policy(UserName=OPERATOR, PolicyName="administrator", PolicyDocument=json.dumps(admin))
    return OPERATOR
