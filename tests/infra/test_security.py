"""Security of the deployed edges: Cognito attributes users cannot write, API Gateway throttling,
web ACLs on the API stage and the distribution, old object versions expiring."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chalicelib.domain.permissions import STOREFRONT_SCOPE
from infra.deployment import CHECK_CONTEXT, Deployment
from infra.stacks import NONCURRENT_VERSION_DAYS, WEBHOOK_ROUTES
from tests.infra.conftest import resources

DEPLOYMENT = Deployment.from_context(CHECK_CONTEXT.get)


def _pools(template: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the staff and suppliers' pool, the customers' pool), by logical id."""
    pools = resources(template, "AWS::Cognito::UserPool")
    assert len(pools) == 2 and sorted(k[:5] for k in pools) == ["Custo", "Users"], list(pools)
    ((staff,),) = [[p["Properties"] for k, p in pools.items() if k.startswith("Users")]]
    ((customers,),) = [[p["Properties"] for k, p in pools.items() if k.startswith("Customers")]]
    return staff, customers


def _client(template: dict[str, Any], prefix: str) -> dict[str, Any]:
    ((client,),) = [
        [c["Properties"] for k, c in resources(template, "AWS::Cognito::UserPoolClient").items() if k.startswith(prefix)]
    ]
    return client


def test_the_supplier_id_is_immutable_and_users_write_only_their_name_and_locale(template):
    pool, _ = _pools(template)
    (supplier,) = [a for a in pool["Schema"] if a["Name"] == "supplier_id"]
    assert supplier["Mutable"] is False
    writable = set(_client(template, "UsersAdminClient")["WriteAttributes"])
    assert writable == {"name", "given_name", "family_name", "locale", "zoneinfo"}
    assert not {a for a in writable if a.startswith("custom:") or "email" in a}


