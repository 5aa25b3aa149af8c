"""The embedded local stack, end to end: started exactly as `make run` starts it (on free
ports, with its own state directory), used over HTTP like a client would, then stopped with
Ctrl-C (SIGINT) and checked for leftovers (test_shutdown.py, run last: the stack is shared with
tests/browser, which runs in between).

The order placed here travels the whole event pipeline: API -> table -> stream poller ->
publisher -> EventBridge bus -> rule -> SQS -> notifications consumer -> SES (moto).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
import requests

from chalicelib.topology import TOPOLOGY
from tests.local_stack import Stack

MAIL_TIMEOUT_S = 20


@pytest.fixture(scope="module")
def stack(local_stack: Stack) -> Stack:
    """The session's local stack (tests/conftest.py), shared with tests/browser."""
    return local_stack


def _sent_mail(stack: Stack, to: str) -> list[dict[str, Any]]:
    """The mail moto's SES holds for `to` (the local stack's mail view, `/_waybill/mail?to=`, as the
    README reads it), waiting up to MAIL_TIMEOUT_S for the first."""
    deadline = time.monotonic() + MAIL_TIMEOUT_S
    while True:
        r = requests.get(f"{stack.moto}/_waybill/mail", params={"to": to}, timeout=10)
        assert r.status_code == 200, r.text
        mails: list[dict[str, Any]] = r.json()["messages"]
        if mails:
            return mails
        assert time.monotonic() < deadline, f"no mail to {to} within {MAIL_TIMEOUT_S} s:\n{stack.output()[-5000:]}"
        time.sleep(0.5)


