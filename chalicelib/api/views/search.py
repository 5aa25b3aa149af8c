"""What staff send and see of the search box and saved views (services/search.py)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, StringConstraints

from .common import Request, View

if TYPE_CHECKING:
    from ...services.ports_common import Versioned
    from ...services.ports_search import SavedView
    from ...services.search import SearchResult

Screen = Literal["orders", "exceptions", "complaints", "purchase_orders"]
FilterKey = Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,40}$")]
FilterValue = Annotated[str, StringConstraints(max_length=200)]


class SearchQuery(Request):
    q: str = Field(
        min_length=2,
        max_length=100,
        description="the start of an order reference, a tracking number, a customer's e-mail or name, a supplier's "
        "or a campaign's id or name (case and accents do not matter)",
    )


class SearchResultView(View):
    kind: Literal["order", "customer", "shipment", "supplier", "campaign"]
    id: str
    label: str
    link: str = Field(description="the admin page's hash that opens it")

    @classmethod
    def of(cls, r: SearchResult) -> SearchResultView:
        return cls(kind=r.kind, id=r.id, label=r.label, link=r.link)  # type: ignore[arg-type]


class SearchView(View):
    q: str
    items: list[SearchResultView]


class SavedViewsQuery(Request):
    screen: Screen | None = Field(None, description="one list screen's views")


class SavedViewRequest(Request):
    name: str = Field(min_length=1, max_length=40, description="saving under a name used on this screen replaces it")
    filters: dict[FilterKey, FilterValue] = Field(default_factory=dict, max_length=20)


class SavedViewDeleteQuery(Request):
    name: str = Field(min_length=1, max_length=40)


class SavedViewView(View):
    screen: str
    name: str
    filters: dict[str, str]
    saved_at: datetime | None
    version: int

    @classmethod
    def of(cls, v: Versioned[SavedView]) -> SavedViewView:
        return cls(
            screen=v.value.screen, name=v.value.name, filters=v.value.filters, saved_at=v.value.saved_at, version=v.version
        )


class SavedViewList(View):
    items: list[SavedViewView]
