"""Settings the stack learns only once it exists (the Cognito client id, the admin site's URL)
reach the functions through the SSM parameter that `WAYBILL_SETTINGS_PARAMETER` names."""

from __future__ import annotations

import json

import boto3
import pytest

from chalicelib.config import deployed_variables, load_settings, settings
from chalicelib.local.provision import Provisioned
from chalicelib.topology import TOPOLOGY

NAME = TOPOLOGY.parameters[0].name


def put(value: object) -> None:
    boto3.client("ssm", region_name="eu-west-1").put_parameter(Name=NAME, Value=json.dumps(value), Type="String", Overwrite=True)


def test_the_parameter_is_provisioned_from_the_topology_and_read_over_the_environment(aws: Provisioned, monkeypatch):
    assert aws.parameters == [NAME]
    put({"WAYBILL_JWT_AUDIENCE": "client-123", "WAYBILL_PUBLIC_URL": "https://d1.cloudfront.net", "AWS_REGION": "us-east-1"})
    env = {
        "WAYBILL_SETTINGS_PARAMETER": NAME,
        "WAYBILL_JWT_AUDIENCE": "from-env",
        "AWS_REGION": "eu-west-1",
        "AWS_LAMBDA_FUNCTION_NAME": "waybill-api",
    }
    assert deployed_variables({**env, "AWS_LAMBDA_FUNCTION_NAME": ""}) == {}  # packaging: not in Lambda
    assert deployed_variables(env) == {
        "WAYBILL_JWT_AUDIENCE": "client-123",
        "WAYBILL_PUBLIC_URL": "https://d1.cloudfront.net",
    }  # WAYBILL_ only
    loaded = load_settings({**env, **deployed_variables(env)})
    assert (loaded.jwt_audience, loaded.public_url) == ("client-123", "https://d1.cloudfront.net")

    monkeypatch.setenv("WAYBILL_SETTINGS_PARAMETER", NAME)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "waybill-api")
    settings.cache_clear()
    try:
        assert settings().jwt_audience == "client-123"
    finally:
        monkeypatch.delenv("WAYBILL_SETTINGS_PARAMETER")
        monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME")
        settings.cache_clear()
    assert settings().jwt_audience != "client-123"


def test_without_the_variable_nothing_is_read_and_a_malformed_value_is_refused(aws: Provisioned):
    assert deployed_variables({}) == {}
    put(["not", "an", "object"])
    with pytest.raises(ValueError, match="JSON object"):
        deployed_variables(
            {"WAYBILL_SETTINGS_PARAMETER": NAME, "AWS_REGION": "eu-west-1", "AWS_LAMBDA_FUNCTION_NAME": "waybill-api"}
        )
