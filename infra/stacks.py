"""The Waybill stack: everything the local stack emulates, from the same topology.

Resources come from `chalicelib.topology` (table, indexes, bus, rules, queues, buckets,
schedules, secrets, state machines), so adding one there adds it here and locally. The
Chalice app (routes, authorizer, consumers, publisher, scheduled handlers) is packaged by
`chalice.cdk.Chalice`, slimmed of what the Lambda runtime ships (`infra.package.slim`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import (
    aws_cloudfront as cloudfront,
)
from aws_cdk import (
    aws_cloudfront_origins as origins,
)
from aws_cdk import (
    aws_cloudwatch as cloudwatch,
)
from aws_cdk import (
    aws_cloudwatch_actions as cloudwatch_actions,
)
from aws_cdk import (
    aws_cognito as cognito,
)
from aws_cdk import (
    aws_dynamodb as dynamodb,
)
from aws_cdk import (
    aws_events as events,
)
from aws_cdk import (
    aws_events_targets as targets,
)
from aws_cdk import (
    aws_iam as iam,
)
from aws_cdk import (
    aws_kms as kms,
)
from aws_cdk import (
    aws_lambda as lambda_,
)
from aws_cdk import (
    aws_logs as logs,
)
from aws_cdk import (
    aws_s3 as s3,
)
from aws_cdk import (
    aws_s3_deployment as s3deploy,
)
from aws_cdk import (
    aws_scheduler as scheduler,
)
from aws_cdk import (
    aws_secretsmanager as secretsmanager,
)
from aws_cdk import (
    aws_sns as sns,
)
from aws_cdk import (
    aws_sns_subscriptions as sns_subscriptions,
)
from aws_cdk import (
    aws_sqs as sqs,
)
from aws_cdk import (
    aws_ssm as ssm,
)
from aws_cdk import (
    aws_stepfunctions as sfn,
)
from chalice.cdk import Chalice
from constructs import Construct, IConstruct

from chalicelib.config import Settings
from chalicelib.domain.permissions import Role
from chalicelib.functions import (
    API_HANDLER,
    FUNCTIONS,
    STATE_MACHINE_GRANTS,
    ArnFormat,
    Function,
    Ref,
    grants_document,
    policy_document,
)
from chalicelib.topology import EVENT_SOURCE, STATE_MACHINE_DIR, TOPOLOGY, Topology, definition_substitutions

from .package import slim

ROOT = Path(__file__).resolve().parent.parent
ADMIN_DIR = ROOT / "admin"
# Chalice's logical ids: a handler named `notifications_consumer` becomes `NotificationsConsumer`.


def logical_id(handler: str) -> str:
    return "".join(part.capitalize() for part in handler.split("_"))


def function_logical_id(name: str) -> str:
    """The logical id Chalice gives a function's resource (the API's handler is `APIHandler`)."""
    return "APIHandler" if name == API_HANDLER else logical_id(name)


def acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    """A cdk-nag finding accepted on purpose, with the reason kept beside the code."""
    cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))


def cfn_element(construct: IConstruct) -> cdk.CfnElement:
    """The CloudFormation resource an L2 construct wraps (its default child)."""
    child = construct.node.default_child
    if not isinstance(child, cdk.CfnElement):
        raise TypeError(f"{construct.node.path} wraps no CloudFormation resource")
    return child


def stream_arn(table: dynamodb.Table) -> str:
    """The table's stream ARN: the table is always made with a stream (the publisher reads it)."""
    if table.table_stream_arn is None:
        raise ValueError("the table has no stream")
    return table.table_stream_arn


def nag_arn(stack: cdk.Stack, arn: str) -> str:
    """An ARN as cdk-nag prints it in finding ids (tokens shown as <AWS::...>)."""
    resolved = stack.resolve(arn)
    if isinstance(resolved, dict) and "Fn::Join" in resolved:
        parts = []
        for part in resolved["Fn::Join"][1]:
            if isinstance(part, dict) and "Ref" in part:
                parts.append(f"<{part['Ref']}>")
            elif isinstance(part, dict) and "Fn::GetAtt" in part:
                parts.append(f"<{'.'.join(part['Fn::GetAtt'])}>")
            else:
                parts.append(str(part))
        return "".join(parts)
    return str(resolved)


