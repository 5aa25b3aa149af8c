"""Fixtures for the adapter suites: the moto account of `tests.aws`, provisioned through one
shared boto3 session (a new session re-parses every service model: ~0.5 s per test)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from chalicelib.adapters.aws import reset_clients
from chalicelib.local.provision import Provisioned, provision
from tests.adapters import shop
from tests.aws import SFN_CONFIG, api, client  # noqa: F401  (fixtures)

_SESSION = boto3.session.Session(region_name="eu-west-1")


@pytest.fixture
def aws() -> Iterator[Provisioned]:
    with mock_aws(config=SFN_CONFIG):  # type: ignore[arg-type]
        reset_clients()
        yield provision(session=_SESSION)
    reset_clients()


@pytest.fixture
def campaign_id(aws: Provisioned) -> str:
    """Three suppliers and one live campaign selling from all of them."""
    shop.suppliers()
    return shop.live_campaign()
