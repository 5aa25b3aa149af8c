"""cdk-nag over what the SAM transform makes of the Chalice app.

cdk-nag inspects typed CloudFormation resources (`lambda.CfnFunction`, `apigateway.CfnStage`, ...);
the Chalice construct emits `AWS::Serverless::Function` and `AWS::Serverless::Api`, which it skips.
`expanded_stack` rebuilds, from the synthesized template, the plain resources the SAM transform
deploys for them: each function (tracing, memory, timeout, concurrency, dead-letter queue, async
on-failure destination), each event source mapping (batching, retries, on-failure destination),
the REST API with its deployment and stage (throttling, access logs, tracing), the stage's web ACL
association and the functions' log groups. Values the rules only test for presence (ARNs made of
intrinsics) become placeholders. The AwsSolutions and Serverless packs then run over that stack
(tests/infra/test_nag_sam.py); every finding accepted is acknowledged below with its reason.
"""

from __future__ import annotations

import json
import re
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

# Checked in the main stack (its IAM findings): the expanded functions name a placeholder role.
ROLE = "arn:aws:iam::123456789012:role/checked-in-the-main-stack"

SYNCHRONOUS = (
    "invoked synchronously (API Gateway calls it and answers the caller), so an asynchronous dead-letter "
    "queue would never receive anything"
)
POLLED = (
    "invoked by an event source mapping, which calls synchronously: a failed batch is retried by the mapping "
    "(SQS: the queue's redrive policy moves the message to its alarmed dead-letter queue; the stream: the "
    "mapping's own retry limit and on-failure destination), never by an async dead-letter queue"
)
ASYNC_DESTINATION = (
    "invoked asynchronously by EventBridge Scheduler; a failed invocation goes to its on-failure destination "
    "(EventInvokeConfig), which carries the request and error context a dead-letter queue would not"
)


def _text(value: Any) -> str:
    """A template value as a string: literals as they are, intrinsics as a placeholder ARN naming them."""
    if isinstance(value, str):
        return value
    return "arn:aws:placeholder:eu-west-1:123456789012:" + re.sub(r"[^A-Za-z0-9]+", "-", json.dumps(value)).strip("-")


def _destination(config: dict[str, Any] | None) -> Any:
    on_failure = (config or {}).get("OnFailure") or {}
    if not on_failure.get("Destination"):
        return None
    return {"onFailure": {"destination": _text(on_failure["Destination"])}}


def expanded_stack(scope: Construct, template: dict[str, Any], construct_id: str = "SamExpanded") -> cdk.Stack:
    stack = cdk.Stack(scope, construct_id, env=cdk.Environment(region="eu-west-1", account="123456789012"))
    resources = template["Resources"]
    functions: dict[str, lambda_.CfnFunction] = {}
    for lid, resource in resources.items():
        if resource["Type"] == "AWS::Serverless::Function":
            functions[lid] = _function(stack, lid, resource["Properties"])
    for lid, resource in resources.items():
        if resource["Type"] == "AWS::Serverless::Api":
            _api(stack, lid, resource["Properties"], resources)
        elif resource["Type"] == "AWS::Logs::LogGroup" and "/aws/lambda/" in json.dumps(
            resource["Properties"].get("LogGroupName")
        ):
            logs.CfnLogGroup(  # named /aws/lambda/<function name> in the stack; any valid name here
                stack, lid, log_group_name=f"/aws/lambda/{lid}", retention_in_days=resource["Properties"].get("RetentionInDays")
            )
    return stack


