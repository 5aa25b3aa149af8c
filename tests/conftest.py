"""Test environment for every suite: fake credentials, one region, a dev issuer; and the local
stack that tests/browser and tests/e2e share (started once, when one of them first asks).

Set before anything imports `chalicelib.config` (settings are read once). Nothing here
starts moto: `unit/` must run with no AWS at all; the AWS suites use `tests.aws`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.local.issuer import DevIssuer, in_process_environment

ISSUER = DevIssuer.generate(kid="waybill-test-1")

os.environ.update(in_process_environment(ISSUER))
os.environ.pop("AWS_ENDPOINT_URL", None)
# Staff's overrides are read once per process and test, whatever a setup took: with the deployed 60 s,
# a setup slowed by a loaded machine adds the re-read to a request whose DynamoDB cost a test counts.
# (The local stack's children get a clean environment: they keep the deployed default.)
os.environ["WAYBILL_SETTINGS_CACHE_S"] = "86400"


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """`make run` in a subprocess on free ports, for the whole session: tests/e2e/test_local_stack.py,
    tests/browser, then tests/e2e/test_shutdown.py stops it with Ctrl-C (one pytest, in that order:
    `make test-e2e`)."""
    from tests.local_stack import running_stack

    with running_stack(tmp_path_factory.mktemp("waybill-local"), "--schedule-scale", "0.01") as stack:
        yield stack


# An item holding a value of every DynamoDB attribute type (nested too): the embedded AWS's answers
# written without moto's serializer are compared with the serializer's on it.
EVERY_ATTRIBUTE_TYPE = {
    "s": {"S": 'text é ✓ "quoted" </script>'},
    "n": {"N": "12.50"},
    "b": {"B": b"\x00\xffbytes"},
    "t": {"BOOL": True},
    "z": {"NULL": True},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": [b"\x01", b"\x02"]},
    "l": {"L": [{"S": "x"}, {"N": "1"}, {"M": {"deep": {"N": "3"}}}]},
    "m": {"M": {"inner": {"L": [{"BOOL": False}, {"SS": ["x", "y"]}]}, "n": {"N": "1e3"}}},
}
