"""Suppliers, campaigns and customer flags through the catalogue service, on the in-memory store: the
end-of-campaign sweep, going live, versions, unknown suppliers (as tests/adapters/test_campaign_services.py
checks them on moto, which keeps the request counts and the schedule handler)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.adapters.memory import MemoryStore
from chalicelib.domain.campaigns import CampaignStatus, Product
from chalicelib.domain.errors import Conflict, Forbidden, InvalidTransition, NotFound, RuleViolation
from chalicelib.services import catalogue, uow
from chalicelib.services.ports import CampaignRecord, Versioned
from tests.adapters import shop
from tests.adapters.shop import BUYER, CARE


def status_of(campaign_id: str) -> CampaignStatus:
    return catalogue.get_campaign(BUYER, campaign_id).campaign.status


def make_campaigns() -> tuple[datetime, dict[int, str], str]:
    """Three live campaigns ending 1 h, 2 h and 5 h from now, and a draft."""
    shop.suppliers()
    now = datetime.now(UTC)
    live = {hours: shop.live_campaign(ends_at=now + timedelta(hours=hours), name=f"ends in {hours} h") for hours in (1, 2, 5)}
    draft = catalogue.create_campaign(BUYER, name="draft", currency="EUR", products=shop.PRODUCTS).campaign.id
    return now, live, draft


@pytest.fixture
def campaigns(store):
    return make_campaigns()


def test_the_sweep_ends_only_campaigns_whose_end_has_passed(campaigns):
    now, live, draft = campaigns
    ended = catalogue.end_due_campaigns(now + timedelta(hours=3))
    assert sorted(ended) == sorted([live[1], live[2]])
    assert [status_of(live[h]) for h in (1, 2, 5)] == [CampaignStatus.ENDED, CampaignStatus.ENDED, CampaignStatus.LIVE]
    assert status_of(draft) is CampaignStatus.DRAFT


def test_a_campaign_ending_exactly_at_the_sweep_is_ended(campaigns):
    now, live, _ = campaigns
    ends_at = catalogue.get_campaign(BUYER, live[5]).campaign.ends_at
    assert catalogue.end_due_campaigns(ends_at) == [live[1], live[2], live[5]]


def test_a_second_sweep_finds_nothing_left_to_end(campaigns):
    now, _, _ = campaigns
    catalogue.end_due_campaigns(now + timedelta(hours=6))
    assert catalogue.end_due_campaigns(now + timedelta(hours=6)) == []


def test_the_sweep_records_who_ended_the_campaign(campaigns, store):
    now, live, _ = campaigns
    catalogue.end_due_campaigns(now + timedelta(hours=1, minutes=1))
    last = store.history("campaign", live[1], limit=10).items[-1]
    assert (last.type, last.from_status, last.to_status, last.actor.sub) == ("campaign.ended", "live", "ended", "system")


class CancelledAfterTheRead(MemoryStore):
    """A store whose sweep read returns just before a cancellation of `victim` lands."""

    victim: str | None = None

    def campaigns_due(self, cutoff: datetime, *, limit: int) -> list[Versioned[CampaignRecord]]:
        due = super().campaigns_due(cutoff, limit=limit)
        if self.victim:
            catalogue.cancel_campaign(BUYER, self.victim, reason="supplier withdrew")
        return due


def test_a_campaign_cancelled_after_the_sweep_read_it_is_left_cancelled():
    racing = CancelledAfterTheRead()
    with uow.using(racing):
        now, live, _ = make_campaigns()
        racing.victim = live[1]
        assert catalogue.end_due_campaigns(now + timedelta(hours=3)) == [live[2]]
        assert status_of(live[1]) is CampaignStatus.CANCELLED


def test_going_live_needs_products_and_a_future_end(store):
    shop.suppliers()
    empty = catalogue.create_campaign(BUYER, name="empty", currency="EUR", products=[]).campaign.id
    with pytest.raises(RuleViolation) as err:
        catalogue.go_live(BUYER, empty)
    assert err.value.code == "no_products"
    full = catalogue.create_campaign(BUYER, name="full", currency="EUR", products=shop.PRODUCTS).campaign.id
    with pytest.raises(RuleViolation) as err:
        catalogue.go_live(BUYER, full, ends_at=datetime.now(UTC) - timedelta(minutes=1))
    assert err.value.code == "invalid_end"
    assert status_of(full) is CampaignStatus.DRAFT


def test_a_campaign_goes_live_once_and_only_for_a_buyer(store):
    shop.suppliers()
    cid = catalogue.create_campaign(BUYER, name="c", currency="EUR", products=shop.PRODUCTS).campaign.id
    with pytest.raises(Forbidden):
        catalogue.go_live(CARE, cid)
    view = catalogue.go_live(BUYER, cid)
    assert view.campaign.status is CampaignStatus.LIVE and view.version == 2
    with pytest.raises(InvalidTransition):
        catalogue.go_live(BUYER, cid)


def test_a_stale_expected_version_is_a_conflict(store):
    shop.suppliers()
    cid = catalogue.create_campaign(BUYER, name="c", currency="EUR", products=shop.PRODUCTS).campaign.id
    with pytest.raises(Conflict):
        catalogue.go_live(BUYER, cid, expected_version=7)
    assert status_of(cid) is CampaignStatus.DRAFT


def test_products_from_unknown_or_inactive_suppliers_are_refused(store):
    shop.suppliers()
    with pytest.raises(RuleViolation) as err:
        catalogue.create_campaign(
            BUYER,
            name="c",
            currency="EUR",
            products=[Product("X-1", "x", "ghost", 100, 50), Product("M-1", "m", "acme", 100, 50)],
        )
    assert err.value.code == "unknown_supplier"
    assert err.value.details == [{"field": "products", "message": "supplier ghost does not exist"}]


def test_a_campaign_keeps_its_products_and_adds_more_while_a_draft(store):
    shop.suppliers()
    view = catalogue.create_campaign(BUYER, name="c", currency="EUR", products=shop.PRODUCTS[:2])
    added = catalogue.add_campaign_products(BUYER, view.campaign.id, shop.PRODUCTS[2:])
    assert [p.sku for p in added.products] == [p.sku for p in shop.PRODUCTS] and added.version == 2
    assert sorted(p.sku for p in catalogue.get_campaign(BUYER, view.campaign.id).products) == sorted(p.sku for p in shop.PRODUCTS)
    with pytest.raises(RuleViolation):  # the same SKU again adds nothing
        catalogue.add_campaign_products(BUYER, view.campaign.id, shop.PRODUCTS[:1])
    assert catalogue.get_campaign(BUYER, view.campaign.id).version == 2


def test_a_supplier_id_is_taken_once_and_suppliers_list_by_name_across_pages(store):
    for sid, name in (("s3", "Charlie"), ("s1", "alpha"), ("s2", "Bravo")):
        catalogue.create_supplier(BUYER, name=name, contact_emails=[f"o@{sid}.example"], supplier_id=sid)
    with pytest.raises(Conflict) as err:
        catalogue.create_supplier(BUYER, name="Impostor", contact_emails=["x@evil.example"], supplier_id="s1")
    assert err.value.code == "conflict" and "s1" in err.value.message
    assert catalogue.get_supplier(CARE, "s1").name == "alpha"
    first, cursor = catalogue.list_suppliers(CARE, limit=2, cursor=None)
    rest, end = catalogue.list_suppliers(CARE, limit=2, cursor=cursor)
    assert [s.name for s in first + rest] == ["alpha", "Bravo", "Charlie"] and end is None
    with pytest.raises(NotFound):
        catalogue.get_supplier(CARE, "nobody")


def test_a_customer_can_be_flagged_cleared_and_flagged_again_each_on_the_record(store):
    with pytest.raises(RuleViolation) as err:
        catalogue.set_customer_flag(CARE, "cust-1", flagged=True, reason=None)
    assert err.value.code == "reason_required"
    assert catalogue.set_customer_flag(CARE, "cust-1", flagged=True, reason="chargebacks").flagged is True
    cleared = catalogue.set_customer_flag(CARE, "cust-1", flagged=False, reason=None)
    assert (cleared.flagged, cleared.flag_reason) == (False, None)
    again = catalogue.set_customer_flag(CARE, "cust-1", flagged=True, reason="again")
    assert (again.flagged, again.flag_reason) == (True, "again")
    trail = [(e.from_status, e.to_status) for e in store.history("customer", "cust-1", limit=10).items]
    assert trail == [(None, "flagged"), ("flagged", "clear"), ("clear", "flagged")]
