"""Plain-text tables and the PASS/FAIL bookkeeping shared by every benchmark section."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

PASS, FAIL, NA, INFO = "PASS", "FAIL", "n/a", "-"


@dataclass
class Row:
    """One printed figure: what was measured, its target (if any) and the verdict."""

    cells: list[str]
    verdict: str = INFO


@dataclass
class Section:
    title: str
    header: list[str]
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: object, verdict: str = INFO) -> None:
        self.rows.append(Row([str(c) for c in cells], verdict))

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
