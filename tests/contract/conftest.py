"""The store fixture of the contract suite: every test runs once on the in-memory store and once on
the DynamoDB store (on moto, the table provisioned as in the adapter suites)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from chalicelib.adapters.aws import reset_clients
from chalicelib.adapters.dynamodb.store import DynamoStore
from chalicelib.adapters.memory import MemoryStore
from chalicelib.local.provision import provision
from chalicelib.services.ports import Store
from tests.api.support import API_TOPOLOGY
from tests.aws import SFN_CONFIG

_SESSION = boto3.session.Session(region_name="eu-west-1")


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    with mock_aws(config=SFN_CONFIG):  # type: ignore[arg-type]
        reset_clients()
        provision(API_TOPOLOGY, session=_SESSION)  # the table and what the API needs: the store uses no queue
        yield DynamoStore()
    reset_clients()
