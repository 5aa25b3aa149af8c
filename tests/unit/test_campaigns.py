"""Campaign rules: who may move a campaign where, the live window, products."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.campaigns import (
    CAMPAIGN_ACTIONS,
    Campaign,
    CampaignAction,
    CampaignStatus,
    Product,
    add_products,
    check_campaign_action,
    go_live_window,
)
from chalicelib.domain.errors import DomainError, Forbidden, InvalidTransition, RuleViolation
from chalicelib.domain.permissions import SYSTEM, Principal, Role

from .factories import NOW, live_campaign, who

S = CampaignStatus
A = CampaignAction

# Written out by hand: (action) -> roles, from statuses, status after.
SPEC = {
    A.GO_LIVE: ({Role.BUYER, Role.ADMIN}, {S.DRAFT}, S.LIVE),
    A.END: ({Role.ADMIN}, {S.LIVE}, S.ENDED),
    A.CLOSE: ({Role.BUYER, Role.ADMIN}, {S.ENDED}, S.CLOSED),
    A.CANCEL: ({Role.BUYER, Role.ADMIN}, {S.DRAFT, S.LIVE}, S.CANCELLED),
    A.ADD_PRODUCTS: ({Role.BUYER, Role.ADMIN}, {S.DRAFT}, None),
}
EDGES = {(S.DRAFT, S.LIVE), (S.LIVE, S.ENDED), (S.ENDED, S.CLOSED), (S.DRAFT, S.CANCELLED), (S.LIVE, S.CANCELLED)}


def campaign_in(status: CampaignStatus) -> Campaign:
    return live_campaign(status=status)


def test_the_campaign_action_table_matches_the_specification():
    assert {a: (set(r.roles), set(r.from_statuses)) for a, r in CAMPAIGN_ACTIONS.items()} == {
        a: (roles, froms) for a, (roles, froms, _) in SPEC.items()
    }


@pytest.mark.parametrize("action", list(CampaignAction))
@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("status", list(CampaignStatus))
def test_a_campaign_action_needs_an_allowed_role_and_status(action, role, status):
    roles, froms, after = SPEC[action]
    campaign = campaign_in(status)
    if role not in roles:
        with pytest.raises(Forbidden):
            check_campaign_action(campaign, action, who(role))
    elif status not in froms:
        with pytest.raises(InvalidTransition) as err:
            check_campaign_action(campaign, action, who(role))
        assert status.value in err.value.message
    else:
        assert check_campaign_action(campaign, action, who(role)) is (after or status)
    assert campaign.status is status  # checking never changes the campaign


def test_only_the_system_ends_a_campaign():
    campaign = campaign_in(S.LIVE)
    with pytest.raises(Forbidden):
        check_campaign_action(campaign, A.END, who(Role.BUYER))
    assert check_campaign_action(campaign, A.END, SYSTEM) is S.ENDED


campaign_commands = st.lists(
    st.tuples(st.sampled_from(list(CampaignAction)), st.frozensets(st.sampled_from(list(Role)), min_size=1, max_size=2)),
    max_size=20,
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(list(CampaignStatus)), campaign_commands)
def test_no_sequence_of_campaign_actions_leaves_the_campaign_lifecycle(start, sequence):
    campaign = campaign_in(start)
    for action, roles in sequence:
        before = campaign.status
        rule = CAMPAIGN_ACTIONS[action]
        try:
            campaign.status = check_campaign_action(campaign, action, Principal("p", roles))
        except DomainError as err:
            assert campaign.status is before
            if not roles & rule.roles:
                assert isinstance(err, Forbidden)
            else:
                assert isinstance(err, InvalidTransition)
                assert before not in rule.from_statuses
            continue
        assert roles & rule.roles and before in rule.from_statuses
        assert campaign.status is (SPEC[action][2] or before)
        if campaign.status is not before:
            assert (before, campaign.status) in EDGES
        if before in (S.CLOSED, S.CANCELLED):
            raise AssertionError(f"{action} changed a finished campaign")


def test_a_campaign_is_orderable_only_while_live_and_before_its_end():
    assert live_campaign().is_orderable(NOW)
    assert not live_campaign(ends_at=NOW).is_orderable(NOW)
    assert not live_campaign(ends_at=None).is_orderable(NOW)
    assert not live_campaign(status=S.DRAFT).is_orderable(NOW)
    assert not live_campaign(status=S.ENDED, ends_at=NOW + timedelta(days=1)).is_orderable(NOW)


def test_going_live_without_an_end_runs_for_the_default_length():
    assert go_live_window(NOW, None, 7) == (NOW, NOW + timedelta(days=7))


def test_going_live_with_an_end_keeps_that_end():
    end = NOW + timedelta(hours=3)
    assert go_live_window(NOW, end, 7) == (NOW, end)


@pytest.mark.parametrize("end", [NOW, NOW - timedelta(seconds=1)])
def test_a_campaign_cannot_go_live_with_an_end_that_is_not_in_the_future(end):
    with pytest.raises(RuleViolation) as err:
        go_live_window(NOW, end, 7)
    assert err.value.code == "invalid_end"


def _draft() -> Campaign:
    return Campaign(id="cmp-9", name="Spring", buyer_id="b", currency="EUR")


def test_adding_products_counts_them_and_records_their_suppliers():
    campaign = _draft()
    add_products(campaign, [Product("A", "a", "acme", 100, 50), Product("B", "b", "bolt", 100, 50)], set())
    add_products(campaign, [Product("C", "c", "acme", 100, 50)], {"A", "B"})
    assert campaign.product_count == 3
    assert campaign.supplier_ids == {"acme", "bolt"}


def test_a_sku_already_in_the_campaign_cannot_be_added_again():
    campaign = _draft()
    with pytest.raises(RuleViolation) as err:
        add_products(campaign, [Product("A", "a", "acme", 100, 50)], {"A"})
    assert err.value.code == "duplicate_sku"
    assert campaign.product_count == 0 and campaign.supplier_ids == set()


def test_a_sku_twice_in_one_request_is_refused():
    with pytest.raises(RuleViolation) as err:
        add_products(_draft(), [Product("A", "a", "acme", 100, 50), Product("A", "a2", "bolt", 100, 50)], set())
    assert err.value.code == "duplicate_sku"


@pytest.mark.parametrize(("price", "cost"), [(-1, 0), (0, -1)])
def test_a_product_cannot_have_a_negative_price_or_cost(price, cost):
    with pytest.raises(RuleViolation) as err:
        Product("A", "a", "acme", price, cost)
    assert err.value.code == "invalid_price"


def test_a_free_product_is_allowed():
    assert Product("A", "a", "acme", 0, 0).unit_price_cents == 0
