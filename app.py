"""Waybill's Chalice app: routes from the blueprints, plus the non-HTTP entry points.

Queue consumers, the stream publisher and the schedules are declared here so Chalice
deploys them as Lambda functions; locally, `chalicelib.local` calls these same functions.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from chalice.app import Chalice

from chalicelib.api.accounting import accounting_api
from chalicelib.api.assignments import assignments_api
from chalicelib.api.auth import auth
from chalicelib.api.complaints import complaints_api
from chalicelib.api.console import console_api
from chalicelib.api.customer import customer_api
from chalicelib.api.exceptions import exceptions_api
from chalicelib.api.exports import exports_api
from chalicelib.api.http import translate_gateway_errors
from chalicelib.api.metrics import metrics_api
from chalicelib.api.notifications import notifications_api
from chalicelib.api.public import public_api
from chalicelib.api.search import search_api
from chalicelib.api.settings import settings_api
from chalicelib.api.staff import staff_api
from chalicelib.api.staff_purchase_orders import staff_po_api
from chalicelib.api.storefront import storefront_api
from chalicelib.api.supplier import supplier_api
from chalicelib.api.supplier_access import supplier_access_api
from chalicelib.api.webhook_subscriptions import webhook_subscriptions_api
from chalicelib.api.webhooks import webhooks_api
from chalicelib.config import settings
from chalicelib.observability import logger, metrics, traced
from chalicelib.topology import (
    APP_NAME,
    CAMPAIGN_ORDERS,
    COMPLAINTS,
    EXPORTS,
    INBOUND_WEBHOOKS,
    NOTIFICATIONS,
    PAYMENTS,
    PO_STAGES,
    PURCHASE_ORDERS,
    SHIPMENTS,
    SWEEP,
    WEBHOOKS_OUT,
)

app = Chalice(app_name=APP_NAME)

app.register_blueprint(auth)
app.register_blueprint(public_api)
app.register_blueprint(customer_api)
app.register_blueprint(storefront_api)
app.register_blueprint(complaints_api)
app.register_blueprint(staff_api)
app.register_blueprint(staff_po_api)
app.register_blueprint(exceptions_api)
app.register_blueprint(exports_api)
app.register_blueprint(supplier_api)
app.register_blueprint(supplier_access_api)
app.register_blueprint(accounting_api)
app.register_blueprint(webhooks_api)
app.register_blueprint(notifications_api)
app.register_blueprint(webhook_subscriptions_api)
app.register_blueprint(metrics_api)
app.register_blueprint(console_api)
app.register_blueprint(settings_api)
app.register_blueprint(assignments_api)
app.register_blueprint(search_api)
app.register_middleware(translate_gateway_errors, "http")


def _use_staff_settings() -> None:
    """From the first event a function handles, `settings()` lays staff's stored overrides over the
    environment's values (read at most once per settings_cache_s). Not at import: `chalice package` and
    the CDK synth import this module with no table to read."""
    if settings.overrides is None:
        from chalicelib.services import tunables

        tunables.install()


@app.middleware("all")
def observe(event: Any, get_response: Any) -> Any:
    """Every handler: structured logs with a correlation id, invocation and error metrics."""
    context = getattr(event, "context", None)
    request_id = getattr(context, "aws_request_id", None)  # Lambda events; HTTP ids are set per request
    if request_id:
        logger.set_correlation_id(request_id)
    handler = getattr(context, "function_name", None) or type(event).__name__
    _use_staff_settings()
    failed = False
    try:
        response = get_response(event)
        status = getattr(response, "status_code", 200)
        failed = isinstance(status, int) and status >= 500
        return response
    except Exception:
        failed = True
        logger.exception("handler failed", extra={"handler": handler})
        raise
    finally:
        metrics.add_dimension(name="handler", value=handler)
        metrics.add_metric(name="Invocations", unit=MetricUnit.Count, value=1)
        if failed:
            metrics.add_metric(name="Errors", unit=MetricUnit.Count, value=1)
        metrics.flush_metrics()
        metrics.clear_metrics()  # also when publishing is disabled, so dimensions never pile up


@app.on_sqs_message(queue=NOTIFICATIONS.name, batch_size=NOTIFICATIONS.batch_size)
@traced
def notifications_consumer(event: Any) -> dict[str, Any]:
    """Send e-mails for domain events; report failed messages so only they are retried."""
    from chalicelib.handlers import batch, notifications

    return batch.process(event, notifications.handle)


@app.on_sqs_message(queue=CAMPAIGN_ORDERS.name, batch_size=CAMPAIGN_ORDERS.batch_size)
@traced
def campaign_orders_consumer(event: Any) -> dict[str, Any]:
    """Follow-ups of campaign events (a cancelled campaign cancels its open orders) and of held orders
    decided (their exception resolved, a waiting close resumed)."""
    from chalicelib.handlers import batch, campaigns

    return batch.process(event, campaigns.handle)


@app.on_dynamodb_record(stream_arn=settings().table_stream_arn, batch_size=100, starting_position="TRIM_HORIZON")
@traced
def stream_publisher(event: Any) -> dict[str, int]:
    """Put the audit events of each stream batch on the bus."""
    from chalicelib.handlers import publisher

    published = publisher.publish([record.to_dict() for record in event])
    metrics.add_metric(name="EventsPublished", unit=MetricUnit.Count, value=published)
    return {"published": published}


@app.lambda_function(name="end_campaigns")
@traced
def end_campaigns(event: Any, context: Any) -> dict[str, Any]:
    """Mark live campaigns whose end has passed as ended. Triggered by an EventBridge Scheduler
    schedule (declared in chalicelib/topology.py, deployed by infra/), locally by the scheduler loop."""
    from chalicelib.handlers import schedules

    ended = schedules.end_campaigns()
    logger.info("campaigns ended", extra={"campaigns": ended})
    return {"ended": ended}


@app.lambda_function(name="escalation_sweep")
@traced
def escalation_sweep(event: Any, context: Any) -> dict[str, Any]:
    """Read the due-deadline index: open exceptions after their grace period, wake snoozed ones,
    escalate those left open, raise passed deadlines. Scheduled like `end_campaigns`."""
    from chalicelib.handlers import schedules

    result = schedules.escalation_sweep()
    metrics.add_metric(name="SweepItemsRead", unit=MetricUnit.Count, value=result["read"])
    return result


@app.on_sqs_message(queue=SWEEP.name, batch_size=SWEEP.batch_size)
@traced
def sweep_consumer(event: Any) -> dict[str, Any]:
    """The escalation sweep's next chunk, when one tick found more due than a chunk handles."""
    from chalicelib.handlers import batch, sweep

    return batch.process(event, sweep.handle)


