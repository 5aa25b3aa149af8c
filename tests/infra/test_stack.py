"""What the deployable stack promises: durable data, dead letters watched, private buckets,
least-privilege IAM, the app wired to its triggers, errors in the house shape."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.config import Settings
from chalicelib.domain.permissions import PEOPLE, Role
from chalicelib.topology import TOPOLOGY
from infra.stacks import logical_id
from tests.infra.conftest import STAGED, resources


def _flat(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def test_the_table_keeps_point_in_time_recovery_encryption_and_survives_stack_deletion(template):
    ((table_id, table),) = resources(template, "AWS::DynamoDB::Table").items()
    props = table["Properties"]
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert table["DeletionPolicy"] == "Retain"


def test_every_dead_letter_queue_has_a_depth_alarm_that_tells_the_ops_topic(template):
    queue_ids = {r["Properties"]["QueueName"]: k for k, r in resources(template, "AWS::SQS::Queue").items()}
    ((topic_id, topic),) = resources(template, "AWS::SNS::Topic").items()
    assert topic["Properties"]["TopicName"] == STAGED.alerts_topic
    assert "KmsMasterKeyId" in topic["Properties"]
    alarmed = set()
    alarms = resources(template, "AWS::CloudWatch::Alarm").values()
    assert all(alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}] for alarm in alarms)
    for alarm in alarms:
        props = alarm["Properties"]
        if props.get("MetricName") != "ApproximateNumberOfMessagesVisible":
            continue  # the other failure paths' alarms: test_alarms.py
        assert props["Threshold"] == 1 and props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        (dimension,) = props["Dimensions"]
        alarmed.add(dimension["Value"]["Fn::GetAtt"][0])
    assert alarmed == {queue_ids[q.dlq_name] for q in STAGED.queues} | {queue_ids[q.name] for q in STAGED.failure_queues}


def test_every_queue_is_encrypted_and_refuses_plain_http(template):
    for queue in resources(template, "AWS::SQS::Queue").values():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True
    policies = resources(template, "AWS::SQS::QueuePolicy").values()
    assert all("aws:SecureTransport" in _flat(p) for p in policies)


def test_every_bucket_is_encrypted_private_and_tls_only(template):
    buckets = resources(template, "AWS::S3::Bucket")
    for bucket in buckets.values():
        props = bucket["Properties"]
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert "AccessControl" not in props
    secured = {
        p["Properties"]["Bucket"]["Ref"]
        for p in resources(template, "AWS::S3::BucketPolicy").values()
        if "aws:SecureTransport" in _flat(p)
    }
    assert secured == set(buckets)


def test_the_upload_bucket_allows_browser_uploads_and_exports_expire(template):
    by_prefix = {}
    for bucket in resources(template, "AWS::S3::Bucket").values():
        logging = bucket["Properties"].get("LoggingConfiguration", {})
        by_prefix[logging.get("LogFilePrefix")] = bucket["Properties"]
    uploads, exports = by_prefix["s3/waybill-uploads/"], by_prefix["s3/waybill-exports/"]
    assert {"POST", "PUT"} <= set(uploads["CorsConfiguration"]["CorsRules"][0]["AllowedMethods"])
    assert any(rule.get("ExpirationInDays") == 90 for rule in exports["LifecycleConfiguration"]["Rules"])


def test_the_admin_site_is_served_by_cloudfront_through_origin_access_control(template):
    ((_, dist),) = resources(template, "AWS::CloudFront::Distribution").items()
    config = dist["Properties"]["DistributionConfig"]
    assert config["DefaultRootObject"] == "index.html"
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    site, api = config["Origins"]
    assert "OriginAccessControlId" in site
    assert site["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    assert len(resources(template, "AWS::CloudFront::OriginAccessControl")) == 1
    # /api/* goes to API Gateway's `api` stage on the same origin (no CORS, no preflights), never cached
    (behavior,) = config["CacheBehaviors"]
    assert behavior["PathPattern"] == "/api/*" and behavior["TargetOriginId"] == api["Id"]
    assert "RestAPI" in _flat(api["DomainName"]) and api["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert set(behavior["AllowedMethods"]) >= {"GET", "POST", "PUT", "OPTIONS"}
    policies = resources(template, "AWS::CloudFront::CachePolicy")
    (cache,) = [p["Properties"]["CachePolicyConfig"] for k, p in policies.items() if {"Ref": k} == behavior["CachePolicyId"]]
    assert cache["DefaultTTL"] == 0 and cache["MaxTTL"] <= 1
    key = cache["ParametersInCacheKeyAndForwardedToOrigin"]
    assert key["HeadersConfig"]["Headers"] == ["Authorization"]


def staff_pool(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The staff and suppliers' user pool (logical id `Users...`); the customers' is `Customers...`."""
    ((key, pool),) = [(k, p) for k, p in resources(template, "AWS::Cognito::UserPool").items() if k.startswith("Users")]
    return key, pool


