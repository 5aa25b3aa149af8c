"""Fixtures for the adapter suites: the moto account of `tests.aws`, provisioned through one
shared boto3 session (a new session re-parses every service model: ~0.5 s per test)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from chalicelib.adapters import gateway
from chalicelib.adapters.aws import reset_clients
from chalicelib.config import settings
from chalicelib.local.provision import Provisioned
from chalicelib.local.sandbox_gateway import SandboxGateway
from chalicelib.services import customer_payments
from tests.adapters import shop
from tests.aws import SFN_CONFIG, api, client, provisioned  # noqa: F401  (fixtures)

_SESSION = boto3.session.Session(region_name="eu-west-1")


@pytest.fixture
def aws() -> Iterator[Provisioned]:
    with mock_aws(config=SFN_CONFIG):  # type: ignore[arg-type]
        reset_clients()
        yield provisioned(session=_SESSION)
    reset_clients()


@pytest.fixture
def campaign_id(aws: Provisioned) -> str:
    """Three suppliers and one live campaign selling from all of them."""
    shop.suppliers()
    return shop.live_campaign()


# ---------------------------------------------------------------- the sandbox payment gateway (customer money)


@pytest.fixture
def sandbox() -> Iterator[SandboxGateway]:
    server = SandboxGateway(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.stop()


def point_gateway_at(monkeypatch: pytest.MonkeyPatch, url: str, **more: int) -> None:
    """Settings are read once; the gateway port and the refunds read them through these names."""
    patched = dataclasses.replace(
        settings(), payment_gateway_url=url, payment_gateway_retries=1, payment_gateway_timeout_s=2, **more
    )
    monkeypatch.setattr(gateway, "settings", lambda: patched)
    monkeypatch.setattr(customer_payments, "settings", lambda: patched)


@pytest.fixture
def gateway_up(monkeypatch: pytest.MonkeyPatch, sandbox: SandboxGateway) -> SandboxGateway:
    point_gateway_at(monkeypatch, sandbox.url)
    return sandbox
