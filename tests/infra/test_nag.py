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


def test_the_serverless_pack_guards_the_synth_too(tmp_path):
    from aws_cdk import aws_sqs as sqs

    from infra.app import build

    app = build(outdir=str(tmp_path))
    sqs.Queue(app.node.find_child("Waybill"), "LonelyQueue", enforce_ssl=True)  # no dead-letter queue
    with pytest.raises(RuntimeError, match="ValidationFailed") as failure:
        app.synth()
    assert "Serverless-SQSRedrivePolicy" in str(failure.value) or "SQSRedrivePolicy" in _report(tmp_path)
    assert "Waybill/LonelyQueue" in str(failure.value) + _report(tmp_path)


def _report(outdir: Path) -> str:
    path = outdir / "validation-report.json"
    return path.read_text() if path.exists() else ""
