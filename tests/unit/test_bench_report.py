"""The bench's closing table: every judged row of any section, however its columns are named, and a
failing figure makes the bench exit 1."""

from __future__ import annotations

import pytest

from bench.report import FAIL, INFO, NA, PASS, Section, exit_code, summary


def test_the_summary_takes_figure_goal_and_measured_from_a_sections_named_columns():
    section = Section("6. Carrier webhooks", ["figure", "measured", "target"])
    section.add("requests per webhook", "1.00", "1", verdict=PASS)
    section.add("put_item per second", "230.0", "", verdict=INFO)  # quoted, not judged: not summarised
    section.add("ratio", "0.07", ">= 0.3", verdict=FAIL)

    rows = summary([section]).rows
    assert [(r.cells, r.verdict) for r in rows] == [
        (["6. requests per webhook", "1", "1.00"], PASS),
        (["6. ratio", ">= 0.3", "0.07"], FAIL),
    ]


def test_a_section_with_other_columns_is_summarised_from_its_cells_with_their_headers():
    section = Section("1. DynamoDB requests", ["operation", "layer", "requests", "target", "mean ms"])
    section.add("place order", "http", "TransactWriteItemsx1", "1 tx", "12.0", verdict=PASS)
    section.add("dashboard", "http", "Queryx7", "", "40.0", verdict=NA)

    rows = summary([section]).rows
    assert rows[0].cells == ["1. place order http", "1 tx", "requests TransactWriteItemsx1; mean ms 12.0"]
    assert rows[1].cells == ["1. dashboard http", "", "requests Queryx7; mean ms 40.0"] and rows[1].verdict == NA


def test_a_row_may_name_its_summary():
    section = Section("4. PO generation", ["orders", "working KiB"])
    section.add("1000 -> 10000", "1.12x", verdict=PASS, summary=("working memory ratio", "<= 1.5x", "1.12x"))
    assert summary([section]).rows[0].cells == ["4. working memory ratio", "<= 1.5x", "1.12x"]


@pytest.mark.parametrize(
    ("verdicts", "report_only", "code"),
    [([PASS, INFO, NA], False, 0), ([PASS, FAIL], False, 1), ([PASS, FAIL], True, 0)],
)
def test_the_bench_exits_1_when_a_goal_fails_unless_asked_only_to_report(verdicts, report_only, code):
    section = Section("9. Fake", ["figure", "measured", "target"])
    for i, verdict in enumerate(verdicts):
        section.add(f"figure {i}", "2", "<= 1", verdict=verdict)
    assert exit_code(summary([section]), report_only=report_only) == code
