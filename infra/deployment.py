"""The settings one deployment (a stage) is made with: `cdk deploy -c stage=prod -c mail_domain=...`.

Every value comes from CDK context (`-c key=value`, or `cdk.json`'s `context`); `Deployment.from_context`
refuses a missing required one with a message naming it, so a stage never deploys with an e-mail
sender nobody can send from or a payment gateway nobody configured (the issue-18 failures that
only showed up as dead letters). The README's "Deploying" section lists them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.topology import APP_NAME, physical

# The team mailboxes (notification recipients by role): Settings.mailbox_<role>.
MAILBOX_ROLES = ("accounting", "logistics", "customer_care", "admin")
# CloudWatch Logs accepts only these retention periods (days).
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)
NO_CLOUDFRONT_WAF = "none"


class MissingSetting(ValueError):
    """A deployment setting the stage cannot do without, or one with an unusable value."""


@dataclass(frozen=True)
class Deployment:
    stage: str
    mail_domain: str  # the SES domain identity (DKIM) the stack creates
    sender: str  # From: of every e-mail, an address in mail_domain
    payment_gateway_url: str
    bank_url: str
    # The us-east-1 (CLOUDFRONT scope) web ACL for the distribution: the WaybillEdge stack's
    # `WebAclArn` output, or "none" to go without (a stage nobody outside uses).
    cloudfront_waf_arn: str
    mailboxes: Mapping[str, str] = field(default_factory=dict)
    alert_email: str | None = None
    cognito_domain_prefix: str = ""
    log_retention_days: int = 90
    api_rate_limit: int = 100  # requests per second, stage default (API Gateway throttling)
    api_burst_limit: int = 200
    webhook_rate_limit: int = 20  # the public /webhooks/* routes: tighter
    webhook_burst_limit: int = 40
    waf_rate_limit: int = 1000  # requests per IP per 5 minutes before the WAF blocks it
    archive_retention_days: int = 30  # the bus archive events may be replayed from

    def name(self, name: str) -> str:
        """A physical name scoped to this stage (`chalicelib.topology.physical`)."""
        return physical(name, self.stage)

    @property
    def cloudfront_web_acl(self) -> str | None:
        return None if self.cloudfront_waf_arn == NO_CLOUDFRONT_WAF else self.cloudfront_waf_arn

    def mailbox(self, role: str) -> str:
        return self.mailboxes.get(role) or f"{role.replace('_', '-')}@{self.mail_domain}"

    @classmethod
    def from_context(cls, get: Callable[[str], Any]) -> Deployment:
        """From CDK context (`node.try_get_context`); raises `MissingSetting` naming what is missing."""

        def required(key: str, example: str) -> str:
            value = get(key)
            if value is None or str(value).strip() == "":
                raise MissingSetting(f"deployment setting '{key}' is required: pass -c {key}={example}")
            return str(value).strip()

        def number(key: str, default: int) -> int:
            value = get(key)
            if value is None or value == "":
                return default
            try:
                return int(value)
            except (TypeError, ValueError):
                raise MissingSetting(f"deployment setting '{key}' must be a whole number, not {value!r}") from None

        stage = str(get("stage") or "dev")
        if not stage.isalnum() or not stage.islower() or stage in ("local", "test"):
            raise MissingSetting(
                f"deployment setting 'stage' must be lowercase letters/digits other than local/test, not {stage!r}"
            )
        mail_domain = required("mail_domain", "mail.yourshop.example")
        sender = str(get("sender") or f"noreply@{mail_domain}")
        if not sender.endswith("@" + mail_domain):
            raise MissingSetting(f"deployment setting 'sender' ({sender}) must be an address in mail_domain ({mail_domain})")
        raw_mailboxes = get("mailboxes") or {}
        if isinstance(raw_mailboxes, str):
            try:
                raw_mailboxes = json.loads(raw_mailboxes)
            except json.JSONDecodeError:
                raise MissingSetting("deployment setting 'mailboxes' must be a JSON object of role -> address") from None
        if not isinstance(raw_mailboxes, dict) or set(raw_mailboxes) - set(MAILBOX_ROLES):
            raise MissingSetting(f"deployment setting 'mailboxes' takes the roles {', '.join(MAILBOX_ROLES)}")
        retention = number("log_retention_days", 90)
        if retention not in RETENTION_DAYS:
            raise MissingSetting(f"deployment setting 'log_retention_days' must be one of {RETENTION_DAYS}")
        return cls(
            stage=stage,
            mail_domain=mail_domain,
            sender=sender,
            payment_gateway_url=required("payment_gateway_url", "https://gateway.example/v1"),
            bank_url=required("bank_url", "https://bank.example/payments"),
            cloudfront_waf_arn=required("cloudfront_waf_arn", f"<WaybillEdge's WebAclArn output, or {NO_CLOUDFRONT_WAF}>"),
            mailboxes={str(k): str(v) for k, v in raw_mailboxes.items()},
            alert_email=get("alert_email") or None,
            cognito_domain_prefix=str(get("cognito_domain_prefix") or physical(f"{APP_NAME}-auth", stage)),
            log_retention_days=retention,
            api_rate_limit=number("api_rate_limit", 100),
            api_burst_limit=number("api_burst_limit", 200),
            webhook_rate_limit=number("webhook_rate_limit", 20),
            webhook_burst_limit=number("webhook_burst_limit", 40),
            waf_rate_limit=number("waf_rate_limit", 1000),
            archive_retention_days=number("archive_retention_days", 30),
        )


# What the offline check (`make synth` / `make infra-check`, run without the CDK CLI) synthesizes:
# example values in reserved domains, never deployed (`cdk` always passes its own context).
CHECK_CONTEXT: dict[str, str] = {
    "stage": "prod",
    "mail_domain": "mail.waybill.example",
    "sender": "noreply@mail.waybill.example",
    "payment_gateway_url": "https://gateway.waybill.example/v1",
    "bank_url": "https://bank.waybill.example/payments",
    "cloudfront_waf_arn": "arn:aws:wafv2:us-east-1:123456789012:global/webacl/waybill-prod-edge/"
    "00000000-0000-0000-0000-000000000000",
    "mailboxes": json.dumps({"customer_care": "care@mail.waybill.example"}),
}
