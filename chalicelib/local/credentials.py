"""Each local function's AWS credentials: its own role's, assumed from the embedded account.

boto3 and PynamoDB read credentials from the environment. The worker processes get a role's
credentials as variables (`role_variables`; the worker is replaced before they expire); the
long-running API process (`chalice local`) points `AWS_CONFIG_FILE` at a profile per function
whose `credential_process` is this module: botocore calls it for role credentials
(`sts:AssumeRole` as the operator) and again before they expire, as Lambda renews them.

    python -m chalicelib.local.credentials --endpoint URL --role-arn ARN --session NAME
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# The operator's key in the embedded account (server.admit_access_key): what the stack, its
# pollers and a developer's tools use; the functions never do.
OPERATOR_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
SESSION_SECONDS = 3600  # botocore renews them 15 minutes before they expire
CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE")


def assume(endpoint: str, role_arn: str, session: str, *, region: str = "eu-west-1") -> dict[str, Any]:
    """The role's credentials in the shape `credential_process` prints."""
    import boto3

    sts = boto3.client(
        "sts",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=OPERATOR_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=OPERATOR_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName=session, DurationSeconds=SESSION_SECONDS)["Credentials"]
    return {
        "Version": 1,
        "AccessKeyId": creds["AccessKeyId"],
        "SecretAccessKey": creds["SecretAccessKey"],
        "SessionToken": creds["SessionToken"],
        "Expiration": creds["Expiration"].isoformat(),
    }


def role_variables(endpoint: str, role_arn: str, session: str, *, region: str = "eu-west-1") -> tuple[dict[str, str], float]:
    """The role's credentials as environment variables, and when they expire (epoch seconds)."""
    from datetime import datetime

    creds = assume(endpoint, role_arn, session, region=region)
    variables = {
        "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
        "AWS_SESSION_TOKEN": creds["SessionToken"],
    }
    return variables, datetime.fromisoformat(creds["Expiration"]).timestamp()


def write_config(path: Path, *, endpoint: str, roles: Mapping[str, str], region: str = "eu-west-1") -> Path:
    """An AWS config file with one profile per function, each assuming that function's role."""
    lines = []
    for name, arn in roles.items():
        command = [sys.executable, "-m", "chalicelib.local.credentials", "--endpoint", endpoint, "--role-arn", arn]
        lines += [
            f"[profile {name}]",
            f"credential_process = {shlex.join([*command, '--session', name, '--region', region])}",
            f"region = {region}",
            "",
        ]
    path.write_text("\n".join(lines))
    return path


def function_environment(env: Mapping[str, str], *, config_file: Path | None = None, function: str = "") -> dict[str, str]:
    """`env` for a process that runs as `function`: none of the operator's keys; with `config_file`,
    its profile (role credentials fetched, and renewed, by botocore); without, the caller adds them."""
    out = {k: v for k, v in env.items() if k not in CREDENTIAL_VARIABLES}
    if config_file is not None:
        out.update({"AWS_CONFIG_FILE": str(config_file), "AWS_PROFILE": function})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--role-arn", required=True)
    parser.add_argument("--session", required=True)
    parser.add_argument("--region", default="eu-west-1")
    args = parser.parse_args(argv)
    print(json.dumps(assume(args.endpoint, args.role_arn, args.session, region=args.region)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
