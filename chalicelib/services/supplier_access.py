"""Suppliers' ways in (issue 19, point 4): the people who sign in to the front office, and the secret
the supplier's own system signs its webhooks with.

Users: staff invite a user for a supplier (`directory()`: Cognito `AdminCreateUser` with the supplier id
set by staff in AWS, the dev issuer's list locally), which is recorded beside the supplier and told by
e-mail where to sign in (`<site>/supplier/`); staff can disable one (it can no longer sign in; the
record stays, disabled).

Inbound webhook secret: kept in the inbound-webhooks secret (`{"supplier:<id>": [...]}`), the one
`services.inbound.verify` checks signatures against. Issuing makes the first; issuing again rotates:
the new secret is current and the old one keeps verifying for `inbound_secret_grace_s` (an entry with
`expires_at`), so the supplier can switch without losing a webhook; revoking removes every secret of
the supplier at once. The new secret is answered once and never stored anywhere else. The secret is
one JSON document for every sender, so each change is a read-modify-write under a lease
(`ports_access.SecretLease`, taken under its version): two changes at once never overwrite each
other; the second is a 409 to try again.
"""

from __future__ import annotations

import base64
import contextlib
import secrets as random_source
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from ..adapters import directory as directories
from ..adapters import mail
from ..adapters import secrets as secret_store
from ..config import settings
from ..domain.audit import AuditEvent
from ..domain.errors import AlreadyExists, Conflict, NotFound
from ..domain.permissions import MANAGE_CATALOGUE, READ_STAFF, Principal
from . import uow
from .clock import new_id, now
from .guard import require
from .inbound import supplier_sender
from .ports import Record, Save, Supplier
from .ports_access import SecretLease, SupplierUser

INVITED, DISABLED = "invited", "disabled"
LEASE_SECONDS = 30
T = TypeVar("T")


def site_url() -> str:
    """The public base of the site (`site_url`, where the pages are), else the API's public URL."""
    s = settings()
    return str(getattr(s, "site_url", "") or s.public_url).rstrip("/")


def sign_in_url() -> str:
    return f"{site_url()}/supplier/"


def _supplier(supplier_id: str) -> Supplier:
    found = uow.store().load(Supplier, supplier_id)
    if found is None:
        raise NotFound(f"supplier {supplier_id} not found")
    return found.value


def _event(actor: Principal, supplier_id: str, action: str, at: datetime, data: dict[str, Any]) -> Record:
    return Record(
        AuditEvent(
            id=new_id("evt"),
            subject_type="supplier",
            subject_id=supplier_id,
            type=f"supplier.{action}",
            actor=actor,
            at=at,
            data={"supplier_id": supplier_id, **data},
        )
    )


# ---------------------------------------------------------------- users


def invite_user(actor: Principal, supplier_id: str, *, email: str, name: str) -> SupplierUser:
    """Make a user of the supplier in the directory, record it, and e-mail the sign-in link."""
    require(actor, MANAGE_CATALOGUE, "invite supplier users")
    supplier = _supplier(supplier_id)
    email = email.strip().lower()
    if any(u.value.email == email and u.value.status == INVITED for u in uow.store().supplier_users(supplier_id)):
        raise AlreadyExists(f"{email} is already a user of supplier {supplier_id}")
    directory = directories.directory()
    try:
        made = directory.create_supplier_user(supplier_id=supplier_id, email=email, name=name, user_id=new_id("usr"))
    except directories.AlreadyInDirectory as exc:
        raise AlreadyExists(f"{email} already has a user; disable it or use another address") from exc
    at = now()
    user = SupplierUser(supplier_id, made.id, email, name, INVITED, made.username, at, at)
    event = _event(actor, supplier_id, "user_invited", at, {"user_id": user.id})
    uow.store().commit([Save(user, None), event], what=f"user {email} of supplier {supplier_id}", at=at)
    mail.send(
        mail.render(
            "supplier_invited",
            email,
            name=name,
            supplier_name=supplier.name,
            invited_by=actor.name or "Waybill",
            sign_in_url=sign_in_url(),
            temporary_password_mailed=isinstance(directory, directories.CognitoDirectory),
        )
    )
    return user


def disable_user(actor: Principal, supplier_id: str, user_id: str) -> SupplierUser:
    """The user can no longer sign in; disabling a disabled user answers it as it is."""
    require(actor, MANAGE_CATALOGUE, "disable supplier users")
    found = uow.store().load(SupplierUser, supplier_id, user_id)
    if found is None:
        raise NotFound(f"user {user_id} of supplier {supplier_id} not found")
    user = found.value
    if user.status == DISABLED:
        return user
    directories.directory().disable_user(user.username)
    at = now()
    user.status, user.updated_at = DISABLED, at
    event = _event(actor, supplier_id, "user_disabled", at, {"user_id": user_id})
    uow.store().commit([Save(user, found.version), event], what=f"user {user_id} of supplier {supplier_id}", at=at)
    return user


def list_users(actor: Principal, supplier_id: str) -> list[SupplierUser]:
    require(actor, READ_STAFF, "read supplier users")
    _supplier(supplier_id)
    return [u.value for u in uow.store().supplier_users(supplier_id)]


