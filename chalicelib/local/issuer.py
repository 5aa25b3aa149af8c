"""The local dev issuer: an RSA key pair the local stack creates, its JWKS, and tokens.

Stands in for Cognito on the embedded stack; the authorizer verifies its tokens exactly as
it verifies Cognito's (RS256, JWKS, issuer, audience, expiry, groups). It mints both kinds: a
person's token (groups) and a storefront's client-credentials token (scope, no user)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..domain.permissions import STOREFRONT_SCOPE
from ..topology import TOPOLOGY

ISSUER = "waybill-local"
AUDIENCE = "waybill"


@dataclass
class DevIssuer:
    private_pem: bytes
    kid: str = "waybill-dev-1"
    issuer: str = ISSUER
    audience: str = AUDIENCE

    @classmethod
    def generate(cls, kid: str = "waybill-dev-1") -> "DevIssuer":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        return cls(private_pem=pem, kid=kid)

    @classmethod
    def load(cls, path: Path) -> "DevIssuer":
        data = json.loads(path.read_text())
        return cls(private_pem=data["private_pem"].encode(), kid=data["kid"])

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"private_pem": self.private_pem.decode(), "kid": self.kid}))
        path.chmod(0o600)

    def jwks(self) -> dict[str, Any]:
        private = serialization.load_pem_private_key(self.private_pem, password=None)
        if not isinstance(private, rsa.RSAPrivateKey):
            raise ValueError("the dev issuer's key is not an RSA key (RS256)")
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    def token(
        self,
        sub: str,
        roles: list[str],
        *,
        email: str | None = None,
        supplier_id: str | None = None,
        name: str | None = None,
        ttl_seconds: int = 12 * 3600,
        **overrides: Any,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": sub,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": now + ttl_seconds,
            "cognito:groups": roles,
        }
        if email:  # the dev issuer stands for Cognito after the user confirmed the address
            claims["email"] = email
            claims["email_verified"] = True
        if supplier_id:
            claims["custom:supplier_id"] = supplier_id
        if name:
            claims["name"] = name
        claims.update(overrides)  # an override of None leaves that claim out (email_verified=None: unverified)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, self._signing_key(), algorithm="RS256", headers={"kid": self.kid})

    def storefront_token(
        self, client_id: str, *, scope: str = STOREFRONT_SCOPE, ttl_seconds: int = 3600, **overrides: Any
    ) -> str:
        """A shop's storefront's machine token, shaped as Cognito's client-credentials grant issues it:
        an access token whose subject is the app client, with the granted scope and no user, no groups
        and no audience."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": client_id,
            "client_id": client_id,
            "iss": self.issuer,
            "iat": now,
            "exp": now + ttl_seconds,
            "token_use": "access",
            "scope": scope,
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, self._signing_key(), algorithm="RS256", headers={"kid": self.kid})

    def _signing_key(self) -> Any:
        """The parsed key, kept: parsing the PEM (what `jwt.encode` does with bytes) costs ~90 ms a token."""
        key = self.__dict__.get("_key")
        if key is None:
            key = self.__dict__["_key"] = serialization.load_pem_private_key(self.private_pem, password=None)
        return key

    def environment(self) -> dict[str, str]:
        """What the API needs to trust this issuer."""
        return {
            "WAYBILL_JWKS_JSON": json.dumps(self.jwks()),
            "WAYBILL_JWT_ISSUER": self.issuer,
            "WAYBILL_JWT_AUDIENCE": self.audience,
        }


def in_process_environment(issuer: DevIssuer) -> dict[str, str]:
    """Environment for running the app against moto in this process (tests, benchmarks):
    fake credentials, one region, no endpoint override, metrics off, this issuer trusted."""
    return {
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",  # moto's in-process DynamoDB streams need it
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "WAYBILL_STAGE": "test",
        # moto names ARNs after its default account: the state machines provision() creates.
        **{
            f"WAYBILL_{m.definition.upper()}_ARN": f"arn:aws:states:eu-west-1:123456789012:stateMachine:{m.name}"
            for m in TOPOLOGY.state_machines
        },
        **issuer.environment(),
    }