def test_an_order_placed_over_http_is_searchable_and_confirmed_by_mail(stack: Stack) -> None:
    assert stack.info["api_url"] == stack.api and stack.info["moto_endpoint"] == stack.moto
    assert requests.get(f"{stack.api}/health", timeout=10).status_code == 200

    # The seed's draft campaign goes live (the browser tests, on the same stack, close the live one).
    buyer = stack.headers("bea", "buyer", email="bea@waybill.example")
    campaign_id = stack.info["seed"]["draft_campaign_id"]
    r = requests.post(f"{stack.api}/staff/campaigns/{campaign_id}/go-live", json={}, headers=buyer, timeout=10)
    assert r.status_code == 200 and r.json()["status"] == "live", r.text
    r = requests.get(f"{stack.api}/staff/campaigns", params={"status": "live"}, headers=buyer, timeout=10)
    assert r.status_code == 200, r.text
    assert campaign_id in [c["id"] for c in r.json()["items"]]
    r = requests.get(f"{stack.api}/staff/campaigns/{campaign_id}", headers=buyer, timeout=10)
    assert r.status_code == 200, r.text
    products = r.json()["products"]
    assert len(products) >= 2 and len({p["supplier_id"] for p in products}) >= 2

    sub = f"e2e-{uuid.uuid4().hex[:8]}"
    email = f"{sub}@example.com"
    customer = stack.headers(sub, "customer", email=email)
    cheapest = sorted(products, key=lambda p: p["unit_price_cents"])[:2]
    ship_to = {"name": "E2E Customer", "lines": ["1 Test Street"], "city": "Paris", "postal_code": "75001", "country": "FR"}
    body = {
        "campaign_id": campaign_id,
        "lines": [{"sku": p["sku"], "quantity": 1} for p in cheapest],
        "shipping_address": ship_to,
    }
    r = requests.post(f"{stack.api}/orders", json=body, headers={**customer, "Idempotency-Key": sub}, timeout=10)
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["status"] == "placed"
    assert order["shipping_address"] == {**ship_to, "phone": None} and order["reference"].startswith("WB-")
    assert order["total_cents"] == sum(p["unit_price_cents"] for p in cheapest)

    r = requests.get(f"{stack.api}/orders/{order['id']}", headers=customer, timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == order["id"] and r.json()["lines"] == order["lines"]
    r = requests.get(f"{stack.api}/orders", headers=customer, timeout=10)
    assert [o["id"] for o in r.json()["items"]] == [order["id"]]

    care = stack.headers("carl", "customer_care", email="carl@waybill.example")
    r = requests.get(f"{stack.api}/staff/orders", params={"customer_id": sub}, headers=care, timeout=10)
    assert r.status_code == 200, r.text
    found = r.json()["items"]
    assert [o["id"] for o in found] == [order["id"]] and found[0]["customer_email"] == email
    r = requests.get(f"{stack.api}/staff/orders", params={"campaign_id": campaign_id, "limit": 100}, headers=care, timeout=10)
    assert order["id"] in [o["id"] for o in r.json()["items"]]

    # The confirmation e-mail comes out of the event pipeline.
    mails = _sent_mail(stack, email)
    assert len(mails) == 1
    assert order["id"] in mails[0]["subject"]
    assert mails[0]["source"] == "noreply@waybill.example"

    # The seed's own events went through the same pipeline.
    seeded = _sent_mail(stack, "cust-01@example.com")
    assert seeded, "the seeded orders' confirmations were not sent"

    # Nothing failed on the way: no poller or scheduler errors, no 500s from the embedded AWS.
    output = stack.output()
    problems = [
        line
        for line in output.splitlines()
        if "ERROR chalicelib.local" in line or "Error on request" in line or '"level":"ERROR"' in line
    ]
    assert not problems, "\n".join(problems[:20])


def test_a_signed_carrier_webhook_is_stored_once_and_applied_through_the_queue(stack: Stack) -> None:
    """Carrier -> API (verified, stored, 202) -> stream poller -> publisher -> bus -> rule -> SQS ->
    inbound-webhooks consumer: a parcel nobody knows yet is kept and raised for staff."""
    from datetime import UTC, datetime

    import boto3

    from chalicelib.domain.shipments import TrackingStatus
    from chalicelib.local.carrier_sim import payload, signed_request

    secret = json.loads((stack.state_dir / "webhook-secrets.json").read_text())["carrier:dhl"]
    number = f"JDE2E{uuid.uuid4().hex[:8].upper()}"
    raw, headers = signed_request(
        payload(
            "dhl", number, TrackingStatus.IN_TRANSIT, datetime.now(UTC), description="Arrived at hub", location="Leipzig, DE"
        ),
        secret,
    )
    first = requests.post(f"{stack.api}/webhooks/carriers/dhl", data=raw, headers=headers, timeout=10)
    again = requests.post(f"{stack.api}/webhooks/carriers/dhl", data=raw, headers=headers, timeout=10)
    tampered = requests.post(f"{stack.api}/webhooks/carriers/dhl", data=raw.replace(b"hub", b"HUB"), headers=headers, timeout=10)
    assert (first.status_code, first.json()["status"]) == (202, "accepted")
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    assert tampered.status_code == 401 and tampered.json()["error"]["code"] == "invalid_signature"

    ddb = boto3.client(
        "dynamodb", endpoint_url=stack.moto, region_name="eu-west-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    deadline = time.monotonic() + MAIL_TIMEOUT_S
    while True:
        tracks = ddb.query(
            TableName=stack.info["table"],
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": f"SHIPMENT#dhl#{number}"}},
        )["Items"]
        if tracks:
            break
        assert time.monotonic() < deadline, f"the webhook was never applied:\n{stack.output()[-3000:]}"
        time.sleep(0.3)
    assert [(t["status"]["S"], t["location"]["S"]) for t in tracks] == [("in_transit", "Leipzig, DE")]
    # Nobody recorded that parcel: `unknown_tracking`, pending for its grace period (the supplier
    # usually records the parcel soon), so it is not in the staff queue yet.
    from chalicelib.services.exceptions import exception_id

    key = {"PK": {"S": f"EXC#{exception_id('unknown_tracking', 'tracking', f'dhl#{number}')}"}, "SK": {"S": "#META"}}
    while "Item" not in (problem := ddb.get_item(TableName=stack.info["table"], Key=key)):
        assert time.monotonic() < deadline, f"unknown_tracking was never raised:\n{stack.output()[-3000:]}"
        time.sleep(0.3)
    assert problem["Item"]["status"]["S"] == "pending" and "GSI3PK" not in problem["Item"]
    assert problem["Item"]["GSI4PK"]["S"].startswith("DUE#"), "the sweep will open it if it lasts"


def _assumed(stack: Stack, role_arn: str, service: str) -> Any:
    """A client of the embedded AWS acting as `role_arn`, assumed by the stack's operator."""
    import boto3

    from chalicelib.local.credentials import OPERATOR_CREDENTIALS, assume

    creds = assume(stack.moto, role_arn, "test")
    assert OPERATOR_CREDENTIALS["AWS_ACCESS_KEY_ID"] not in creds.values()
    return boto3.client(
        service,
        endpoint_url=stack.moto,
        region_name="eu-west-1",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def test_each_function_runs_under_its_own_policy_and_one_action_less_is_refused(stack: Stack) -> None:
    """IAM is enforced: exports' role may BatchWriteItem its markers; the same policy without that one
    action gets a 403 for it (and still writes one item at a time); unknown keys are refused."""
    import boto3
    from botocore.exceptions import ClientError

    from chalicelib.functions import function
    from chalicelib.local.provision import ROLE_PREFIX

    roles = stack.info["function_roles"]
    from pathlib import Path

    api_environment = Path(f"/proc/{stack.info['chalice_pid']}/environ").read_bytes().split(b"\0")
    assert b"AWS_PROFILE=api_handler" in api_environment  # chalice local: the API's role, the authorizer inside
    assert not [v for v in api_environment if v.startswith(b"AWS_ACCESS_KEY_ID=")]  # not the operator's key
    assert set(roles) == {"api_handler", "jwt_auth", "stream_publisher"} | {q.handler for q in TOPOLOGY.queues} | {
        s.handler for s in TOPOLOGY.schedules
    }
    operator = {"endpoint_url": stack.moto, "region_name": "eu-west-1"} | {
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    iam = boto3.client("iam", **operator)
    exports = function("exports_consumer").name
    deployed = iam.get_role_policy(RoleName=f"{ROLE_PREFIX}{exports}", PolicyName="function")["PolicyDocument"]
    assert "dynamodb:BatchWriteItem" in json.dumps(deployed)
    without = {
        **deployed,
        "Statement": [
            {**st, "Action": [a for a in st["Action"] if a != "dynamodb:BatchWriteItem"]} for st in deployed["Statement"]
        ],
    }
    trust = iam.get_role(RoleName=f"{ROLE_PREFIX}{exports}")["Role"]["AssumeRolePolicyDocument"]
    name = f"test-{exports}-without-batch-write-{uuid.uuid4().hex[:6]}"
    reduced = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="function", PolicyDocument=json.dumps(without))

    marker = {"PK": {"S": f"TEST#{uuid.uuid4().hex}"}, "SK": {"S": "EXPORTED#test"}}
    batch = {stack.info["table"]: [{"PutRequest": {"Item": marker}}]}
    _assumed(stack, roles[exports], "dynamodb").batch_write_item(RequestItems=batch)  # the real policy lets it through
    refused = _assumed(stack, reduced, "dynamodb")
    with pytest.raises(ClientError) as denied:
        refused.batch_write_item(RequestItems=batch)
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    refused.put_item(TableName=stack.info["table"], Item=marker)  # only that one action is missing
    # the authorizer reaches no data at all, and a key the account does not know is refused
    with pytest.raises(ClientError) as no_data:
        _assumed(stack, roles["jwt_auth"], "dynamodb").get_item(TableName=stack.info["table"], Key=marker)
    assert no_data.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    stranger = boto3.client("dynamodb", **(operator | {"aws_access_key_id": "AKIASTRANGER"}))
    with pytest.raises(ClientError) as unknown:
        stranger.get_item(TableName=stack.info["table"], Key=marker)
    assert unknown.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_a_function_runs_in_its_own_process_with_its_roles_credentials_and_is_stopped_at_its_timeout(stack: Stack) -> None:
    from chalicelib.local.credentials import function_environment
    from chalicelib.local.pollers import LambdaContext
    from chalicelib.local.scheduler import scheduled_event
    from chalicelib.local.stack import AWS_CONFIG_FILE, PROJECT_DIR
    from chalicelib.local.worker import FunctionProcess, FunctionTimedOut

    env = function_environment(
        {"PATH": "/usr/bin:/bin", "AWS_ENDPOINT_URL": stack.moto, "AWS_DEFAULT_REGION": "eu-west-1", "WAYBILL_STAGE": "local"},
        config_file=stack.state_dir / AWS_CONFIG_FILE,
        function="end_campaigns",
    )
    worker = FunctionProcess("end_campaigns", env=env, cwd=PROJECT_DIR)
    try:
        event = scheduled_event("waybill-end-campaigns", region="eu-west-1")
        result = worker(event, LambdaContext("waybill-dev-end_campaigns", timeout_s=60))
        assert isinstance(result, dict) and "ended" in result  # the role may read and write the table
        with pytest.raises(FunctionTimedOut):  # no handler finishes within a millisecond
            worker(event, LambdaContext("waybill-dev-end_campaigns", timeout_s=0.001))
        assert worker.proc is None  # stopped, as Lambda stops a timed-out environment
        assert "ended" in worker(event, LambdaContext("waybill-dev-end_campaigns", timeout_s=60))
        assert worker.cold_starts == 2
    finally:
        worker.stop()