def users_who_can_sign_in(supplier_ids: list[str]) -> list[SupplierUser]:
    """The invited (not disabled) users of these suppliers: what the local dev sign-in offers."""
    return [u.value for sid in supplier_ids for u in uow.store().supplier_users(sid) if u.value.status == INVITED]


def dev_sign_in_users() -> list[dict[str, Any]]:
    """Every supplier's invited users as the local dev sign-in lists its users (sub, email, name, roles,
    supplier_id): the dev directory's list. Local only, where suppliers are a handful."""
    suppliers: list[str] = []
    cursor: str | None = None
    while True:
        page = uow.store().suppliers(limit=100, cursor=cursor)
        suppliers += [s.id for s in page.items]
        if page.cursor is None:
            break
        cursor = page.cursor
    return [
        {"sub": u.id, "email": u.email, "name": u.name, "roles": ["supplier"], "supplier_id": u.supplier_id}
        for u in users_who_can_sign_in(suppliers)
    ]


# ---------------------------------------------------------------- the inbound webhook secret


@dataclass(frozen=True)
class IssuedSecret:
    supplier_id: str
    sender: str
    secret: str  # shown once
    rotated: bool
    previous_valid_until: datetime | None


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(random_source.token_bytes(32)).decode()


def _under_lease(change: Callable[[dict[str, Any], datetime], T]) -> T:
    """Run a read-modify-write of the inbound-webhooks secret while holding its lease (see the module)."""
    name = settings().inbound_webhooks_secret
    store = uow.store()
    at = now()
    held = store.load(SecretLease, name)
    if held is not None and held.value.holder is not None and held.value.expires_at > at:
        raise Conflict("another change of the inbound webhook secrets is under way; try again in a moment")
    holder = new_id("lease")
    lease = SecretLease(name, holder, at + timedelta(seconds=LEASE_SECONDS))
    store.commit([Save(lease, held.version if held else None)], what="the inbound webhook secrets", at=at)
    try:
        current = secret_store.get_json_now(name)
        document = dict(current) if isinstance(current, dict) else {}
        result = change(document, at)
        secret_store.put_json(name, document)
        return result
    finally:
        released = SecretLease(name, None, at)
        with contextlib.suppress(Conflict):  # taken over after it expired: the other holder releases it
            store.commit([Save(released, (held.version if held else 0) + 1)], what="the inbound webhook secrets", at=now())


def _current_secrets(entries: Any) -> list[str]:
    """The entries that are current secrets (not rotated-out ones with an expiry)."""
    items = [entries] if isinstance(entries, (str, dict)) else list(entries or [])
    return [str(e) for e in items if isinstance(e, str)]


def issue_webhook_secret(actor: Principal, supplier_id: str) -> IssuedSecret:
    """Issue the supplier system's first secret, or rotate: the old one verifies for the grace period."""
    require(actor, MANAGE_CATALOGUE, "issue supplier webhook secrets")
    _supplier(supplier_id)
    sender = supplier_sender(supplier_id)
    secret = new_secret()
    grace = timedelta(seconds=settings().inbound_secret_grace_s)

    def change(document: dict[str, Any], at: datetime) -> IssuedSecret:
        previous = _current_secrets(document.get(sender))
        until = at + grace
        # Earlier rotated-out secrets are dropped: only the one just replaced keeps verifying.
        document[sender] = [secret, *({"secret": p, "expires_at": until.isoformat()} for p in previous)]
        return IssuedSecret(supplier_id, sender, secret, bool(previous), until if previous else None)

    issued = _under_lease(change)
    action = "webhook_secret_rotated" if issued.rotated else "webhook_secret_issued"
    at = now()
    data = {"previous_valid_until": issued.previous_valid_until.isoformat() if issued.previous_valid_until else None}
    uow.store().commit([_event(actor, supplier_id, action, at, data)], what=f"supplier {supplier_id}", at=at)
    return issued


def revoke_webhook_secret(actor: Principal, supplier_id: str) -> None:
    """Every secret of the supplier's system stops verifying at once (404 when it has none)."""
    require(actor, MANAGE_CATALOGUE, "revoke supplier webhook secrets")
    _supplier(supplier_id)
    sender = supplier_sender(supplier_id)

    def change(document: dict[str, Any], at: datetime) -> bool:
        return document.pop(sender, None) is not None

    if not _under_lease(change):
        raise NotFound(f"supplier {supplier_id} has no webhook secret")
    at = now()
    uow.store().commit([_event(actor, supplier_id, "webhook_secret_revoked", at, {})], what=f"supplier {supplier_id}", at=at)


# ---------------------------------------------------------------- what a supplier still lacks


@dataclass(frozen=True)
class AccessStatus:
    users: int  # invited, not disabled
    webhook_secret: bool
    missing: list[str]


def access_status(supplier_id: str) -> AccessStatus:
    users = users_who_can_sign_in([supplier_id])
    has_secret = bool(secret_store.webhook_secrets(supplier_sender(supplier_id)))
    missing = []
    if not users:
        missing.append(f"a user to sign in to the front office: POST /staff/suppliers/{supplier_id}/users")
    if not has_secret:
        missing.append(f"a webhook secret for its own system: POST /staff/suppliers/{supplier_id}/webhook-secret")
    return AccessStatus(len(users), has_secret, missing)