def _function(stack: cdk.Stack, lid: str, props: dict[str, Any]) -> lambda_.CfnFunction:
    dlq = props.get("DeadLetterQueue")
    fn = lambda_.CfnFunction(
        stack,
        lid,
        code=lambda_.CfnFunction.CodeProperty(s3_bucket="placeholder-bucket", s3_key="deployment.zip"),
        role=ROLE,
        handler=props["Handler"],
        runtime=props["Runtime"],
        memory_size=props.get("MemorySize"),
        timeout=props.get("Timeout"),
        tracing_config=lambda_.CfnFunction.TracingConfigProperty(mode=props["Tracing"]) if props.get("Tracing") else None,
        reserved_concurrent_executions=props.get("ReservedConcurrentExecutions"),
        dead_letter_config=lambda_.CfnFunction.DeadLetterConfigProperty(target_arn=_text(dlq["TargetArn"])) if dlq else None,
    )
    invoke = props.get("EventInvokeConfig")
    if invoke:
        lambda_.CfnEventInvokeConfig(
            stack,
            f"{lid}EventInvokeConfig",
            function_name=fn.ref,
            qualifier="$LATEST",
            maximum_retry_attempts=invoke.get("MaximumRetryAttempts"),
            destination_config=_destination(invoke.get("DestinationConfig")),
        )
    kinds = set()
    for event_id, event in (props.get("Events") or {}).items():
        e = event["Properties"]
        kinds.add(event["Type"])
        if event["Type"] == "SQS":
            mapping = lambda_.CfnEventSourceMapping(
                stack,
                event_id,
                function_name=fn.ref,
                event_source_arn=_text(e["Queue"]),
                batch_size=e.get("BatchSize"),
                function_response_types=e.get("FunctionResponseTypes"),
            )
            acknowledge(
                mapping,
                "Serverless-LambdaEventSourceMappingDestination",
                "an SQS mapping takes no on-failure destination: the queue's redrive policy moves a message "
                "that failed max_receive_count times to its dead-letter queue, which is alarmed",
            )
        elif event["Type"] == "DynamoDB":
            lambda_.CfnEventSourceMapping(
                stack,
                event_id,
                function_name=fn.ref,
                event_source_arn=_text(e["Stream"]),
                starting_position=e.get("StartingPosition"),
                batch_size=e.get("BatchSize"),
                maximum_retry_attempts=e.get("MaximumRetryAttempts"),
                bisect_batch_on_function_error=e.get("BisectBatchOnFunctionError"),
                maximum_record_age_in_seconds=e.get("MaximumRecordAgeInSeconds"),
                function_response_types=e.get("FunctionResponseTypes"),
                destination_config=_destination(e.get("DestinationConfig")),
            )
    if not dlq:
        if kinds & {"SQS", "DynamoDB"}:
            acknowledge(fn, "Serverless-LambdaDLQ", POLLED)
        elif props["Handler"] in ("app.app", "chalicelib.api.auth.jwt_auth"):
            acknowledge(fn, "Serverless-LambdaDLQ", SYNCHRONOUS)
        elif _destination((invoke or {}).get("DestinationConfig")):
            acknowledge(fn, "Serverless-LambdaDLQ", ASYNC_DESTINATION)
    if props["Runtime"] != LATEST_PYTHON:
        reason = (
            f"Chalice packages for the Python the project runs ({props['Runtime']}, the venv's and the local "
            "stack's): moving the functions to a newer runtime is a project-wide upgrade, tested locally first"
        )
        acknowledge(fn, "AwsSolutions-L1", reason)
        acknowledge(fn, "Serverless-LambdaLatestVersion", reason)
    return fn


LATEST_PYTHON = "python3.13"


def _api(stack: cdk.Stack, lid: str, props: dict[str, Any], resources: dict[str, Any]) -> None:
    rest = apigateway.CfnRestApi(
        stack,
        lid,
        name=_text(props.get("Name", lid)),
        body=props["DefinitionBody"],
        endpoint_configuration=apigateway.CfnRestApi.EndpointConfigurationProperty(
            types=[props.get("EndpointConfiguration", "EDGE")]
        ),
    )
    acknowledge(
        rest,
        "AwsSolutions-APIG2",
        "Chalice defines the API by its OpenAPI body without models; the handlers validate every request "
        "and answer the house 4xx JSON error (400, 413, 415, 422), which API Gateway's validator would replace "
        "with its own shape",
    )
    deployment = apigateway.CfnDeployment(stack, f"{lid}Deployment", rest_api_id=rest.ref)
    access = props.get("AccessLogSetting")
    stage = apigateway.CfnStage(
        stack,
        f"{lid}{props['StageName']}Stage",
        rest_api_id=rest.ref,
        stage_name=props["StageName"],
        deployment_id=deployment.ref,
        tracing_enabled=props.get("TracingEnabled"),
        access_log_setting=apigateway.CfnStage.AccessLogSettingProperty(
            destination_arn=_text(access["DestinationArn"]), format=access["Format"]
        )
        if access
        else None,
        method_settings=[
            apigateway.CfnStage.MethodSettingProperty(
                resource_path=s.get("ResourcePath"),
                http_method=s.get("HttpMethod"),
                throttling_rate_limit=s.get("ThrottlingRateLimit"),
                throttling_burst_limit=s.get("ThrottlingBurstLimit"),
                logging_level=s.get("LoggingLevel"),
                metrics_enabled=s.get("MetricsEnabled"),
                data_trace_enabled=s.get("DataTraceEnabled"),
            )
            for s in props.get("MethodSettings") or []
        ]
        or None,
    )
    for association_id, resource in resources.items():
        if resource["Type"] != "AWS::WAFv2::WebACLAssociation":
            continue
        arn = json.dumps(resource["Properties"]["ResourceArn"])
        if f"${{{lid}}}/stages/${{{lid}.Stage}}" in arn:  # the SAM stage of this API
            wafv2.CfnWebACLAssociation(
                stack,
                association_id,
                resource_arn=cdk.Fn.join("", ["arn:aws:apigateway:eu-west-1::/restapis/", rest.ref, "/stages/", stage.ref]),
                web_acl_arn=_text(resource["Properties"]["WebACLArn"]),
            )


def acknowledge(construct: Construct, rule: str, reason: str) -> None:
    """A finding accepted on purpose, with its reason (as infra.stacks.acknowledge)."""
    cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))