def pool_client(template: dict[str, Any], prefix: str) -> tuple[str, dict[str, Any]]:
    """An app client by its logical id's start (`UsersAdminClient`, `CustomersCustomerClient`, ...)."""
    ((key, client),) = [(k, c) for k, c in resources(template, "AWS::Cognito::UserPoolClient").items() if k.startswith(prefix)]
    return key, client


def test_cognito_has_one_group_per_role_and_a_public_pkce_client(template):
    groups = {g["Properties"]["GroupName"] for g in resources(template, "AWS::Cognito::UserPoolGroup").values()}
    assert groups == {r.value for r in PEOPLE} == {r.value for r in Role} - {"storefront"}  # a machine's role is no group
    _, client = pool_client(template, "UsersAdminClient")
    props = client["Properties"]
    assert props["GenerateSecret"] is False
    assert props["AllowedOAuthFlows"] == ["code"]
    _, pool = staff_pool(template)
    assert pool["Properties"]["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert any(a["Name"] == "supplier_id" for a in pool["Properties"]["Schema"])


def test_webhook_secrets_live_in_secrets_manager(template):
    names = {s["Properties"]["Name"] for s in resources(template, "AWS::SecretsManager::Secret").values()}
    assert names == {s.name for s in STAGED.secrets}
    # each starts as an empty JSON object (no value in the template, and no random non-JSON string)
    for secret in resources(template, "AWS::SecretsManager::Secret").values():
        assert secret["Properties"]["SecretString"] == "{}" and "GenerateSecretString" not in secret["Properties"]


def _functions(template):
    return {r["Properties"]["Handler"]: r["Properties"] for r in resources(template, "AWS::Serverless::Function").values()}


def test_the_chalice_app_deploys_every_handler_with_the_api_authorizer(template):
    handlers = set(_functions(template))
    assert {"app.app", "chalicelib.api.auth.jwt_auth", "app.stream_publisher"} <= handlers
    assert {f"app.{q.handler}" for q in STAGED.queues} <= handlers
    assert {f"app.{s.handler}" for s in STAGED.schedules} <= handlers
    (api,) = resources(template, "AWS::Serverless::Api").values()
    assert "jwt_auth" in _flat(api["Properties"]["DefinitionBody"]["securityDefinitions"])


def test_every_function_is_traced_so_the_handlers_tracer_records(template):
    functions = _functions(template)
    assert functions and {h: f.get("Tracing") for h, f in functions.items()} == dict.fromkeys(functions, "Active")


def test_the_api_reads_cognito_tokens_and_the_real_resource_names(template):
    env = _functions(template)["app.app"]["Environment"]["Variables"]
    assert env["WAYBILL_STAGE"] == "prod"
    assert env["WAYBILL_TABLE_NAME"] == {"Ref": next(iter(resources(template, "AWS::DynamoDB::Table")))}
    assert "cognito-idp" in _flat(env["WAYBILL_JWKS_URL"]) and _flat(env["WAYBILL_JWKS_URL"]).endswith('jwks.json"]]}')
    # the token audience and the site's URL come from the deployed-settings parameter (a variable
    # would make a cycle: function -> client -> site -> API -> function), which the role may read
    (parameter,) = resources(template, "AWS::SSM::Parameter").values()
    assert env["WAYBILL_SETTINGS_PARAMETER"] == parameter["Properties"]["Name"] == STAGED.parameters[0].name
    value = _flat(parameter["Properties"]["Value"])
    assert "WAYBILL_JWT_AUDIENCE" in value and "WAYBILL_PUBLIC_URL" in value
    assert pool_client(template, "UsersAdminClient")[0] in value
    # the customers' pool is trusted too: its issuer by variable, its hosted-UI client by the parameter
    assert "WAYBILL_CUSTOMER_JWT_AUDIENCE" in value and pool_client(template, "CustomersCustomerClient")[0] in value
    customers = next(k for k in resources(template, "AWS::Cognito::UserPool") if k.startswith("Customers"))
    assert customers in _flat(env["WAYBILL_CUSTOMER_JWT_ISSUER"]) and customers in _flat(env["WAYBILL_CUSTOMER_JWKS_URL"])
    assert _flat(env["WAYBILL_CUSTOMER_JWKS_URL"]).endswith('jwks.json"]]}')
    assert "WAYBILL_JWT_AUDIENCE" not in env and "WAYBILL_PUBLIC_URL" not in env
    policy = _flat(resources(template, "AWS::IAM::Policy"))
    assert '"ssm:GetParameter"' in policy and "parameter/waybill/prod/deployed-settings" in policy


def test_consumers_report_partial_batch_failures_run_bounded_batches_and_wait_for_their_queue(template):
    queue_ids = {r["Properties"]["QueueName"]: k for k, r in resources(template, "AWS::SQS::Queue").items()}
    fns = {k: r for k, r in resources(template, "AWS::Serverless::Function").items()}
    for q in STAGED.queues:
        fn = fns[logical_id(q.handler)]
        (event,) = fn["Properties"]["Events"].values()
        assert event["Type"] == "SQS"
        assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert event["Properties"]["ScalingConfig"] == {"MaximumConcurrency": q.max_concurrency}
        assert 2 <= q.max_concurrency <= 1000  # what AWS accepts
        # this stage's queue (Chalice alone would name the unscoped one from app.py's decorator)
        assert event["Properties"]["Queue"] == {"Fn::GetAtt": [queue_ids[q.name], "Arn"]}
        assert queue_ids[q.name] in fn["DependsOn"]


def test_the_publisher_reads_the_tables_stream(template):
    table_id = next(iter(resources(template, "AWS::DynamoDB::Table")))
    (event,) = resources(template, "AWS::Serverless::Function")["StreamPublisher"]["Properties"]["Events"].values()
    assert event["Type"] == "DynamoDB"
    assert event["Properties"]["Stream"] == {"Fn::GetAtt": [table_id, "StreamArn"]}


def test_schedules_are_eventbridge_scheduler_schedules_at_the_configured_rates(template):
    schedules = {s["Properties"]["Name"]: s["Properties"] for s in resources(template, "AWS::Scheduler::Schedule").values()}
    assert set(schedules) == {s.name for s in STAGED.schedules}
    prod = Settings(stage="prod")
    for sched in STAGED.schedules:
        props = schedules[sched.name]
        assert props["ScheduleExpression"] == f"rate({getattr(prod, sched.rate_setting)} minutes)"
        assert props["Target"]["Arn"] == {"Fn::GetAtt": [logical_id(sched.handler), "Arn"]}
    assert not resources(template, "AWS::Events::Rule").keys() & {"EndCampaignsEvent"}  # no Chalice @schedule rules


def test_gateway_refusals_use_the_house_error_shape(template):
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"] for r in resources(template, "AWS::ApiGateway::GatewayResponse").values()
    }
    assert {"UNAUTHORIZED", "ACCESS_DENIED", "MISSING_AUTHENTICATION_TOKEN", "DEFAULT_4XX", "DEFAULT_5XX"} <= set(responses)
    body = json.loads(responses["UNAUTHORIZED"]["ResponseTemplates"]["application/json"])
    assert body["error"]["code"] == "unauthorized" and body["error"]["message"]


