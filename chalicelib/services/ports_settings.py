"""Staff's overrides of the business settings (services/tunables.py): one stored record per deployment,
versioned like every aggregate, changed with a `settings.changed` audit event in the same commit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

SETTINGS_ID = "current"


@dataclass(frozen=True)
class StoredSettings:
    """The overridden settings by field name (values in the setting's own unit: seconds, cents, a
    count, a policy string); a name absent takes the environment's value."""

    values: dict[str, int | str] = field(default_factory=dict)
    updated_at: datetime | None = None
    updated_by: str | None = None
    id: str = SETTINGS_ID
