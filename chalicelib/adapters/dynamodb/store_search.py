"""The search area in the single table (services/ports_search.py).

Find items: one per (thing, slot) at `SEARCH#<kind>#<id>` / `TERM#<slot>`, indexed in GSI1 under
`FIND#<first 3 characters of the term>` (and, for suppliers and campaigns, GSI2 `FIND2#<first 2>`),
sorted by `<term>#<kind>#<id>#<slot>`: a prefix is one Query with begins_with. `find_writes` adds them
to the transaction that creates an order, a parcel, a supplier or a campaign (`DynamoStore.writes`);
`index_existing` writes those of a table that held things before find items existed.

Saved views: `STAFF#<address>` / `VIEW#<screen>#<name>`, versioned; a person's views are one Query.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pynamodb.attributes import BooleanAttribute, UnicodeAttribute, UTCDateTimeAttribute, VersionAttribute

from ...domain.campaigns import CampaignStatus
from ...domain.orders import Order
from ...domain.search import PREFIX, SHORT_PREFIX, FindEntry, FindKind, named_entries, order_entries, shipment_entries
from ...services.ports import CampaignRecord, Supplier
from ...services.ports_common import Versioned
from ...services.ports_search import SavedView
from ...services.ports_shipments import ShipmentRecord
from .. import cursors
from . import keys
from . import repository as repo
from .fan_in import query_shards_in_turn
from .mapping import Mapper, Writes, register
from .models import CampaignItem, Item, OrderItem, ShipmentItem, SupplierItem


class FindItem(Item, discriminator="find"):
    """One searchable term of one thing (domain/search.py `FindEntry`)."""

    find_kind = UnicodeAttribute()
    thing_id = UnicodeAttribute()
    slot = UnicodeAttribute()
    term = UnicodeAttribute()
    label = UnicodeAttribute()
    opens = UnicodeAttribute()
    short = BooleanAttribute(default=False)


class SavedViewItem(Item, discriminator="saved_view"):
    """A person's named filters of a list screen."""

    owner = UnicodeAttribute()
    screen = UnicodeAttribute()
    name = UnicodeAttribute()
    filters = UnicodeAttribute()  # JSON object of strings
    saved_at = UTCDateTimeAttribute(null=True)
    version = VersionAttribute()


# ---------------------------------------------------------------- find items


def find_item(e: FindEntry) -> FindItem:
    sk = keys.find_sk(e.term, e.kind.value, e.id, e.slot)
    return FindItem(
        *keys.find_item(e.kind.value, e.id, e.slot),
        GSI1PK=keys.find_pk(e.term, PREFIX),
        GSI1SK=sk,
        GSI2PK=keys.find_pk(e.term, SHORT_PREFIX) if e.short else None,
        GSI2SK=sk if e.short else None,
        find_kind=e.kind.value,
        thing_id=e.id,
        slot=e.slot,
        term=e.term,
        label=e.label,
        opens=e.opens,
        short=e.short,
    )


def _entry(item: FindItem) -> FindEntry:
    return FindEntry(FindKind(item.find_kind), item.thing_id, item.slot, item.term, item.label, item.opens, bool(item.short))


def _order_entries(order: Order) -> list[FindEntry]:
    name = order.shipping_address.name if order.shipping_address else None
    return order_entries(order.id, order.customer_id, order.customer_email, name)


def entries_of(obj: Any) -> list[FindEntry]:
    """The find entries of a thing being created; none for any other kind."""
    if isinstance(obj, Order):
        return _order_entries(obj)
    if isinstance(obj, ShipmentRecord):
        s = obj.shipment
        return shipment_entries(s.carrier, s.tracking_number, s.po_id, s.order_ids)
    if isinstance(obj, Supplier):
        return named_entries(FindKind.SUPPLIER, obj.id, obj.name)
    if isinstance(obj, CampaignRecord):
        return named_entries(FindKind.CAMPAIGN, obj.campaign.id, obj.campaign.name)
    return []


def find_writes(obj: Any, expected_version: int | None) -> Writes:
    """The find items a Save adds to its transaction: on creation only (what they index never changes
    after it; a rename would Put its slot again, replacing the entry). Plain Puts: each item is its
    thing's own, so writing it twice is harmless. A parcel record superseded by a corrected tracking
    number takes its entry away (the new record, created in the same transaction, brings its own)."""
    if isinstance(obj, ShipmentRecord) and obj.superseded_by:  # a corrected tracking number: the wrong one leaves
        s = obj.shipment
        (gone,) = shipment_entries(s.carrier, s.tracking_number, s.po_id, s.order_ids)
        return [repo.Delete(FindItem(*keys.find_item(gone.kind.value, gone.id, gone.slot)))]
    if expected_version is not None:
        return []
    return [repo.Write(find_item(e)) for e in entries_of(obj)]


