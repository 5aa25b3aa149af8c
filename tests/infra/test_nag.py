"""cdk-nag's AwsSolutions pack guards the synth: a new finding fails it until fixed or acknowledged."""

from __future__ import annotations

import re
from pathlib import Path

import pytest


def test_an_unacknowledged_finding_fails_the_synth(tmp_path):
    from aws_cdk import aws_s3 as s3

    from infra.app import build

    app = build(outdir=str(tmp_path))
    s3.Bucket(app.node.find_child("Waybill"), "CarelessBucket")  # no TLS policy, no access logs
    with pytest.raises(RuntimeError, match="ValidationFailed") as failure:
        app.synth()
    assert "Waybill/CarelessBucket/Resource" in str(failure.value)
    assert "AwsSolutions-S1'" in str(failure.value) and "AwsSolutions-S10'" in str(failure.value)
    assert "Waybill/Table" not in str(failure.value)  # the real stack stays clean


def test_every_acknowledgement_gives_its_reason():
    source = (Path(__file__).resolve().parents[2] / "infra" / "stacks.py").read_text()
    calls = re.findall(r"acknowledge\((?:[^()]|\([^()]*\))*\)", source)
    assert len(calls) >= 5
    for call in calls:
        if call.startswith("acknowledge(construct"):
            continue  # the helper's own definition
        assert re.search(r'"[^"]{20,}"', call) or "reason" in call, call
