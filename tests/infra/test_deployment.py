"""Configuration per environment: a stage scopes every physical name, the deployment's settings
(mail domain and sender, mailboxes, gateway and bank with their credential secrets) reach every
function, and a missing setting fails the synth naming it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.topology import BANK_SECRET, PAYMENT_GATEWAY_SECRET, TOPOLOGY, physical
from infra.deployment import CHECK_CONTEXT, Deployment, MissingSetting
from tests.infra.conftest import resources

# Properties that carry a physical name, by resource type.
NAMED = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Events::EventBus": "Name",
    "AWS::Events::Rule": "Name",
    "AWS::Events::Archive": "ArchiveName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::SSM::Parameter": "Name",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::Scheduler::Schedule": "Name",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::Cognito::UserPool": "UserPoolName",
    "AWS::Cognito::UserPoolDomain": "Domain",
    "AWS::WAFv2::WebACL": "Name",
    "AWS::Serverless::Api": "Name",
}


def _names(template: dict[str, Any]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for kind, prop in NAMED.items():
        for resource in resources(template, kind).values():
            value = resource["Properties"][prop]
            assert isinstance(value, str), (kind, value)  # a literal name, so it can be scoped
            found.setdefault(kind, set()).add(value)
    return found


def _synth(stage: str) -> dict[str, Any]:
    import aws_cdk as cdk
    from aws_cdk import assertions

    from infra.app import CONTEXT
    from infra.stacks import WaybillStack

    app = cdk.App(context=CONTEXT)
    deployment = Deployment.from_context({**CHECK_CONTEXT, "stage": stage}.get)
    stack = WaybillStack(app, "Waybill", deployment=deployment, env=cdk.Environment(region="eu-west-1"))
    return assertions.Template.from_stack(stack).to_json()


def test_every_physical_name_carries_the_stage(template):
    names = _names(template)
    assert set(names) == set(NAMED)
    for kind, values in names.items():
        assert all("prod" in v for v in values), (kind, values)


def test_two_stages_share_no_physical_name_so_they_live_in_one_account(template):
    prod, dev = _names(template), _names(_synth("dev"))
    for kind in NAMED:
        assert prod[kind].isdisjoint(dev[kind]), kind
        assert len(prod[kind]) == len(dev[kind]), kind


def test_the_local_stages_keep_the_unscoped_names():
    assert physical(TOPOLOGY.table.name, "local") == TOPOLOGY.table.name == "waybill-main"
    assert physical(TOPOLOGY.table.name, "test") == "waybill-main"
    assert physical(TOPOLOGY.table.name, "prod") == "waybill-prod-main"
    assert physical(TOPOLOGY.secrets[0].name, "prod") == "waybill/prod/webhooks/inbound"
    assert physical(TOPOLOGY.parameters[0].name, "prod") == "/waybill/prod/deployed-settings"


@pytest.mark.parametrize("missing", ["mail_domain", "payment_gateway_url", "bank_url", "cloudfront_waf_arn"])
def test_a_missing_required_setting_fails_the_synth_naming_it(tmp_path, missing):
    from infra.app import build

    context = {k: v for k, v in CHECK_CONTEXT.items() if k != missing}
    with pytest.raises(MissingSetting, match=f"'{missing}' is required: pass -c {missing}="):
        build(outdir=str(tmp_path), context=context)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("sender", "noreply@elsewhere.example", "must be an address in mail_domain"),
        ("mailboxes", '{"sales": "s@x.example"}', "'mailboxes' takes the roles"),
        ("log_retention_days", "42", "'log_retention_days' must be one of"),
        ("stage", "local", "'stage' must be"),
    ],
)
def test_an_unusable_setting_fails_naming_it(key, value, message):
    with pytest.raises(MissingSetting, match=message):
        Deployment.from_context({**CHECK_CONTEXT, key: value}.get)


def test_the_stack_makes_a_dkim_signed_domain_identity_and_prints_its_dns_records(template):
    (identity,) = resources(template, "AWS::SES::EmailIdentity").values()
    assert identity["Properties"]["EmailIdentity"] == CHECK_CONTEXT["mail_domain"]
    assert identity["Properties"]["DkimAttributes"] == {"SigningEnabled": True}
    records = [template["Outputs"][f"DkimRecord{i}"]["Value"] for i in (1, 2, 3)]
    for i, record in enumerate(records, start=1):
        assert f"DkimDNSTokenName{i}" in json.dumps(record) and f"DkimDNSTokenValue{i}" in json.dumps(record)


def test_sending_is_granted_on_the_domain_identity_only(template):
    sends = [
        st
        for policy in resources(template, "AWS::IAM::Policy").values()
        for st in policy["Properties"]["PolicyDocument"]["Statement"]
        if "ses:SendEmail" in json.dumps(st["Action"])
    ]
    assert sends
    for st in sends:
        targets = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        assert all(json.dumps(t).endswith(f':identity/{CHECK_CONTEXT["mail_domain"]}"]]}}') for t in targets), targets


def test_every_function_gets_the_deployments_sender_mailboxes_endpoints_and_secret_names(template):
    mailboxes = json.loads(CHECK_CONTEXT["mailboxes"])
    for function_id, fn in resources(template, "AWS::Serverless::Function").items():
        env = fn["Properties"]["Environment"]["Variables"]
        assert env["WAYBILL_MAIL_FROM"] == CHECK_CONTEXT["sender"], function_id
        assert env["WAYBILL_MAILBOX_CUSTOMER_CARE"] == mailboxes["customer_care"]
        assert env["WAYBILL_MAILBOX_ACCOUNTING"] == "accounting@" + CHECK_CONTEXT["mail_domain"]  # the default
        assert env["WAYBILL_PAYMENT_GATEWAY_URL"] == CHECK_CONTEXT["payment_gateway_url"]
        assert env["WAYBILL_BANK_URL"] == CHECK_CONTEXT["bank_url"]
        assert env["WAYBILL_INBOUND_WEBHOOKS_SECRET"] == "waybill/prod/webhooks/inbound"
        assert env["WAYBILL_PAYMENT_GATEWAY_SECRET"] == physical(PAYMENT_GATEWAY_SECRET, "prod")
        assert env["WAYBILL_BANK_SECRET"] == physical(BANK_SECRET, "prod")
        assert env["WAYBILL_STAGE"] == "prod"
        assert len(json.dumps(env)) < 4096  # Lambda's limit on a function's variables (with tokens resolved: less)


def test_the_credential_secrets_exist_and_start_empty(template):
    secrets = {s["Properties"]["Name"]: s["Properties"] for s in resources(template, "AWS::SecretsManager::Secret").values()}
    for name in (PAYMENT_GATEWAY_SECRET, BANK_SECRET, TOPOLOGY.secrets[0].name):
        assert secrets[physical(name, "prod")]["SecretString"] == "{}"


def test_events_are_archived_for_replay(template):
    (archive,) = resources(template, "AWS::Events::Archive").values()
    props = archive["Properties"]
    (bus_id,) = resources(template, "AWS::Events::EventBus")
    assert props["SourceArn"] == {"Fn::GetAtt": [bus_id, "Arn"]}
    assert props["EventPattern"] == {"source": ["waybill"]} and props["RetentionDays"] >= 7
