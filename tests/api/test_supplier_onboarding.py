"""Suppliers' ways in: staff invite and disable the users who sign in to the front office (Cognito in
AWS, tested on moto's user pool; the dev directory locally), and issue, rotate and revoke the secret
the supplier's own system signs its webhooks with; a new supplier is told what it still lacks."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from standardwebhooks.webhooks import Webhook

from chalicelib.adapters import secrets
from chalicelib.adapters.aws import client, reset_clients
from chalicelib.config import settings
from chalicelib.local.provision import Provisioned
from chalicelib.services import inbound
from chalicelib.topology import TOPOLOGY
from tests.api.support import _SESSION, API_TOPOLOGY, assert_error
from tests.aws import ADMIN, ALICE, BUYER, CARE, SFN_CONFIG, provisioned

WITH_MAIL = dataclasses.replace(API_TOPOLOGY, email_identities=TOPOLOGY.email_identities)


@pytest.fixture
def aws() -> Iterator[Provisioned]:
    """The API's account, with the mail identity (invitations are e-mailed)."""
    with mock_aws(config=SFN_CONFIG):  # type: ignore[arg-type]
        reset_clients()
        secrets.forget()
        yield provisioned(WITH_MAIL, session=_SESSION)
    reset_clients()
    secrets.forget()


