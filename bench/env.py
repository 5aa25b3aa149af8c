"""The benchmark environment: what tests/conftest.py sets, set before `chalicelib.config` is read.

Settings are read once per process, so `setup()` must run before anything imports
`chalicelib.config` (or `app`). The cold-import subprocesses get the same variables."""

from __future__ import annotations

import os
from pathlib import Path

from chalicelib.local.issuer import DevIssuer  # imports no settings

ROOT = Path(__file__).resolve().parent.parent

_issuer: DevIssuer | None = None


def setup() -> DevIssuer:
    """Fake credentials, one region, no endpoint override (moto runs in-process), a dev issuer."""
    global _issuer
    if _issuer is None:
        _issuer = DevIssuer.generate(kid="waybill-bench-1")
        os.environ.update({
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "WAYBILL_STAGE": "test",
            **_issuer.environment(),
        })
        os.environ.pop("AWS_ENDPOINT_URL", None)
        os.environ.pop("AWS_PROFILE", None)
    return _issuer
