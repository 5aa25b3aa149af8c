"""The Waybill stack: everything the local stack emulates, from the same topology.

Resources come from `chalicelib.topology` (table, indexes, bus, rules, queues, buckets,
schedules, secrets, state machines), so adding one there adds it here and locally. The
Chalice app (routes, authorizer, consumers, publisher, scheduled handlers) is packaged by
`chalice.cdk.Chalice`, slimmed of what the Lambda runtime ships (`infra.package.slim`).

One stack per stage (`infra/deployment.py`): every physical name is scoped to the stage
(`topology.staged`), the deployment's settings reach the functions' environment, and each failure
path has an alarm to the alerts topic.
"""

from __future__ import annotations

import json
from dataclasses import replace
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
    aws_ses as ses,
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
from aws_cdk import (
    aws_wafv2 as wafv2,
)
from chalice.cdk import Chalice
from constructs import Construct, IConstruct

from chalicelib.config import Settings
from chalicelib.domain.permissions import PEOPLE, STOREFRONT_SCOPE, Role
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
from chalicelib.topology import (
    APP_NAME,
    BANK_SECRET,
    EVENT_SOURCE,
    PAYMENT_GATEWAY_SECRET,
    STATE_MACHINE_DIR,
    TOPOLOGY,
    Topology,
    definition_substitutions,
    staged,
)

from .deployment import CHECK_CONTEXT, MAILBOX_ROLES, Deployment
from .package import slim