@app.lambda_function(name="daily_digest")
@traced
def daily_digest(event: Any, context: Any) -> dict[str, Any]:
    """Once a day: per team mailbox its open exceptions, per person the mail held for the digest.
    Sent once per (address, UTC day), so a second run the same day sends nothing new."""
    from chalicelib.handlers import schedules

    result = schedules.daily_digest()
    logger.info("daily digest", extra=result)
    return result


@app.on_sqs_message(queue=PO_STAGES.name, batch_size=PO_STAGES.batch_size)
@traced
def po_stages_consumer(event: Any) -> dict[str, Any]:
    """The supplier workflow opened a stage (store its token, tell whoever acts) or missed a deadline."""
    from chalicelib.handlers import batch, po_stages

    return batch.process(event, po_stages.handle)


@app.on_sqs_message(queue=PURCHASE_ORDERS.name, batch_size=PURCHASE_ORDERS.batch_size)
@traced
def purchase_orders_consumer(event: Any) -> dict[str, Any]:
    """Close ended campaigns into POs, e-mail each new PO, settle acknowledged POs (refunds)."""
    from chalicelib.handlers import batch, purchase_orders

    return batch.process(event, purchase_orders.handle)


@app.on_sqs_message(queue=INBOUND_WEBHOOKS.name, batch_size=INBOUND_WEBHOOKS.batch_size)
@traced
def inbound_webhooks_consumer(event: Any) -> dict[str, Any]:
    """Apply stored inbound webhooks: carrier tracking, bank settlements, supplier acknowledgements and notices."""
    from chalicelib.handlers import batch, inbound

    return batch.process(event, inbound.handle)


@app.on_sqs_message(queue=EXPORTS.name, batch_size=EXPORTS.batch_size)
@traced
def exports_consumer(event: Any) -> dict[str, Any]:
    """Run a requested export (POST /staff/exports); a redelivery resumes it from its checkpoint."""
    from chalicelib.handlers import batch, exports

    return batch.process(event, exports.handle)


@app.lambda_function(name="scheduled_exports")
@traced
def scheduled_exports(event: Any, context: Any) -> dict[str, Any]:
    """Run every exporter, chains in order (an interrupted run is resumed first). Scheduled like `end_campaigns`."""
    from chalicelib.handlers import schedules

    result = schedules.scheduled_exports()
    logger.info("scheduled exports", extra={"exporters": result})
    return result


@app.on_sqs_message(queue=SHIPMENTS.name, batch_size=SHIPMENTS.batch_size)
@traced
def shipments_consumer(event: Any) -> dict[str, Any]:
    """Dispatch the orders of a recorded shipment and follow its tracking workflow (wait opened, gone quiet)."""
    from chalicelib.handlers import batch, shipments

    return batch.process(event, shipments.handle)


@app.on_sqs_message(queue=COMPLAINTS.name, batch_size=COMPLAINTS.batch_size)
@traced
def complaints_consumer(event: Any) -> dict[str, Any]:
    """Carry out accepted complaint plans and send the refunds a received return made due."""
    from chalicelib.handlers import batch, complaints

    return batch.process(event, complaints.handle)


@app.on_sqs_message(queue=PAYMENTS.name, batch_size=PAYMENTS.batch_size)
@traced
def payments_consumer(event: Any) -> dict[str, Any]:
    """Send refunds that fell due to the payment gateway, once each."""
    from chalicelib.handlers import batch, payments

    return batch.process(event, payments.handle)


@app.on_sqs_message(queue=WEBHOOKS_OUT.name, batch_size=WEBHOOKS_OUT.batch_size)
@traced
def webhooks_out_consumer(event: Any) -> dict[str, Any]:
    """Deliver offered domain events to webhook subscribers (first attempt; retries run from the sweep)."""
    from chalicelib.handlers import batch, webhooks_out

    return batch.process(event, webhooks_out.handle)
