"""The custom authorizer: verifies RS256 JWTs against the issuer's JWKS.

Cognito in AWS, the local dev issuer on the embedded stack; either way the roles come from
the token's groups. A rejected token raises `TokenRejected`, whose text is "Unauthorized":
API Gateway turns exactly that into a 401 (the stack's gateway response gives it our error
body), and Chalice's local gateway, which it also subclasses, answers 401 with the reason.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from chalice.app import AuthResponse, Blueprint

from ..config import settings
from ..domain.permissions import Principal, Role

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


@lru_cache(maxsize=1)
def _jwks() -> Any:
    import jwt  # lazily, here and below: PyJWT loads cryptography (~0.1 s of a cold start)

    s = settings()
    if s.jwks_json:
        return jwt.PyJWKSet.from_json(s.jwks_json)
    if s.jwks_url:
        return jwt.PyJWKClient(s.jwks_url, cache_keys=True)
    raise RuntimeError("no JWKS configured: set WAYBILL_JWKS_JSON or WAYBILL_JWKS_URL")


def _signing_key(token: str) -> Any:
    import jwt

    keys = _jwks()
    if isinstance(keys, jwt.PyJWKClient):
        return keys.get_signing_key_from_jwt(token).key
    kid = jwt.get_unverified_header(token).get("kid")
    for key in keys.keys:
        if key.key_id == kid:
            return key.key
    raise jwt.InvalidTokenError("the token was not signed by a known key")


def verify_token(raw: str) -> Principal:
    """Decode and check a bearer token; raise TokenRejected with the reason when it is not good."""
    import jwt

    token = raw[7:] if raw[:7].lower() == "bearer " else raw
    s = settings()
    try:
        claims = jwt.decode(
            token,
            _signing_key(token),
            algorithms=["RS256"],
            audience=s.jwt_audience,
            issuer=s.jwt_issuer,
            options={"require": ["exp", "sub", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenRejected("the token has expired") from None
    except jwt.InvalidAudienceError:
        raise TokenRejected("the token is for another audience") from None
    except jwt.InvalidIssuerError:
        raise TokenRejected("the token comes from an unknown issuer") from None
    except jwt.InvalidSignatureError:
        raise TokenRejected("the token's signature does not verify") from None
    except jwt.PyJWTError as exc:
        raise TokenRejected(f"the token is not valid: {exc}") from None
    groups: list[str] = next((claims[c] for c in GROUP_CLAIMS if c in claims), [])
    roles = frozenset(Role(g) for g in groups if g in Role._value2member_map_)
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
