"""The benchmark environment: what tests/conftest.py sets, set before `chalicelib.config` is read.

Settings are read once per process, so `setup()` must run before anything imports
`chalicelib.config` (or `app`). The cold-import subprocesses get the same variables."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from chalicelib.local.issuer import DevIssuer, in_process_environment  # imports no settings

ROOT = Path(__file__).resolve().parent.parent

_issuer: DevIssuer | None = None


def setup() -> DevIssuer:
    """Fake credentials, one region, no endpoint override (moto runs in-process), a dev issuer."""
    global _issuer
    quiet()
    if _issuer is None:
        _issuer = DevIssuer.generate(kid="waybill-bench-1")
        os.environ.update(in_process_environment(_issuer))
        os.environ.pop("AWS_ENDPOINT_URL", None)
        os.environ.pop("AWS_PROFILE", None)
    return _issuer


def quiet() -> None:
    """No log noise in the report: the in-process moto servers' request log (werkzeug, one line per
    request) and moto's own chatter stay out of it."""
    import logging

    for name in ("werkzeug", "moto", "botocore", "urllib3"):
        logging.getLogger(name).setLevel(logging.ERROR)


@contextmanager
def as_operator() -> Iterator[None]:
    """Talk to a local stack (`make run`) as its operator: the `testing` key without the session token the
    in-process environment carries (moto's IAM refuses a session token it did not issue: 403
    InvalidClientTokenId). Sessions that resolved credentials before are dropped, both ways."""
    import boto3

    from chalicelib.adapters import aws

    saved = {k: os.environ.pop(k, None) for k in ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")}

    def forget() -> None:
        boto3.DEFAULT_SESSION = None
        aws._session.cache_clear()
        aws.reset_clients()

    forget()
    try:
        yield
    finally:
        os.environ.update({k: v for k, v in saved.items() if v is not None})
        forget()
