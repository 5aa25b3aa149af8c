"""Campaigns: a time-boxed sale of products, each product sold by one supplier.

Life: draft -> live -> ended -> closed, or cancelled from draft or live. A campaign is
only orderable while live *and* before its end (the sweep that marks it ended may lag).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from .errors import RuleViolation
from .permissions import ActionRule, Principal, Role, check_rule, roles


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    LIVE = "live"
    ENDED = "ended"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class CampaignAction(StrEnum):
    GO_LIVE = "go_live"
    END = "end"
    CLOSE = "close"
    CANCEL = "cancel"
    ADD_PRODUCTS = "add_products"


S = CampaignStatus
SYSTEM_ROLES = roles(Role.ADMIN)

CAMPAIGN_ACTIONS: dict[CampaignAction, ActionRule] = {
    CampaignAction.GO_LIVE: ActionRule(roles(Role.BUYER, Role.ADMIN), frozenset({S.DRAFT})),
    CampaignAction.END: ActionRule(SYSTEM_ROLES, frozenset({S.LIVE})),
    CampaignAction.CLOSE: ActionRule(roles(Role.BUYER, Role.ADMIN), frozenset({S.ENDED})),
    CampaignAction.CANCEL: ActionRule(roles(Role.BUYER, Role.ADMIN), frozenset({S.DRAFT, S.LIVE})),
    CampaignAction.ADD_PRODUCTS: ActionRule(roles(Role.BUYER, Role.ADMIN), frozenset({S.DRAFT})),
}

# Where each status-changing action leads. ADD_PRODUCTS keeps the status.
CAMPAIGN_TRANSITIONS: dict[CampaignAction, CampaignStatus] = {
    CampaignAction.GO_LIVE: S.LIVE,
    CampaignAction.END: S.ENDED,
    CampaignAction.CLOSE: S.CLOSED,
    CampaignAction.CANCEL: S.CANCELLED,
}

MAX_PRODUCTS_PER_REQUEST = 90  # one transaction holds at most 100 writes


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    supplier_id: str
    unit_price_cents: int
    unit_cost_cents: int

    def __post_init__(self) -> None:
        if self.unit_price_cents < 0 or self.unit_cost_cents < 0:
            raise RuleViolation("invalid_price", f"product {self.sku}: prices cannot be negative")


@dataclass
class Campaign:
    id: str
    name: str
    buyer_id: str
    currency: str
    status: CampaignStatus = CampaignStatus.DRAFT
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    product_count: int = 0
    supplier_ids: set[str] = field(default_factory=set)

    def is_orderable(self, now: datetime) -> bool:
        return self.status is CampaignStatus.LIVE and self.ends_at is not None and now < self.ends_at


def check_campaign_action(campaign: Campaign, action: CampaignAction, actor: Principal) -> CampaignStatus:
    """Raise unless `actor` may take `action` now; return the status it leads to."""
    check_rule(
        CAMPAIGN_ACTIONS[action],
        action=action.value,
        noun="campaigns",
        subject=f"campaign {campaign.id}",
        status=campaign.status.value,
        actor=actor,
    )
    return CAMPAIGN_TRANSITIONS.get(action, campaign.status)


def go_live_window(now: datetime, ends_at: datetime | None, default_days: int) -> tuple[datetime, datetime]:
    """Start now and end at `ends_at`, or after the default length. The end must be in the future."""
    end = ends_at or now + timedelta(days=default_days)
    if end <= now:
        raise RuleViolation("invalid_end", "a campaign must end in the future")
    return now, end


def add_products(campaign: Campaign, products: list[Product], existing_skus: set[str]) -> None:
    seen = set(existing_skus)
    for product in products:
        if product.sku in seen:
            raise RuleViolation("duplicate_sku", f"SKU {product.sku} is already in campaign {campaign.id}")
        seen.add(product.sku)
    campaign.product_count += len(products)
    campaign.supplier_ids |= {p.supplier_id for p in products}
