"""`make package` (infra/package.py) builds on a machine with no AWS set up: `chalice package`
deploys nothing but refuses to run without a region, so the build supplies one when none is
configured, and leaves a configured one alone."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra import package


@pytest.fixture
def no_aws_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No region in the environment, and an AWS config file with none either."""
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "aws-config"
    config.write_text("[default]\noutput = json\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    return config


def test_chalice_packages_with_a_region_when_none_is_configured(no_aws_setup: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, str]] = []

    def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        assert cmd[1:2] == ["package"]
        seen.append(kwargs["env"])
        return subprocess.CompletedProcess(cmd, 2, "", "stopped here by the test")

    monkeypatch.setattr(package.subprocess, "run", run)
    with pytest.raises(RuntimeError, match="stopped here by the test"):
        package.build(no_aws_setup.parent / "out")
    [env] = seen
    assert env["AWS_DEFAULT_REGION"] == package.PACKAGE_REGION


def test_a_configured_region_is_left_as_it_is(no_aws_setup: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-2")
    assert package.chalice_env()["AWS_DEFAULT_REGION"] == "ap-southeast-2"
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    no_aws_setup.write_text("[default]\nregion = ca-central-1\n")
    assert "AWS_DEFAULT_REGION" not in package.chalice_env(), "the config file's region is chalice's too"
