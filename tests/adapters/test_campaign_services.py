"""The end-of-campaign sweep on DynamoDB: it reads only what is due (request counts), and the
scheduled handler runs it. The catalogue's rules themselves are tested on the in-memory store
(tests/services/test_catalogue.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.adapters.dynamodb.metering import metered
from chalicelib.domain.campaigns import CampaignStatus
from chalicelib.services import catalogue
from tests.adapters import shop
from tests.adapters.shop import BUYER


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
