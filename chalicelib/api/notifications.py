"""Notification preferences: anyone signed in chooses for their own address (the token's e-mail
claim, only when the issuer verified it: see api/auth.py); admins set anyone's, e.g. the team
mailboxes. Transactional mail cannot be turned off. `/me/profile` keeps the language of the caller's
own e-mails with the same address."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint

from ..config import settings
from ..domain.errors import RuleViolation
from ..domain.permissions import MANAGE_PREFERENCES, PEOPLE
from ..lazy import lazy_module
from .http import Call, endpoint

if TYPE_CHECKING:
    from ..domain import notifications as rules
    from ..services import notify
    from .views import common
else:
    notify = lazy_module("chalicelib.services.notify")
    rules = lazy_module("chalicelib.domain.notifications")
    common = lazy_module("chalicelib.api.views.common")

notifications_api = Blueprint(__name__)
ANYONE = PEOPLE  # every role a person holds (a storefront is a machine)
ADMINS = MANAGE_PREFERENCES
TAG = "notifications"


def _my_address(call: Call) -> str:
    """The caller's own address: refused (422) when the token has none the issuer verified, so a token
    that merely names a team mailbox never chooses for it."""
    if not call.actor.email:
        raise RuleViolation(
            "no_email",
            "your token carries no verified e-mail address, so there are no preferences to keep",
            details=[{"field": "token.email", "message": "no email claim, or email_verified is not true"}],
        )
    return notify.my_address(call.actor)


def _save(call: Call, address: str) -> common.NotificationPreferencesView:
    body: common.NotificationPreferencesIn = call.body
    return common.NotificationPreferencesView.of(
        notify.set_preferences(call.actor, address, opt_out=body.opt_out, alerts=rules.AlertMode(body.alerts))
    )


@endpoint(
    notifications_api,
    "/me/notification-preferences",
    "GET",
    summary="My e-mail preferences (by the address in my token)",
    tag=TAG,
    roles=ANYONE,
    response="NotificationPreferencesView",
    extra_errors=(422,),
)
def get_mine(call: Call) -> common.NotificationPreferencesView:
    return common.NotificationPreferencesView.of(notify.get_preferences(_my_address(call)))


@endpoint(
    notifications_api,
    "/me/notification-preferences",
    "PUT",
    summary="Opt out of alert and digest mail, or take alerts in a daily digest",
    tag=TAG,
    roles=ANYONE,
    body="NotificationPreferencesIn",
    response="NotificationPreferencesView",
)
def put_mine(call: Call) -> common.NotificationPreferencesView:
    return _save(call, _my_address(call))


@endpoint(
    notifications_api,
    "/staff/notification-preferences/{email}",
    "GET",
    summary="Anyone's e-mail preferences (team mailboxes included)",
    tag=TAG,
    roles=ADMINS,
    response="NotificationPreferencesView",
)
def get_for(call: Call, email: str) -> common.NotificationPreferencesView:
    return common.NotificationPreferencesView.of(notify.get_preferences(email))


@endpoint(
    notifications_api,
    "/staff/notification-preferences/{email}",
    "PUT",
    summary="Set anyone's e-mail preferences (team mailboxes included)",
    tag=TAG,
    roles=ADMINS,
    body="NotificationPreferencesIn",
    response="NotificationPreferencesView",
)
def put_for(call: Call, email: str) -> common.NotificationPreferencesView:
    return _save(call, email)


@endpoint(
    notifications_api,
    "/me/profile",
    "GET",
    summary="My profile: the language my e-mails speak",
    tag=TAG,
    roles=ANYONE,
    response="ProfileView",
    extra_errors=(422,),
)
def get_profile(call: Call) -> common.ProfileView:
    return common.ProfileView.of(notify.get_preferences(_my_address(call)), settings().default_locale)


@endpoint(
    notifications_api,
    "/me/profile",
    "PUT",
    summary="Choose the language of my e-mails (en, vi)",
    tag=TAG,
    roles=ANYONE,
    body="ProfileIn",
    response="ProfileView",
)
def put_profile(call: Call) -> common.ProfileView:
    body: common.ProfileIn = call.body
    address = _my_address(call)
    chosen = notify.set_locale(address, body.locale, by=call.actor.email or call.actor.sub)
    return common.ProfileView.of(chosen, settings().default_locale)
