"""Webhooks: the acknowledgement of an inbound one, and the outbound subscriptions and their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, StringConstraints

from .common import Id, Page, PageQuery, Request, Version, View

if TYPE_CHECKING:
    from ...services.ports_outbound import WebhookDelivery, WebhookSubscription


class WebhookAck(View):
    status: str = Field(description="accepted, or duplicate (already received: no second effect)")
    webhook_id: str


# ---------------------------------------------------------------- outbound webhooks (issue 7)

WebhookUrl = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048)]
# An exact type, `*` (every type) or `<subject>.*` (every type of a subject), domain/webhooks.py `matches`.
EventTypeName = Annotated[str, StringConstraints(pattern=r"^(\*|[a-z_]+\.(\*|[a-z_]+))$", max_length=64)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
DeliveryStatusName = Literal["sending", "pending", "succeeded", "failed", "abandoned"]


class WebhookSubscriptionIn(Request):
    url: WebhookUrl = Field(description="https URL (outside local mode) whose host resolves to public addresses only")
    event_types: list[EventTypeName] = Field(
        min_length=1,
        max_length=64,
        description="event types to receive (GET /staff/webhook-event-types lists them): exact types, `*` for "
        "every type or `<subject>.*` (e.g. `order.*`) for a subject's",
    )
    description: Description | None = None
    active: bool = Field(True, strict=True)


class WebhookSubscriptionUpdate(Request):
    url: WebhookUrl | None = None
    event_types: list[EventTypeName] | None = Field(None, min_length=1, max_length=64)
    description: Description | None = None
    active: bool | None = Field(None, strict=True, description="true re-enables a disabled subscription")
    expected_version: Version | None = None


class WebhookSubscriptionView(View):
    id: str
    url: str
    event_types: list[str]
    description: str | None
    active: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    secret_rotated_at: datetime | None
    previous_secret_valid_until: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, item: WebhookSubscription) -> WebhookSubscriptionView:
        """The fields every subscription view shows (WebhookSubscriptionWithSecret adds the secret)."""
        return WebhookSubscriptionView(
            id=item.id,
            url=item.url,
            event_types=list(item.event_types),
            description=item.description,
            active=item.active,
            disabled_reason=item.disabled_reason,
            disabled_at=item.disabled_at,
            secret_rotated_at=item.secret_rotated_at,
            previous_secret_valid_until=item.previous_secret_expires_at if item.previous_secret else None,
            created_at=item.created_at,
            updated_at=item.updated_at,
            version=item.version,
        )


class WebhookSubscriptionWithSecret(WebhookSubscriptionView):
    secret: str = Field(description="the whsec_ signing secret: shown now and never again")


class WebhookSubscriptionPage(Page):
    items: list[WebhookSubscriptionView]


class WebhookDeliveryListQuery(PageQuery):
    subscription_id: Id | None = None
    status: DeliveryStatusName | None = None


class WebhookAttemptView(View):
    number: int
    at: datetime
    status_code: int | None
    latency_ms: int
    response_excerpt: str | None
    error: str | None


class WebhookDeliveryView(View):
    id: str = Field(description="the webhook id (webhook-id header) every attempt of this delivery carries")
    subscription_id: str
    event_id: str
    event_type: str
    status: str
    attempts_made: int
    next_attempt_at: datetime | None
    replay_of: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, item: WebhookDelivery) -> WebhookDeliveryView:
        """The fields every delivery view shows (WebhookDeliveryDetailView adds the payload and attempts)."""
        return WebhookDeliveryView(
            id=item.id,
            subscription_id=item.subscription_id,
            event_id=item.event_id,
            event_type=item.event_type,
            status=item.status,
            attempts_made=len(item.attempts),
            next_attempt_at=item.next_attempt_at if item.status in ("pending", "sending") else None,
            replay_of=item.replay_of,
            created_at=item.created_at,
            updated_at=item.updated_at,
        )


class WebhookDeliveryDetailView(WebhookDeliveryView):
    payload: dict[str, object]
    attempts: list[WebhookAttemptView]


class WebhookDeliveryPage(Page):
    items: list[WebhookDeliveryView]


# ---------------------------------------------------------------- the event types on offer (issue 19)


class WebhookEventTypeView(View):
    type: str
    subject: str = Field(description="what the event is about: order, po, shipment, campaign, complaint")
    payload_schema: dict[str, object] = Field(description="JSON Schema of the webhook's body for this type")
    example: dict[str, object] = Field(description="an example body, as the sender builds it")


class WebhookEventTypeList(View):
    items: list[WebhookEventTypeView]
    patterns: list[str] = Field(description="what a subscription may name besides exact types")
