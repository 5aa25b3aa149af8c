"""SQS batches with partial failure: only the messages that failed are retried.

This is the one place a queue message becomes a typed event (chalicelib/events.py), and the one
idempotency mechanism of every consumer: a record per (consumer, event) on the table, claimed
before the work (in progress, for as long as the queue hides the message), completed after it,
deleted when the work fails so the redelivery does it again, and expired by TTL. A redelivered
event that was completed is skipped; one still in progress elsewhere fails and comes back later.
A consumer whose effects for some events are guarded by their own create-only writes says so
(`guards_itself` in its module, see `guarding_itself`) and takes the record itself, with `once`,
only around what is not (the inbound consumer's carrier webhooks: 2 writes fewer per message).

Inside, each consumer's effects keep their own guard, because a failure part-way leaves some of
them done: an e-mail has its outbox record per (event, address), a webhook delivery its id per
(event, subscription), a refund its pending payment and idempotency key, a stage its stored token.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any, Final, TypeVar

from ..events import BadEvent, Event, parse
from ..observability import logger
from ..services import uow
from ..services.clock import now
from ..services.ports_consumers import COMPLETED, IN_PROGRESS
from ..topology import Queue

E = TypeVar("E", bound=Event)

DONE_FOR = timedelta(days=7)  # longer than any queue keeps a message


class Skipped:
    """What `once` returns for an event this consumer has handled already."""

    def __repr__(self) -> str:
        return "SKIPPED"


SKIPPED: Final = Skipped()


class InProgress(Exception):
    """Another run of this consumer holds the event: fail the message, the queue brings it back."""


def domain_event(body: str) -> Event:
    """The typed event of one queue message (BadEvent when it is none)."""
    return parse(body)


def consumer_of(handle: Callable[..., Any]) -> tuple[str, Queue, Callable[[Any], bool]]:
    """A consumer's name (its handler module's), its queue (the module's `QUEUE`) and which events can
    have an effect there (the module's `wants`; every one when it has none)."""
    module = importlib.import_module(handle.__module__)
    wants: Callable[[Any], bool] = getattr(module, "wants", lambda _: True)
    return handle.__module__.rsplit(".", 1)[-1], module.QUEUE, wants


def once(consumer: str, queue: Queue, event: E, handle: Callable[[E], Any]) -> Any:
    """Run `handle` on `event` unless `consumer` did already; SKIPPED when it had."""
    key = event.idempotency_key
    at = now()
    store = uow.store()
    state = store.claim_event(
        consumer, key, at, lease_seconds=queue.visibility_timeout_s, ttl_seconds=int(DONE_FOR.total_seconds())
    )
    if state == COMPLETED:
        logger.info("event handled already", extra={"consumer": consumer, "event": key})
        return SKIPPED
    if state == IN_PROGRESS:
        raise InProgress(f"{consumer}: event {key} is in progress elsewhere")
    try:
        result = handle(event)
    except BaseException:
        store.release_event(consumer, key)
        raise
    store.complete_event(consumer, key, now())
    return result


def guarding_itself(handle: Callable[..., Any]) -> Callable[[Any], bool]:
    """Which events a consumer's handler guards itself (its module's `guards_itself`; none when it has
    none): for those it takes the exactly-once record only where its effects need one, with `once`."""
    guards: Callable[[Any], bool] = getattr(importlib.import_module(handle.__module__), "guards_itself", lambda _: False)
    return guards


def process(records: Iterable[Any], handle: Callable[[Any], Any]) -> dict[str, Any]:
    """Run `handle` once on each record's typed event; report the failures as batchItemFailures
    (a message that is no event of the catalogue among them)."""
    consumer, queue, wants = consumer_of(handle)
    guards_itself = guarding_itself(handle)
    failures = []
    for record in records:
        message_id = record.to_dict().get("messageId")
        try:
            event = parse(record.body)
            if wants(event) and guards_itself(event):
                handle(event)
            elif wants(event):
                once(consumer, queue, event, handle)
        except BadEvent as exc:
            logger.error("not an event", extra={"message_id": message_id, "consumer": consumer, "error": str(exc)})
            failures.append({"itemIdentifier": message_id})
        except Exception:
            logger.exception("message failed", extra={"message_id": message_id, "consumer": consumer})
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
