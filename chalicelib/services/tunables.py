"""Settings staff can change without a deploy (issue 21, item 6): deadlines per supplier stage, hold and
approval thresholds, campaign length, grace periods and escalation levels, tracking and payment timings.

Each one is a field of `config.Settings`; the environment's value stays its default. Admins change them
on the admin page's settings screen (`PUT /staff/settings`): the values are validated one by one and then
together (as a start validates settings: the exception policy parses, give-up outlasts stale), stored as
one versioned record with a `settings.changed` audit event naming each change (from, to) and who made it.
Every process reads the record again at most once per `settings_cache_s` (config.py), so a change takes
effect everywhere within that time; this process at once. Where a value is used at a moment (a stage's
deadline when the stage opens, a hold threshold when an order is placed), what was decided before the
change stands: a PO already waiting keeps the deadline it was given.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

from ..config import Settings, environment_settings, overlay, settings
from ..domain import notifications
from ..domain.audit import AuditEvent
from ..domain.errors import Conflict, RuleViolation
from ..domain.permissions import MANAGE_SETTINGS, Principal
from . import uow
from .clock import new_id, now
from .conflicts import stale_version
from .guard import require
from .ports import Page, Record, Save
from .ports_settings import SETTINGS_ID, StoredSettings

Unit = Literal["duration", "minor_units", "count", "choice", "policy"]
HOUR = 3600
DAY = 86400


@dataclass(frozen=True)
class Tunable:
    """One setting staff may change: its field in `Settings`, where the screen shows it, what it means,
    and the bounds a value must keep (in the field's own unit: seconds, minor units, a count)."""

    name: str
    group: str
    label: str
    help: str
    unit: Unit
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()


CAMPAIGNS = "Campaigns"
SLAS = "Supplier deadlines (per stage)"
HOLDS = "Held orders"
DELIVERY = "Tracking and delivery"
PAYMENTS = "Customer payments"
COMPLAINTS = "Complaints"
EXCEPTIONS = "Exceptions and escalation"
STAGE_WORDS = {
    "acknowledge": "acknowledge the purchase order",
    "invoice": "send the invoice",
    "payment_proposal": "propose the payment",
    "payment_approval": "approve the payment (accounting)",
    "bank_payment": "the bank to pay",
    "settlement": "settle what was not acknowledged",
    "shipment": "ship every order",
}

TUNABLES: tuple[Tunable, ...] = (
    Tunable(
        "campaign_default_days",
        CAMPAIGNS,
        "Campaign length",
        "How long a new campaign runs unless its buyer sets an end.",
        "count",
        1,
        90,
    ),
    *(
        Tunable(
            f"deadline_{stage}_s",
            SLAS,
            f"Time to {words}",
            "From when the stage opens; then reminders, then the buyer.",
            "duration",
            HOUR,
            90 * DAY,
        )
        for stage, words in STAGE_WORDS.items()
    ),
    Tunable(
        "max_stage_reminders",
        SLAS,
        "Reminders before escalating",
        "Reminders a supplier gets for a passed deadline before the buyer is asked to step in.",
        "count",
        0,
        10,
    ),
    Tunable(
        "hold_threshold_cents",
        HOLDS,
        "Hold orders above",
        "An order worth more than this (in the campaign's currency) waits for customer care's approval.",
        "minor_units",
        0,
        100_000_000,
    ),
    Tunable(
        "hold_decide_before_close_s",
        HOLDS,
        "Decide held orders before the close",
        "How long before its campaign ends a held order must be decided (then the buyer is warned).",
        "duration",
        0,
        30 * DAY,
    ),
    Tunable(
        "held_at_close",
        HOLDS,
        "A held order still undecided at the close",
        "reject: refused, its customer told; wait: the close waits for the decision.",
        "choice",
        choices=("reject", "wait"),
    ),
    Tunable(
        "tracking_stale_after_s",
        DELIVERY,
        "A parcel is quiet after",
        "Silence from the carrier for this long raises tracking_stale and tells the customer of a delay.",
        "duration",
        HOUR,
        30 * DAY,
    ),
    Tunable(
        "tracking_give_up_after_s",
        DELIVERY,
        "Stop following a silent parcel after",
        "Silence since the carrier's last event; then staff take the parcel over. Longer than 'quiet after'.",
        "duration",
        DAY,
        365 * DAY,
    ),
    Tunable(
        "delivery_expected_within_s",
        DELIVERY,
        "A parcel is late after",
        "Not delivered this long after it was dispatched: shipment_late.",
        "duration",
        DAY,
        90 * DAY,
    ),
    Tunable(
        "offline_payment_due_s",
        PAYMENTS,
        "Offline payment due within",
        "An order paid offline and not paid this long after it was placed: payment_overdue, the customer reminded.",
        "duration",
        HOUR,
        60 * DAY,
    ),
    Tunable(
        "capture_auto_retries",
        PAYMENTS,
        "Automatic capture retries",
        "A declined capture is tried again by itself this many times, then left to accounting.",
        "count",
        0,
        10,
    ),
    Tunable(
        "complaint_window_s",
        COMPLAINTS,
        "Customers may complain within",
        "After delivery (or a lost parcel's expected date).",
        "duration",
        DAY,
        365 * DAY,
    ),
    Tunable(
        "complaint_approval_threshold_cents",
        COMPLAINTS,
        "Plans need an admin above",
        "A complaint plan refunding more than this waits for an admin's approval.",
        "minor_units",
        0,
        100_000_000,
    ),
    Tunable(
        "exception_severities",
        EXCEPTIONS,
        "Severity per kind",
        "kind=low|medium|high|critical, comma-separated (e.g. tracking_stale=high). Empty: the built-in severities.",
        "policy",
    ),
    Tunable(
        "exception_graces_s",
        EXCEPTIONS,
        "Grace period per kind (seconds)",
        "kind=seconds, comma-separated: a condition must last this long before its exception opens.",
        "policy",
    ),
    Tunable(
        "exception_escalation_h",
        EXCEPTIONS,
        "Escalation levels per severity (hours)",
        "severity=h1/h2/h3, comma-separated (e.g. critical=1/4/24): open this long, an exception escalates a level.",
        "policy",
    ),
)
BY_NAME = {t.name: t for t in TUNABLES}
RULES_SETTING = "notification_rules"  # edited as a table of rules (`change_rules`), not as a value
_FIELDS = {f.name for f in fields(Settings)}
assert set(BY_NAME) <= _FIELDS, set(BY_NAME) - _FIELDS  # a tunable is always a setting


@dataclass(frozen=True)
class TunableState:
    tunable: Tunable
    value: int | str
    default: int | str
    overridden: bool


@dataclass(frozen=True)
class SettingsReport:
    version: int
    updated_at: Any
    updated_by: str | None
    items: list[TunableState]


def _stored() -> tuple[StoredSettings, int]:
    found = uow.store().load(StoredSettings, SETTINGS_ID)
    return (found.value, found.version) if found is not None else (StoredSettings(), 0)


def _known(values: Mapping[str, Any]) -> dict[str, int | str]:
    """The stored values still tunable (a name a newer version dropped is ignored, not fatal), and the
    notification rules (kept in the same record: one read, one version, one history)."""
    return {k: v for k, v in values.items() if k in BY_NAME or k == RULES_SETTING}


def load_overrides(_base: Settings) -> dict[str, int | str]:
    """The loader config.settings() calls (at most once per settings_cache_s): one read."""
    return _known(_stored()[0].values)


def install() -> None:
    """Have `settings()` lay the stored overrides over the environment's values (app.py calls this at a
    function's first event). The storage is imported and built first: importing it reads settings (the
    models' table name), which must not call a loader whose storage is half imported."""
    uow.store()
    settings.use_overrides(load_overrides)


def _report(stored: StoredSettings, version: int) -> SettingsReport:
    base = environment_settings()
    values = _known(stored.values)
    return SettingsReport(
        version,
        stored.updated_at,
        stored.updated_by,
        [TunableState(t, values.get(t.name, getattr(base, t.name)), getattr(base, t.name), t.name in values) for t in TUNABLES],
    )


def current(actor: Principal) -> SettingsReport:
    from ..domain.permissions import READ_STAFF

    require(actor, READ_STAFF, "read the settings")
    return _report(*_stored())


def _checked(name: str, value: Any) -> int | str:
    """One value, in its setting's unit, or a RuleViolation naming the field."""
    t = BY_NAME.get(name)
    where = f"values.{name}"
    if t is None:
        raise RuleViolation(
            "unknown_setting",
            f"{name} is not a setting staff can change",
            details=[{"field": where, "message": "not a setting staff can change"}],
        )
    if t.unit in ("choice", "policy"):
        if not isinstance(value, str):
            raise RuleViolation("invalid_setting", f"{name} takes text", details=[{"field": where, "message": "must be text"}])
        text = value.strip()
        if t.choices and text not in t.choices:
            message = f"must be one of {', '.join(t.choices)}"
            raise RuleViolation("invalid_setting", f"{name} {message}", details=[{"field": where, "message": message}])
        return text
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuleViolation(
            "invalid_setting", f"{name} takes a whole number", details=[{"field": where, "message": "must be a whole number"}]
        )
    low, high = t.minimum, t.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        message = f"must be between {low} and {high}"
        raise RuleViolation("invalid_setting", f"{name} {message}", details=[{"field": where, "message": message}])
    return value


def _together(values: dict[str, int | str]) -> None:
    """The values as one set, checked as a start checks settings."""
    base = environment_settings()
    for name in (n for n in values if BY_NAME[n].unit == "policy"):  # each policy parses on its own
        try:
            overlay(base, {name: values[name]})
        except ValueError as exc:
            raise RuleViolation(
                "invalid_setting", f"{name}: {exc}", details=[{"field": f"values.{name}", "message": str(exc)}]
            ) from exc
    try:
        merged = overlay(base, values)
    except ValueError as exc:
        raise RuleViolation("invalid_setting", str(exc), details=[{"field": "values", "message": str(exc)}]) from exc
    if merged.tracking_give_up_after_s <= merged.tracking_stale_after_s:
        message = "must be longer than 'A parcel is quiet after'"
        raise RuleViolation(
            "invalid_setting",
            f"tracking_give_up_after_s {message}",
            details=[{"field": "values.tracking_give_up_after_s", "message": message}],
        )


def change(actor: Principal, values: Mapping[str, Any], *, expected_version: int) -> SettingsReport:
    """Set (a value) or reset to the environment's default (None) the named settings, as one change of
    the version the caller read; 409 naming who changed them since."""
    require(actor, MANAGE_SETTINGS, "change the settings")
    if not values:
        raise RuleViolation("nothing_to_change", "name at least one setting", details=[{"field": "values", "message": "empty"}])
    store = uow.store()
    stored, version = _stored()
    if version != expected_version:
        last = store.history("settings", SETTINGS_ID, limit=1, newest_first=True).items
        raise stale_version("the settings", version, expected_version, last[0] if last else None)
    base = environment_settings()
    before = _known(stored.values)
    after = dict(before)
    for name, value in values.items():
        if value is None:
            if name not in BY_NAME:
                _checked(name, value)  # says it is unknown
            after.pop(name, None)
        else:
            after[name] = _checked(name, value)
    _together(after)
    changes = {
        name: {
            "from": before.get(name, getattr(base, name)),
            "to": after.get(name, getattr(base, name)),
            "default": name not in after,
        }
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    }
    new = _commit(actor, stored, version, after, changes, expected_version)
    return _report(new, version + 1) if new is not None else _report(stored, version)


def _commit(
    actor: Principal,
    stored: StoredSettings,
    version: int,
    after: dict[str, int | str],
    changes: Mapping[str, Any],
    expected_version: int,
) -> StoredSettings | None:
    """Store `after` as the next version with a `settings.changed` event naming `changes` (nothing when
    nothing changed); 409 naming who changed the settings since they were read."""
    store = uow.store()
    if not changes:
        return None  # nothing differs: nothing written
    at = now()
    who = actor.email or actor.name or actor.sub
    new = StoredSettings(after, at, who)
    event = AuditEvent(new_id("evt"), "settings", SETTINGS_ID, "settings.changed", actor, at, data={"changes": changes})
    try:
        store.commit([Save(new, version or None), Record(event)], what="the settings", at=at)
    except Conflict:
        last = store.history("settings", SETTINGS_ID, limit=1, newest_first=True).items
        raise stale_version("the settings", None, expected_version, last[0] if last else None) from None
    settings.refresh()  # this process at once; the others within settings_cache_s
    return new


# ---------------------------------------------------------------- the notification rules


@dataclass(frozen=True)
class RulesReport:
    """The rules in force as the settings screen edits them, whether they are the code's (`default`),
    and the settings' version to send back."""

    version: int
    updated_at: Any
    updated_by: str | None
    default: bool
    rules: list[dict[str, Any]]


def _rules_report(stored: StoredSettings, version: int) -> RulesReport:
    text = str(_known(stored.values).get(RULES_SETTING) or environment_settings().notification_rules)
    try:
        rules = [notifications.rule_data(r) for r in notifications.rules_from_text(text)]
    except notifications.RulesInvalid:  # a stored set a newer code refuses: the code's rules are in force
        rules = notifications.default_rule_data()
    return RulesReport(version, stored.updated_at, stored.updated_by, RULES_SETTING not in stored.values, rules)


def current_rules(actor: Principal) -> RulesReport:
    from ..domain.permissions import READ_STAFF

    require(actor, READ_STAFF, "read the notification rules")
    return _rules_report(*_stored())


def change_rules(actor: Principal, rules: list[Any] | None, *, expected_version: int) -> RulesReport:
    """Replace the notification rules (None: back to the code's), as one change of the settings'
    version the caller read: each rule checked (a 422 names `rules[3].channel`), stored canonical, the
    audit event naming the rules added and removed; 409 naming who changed the settings since."""
    require(actor, MANAGE_SETTINGS, "change the notification rules")
    chosen: str | None = None
    if rules is not None:
        try:
            parsed = notifications.parse_rules(rules)
        except notifications.RulesInvalid as exc:
            raise RuleViolation(
                "invalid_notification_rules",
                f"the notification rules do not hold: {exc}",
                details=[{"field": f, "message": m} for f, m in exc.problems],
            ) from exc
        canonical = [notifications.rule_data(r) for r in parsed]
        chosen = None if parsed == notifications.RULES else json.dumps(canonical, sort_keys=True, separators=(",", ":"))
    store = uow.store()
    stored, version = _stored()
    if version != expected_version:
        last = store.history("settings", SETTINGS_ID, limit=1, newest_first=True).items
        raise stale_version("the settings", version, expected_version, last[0] if last else None)
    before = _rules_report(stored, version).rules
    after = {k: v for k, v in _known(stored.values).items() if k != RULES_SETTING}
    if chosen is not None:
        after[RULES_SETTING] = chosen
    now_in_force = [notifications.rule_data(r) for r in notifications.rules_from_text(chosen or "")]
    was = [notifications.rule_label(r) for r in before]
    will = [notifications.rule_label(r) for r in now_in_force]
    changes: dict[str, Any] = {}
    if was != will or stored.values.get(RULES_SETTING) != after.get(RULES_SETTING):
        changes[RULES_SETTING] = {
            "from": f"{len(was)} rules" + (" (the default)" if RULES_SETTING not in stored.values else ""),
            "to": f"{len(will)} rules" + (" (the default)" if chosen is None else ""),
            "default": chosen is None,
            "added": [w for w in will if w not in was],
            "removed": [w for w in was if w not in will],
        }
    new = _commit(actor, stored, version, after, changes, expected_version)
    return _rules_report(new, version + 1) if new is not None else _rules_report(stored, version)


def history(actor: Principal, *, limit: int, cursor: str | None = None) -> Page[AuditEvent]:
    """Every change, newest first: who, when, each setting from and to."""
    from ..domain.permissions import READ_STAFF

    require(actor, READ_STAFF, "read the settings' history")
    return uow.store().history("settings", SETTINGS_ID, limit=limit, cursor=cursor, newest_first=True)