ROOT = Path(__file__).resolve().parent.parent
NONCURRENT_VERSION_DAYS = 30  # an overwritten or deleted export or upload stays recoverable this long
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
        deployment: Deployment | None = None,
        cognito_domain_prefix: str | None = None,
        state_machine_dir: Path = ROOT / STATE_MACHINE_DIR,
        alert_email: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.deployment = deployment or Deployment.from_context(CHECK_CONTEXT.get)
        d = self.deployment
        # Every physical name scoped to the stage, so stages share an account; the app sends from
        # the stack's SES domain identity (the functions' one mail grant: `arn_format` reads email_identities).
        self.base_topology = topology
        self.topology = replace(staged(topology, d.stage), email_identities=(d.mail_domain,))
        self.state_machine_dir = state_machine_dir
        self.settings = settings or Settings(stage=d.stage)

        self.logs_bucket = self._logs_bucket()
        self.table = self._table()
        self.bus = events.EventBus(self, "Bus", event_bus_name=self.topology.bus)
        self.alerts = self._alerts_topic(alert_email or d.alert_email)
        self.queues = self._queues()
        self.failure_queues = self._failure_queues()
        self._rules()
        self.buckets = self._buckets()
        self.secrets = self._secrets()
        self.user_pool = self._cognito(cognito_domain_prefix or d.cognito_domain_prefix)
        self.site_bucket, self.distribution = self._admin_site()
        self.customer_client = self._customer_client()
        self.settings_parameter = self.topology.parameters[0]
        self.app_keys = self._app_keys()
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
        self.mail_identity = self._mail_identity()
        self._deployment_environment()
        self._stage_event_sources()
        self._api_protection()
        self._event_archive()
        self._observability()
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
            acknowledge(
                dlq,
                "Serverless-SQSRedrivePolicy",
                "this is the dead-letter queue where redrive ends: its depth is alarmed and operators move its "
                "messages back to the queue once the cause is fixed (docs/operations.md)",
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

    def _app_keys(self) -> list[kms.Key]:
        """The app's own KMS keys (topology `keys`: outbound webhook secrets are sealed with one), rotated
        yearly; the functions that seal or open webhook secrets (`SEALING` in chalicelib/functions.py) may
        encrypt and decrypt with them, nothing more. Retained: the table keeps what they sealed."""
        made = []
        for i, k in enumerate(self.topology.keys):
            key = kms.Key(
                self,
                f"AppKey{i}",
                alias=k.alias,
                description=k.purpose,
                enable_key_rotation=True,
                removal_policy=cdk.RemovalPolicy.RETAIN,
            )
            made.append(key)
        return made

    def _rules(self) -> None:
        self.rules: dict[str, events.Rule] = {}
        for base, rule in zip(self.base_topology.rules, self.topology.rules, strict=True):
            self.rules[rule.name] = events.Rule(
                self,
                f"Rule{logical_id(base.name.replace('-', '_'))}",
                rule_name=rule.name,
                description=rule.description or None,
                event_bus=self.bus,
                event_pattern=events.EventPattern(source=[EVENT_SOURCE], detail_type=list(rule.detail_types), detail=rule.detail),
                targets=[targets.SqsQueue(self.queues[rule.queue])],
            )
            acknowledge(
                self.rules[rule.name],
                "Serverless-EventBusDLQ",
                "EventBridge retries delivery to the queue for 24 h; every event is also kept in the bus archive "
                "and the rule's FailedInvocations metric is alarmed, so an event it could not deliver is replayed "
                "from the archive (docs/operations.md) rather than parked in a second queue",
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
        # logical ids and the dict's keys (WAYBILL_<NAME>_BUCKET) from the unscoped names: the same in every stage
        for base, b in zip(self.base_topology.buckets, self.topology.buckets, strict=True):
            lid = logical_id(base.name.replace("-", "_"))
            rules = [
                s3.LifecycleRule(abort_incomplete_multipart_upload_after=cdk.Duration.days(1)),
                # versioning keeps overwritten and deleted objects: they go after a grace period
                s3.LifecycleRule(noncurrent_version_expiration=cdk.Duration.days(NONCURRENT_VERSION_DAYS)),
            ]
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
            buckets[base.name] = s3.Bucket(
                self,
                lid,
                encryption=s3.BucketEncryption.S3_MANAGED,
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                enforce_ssl=True,
                versioned=True,
                server_access_logs_bucket=self.logs_bucket,
                server_access_logs_prefix=f"s3/{base.name}/",
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
            user_pool_name=self.deployment.name(f"{APP_NAME}-users"),
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            password_policy=cognito.PasswordPolicy(
                min_length=12, require_digits=True, require_lowercase=True, require_uppercase=True, require_symbols=True
            ),
            # set once by an admin when the supplier's user is made; never changed, by anyone
            custom_attributes={"supplier_id": cognito.StringAttribute(mutable=False)},
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        for role in [r for r in Role if r in PEOPLE]:  # the storefront is a machine's role, never a group
            cognito.CfnUserPoolGroup(
                self,
                f"Group{logical_id(role.value)}",
                user_pool_id=pool.user_pool_id,
                group_name=role.value,
                description=f"Waybill role {role.value}",
            )
        self.hosted_ui = pool.add_domain("HostedUi", cognito_domain=cognito.CognitoDomainOptions(domain_prefix=domain_prefix))
        self.customer_pool = self._customer_pool(f"{domain_prefix}-shop")
        return pool  # its app client is added once the site's URL is known (see _admin_site)

    def _customer_pool(self, domain_prefix: str) -> cognito.UserPool:
        """The customers' own pool (docs/design-notes.md, "Two user pools"): anyone may sign up and verify
        their e-mail; MFA is theirs to turn on. Cognito sets MFA per pool, so staff and suppliers stay in
        the pool above, where it is required and only admins create users and assign groups. This pool has
        no groups and no custom attributes: the API makes every token from it a customer (or, with the
        storefront scope, a storefront), whatever it claims. It also holds the resource server and the
        client-credentials app client a shop's storefront signs in with."""
        pool = cognito.UserPool(
            self,
            "Customers",
            user_pool_name=self.deployment.name(f"{APP_NAME}-customers"),
            self_sign_up_enabled=True,
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            # a changed address takes effect only once its owner verified it (the API trusts verified e-mail only)
            keep_original=cognito.KeepOriginalAttrs(email=True),
            user_verification=cognito.UserVerificationConfig(email_style=cognito.VerificationEmailStyle.CODE),
            standard_attributes=cognito.StandardAttributes(email=cognito.StandardAttribute(required=True, mutable=True)),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            password_policy=cognito.PasswordPolicy(
                min_length=12, require_digits=True, require_lowercase=True, require_uppercase=True, require_symbols=True
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.PLUS,
            # sign-up is open to the internet: compromised-credential checks and risk-based blocking matter most here
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        acknowledge(
            pool,
            "AwsSolutions-COG2",
            "customers choose whether to turn on MFA (an authenticator app): a customer may only place and follow "
            "their own orders; staff and suppliers sign in through the other user pool, where MFA is required",
        )
        self.customer_hosted_ui = pool.add_domain(
            "CustomerHostedUi", cognito_domain=cognito.CognitoDomainOptions(domain_prefix=domain_prefix)
        )
        identifier, scope_name = STOREFRONT_SCOPE.split("/")
        place = cognito.ResourceServerScope(
            scope_name=scope_name, scope_description="place orders for the shop's customers and follow the orders placed"
        )
        server = pool.add_resource_server(
            "WaybillApi", identifier=identifier, user_pool_resource_server_name="Waybill API", scopes=[place]
        )
        # A shop's storefront: OAuth client credentials (its secret stays with the shop; Cognito shows it to
        # admins only). It signs no user in and reads or writes no attribute.
        self.storefront_client = pool.add_client(
            "StorefrontClient",
            user_pool_client_name="waybill-storefront",
            generate_secret=True,
            auth_flows=cognito.AuthFlow(),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(client_credentials=True),
                scopes=[cognito.OAuthScope.resource_server(server, place)],
            ),
            access_token_validity=cdk.Duration.hours(1),
            prevent_user_existence_errors=True,
            read_attributes=cognito.ClientAttributes(),
            write_attributes=cognito.ClientAttributes(),
        )
        return pool

    def _customer_client(self) -> cognito.UserPoolClient:
        """The customers' hosted-UI client (sign up, verify, sign in; PKCE, a public client), returning to
        the order page. What a customer may write about themselves: their e-mail (sign-up needs it; a new
        one counts once verified), name and locale. There is nothing else to write: the pool has no custom
        attributes, and groups are not attributes (only admins' API calls assign them)."""
        site_url = f"https://{self.distribution.distribution_domain_name}"
        return self.customer_pool.add_client(
            "CustomerClient",
            user_pool_client_name="waybill-customers",
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_srp=True),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
                callback_urls=[f"{site_url}/track/", "http://127.0.0.1:8001/track/"],
                logout_urls=[f"{site_url}/track/", "http://127.0.0.1:8001/track/"],
            ),
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            prevent_user_existence_errors=True,
            write_attributes=cognito.ClientAttributes().with_standard_attributes(
                email=True, fullname=True, given_name=True, family_name=True, locale=True, timezone=True
            ),
        )

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
            web_acl_id=self.deployment.cloudfront_web_acl,  # us-east-1 (CLOUDFRONT scope): EdgeWafStack
        )
        self.admin_client: cognito.UserPoolClient
        if self.deployment.cloudfront_web_acl is None:
            acknowledge(
                distribution,
                "AwsSolutions-CFR2",
                "this stage opted out of the edge web ACL (-c cloudfront_waf_arn=none): the page's static files "
                "are public anyway, and its /api/* behavior reaches API Gateway, whose stage has the regional "
                "web ACL (managed rules, rate limit) and JWT authorization on every non-public route",
            )
        for rule, reason in (
            ("AwsSolutions-CFR1", "staff sign in from wherever they work; the API behind the page authenticates"),
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
            # what a signed-in user may change about themselves: their name and locale, never the
            # supplier they act for (custom:supplier_id) nor their e-mail (the care/team checks use it);
            # roles are Cognito groups, which only admins assign
            write_attributes=cognito.ClientAttributes().with_standard_attributes(
                fullname=True, given_name=True, family_name=True, locale=True, timezone=True
            ),
        )
        return bucket, distribution

    def _publish_admin_site(self) -> None:
        """The static pages (the admin page at `/`, the order page at `/track/`, the supplier front office
        at `/supplier/`), their `config.js` (this stack's Cognito), and `/api/*` routed by the same
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
                "Content-Type", "Idempotency-Key", "Accept", "X-Request-Id", "If-None-Match"
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
        config_js = f"window.WAYBILL_CONFIG = {json.dumps(config)};\n"
        # The order page (track/) and the supplier front office (supplier/) beside the admin page, under
        # their own prefixes, with the admin page also under admin/: they import its modules as
        # `../admin/js/...`. One deployment (one prune) for the whole site.
        import shutil
        import tempfile

        pages = Path(tempfile.mkdtemp(prefix="waybill-pages-"))
        skip = shutil.ignore_patterns("README.md")
        shutil.copytree(ADMIN_DIR, pages / "admin", ignore=skip)
        mounted = [name for name in ("track", "supplier") if (ADMIN_DIR.parent / name / "index.html").is_file()]
        for name in mounted:
            shutil.copytree(ADMIN_DIR.parent / name, pages / name, ignore=skip)
        deployment = s3deploy.BucketDeployment(
            self,
            "AdminSiteContent",
            sources=[
                s3deploy.Source.asset(str(ADMIN_DIR), exclude=["README.md"]),
                s3deploy.Source.asset(str(pages)),
                s3deploy.Source.data("config.js", config_js),
                *(s3deploy.Source.data(f"{name}/config.js", config_js) for name in mounted),
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
        acknowledge(handler, "Serverless-LambdaLatestVersion", "CDK pins the BucketDeployment handler's runtime")
        for rule in ("Serverless-LambdaDLQ", "Serverless-LambdaTracing"):
            acknowledge(
                handler,
                rule,
                "CDK's BucketDeployment handler runs only during a deployment, called synchronously by "
                "CloudFormation, which reports its failure and rolls the deployment back",
            )
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
        for base, q in zip(self.base_topology.failure_queues, self.topology.failure_queues, strict=True):
            lid = logical_id(base.name.removeprefix("waybill-").replace("-", "_"))  # stable across stages
            queue = sqs.Queue(
                self,
                f"{lid}Queue",
                queue_name=q.name,
                retention_period=cdk.Duration.days(14),
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
            )
            acknowledge(queue, "AwsSolutions-SQS3", "this queue is itself where failures are left (a dead-letter queue)")
            acknowledge(
                queue,
                "Serverless-SQSRedrivePolicy",
                "this queue is itself where failures are left: nothing consumes it, operators read and replay "
                "what it holds (docs/operations.md), and its depth is alarmed",
            )
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
        # References name the topology's resources; this stack holds them under the stage's names.
        named = self.deployment.name
        queues = {**self.queues, **self.failure_queues}
        secrets = {s.name: secret for s, secret in zip(self.topology.secrets, self.secrets, strict=True)}
        keys = {k.alias: key.key_arn for k, key in zip(self.base_topology.keys, self.app_keys, strict=True)}
        identities = [
            f"arn:{stack.partition}:ses:{stack.region}:{stack.account}:identity/{e}" for e in self.topology.email_identities
        ]
        machines = {m.name: self.state_machines[m.definition].attr_arn for m in self.topology.state_machines}
        return ArnFormat(
            partition=stack.partition,
            region=stack.region,
            account=stack.account,
            table_arn=lambda _: self.table.table_arn,
            stream_arn=lambda _: stream_arn(self.table),
            queue_arn=lambda name: queues[named(name)].queue_arn,
            bus_arn=lambda _: self.bus.event_bus_arn,
            state_machine_arns=lambda: machines,
            secret_arn=lambda name: secrets[named(name)].secret_arn,
            bucket_arn=lambda name: self.buckets[name].bucket_arn,
            # Chalice leaves the names to CloudFormation: <stack>-<logical id>-<suffix>
            log_group=lambda name: f"/aws/lambda/{stack.stack_name}-{function_logical_id(name)}-*",
            key_arn=lambda alias: keys[alias],
            physical=named,
            email_identity_arns=lambda _: identities,  # the deployment's domain identity, whatever the local address
            user_pool_arn=lambda: self.user_pool.user_pool_arn,
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
        customer_issuer = f"https://cognito-idp.{self.region}.amazonaws.com/{self.customer_pool.user_pool_id}"
        s = self.settings
        env = {
            "WAYBILL_STAGE": s.stage,
            "WAYBILL_TABLE_NAME": self.table.table_name,
            "WAYBILL_BUS_NAME": self.bus.event_bus_name,
            "WAYBILL_MAIL_FROM": self.topology.email_identities[0],
            "WAYBILL_JWKS_URL": f"{issuer}/.well-known/jwks.json",
            "WAYBILL_JWT_ISSUER": issuer,
            "WAYBILL_CUSTOMER_JWKS_URL": f"{customer_issuer}/.well-known/jwks.json",
            "WAYBILL_CUSTOMER_JWT_ISSUER": customer_issuer,
            "WAYBILL_USER_POOL_ID": self.user_pool.user_pool_id,  # suppliers' users are invited into it
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
                    "WAYBILL_CUSTOMER_JWT_AUDIENCE": self.customer_client.user_pool_client_id,
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
                resource.add_resource_dependency(self.queues[self.deployment.name(fn.queue.name)].node.default_child)
            if fn.stream is not None:
                stream = fn.stream
                source = f"Properties.Events.{logical_id(fn.name)}DynamodbEventSource.Properties"
                resource.add_override(f"{source}.Stream", self.table.table_stream_arn)
                resource.add_override(f"{source}.BatchSize", stream.batch_size)
                resource.add_override(f"{source}.StartingPosition", stream.starting_position)
                resource.add_override(f"{source}.BisectBatchOnFunctionError", stream.bisect_on_error)
                resource.add_override(f"{source}.MaximumRetryAttempts", stream.maximum_retry_attempts)
                resource.add_override(f"{source}.MaximumRecordAgeInSeconds", stream.maximum_record_age_s)
                if stream.filters:
                    patterns = [{"Pattern": json.dumps(p, separators=(",", ":"))} for p in stream.filters]
                    resource.add_override(f"{source}.FilterCriteria", {"Filters": patterns})
                failures = self.failure_queues[self.deployment.name(stream.on_failure_queue)]
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
                            destination=self.failure_queues[self.deployment.name(target.dead_letter_queue)].queue_arn
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
            dlq = self.failure_queues[self.deployment.name(target.dead_letter_queue)]
            role.add_to_policy(iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[fn_arn]))
            role.add_to_policy(iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[dlq.queue_arn]))
            minutes = int(getattr(self.settings, sched.rate_setting))
            schedules.append(
                scheduler.CfnSchedule(
                    self,
                    f"Schedule{logical_id(fn.name)}",
                    name=self.deployment.name(sched.name),
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

    # ------------------------------------------------------------ deployment settings

    def _secrets(self) -> list[secretsmanager.Secret]:
        """One per topology secret, starting as `{}` (a JSON object the app reads as "nothing set
        yet", never a random string that answers 500); operators write the values (docs/operations.md)."""
        secrets = []
        for i, s in enumerate(self.topology.secrets):
            secret = secretsmanager.Secret(
                self,
                f"Secret{i}",
                secret_name=s.name,
                description=s.purpose,
                secret_string_value=cdk.SecretValue.unsafe_plain_text("{}"),  # no secret in it: an empty object
            )
            acknowledge(
                secret,
                "AwsSolutions-SMG4",
                "webhook signing secrets are shared with each sender and API credentials are issued by the "
                "gateway or bank; rotation is a coordinated manual step (docs/operations.md), made safe for "
                "webhooks by several active secrets at once (Standard Webhooks), not a Lambda rotation",
            )
            secrets.append(secret)
        return secrets

    def _mail_identity(self) -> ses.EmailIdentity:
        """The SES domain identity the app sends from, signed with Easy DKIM: its three CNAME records
        are outputs (`DkimRecord1..3`) for the domain's DNS; SES verifies the domain once they resolve."""
        identity = ses.EmailIdentity(
            self, "MailIdentity", identity=ses.Identity.domain(self.deployment.mail_domain), dkim_signing=True
        )
        tokens = (
            (identity.dkim_dns_token_name1, identity.dkim_dns_token_value1),
            (identity.dkim_dns_token_name2, identity.dkim_dns_token_value2),
            (identity.dkim_dns_token_name3, identity.dkim_dns_token_value3),
        )
        for i, (name, value) in enumerate(tokens, start=1):
            cdk.CfnOutput(self, f"DkimRecord{i}", value=cdk.Fn.join(" ", [name, "CNAME", value]), description="DNS record")
        return identity

    def _functions(self) -> dict[str, cdk.CfnResource]:
        """The Chalice functions (SAM resources), by logical id."""
        return {
            c.node.id: c
            for c in self.app.sam_template.node.children
            if isinstance(c, cdk.CfnResource) and c.cfn_resource_type == "AWS::Serverless::Function"
        }

    def deployment_environment(self) -> dict[str, str]:
        """The `WAYBILL_*` settings a deployment chooses (infra/deployment.py), the same for every function."""
        d = self.deployment
        secrets = {s.name for s in TOPOLOGY.secrets}
        assert {PAYMENT_GATEWAY_SECRET, BANK_SECRET} <= secrets
        return {
            "WAYBILL_MAIL_FROM": d.sender,
            **{f"WAYBILL_MAILBOX_{role.upper()}": d.mailbox(role) for role in MAILBOX_ROLES},
            "WAYBILL_PAYMENT_GATEWAY_URL": d.payment_gateway_url,
            "WAYBILL_BANK_URL": d.bank_url,
            "WAYBILL_INBOUND_WEBHOOKS_SECRET": d.name(TOPOLOGY.secrets[0].name),
            "WAYBILL_PAYMENT_GATEWAY_SECRET": d.name(PAYMENT_GATEWAY_SECRET),
            "WAYBILL_BANK_SECRET": d.name(BANK_SECRET),
            "WAYBILL_WEBHOOK_SECRETS_KEY": f"alias/{d.name(TOPOLOGY.keys[0].alias)}",
        }

    def _deployment_environment(self) -> None:
        """Added to each function's environment beside what `_chalice_app` sets (overrides win)."""
        for fn in self._functions().values():
            for key, value in self.deployment_environment().items():
                fn.add_override(f"Properties.Environment.Variables.{key}", value)

    def _stage_event_sources(self) -> None:
        """Chalice names each consumer's queue by its unscoped name (app.py's decorators); point every
        SQS event source at this stage's queue instead."""
        for q in self.topology.queues:
            fn = self.app.get_resource(logical_id(q.handler))
            fn.add_override(
                f"Properties.Events.{logical_id(q.handler)}SqsEventSource.Properties.Queue", self.queues[q.name].queue_arn
            )

    # ------------------------------------------------------------ the API's protection

    def _api_protection(self) -> None:
        """Throttling (a stage default, tighter on the public webhook routes), access and error logs,
        X-Ray, and the regional web ACL on the `api` stage."""
        d = self.deployment
        rest_api = self.app.get_resource("RestAPI")
        self.api_name = d.name(f"{APP_NAME}-api")
        rest_api.add_override("Properties.Name", self.api_name)
        access_logs = self._log_group("ApiAccessLogs")
        rest_api.add_override(
            "Properties.AccessLogSetting",
            {
                "DestinationArn": access_logs.log_group_arn,
                "Format": json.dumps(
                    {
                        "requestId": "$context.requestId",
                        "ip": "$context.identity.sourceIp",
                        "method": "$context.httpMethod",
                        "path": "$context.resourcePath",
                        "status": "$context.status",
                        "latencyMs": "$context.responseLatency",
                        "waf": "$context.waf.status",
                    }
                ),
            },
        )
        rest_api.add_override("Properties.TracingEnabled", True)
        settings = [
            {
                "ResourcePath": "/*",
                "HttpMethod": "*",
                "ThrottlingRateLimit": d.api_rate_limit,
                "ThrottlingBurstLimit": d.api_burst_limit,
                "LoggingLevel": "ERROR",
                "MetricsEnabled": True,
                "DataTraceEnabled": False,  # request bodies (personal data) stay out of the logs
            }
        ]
        settings += [
            {
                "ResourcePath": "/" + path.replace("/", "~1"),  # the route, its slashes escaped
                "HttpMethod": "POST",
                "ThrottlingRateLimit": d.webhook_rate_limit,
                "ThrottlingBurstLimit": d.webhook_burst_limit,
                "LoggingLevel": "ERROR",
                "MetricsEnabled": True,
                "DataTraceEnabled": False,
            }
            for path in WEBHOOK_ROUTES
        ]
        rest_api.add_override("Properties.MethodSettings", settings)
        # Execution logs need the account's API Gateway CloudWatch role (one setting per account and
        # region: a second stage sets the same role again).
        logs_role = iam.Role(
            self,
            "ApiGatewayLogsRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AmazonAPIGatewayPushToCloudWatchLogs")
            ],
        )
        acknowledge(
            logs_role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
            "API Gateway's account-wide logging role: AWS's managed policy is the documented one for it",
        )
        account = cdk.CfnResource(
            self, "ApiGatewayAccount", type="AWS::ApiGateway::Account", properties={"CloudWatchRoleArn": logs_role.role_arn}
        )
        rest_api.add_resource_dependency(account)
        acl = web_acl(self, "ApiWebAcl", scope="REGIONAL", name=d.name(f"{APP_NAME}-api"), rate_limit=d.waf_rate_limit)
        self.api_web_acl = acl
        # `RestAPI.Stage` is SAM's reference to the stage it generates (so the association waits for it)
        stage_arn = cdk.Fn.sub("arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${RestAPI}/stages/${RestAPI.Stage}")
        wafv2.CfnWebACLAssociation(self, "ApiWebAclAssociation", resource_arn=stage_arn, web_acl_arn=acl.attr_arn)

    def _event_archive(self) -> None:
        """Every app event kept for a while, so a consumer's lost work can be replayed (docs/operations.md)."""
        self.archive = self.bus.archive(
            "Archive",
            archive_name=self.deployment.name(f"{APP_NAME}-events"),
            description="every Waybill event, for replay after a consumer failure",
            event_pattern=events.EventPattern(source=[EVENT_SOURCE]),
            retention=cdk.Duration.days(self.deployment.archive_retention_days),
        )

    # ------------------------------------------------------------ logs, alarms, dashboard

    def _log_group(self, construct_id: str) -> logs.LogGroup:
        """A retained log group keeping its events for the deployment's `log_retention_days`."""
        group = logs.LogGroup(self, construct_id, removal_policy=cdk.RemovalPolicy.RETAIN)
        cfn_element(group).add_property_override("RetentionInDays", self.deployment.log_retention_days)
        return group

    def _observability(self) -> None:
        """A log group per function (retention from the settings), an alarm on each failure path to
        the alerts topic, and one dashboard of the same metrics."""
        d = self.deployment
        functions = self._functions()
        for lid, fn in functions.items():
            logs.CfnLogGroup(
                self,
                f"{lid}Logs",
                log_group_name=cdk.Fn.join("", ["/aws/lambda/", fn.ref]),
                retention_in_days=d.log_retention_days,
            ).apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        states_logs = self.node.try_find_child("StatesLogs")
        if states_logs is not None:
            cfn_element(states_logs).add_property_override("RetentionInDays", d.log_retention_days)

        five_min = cdk.Duration.minutes(5)
        errors = {lid: self._lambda_metric("Errors", fn) for lid, fn in functions.items()}
        throttles = {lid: self._lambda_metric("Throttles", fn) for lid, fn in functions.items()}
        for lid in functions:
            self._alarm(f"{lid}Errors", errors[lid], 1, f"{lid} raised errors (a failed invocation)")
            self._alarm(f"{lid}Throttles", throttles[lid], 1, f"{lid} was throttled (concurrency exhausted)")
        api = {"ApiName": self.api_name, "Stage": "api"}
        api_5xx = cloudwatch.Metric(
            namespace="AWS/ApiGateway", metric_name="5XXError", dimensions_map=api, statistic="Sum", period=five_min
        )
        api_latency = cloudwatch.Metric(
            namespace="AWS/ApiGateway", metric_name="Latency", dimensions_map=api, statistic="p99", period=five_min
        )
        self._alarm("Api5xx", api_5xx, 5, "the API answered 5xx (a 500 is a bug)")
        self._alarm("ApiLatency", api_latency, 3000, "the API's p99 latency is over 3 s", periods=3)
        publisher = functions.get("StreamPublisher")
        iterator_age = None
        if publisher is not None:
            iterator_age = self._lambda_metric("IteratorAge", publisher, statistic="Maximum")
            self._alarm(
                "StreamIteratorAge",
                iterator_age,
                5 * 60 * 1000,
                "the table stream's publisher is over 5 min behind: events, notifications and workflows wait",
            )
        failed = {}
        for definition, machine in self.state_machines.items():
            failed[definition] = cloudwatch.Metric(
                namespace="AWS/States",
                metric_name="ExecutionsFailed",
                dimensions_map={"StateMachineArn": machine.ref},
                statistic="Sum",
                period=five_min,
            )
            self._alarm(f"{logical_id(definition)}Failed", failed[definition], 1, f"a {definition} execution failed")
        schedule_metrics = {
            name: cloudwatch.Metric(
                namespace="AWS/Scheduler",
                metric_name=name,
                dimensions_map={"ScheduleGroup": "default"},
                statistic="Sum",
                period=five_min,
            )
            for name in ("TargetErrorCount", "InvocationDroppedCount")
        }
        self._alarm("ScheduleTargetErrors", schedule_metrics["TargetErrorCount"], 1, "a schedule could not invoke its function")
        self._alarm(
            "ScheduleInvocationsDropped",
            schedule_metrics["InvocationDroppedCount"],
            1,
            "a scheduled run was dropped after its retries (e.g. campaigns not ended)",
        )
        throttled = cloudwatch.MathExpression(
            expression="reads + writes",
            using_metrics={
                "reads": self.table.metric("ReadThrottleEvents", statistic="Sum", period=five_min),
                "writes": self.table.metric("WriteThrottleEvents", statistic="Sum", period=five_min),
            },
            label="table throttle events",
            period=five_min,
        )
        self._alarm("TableThrottles", throttled, 1, "DynamoDB throttled requests to the table")
        for base, rule in zip(self.base_topology.rules, self.topology.rules, strict=True):
            failed_deliveries = cloudwatch.Metric(
                namespace="AWS/Events",
                metric_name="FailedInvocations",
                dimensions_map={"EventBusName": self.topology.bus, "RuleName": rule.name},
                statistic="Sum",
                period=five_min,
            )
            self._alarm(
                f"Rule{logical_id(base.name.replace('-', '_'))}FailedDeliveries",
                failed_deliveries,
                1,
                f"the bus could not deliver events of {rule.name} to its queue (replay them from the archive)",
            )
        ses_rates = {
            name: cloudwatch.Metric(namespace="AWS/SES", metric_name=name, statistic="Maximum", period=cdk.Duration.hours(1))
            for name in ("Reputation.BounceRate", "Reputation.ComplaintRate")
        }
        # SES reviews an account at 5 % bounces and 0.1 % complaints: alarm well before
        self._alarm("MailBounceRate", ses_rates["Reputation.BounceRate"], 0.02, "the SES bounce rate is over 2 %")
        self._alarm("MailComplaintRate", ses_rates["Reputation.ComplaintRate"], 0.0005, "the SES complaint rate is over 0.05 %")
        ages = {}
        for q in self.topology.queues:
            queue = self.queues[q.name]
            ages[q.name] = queue.metric_approximate_age_of_oldest_message(statistic="Maximum", period=five_min)
            # a message may wait out every retry (visibility timeout x receives) before its dead letter:
            # older than that and its consumer is not keeping up
            self._alarm(
                f"{logical_id(q.handler)}QueueAge",
                ages[q.name],
                q.visibility_timeout_s * q.max_receive_count + 300,
                f"the oldest message in {q.name} waits longer than its retries take",
            )
        self._dashboard(
            errors, throttles, api_5xx, api_latency, iterator_age, failed, schedule_metrics, throttled, ses_rates, ages
        )

    def _lambda_metric(self, name: str, fn: cdk.CfnResource, statistic: str = "Sum") -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/Lambda",
            metric_name=name,
            dimensions_map={"FunctionName": fn.ref},
            statistic=statistic,
            period=cdk.Duration.minutes(5),
        )

    def _alarm(self, lid: str, metric: cloudwatch.IMetric, threshold: float, description: str, periods: int = 1) -> None:
        alarm = cloudwatch.Alarm(
            self,
            f"Alarm{lid}",
            alarm_name=self.deployment.name(f"{APP_NAME}-{lid}"),
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            evaluation_periods=periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.alerts))

    def _dashboard(
        self,
        errors: dict[str, cloudwatch.Metric],
        throttles: dict[str, cloudwatch.Metric],
        api_5xx: cloudwatch.Metric,
        api_latency: cloudwatch.Metric,
        iterator_age: cloudwatch.Metric | None,
        failed: dict[str, cloudwatch.Metric],
        schedules: dict[str, cloudwatch.Metric],
        throttled: cloudwatch.MathExpression,
        ses_rates: dict[str, cloudwatch.Metric],
        ages: dict[str, cloudwatch.Metric],
    ) -> None:
        def graph(title: str, metrics: list[cloudwatch.IMetric]) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(title=title, left=metrics, width=12)

        dlq_depths = [
            cloudwatch.Metric(
                namespace="AWS/SQS",
                metric_name="ApproximateNumberOfMessagesVisible",
                dimensions_map={"QueueName": q.dlq_name},
                statistic="Maximum",
                label=q.dlq_name,
            )
            for q in self.topology.queues
        ]
        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=self.deployment.name(f"{APP_NAME}-operations"))
        dashboard.add_widgets(
            graph("Lambda errors", [m.with_(label=lid) for lid, m in errors.items()]),
            graph("Lambda throttles", [m.with_(label=lid) for lid, m in throttles.items()]),
        )
        dashboard.add_widgets(graph("API 5xx", [api_5xx]), graph("API latency p99 (ms)", [api_latency]))
        dashboard.add_widgets(
            graph("Stream iterator age (ms)", [iterator_age] if iterator_age else []),
            graph("Failed executions", [m.with_(label=d) for d, m in failed.items()]),
        )
        dashboard.add_widgets(graph("Schedule failures", list(schedules.values())), graph("Table throttle events", [throttled]))
        dashboard.add_widgets(
            graph("SES bounce and complaint rates", list(ses_rates.values())),
            graph("Oldest message age (s)", [m.with_(label=name) for name, m in ages.items()]),
        )
        dashboard.add_widgets(graph("Dead letters waiting", dlq_depths))

    def _outputs(self) -> None:
        cdk.CfnOutput(self, "ApiUrl", value=self.app.sam_template.get_output("EndpointURL").value)
        cdk.CfnOutput(self, "AdminUrl", value=f"https://{self.distribution.distribution_domain_name}")
        cdk.CfnOutput(self, "UserPoolId", value=self.user_pool.user_pool_id)
        cdk.CfnOutput(self, "AdminClientId", value=self.admin_client.user_pool_client_id)
        cdk.CfnOutput(self, "CustomerUserPoolId", value=self.customer_pool.user_pool_id)
        cdk.CfnOutput(self, "CustomerClientId", value=self.customer_client.user_pool_client_id)
        cdk.CfnOutput(self, "CustomerSignInDomain", value=self.customer_hosted_ui.base_url())
        cdk.CfnOutput(self, "StorefrontClientId", value=self.storefront_client.user_pool_client_id)
        cdk.CfnOutput(self, "StorefrontTokenUrl", value=f"{self.customer_hosted_ui.base_url()}/oauth2/token")
        cdk.CfnOutput(self, "StorefrontScope", value=STOREFRONT_SCOPE)
        cdk.CfnOutput(self, "AdminSiteBucketName", value=self.site_bucket.bucket_name)
        cdk.CfnOutput(self, "Stage", value=self.deployment.stage)
        cdk.CfnOutput(self, "TableName", value=self.table.table_name)
        cdk.CfnOutput(self, "EventArchiveName", value=self.deployment.name(f"{APP_NAME}-events"))