def _statements(template, role_id):
    for policy in resources(template, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            yield from policy["Properties"]["PolicyDocument"]["Statement"]


def _function_roles(template) -> dict[str, str]:
    """Function logical id -> logical id of the role it runs as (one per function)."""
    return {
        k: r["Properties"]["Role"]["Fn::GetAtt"][0]
        for k, r in resources(template, "AWS::Serverless::Function").items()
        if not k.startswith("CustomCDKBucketDeployment")
    }


def test_every_function_role_names_every_action_and_uses_star_only_where_aws_allows_nothing_else(template):
    roles = _function_roles(template)
    assert len(set(roles.values())) == len(roles) == 18  # one role per function (the sweep consumer the 18th)
    for role_id in roles.values():
        statements = list(_statements(template, role_id))
        assert statements
        for st in statements:
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            assert all("*" not in a for a in actions), st  # no wildcard actions at all
            if st["Resource"] == "*":  # actions with no resource-level permissions, and only those
                assert actions in (["dynamodb:ListStreams"], ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]), st
        assert "dynamodb:Scan" not in _flat(statements)


def test_the_scheduler_may_invoke_only_the_scheduled_functions_and_leave_failures_in_its_queue(template):
    (role_id,) = [k for k, r in resources(template, "AWS::IAM::Role").items() if k.startswith("SchedulerRole")]
    statements = list(_statements(template, role_id))
    assert {str(st["Action"]) for st in statements} == {"lambda:InvokeFunction", "sqs:SendMessage"}
    invoke = [st for st in statements if st["Action"] == "lambda:InvokeFunction"]
    resources_ = [r for st in invoke for r in (st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]])]
    assert sorted(resources_, key=str) == sorted(
        ({"Fn::GetAtt": [logical_id(s.handler), "Arn"]} for s in STAGED.schedules), key=str
    )
    queue_ids = {r["Properties"]["QueueName"]: k for k, r in resources(template, "AWS::SQS::Queue").items()}
    send = [st["Resource"] for st in statements if st["Action"] == "sqs:SendMessage"]
    assert send and all(r == {"Fn::GetAtt": [queue_ids[STAGED.failure_queues[1].name], "Arn"]} for r in send)
    assert len(STAGED.schedules) == 4  # end campaigns, escalation sweep, daily digest, exports


