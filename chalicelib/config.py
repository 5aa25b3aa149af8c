"""Settings, read from the environment once. Nothing else in the code reads `os.environ`.

Some business settings (deadlines, thresholds, grace periods: services/tunables.py lists them) staff
may change at run time: an installed loader answers the stored overrides, read at most once per
`settings_cache_s` per process, laid over the environment's values (which stay the defaults). A change
takes effect in every process within that time, without a deploy."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .topology import EXPORTS_BUCKET, TOPOLOGY, TRACK_LINKS_SECRET

if TYPE_CHECKING:
    from .domain.complaints import ComplaintPolicy
    from .domain.exceptions import Policy
    from .domain.holds import HeldAtClose
    from .domain.notifications import NotificationRule


@dataclass(frozen=True)
class Settings:
    stage: str = "local"
    region: str = "eu-west-1"
    table_name: str = TOPOLOGY.table.name
    table_stream_arn: str = "arn:aws:dynamodb:eu-west-1:123456789012:table/waybill-main/stream/local"
    bus_name: str = TOPOLOGY.bus
    mail_from: str = TOPOLOGY.email_identities[0]
    public_url: str = "http://127.0.0.1:8000"
    # The site people open (the admin page at `/`, the order page at `/track/`, the supplier front office
    # at `/supplier/`): locally the admin site's URL, set by the local stack; empty: the public URL (in AWS
    # both are the distribution). E-mail links point here.
    site_url: str = ""
    # Auth: a JWKS document inline (local dev issuer) or a URL to fetch it from (Cognito).
    jwks_json: str = ""
    jwks_url: str = ""
    jwt_issuer: str = "waybill-local"
    jwt_audience: str = "waybill"
    # The customers' user pool (self sign-up, optional MFA; docs/design-notes.md): tokens from this
    # issuer only ever make a customer (or, with the storefront scope, a storefront). Empty: no such pool
    # (locally the dev issuer above mints every kind). The audience is its app clients' ids, comma-separated.
    customer_jwks_json: str = ""
    customer_jwks_url: str = ""
    customer_jwt_issuer: str = ""
    customer_jwt_audience: str = ""
    # Business settings.
    campaign_default_days: int = 7
    hold_threshold_cents: int = 50_000
    # Held orders (domain/holds.py): staff should decide one this long before its campaign ends (the
    # order_on_hold exception's deadline, when the buyer is warned); one still held at the close is
    # rejected (`reject`: the customer told, not charged) or keeps the close waiting (`wait`).
    hold_decide_before_close_s: int = 86400
    held_at_close: str = "reject"
    # A campaign closes (and an acknowledged PO settles) in chunks, one queue message each
    # (services/campaign_close.py): the orders one chunk reads, bounding each invocation's time
    # (~20 ms a transaction in AWS: ~5 s a chunk of 250) whatever the campaign's size.
    close_chunk_orders: int = 250
    max_line_quantity: int = 99
    max_order_lines: int = 50
    end_campaigns_rate_minutes: int = 5
    # Supplier stages: deadlines in seconds (passed to each execution as input), reminders
    # before escalating to the buyer.
    deadline_acknowledge_s: int = 2 * 86400
    deadline_invoice_s: int = 3 * 86400
    deadline_payment_proposal_s: int = 3 * 86400
    deadline_payment_approval_s: int = 2 * 86400
    deadline_bank_payment_s: int = 86400
    deadline_settlement_s: int = 3 * 86400
    deadline_shipment_s: int = 7 * 86400
    max_stage_reminders: int = 2
    supplier_fulfilment_arn: str = ""  # the state machine (set by the local stack / the CDK stack)
    delivery_tracking_arn: str = ""
    # Tracking: silence from the carrier for this long raises tracking_stale (the execution's
    # heartbeat); after give_up of silence since the carrier's last event the execution ends and
    # staff take over (each stale reminder counts towards it; a carrier event starts it afresh).
    tracking_stale_after_s: int = 3 * 86400
    tracking_give_up_after_s: int = 60 * 86400
    uploads_bucket: str = TOPOLOGY.buckets[0].name
    upload_max_bytes: int = 10 * 1024 * 1024
    upload_expiry_s: int = 300
    # Exports (issue 7): the scheduled run's rate and how far back by creation time it reads, the
    # bucket, the S3 part size (>= 5 MiB; a run checkpoints after each part), the Query page size,
    # how long a download link lives.
    exports_rate_minutes: int = 60
    exports_lookback_days: int = 90
    exports_bucket: str = EXPORTS_BUCKET
    export_part_bytes: int = 5 * 1024 * 1024
    export_page_size: int = 100
    export_lease_s: int = 300  # a running export renews this at each checkpoint; a stale one may be resumed
    # One invocation of an export stops after this many rows or seconds (whichever first), checkpoints
    # and queues its own continuation on the exports queue (services/exports.py), far inside the 900 s
    # Lambda maximum whatever the export's size.
    export_chunk_rows: int = 100_000
    export_chunk_s: int = 240
    export_link_expiry_s: int = 900
    # The bank: an HTTP API taking payment orders (the local stack runs a sandbox).
    bank_url: str = ""
    bank_timeout_s: int = 10
    bank_retries: int = 3
    offline_payment_due_s: int = 3 * 86400  # an offline order unpaid this long: payment_overdue, customer reminded
    capture_auto_retries: int = 2  # a declined capture is tried again by itself this many times, then left to accounting
    capture_retry_after_s: int = 3600  # the first automatic retry's wait; each next one waits 4 times longer
    refund_max_attempts: int = 4  # queue deliveries of a refund the gateway never answers, then refund_failed
    # The payment gateway: captures (authorise_then_capture orders) and refunds (a sandbox locally).
    payment_gateway_url: str = ""
    payment_gateway_timeout_s: int = 10
    payment_gateway_retries: int = 3
    # Secrets Manager secrets (names as deployed: the stack sets them per stage). The two credential
    # secrets hold `{"header": ..., "value": ...}` sent with each call; empty: no credential (locally).
    inbound_webhooks_secret: str = TOPOLOGY.secrets[0].name
    payment_gateway_secret: str = ""
    bank_secret: str = ""
    # Supplier onboarding (services/supplier_access.py): the Cognito user pool suppliers' users are made in
    # (empty: the local dev directory), and how long a supplier system's rotated-out inbound secret still verifies.
    user_pool_id: str = ""
    inbound_secret_grace_s: int = 86400
    track_links_secret: str = TRACK_LINKS_SECRET
    # The order page's lookup (reference + e-mail): at most this many tries per client address and per
    # reference in each window.
    track_lookup_limit: int = 10
    track_lookup_window_s: int = 15 * 60
    # Outbound webhooks: each attempt's timeout, the Standard Webhooks retry schedule in percent (tests run
    # it fast), how long a rotated-out secret keeps signing, how long an attempt may run before the sweep
    # takes it over (a consumer that died mid-send).
    webhook_timeout_s: int = 10
    webhook_retry_scale_percent: int = 100
    webhook_secret_grace_s: int = 86400
    webhook_attempt_lease_s: int = 120
    # Exceptions: per-kind severity and grace-period overrides (`kind=value,...`), escalation
    # thresholds in hours per severity (`critical=1/4/24,...`); see domain/exceptions.py.
    exception_severities: str = ""
    exception_graces_s: str = ""
    exception_escalation_h: str = ""
    # Who is told of which event (domain/notifications.py): a JSON list of rules staff keep on the
    # settings screen; empty: the rules in the code.
    notification_rules: str = ""
    escalation_sweep_rate_minutes: int = 5
    due_index_shards: int = 4
    # One sweep invocation handles at most this many due entries; more continue in a queued chain
    # (services/escalations.py). A chain not moved on for `sweep_chain_stale_s` (its message died) is
    # taken over by the next schedule tick.
    sweep_chunk: int = 200
    sweep_chain_stale_s: int = 900
    # A parcel not delivered this long after it was dispatched is late (shipment_late).
    delivery_expected_within_s: int = 7 * 86400
    # Team mailboxes (notification recipients by role) and the daily digest.
    mailbox_accounting: str = "accounting@waybill.example"
    mailbox_logistics: str = "logistics@waybill.example"
    mailbox_customer_care: str = "care@waybill.example"
    mailbox_admin: str = "admin@waybill.example"
    daily_digest_rate_minutes: int = 1440
    # Complaints (issue 9): how long after delivery (or a lost parcel's expected date) a customer may
    # complain, the photos a complaint may carry, the refund total above which an admin approves a plan,
    # whether a supplier is charged back for a parcel lost in transit (1) or the shop bears it (0).
    complaint_window_s: int = 30 * 86400
    complaint_max_photos: int = 6
    complaint_photo_max_bytes: int = 10 * 1024 * 1024
    complaint_photo_types: str = "image/jpeg,image/png,image/webp"
    complaint_approval_threshold_cents: int = 10_000
    complaint_supplier_bears_lost: int = 1
    page_size_default: int = 25
    # The customer's e-mails speak this language until they choose one (chalicelib/i18n: en, vi).
    default_locale: str = "en"
    # Request bodies: the largest a route reads (413 beyond, before parsing; files go straight to S3 by
    # presigned URL, never through the API), and the inbound webhooks' own limit.
    max_body_bytes: int = 1024 * 1024
    max_webhook_body_bytes: int = 256 * 1024
    # Outbound webhook signing secrets are stored encrypted under this KMS key (topology.py `keys`).
    webhook_secrets_key: str = f"alias/{TOPOLOGY.keys[0].alias}"
    page_size_max: int = 100
    # Staff's overrides (services/tunables.py) are read again at most this often per process.
    settings_cache_s: int = 60

    @property
    def site_base(self) -> str:
        """Where the pages are, without a trailing slash."""
        return (self.site_url or self.public_url).rstrip("/")

    @property
    def is_local(self) -> bool:
        return self.stage == "local"

    def exception_policy(self) -> Policy:
        from .domain.exceptions import parse_policy

        return parse_policy(self.exception_severities, self.exception_graces_s, self.exception_escalation_h)

    def notification_rule_set(self) -> tuple[NotificationRule, ...]:
        from .domain.notifications import rules_from_text

        return rules_from_text(self.notification_rules)

    def held_at_close_policy(self) -> HeldAtClose:
        from .domain.holds import held_at_close

        return held_at_close(self.held_at_close)

    def complaint_policy(self) -> ComplaintPolicy:
        from .domain.complaints import ComplaintPolicy

        types = frozenset(t.strip() for t in self.complaint_photo_types.split(",") if t.strip())
        return ComplaintPolicy(
            window_s=self.complaint_window_s,
            max_photos=self.complaint_max_photos,
            max_photo_bytes=self.complaint_photo_max_bytes,
            photo_types=types,
            approval_threshold_cents=self.complaint_approval_threshold_cents,
            supplier_bears_lost_in_transit=bool(self.complaint_supplier_bears_lost),
        )

    def stage_deadlines(self) -> dict[str, int]:
        """Seconds per supplier stage, keyed by stage name, as the state machine reads them."""
        from .domain.purchase_orders import STAGES

        return {stage.value: int(getattr(self, f"deadline_{stage.value}_s")) for stage in STAGES}


_ENV_PREFIX = "WAYBILL_"


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build settings from `WAYBILL_<FIELD>` variables, falling back to the defaults."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for f in fields(Settings):
        raw = env.get(_ENV_PREFIX + f.name.upper())
        if raw is None:
            continue
        values[f.name] = int(raw) if f.type == "int" else raw
    if "region" not in values and env.get("AWS_DEFAULT_REGION"):
        values["region"] = env["AWS_DEFAULT_REGION"]
    loaded = Settings(**values)  # type: ignore[arg-type]
    loaded.exception_policy()  # refuse a malformed exception policy at start, not at the first exception
    loaded.complaint_policy()
    loaded.held_at_close_policy()
    loaded.notification_rule_set()
    from .i18n import SUPPORTED  # refuse a default no catalogue speaks at start, not at the first e-mail

    if loaded.default_locale not in SUPPORTED:
        raise ValueError(f"WAYBILL_DEFAULT_LOCALE must be one of {', '.join(SUPPORTED)}")
    if loaded.close_chunk_orders < 1:
        raise ValueError("WAYBILL_CLOSE_CHUNK_ORDERS must be at least 1")
    for name in ("sweep_chunk", "export_chunk_rows", "export_chunk_s"):
        if getattr(loaded, name) < 1:
            raise ValueError(f"WAYBILL_{name.upper()} must be at least 1")
    if loaded.hold_decide_before_close_s < 0:
        raise ValueError("WAYBILL_HOLD_DECIDE_BEFORE_CLOSE_S must not be negative")
    return loaded


SETTINGS_PARAMETER_VARIABLE = "WAYBILL_SETTINGS_PARAMETER"


def deployed_variables(environ: Mapping[str, str]) -> dict[str, str]:
    """The `WAYBILL_*` variables kept in the SSM parameter that `WAYBILL_SETTINGS_PARAMETER` names
    (a JSON object): values the stack learns only after the functions exist (the Cognito client
    id, the admin site's URL), which as variables would tie the functions into a dependency cycle.
    Read only inside Lambda (`AWS_LAMBDA_FUNCTION_NAME`): `chalice package` imports the app with the
    same variables, and nothing there needs these values."""
    name = environ.get(SETTINGS_PARAMETER_VARIABLE)
    if not name or not environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return {}
    import json

    import boto3  # not adapters.aws.client: that reads these settings

    ssm = boto3.session.Session().client("ssm", region_name=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION"))
    value = json.loads(ssm.get_parameter(Name=name)["Parameter"]["Value"])
    if not isinstance(value, dict):
        raise ValueError(f"SSM parameter {name} must hold a JSON object of WAYBILL_ variables")
    return {str(k): str(v) for k, v in value.items() if str(k).startswith(_ENV_PREFIX)}


@lru_cache(maxsize=1)
def environment_settings() -> Settings:
    """The process's settings as deployed: its environment, plus the deployed parameter's variables
    (read once per cold start, and only where the stack set one). The defaults of staff's overrides."""
    return load_settings({**os.environ, **deployed_variables(os.environ)})


Overrides = Callable[[Settings], Mapping[str, Any]]


class _Settings:
    """`settings()`: the environment's settings with staff's stored overrides laid over them.

    The overrides come from the loader `use_overrides` installed (none: the environment's settings as
    they are), called with the environment's settings at most once per `settings_cache_s`. A loader that
    fails keeps the last values it answered (logged), so a storage hiccup never stops a request; values
    that no longer validate are ignored the same way. `cache_clear()` forgets both layers."""

    def __init__(self) -> None:
        self._loader: Overrides | None = None
        self._merged: Settings | None = None
        self._read_at = 0.0
        self._lock = threading.Lock()
        self._local = threading.local()

    def __call__(self) -> Settings:
        base = environment_settings()
        loader = self._loader
        if loader is None or getattr(self._local, "loading", False):
            return base  # the loader's own reads see the environment's settings
        merged = self._merged
        if merged is not None and time.monotonic() - self._read_at < base.settings_cache_s:
            return merged
        with self._lock:
            if self._merged is not None and time.monotonic() - self._read_at < base.settings_cache_s:
                return self._merged
            self._local.loading = True
            try:
                merged = overlay(base, loader(base))
            except Exception as exc:  # noqa: BLE001 - the last good values stand; the failure is logged
                from .observability import logger

                logger.warning("settings overrides not read; the last ones stand", extra={"error": str(exc)})
                merged = self._merged or base
            finally:
                self._local.loading = False
            self._merged, self._read_at = merged, time.monotonic()
            return merged

    @property
    def overrides(self) -> Overrides | None:
        return self._loader

    def use_overrides(self, loader: Overrides | None) -> None:
        """Install (or, with None, remove) the loader of staff's overrides; the next call reads them."""
        with self._lock:
            self._loader, self._merged = loader, None

    def refresh(self) -> None:
        """Read the overrides again at the next call (this process just changed them); until a read
        succeeds, the last values stand."""
        with self._lock:
            self._read_at = float("-inf")

    def cache_clear(self) -> None:
        environment_settings.cache_clear()
        with self._lock:
            self._merged = None


def overlay(base: Settings, values: Mapping[str, Any]) -> Settings:
    """`base` with `values` (field name -> value) laid over it, checked as a start checks settings."""
    if not values:
        return base
    names = {f.name for f in fields(Settings)}
    unknown = set(values) - names
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
    merged = replace(base, **dict(values))
    merged.exception_policy()
    merged.complaint_policy()
    merged.held_at_close_policy()
    merged.notification_rule_set()
    return merged


settings = _Settings()
