"""Test environment for every suite: fake credentials, one region, a dev issuer.

Set before anything imports `chalicelib.config` (settings are read once). Nothing here
starts moto: `unit/` must run with no AWS at all; the AWS suites use `tests.aws`."""

from __future__ import annotations

import os

from chalicelib.local.issuer import DevIssuer

ISSUER = DevIssuer.generate(kid="waybill-test-1")

os.environ.update({
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "WAYBILL_STAGE": "test",
    **ISSUER.environment(),
})
os.environ.pop("AWS_ENDPOINT_URL", None)
