"""Staff's search box (`GET /staff/search?q=`) and each person's saved views of the list screens
(`/staff/views`): services/search.py. Staff roles only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint

from ..domain.permissions import READ_STAFF
from ..lazy import lazy_module
from .http import Call, endpoint

if TYPE_CHECKING:
    from ..services import search
    from .views import search as views
else:
    search = lazy_module("chalicelib.services.search")
    views = lazy_module("chalicelib.api.views.search")

search_api = Blueprint(__name__)
TAG = "staff: search"


@endpoint(
    search_api,
    "/staff/search",
    "GET",
    summary="Find by the start of a reference, tracking number, e-mail, name, supplier or campaign (one or two queries)",
    tag=TAG,
    roles=READ_STAFF,
    query="SearchQuery",
    response="SearchView",
)
def find(call: Call) -> views.SearchView:
    q: views.SearchQuery = call.query
    return views.SearchView(q=q.q, items=[views.SearchResultView.of(r) for r in search.search(call.actor, q.q)])


@endpoint(
    search_api,
    "/staff/views",
    "GET",
    summary="My saved views of the list screens (one query)",
    tag=TAG,
    roles=READ_STAFF,
    query="SavedViewsQuery",
    response="SavedViewList",
)
def list_views(call: Call) -> views.SavedViewList:
    found = search.views_of(call.actor, call.query.screen)
    return views.SavedViewList(items=[views.SavedViewView.of(v) for v in found])


@endpoint(
    search_api,
    "/staff/views/{screen}",
    "PUT",
    summary="Save the current filters of a list screen under a name (the same name replaces it)",
    tag=TAG,
    roles=READ_STAFF,
    body="SavedViewRequest",
    response="SavedViewView",
)
def save_view(call: Call, screen: str) -> views.SavedViewView:
    body: views.SavedViewRequest = call.body
    return views.SavedViewView.of(search.save_view(call.actor, screen, body.name, dict(body.filters)))


@endpoint(
    search_api,
    "/staff/views/{screen}",
    "DELETE",
    summary="Delete one of my saved views; answers the screen's views left",
    tag=TAG,
    roles=READ_STAFF,
    query="SavedViewDeleteQuery",
    response="SavedViewList",
)
def delete_view(call: Call, screen: str) -> views.SavedViewList:
    search.delete_view(call.actor, screen, call.query.name)
    return views.SavedViewList(items=[views.SavedViewView.of(v) for v in search.views_of(call.actor, screen)])
