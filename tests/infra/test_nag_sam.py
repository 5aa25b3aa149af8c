"""cdk-nag sees the Chalice functions and API too: the AwsSolutions and Serverless packs run over
their SAM-expanded equivalents (infra/sam_check.py); every accepted finding is acknowledged with
its reason, and the API's routes are checked for the authorizer explicitly."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.infra.conftest import resources

PUBLIC_ROUTES = {
    "/health",
    "/openapi.json",
    "/track/lookup",  # the order page's lookup: reference + e-mail, rate-limited, never says which was wrong
    "/track/{token}",  # the order page: the link's token is the credential (hashed, revocable)
    "/webhooks/bank",
    "/webhooks/carriers/{carrier}",
    "/webhooks/suppliers/{supplier_id}",
}


def _violations(template: dict[str, Any], outdir: Path) -> set[tuple[str, str]]:
    """(rule, construct path) of every unacknowledged AwsSolutions or Serverless finding."""
    import aws_cdk as cdk
    from cdk_nag import AwsSolutionsChecks, ServerlessChecks

    from infra.sam_check import expanded_stack

    app = cdk.App(outdir=str(outdir))
    expanded_stack(app, template)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
    try:
        app.synth()
    except RuntimeError as failure:
        assert "ValidationFailed" in str(failure)
    report = json.loads((outdir / "validation-report.json").read_text()) if (outdir / "validation-report.json").exists() else {}
    return {
        (v["ruleName"], c["constructPath"])
        for plugin in report.get("pluginReports", [])
        if plugin["pluginName"] in ("AwsSolutions", "Serverless")
        for v in plugin["violations"]
        for c in v["violatingConstructs"]
    }


def _failure_paths_still_missing(template: dict[str, Any]) -> set[tuple[str, str]]:
    """What the packs must still find: scheduled functions (invoked asynchronously) without an
    on-failure destination, and a stream mapping without one (issue 18, item 3: failure paths)."""
    missing = set()
    for lid, fn in resources(template, "AWS::Serverless::Function").items():
        props = fn["Properties"]
        events = props.get("Events") or {}
        on_failure = (props.get("EventInvokeConfig") or {}).get("DestinationConfig", {}).get("OnFailure", {})
        scheduled = not events and props["Handler"] not in ("app.app", "chalicelib.api.auth.jwt_auth")
        if scheduled and not props.get("DeadLetterQueue") and not on_failure.get("Destination"):
            missing.add(("Serverless-LambdaDLQ", f"SamExpanded/{lid}"))
        for event_id, event in events.items():
            if event["Type"] == "DynamoDB" and not event["Properties"].get("DestinationConfig"):
                missing.add(("Serverless-LambdaEventSourceMappingDestination", f"SamExpanded/{event_id}"))
    return missing


def test_the_expanded_functions_and_api_pass_both_packs_but_for_missing_failure_paths(template, tmp_path):
    assert _violations(template, tmp_path) == _failure_paths_still_missing(template)


def test_the_expanded_check_finds_an_untraced_function_an_unthrottled_stage_and_an_api_without_waf(template, tmp_path):
    broken = copy.deepcopy(template)
    del broken["Resources"]["APIHandler"]["Properties"]["Tracing"]
    api = next(iter(resources(broken, "AWS::Serverless::Api").values()))
    api["Properties"]["MethodSettings"] = [s for s in api["Properties"]["MethodSettings"] if s["ResourcePath"] != "/*"]
    del api["Properties"]["AccessLogSetting"]
    broken["Resources"] = {k: r for k, r in broken["Resources"].items() if r["Type"] != "AWS::WAFv2::WebACLAssociation"}
    found = _violations(broken, tmp_path) - _failure_paths_still_missing(template)
    assert ("Serverless-LambdaTracing", "SamExpanded/APIHandler") in found
    assert ("Serverless-APIGWDefaultThrottling", "SamExpanded/RestAPIapiStage") in found
    assert ("AwsSolutions-APIG1", "SamExpanded/RestAPIapiStage") in found  # access logging
    assert ("AwsSolutions-APIG3", "SamExpanded/RestAPIapiStage") in found  # web ACL


@pytest.mark.parametrize("setting", ["MemorySize", "Timeout"])
def test_every_function_states_its_memory_and_timeout(template, setting):
    for lid, fn in resources(template, "AWS::Serverless::Function").items():
        assert isinstance(fn["Properties"].get(setting), int), (lid, setting)


def test_every_route_but_the_public_ones_needs_the_jwt_authorizer(template):
    (api,) = resources(template, "AWS::Serverless::Api").values()
    paths = api["Properties"]["DefinitionBody"]["paths"]
    open_routes = set()
    for path, methods in paths.items():
        for method, spec in methods.items():
            if method == "options":
                continue
            if not any("jwt_auth" in s for s in spec.get("security", [])):
                open_routes.add(path)
    assert open_routes == PUBLIC_ROUTES


def test_every_sam_acknowledgement_gives_its_reason():
    source = (Path(__file__).resolve().parents[2] / "infra" / "sam_check.py").read_text()
    assert source.count("acknowledge(") >= 5
    for constant in ("SYNCHRONOUS", "POLLED", "ASYNC_DESTINATION"):
        assert len(source.split(f"{constant} = ")[1].split("\n\n")[0]) > 80
