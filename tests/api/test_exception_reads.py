"""What a view of the exceptions queue costs on DynamoDB, whatever is open: with 300 open exceptions the
queue's first page is one Query reading the page, one record to know there is more, and the counters
item; a later page and a filtered one read a bounded page too; the dashboard reads the counters, never
the set. (That the counters equal a count of the records is in tests/services/test_exception_counts.py.)"""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.adapters.dynamodb.metering import metered
from chalicelib.services import exceptions, uow
from chalicelib.services.clock import now
from tests.aws import CARE

OPEN = 300
LIMIT = 10
KINDS = ("out_of_stock", "invoice_missing", "supplier_rejected")  # high, medium, critical; no grace period


@pytest.fixture
def crowded(api) -> None:
    """300 open exceptions, each raised in its own transaction as the flows raise them."""
    for i in range(OPEN):
        at = now()
        details = {"supplier_id": "acme" if i % 3 else "brio"}
        uow.store().commit(exceptions.opening_changes(KINDS[i % 3], "po", f"po-{i}", details, at), what=f"po-{i}", at=at)
    # A process reads staff's settings once per settings_cache_s, at its first request: not a view's cost.
    assert api.get("/staff/exceptions?limit=1", CARE)[0] == 200


def get(api, path: str) -> tuple[dict[str, Any], Any]:
    with metered() as m:
        status, body = api.get(path, CARE)
    assert status == 200, body
    return body, m


def test_the_first_page_of_300_open_exceptions_is_one_query_of_limit_plus_two_items(api, crowded):
    page, m = get(api, f"/staff/exceptions?limit={LIMIT}")
    assert dict(m.requests) == {"Query": 1}
    assert m.items_read <= LIMIT + 2, "the page, one more to know there is more, and the counters item"
    assert len(page["items"]) == LIMIT and page["next_cursor"] and page["truncated"] is False
    assert page["counts"]["total"] == OPEN
    assert page["counts"]["by_kind"] == dict.fromkeys(sorted(KINDS), OPEN // 3)
    assert [i["severity"] for i in page["items"]] == ["critical"] * LIMIT


def test_a_later_page_and_a_severity_page_read_one_page_and_the_counters_item(api, crowded):
    first, _ = get(api, f"/staff/exceptions?limit={LIMIT}")
    second, m = get(api, f"/staff/exceptions?limit={LIMIT}&cursor={first['next_cursor']}")
    assert dict(m.requests) == {"Query": 1, "GetItem": 1} and m.items_read <= LIMIT + 2
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}

    medium, m = get(api, f"/staff/exceptions?limit={LIMIT}&severity=medium")
    assert dict(m.requests) == {"Query": 1, "GetItem": 1} and m.items_read <= LIMIT + 2
    assert {i["severity"] for i in medium["items"]} == {"medium"} and medium["counts"]["total"] == OPEN // 3
    assert medium["counts"]["by_severity"]["high"] == OPEN // 3, "the severity facet ignores the severity filter"


def test_a_filter_the_counters_do_not_keep_reads_at_most_the_cap_and_says_when_it_stopped(api, crowded, monkeypatch):
    page, m = get(api, f"/staff/exceptions?limit={LIMIT}&supplier_id=brio")
    assert m.requests["Query"] == 1 and m.items_read <= exceptions.READ_CAP
    assert page["counts"]["total"] == OPEN // 3 and page["truncated"] is False

    monkeypatch.setattr(exceptions, "READ_CAP", 100)
    page, m = get(api, f"/staff/exceptions?limit={LIMIT}&supplier_id=brio")
    assert m.items_read <= 2 * 100
    assert page["truncated"] is True and page["counts"]["total"] < OPEN // 3, "counted over what was read, and said so"


def test_the_dashboard_reads_the_counters_not_the_300_open_exceptions(api, crowded):
    board, m = get(api, "/staff/dashboard")
    assert board["open_exceptions"]["total"] == OPEN
    assert board["open_exceptions"]["by_severity"] == {"critical": 100, "high": 100, "medium": 100, "low": 0}
    assert m.items_read < 20, dict(m.requests)
