"""The retry-on-conflict helper: a lost race is run again from the load; nothing else is."""

from __future__ import annotations

import pytest

from chalicelib.domain.errors import AlreadyExists, Conflict, NotFound
from chalicelib.services.retry import on_conflict, retried


class Flaky:
    """Loses `losses` races, then commits; counts its runs."""

    def __init__(self, losses: int, error: Exception | None = None) -> None:
        self.losses, self.error, self.runs = losses, error, 0

    def __call__(self) -> str:
        self.runs += 1
        if self.runs <= self.losses:
            raise self.error or Conflict(f"lost race {self.runs}")
        return f"committed on run {self.runs}"


def test_a_lost_race_is_run_again_until_it_commits() -> None:
    fn = Flaky(losses=2)
    assert on_conflict(fn, retries=5) == "committed on run 3"
    assert fn.runs == 3


def test_a_function_that_commits_at_once_runs_once() -> None:
    fn = Flaky(losses=0)
    assert on_conflict(fn) == "committed on run 1" and fn.runs == 1


def test_it_gives_up_after_the_last_run_with_the_last_conflict() -> None:
    fn = Flaky(losses=10)
    with pytest.raises(Conflict, match="lost race 3"):
        on_conflict(fn, retries=3)
    assert fn.runs == 3


def test_giving_up_can_say_so_in_the_callers_words() -> None:
    fn = Flaky(losses=10)
    with pytest.raises(Conflict, match="order o1 kept changing") as raised:
        on_conflict(fn, retries=2, gave_up="order o1 kept changing")
    assert fn.runs == 2 and str(raised.value.__cause__) == "lost race 2"


def test_a_caller_that_named_the_version_it_saw_gets_the_conflict_unretried() -> None:
    fn = Flaky(losses=1)
    with pytest.raises(Conflict, match="lost race 1"):
        on_conflict(fn, retries=5, expected_version=7)
    assert fn.runs == 1


def test_version_zero_is_a_named_version_too() -> None:
    fn = Flaky(losses=1)
    with pytest.raises(Conflict):
        on_conflict(fn, expected_version=0)  # 0 is a version too: the caller's 409
    assert fn.runs == 1


@pytest.mark.parametrize("error", [NotFound("gone"), ValueError("bug"), RuntimeError("gateway down")])
def test_other_errors_are_never_retried(error: Exception) -> None:
    fn = Flaky(losses=1, error=error)
    with pytest.raises(type(error)):
        on_conflict(fn, retries=5)
    assert fn.runs == 1


def test_a_must_be_new_conflict_is_a_conflict_like_any_other() -> None:
    fn = Flaky(losses=1, error=AlreadyExists("taken"))
    assert on_conflict(fn) == "committed on run 2"


def test_at_least_one_run_is_asked_for() -> None:
    with pytest.raises(ValueError):
        on_conflict(Flaky(losses=0), retries=0)


def test_a_decorated_change_is_tried_again_unless_the_caller_named_the_version_it_saw() -> None:
    runs: list[int | None] = []

    @retried(what="thing", retries=3)
    def change(name: str, *, expected_version: int | None = None) -> str:
        runs.append(expected_version)
        if len(runs) == 1:
            raise Conflict("lost a race")
        return f"{name} changed"

    assert change("a") == "a changed" and runs == [None, None]
    runs.clear()
    with pytest.raises(Conflict):
        change("b", expected_version=4)
    assert runs == [4]
