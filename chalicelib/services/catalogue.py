"""Use cases for suppliers, campaigns and customer profiles (staff side)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pynamodb.expressions.condition import Condition

from ..adapters.dynamodb import keys
from ..adapters.dynamodb import repository as repo
from ..adapters.dynamodb.models import CampaignItem, CustomerItem, Item, ProductItem, SupplierItem
from ..config import settings
from ..domain import campaigns as domain
from ..domain.audit import AuditEvent, event_type
from ..domain.campaigns import Campaign, CampaignAction, CampaignStatus, Product
from ..domain.errors import Conflict, InvalidTransition, NotFound, RuleViolation
from ..domain.permissions import MANAGE_CATALOGUE, MANAGE_CUSTOMERS, READ_STAFF, SYSTEM, Principal
from .clock import new_id, now
from .guard import require

# ---------------------------------------------------------------- suppliers


@dataclass
class Supplier:
    id: str
    name: str
    contact_emails: list[str]
    active: bool
    created_at: datetime


def _supplier(item: SupplierItem) -> Supplier:
    return Supplier(
        id=item.id,
        name=item.name,
        contact_emails=[str(e) for e in item.contact_emails or []],
        active=bool(item.active),
        created_at=item.created_at,
    )


def create_supplier(actor: Principal, *, name: str, contact_emails: list[str], supplier_id: str | None = None) -> Supplier:
    require(actor, MANAGE_CATALOGUE, "create suppliers")
    at = now()
    sid = supplier_id or new_id("sup")
    pk, sk = keys.supplier(sid)
    gpk, gsk = keys.suppliers_index(name, sid)
    item = SupplierItem(
        pk, sk, GSI1PK=gpk, GSI1SK=gsk, id=sid, name=name, contact_emails=contact_emails, active=True, created_at=at
    )
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
        repo.commit([repo.Write(item, Item.PK.does_not_exist()), repo.event_write(pk, event)], what=f"supplier {sid}")
    except Conflict as exc:
        raise Conflict(f"supplier {sid} already exists") from exc
    return _supplier(item)


def list_suppliers(actor: Principal, *, limit: int, cursor: str | None) -> tuple[list[Supplier], str | None]:
    require(actor, READ_STAFF, "list suppliers")
    page = repo.query_page(Item.gsi1, "SUPPLIERS", limit=limit, cursor=cursor, newest_first=False)
    return [_supplier(i) for i in page.items if isinstance(i, SupplierItem)], page.cursor


def get_supplier(actor: Principal, supplier_id: str) -> Supplier:
    require(actor, READ_STAFF, "read suppliers")
    item = repo.get(keys.supplier(supplier_id), SupplierItem)
    if item is None:
        raise NotFound(f"supplier {supplier_id} not found")
    return _supplier(item)


# ---------------------------------------------------------------- campaigns


@dataclass
class CampaignView:
    campaign: Campaign
    created_at: datetime
    buyer_email: str | None
    version: int
    products: list[Product] = field(default_factory=list)


def _view(item: CampaignItem, products: list[Product] | None = None) -> CampaignView:
    return CampaignView(
        campaign=repo.campaign_from_item(item),
        created_at=item.created_at,
        buyer_email=item.buyer_email,
        version=int(item.version or 0),
        products=products or [],
    )


def _check_suppliers(products: list[Product]) -> None:
    wanted = sorted({p.supplier_id for p in products})
    found = {i.id: i for i in repo.batch_get(keys.supplier(s) for s in wanted) if isinstance(i, SupplierItem)}
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
    item = repo.campaign_item(campaign, created_at=at, buyer_email=actor.email, version=None)
    pk = keys.campaign_pk(campaign.id)
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
    writes = [
        repo.Write(item),
        *(repo.new_item(repo.product_item(campaign.id, p)) for p in products),
        repo.event_write(pk, event),
    ]
    repo.commit(writes, what=f"campaign {campaign.id}")
    return CampaignView(campaign, at, actor.email, int(item.version), products)


def _load_campaign(campaign_id: str) -> tuple[CampaignItem, list[Product]]:
    """Campaign with its products: one query on the campaign's partition."""
    items = repo.query_all(keys.campaign_pk(campaign_id), range_key_condition=Item.SK.startswith(keys.CAMPAIGN_BODY_PREFIX))
    meta = next((i for i in items if isinstance(i, CampaignItem)), None)
    if meta is None:
        raise NotFound(f"campaign {campaign_id} not found")
    products = [repo.product_from_item(i) for i in items if isinstance(i, ProductItem)]
    return meta, products