# The public routes (signed webhooks from carriers, the bank, supplier systems): tighter throttling.
WEBHOOK_ROUTES = ("/webhooks/bank", "/webhooks/carriers/{carrier}", "/webhooks/suppliers/{supplier_id}")


def web_acl(parent: Construct, construct_id: str, *, scope: str, name: str, rate_limit: int) -> wafv2.CfnWebACL:
    """A web ACL with AWS's managed Common and KnownBadInputs rule groups and a per-IP rate limit.
    The Common group's 8 KB body-size rule only counts: the app refuses oversized bodies itself
    (413), and exports or complaints carry bodies larger than 8 KB."""

    def visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
        return wafv2.CfnWebACL.VisibilityConfigProperty(
            cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
        )

    def managed(priority: int, group: str, counted: tuple[str, ...] = ()) -> wafv2.CfnWebACL.RuleProperty:
        return wafv2.CfnWebACL.RuleProperty(
            name=group,
            priority=priority,
            override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                    vendor_name="AWS",
                    name=group,
                    rule_action_overrides=[
                        wafv2.CfnWebACL.RuleActionOverrideProperty(
                            name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                        )
                        for rule in counted
                    ]
                    or None,
                )
            ),
            visibility_config=visibility(group),
        )

    return wafv2.CfnWebACL(
        parent,
        construct_id,
        name=name,
        scope=scope,
        default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
        visibility_config=visibility(name),
        rules=[
            managed(0, "AWSManagedRulesCommonRuleSet", counted=("SizeRestrictions_BODY",)),
            managed(1, "AWSManagedRulesKnownBadInputsRuleSet"),
            wafv2.CfnWebACL.RuleProperty(
                name="RatePerIp",
                priority=2,
                action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(limit=rate_limit, aggregate_key_type="IP")
                ),
                visibility_config=visibility("RatePerIp"),
            ),
        ],
    )


class EdgeWafStack(cdk.Stack):
    """The distribution's web ACL: CloudFront accepts only CLOUDFRONT-scope ACLs made in us-east-1, so
    it is its own small stack there (`cdk deploy WaybillEdge -c stage=...`), deployed before the main
    stack, whose `-c cloudfront_waf_arn=` takes this stack's `WebAclArn` output. A setting rather than
    a cross-region reference: CDK's cross-region references add a custom-resource Lambda that reads
    SSM in the other region, and the ARN changes only when this stack is replaced."""

    def __init__(self, scope: Construct, construct_id: str, *, deployment: Deployment, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        acl = web_acl(
            self, "EdgeWebAcl", scope="CLOUDFRONT", name=deployment.name(f"{APP_NAME}-edge"), rate_limit=deployment.waf_rate_limit
        )
        cdk.CfnOutput(self, "WebAclArn", value=acl.attr_arn, description="pass as -c cloudfront_waf_arn=")
