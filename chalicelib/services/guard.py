"""Role checks shared by the services (object-level checks live in each use case)."""

from __future__ import annotations

from ..domain.errors import Forbidden
from ..domain.permissions import Principal, Role


def require(actor: Principal, allowed: frozenset[Role], what: str) -> None:
    if not actor.has_any(allowed):
        raise Forbidden(f"your role may not {what}")
