"""The CDK app, synthesized once for the infra suite (run on its own: `make infra-check`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, Any]]]:
    from aws_cdk import assertions

    from infra.app import build

    app = build(outdir=str(tmp_path_factory.mktemp("cdk.out")))
    stack = app.node.find_child("Waybill")
    app.synth()  # runs the cdk-nag plugin: an unacknowledged finding fails here
    template = assertions.Template.from_stack(stack)
    edge = assertions.Template.from_stack(app.node.find_child("WaybillEdge"))
    yield stack, template.to_json(), edge.to_json()


@pytest.fixture(scope="session")
def stack(synthesized):
    return synthesized[0]


@pytest.fixture(scope="session")
def template(synthesized) -> dict[str, Any]:
    return synthesized[1]


@pytest.fixture(scope="session")
def edge_template(synthesized) -> dict[str, Any]:
    """The us-east-1 stack holding the distribution's web ACL."""
    return synthesized[2]


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def _staged() -> Any:
    from chalicelib.topology import TOPOLOGY, staged
    from infra.deployment import CHECK_CONTEXT

    return staged(TOPOLOGY, CHECK_CONTEXT["stage"])


# The topology as the checked stage deploys it (every physical name scoped to the stage).
STAGED = _staged()
