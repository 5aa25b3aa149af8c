"""Where suppliers' users are made: Cognito in AWS, the local dev issuer's list on the embedded stack.

`directory()` picks by settings: a user pool id (`WAYBILL_USER_POOL_ID`, set by the CDK stack) means
Cognito, none means the dev directory. Cognito's user gets `custom:supplier_id` from staff (the
attribute is immutable, and no app client may write it, so the user can never change it), the e-mail
as its user name (verified: staff typed it and Cognito mails the temporary password there) and the
`supplier` group. The dev directory makes nothing in AWS: the stored `SupplierUser` record
(services/supplier_access.py) is the list the local dev sign-in offers, and its id is the token's `sub`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..config import settings
from ..domain.permissions import Role
from .aws import client


@dataclass(frozen=True)
class DirectoryUser:
    id: str  # the token's `sub`
    username: str


class Directory(Protocol):
    def create_supplier_user(self, *, supplier_id: str, email: str, name: str, user_id: str) -> DirectoryUser:
        """Make the user (`user_id`: the id to use where the directory lets the caller choose one)."""
        ...

    def disable_user(self, username: str) -> None: ...


class AlreadyInDirectory(Exception):
    """The directory has a user of that name already."""


class CognitoDirectory:
    def __init__(self, user_pool_id: str) -> None:
        self.pool = user_pool_id

    def create_supplier_user(self, *, supplier_id: str, email: str, name: str, user_id: str) -> DirectoryUser:
        idp = client("cognito-idp")
        try:
            made = idp.admin_create_user(
                UserPoolId=self.pool,
                Username=email,
                UserAttributes=[
                    {"Name": "email", "Value": email},
                    {"Name": "email_verified", "Value": "true"},
                    {"Name": "name", "Value": name},
                    {"Name": "custom:supplier_id", "Value": supplier_id},
                ],
                DesiredDeliveryMediums=["EMAIL"],
            )
        except idp.exceptions.UsernameExistsException as exc:
            raise AlreadyInDirectory(email) from exc
        user = made["User"]
        idp.admin_add_user_to_group(UserPoolId=self.pool, Username=user["Username"], GroupName=Role.SUPPLIER.value)
        sub = next((a["Value"] for a in user.get("Attributes", []) if a["Name"] == "sub"), user["Username"])
        return DirectoryUser(str(sub), str(user["Username"]))

    def disable_user(self, username: str) -> None:
        client("cognito-idp").admin_disable_user(UserPoolId=self.pool, Username=username)


class DevDirectory:
    """The embedded stack's: the stored record is the user (see the module docstring)."""

    def create_supplier_user(self, *, supplier_id: str, email: str, name: str, user_id: str) -> DirectoryUser:
        return DirectoryUser(user_id, email)

    def disable_user(self, username: str) -> None:
        return None  # the record's status is what the dev sign-in reads


def directory() -> Directory:
    pool = settings().user_pool_id
    return CognitoDirectory(pool) if pool else DevDirectory()
