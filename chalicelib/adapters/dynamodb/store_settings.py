"""Staff's overrides of the business settings in the single table: one item, read by one GetItem,
written under its version (services/ports_settings.py)."""

from __future__ import annotations

import json
from datetime import datetime

from ...services.ports_settings import StoredSettings
from . import keys
from . import repository as repo
from .mapping import Mapper, Writes, register
from .models import Item, SettingsItem


def _load(_id: str = "current") -> tuple[StoredSettings, int] | None:
    item = repo.get(keys.stored_settings(), SettingsItem)
    if item is None:
        return None
    values = json.loads(item.values or "{}")
    return StoredSettings(dict(values), item.updated_at, item.updated_by), int(item.version or 0)


def _save(s: StoredSettings, version: int | None, _at: datetime) -> Writes:
    item = SettingsItem(
        *keys.stored_settings(),
        values=json.dumps(s.values, sort_keys=True),
        updated_at=s.updated_at,
        updated_by=s.updated_by,
    )
    return [repo.Write(repo.with_version(item, version), Item.PK.does_not_exist() if version is None else None)]


register(StoredSettings, Mapper(_load, _save))
