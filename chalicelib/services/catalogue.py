"""Use cases for suppliers, campaigns and customer profiles (staff side)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from ..config import settings
from ..domain import campaigns as domain
from ..domain.audit import AuditEvent, event_type
from ..domain.campaigns import Campaign, CampaignAction, CampaignStatus, Product
from ..domain.errors import AlreadyExists, Conflict, InvalidTransition, NotFound, RuleViolation
from ..domain.permissions import MANAGE_CATALOGUE, MANAGE_CUSTOMERS, READ_STAFF, SYSTEM, Principal
from . import uow
from .clock import new_id, now
from .guard import require
from .ports import CampaignProduct, CampaignRecord, Change, Customer, Record, Save, Supplier, Versioned
from .ports_close import CloseProgress

# ---------------------------------------------------------------- suppliers


def create_supplier(actor: Principal, *, name: str, contact_emails: list[str], supplier_id: str | None = None) -> Supplier:
    require(actor, MANAGE_CATALOGUE, "create suppliers")
    at = now()
    supplier = Supplier(supplier_id or new_id("sup"), name, list(contact_emails), True, at)
    sid = supplier.id
    event = AuditEvent(
        id=new_id("evt"),
        subject_type="supplier",
        subject_id=sid,
        type=event_type("supplier", "create"),
        actor=actor,
        at=at,
        to_status="active",
        data={"name": name},
    )
    try:
        uow.store().commit([Save(supplier, None), Record(event)], what=f"supplier {sid}", at=at)
    except Conflict as exc:
        raise Conflict(f"supplier {sid} already exists") from exc
    return supplier


def list_suppliers(actor: Principal, *, limit: int, cursor: str | None) -> tuple[list[Supplier], str | None]:
    require(actor, READ_STAFF, "list suppliers")
    page = uow.store().suppliers(limit=limit, cursor=cursor)
    return page.items, page.cursor


def get_supplier(actor: Principal, supplier_id: str) -> Supplier:
    require(actor, READ_STAFF, "read suppliers")
    found = uow.store().load(Supplier, supplier_id)
    if found is None:
        raise NotFound(f"supplier {supplier_id} not found")
    return found.value


# ---------------------------------------------------------------- campaigns


@dataclass
class CampaignView:
    campaign: Campaign
    created_at: datetime
    buyer_email: str | None
    version: int
    products: list[Product] = field(default_factory=list)
    close: CloseProgress | None = None  # its close's progress, once one started (services/campaign_close.py)


def _view(record: Versioned[CampaignRecord], products: list[Product] | None = None) -> CampaignView:
    r = record.value
    return CampaignView(r.campaign, r.created_at, r.buyer_email, record.version, products or [])


def _check_suppliers(products: list[Product]) -> None:
    wanted = sorted({p.supplier_id for p in products})
    found = uow.store().load_suppliers(wanted)
    problems = [{"field": "products", "message": f"supplier {s} does not exist"} for s in wanted if s not in found]
    problems += [
        {"field": "products", "message": f"supplier {s} is inactive"} for s in wanted if s in found and not found[s].active
    ]
    if problems:
        raise RuleViolation("unknown_supplier", "; ".join(str(p["message"]) for p in problems), details=problems)


def create_campaign(
    actor: Principal, *, name: str, currency: str, products: list[Product], ends_at: datetime | None = None
) -> CampaignView:
    require(actor, MANAGE_CATALOGUE, "create campaigns")
    if len(products) > domain.MAX_PRODUCTS_PER_REQUEST:
        raise RuleViolation("too_many_products", f"add at most {domain.MAX_PRODUCTS_PER_REQUEST} products per request")
    _check_suppliers(products)
    at = now()
    campaign = Campaign(id=new_id("cmp"), name=name, buyer_id=actor.sub, currency=currency, ends_at=None)
    domain.add_products(campaign, products, set())
    event = AuditEvent(
        id=new_id("evt"),
        subject_type="campaign",
        subject_id=campaign.id,
        type=event_type("campaign", "create"),
        actor=actor,
        at=at,
        to_status=campaign.status.value,
        data={"name": name, "products": len(products), "planned_end": ends_at.isoformat() if ends_at else None},
    )
    changes: list[Change] = [
        Save(CampaignRecord(campaign, at, actor.email), None),
        *(Save(CampaignProduct(campaign.id, p), None) for p in products),
        Record(event),
    ]
    uow.store().commit(changes, what=f"campaign {campaign.id}", at=at)
    return CampaignView(campaign, at, actor.email, 1, products)


def _load_campaign(campaign_id: str) -> tuple[Versioned[CampaignRecord], list[Product]]:
    """Campaign with its products: one read."""
    found = uow.store().campaign_with_products(campaign_id)
    if found is None:
        raise NotFound(f"campaign {campaign_id} not found")
    return found.record, found.products


def get_campaign(actor: Principal, campaign_id: str) -> CampaignView:
    require(actor, READ_STAFF, "read campaigns")
    found = uow.store().campaign_with_products(campaign_id)  # one read: campaign, products, close progress
    if found is None:
        raise NotFound(f"campaign {campaign_id} not found")
    return replace(_view(found.record, found.products), close=found.close)


def list_campaigns(
    actor: Principal, *, status: CampaignStatus | None, limit: int, cursor: str | None
) -> tuple[list[CampaignView], str | None]:
    """`status` None: campaigns in any status, newest first."""
    require(actor, READ_STAFF, "list campaigns")
    if status is None:
        page = uow.store().campaigns_any_status(limit=limit, cursor=cursor)
    else:
        page = uow.store().campaigns_in_status(status, limit=limit, cursor=cursor, newest_first=status is not CampaignStatus.LIVE)
    return [_view(r) for r in page.items], page.cursor


def _transition(
    actor: Principal,
    campaign_id: str,
    action: CampaignAction,
    *,
    note: str | None = None,
    mutate: object = None,
    extra: list[Change] | None = None,
    expected_version: int | None = None,
    item: Versioned[CampaignRecord] | None = None,
) -> CampaignView:
    """`item`: the campaign as the caller already read it (its version still guards the write)."""
    read = item if item is not None else uow.store().load(CampaignRecord, campaign_id)
    if read is None:
        raise NotFound(f"campaign {campaign_id} not found")
    if expected_version is not None and read.version != expected_version:
        raise Conflict(f"campaign {campaign_id} is at version {read.version}, not {expected_version}")
    campaign = read.value.campaign
    before = campaign.status
    campaign.status = domain.check_campaign_action(campaign, action, actor)
    if callable(mutate):
        mutate(campaign)
    at = now()
    new = CampaignRecord(campaign, read.value.created_at, read.value.buyer_email)
    event = AuditEvent(
        id=new_id("evt"),
        subject_type="campaign",
        subject_id=campaign_id,
        type=event_type("campaign", action.value),
        actor=actor,
        at=at,
        from_status=before.value,
        to_status=campaign.status.value,
        internal_note=note,
        data={"ends_at": campaign.ends_at.isoformat() if campaign.ends_at else None},
    )
    try:
        uow.store().commit([Save(new, read.version), *(extra or []), Record(event)], what=f"campaign {campaign_id}", at=at)
    except AlreadyExists as exc:  # a product added by a concurrent change: that change won the race
        raise Conflict(f"campaign {campaign_id} was changed by someone else; reload and try again") from exc
    return _view(Versioned(new, read.version + 1))


def go_live(
    actor: Principal, campaign_id: str, *, ends_at: datetime | None = None, expected_version: int | None = None
) -> CampaignView:
    def start(c: Campaign) -> None:
        if c.product_count == 0:
            raise RuleViolation("no_products", f"campaign {c.id} has no products to sell")
        c.starts_at, c.ends_at = domain.go_live_window(now(), ends_at, settings().campaign_default_days)

    return _transition(actor, campaign_id, CampaignAction.GO_LIVE, mutate=start, expected_version=expected_version)


def cancel_campaign(actor: Principal, campaign_id: str, *, reason: str, expected_version: int | None = None) -> CampaignView:
    return _transition(actor, campaign_id, CampaignAction.CANCEL, note=reason, expected_version=expected_version)


def add_campaign_products(actor: Principal, campaign_id: str, products: list[Product]) -> CampaignView:
    if len(products) > domain.MAX_PRODUCTS_PER_REQUEST:
        raise RuleViolation("too_many_products", f"add at most {domain.MAX_PRODUCTS_PER_REQUEST} products per request")
    _check_suppliers(products)
    meta, existing = _load_campaign(campaign_id)

    def add(c: Campaign) -> None:
        domain.add_products(c, products, {p.sku for p in existing})

    writes: list[Change] = [Save(CampaignProduct(campaign_id, p), None) for p in products]
    view = _transition(actor, campaign_id, CampaignAction.ADD_PRODUCTS, mutate=add, extra=writes, expected_version=meta.version)
    view.products = existing + products
    return view


def end_due_campaigns(at: datetime | None = None, *, limit: int = 100) -> list[str]:
    """Scheduled: mark live campaigns whose end has passed as ended. Reads only the due ones."""
    cutoff = at or now()
    ended = []
    for record in uow.store().campaigns_due(cutoff, limit=limit):
        try:
            _transition(SYSTEM, record.value.campaign.id, CampaignAction.END, item=record)  # no second read per campaign
            ended.append(record.value.campaign.id)
        except (Conflict, InvalidTransition):
            continue  # someone else moved it; the next run sees the truth
    return ended


# ---------------------------------------------------------------- customers


@dataclass
class CustomerProfile:
    id: str
    email: str | None
    flagged: bool
    flag_reason: str | None


def set_customer_flag(actor: Principal, customer_id: str, *, flagged: bool, reason: str | None) -> CustomerProfile:
    require(actor, MANAGE_CUSTOMERS, "flag customers")
    if flagged and not reason:
        raise RuleViolation("reason_required", "say why the customer is flagged")
    existing = uow.store().load(Customer, customer_id)
    at = now()
    customer = Customer(
        customer_id, existing.value.email if existing else None, flagged, reason if flagged else None, updated_at=at
    )
    event = AuditEvent(
        id=new_id("evt"),
        subject_type="customer",
        subject_id=customer_id,
        type=event_type("customer", "flag" if flagged else "unflag"),
        actor=actor,
        at=at,
        from_status=("flagged" if existing.value.flagged else "clear") if existing else None,
        to_status="flagged" if flagged else "clear",
        internal_note=reason,
    )
    try:
        uow.store().commit(
            [Save(customer, existing.version if existing else None), Record(event)], what=f"customer {customer_id}", at=at
        )
    except AlreadyExists as exc:  # the profile created meanwhile: a lost race, as before
        raise Conflict(f"customer {customer_id} was changed by someone else; reload and try again") from exc
    return CustomerProfile(customer_id, customer.email, flagged, customer.flag_reason)