@pytest.fixture
def user_pool(aws: Provisioned, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A Cognito user pool as the stack makes it (immutable custom:supplier_id, one group per role)."""
    idp = client("cognito-idp")
    pool = idp.create_user_pool(
        PoolName="waybill-users",
        UsernameAttributes=["email"],
        Schema=[{"Name": "supplier_id", "AttributeDataType": "String", "Mutable": False}],
    )["UserPool"]["Id"]
    idp.create_group(UserPoolId=pool, GroupName="supplier")
    monkeypatch.setenv("WAYBILL_USER_POOL_ID", pool)
    settings.cache_clear()
    yield pool
    settings.cache_clear()


def supplier(api, sid: str = "acme", **extra: Any) -> dict[str, Any]:
    status, body = api.post(
        "/staff/suppliers", BUYER, {"id": sid, "name": "Acme Mugs", "contact_emails": ["o@acme.example"], **extra}
    )
    assert status == 201, body
    return body


def mails_to(address: str) -> list[Any]:
    return [m for m in ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages if address in m.destinations["ToAddresses"]]


def signed(secret: str, body: bytes = b'{"type":"ping"}', msg: str = "msg_1") -> dict[str, str]:
    at = datetime.now(UTC)
    return {
        "webhook-id": msg,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg, at, body.decode()),
    }


def verifies(supplier_id: str, secret: str) -> bool:
    secrets.forget()
    try:
        inbound.verify(inbound.supplier_sender(supplier_id), b'{"type":"ping"}', signed(secret))
        return True
    except inbound.WebhookRejected:
        return False


# ---------------------------------------------------------------- users


def test_in_aws_an_invited_user_is_made_in_the_user_pool_with_the_supplier_id_set_by_staff(api, user_pool):
    supplier(api)
    status, user = api.post("/staff/suppliers/acme/users", BUYER, {"email": "Pat@Acme.example", "name": "Pat Packer"})
    assert status == 201, user
    assert user["email"] == "pat@acme.example" and user["status"] == "invited" and user["supplier_id"] == "acme"

    idp = client("cognito-idp")
    made = idp.admin_get_user(UserPoolId=user_pool, Username="pat@acme.example")
    attributes = {a["Name"]: a["Value"] for a in made["UserAttributes"]}
    assert attributes["custom:supplier_id"] == "acme" and attributes["sub"] == user["id"]
    groups = idp.admin_list_groups_for_user(UserPoolId=user_pool, Username="pat@acme.example")["Groups"]
    assert [g["GroupName"] for g in groups] == ["supplier"]
    [mail] = mails_to("pat@acme.example")
    assert f"{settings().public_url}/supplier/" in mail.body and "temporary password" in mail.body

    assert_error(*api.post("/staff/suppliers/acme/users", BUYER, {"email": "pat@acme.example", "name": "Pat"}), 409)
    status, disabled = api.post(f"/staff/suppliers/acme/users/{user['id']}/disable", BUYER)
    assert status == 200 and disabled["status"] == "disabled", disabled
    assert idp.admin_get_user(UserPoolId=user_pool, Username="pat@acme.example")["Enabled"] is False
    assert api.get("/staff/suppliers/acme/users", CARE)[1]["items"] == [disabled]


def test_locally_an_invited_user_is_recorded_for_the_dev_sign_in_and_mailed_the_link(api, aws):
    supplier(api)
    status, user = api.post("/staff/suppliers/acme/users", ADMIN, {"email": "sam@acme.example", "name": "Sam"})
    assert status == 201, user
    assert user["id"].startswith("usr_")
    [mail] = mails_to("sam@acme.example")
    assert f"{settings().public_url}/supplier/" in mail.body and "temporary password" not in mail.body
    from chalicelib.services import supplier_access

    assert [u.email for u in supplier_access.users_who_can_sign_in(["acme"])] == ["sam@acme.example"]
    api.post(f"/staff/suppliers/acme/users/{user['id']}/disable", ADMIN)
    assert supplier_access.users_who_can_sign_in(["acme"]) == []


def test_users_are_invited_by_staff_who_manage_suppliers_for_a_supplier_that_exists(api, aws):
    supplier(api)
    body = {"email": "x@acme.example", "name": "X"}
    assert_error(*api.post("/staff/suppliers/acme/users", CARE, body), 403, "forbidden")
    assert_error(*api.post("/staff/suppliers/acme/users", ALICE, body), 403, "forbidden")
    assert_error(*api.post("/staff/suppliers/nope/users", BUYER, body), 404, "not_found")
    assert_error(*api.post("/staff/suppliers/acme/users", BUYER, {"email": "not-an-address", "name": "X"}), 422)
    assert_error(*api.post("/staff/suppliers/acme/users/usr_nope/disable", BUYER), 404, "not_found")


# ---------------------------------------------------------------- the inbound webhook secret


def test_a_secret_is_shown_once_and_a_rotation_keeps_the_old_one_for_the_grace_period_only(api, aws, monkeypatch):
    supplier(api)
    status, first = api.post("/staff/suppliers/acme/webhook-secret", ADMIN)
    assert status == 201, first
    assert first["secret"].startswith("whsec_") and first["rotated"] is False and first["sender"] == "supplier:acme"
    assert verifies("acme", first["secret"])
    assert first["secret"] not in json.dumps(api.get("/staff/suppliers/acme", CARE)[1])  # never shown again

    status, second = api.post("/staff/suppliers/acme/webhook-secret", ADMIN)
    assert status == 201 and second["rotated"] is True and second["secret"] != first["secret"]
    until = datetime.fromisoformat(second["previous_valid_until"])
    assert timedelta(hours=23) < until - datetime.now(UTC) <= timedelta(hours=24)
    assert verifies("acme", second["secret"]) and verifies("acme", first["secret"])
    later = datetime.now(UTC) + timedelta(hours=25)
    assert secrets.webhook_secrets("supplier:acme", at=later) == [second["secret"]]

    status, third = api.post("/staff/suppliers/acme/webhook-secret", ADMIN)  # a second rotation drops the first
    assert not verifies("acme", first["secret"]) and verifies("acme", second["secret"]) and verifies("acme", third["secret"])


def test_revoking_stops_every_secret_at_once_and_leaves_other_senders_alone(api, aws):
    supplier(api)
    supplier(api, "bolt")
    acme = api.post("/staff/suppliers/acme/webhook-secret", ADMIN)[1]
    api.post("/staff/suppliers/acme/webhook-secret", ADMIN)
    bolt = api.post("/staff/suppliers/bolt/webhook-secret", ADMIN)[1]
    status, left = api.call("DELETE", "/staff/suppliers/acme/webhook-secret", ADMIN)
    assert status == 200 and left["webhook_secret"] is False, left
    assert not verifies("acme", acme["secret"]) and verifies("bolt", bolt["secret"])
    assert_error(*api.call("DELETE", "/staff/suppliers/acme/webhook-secret", ADMIN), 404, "not_found")
    assert_error(*api.post("/staff/suppliers/acme/webhook-secret", CARE), 403, "forbidden")


def test_a_change_while_another_holds_the_secrets_lease_is_a_409_and_writes_nothing(api, aws):
    from chalicelib.services import uow
    from chalicelib.services.clock import now
    from chalicelib.services.ports import Save
    from chalicelib.services.ports_access import SecretLease

    supplier(api)
    name = settings().inbound_webhooks_secret
    uow.store().commit([Save(SecretLease(name, "lease_other", now() + timedelta(seconds=30)), None)], what="lease", at=now())
    assert_error(*api.post("/staff/suppliers/acme/webhook-secret", ADMIN), 409, "conflict")
    assert secrets.webhook_secrets("supplier:acme") == []


# ---------------------------------------------------------------- a new supplier


def test_a_new_supplier_is_told_what_it_lacks_or_gets_it_on_request(api, aws):
    bare = supplier(api)
    assert bare["access"] == {
        "users": 0,
        "webhook_secret": False,
        "missing": [
            "a user to sign in to the front office: POST /staff/suppliers/acme/users",
            "a webhook secret for its own system: POST /staff/suppliers/acme/webhook-secret",
        ],
    }
    assert bare["webhook_secret"] is None and bare["invited_user"] is None

    full = supplier(api, "bolt", invite={"email": "kim@bolt.example", "name": "Kim"}, issue_webhook_secret=True)
    assert full["access"] == {"users": 1, "webhook_secret": True, "missing": []}
    assert full["invited_user"]["email"] == "kim@bolt.example" and verifies("bolt", full["webhook_secret"]["secret"])
    assert api.get("/staff/suppliers/bolt", CARE)[1]["access"] == full["access"]


def test_the_local_dev_sign_in_offers_an_invited_user_and_mints_its_supplier_token(api, aws):
    import jwt

    from chalicelib.local.admin_site import AdminSite
    from chalicelib.local.issuer import DevIssuer
    from chalicelib.services.supplier_access import dev_sign_in_users

    supplier(api)
    user = api.post("/staff/suppliers/acme/users", BUYER, {"email": "sam@acme.example", "name": "Sam"})[1]
    site = AdminSite(issuer=DevIssuer.generate(), users=[], invited_users=dev_sign_in_users)
    assert [u["sub"] for u in site.config()["auth"]["users"]] == [user["id"]]
    status, raw = site.sign_in(json.dumps({"sub": user["id"], "role": "supplier"}).encode())
    assert status == 200, raw
    claims = jwt.decode(json.loads(raw)["token"], options={"verify_signature": False})
    assert claims["custom:supplier_id"] == "acme" and claims["cognito:groups"] == ["supplier"]

    api.post(f"/staff/suppliers/acme/users/{user['id']}/disable", BUYER)
    assert site.sign_in(json.dumps({"sub": user["id"], "role": "supplier"}).encode())[0] == 400  # disabled: no way in
