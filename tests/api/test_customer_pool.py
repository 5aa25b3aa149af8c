"""Two pools, two kinds of trust: tokens from the customers' pool (where anyone may sign up) make a
customer whatever groups or tenant claims they carry; the staff and suppliers' pool keeps its rules."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from chalicelib.api import auth
from chalicelib.api.auth import TokenRejected, verify_token
from chalicelib.config import settings
from chalicelib.domain.permissions import Role
from chalicelib.local.issuer import DevIssuer
from tests.conftest import ISSUER

CUSTOMERS = DevIssuer.generate(kid="customers-1")
CUSTOMERS.issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_customers"
CUSTOMERS.audience = "customers-app-client"


@pytest.fixture(autouse=True)
def customer_pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import json

    configured = dataclasses.replace(
        settings(),
        customer_jwt_issuer=CUSTOMERS.issuer,
        customer_jwks_json=json.dumps(CUSTOMERS.jwks()),
        customer_jwt_audience=f"{CUSTOMERS.audience}, another-customers-client",
    )
    monkeypatch.setattr(auth, "settings", lambda: configured)
    auth._trusts.cache_clear()
    yield
    auth._trusts.cache_clear()


def test_a_customer_pool_token_makes_a_customer_whatever_groups_it_claims():
    token = CUSTOMERS.token("c-signed-up", ["admin", "supplier"], supplier_id="acme", email="new@example.com")
    who = verify_token(token)
    assert (who.sub, who.roles, who.supplier_id, who.email) == (
        "c-signed-up",
        frozenset({Role.CUSTOMER}),
        None,
        "new@example.com",
    )


def test_a_customer_pool_token_without_groups_is_a_customer():
    assert verify_token(CUSTOMERS.token("c-2", [], **{"cognito:groups": None})).roles == {Role.CUSTOMER}


def test_any_of_the_customer_pools_clients_is_an_audience_but_no_other():
    assert verify_token(CUSTOMERS.token("c-3", [], aud="another-customers-client")).roles == {Role.CUSTOMER}
    with pytest.raises(TokenRejected) as rejected:
        verify_token(CUSTOMERS.token("c-3", [], aud=ISSUER.audience))  # the staff client's audience
    assert rejected.value.reason == "the token is for another audience"


def test_a_storefront_token_from_the_customer_pool_makes_a_storefront():
    who = verify_token(CUSTOMERS.storefront_token("shop-1"))
    assert (who.sub, who.roles, who.name) == ("shop-1", frozenset({Role.STOREFRONT}), "storefront shop-1")


def test_a_token_naming_one_pool_signed_by_the_others_key_does_not_verify():
    forged = DevIssuer(private_pem=CUSTOMERS.private_pem, kid=ISSUER.kid)  # the customer key, the staff key's id
    with pytest.raises(TokenRejected) as rejected:
        verify_token(forged.token("c-4", ["admin"]))  # iss: the staff pool
    assert rejected.value.reason == "the token's signature does not verify"
    with pytest.raises(TokenRejected):
        verify_token(DevIssuer(private_pem=ISSUER.private_pem, kid=CUSTOMERS.kid, issuer=CUSTOMERS.issuer).token("c-4", []))


def test_the_staff_pool_keeps_its_rules_beside_the_customer_pool():
    assert verify_token(ISSUER.token("admin-9", ["admin"])).roles == {Role.ADMIN}
    with pytest.raises(TokenRejected):
        verify_token(ISSUER.token("nobody", []))
