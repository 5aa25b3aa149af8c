"""CDK entry point: `python infra/app.py` synthesizes the Waybill stack to cdk.out/.

The stack lives in infra/stacks.py; this file only builds the app, so it never shadows the
runtime `app` module that Chalice packages.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "infra"]
sys.path.insert(0, str(ROOT))

import aws_cdk as cdk  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from infra.stacks import WaybillStack  # noqa: E402

# Feature flags this stack relies on (the CDK CLI would read them from cdk.json; set here so
# a plain `python infra/app.py` synthesizes the same template).
CONTEXT = {
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,  # log delivery by bucket policy, not ACLs
}


def build(outdir: str | None = None) -> cdk.App:
    app = cdk.App(outdir=outdir, context=CONTEXT)
    WaybillStack(
        app,
        "Waybill",
        env=cdk.Environment(
            account=os.environ.get("CDK_DEFAULT_ACCOUNT"),
            region=os.environ.get("CDK_DEFAULT_REGION", os.environ.get("AWS_DEFAULT_REGION")),
        ),
        cognito_domain_prefix=app.node.try_get_context("cognito_domain_prefix") or "waybill-auth",
        alert_email=app.node.try_get_context("alert_email"),
    )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    return app


if __name__ == "__main__":
    build().synth()
