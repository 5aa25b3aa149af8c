"""Suppliers' ways in: the users staff invited for a supplier, and the lease that serialises changes to
the inbound-webhooks secret. The port's part for `services.supplier_access`.

A `SupplierUser` is the record of an invitation (who, for which supplier, invited or disabled), kept
beside the supplier whatever the directory is (Cognito in AWS, the dev issuer's list locally); it is
versioned like every aggregate. A `SecretLease` is held by whoever is changing the inbound-webhooks
secret (one JSON document for every sender): it is created or taken over under its version, so two
staff changes at the same moment never overwrite each other's senders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from .ports_common import Versioned


@dataclass
class SupplierUser:
    """Key: supplier id, user id (the directory's `sub`)."""

    supplier_id: str
    id: str
    email: str
    name: str
    status: str  # invited, disabled
    username: str  # the directory's user name (Cognito: the e-mail address)
    created_at: datetime
    updated_at: datetime


@dataclass
class SecretLease:
    """Key: `name` (the secret's). `holder` None: released; a lease past `expires_at` may be taken over."""

    name: str
    holder: str | None
    expires_at: datetime


class AccessReads(Protocol):
    def supplier_users(self, supplier_id: str) -> list[Versioned[SupplierUser]]:
        """The supplier's invited users, oldest first: one read."""
        ...
