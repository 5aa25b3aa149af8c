"""The build is reproducible: `make` upgrades pip no further than the pinned chalice accepts
(chalice declares `pip<26.3`; an unbounded upgrade installed 26.3 against it)."""

from __future__ import annotations

import re
from importlib.metadata import requires
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

MAKEFILE = Path(__file__).resolve().parents[2] / "Makefile"


def makefile_pip_specs() -> list[SpecifierSet]:
    """The version bound of each `pip install --upgrade pip...` in the Makefile (empty when unbounded)."""
    return [SpecifierSet(s) for s in re.findall(r"pip install[^\n]*--upgrade\s+['\"]?pip([^'\"\s]*)", MAKEFILE.read_text())]


def upper_bounds(spec: SpecifierSet) -> list[tuple[Version, bool]]:
    """Each upper bound of `spec`: (version, whether that version itself is allowed)."""
    return [(Version(s.version), s.operator == "<=") for s in spec if s.operator in {"<", "<="}]


def test_the_makefile_upgrades_pip_only_within_the_bound_chalice_declares() -> None:
    [chalice_pip] = [Requirement(r) for r in requires("chalice") or [] if Requirement(r).name == "pip"]
    chalice_bounds = upper_bounds(chalice_pip.specifier)
    assert chalice_bounds, f"chalice bounds pip: {chalice_pip}"
    specs = makefile_pip_specs()
    assert specs, "the Makefile upgrades pip"
    for spec in specs:
        bounds = upper_bounds(spec)
        assert bounds, f"the Makefile upgrades pip without an upper bound ({spec or 'none'})"
        highest, inclusive = min(bounds)
        for limit, limit_inclusive in chalice_bounds:
            assert highest < limit or (highest == limit and (limit_inclusive or not inclusive)), (str(spec), str(chalice_pip))