def test_staff_and_suppliers_need_mfa_and_an_admin_to_exist(template):
    staff, _ = _pools(template)
    assert staff["MfaConfiguration"] == "ON" and staff["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert staff["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True  # no self sign-up


def test_customers_sign_up_and_verify_themselves_with_mfa_optional_in_their_own_pool(template):
    _, customers = _pools(template)
    assert customers["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is False  # self sign-up
    assert customers["AutoVerifiedAttributes"] == ["email"]
    assert customers["UserAttributeUpdateSettings"]["AttributesRequireVerificationBeforeUpdate"] == ["email"]
    assert customers["MfaConfiguration"] == "OPTIONAL" and customers["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert customers["UserPoolAddOns"]["AdvancedSecurityMode"] == "ENFORCED"
    # no tenant attribute to claim, and no group to join: roles never come from this pool
    assert not [a for a in customers.get("Schema", []) if a.get("AttributeDataType") and not a.get("Required")]
    groups = resources(template, "AWS::Cognito::UserPoolGroup").values()
    assert groups and all("Users" in json.dumps(g["Properties"]["UserPoolId"]) for g in groups)


def test_the_customers_hosted_ui_client_writes_no_custom_attribute(template):
    client = _client(template, "CustomersCustomerClient")
    assert client["GenerateSecret"] is False and client["AllowedOAuthFlows"] == ["code"]
    assert all(url.endswith("/track/") for url in json.loads(json.dumps(client["CallbackURLs"]))[1:])
    writable = set(client["WriteAttributes"])
    assert writable == {"email", "name", "given_name", "family_name", "locale", "zoneinfo"}  # email: sign-up sets it
    assert not {a for a in writable if a.startswith("custom:")}


def test_a_storefront_gets_client_credentials_for_the_order_scope_only(template):
    ((server_id, server),) = resources(template, "AWS::Cognito::UserPoolResourceServer").items()
    assert server["Properties"]["Identifier"] == STOREFRONT_SCOPE.split("/")[0] == "waybill"
    assert [s["ScopeName"] for s in server["Properties"]["Scopes"]] == [STOREFRONT_SCOPE.split("/")[1]]
    assert "Customers" in json.dumps(server["Properties"]["UserPoolId"])
    client = _client(template, "CustomersStorefrontClient")
    assert client["GenerateSecret"] is True
    assert client["AllowedOAuthFlows"] == ["client_credentials"] and client["AllowedOAuthFlowsUserPoolClient"] is True
    scope = STOREFRONT_SCOPE.split("/")[1]
    # "<the server's identifier>/orders.place": the server's Ref is its identifier
    assert client["AllowedOAuthScopes"] == [{"Fn::Join": ["", [{"Ref": server_id}, f"/{scope}"]]}]
    assert client["WriteAttributes"] == [] and client["ReadAttributes"] == []
    assert not client.get("CallbackURLs")


def test_both_pools_have_a_sign_in_domain_and_the_outputs_name_what_a_shop_needs(template):
    domains = [d["Properties"]["UserPoolId"] for d in resources(template, "AWS::Cognito::UserPoolDomain").values()]
    assert sorted(json.dumps(d)[9:14] for d in domains) == ["Custo", "Users"]
    outputs = set(template["Outputs"])
    assert {
        "CustomerUserPoolId",
        "CustomerClientId",
        "CustomerSignInDomain",
        "StorefrontClientId",
        "StorefrontTokenUrl",
    } <= outputs
    assert template["Outputs"]["StorefrontScope"]["Value"] == STOREFRONT_SCOPE


def _api(template: dict[str, Any]) -> dict[str, Any]:
    (api,) = resources(template, "AWS::Serverless::Api").values()
    return api["Properties"]


def test_the_api_stage_is_throttled_and_the_public_webhook_routes_tighter(template):
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in _api(template)["MethodSettings"]}
    default = settings[("/*", "*")]
    assert (default["ThrottlingRateLimit"], default["ThrottlingBurstLimit"]) == (
        DEPLOYMENT.api_rate_limit,
        DEPLOYMENT.api_burst_limit,
    )
    paths = set(_api(template)["DefinitionBody"]["paths"])
    for route in WEBHOOK_ROUTES:
        assert route in paths  # a renamed route would leave its throttle behind
        tight = settings[("/" + route.replace("/", "~1"), "POST")]
        assert tight["ThrottlingRateLimit"] < default["ThrottlingRateLimit"]
        assert tight["ThrottlingBurstLimit"] < default["ThrottlingBurstLimit"]
    assert {p for p in paths if p.startswith("/webhooks/")} == set(WEBHOOK_ROUTES)
    assert all(s["DataTraceEnabled"] is False for s in settings.values())  # bodies stay out of the logs


def test_the_api_writes_access_logs_and_traces(template):
    api = _api(template)
    assert api["TracingEnabled"] is True
    destination = api["AccessLogSetting"]["DestinationArn"]["Fn::GetAtt"][0]
    assert destination in resources(template, "AWS::Logs::LogGroup")
    assert "$context.requestId" in api["AccessLogSetting"]["Format"]
    assert resources(template, "AWS::ApiGateway::Account")


def _rules(acl: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["Name"]: r for r in acl["Properties"]["Rules"]}


def _assert_managed_rules_and_rate_limit(acl: dict[str, Any], scope: str) -> None:
    assert acl["Properties"]["Scope"] == scope
    assert acl["Properties"]["DefaultAction"] == {"Allow": {}}
    rules = _rules(acl)
    for group in ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"):
        statement = rules[group]["Statement"]["ManagedRuleGroupStatement"]
        assert (statement["VendorName"], statement["Name"]) == ("AWS", group)
        assert rules[group]["OverrideAction"] == {"None": {}}  # the group's own block actions apply
    rate = rules["RatePerIp"]
    assert rate["Action"] == {"Block": {}}
    assert rate["Statement"]["RateBasedStatement"] == {"AggregateKeyType": "IP", "Limit": DEPLOYMENT.waf_rate_limit}


def test_a_regional_web_acl_guards_the_api_stage(template):
    ((acl_id, acl),) = resources(template, "AWS::WAFv2::WebACL").items()
    _assert_managed_rules_and_rate_limit(acl, "REGIONAL")
    (association,) = resources(template, "AWS::WAFv2::WebACLAssociation").values()
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    stage_arn = association["Properties"]["ResourceArn"]["Fn::Sub"]
    assert stage_arn.endswith("/restapis/${RestAPI}/stages/${RestAPI.Stage}")  # SAM's stage, once it exists


def test_the_distribution_takes_the_edge_web_acl_made_in_us_east_1(template, edge_template, stack):
    ((_, dist),) = resources(template, "AWS::CloudFront::Distribution").items()
    assert dist["Properties"]["DistributionConfig"]["WebACLId"] == CHECK_CONTEXT["cloudfront_waf_arn"]
    (acl,) = resources(edge_template, "AWS::WAFv2::WebACL").values()
    _assert_managed_rules_and_rate_limit(acl, "CLOUDFRONT")
    assert "WebAclArn" in edge_template["Outputs"]
    edge = stack.node.scope.node.find_child("WaybillEdge")
    assert edge.region == "us-east-1"


def test_the_no_waf_acknowledgement_is_made_only_when_a_stage_opts_out_and_says_api_traffic_passes_through():
    source = (Path(__file__).resolve().parents[2] / "infra" / "stacks.py").read_text()
    assert "serves static files only" not in source
    (reason,) = [chunk for chunk in source.split("AwsSolutions-CFR2")[1:2]]
    assert "/api/*" in reason[:600] and "cloudfront_waf_arn=none" in reason[:600]


def test_opting_out_of_the_edge_web_acl_is_explicit(tmp_path):
    import aws_cdk as cdk
    from aws_cdk import assertions
    from cdk_nag import AwsSolutionsChecks

    from infra.app import CONTEXT
    from infra.stacks import WaybillStack

    app = cdk.App(outdir=str(tmp_path), context=CONTEXT)
    deployment = Deployment.from_context({**CHECK_CONTEXT, "cloudfront_waf_arn": "none"}.get)
    stack = WaybillStack(app, "Waybill", deployment=deployment, env=cdk.Environment(region="eu-west-1"))
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()  # CFR2 acknowledged for this stage only, so the synth stays green
    template = assertions.Template.from_stack(stack).to_json()
    ((_, dist),) = resources(template, "AWS::CloudFront::Distribution").items()
    assert "WebACLId" not in dist["Properties"]["DistributionConfig"]


def test_old_versions_of_exports_and_uploads_expire(template):
    versioned = [
        b["Properties"]
        for b in resources(template, "AWS::S3::Bucket").values()
        if b["Properties"].get("VersioningConfiguration", {}).get("Status") == "Enabled"
    ]
    prefixes = {b["LoggingConfiguration"]["LogFilePrefix"] for b in versioned}
    assert prefixes == {"s3/waybill-uploads/", "s3/waybill-exports/"}
    for bucket in versioned:
        rules = json.dumps(bucket["LifecycleConfiguration"]["Rules"])
        assert f'"NoncurrentVersionExpiration": {{"NoncurrentDays": {NONCURRENT_VERSION_DAYS}}}' in rules
