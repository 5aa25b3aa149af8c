"""The custom authorizer: verifies RS256 JWTs against the issuer's JWKS.

Cognito in AWS, the local dev issuer on the embedded stack; either way the roles come from
the token's groups, except in two cases: a token from the customers' pool makes a customer (anyone
may sign up there), and a client-credentials token with the storefront scope makes a storefront.

A rejected token raises `TokenRejected`, whose text is "Unauthorized": API Gateway turns exactly
that into a 401 (the stack's gateway response gives it our error body), and
Chalice's local gateway, which it also subclasses, answers 401 with the reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from chalice.app import AuthResponse, Blueprint

from ..config import settings
from ..domain.permissions import PEOPLE, STOREFRONT_SCOPE, Principal, Role

try:  # chalice.local exists in development and tests, not in the Lambda package
    from chalice.local import NotAuthorizedError as _LocalUnauthorized
except ImportError:  # pragma: no cover - Lambda runtime
    _LocalUnauthorized = Exception  # type: ignore[misc,assignment]

auth = Blueprint(__name__)

GROUP_CLAIMS = ("cognito:groups", "groups")
SUPPLIER_CLAIMS = ("custom:supplier_id", "supplier_id")


def verified_email(claims: dict[str, Any]) -> str | None:
    """The `email` claim, only when `email_verified` says the issuer checked it (Cognito's ID tokens carry
    the string "true", other issuers a boolean). An unverified address is anyone's to type in: trusting
    it would let a customer act as a team mailbox (`care@...`), so the caller then has no e-mail."""
    verified = claims.get("email_verified")
    if verified is True or (isinstance(verified, str) and verified.strip().lower() == "true"):
        email = claims.get("email")
        return email if isinstance(email, str) and email else None
    return None


class TokenRejected(_LocalUnauthorized):
    def __init__(self, reason: str) -> None:
        body = json.dumps({"error": {"code": "unauthorized", "message": reason, "details": []}}).encode()
        if _LocalUnauthorized is not Exception:
            super().__init__({"Content-Type": "application/json"}, body)
        else:  # pragma: no cover
            Exception.__init__(self, "Unauthorized")
        self.reason = reason

    def __str__(self) -> str:
        return "Unauthorized"


@dataclass(frozen=True)
class Trust:
    """An issuer whose tokens get in: where its keys are, the audiences its people's tokens carry, and
    whether it is the customers' pool (whose tokens make a customer whatever groups they claim)."""

    issuer: str
    keys: Any  # jwt.PyJWKSet (inline) or jwt.PyJWKClient (fetched, cached)
    audiences: frozenset[str]
    customers_only: bool = False


def _key_source(jwks_json: str, jwks_url: str, variable: str) -> Any:
    import jwt  # lazily, here and below: PyJWT loads cryptography (~0.1 s of a cold start)

    if jwks_json:
        return jwt.PyJWKSet.from_json(jwks_json)
    if jwks_url:
        return jwt.PyJWKClient(jwks_url, cache_keys=True)
    raise RuntimeError(f"no JWKS configured: set {variable}_JSON or {variable}_URL")


def _audiences(value: str) -> frozenset[str]:
    return frozenset(a.strip() for a in value.split(",") if a.strip())


@lru_cache(maxsize=1)
def _trusts() -> dict[str, Trust]:
    """The trusted issuers by name: the staff and suppliers' pool (MFA required; locally the dev issuer,
    which mints every kind of token) and, when configured, the customers' pool (self sign-up)."""
    s = settings()
    trusts = {s.jwt_issuer: Trust(s.jwt_issuer, _key_source(s.jwks_json, s.jwks_url, "WAYBILL_JWKS"), _audiences(s.jwt_audience))}
    if s.customer_jwt_issuer:
        keys = _key_source(s.customer_jwks_json, s.customer_jwks_url, "WAYBILL_CUSTOMER_JWKS")
        trusts[s.customer_jwt_issuer] = Trust(s.customer_jwt_issuer, keys, _audiences(s.customer_jwt_audience), True)
    return trusts


def _signing_key(trust: Trust, token: str) -> Any:
    import jwt

    if isinstance(trust.keys, jwt.PyJWKClient):
        return trust.keys.get_signing_key_from_jwt(token).key
    kid = jwt.get_unverified_header(token).get("kid")
    for key in trust.keys.keys:
        if key.key_id == kid:
            return key.key
    raise jwt.InvalidTokenError("the token was not signed by a known key")