def _entries_of_item(item: Item) -> list[FindEntry]:
    if isinstance(item, OrderItem):
        return _order_entries(repo.order_from_item(item))
    if isinstance(item, ShipmentItem):
        if item.superseded_by:
            return []
        return shipment_entries(item.carrier, item.tracking_number, item.po_id, [str(o) for o in item.order_ids or []])
    if isinstance(item, SupplierItem):
        return named_entries(FindKind.SUPPLIER, item.id, item.name)
    if isinstance(item, CampaignItem):
        return named_entries(FindKind.CAMPAIGN, item.id, item.name)
    return []


def _backfill_sources() -> list[tuple[Any, list[str]]]:
    """What `index_existing` reads, in turn: every order and parcel by creation time (their GSI4 shards),
    every supplier, and the campaigns of each status."""
    return [
        (Item.gsi4, keys.all_orders_pks()),
        (Item.gsi4, keys.all_shipments_pks()),
        (Item.gsi1, [keys.suppliers_index("", "")[0]]),
        (Item.gsi1, [keys.campaigns_status_pk(s.value) for s in CampaignStatus]),
    ]


# ---------------------------------------------------------------- saved views


def _view(item: SavedViewItem) -> SavedView:
    filters = json.loads(item.filters or "{}")
    return SavedView(item.owner, item.screen, item.name, {str(k): str(v) for k, v in filters.items()}, item.saved_at)


def _load_view(owner: str, screen: str, name_key: str) -> tuple[SavedView, int] | None:
    item = repo.get(keys.saved_view(owner, screen, name_key), SavedViewItem)
    return None if item is None else (_view(item), int(item.version or 0))


def _save_view(v: SavedView, version: int | None, _at: datetime) -> Writes:
    item = SavedViewItem(
        *keys.saved_view(v.owner, v.screen, v.key),
        owner=v.owner.strip().lower(),
        screen=v.screen,
        name=v.name.strip(),
        filters=json.dumps(v.filters, sort_keys=True, separators=(",", ":")),
        saved_at=v.saved_at,
    )
    return [repo.Write(repo.with_version(item, version), Item.PK.does_not_exist() if version is None else None)]


def _remove_view(v: SavedView, version: int) -> Writes:
    return [repo.Delete(repo.with_version(SavedViewItem(*keys.saved_view(v.owner, v.screen, v.key)), version))]


register(SavedView, Mapper(_load_view, _save_view, _remove_view))


class SearchDynamo:
    def find(self, query: str, *, limit: int) -> list[FindEntry]:
        if not query:
            return []
        short = len(query) < PREFIX
        index = Item.gsi2 if short else Item.gsi1
        sk = Item.GSI2SK if short else Item.GSI1SK
        page = repo.query_page(
            index,
            keys.find_pk(query, SHORT_PREFIX if short else PREFIX),
            range_key_condition=sk.startswith(query),
            limit=limit,
            newest_first=False,
        )
        return [_entry(i) for i in page.items if isinstance(i, FindItem)]

    def saved_views(self, owner: str) -> list[Versioned[SavedView]]:
        found = repo.query_all(keys.staff_pk(owner), range_key_condition=Item.SK.startswith(keys.SAVED_VIEW_PREFIX))
        return [Versioned(_view(i), int(i.version or 0)) for i in found if isinstance(i, SavedViewItem)]

    def index_existing(self, cursor: str | None, *, limit: int) -> tuple[int, str | None]:
        sources = _backfill_sources()
        phase, inner = 0, None
        if cursor:
            raw = cursors.decode(cursor)
            if not (isinstance(raw, dict) and isinstance(raw.get("phase"), int) and 0 <= raw["phase"] < len(sources)):
                raise cursors.invalid()
            phase, inner = raw["phase"], raw.get("cursor")
        source, hash_keys = sources[phase]
        page = query_shards_in_turn(source, hash_keys, limit=limit, cursor=inner)
        entries = [e for i in page.items for e in _entries_of_item(i)]
        if entries:
            with FindItem.batch_write() as batch:
                for e in entries:
                    batch.save(find_item(e))
        if page.cursor:
            following: dict[str, Any] | None = {"phase": phase, "cursor": page.cursor}
        else:
            following = {"phase": phase + 1, "cursor": None} if phase + 1 < len(sources) else None
        return len(entries), cursors.encode(following) if following else None