class WaybillChalice(Chalice):
    """Chalice's construct, with the deployment zip slimmed before it becomes an asset."""

    def _package_app(self) -> None:
        super()._package_app()
        slim(Path(self._sam_package_dir) / "deployment.zip")


class WaybillStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topology: Topology = TOPOLOGY,
        settings: Settings | None = None,
        cognito_domain_prefix: str = "waybill-auth",
        state_machine_dir: Path = ROOT / STATE_MACHINE_DIR,
        alert_email: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.topology = topology
        self.state_machine_dir = state_machine_dir
        self.settings = settings or Settings(stage="prod")

        self.logs_bucket = self._logs_bucket()
        self.table = self._table()
        self.bus = events.EventBus(self, "Bus", event_bus_name=topology.bus)
        self.alerts = self._alerts_topic(alert_email)
        self.queues = self._queues()
        self.failure_queues = self._failure_queues()
        self._rules()
        self.buckets = self._buckets()
        self.secrets = [
            secretsmanager.Secret(self, f"Secret{i}", secret_name=s.name, description=s.purpose)
            for i, s in enumerate(topology.secrets)
        ]
        for secret in self.secrets:
            acknowledge(
                secret,
                "AwsSolutions-SMG4",
                "webhook signing secrets are shared with each sender; rotation is a coordinated manual step "
                "made safe by several active secrets at once (Standard Webhooks), not a Lambda rotation",
            )
        self.user_pool = self._cognito(cognito_domain_prefix)
        self.site_bucket, self.distribution = self._admin_site()
        self.settings_parameter = self.topology.parameters[0]
        self.state_machines = self._state_machines()
        # One role per function, from chalicelib/functions.py; `self.role` is the API's (every route).
        self.roles = self._lambda_roles()
        self.role = self.roles[API_HANDLER]
        self.app = self._chalice_app()
        self._publish_admin_site()
        self._deployed_settings()
        self._gateway_responses()
        self._event_source_settings()
        self.schedules = self._schedules()
        self._outputs()

    # ------------------------------------------------------------ data

    def _table(self) -> dynamodb.Table:
        t = self.topology.table
        table = dynamodb.Table(
            self,
            "Table",
            table_name=t.name,
            partition_key=dynamodb.Attribute(name=t.pk, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=t.sk, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            stream=dynamodb.StreamViewType(t.stream_view),
            time_to_live_attribute=t.ttl_attribute,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled=True),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        for ix in t.indexes:
            table.add_global_secondary_index(
                index_name=ix.name,
                partition_key=dynamodb.Attribute(name=ix.pk, type=dynamodb.AttributeType.STRING),
                sort_key=dynamodb.Attribute(name=ix.sk, type=dynamodb.AttributeType.STRING),
                projection_type=dynamodb.ProjectionType.ALL,
            )
        return table

    def _queues(self) -> dict[str, sqs.Queue]:
        queues = {}
        for q in self.topology.queues:
            lid = logical_id(q.handler)
            dlq = sqs.Queue(
                self,
                f"{lid}Dlq",
                queue_name=q.dlq_name,
                retention_period=cdk.Duration.days(14),
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
            )
            queue = sqs.Queue(
                self,
                f"{lid}Queue",
                queue_name=q.name,
                visibility_timeout=cdk.Duration.seconds(q.visibility_timeout_s),
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
                dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=q.max_receive_count, queue=dlq),
            )
            alarm = cloudwatch.Alarm(
                self,
                f"{lid}DlqDepth",
                alarm_name=f"{q.dlq_name}-depth",
                alarm_description=f"messages {q.handler} gave up on are waiting in {q.dlq_name}",
                metric=dlq.metric_approximate_number_of_messages_visible(period=cdk.Duration.minutes(1)),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.alerts))
            queues[q.name] = queue
        return queues

    def _alerts_topic(self, email: str | None) -> sns.Topic:
        """Where alarms go. Encrypted with a key CloudWatch may use (the AWS-managed SNS key
        refuses CloudWatch alarm deliveries)."""
        key = kms.Key(
            self,
            "AlertsKey",
            enable_key_rotation=True,
            description="Waybill ops alerts topic",
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*")
        topic = sns.Topic(self, "Alerts", topic_name=self.topology.alerts_topic, master_key=key, enforce_ssl=True)
        if email:
            topic.add_subscription(sns_subscriptions.EmailSubscription(email))
        return topic

    def _rules(self) -> None:
        for rule in self.topology.rules:
            events.Rule(
                self,
                f"Rule{logical_id(rule.name.replace('-', '_'))}",
                rule_name=rule.name,
                description=rule.description or None,
                event_bus=self.bus,
                event_pattern=events.EventPattern(source=[EVENT_SOURCE], detail_type=list(rule.detail_types)),
                targets=[targets.SqsQueue(self.queues[rule.queue])],
            )

    def _logs_bucket(self) -> s3.Bucket:
        """S3 server access logs land here (delivered under a bucket policy, no ACLs)."""
        return s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(365))],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )

    def _cdn_logs_bucket(self) -> s3.Bucket:
        """CloudFront standard logs: delivered with an ACL grant, so this bucket keeps ACLs enabled."""
        return s3.Bucket(
            self,
            "CdnLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            server_access_logs_bucket=self.logs_bucket,
            server_access_logs_prefix="s3/cdn-logs/",
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(365))],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )

    def _buckets(self) -> dict[str, s3.Bucket]:
        buckets = {}
        for b in self.topology.buckets:
            lid = logical_id(b.name.replace("-", "_"))
            rules = [s3.LifecycleRule(abort_incomplete_multipart_upload_after=cdk.Duration.days(1))]
            if b.expire_days:
                rules.append(s3.LifecycleRule(expiration=cdk.Duration.days(b.expire_days)))
            cors = (
                [
                    s3.CorsRule(
                        allowed_methods=[s3.HttpMethods.POST, s3.HttpMethods.PUT],
                        allowed_origins=["*"],
                        allowed_headers=["*"],
                        max_age=3000,
                    )
                ]
                if b.cors
                else None
            )
            buckets[b.name] = s3.Bucket(
                self,
                lid,
                encryption=s3.BucketEncryption.S3_MANAGED,
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                enforce_ssl=True,
                versioned=True,
                server_access_logs_bucket=self.logs_bucket,
                server_access_logs_prefix=f"s3/{b.name}/",
                lifecycle_rules=rules,
                cors=cors,
                removal_policy=cdk.RemovalPolicy.RETAIN,
            )
        return buckets

    # ------------------------------------------------------------ people

    def _cognito(self, domain_prefix: str) -> cognito.UserPool:
        pool = cognito.UserPool(
            self,
            "Users",
            user_pool_name="waybill-users",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            password_policy=cognito.PasswordPolicy(
                min_length=12, require_digits=True, require_lowercase=True, require_uppercase=True, require_symbols=True
            ),
            custom_attributes={"supplier_id": cognito.StringAttribute(mutable=True)},
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        for role in Role:
            cognito.CfnUserPoolGroup(
                self,
                f"Group{logical_id(role.value)}",
                user_pool_id=pool.user_pool_id,
                group_name=role.value,
                description=f"Waybill role {role.value}",
            )
        self.hosted_ui = pool.add_domain("HostedUi", cognito_domain=cognito.CognitoDomainOptions(domain_prefix=domain_prefix))
        return pool  # its app client is added once the site's URL is known (see _admin_site)

    def _admin_site(self) -> tuple[s3.Bucket, cloudfront.Distribution]:
        bucket = s3.Bucket(
            self,
            "AdminSiteBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            server_access_logs_bucket=self.logs_bucket,
            server_access_logs_prefix="s3/admin-site/",
            removal_policy=cdk.RemovalPolicy.DESTROY,
            auto_delete_objects=False,
        )
        distribution = cloudfront.Distribution(
            self,
            "AdminSite",
            comment="Waybill admin page",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                response_headers_policy=cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
            ),
            default_root_object="index.html",
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            enable_logging=True,
            log_bucket=self._cdn_logs_bucket(),
            log_file_prefix="admin/",
        )
        self.admin_client: cognito.UserPoolClient
        for rule, reason in (
            ("AwsSolutions-CFR1", "staff sign in from wherever they work; the API behind the page authenticates"),
            ("AwsSolutions-CFR2", "the distribution serves static files only; every API call is authorized by JWT"),
            (
                "AwsSolutions-CFR4",
                "no custom domain yet: the default *.cloudfront.net certificate cannot pin TLS 1.2; "
                "attach a domain and ACM certificate to enforce it",
            ),
        ):
            acknowledge(distribution, rule, reason)
        site_url = f"https://{distribution.distribution_domain_name}"
        self.admin_client = self.user_pool.add_client(
            "AdminClient",
            user_pool_client_name="waybill-admin",
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_srp=True),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),  # PKCE: a public client
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
                callback_urls=[f"{site_url}/", "http://127.0.0.1:8001/"],
                logout_urls=[f"{site_url}/", "http://127.0.0.1:8001/"],
            ),
            prevent_user_existence_errors=True,
        )
        return bucket, distribution

    def _publish_admin_site(self) -> None:
        """The static page, its `/config.js` (this stack's Cognito), and `/api/*` routed by the same
        distribution to API Gateway's `api` stage: the page calls the API on its own origin, so no
        CORS and no preflight requests (locally, `chalicelib.local.admin_site` does the same)."""
        site_url = f"https://{self.distribution.distribution_domain_name}"
        rest_api = self.app.get_resource("RestAPI")
        api_domain = f"{rest_api.ref}.execute-api.{cdk.Stack.of(self).region}.{cdk.Aws.URL_SUFFIX}"
        no_cache = cloudfront.CachePolicy(
            self,
            "ApiCachePolicy",
            comment="Waybill API: never cached; the token is part of the key",
            default_ttl=cdk.Duration.seconds(0),
            min_ttl=cdk.Duration.seconds(0),
            max_ttl=cdk.Duration.seconds(1),
            header_behavior=cloudfront.CacheHeaderBehavior.allow_list("Authorization"),
            query_string_behavior=cloudfront.CacheQueryStringBehavior.all(),
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
        )
        forwarded = cloudfront.OriginRequestPolicy(
            self,
            "ApiOriginRequestPolicy",
            comment="Waybill API: the headers and query the routes read",
            header_behavior=cloudfront.OriginRequestHeaderBehavior.allow_list(
                "Content-Type", "Idempotency-Key", "Accept", "X-Request-Id"
            ),
            query_string_behavior=cloudfront.OriginRequestQueryStringBehavior.all(),
            cookie_behavior=cloudfront.OriginRequestCookieBehavior.none(),
        )
        self.distribution.add_behavior(
            "/api/*",
            origins.HttpOrigin(api_domain, protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY),
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
            cache_policy=no_cache,
            origin_request_policy=forwarded,
        )
        config = {
            "apiBase": "/api",
            "auth": {
                "mode": "cognito",
                "domain": self.hosted_ui.base_url(),
                "clientId": self.admin_client.user_pool_client_id,
                "redirectUri": f"{site_url}/",
                "scopes": ["openid", "email", "profile"],
            },
        }
        deployment = s3deploy.BucketDeployment(
            self,
            "AdminSiteContent",
            sources=[
                s3deploy.Source.asset(str(ADMIN_DIR), exclude=["README.md"]),
                s3deploy.Source.data("config.js", f"window.WAYBILL_CONFIG = {json.dumps(config)};\n"),
            ],
            destination_bucket=self.site_bucket,
            distribution=self.distribution,
        )
        self._acknowledge_bucket_deployment(deployment, self.site_bucket)

    def _acknowledge_bucket_deployment(self, deployment: s3deploy.BucketDeployment, bucket: s3.Bucket) -> None:
        """BucketDeployment's handler is CDK's own singleton Lambda: its role and runtime are CDK's."""
        stack = cdk.Stack.of(self)
        handler = next(c for c in stack.node.children if c.node.id.startswith("Custom::CDKBucketDeployment"))
        reason = "CDK's BucketDeployment handler copies the admin page from the CDK asset bucket into its bucket"
        acknowledge(handler, "AwsSolutions-L1", "CDK pins the BucketDeployment handler's runtime")
        acknowledge(
            handler,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            reason,
        )
        bucket_id = stack.resolve(stack.get_logical_id(cfn_element(bucket)))
        assets = f"arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-{stack.region}/*"
        for finding in (
            "Action::s3:GetObject*",
            "Action::s3:GetBucket*",
            "Action::s3:List*",
            "Action::s3:DeleteObject*",
            "Action::s3:Abort*",
            f"Resource::{assets}",
            f"Resource::<{bucket_id}.Arn>/*",
            "Resource::*",
        ):
            acknowledge(handler, f"AwsSolutions-IAM5[{finding}]", reason)

    # ------------------------------------------------------------ compute

    def _failure_queues(self) -> dict[str, sqs.Queue]:
        """Where the stream publisher and the scheduled functions leave what they gave up on, each
        watched like a dead-letter queue."""
        queues = {}
        for q in self.topology.failure_queues:
            lid = logical_id(q.name.removeprefix("waybill-").replace("-", "_"))
            queue = sqs.Queue(
                self,
                f"{lid}Queue",
                queue_name=q.name,
                retention_period=cdk.Duration.days(14),
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
            )
            acknowledge(queue, "AwsSolutions-SQS3", "this queue is itself where failures are left (a dead-letter queue)")
            alarm = cloudwatch.Alarm(
                self,
                f"{lid}Depth",
                alarm_name=f"{q.name}-depth",
                alarm_description=q.purpose,
                metric=queue.metric_approximate_number_of_messages_visible(period=cdk.Duration.minutes(1)),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.alerts))
            queues[q.name] = queue
        return queues

    def arn_format(self) -> ArnFormat:
        """Where chalicelib/functions.py's references point in this stack."""
        stack = cdk.Stack.of(self)
        queues = {**self.queues, **self.failure_queues}
        secrets = {s.name: secret for s, secret in zip(self.topology.secrets, self.secrets, strict=True)}
        machines = {m.name: self.state_machines[m.definition].attr_arn for m in self.topology.state_machines}
        return ArnFormat(
            partition=stack.partition,
            region=stack.region,
            account=stack.account,
            table_arn=lambda _: self.table.table_arn,
            stream_arn=lambda _: stream_arn(self.table),
            queue_arn=lambda name: queues[name].queue_arn,
            bus_arn=lambda _: self.bus.event_bus_arn,
            state_machine_arns=lambda: machines,
            secret_arn=lambda name: secrets[name].secret_arn,
            bucket_arn=lambda name: self.buckets[name].bucket_arn,
            # Chalice leaves the names to CloudFormation: <stack>-<logical id>-<suffix>
            log_group=lambda name: f"/aws/lambda/{stack.stack_name}-{function_logical_id(name)}-*",
        )

    def _bus_arns(self) -> Any:
        """References to the bus only: the state machines' role is made before the functions' resources."""
        bus_arn = self.bus.event_bus_arn

        class BusOnly:
            def arn(self, ref: Ref) -> list[str]:
                if ref.kind != "bus":
                    raise ValueError(f"the state machines reach only the bus, not {ref}")
                return [bus_arn]

        return BusOnly()

    def _lambda_roles(self) -> dict[str, iam.Role]:
        """One role per function, with exactly the statements chalicelib/functions.py declares for it."""
        cdk.Stack.of(self)
        arns = self.arn_format()
        roles = {}
        for fn in FUNCTIONS:
            role = iam.Role(
                self,
                f"{function_logical_id(fn.name)}Role",
                assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                description=f"Waybill {fn.name}: {fn.purpose or fn.kind}"[:1000],
            )
            for statement in policy_document(fn, arns)["Statement"]:
                role.add_to_policy(iam.PolicyStatement.from_json(statement))
            self._acknowledge_wildcards(role, fn)
            roles[fn.name] = role
        return roles

    def _acknowledge_wildcards(self, role: iam.Role, fn: Function) -> None:
        """Each wildcard resource of a function's policy, acknowledged with the reason it cannot be narrower."""
        stack = cdk.Stack.of(self)
        policy = role.node.find_child("DefaultPolicy")
        reasons = {
            "any": "dynamodb:ListStreams and X-Ray's PutTraceSegments/PutTelemetryRecords have no resource-level permissions",
            "log_group": "Lambda creates the function's log group; CloudFormation names the function (<stack>-<id>-<suffix>)",
            "bucket_objects": "objects under this app's own bucket: keys are per supplier, PO and export, made at run time",
            "executions": "executions of this app's own state machine: each is named at run time (per PO, per parcel)",
        }
        arns = self.arn_format()
        for grant in fn.grants:
            for ref in grant.resources:
                reason = reasons.get(ref.kind)
                if not reason:
                    continue
                for arn in arns.arn(ref):
                    if "*" in arn:
                        shown = "*" if arn == "*" else nag_arn(stack, arn)
                        acknowledge(policy, f"AwsSolutions-IAM5[Resource::{shown}]", reason)
        for arn in arns.arn(Ref("log_group", fn.name)):
            acknowledge(policy, f"AwsSolutions-IAM5[Resource::{nag_arn(stack, arn)}]", reasons["log_group"])

    def _chalice_app(self) -> WaybillChalice:
        issuer = f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool.user_pool_id}"
        s = self.settings
        env = {
            "WAYBILL_STAGE": s.stage,
            "WAYBILL_TABLE_NAME": self.table.table_name,
            "WAYBILL_BUS_NAME": self.bus.event_bus_name,
            "WAYBILL_MAIL_FROM": self.topology.email_identities[0],
            "WAYBILL_JWKS_URL": f"{issuer}/.well-known/jwks.json",
            "WAYBILL_JWT_ISSUER": issuer,
            # the Cognito client id and the site's URL come from the SSM parameter (see _deployed_settings)
            "WAYBILL_SETTINGS_PARAMETER": self.settings_parameter.name,
            "WAYBILL_BANK_URL": self.node.try_get_context("bank_url") or "",
            # Generated names reach the app the same way for every bucket and state machine.
            **{
                f"WAYBILL_{name.removeprefix('waybill-').upper()}_BUCKET": bucket.bucket_name
                for name, bucket in self.buckets.items()
            },
            **{f"WAYBILL_{definition.upper()}_ARN": machine.attr_arn for definition, machine in self.state_machines.items()},
            "POWERTOOLS_SERVICE_NAME": "waybill",
            "POWERTOOLS_METRICS_NAMESPACE": "Waybill",
        }
        return WaybillChalice(
            self,
            "App",
            source_dir=str(ROOT),
            stage_config={
                "api_gateway_stage": "api",
                "manage_iam_role": False,
                "iam_role_arn": self.role.role_arn,
                "environment_variables": env,
                # Chalice ranks these construct settings above any per-function ones: each function's
                # role, timeout and memory are set on its resource from its definition instead
                # (_function_settings), so no stage-wide timeout or memory is given here.
                "xray": True,  # Tracing: Active, so the handlers' Powertools Tracer records (chalicelib/observability.py)
                "tags": {"app": "waybill"},
            },
        )

    def _function_settings(self) -> None:
        """Each function's role, timeout, memory and reserved concurrency, from chalicelib/functions.py."""
        for fn in FUNCTIONS:
            resource = self.app.get_resource(function_logical_id(fn.name))
            resource.add_override("Properties.Role", self.roles[fn.name].role_arn)
            resource.add_override("Properties.Timeout", fn.timeout_s)
            resource.add_override("Properties.MemorySize", fn.memory_mb)
            if fn.reserved_concurrency is not None:
                resource.add_override("Properties.ReservedConcurrentExecutions", fn.reserved_concurrency)

    def _deployed_settings(self) -> None:
        """What the functions learn only once the site and its Cognito client exist: the distribution
        routes /api/* to the API, so these cannot be environment variables (config.deployed_variables)."""
        ssm.StringParameter(
            self,
            "DeployedSettings",
            parameter_name=self.settings_parameter.name,
            description=self.settings_parameter.purpose,
            string_value=cdk.Stack.of(self).to_json_string(
                {
                    "WAYBILL_JWT_AUDIENCE": self.admin_client.user_pool_client_id,
                    "WAYBILL_PUBLIC_URL": f"https://{self.distribution.distribution_domain_name}",
                }
            ),
        )

    def _gateway_responses(self) -> None:
        """API Gateway's own refusals (bad or missing token, unknown route) in the house error shape."""
        rest_api = self.app.get_resource("RestAPI")
        bodies = {
            "UNAUTHORIZED": ("unauthorized", "missing, expired or invalid token"),
            "MISSING_AUTHENTICATION_TOKEN": ("not_found", "no such route"),
            "ACCESS_DENIED": ("forbidden", "this token may not call this route"),
            "DEFAULT_4XX": ("bad_request", "$context.error.message"),
            "DEFAULT_5XX": ("internal_error", "an internal error occurred; it has been logged"),
        }
        for response_type, (code, message) in bodies.items():
            cdk.CfnResource(
                self,
                f"GatewayResponse{logical_id(response_type.lower())}",
                type="AWS::ApiGateway::GatewayResponse",
                properties={
                    "RestApiId": rest_api.ref,
                    "ResponseType": response_type,
                    "ResponseTemplates": {
                        "application/json": json.dumps({"error": {"code": code, "message": message, "details": []}})
                    },
                    "ResponseParameters": {"gatewayresponse.header.Content-Type": "'application/json'"},
                },
            )

    def _event_source_settings(self) -> None:
        """What Chalice cannot say, from each function's definition: SQS consumers report partial
        batch failures and run at most `max_concurrency` batches at once; the stream publisher
        bisects a failing batch, retries it a bounded number of times within a maximum record age,
        then sends the record range to its on-failure queue. Each mapping waits for its queue and
        for its role's policy (Chalice names queues by ARN string, which CloudFormation cannot
        order by)."""
        self._function_settings()
        for fn in FUNCTIONS:
            resource = self.app.get_resource(function_logical_id(fn.name))
            resource.add_resource_dependency(self._policy(fn))
            if fn.queue is not None:
                source = f"Properties.Events.{logical_id(fn.name)}SqsEventSource.Properties"
                resource.add_override(f"{source}.FunctionResponseTypes", ["ReportBatchItemFailures"])
                resource.add_override(f"{source}.ScalingConfig", {"MaximumConcurrency": fn.queue.max_concurrency})
                resource.add_resource_dependency(self.queues[fn.queue.name].node.default_child)
            if fn.stream is not None:
                stream = fn.stream
                source = f"Properties.Events.{logical_id(fn.name)}DynamodbEventSource.Properties"
                resource.add_override(f"{source}.Stream", self.table.table_stream_arn)
                resource.add_override(f"{source}.BatchSize", stream.batch_size)
                resource.add_override(f"{source}.StartingPosition", stream.starting_position)
                resource.add_override(f"{source}.BisectBatchOnFunctionError", stream.bisect_on_error)
                resource.add_override(f"{source}.MaximumRetryAttempts", stream.maximum_retry_attempts)
                resource.add_override(f"{source}.MaximumRecordAgeInSeconds", stream.maximum_record_age_s)
                failures = self.failure_queues[stream.on_failure_queue]
                resource.add_override(f"{source}.DestinationConfig", {"OnFailure": {"Destination": failures.queue_arn}})
            if fn.schedule is not None:
                target = fn.schedule
                lambda_.CfnEventInvokeConfig(
                    self,
                    f"{logical_id(fn.name)}InvokeConfig",
                    function_name=resource.ref,
                    qualifier="$LATEST",
                    maximum_retry_attempts=target.maximum_retry_attempts,
                    maximum_event_age_in_seconds=target.maximum_event_age_s,
                    destination_config=lambda_.CfnEventInvokeConfig.DestinationConfigProperty(
                        on_failure=lambda_.CfnEventInvokeConfig.OnFailureProperty(
                            destination=self.failure_queues[target.dead_letter_queue].queue_arn
                        )
                    ),
                )

    def _policy(self, fn: Function) -> cdk.CfnResource:
        policy = self.roles[fn.name].node.find_child("DefaultPolicy").node.default_child
        if not isinstance(policy, cdk.CfnResource):
            raise TypeError(f"{fn.name}'s role has no policy")
        return policy

    def _schedules(self) -> list[scheduler.CfnSchedule]:
        """EventBridge Scheduler schedules (rates from settings) invoking the scheduled functions, each
        with its definition's retry policy and dead-letter queue."""
        role = iam.Role(
            self,
            "SchedulerRole",
            assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"),
            description="EventBridge Scheduler invoking Waybill's scheduled handlers",
        )
        schedules = []
        for fn in FUNCTIONS:
            if fn.schedule is None:
                continue
            sched, target = fn.schedule.schedule, fn.schedule
            fn_arn = self.app.get_resource(logical_id(fn.name)).get_att("Arn").to_string()
            dlq = self.failure_queues[target.dead_letter_queue]
            role.add_to_policy(iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[fn_arn]))
            role.add_to_policy(iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[dlq.queue_arn]))
            minutes = int(getattr(self.settings, sched.rate_setting))
            schedules.append(
                scheduler.CfnSchedule(
                    self,
                    f"Schedule{logical_id(fn.name)}",
                    name=sched.name,
                    description=sched.description,
                    schedule_expression=f"rate({minutes} minute{'s' if minutes != 1 else ''})",
                    flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
                    target=scheduler.CfnSchedule.TargetProperty(
                        arn=fn_arn,
                        role_arn=role.role_arn,
                        retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                            maximum_retry_attempts=target.maximum_retry_attempts,
                            maximum_event_age_in_seconds=target.maximum_event_age_s,
                        ),
                        dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(arn=dlq.queue_arn),
                    ),
                )
            )
        return schedules

    def _state_machines(self) -> dict[str, sfn.CfnStateMachine]:
        """One per topology entry, from its ASL file, with the shared definition substitutions."""
        machines: dict[str, sfn.CfnStateMachine] = {}
        if not self.topology.state_machines:
            return machines
        role = iam.Role(
            self,
            "StatesRole",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            description="Waybill state machines: open stages on the bus",
        )
        for statement in grants_document(STATE_MACHINE_GRANTS, self._bus_arns())["Statement"]:
            role.add_to_policy(iam.PolicyStatement.from_json(statement))
        log_group = logs.LogGroup(
            self, "StatesLogs", retention=logs.RetentionDays.ONE_YEAR, removal_policy=cdk.RemovalPolicy.RETAIN
        )
        role.add_to_policy(
            iam.PolicyStatement(  # log delivery actions take no resource-level permissions
                actions=[
                    "logs:CreateLogDelivery",
                    "logs:GetLogDelivery",
                    "logs:UpdateLogDelivery",
                    "logs:DeleteLogDelivery",
                    "logs:ListLogDeliveries",
                    "logs:PutResourcePolicy",
                    "logs:DescribeResourcePolicies",
                    "logs:DescribeLogGroups",
                ],
                resources=["*"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"],
                resources=["*"],
            )
        )
        acknowledge(
            role.node.find_child("DefaultPolicy"),
            "AwsSolutions-IAM5[Resource::*]",
            "CloudWatch Logs delivery and X-Ray actions have no resource-level permissions",
        )
        values = definition_substitutions(self.topology, bus_arn=self.bus.event_bus_arn)
        for machine in self.topology.state_machines:
            path = self.state_machine_dir / f"{machine.definition}.asl.json"
            machines[machine.definition] = sfn.CfnStateMachine(
                self,
                f"StateMachine{logical_id(machine.definition)}",
                state_machine_name=machine.name,
                definition_string=path.read_text(),
                definition_substitutions=values,
                role_arn=role.role_arn,
                tracing_configuration=sfn.CfnStateMachine.TracingConfigurationProperty(enabled=True),
                logging_configuration=sfn.CfnStateMachine.LoggingConfigurationProperty(
                    level="ALL",
                    include_execution_data=True,
                    destinations=[
                        sfn.CfnStateMachine.LogDestinationProperty(
                            cloud_watch_logs_log_group=sfn.CfnStateMachine.CloudWatchLogsLogGroupProperty(
                                log_group_arn=log_group.log_group_arn
                            )
                        )
                    ],
                ),
            )
        return machines

    def _outputs(self) -> None:
        cdk.CfnOutput(self, "ApiUrl", value=self.app.sam_template.get_output("EndpointURL").value)
        cdk.CfnOutput(self, "AdminUrl", value=f"https://{self.distribution.distribution_domain_name}")
        cdk.CfnOutput(self, "UserPoolId", value=self.user_pool.user_pool_id)
        cdk.CfnOutput(self, "AdminClientId", value=self.admin_client.user_pool_client_id)
        cdk.CfnOutput(self, "AdminSiteBucketName", value=self.site_bucket.bucket_name)
