"""What staff send and see of the settings they can change (services/tunables.py)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from .common import Page, PageQuery, Request, View

if TYPE_CHECKING:
    from ...domain.audit import AuditEvent
    from ...services.tunables import RulesReport, SettingsReport, TunableState


class TunableView(View):
    name: str
    group: str
    label: str
    help: str
    unit: Literal["duration", "minor_units", "count", "choice", "policy"] = Field(
        description="duration: seconds; minor_units: an amount in cents; count; choice: one of `choices`; policy: text"
    )
    value: int | str
    default: int | str = Field(description="the deployment's value (its environment), used when not overridden")
    overridden: bool
    minimum: int | None
    maximum: int | None
    choices: list[str]

    @classmethod
    def of(cls, s: TunableState) -> TunableView:
        t = s.tunable
        return cls(
            name=t.name,
            group=t.group,
            label=t.label,
            help=t.help,
            unit=t.unit,
            value=s.value,
            default=s.default,
            overridden=s.overridden,
            minimum=t.minimum,
            maximum=t.maximum,
            choices=list(t.choices),
        )


class SettingsView(View):
    version: int = Field(description="send it back as expected_version to change them (0: never changed)")
    updated_at: datetime | None
    updated_by: str | None
    cache_seconds: int = Field(description="every process reads a change within this many seconds")
    items: list[TunableView]

    @classmethod
    def of(cls, r: SettingsReport, cache_seconds: int) -> SettingsView:
        return cls(
            version=r.version,
            updated_at=r.updated_at,
            updated_by=r.updated_by,
            cache_seconds=cache_seconds,
            items=[TunableView.of(i) for i in r.items],
        )


class SettingsChangeRequest(Request):
    expected_version: int = Field(strict=True, ge=0, description="the version read (0: never changed)")
    values: dict[str, int | str | None] = Field(
        min_length=1, max_length=64, description="setting name -> new value, or null for the deployment's default"
    )


class SettingsChangeView(View):
    id: str
    at: datetime
    by: str
    changes: dict[str, Any] = Field(description="setting name -> {from, to, default}")

    @classmethod
    def of(cls, e: AuditEvent) -> SettingsChangeView:
        return cls(id=e.id, at=e.at, by=e.actor.name or e.actor.email or e.actor.sub, changes=dict(e.data.get("changes") or {}))


class SettingsHistoryPage(Page):
    items: list[SettingsChangeView]


class SettingsHistoryQuery(PageQuery):
    pass


class NotificationRuleView(View):
    event: str
    recipient: str = Field(description="a role: customer, supplier, buyer, accounting, logistics, customer_care, admin, assignee")
    channel: str = Field(description="email (the only channel the notifications consumer sends through)")
    timing: Literal["immediate", "digest"] = Field(description="digest: held for the recipient's daily digest")
    mandatory: bool = Field(description="sent whatever the recipient's preferences (immediate only)")
    when: list[dict[str, Any]] = Field(description="conditions on the event's fields: [{path, values}]; all must hold")
    template: str


class NotificationRuleChoices(View):
    events: list[str]
    recipients: list[str]
    channels: list[str]
    timings: list[str]


class NotificationRulesView(View):
    version: int = Field(description="the settings' version: send it back as expected_version")
    updated_at: datetime | None
    updated_by: str | None
    default: bool = Field(description="true: the rules in the code are in force")
    cache_seconds: int
    rules: list[NotificationRuleView]
    choices: NotificationRuleChoices

    @classmethod
    def of(cls, r: RulesReport, cache_seconds: int) -> NotificationRulesView:
        from ...domain import notifications as n

        return cls(
            version=r.version,
            updated_at=r.updated_at,
            updated_by=r.updated_by,
            default=r.default,
            cache_seconds=cache_seconds,
            rules=[NotificationRuleView(**rule) for rule in r.rules],
            choices=NotificationRuleChoices(
                events=list(n.SUBSCRIBED),
                recipients=[x.value for x in n.Recipient],
                channels=list(n.CHANNELS),
                timings=[t.value for t in n.Timing],
            ),
        )


class NotificationRulesChangeRequest(Request):
    expected_version: int = Field(strict=True, ge=0, description="the settings' version read (0: never changed)")
    rules: list[dict[str, Any]] | None = Field(
        max_length=200,
        description="the whole set, in order (each {event, recipient, channel, timing, mandatory?, when?, template?}); "
        "null: back to the rules in the code",
    )