def is_storefront_token(claims: dict[str, Any]) -> bool:
    """A client-credentials access token with the storefront scope: it names an app client (its
    `sub` is the client itself, as Cognito issues them) and no user (no groups at all). A person's
    token never qualifies, whatever scope it claims: it carries groups, or its subject is a user."""
    if any(c in claims for c in GROUP_CLAIMS) or claims.get("token_use") != "access":
        return False
    client_id = claims.get("client_id")
    scope = claims.get("scope")
    return (
        isinstance(client_id, str)
        and bool(client_id)
        and claims.get("sub") == client_id
        and isinstance(scope, str)
        and STOREFRONT_SCOPE in scope.split()
    )


def verify_token(raw: str) -> Principal:
    """Decode and check a bearer token; raise TokenRejected with the reason when it is not good."""
    import jwt

    token = raw[7:] if raw[:7].lower() == "bearer " else raw
    try:
        issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        trust = _trusts().get(issuer) if isinstance(issuer, str) else None
        if trust is None:
            raise jwt.InvalidIssuerError("unknown issuer")
        claims = jwt.decode(
            token,
            _signing_key(trust, token),
            algorithms=["RS256"],
            issuer=trust.issuer,
            # the audience is checked below: a client-credentials token has none (it names its client)
            options={"require": ["exp", "sub", "iss"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError:
        raise TokenRejected("the token has expired") from None
    except jwt.InvalidIssuerError:
        raise TokenRejected("the token comes from an unknown issuer") from None
    except jwt.InvalidSignatureError:
        raise TokenRejected("the token's signature does not verify") from None
    except jwt.PyJWTError as exc:
        raise TokenRejected(f"the token is not valid: {exc}") from None
    if is_storefront_token(claims):
        client_id = str(claims["client_id"])
        return Principal(sub=client_id, roles=frozenset({Role.STOREFRONT}), name=f"storefront {client_id}")
    audience = claims.get("aud")
    if audience is None:
        raise TokenRejected('the token is not valid: Token is missing the "aud" claim')
    if not trust.audiences & ({audience} if isinstance(audience, str) else set(audience)):
        raise TokenRejected("the token is for another audience")
    if trust.customers_only:
        # Anyone may sign up to this pool: whatever groups or tenant claims its tokens carry, they make a
        # customer and nothing more (staff and suppliers live in the other pool, where admins add them).
        return Principal(
            sub=str(claims["sub"]), roles=frozenset({Role.CUSTOMER}), email=verified_email(claims), name=claims.get("name")
        )
    groups: list[str] = next((claims[c] for c in GROUP_CLAIMS if c in claims), [])
    # A group named after the storefront role grants nothing: that role comes from the token's shape only.
    roles = frozenset(Role(g) for g in groups if g in Role._value2member_map_ and Role(g) in PEOPLE)
    if not roles:
        raise TokenRejected("the token carries no Waybill role")
    supplier_id = next((claims[c] for c in SUPPLIER_CLAIMS if c in claims), None)
    if Role.SUPPLIER in roles and not supplier_id:
        raise TokenRejected("a supplier token must name its supplier_id")
    return Principal(
        sub=str(claims["sub"]), roles=roles, email=verified_email(claims), supplier_id=supplier_id, name=claims.get("name")
    )


@auth.authorizer(ttl_seconds=300)
def jwt_auth(auth_request: Any) -> AuthResponse:
    principal = verify_token(auth_request.token or "")
    context = {
        "roles": ",".join(sorted(principal.roles)),
        "email": principal.email or "",
        "supplier_id": principal.supplier_id or "",
        "name": principal.name or "",
    }
    return AuthResponse(routes=["*"], principal_id=principal.sub, context=context)


def principal_from_context(context: dict[str, Any]) -> Principal | None:
    """Rebuild the caller from what the authorizer put on the request."""
    data = context.get("authorizer") or {}
    sub = data.get("principalId")
    if not sub:
        return None
    roles = frozenset(Role(r) for r in str(data.get("roles", "")).split(",") if r)
    return Principal(
        sub=sub,
        roles=roles,
        email=data.get("email") or None,
        supplier_id=data.get("supplier_id") or None,
        name=data.get("name") or None,
    )
