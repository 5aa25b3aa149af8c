"""The benchmark environment: what tests/conftest.py sets, set before `chalicelib.config` is read.

Settings are read once per process, so `setup()` must run before anything imports
`chalicelib.config` (or `app`). The cold-import subprocesses get the same variables."""

from __future__ import annotations

import os
from pathlib import Path

from chalicelib.local.issuer import DevIssuer, in_process_environment  # imports no settings

ROOT = Path(__file__).resolve().parent.parent

_issuer: DevIssuer | None = None


def setup() -> DevIssuer:
    """Fake credentials, one region, no endpoint override (moto runs in-process), a dev issuer."""
    global _issuer
    if _issuer is None:
        _issuer = DevIssuer.generate(kid="waybill-bench-1")
        os.environ.update(in_process_environment(_issuer))
        os.environ.pop("AWS_ENDPOINT_URL", None)
        os.environ.pop("AWS_PROFILE", None)
    return _issuer
