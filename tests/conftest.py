"""Test environment for every suite: fake credentials, one region, a dev issuer.

Set before anything imports `chalicelib.config` (settings are read once). Nothing here
starts moto: `unit/` must run with no AWS at all; the AWS suites use `tests.aws`."""

from __future__ import annotations

import os

from chalicelib.local.issuer import DevIssuer, in_process_environment

ISSUER = DevIssuer.generate(kid="waybill-test-1")

os.environ.update(in_process_environment(ISSUER))
os.environ.pop("AWS_ENDPOINT_URL", None)
