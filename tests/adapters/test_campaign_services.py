"""Campaign lifecycle through the services: the end-of-campaign sweep reads only what is due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.metering import metered
from chalicelib.adapters.dynamodb.models import AuditEventItem, Item
from chalicelib.adapters.dynamodb.store import DynamoStore
from chalicelib.domain.campaigns import CampaignStatus, Product
from chalicelib.domain.errors import Conflict, Forbidden, InvalidTransition, RuleViolation
from chalicelib.services import catalogue, uow
from tests.adapters import shop
from tests.adapters.shop import BUYER, CARE


def status_of(campaign_id: str) -> CampaignStatus:
    return catalogue.get_campaign(BUYER, campaign_id).campaign.status


@pytest.fixture
def campaigns(aws):
    """Three live campaigns ending 1 h, 2 h and 5 h from now, and a draft."""
    shop.suppliers()
    now = datetime.now(UTC)
    live = {hours: shop.live_campaign(ends_at=now + timedelta(hours=hours), name=f"ends in {hours} h") for hours in (1, 2, 5)}
    draft = catalogue.create_campaign(BUYER, name="draft", currency="EUR", products=shop.PRODUCTS).campaign.id
    return now, live, draft


def test_the_sweep_ends_only_campaigns_whose_end_has_passed(campaigns):
    now, live, draft = campaigns
    ended = catalogue.end_due_campaigns(now + timedelta(hours=3))
    assert sorted(ended) == sorted([live[1], live[2]])
    assert [status_of(live[h]) for h in (1, 2, 5)] == [CampaignStatus.ENDED, CampaignStatus.ENDED, CampaignStatus.LIVE]
    assert status_of(draft) is CampaignStatus.DRAFT


def test_the_sweep_reads_only_the_due_campaigns(campaigns):
    now, live, _ = campaigns
    with metered() as m:
        ended = catalogue.end_due_campaigns(now + timedelta(hours=3))
    assert len(ended) == 2
    assert m.requests["Query"] == 1
    assert m.requests["TransactWriteItems"] == 2
    assert m.items_read == len(ended)


def test_a_sweep_with_nothing_due_reads_nothing(campaigns):
    now, _, _ = campaigns
    with metered() as m:
        assert catalogue.end_due_campaigns(now) == []
    assert m.requests == {"Query": 1}
    assert m.items_read == 0


def test_a_campaign_ending_exactly_at_the_sweep_is_ended(campaigns):
    now, live, _ = campaigns
    ends_at = catalogue.get_campaign(BUYER, live[5]).campaign.ends_at
    assert catalogue.end_due_campaigns(ends_at) == [live[1], live[2], live[5]]


def test_a_second_sweep_finds_nothing_left_to_end(campaigns):
    now, live, _ = campaigns
    catalogue.end_due_campaigns(now + timedelta(hours=6))
    assert catalogue.end_due_campaigns(now + timedelta(hours=6)) == []


def test_the_sweep_records_who_ended_the_campaign(campaigns):
    now, live, _ = campaigns
    catalogue.end_due_campaigns(now + timedelta(hours=1, minutes=1))
    events = [i for i in Item.query(keys.campaign_pk(live[1])) if isinstance(i, AuditEventItem)]
    last = events[-1]
    assert (last.type, last.from_status, last.to_status, last.actor.sub) == ("campaign.ended", "live", "ended", "system")


def test_the_schedule_handler_ends_campaigns_that_are_overdue_now(aws, client, monkeypatch):
    shop.suppliers()
    past = datetime.now(UTC) - timedelta(hours=2)
    monkeypatch.setattr("chalicelib.services.catalogue.now", lambda: past)
    overdue = shop.live_campaign(ends_at=past + timedelta(hours=1))
    monkeypatch.undo()
    current = shop.live_campaign()
    response = client.lambda_.invoke(
        "end_campaigns",
        client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]),
    )
    assert response.payload == {"ended": [overdue]}
    assert status_of(overdue) is CampaignStatus.ENDED and status_of(current) is CampaignStatus.LIVE


def test_going_live_needs_products_and_a_future_end(aws):
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


def test_a_campaign_goes_live_once_and_only_for_a_buyer(aws):
    shop.suppliers()
    cid = catalogue.create_campaign(BUYER, name="c", currency="EUR", products=shop.PRODUCTS).campaign.id
    with pytest.raises(Forbidden):
        catalogue.go_live(CARE, cid)
    view = catalogue.go_live(BUYER, cid)
    assert view.campaign.status is CampaignStatus.LIVE and view.version == 2
    with pytest.raises(InvalidTransition):
        catalogue.go_live(BUYER, cid)


def test_a_stale_expected_version_is_a_conflict(aws):
    shop.suppliers()
    cid = catalogue.create_campaign(BUYER, name="c", currency="EUR", products=shop.PRODUCTS).campaign.id
    with pytest.raises(Conflict):
        catalogue.go_live(BUYER, cid, expected_version=7)
    assert status_of(cid) is CampaignStatus.DRAFT


def test_products_from_unknown_or_inactive_suppliers_are_refused(aws):
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


def test_a_campaign_cancelled_after_the_sweep_read_it_is_left_cancelled(campaigns):
    now, live, _ = campaigns

    class CancelledAfterTheRead(DynamoStore):
        def campaigns_due(self, cutoff, *, limit):
            due = super().campaigns_due(cutoff, limit=limit)
            catalogue.cancel_campaign(BUYER, live[1], reason="supplier withdrew")  # lands between read and write
            return due

    with uow.using(CancelledAfterTheRead()):
        assert catalogue.end_due_campaigns(now + timedelta(hours=3)) == [live[2]]
    assert status_of(live[1]) is CampaignStatus.CANCELLED
