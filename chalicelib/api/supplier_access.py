"""Staff routes for suppliers' ways in: the users who sign in to the front office, and the secret the
supplier's own system signs its webhooks with (services/supplier_access.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint

from ..domain.permissions import MANAGE_CATALOGUE, READ_STAFF
from ..lazy import lazy_module
from .http import Call, endpoint

if TYPE_CHECKING:
    from ..services import supplier_access as access
    from .views import staff as views
else:
    access = lazy_module("chalicelib.services.supplier_access")
    views = lazy_module("chalicelib.api.views.staff")

supplier_access_api = Blueprint(__name__)
TAG = "staff: catalogue"
SUPPLIER = "/staff/suppliers/{supplier_id}"


@endpoint(
    supplier_access_api,
    SUPPLIER + "/users",
    "POST",
    summary="Invite a user of the supplier: made in the directory with the supplier id set by staff, e-mailed the "
    "front office's sign-in link",
    tag=TAG,
    roles=MANAGE_CATALOGUE,
    body="SupplierUserIn",
    response="SupplierUserView",
    status=201,
)
def invite_user(call: Call, supplier_id: str) -> views.SupplierUserView:
    b: views.SupplierUserIn = call.body
    return views.SupplierUserView.pick(access.invite_user(call.actor, supplier_id, email=b.email, name=b.name))


@endpoint(
    supplier_access_api,
    SUPPLIER + "/users",
    "GET",
    summary="The supplier's users, invited and disabled",
    tag=TAG,
    roles=READ_STAFF,
    response="SupplierUserList",
)
def list_users(call: Call, supplier_id: str) -> views.SupplierUserList:
    return views.SupplierUserList(items=[views.SupplierUserView.pick(u) for u in access.list_users(call.actor, supplier_id)])


@endpoint(
    supplier_access_api,
    SUPPLIER + "/users/{user_id}/disable",
    "POST",
    summary="Disable a user of the supplier: it can no longer sign in",
    tag=TAG,
    roles=MANAGE_CATALOGUE,
    response="SupplierUserView",
)
def disable_user(call: Call, supplier_id: str, user_id: str) -> views.SupplierUserView:
    return views.SupplierUserView.pick(access.disable_user(call.actor, supplier_id, user_id))


@endpoint(
    supplier_access_api,
    SUPPLIER + "/webhook-secret",
    "POST",
    summary="Issue the supplier system's inbound webhook secret, or rotate it (the old one verifies for a grace "
    "period); the secret is shown in this response only",
    tag=TAG,
    roles=MANAGE_CATALOGUE,
    response="WebhookSecretView",
    status=201,
)
def issue_webhook_secret(call: Call, supplier_id: str) -> views.WebhookSecretView:
    return views.WebhookSecretView.pick(access.issue_webhook_secret(call.actor, supplier_id))


@endpoint(
    supplier_access_api,
    SUPPLIER + "/webhook-secret",
    "DELETE",
    summary="Revoke every inbound webhook secret of the supplier's system at once; answers what the supplier now lacks",
    tag=TAG,
    roles=MANAGE_CATALOGUE,
    response="SupplierAccessView",
)
def revoke_webhook_secret(call: Call, supplier_id: str) -> views.SupplierAccessView:
    access.revoke_webhook_secret(call.actor, supplier_id)
    return views.SupplierAccessView.pick(access.access_status(supplier_id))
