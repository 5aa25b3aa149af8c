"""CDK entry point: `python infra/app.py` synthesizes the Waybill stack (and its us-east-1 edge WAF
stack) to cdk.out/, for the stage and settings given as context (infra/deployment.py).

The stack lives in infra/stacks.py; this file only builds the app, so it never shadows the
runtime `app` module that Chalice packages.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "infra"]
sys.path.insert(0, str(ROOT))

import aws_cdk as cdk  # noqa: E402
from cdk_nag import AwsSolutionsChecks, ServerlessChecks  # noqa: E402

from infra.deployment import CHECK_CONTEXT, Deployment  # noqa: E402
from infra.stacks import EdgeWafStack, WaybillStack  # noqa: E402

# Feature flags this stack relies on (the CDK CLI would read them from cdk.json; set here so
# a plain `python infra/app.py` synthesizes the same template).
CONTEXT = {
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,  # log delivery by bucket policy, not ACLs
}


def build(outdir: str | None = None, context: dict[str, Any] | None = None) -> cdk.App:
    """The app for one stage. `context` stands for `-c key=value`; without it (and outside the CDK
    CLI, which always passes its own) the offline check's example settings are used."""
    from_cli = any(key in os.environ for key in ("CDK_CONTEXT_JSON", "CDK_CLI_VERSION"))  # what the CLI sets
    offline = {} if from_cli else CHECK_CONTEXT
    app = cdk.App(outdir=outdir, context={**CONTEXT, **(offline if context is None else context)})
    deployment = Deployment.from_context(app.node.try_get_context)
    account = os.environ.get("CDK_DEFAULT_ACCOUNT")
    WaybillStack(
        app,
        "Waybill",
        stack_name=f"Waybill-{deployment.stage}",
        env=cdk.Environment(
            account=account,
            region=os.environ.get("CDK_DEFAULT_REGION", os.environ.get("AWS_DEFAULT_REGION")),
        ),
        deployment=deployment,
    )
    # CloudFront takes only a web ACL made in us-east-1: its own small stack, deployed first; its
    # WebAclArn output is this stage's `-c cloudfront_waf_arn=` (README, Deploying).
    EdgeWafStack(
        app,
        "WaybillEdge",
        stack_name=f"WaybillEdge-{deployment.stage}",
        env=cdk.Environment(account=account, region="us-east-1"),
        deployment=deployment,
    )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True), ServerlessChecks(app, verbose=True))
    return app


if __name__ == "__main__":
    build().synth()
