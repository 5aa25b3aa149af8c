"""Typed domain errors. The API maps each class to an HTTP status in one place."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base class: a request the domain refuses, with a stable machine-readable code."""

    code = "domain_error"

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class NotFound(DomainError):
    """The thing does not exist, or the caller may not know that it exists."""

    code = "not_found"


class Forbidden(DomainError):
    """The caller's role may not do this at all."""

    code = "forbidden"


class InvalidTransition(DomainError):
    """The action is not allowed in the subject's current status."""

    code = "invalid_transition"


class Conflict(DomainError):
    """Someone else changed the subject first (lost optimistic-lock race) or it already exists."""

    code = "conflict"


class AlreadyExists(Conflict):
    """What the request would create exists already (a tracking number recorded before): a 409
    that retrying can never clear, unlike a lost race."""

    code = "already_exists"


class RuleViolation(DomainError):
    """Well-formed input that breaks a business rule (unknown SKU, campaign not live...)."""

    code = "rule_violation"

    def __init__(self, code: str, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message, details=details)
        self.code = code
