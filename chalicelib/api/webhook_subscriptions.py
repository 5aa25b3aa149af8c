"""Staff routes for outbound webhooks: subscriptions (admins change them, staff read them), secret
rotation, and the delivery log with each attempt, and replay."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from chalice.app import Blueprint

from ..domain.permissions import MANAGE_WEBHOOKS, READ_STAFF
from ..lazy import lazy_module
from .http import Call, endpoint

if TYPE_CHECKING:
    from ..services import webhook_catalogue
    from ..services import webhooks as svc
    from ..services.ports_outbound import WebhookDelivery
    from .views import webhooks as views
else:
    svc = lazy_module("chalicelib.services.webhooks")
    webhook_catalogue = lazy_module("chalicelib.services.webhook_catalogue")
    views = lazy_module("chalicelib.api.views.webhooks")

webhook_subscriptions_api = Blueprint(__name__)
ADMINS = MANAGE_WEBHOOKS
TAG = "staff: webhooks"


def _with_secret(sub: svc.Subscription) -> views.WebhookSubscriptionWithSecret:
    assert sub.secret is not None  # a subscription just created or rotated carries its new secret
    return views.WebhookSubscriptionWithSecret(**dict(views.WebhookSubscriptionView.of(sub.item)), secret=sub.secret)


@endpoint(
    webhook_subscriptions_api,
    "/staff/webhook-event-types",
    "GET",
    summary="Every event type a subscription may receive, with its payload's JSON Schema and an example",
    tag=TAG,
    roles=READ_STAFF,
    response="WebhookEventTypeList",
)
def event_types(call: Call) -> views.WebhookEventTypeList:
    return views.WebhookEventTypeList(
        items=[views.WebhookEventTypeView.pick(t) for t in webhook_catalogue.event_types()],
        patterns=["*: every type", "<subject>.*: every type of a subject, e.g. order.*"],
    )


@endpoint(
    webhook_subscriptions_api,
    "/staff/webhook-subscriptions",
    "GET",
    summary="Webhook subscriptions",
    tag=TAG,
    roles=READ_STAFF,
    query="PageQuery",
    response="WebhookSubscriptionPage",
)
def list_subscriptions(call: Call) -> views.WebhookSubscriptionPage:
    items, cursor = svc.list_subscriptions(limit=call.query.limit, cursor=call.query.cursor)
    return views.WebhookSubscriptionPage(items=[views.WebhookSubscriptionView.of(i) for i in items], next_cursor=cursor)


@endpoint(
    webhook_subscriptions_api,
    "/staff/webhook-subscriptions",
    "POST",
    summary="Subscribe a URL to event types; answers its signing secret once",
    tag=TAG,
    roles=ADMINS,
    body="WebhookSubscriptionIn",
    response="WebhookSubscriptionWithSecret",
    status=201,
)
def create_subscription(call: Call) -> views.WebhookSubscriptionWithSecret:
    b = call.body
    sub = svc.create_subscription(call.actor, url=b.url, event_types=b.event_types, description=b.description, active=b.active)
    return _with_secret(sub)


@endpoint(
    webhook_subscriptions_api,
    "/staff/webhook-subscriptions/{subscription_id}",
    "GET",
    summary="A webhook subscription",
    tag=TAG,
    roles=READ_STAFF,
    response="WebhookSubscriptionView",
)
def get_subscription(call: Call, subscription_id: str) -> views.WebhookSubscriptionView:
    return views.WebhookSubscriptionView.of(svc.get_subscription(subscription_id))


@endpoint(
    webhook_subscriptions_api,
    "/staff/webhook-subscriptions/{subscription_id}",
    "PUT",
    summary="Change a subscription's URL, event types, description or active flag (re-enable)",
    tag=TAG,
    roles=ADMINS,
    body="WebhookSubscriptionUpdate",
    response="WebhookSubscriptionView",
)
def update_subscription(call: Call, subscription_id: str) -> views.WebhookSubscriptionView:
    b = call.body
    return views.WebhookSubscriptionView.of(
        svc.update_subscription(
            call.actor,
            subscription_id,
            url=b.url,
            event_types=b.event_types,
            active=b.active,
            description=b.description,
            expected_version=b.expected_version,
        )
    )


@endpoint(
    webhook_subscriptions_api,
    "/staff/webhook-subscriptions/{subscription_id}/rotate-secret",
    "POST",
    summary="A new signing secret, answered once; the previous one keeps signing for a grace window",
    tag=TAG,
    roles=ADMINS,
    response="WebhookSubscriptionWithSecret",
)
def rotate_secret(call: Call, subscription_id: str) -> views.WebhookSubscriptionWithSecret:
    sub = svc.rotate_secret(call.actor, subscription_id)
    return _with_secret(sub)


def _detail(item: WebhookDelivery) -> views.WebhookDeliveryDetailView:
    return views.WebhookDeliveryDetailView(
        **dict(views.WebhookDeliveryView.of(item)),
        payload=json.loads(item.payload),
        attempts=[
            views.WebhookAttemptView(
                number=a.number,
                at=a.at,
                status_code=a.status_code,
                latency_ms=a.latency_ms,
                response_excerpt=a.response_excerpt,
                error=a.error,
            )
            for a in item.attempts
        ],
    )


@endpoint(
    webhook_subscriptions_api,
    "/staff/webhook-deliveries",
    "GET",
    summary="Webhook deliveries, newest first, by subscription and/or status",
    tag=TAG,
    roles=READ_STAFF,
    query="WebhookDeliveryListQuery",
    response="WebhookDeliveryPage",
)
def list_deliveries(call: Call) -> views.WebhookDeliveryPage:
    q = call.query
    items, cursor = svc.list_deliveries(subscription_id=q.subscription_id, status=q.status, limit=q.limit, cursor=q.cursor)
    return views.WebhookDeliveryPage(items=[views.WebhookDeliveryView.of(i) for i in items], next_cursor=cursor)


@endpoint(
    webhook_subscriptions_api,
    "/staff/webhook-deliveries/{delivery_id}",
    "GET",
    summary="A webhook delivery with every attempt (status code, latency, response excerpt, error)",
    tag=TAG,
    roles=READ_STAFF,
    response="WebhookDeliveryDetailView",
)
def get_delivery(call: Call, delivery_id: str) -> views.WebhookDeliveryDetailView:
    return _detail(svc.get_delivery(delivery_id))


@endpoint(
    webhook_subscriptions_api,
    "/staff/webhook-deliveries/{delivery_id}/replay",
    "POST",
    summary="Send a delivery again now, as a new delivery (new webhook id) linked to it",
    tag=TAG,
    roles=ADMINS,
    response="WebhookDeliveryDetailView",
    status=201,
)
def replay_delivery(call: Call, delivery_id: str) -> views.WebhookDeliveryDetailView:
    return _detail(svc.replay(call.actor, delivery_id))
