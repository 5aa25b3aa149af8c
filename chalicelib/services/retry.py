"""One way to retry a lost race: load, change, commit under the version read; on `Conflict` do it all again.

Every write of an aggregate is conditional on the version it read, so two writers never overwrite
each other: the loser gets `Conflict` and must read again. `on_conflict` runs the whole "load,
change, commit" function again, a bounded number of times. The load belongs inside the function:
retrying a commit of stale state would only lose again.

A caller that names the version it saw (`expected_version`, a client's `If-Match`) asked for a
change of THAT version: a Conflict is its answer (a 409), never retried into a change it did not see.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from ..domain.errors import Conflict
from ..observability import logger

T = TypeVar("T")
P = ParamSpec("P")
RETRIES = 5


def on_conflict(
    fn: Callable[[], T],
    *,
    retries: int = RETRIES,
    expected_version: int | None = None,
    what: str = "",
    gave_up: str | None = None,
) -> T:
    """`fn()` (which loads, changes and commits), run again after each `Conflict`, at most `retries` runs;
    the last Conflict is raised (or, with `gave_up`, a Conflict saying so: the caller's words for
    "it kept changing"). With `expected_version` given, the first Conflict is raised. Other errors
    are never retried."""
    if retries < 1:
        raise ValueError("retries must be at least 1")
    for attempt in range(1, retries + 1):
        try:
            return fn()
        except Conflict as exc:
            if expected_version is not None:
                raise
            if attempt == retries:
                if gave_up is not None:
                    raise Conflict(gave_up) from exc
                raise
            logger.debug("lost a race; reading again", extra={"what": what, "attempt": attempt})
    raise AssertionError("unreachable")


def retried(*, what: str, retries: int = RETRIES) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """`on_conflict` as a decorator for a use case that loads, changes and commits: the caller's
    `expected_version` keyword (if any) is the version it saw, never retried past."""

    def wrap(fn: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> T:
            expected = kwargs.get("expected_version")
            return on_conflict(
                lambda: fn(*args, **kwargs),
                retries=retries,
                expected_version=expected if isinstance(expected, int) else None,
                what=what,
            )

        return run

    return wrap
