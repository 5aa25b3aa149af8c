"""The exceptions queue filtered by team over HTTP on moto: with 300 open exceptions, a team's page is the
counters item and one Query of the queue index from the first severity the team's exceptions hold
(never the whole open set); its counts are the team's; an unknown team is a 422 naming the field."""

from __future__ import annotations

import pytest

from chalicelib.adapters.dynamodb.metering import metered
from chalicelib.services import exceptions, uow
from chalicelib.services.clock import now
from tests.api.support import assert_error
from tests.aws import CARE

OPEN = 300
LIMIT = 10
KINDS = ("out_of_stock", "invoice_missing", "supplier_rejected")  # buyer high, accounting medium, buyer critical


@pytest.fixture
def crowded(api) -> None:
    for i in range(OPEN):
        at = now()
        uow.store().commit(exceptions.opening_changes(KINDS[i % 3], "po", f"po-{i}", {}, at), what=f"po-{i}", at=at)


def test_a_teams_page_reads_the_counters_and_one_slice_of_the_index(api, crowded):
    assert api.get("/staff/exceptions?limit=1", CARE)[0] == 200  # the settings' overrides: read once per cache time
    with metered() as m:
        status, page = api.get(f"/staff/exceptions?limit={LIMIT}&team=accounting", CARE)
    assert status == 200, page
    assert dict(m.requests) == {"GetItem": 1, "Query": 1} and m.items_read <= LIMIT + 2
    assert {i["kind"] for i in page["items"]} == {"invoice_missing"} and len(page["items"]) == LIMIT
    assert page["counts"]["total"] == OPEN // 3 and page["counts"]["by_kind"] == {"invoice_missing": OPEN // 3}
    assert page["next_cursor"] and page["truncated"] is False

    status, buyers = api.get(f"/staff/exceptions?limit={LIMIT}&team=buyer", CARE)
    assert status == 200 and buyers["counts"]["total"] == 2 * OPEN // 3
    assert {i["owner"] for i in buyers["items"]} == {"buyer"}


def test_an_unknown_team_is_a_422_naming_the_field(api):
    status, body = api.get("/staff/exceptions?team=marketing", CARE)
    assert_error(status, body, 422)
    assert [d["field"] for d in body["error"]["details"]] == ["query.team"]