def get_campaign(actor: Principal, campaign_id: str) -> CampaignView:
    require(actor, READ_STAFF, "read campaigns")
    meta, products = _load_campaign(campaign_id)
    return _view(meta, products)


def list_campaigns(
    actor: Principal, *, status: CampaignStatus, limit: int, cursor: str | None
) -> tuple[list[CampaignView], str | None]:
    require(actor, READ_STAFF, "list campaigns")
    page = repo.query_page(
        Item.gsi1,
        keys.campaigns_status_pk(status.value),
        limit=limit,
        cursor=cursor,
        newest_first=status is not CampaignStatus.LIVE,
    )
    return [_view(i) for i in page.items if isinstance(i, CampaignItem)], page.cursor


def _transition(
    actor: Principal,
    campaign_id: str,
    action: CampaignAction,
    *,
    note: str | None = None,
    mutate: object = None,
    extra: list[repo.Write] | None = None,
    expected_version: int | None = None,
    item: CampaignItem | None = None,
) -> CampaignView:
    """`item`: the campaign as the caller already read it (its version still guards the write)."""
    item = item or repo.get(keys.campaign(campaign_id), CampaignItem)
    if item is None:
        raise NotFound(f"campaign {campaign_id} not found")
    if expected_version is not None and int(item.version) != expected_version:
        raise Conflict(f"campaign {campaign_id} is at version {item.version}, not {expected_version}")
    campaign = repo.campaign_from_item(item)
    before = campaign.status
    campaign.status = domain.check_campaign_action(campaign, action, actor)
    if callable(mutate):
        mutate(campaign)
    at = now()
    new = repo.campaign_item(campaign, created_at=item.created_at, buyer_email=item.buyer_email, version=int(item.version))
    pk = keys.campaign_pk(campaign_id)
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
    repo.commit([repo.Write(new), *(extra or []), repo.event_write(pk, event)], what=f"campaign {campaign_id}")
    return _view(new)


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

    writes = [repo.new_item(repo.product_item(campaign_id, p)) for p in products]
    view = _transition(
        actor, campaign_id, CampaignAction.ADD_PRODUCTS, mutate=add, extra=writes, expected_version=int(meta.version)
    )
    view.products = existing + products
    return view


def end_due_campaigns(at: datetime | None = None, *, limit: int = 100) -> list[str]:
    """Scheduled: mark live campaigns whose end has passed as ended. Reads only the due ones."""
    cutoff = at or now()
    condition: Condition = keys.ts(cutoff) + "#~" >= Item.GSI1SK
    page = repo.query_page(
        Item.gsi1,
        keys.campaigns_status_pk(CampaignStatus.LIVE.value),
        range_key_condition=condition,
        limit=limit,
        newest_first=False,
    )
    ended = []
    for item in page.items:
        if isinstance(item, CampaignItem):
            try:
                _transition(SYSTEM, item.id, CampaignAction.END, item=item)  # no second read per campaign
                ended.append(item.id)
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
    existing = repo.get(keys.customer(customer_id), CustomerItem)
    at = now()
    pk, sk = keys.customer(customer_id)
    item = CustomerItem(
        pk,
        sk,
        id=customer_id,
        email=existing.email if existing else None,
        flagged=flagged,
        flag_reason=reason if flagged else None,
        updated_at=at,
    )
    repo.with_version(item, int(existing.version) if existing else None)
    event = AuditEvent(
        id=new_id("evt"),
        subject_type="customer",
        subject_id=customer_id,
        type=event_type("customer", "flag" if flagged else "unflag"),
        actor=actor,
        at=at,
        from_status=("flagged" if existing.flagged else "clear") if existing else None,
        to_status="flagged" if flagged else "clear",
        internal_note=reason,
    )
    repo.commit([repo.Write(item), repo.event_write(pk, event)], what=f"customer {customer_id}")
    return CustomerProfile(customer_id, item.email, flagged, item.flag_reason)
