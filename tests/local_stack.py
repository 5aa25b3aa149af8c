"""The embedded local stack as a test fixture: `chalicelib.local.child` starts it exactly as
`make run` starts it (free ports, its own state directory); the tests use it over HTTP like a
client would. Shared by tests/e2e (the pipeline end to end) and tests/browser (the admin page)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chalicelib.local.child import ChildStack, StackDidNotStart, child_stack
from chalicelib.local.issuer import DevIssuer


@dataclass
class Stack(ChildStack):
    issuer: DevIssuer | None = None

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def moto(self) -> str:
        return f"http://127.0.0.1:{self.moto_port}"

    @property
    def admin(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def headers(self, sub: str, role: str, **claims: Any) -> dict[str, str]:
        assert self.issuer is not None
        return {"Authorization": f"Bearer {self.issuer.token(sub, [role], **claims)}"}


@contextlib.contextmanager
def running_stack(state_dir: Path, *extra: str) -> Iterator[Stack]:
    """The child stack, with its dev issuer; a stack that does not start fails the test."""
    try:
        with child_stack(state_dir, *extra) as child:
            yield Stack(**vars(child), issuer=DevIssuer.load(state_dir / "issuer.json"))
    except StackDidNotStart as exc:
        pytest.fail(str(exc))
