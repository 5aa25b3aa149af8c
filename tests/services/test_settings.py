"""Settings staff change without a deploy (services/tunables.py), on the in-memory store: validated one
by one and together, stored versioned with who changed what, laid over the environment's values by
`settings()` within its cache time, a stale version refused with who changed them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib import config
from chalicelib.config import environment_settings, settings
from chalicelib.domain.errors import Conflict, Forbidden, RuleViolation
from chalicelib.domain.permissions import Role
from chalicelib.services import tunables
from chalicelib.services.ports_settings import SETTINGS_ID, StoredSettings
from tests.services.conftest import BUYER, principal

ADMIN = principal("ada", Role.ADMIN, email="ada@waybill.example", name="Ada Admin")
OTHER_ADMIN = principal("bea", Role.ADMIN, email="bea@waybill.example", name="Bea Other")


@pytest.fixture(autouse=True)
def overrides() -> Iterator[None]:
    """`settings()` reads the stored overrides, as in a function that has handled an event."""
    settings.use_overrides(tunables.load_overrides)
    yield
    settings.use_overrides(None)


def values(report: tunables.SettingsReport) -> dict[str, object]:
    return {i.tunable.name: i.value for i in report.items}


def test_every_tunable_starts_at_the_deployments_value_and_says_so():
    report = tunables.current(BUYER)
    base = environment_settings()
    assert report.version == 0 and report.updated_by is None
    assert all(not i.overridden and i.value == i.default == getattr(base, i.tunable.name) for i in report.items)
    assert {i.tunable.group for i in report.items} >= {tunables.SLAS, tunables.HOLDS, tunables.EXCEPTIONS}


def test_a_change_is_stored_with_who_made_it_and_settings_read_it_at_once_in_this_process(store):
    before = settings().deadline_acknowledge_s
    report = tunables.change(ADMIN, {"deadline_acknowledge_s": 6 * 3600, "held_at_close": "wait"}, expected_version=0)

    assert report.version == 1 and report.updated_by == "ada@waybill.example"
    assert values(report)["deadline_acknowledge_s"] == 6 * 3600
    assert settings().deadline_acknowledge_s == 6 * 3600 != before
    assert settings().held_at_close == "wait"
    assert settings().stage_deadlines()["acknowledge"] == 6 * 3600  # what a PO's stage is given when it opens
    (event,) = tunables.history(BUYER, limit=10).items
    assert event.type == "settings.changed" and event.actor.sub == "ada"
    assert event.data["changes"]["deadline_acknowledge_s"] == {"from": before, "to": 6 * 3600, "default": False}
    stored = store.load(StoredSettings, SETTINGS_ID)
    assert stored is not None and stored.version == 1


def test_another_process_sees_a_change_within_its_cache_time(store, monkeypatch):
    assert settings().campaign_default_days == environment_settings().campaign_default_days  # read and cached
    clock = [1000.0]
    monkeypatch.setattr(config.time, "monotonic", lambda: clock[0])
    settings.refresh()
    settings()  # read at t=1000
    # another process changes them (written straight to the store: this process is not told)
    store.commit([tunables.Save(StoredSettings({"campaign_default_days": 3}), None)], what="elsewhere", at=None)
    clock[0] += environment_settings().settings_cache_s - 1
    assert settings().campaign_default_days == environment_settings().campaign_default_days
    clock[0] += 2
    assert settings().campaign_default_days == 3


def test_null_puts_a_setting_back_to_the_deployments_value():
    tunables.change(ADMIN, {"hold_threshold_cents": 100}, expected_version=0)
    assert settings().hold_threshold_cents == 100
    report = tunables.change(ADMIN, {"hold_threshold_cents": None}, expected_version=1)
    assert settings().hold_threshold_cents == environment_settings().hold_threshold_cents
    item = next(i for i in report.items if i.tunable.name == "hold_threshold_cents")
    assert not item.overridden
    newest = tunables.history(BUYER, limit=1).items[0]
    assert newest.data["changes"]["hold_threshold_cents"]["default"] is True


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"deadline_invoice_s": 60}, "values.deadline_invoice_s"),  # under an hour
        ({"max_stage_reminders": "2"}, "values.max_stage_reminders"),  # text for a number
        ({"max_stage_reminders": True}, "values.max_stage_reminders"),
        ({"held_at_close": "maybe"}, "values.held_at_close"),
        ({"table_name": "other"}, "values.table_name"),  # a setting, but not one staff may change
        ({"tracking_give_up_after_s": 86400, "tracking_stale_after_s": 2 * 86400}, "values.tracking_give_up_after_s"),
        ({"exception_escalation_h": "critical=soon"}, "values.exception_escalation_h"),
        ({"exception_severities": "tracking_stale=urgent"}, "values.exception_severities"),
    ],
)
def test_a_value_out_of_bounds_is_refused_naming_its_field_and_nothing_changes(change, field):
    with pytest.raises(RuleViolation) as refused:
        tunables.change(ADMIN, change, expected_version=0)
    assert [d["field"] for d in refused.value.details] == [field]
    assert tunables.current(BUYER).version == 0
    assert settings() == environment_settings()


def test_a_change_of_a_stale_version_says_who_changed_them_since():
    tunables.change(OTHER_ADMIN, {"max_stage_reminders": 4}, expected_version=0)
    with pytest.raises(Conflict) as stale:
        tunables.change(ADMIN, {"max_stage_reminders": 1}, expected_version=0)
    (detail,) = stale.value.details
    assert detail["changed_by"] == "Bea Other" and detail["current_version"] == 1
    assert settings().max_stage_reminders == 4


def test_only_an_admin_changes_them_and_a_change_to_the_same_values_writes_nothing():
    with pytest.raises(Forbidden):
        tunables.change(BUYER, {"max_stage_reminders": 1}, expected_version=0)
    tunables.change(ADMIN, {"max_stage_reminders": 1}, expected_version=0)
    again = tunables.change(ADMIN, {"max_stage_reminders": 1}, expected_version=1)
    assert again.version == 1 and len(tunables.history(BUYER, limit=10).items) == 1


def test_a_stored_value_that_no_longer_validates_leaves_the_last_good_settings(store):
    tunables.change(ADMIN, {"max_stage_reminders": 3}, expected_version=0)
    assert settings().max_stage_reminders == 3
    found = store.load(StoredSettings, SETTINGS_ID)
    assert found is not None
    broken = StoredSettings({"exception_escalation_h": "critical=never"})
    store.commit([tunables.Save(broken, found.version)], what="a bad write", at=None)
    settings.refresh()
    assert settings().max_stage_reminders == 3  # the last values read stand; the failure is logged