def test_the_lambda_package_leaves_out_what_the_runtime_provides(stack):
    import zipfile
    from pathlib import Path

    from infra.package import RUNTIME_PROVIDED

    app = stack.node.find_child("App")
    with zipfile.ZipFile(Path(app._sam_package_dir) / "deployment.zip") as z:
        tops = {name.split("/", 1)[0] for name in z.namelist()}
    assert "app.py" in tops and "chalicelib" in tops and "pynamodb" in tops
    assert not {t for t in tops if t.split("-")[0].removesuffix(".py") in RUNTIME_PROVIDED}
    assert "local" not in {name.split("/")[1] for name in z.namelist() if name.startswith("chalicelib/")}


def test_the_admin_page_is_deployed_with_a_config_pointing_at_this_api_and_cognito(template):
    (deployment,) = resources(template, "Custom::CDKBucketDeployment").values()
    props = deployment["Properties"]
    site = next(k for k in resources(template, "AWS::S3::Bucket") if k.startswith("AdminSiteBucket"))
    assert props["DestinationBucketName"] == {"Ref": site}
    markers = _flat(props["SourceMarkers"])
    # config.js: the hosted UI's domain, the client id and the site's own URL (the redirect URI)
    client = pool_client(template, "UsersAdminClient")[0]
    domain = next(k for k in resources(template, "AWS::Cognito::UserPoolDomain") if k.startswith("UsersHostedUi"))
    site_cdn = next(iter(resources(template, "AWS::CloudFront::Distribution")))
    assert all(ref in markers for ref in (client, domain, site_cdn)), markers


def _machines(template) -> dict[str, str]:
    """Topology definition name -> logical id of its deployed state machine."""
    found = {r["Properties"]["StateMachineName"]: k for k, r in resources(template, "AWS::StepFunctions::StateMachine").items()}
    assert set(found) == {m.name for m in STAGED.state_machines}
    return {m.definition: found[m.name] for m in STAGED.state_machines}


def test_the_app_knows_the_generated_names_of_its_buckets_and_state_machines(template):
    env = _functions(template)["app.app"]["Environment"]["Variables"]
    for definition, machine_id in _machines(template).items():
        assert env[f"WAYBILL_{definition.upper()}_ARN"] in ({"Fn::GetAtt": [machine_id, "Arn"]}, {"Ref": machine_id})
    uploads = next(
        k
        for k, b in resources(template, "AWS::S3::Bucket").items()
        if b["Properties"].get("LoggingConfiguration", {}).get("LogFilePrefix") == "s3/waybill-uploads/"
    )
    assert env["WAYBILL_UPLOADS_BUCKET"] == {"Ref": uploads}
    assert Settings().uploads_bucket == TOPOLOGY.buckets[0].name == "waybill-uploads"  # the local default


def test_the_functions_may_start_and_answer_only_their_own_state_machines(template):
    machines = _machines(template)
    roles = _function_roles(template)
    with_states = 0
    for role_id in roles.values():
        states = [st for st in _statements(template, role_id) if "states:" in _flat(st["Action"])]
        if not states:
            continue
        with_states += 1
        (answer,) = [st for st in states if "states:StartExecution" in _flat(st["Action"])]
        assert set(answer["Action"]) == {
            "states:StartExecution",
            "states:SendTaskSuccess",
            "states:SendTaskFailure",
            "states:SendTaskHeartbeat",
        }
        assert sorted(_flat(r) for r in answer["Resource"]) == sorted(
            _flat({"Fn::GetAtt": [machine_id, "Arn"]}) for machine_id in machines.values()
        )
        (stop,) = [st for st in states if st is not answer]
        assert stop["Action"] == "states:StopExecution"
        assert all(f":execution:{m.name}:*" in _flat(stop["Resource"]) for m in STAGED.state_machines)
    assert with_states >= 2  # the API and the workflow consumers


def test_each_state_machine_is_deployed_from_its_asl_file(template):
    from pathlib import Path

    for definition, machine_id in _machines(template).items():
        machine = resources(template, "AWS::StepFunctions::StateMachine")[machine_id]
        asl = (Path(__file__).resolve().parents[2] / f"infra/statemachines/{definition}.asl.json").read_text()
        assert json.loads(machine["Properties"]["DefinitionString"]) == json.loads(asl)
        assert set(machine["Properties"]["DefinitionSubstitutions"]) == {"BusName", "BusArn", "EventSource"}
