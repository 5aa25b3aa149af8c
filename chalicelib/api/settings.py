"""The settings staff can change without a deploy (services/tunables.py): every staff role reads them and
their history; admins change them, naming the version they read."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint

from ..config import settings
from ..domain.permissions import MANAGE_SETTINGS, READ_STAFF
from ..lazy import lazy_module
from .http import Call, endpoint

if TYPE_CHECKING:
    from ..services import tunables
    from .views import settings as views
else:
    tunables = lazy_module("chalicelib.services.tunables")
    views = lazy_module("chalicelib.api.views.settings")

settings_api = Blueprint(__name__)
TAG = "settings"


def _view(report: tunables.SettingsReport) -> views.SettingsView:
    return views.SettingsView.of(report, settings().settings_cache_s)


@endpoint(
    settings_api,
    "/staff/settings",
    "GET",
    summary="The settings staff can change: each with its value, the deployment's default and its bounds",
    tag=TAG,
    roles=READ_STAFF,
    response="SettingsView",
)
def get_settings(call: Call) -> views.SettingsView:
    return _view(tunables.current(call.actor))


@endpoint(
    settings_api,
    "/staff/settings",
    "PUT",
    summary="Change settings (null: back to the deployment's default); 409 if they changed since read",
    tag=TAG,
    roles=MANAGE_SETTINGS,
    body="SettingsChangeRequest",
    response="SettingsView",
    extra_errors=(409,),
)
def put_settings(call: Call) -> views.SettingsView:
    body: views.SettingsChangeRequest = call.body
    return _view(tunables.change(call.actor, body.values, expected_version=body.expected_version))


@endpoint(
    settings_api,
    "/staff/settings/history",
    "GET",
    summary="Every change of the settings, newest first: who, when, each setting from and to",
    tag=TAG,
    roles=READ_STAFF,
    query="SettingsHistoryQuery",
    response="SettingsHistoryPage",
)
def settings_history(call: Call) -> views.SettingsHistoryPage:
    q = call.query
    page = tunables.history(call.actor, limit=q.limit, cursor=q.cursor)
    return views.SettingsHistoryPage(items=[views.SettingsChangeView.of(e) for e in page.items], next_cursor=page.cursor)


@endpoint(
    settings_api,
    "/staff/settings/notification-rules",
    "GET",
    summary="Who is told of which event: the rules in force (event, role, channel, immediate or digest)",
    tag=TAG,
    roles=READ_STAFF,
    response="NotificationRulesView",
)
def get_notification_rules(call: Call) -> views.NotificationRulesView:
    return views.NotificationRulesView.of(tunables.current_rules(call.actor), settings().settings_cache_s)


@endpoint(
    settings_api,
    "/staff/settings/notification-rules",
    "PUT",
    summary="Replace the notification rules (null: the rules in the code); 422 names rules[i].field; 409 if "
    "the settings changed since read",
    tag=TAG,
    roles=MANAGE_SETTINGS,
    body="NotificationRulesChangeRequest",
    response="NotificationRulesView",
    extra_errors=(409,),
)
def put_notification_rules(call: Call) -> views.NotificationRulesView:
    body: views.NotificationRulesChangeRequest = call.body
    report = tunables.change_rules(call.actor, body.rules, expected_version=body.expected_version)
    return views.NotificationRulesView.of(report, settings().settings_cache_s)
