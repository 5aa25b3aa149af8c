"""Plain-text tables and the PASS/FAIL bookkeeping shared by every benchmark section."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

PASS, FAIL, NA, INFO = "PASS", "FAIL", "n/a", "-"


@dataclass
class Row:
    """One printed figure: what was measured, its target (if any) and the verdict."""

    cells: list[str]
    verdict: str = INFO
    # (figure, goal, measured) for the closing summary; None: taken from the cells (see `summary_rows`)
    summary: tuple[str, str, str] | None = None


@dataclass
class Section:
    title: str
    header: list[str]
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: object, verdict: str = INFO, summary: tuple[object, object, object] | None = None) -> None:
        """One row; `summary` names its (figure, goal, measured) in the closing table when the cells do not
        say it plainly (a row with a verdict is summarised from its cells otherwise)."""
        named = None if summary is None else (str(summary[0]), str(summary[1]), str(summary[2]))
        self.rows.append(Row([str(c) for c in cells], verdict, named))

    def summary_rows(self) -> list[tuple[str, str, str, str]]:
        """(figure, goal, measured, verdict) of every judged row (and of every row given a summary), for the
        one table at the end. Any section plugs in: the figure is the row's first cell (with its layer),
        the goal its `target`/`goal` column, the measured value its `measured` column, or else the
        other cells, each with its header."""
        where = self.title.split(".")[0].strip()
        goal_at = next((i for i, h in enumerate(self.header) if h in ("target", "goal")), None)
        measured_at = next((i for i, h in enumerate(self.header) if h == "measured"), None)
        named_at = [0] + ([1] if len(self.header) > 1 and self.header[1] == "layer" else [])
        out = []
        for r in self.rows:
            if r.summary is not None:
                figure, goal, measured = r.summary
            elif r.verdict == INFO:
                continue
            else:
                figure = " ".join(r.cells[i] for i in named_at if r.cells[i])
                goal = r.cells[goal_at] if goal_at is not None else ""
                if measured_at is not None:
                    measured = r.cells[measured_at]
                else:
                    skip = {*named_at, goal_at}
                    measured = "; ".join(
                        f"{h} {c}" for i, (h, c) in enumerate(zip(self.header, r.cells, strict=False)) if i not in skip and c
                    )
            out.append((f"{where}. {figure}", goal, _clip(measured), r.verdict))
        return out

    def render(self) -> str:
        header = [*self.header, "verdict"]
        body = [[*r.cells, r.verdict] for r in self.rows]
        widths = [max(len(str(line[i])) for line in [header, *body]) for i in range(len(header))]

        def line(cells: Sequence[str]) -> str:
            return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

        out = [self.title, "=" * len(self.title), line(header), line(["-" * w for w in widths])]
        out += [line(r) for r in body]
        out += [f"  {n}" for n in self.notes]
        return "\n".join(out)

    @property
    def verdicts(self) -> list[str]:
        return [r.verdict for r in self.rows]


def _clip(text: str, width: int = 80) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def summary(sections: Iterable[Section]) -> Section:
    """The one table at the end: figure, goal, measured, verdict of every section's judged figures."""
    table = Section("Summary: every judged figure (DESIGN.md section 9)", ["figure", "goal", "measured"])
    for section in sections:
        for figure, goal, measured, verdict in section.summary_rows():
            table.add(figure, goal, measured, verdict=verdict)
    return table


def exit_code(table: Section, *, report_only: bool = False) -> int:
    """1 when any figure of the summary missed its goal (0 with `report_only`)."""
    return 1 if FAIL in table.verdicts and not report_only else 0
