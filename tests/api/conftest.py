"""Fixtures for the API suite: `api` and `client` from tests.aws; `aws` is a fresh mocked
account per test, as in tests.aws, provisioned for what the HTTP API touches (see
tests.api.support.mocked_account)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib.local.provision import Provisioned
from tests.api.support import mocked_account
from tests.aws import api, client  # noqa: F401  (fixtures)


@pytest.fixture
def aws() -> Iterator[Provisioned]:
    with mocked_account() as provisioned:
        yield provisioned
