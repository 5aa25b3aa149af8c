"""What every store does with the outbound area's records (`services.ports_outbound`), on both stores:
webhook subscriptions, deliveries, notification preferences and outbox entries load and save under
versions, a second create of any is AlreadyExists; the listings (active subscriptions, all
subscriptions, deliveries by subscription and/or status) come in their order, page by cursor and refuse
another listing's cursor; the notify service's reads (mail state, held mail, facts, buyers) answer
what is stored."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.domain.audit import AuditEvent
from chalicelib.domain.campaigns import Campaign, CampaignStatus
from chalicelib.domain.errors import AlreadyExists, Conflict, RuleViolation
from chalicelib.domain.notifications import AlertMode
from chalicelib.domain.orders import DeliveryStatus as D
from chalicelib.domain.permissions import SYSTEM
from chalicelib.services.ports import CampaignRecord, Record, Save, Store, Supplier
from chalicelib.services.ports_outbound import (
    MailState,
    NotificationFacts,
    OutboxEntry,
    Preferences,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from tests.unit.factories import NOW


def subscription(n: int, *, active: bool = True) -> WebhookSubscription:
    at = NOW + timedelta(minutes=n)
    return WebhookSubscription(
        id=f"whs_{n}",
        url=f"https://hooks.example.com/{n}",
        event_types=["order.placed", "po.created"],
        description=f"subscriber {n}",
        active=active,
        secret=f"whsec_{n}",
        created_at=at,
        updated_at=at,
    )


def delivery(n: int, sub_id: str = "whs_1", status: str = "pending") -> WebhookDelivery:
    at = NOW + timedelta(minutes=n)
    return WebhookDelivery(
        id=f"msg_{n}",
        subscription_id=sub_id,
        event_id=f"evt_{n}",
        event_type="order.placed",
        payload='{"type":"order.placed"}',
        status=status,
        attempts_started=1,
        created_at=at,
        updated_at=at,
        next_attempt_at=at + timedelta(seconds=30),
    )


def create(store: Store, *objs: WebhookSubscription | WebhookDelivery) -> None:
    for obj in objs:
        store.commit([Save(obj, None)], what=obj.id, at=NOW)


def test_a_subscription_loads_as_saved_and_each_save_moves_its_version_on(store: Store):
    sub = subscription(1)
    create(store, sub)
    found = store.load(WebhookSubscription, "whs_1")
    assert found is not None and found.version == 1
    assert replace(found.value, version=0) == sub
    rotated = replace(
        found.value,
        previous_secret="whsec_1",
        previous_secret_expires_at=NOW + timedelta(days=1),
        secret="whsec_new",
        secret_rotated_at=NOW,
        active=False,
        failing=True,
        disabled_reason="410",
        disabled_at=NOW,
    )
    store.commit([Save(rotated, 1)], what="subscription", at=NOW)
    again = store.load(WebhookSubscription, "whs_1")
    assert again is not None and again.version == 2
    assert replace(again.value, version=0) == replace(rotated, version=0)


def test_a_subscription_saved_under_a_stale_version_is_a_conflict_and_created_twice_already_exists(store: Store):
    create(store, subscription(1))
    store.commit([Save(replace(subscription(1), url="https://a.example.com/x"), 1)], what="subscription", at=NOW)
    with pytest.raises(Conflict):
        store.commit([Save(replace(subscription(1), url="https://b.example.com/x"), 1)], what="subscription", at=NOW)
    with pytest.raises(AlreadyExists):
        create(store, subscription(1))
    found = store.load(WebhookSubscription, "whs_1")
    assert found is not None and found.value.url == "https://a.example.com/x"


def test_a_subscriptions_audit_events_are_kept_in_its_history(store: Store):
    sub = subscription(1)
    event = AuditEvent("evt_a", "subscription", sub.id, "webhook_subscription.created", SYSTEM, NOW, to_status="active")
    store.commit([Save(sub, None), Record(event)], what="subscription", at=NOW)
    assert [e.id for e in store.history("subscription", sub.id, limit=10).items] == ["evt_a"]


def test_a_delivery_keeps_its_attempts_and_schedule_and_is_created_once(store: Store):
    d = delivery(1)
    create(store, d)
    with pytest.raises(AlreadyExists):
        create(store, replace(d, payload="another body"))
    found = store.load(WebhookDelivery, "msg_1")
    assert found is not None and found.version == 1 and found.value.payload == d.payload
    done = replace(
        found.value,
        status="succeeded",
        attempts=[
            WebhookAttempt(1, NOW, None, 0, None, "refused: loopback"),
            WebhookAttempt(2, NOW + timedelta(seconds=5), 200, 42, "thank you", None),
        ],
        attempts_started=2,
        next_attempt_at=None,
        expires_at=int((NOW + timedelta(days=30)).timestamp()),
        replay_of="msg_0",
    )
    store.commit([Save(done, 1)], what="delivery", at=NOW)
    with pytest.raises(Conflict):
        store.commit([Save(replace(done, status="failed"), 1)], what="delivery", at=NOW)
    again = store.load(WebhookDelivery, "msg_1")
    assert again is not None and again.version == 2
    assert replace(again.value, version=0) == replace(done, version=0)
    assert store.load(WebhookDelivery, "msg_2") is None


def test_only_active_subscriptions_are_offered_events_oldest_first(store: Store):
    create(store, subscription(3), subscription(1), subscription(2, active=False))
    assert [s.value.id for s in store.active_webhook_subscriptions()] == ["whs_1", "whs_3"]
    found = store.load(WebhookSubscription, "whs_3")
    assert found is not None
    store.commit([Save(replace(found.value, active=False), found.version)], what="subscription", at=NOW)
    assert [(s.value.id, s.version) for s in store.active_webhook_subscriptions()] == [("whs_1", 1)]


def test_subscriptions_list_newest_first_across_pages(store: Store):
    create(store, *(subscription(n, active=n % 2 == 0) for n in range(1, 6)))
    first = store.webhook_subscriptions(limit=2)
    assert [s.value.id for s in first.items] == ["whs_5", "whs_4"] and first.cursor
    second = store.webhook_subscriptions(limit=2, cursor=first.cursor)
    third = store.webhook_subscriptions(limit=2, cursor=second.cursor)
    assert [s.value.id for s in second.items + third.items] == ["whs_3", "whs_2", "whs_1"]
    assert third.cursor is None
    with pytest.raises(RuleViolation):
        store.webhook_deliveries(subscription_id=None, status=None, limit=2, cursor=first.cursor)


def test_deliveries_list_newest_first_by_subscription_by_status_by_both_or_all(store: Store):
    statuses = ["pending", "succeeded", "pending", "failed", "pending", "succeeded"]
    create(store, *(delivery(n, "whs_1" if n % 2 else "whs_2", s) for n, s in enumerate(statuses, start=1)))

    def ids(subscription_id: str | None, status: str | None, limit: int = 10) -> list[str]:
        found: list[str] = []
        cursor: str | None = None
        while True:
            page = store.webhook_deliveries(subscription_id=subscription_id, status=status, limit=limit, cursor=cursor)
            found += [d.value.id for d in page.items]
            if page.cursor is None:
                return found
            cursor = page.cursor

    assert ids(None, None) == ["msg_6", "msg_5", "msg_4", "msg_3", "msg_2", "msg_1"]
    assert ids(None, None, limit=4) == ids(None, None)
    assert ids("whs_1", None, limit=2) == ["msg_5", "msg_3", "msg_1"]
    assert ids(None, "succeeded", limit=1) == ["msg_6", "msg_2"]
    assert ids("whs_1", "pending", limit=2) == ["msg_5", "msg_3", "msg_1"]
    assert ids("whs_2", "pending") == [] and ids("whs_9", None) == []
    page = store.webhook_deliveries(subscription_id="whs_1", status="pending", limit=2)
    assert [d.value.id for d in page.items] == ["msg_5", "msg_3"]  # a filtered page is filled
    found = store.load(WebhookDelivery, "msg_5")
    assert found is not None
    store.commit([Save(replace(found.value, status="succeeded"), found.version)], what="delivery", at=NOW)
    assert ids("whs_1", "pending") == ["msg_3", "msg_1"] and ids(None, "succeeded") == ["msg_6", "msg_5", "msg_2"]


# ---------------------------------------------------------------- notification preferences and the outbox


def outbox(event_id: str, address: str, status: str = "sending", *, held: bool = False) -> OutboxEntry:
    return OutboxEntry(
        event_id=event_id,
        address=address,
        event_type="order.placed",
        recipient_role="customer",
        template="order_update",
        category="order_updates",
        status="held_for_digest" if held else status,
        attempts=1,
        created_at=NOW,
        updated_at=NOW,
        subject="Your order",
        lease_until=NOW + timedelta(minutes=5),
        held_at=NOW if held else None,
        expires_at=int(NOW.timestamp()) + 86400,
    )


def test_preferences_load_by_address_are_created_once_and_then_replaced(store: Store):
    assert store.load(Preferences, "alice@example.com") is None
    chosen = Preferences("alice@example.com", opt_out=True, alerts=AlertMode.DAILY_DIGEST, updated_at=NOW, updated_by="alice")
    store.commit([Save(chosen, None)], what="preferences", at=NOW)
    with pytest.raises(AlreadyExists):
        store.commit([Save(replace(chosen, opt_out=False), None)], what="preferences", at=NOW)
    found = store.load(Preferences, "alice@example.com")
    assert found is not None and found.value == chosen
    store.commit([Save(replace(chosen, opt_out=False), found.version)], what="preferences", at=NOW)
    again = store.load(Preferences, "alice@example.com")
    assert again is not None and again.value.opt_out is False and again.value.alerts is AlertMode.DAILY_DIGEST


def test_the_language_of_an_address_s_mail_is_kept_with_its_preferences_and_read_with_its_mail_state(store: Store):
    chosen = Preferences("an@example.vn", updated_at=NOW, updated_by="an@example.vn", locale="vi")
    store.commit([Save(chosen, None)], what="preferences", at=NOW)
    found = store.load(Preferences, "an@example.vn")
    assert found is not None and found.value == chosen
    assert store.mail_state("evt_1", ["an@example.vn"]).preferences == {"an@example.vn": chosen}
    store.commit([Save(replace(chosen, locale=None), found.version)], what="preferences", at=NOW)
    again = store.load(Preferences, "an@example.vn")
    assert again is not None and again.value.locale is None


def test_an_outbox_entry_is_created_once_per_event_and_address_and_saved_under_its_version(store: Store):
    entry = outbox("evt_1", "alice@example.com")
    store.commit([Save(entry, None)], what="mail", at=NOW)
    with pytest.raises(AlreadyExists):
        store.commit([Save(replace(entry, status="sent"), None)], what="mail", at=NOW)
    store.commit([Save(outbox("evt_1", "bob@example.com"), None)], what="mail", at=NOW)  # another address
    found = store.load(OutboxEntry, "evt_1", "alice@example.com")
    assert found is not None and found.version == 1 and found.value == entry
    sent = replace(found.value, status="sent", message_id="ses-1", lease_until=None, sent_at=NOW)
    store.commit([Save(sent, 1)], what="mail", at=NOW)
    with pytest.raises(Conflict):
        store.commit([Save(replace(sent, status="failed"), 1)], what="mail", at=NOW)
    again = store.load(OutboxEntry, "evt_1", "alice@example.com")
    assert again is not None and (again.version, again.value) == (2, sent)


def test_the_mail_state_reads_preferences_and_the_events_outbox_entries_of_each_address(store: Store):
    chosen = Preferences("bob@example.com", opt_out=True, updated_at=NOW)
    store.commit([Save(chosen, None), Save(outbox("evt_1", "alice@example.com"), None)], what="mail", at=NOW)
    store.commit([Save(outbox("evt_2", "bob@example.com"), None)], what="mail", at=NOW)  # another event
    state = store.mail_state("evt_1", ["alice@example.com", "bob@example.com", "carol@example.com"])
    assert state.preferences == {"bob@example.com": chosen}
    assert {a: (e.value.event_id, e.version) for a, e in state.outbox.items()} == {"alice@example.com": ("evt_1", 1)}
    assert store.mail_state("evt_1", []) == MailState({}, {})


def test_held_mail_is_listed_until_it_is_carried_by_a_digest(store: Store):
    store.commit(
        [
            Save(outbox("evt_1", "alice@example.com", held=True), None),
            Save(outbox("evt_2", "alice@example.com", held=True), None),
            Save(outbox("evt_3", "bob@example.com", "sent"), None),
        ],
        what="mail",
        at=NOW,
    )
    held = store.held_mail()
    assert sorted(e.value.event_id for e in held) == ["evt_1", "evt_2"]
    first = next(e for e in held if e.value.event_id == "evt_1")
    store.commit([Save(replace(first.value, status="digested", digested_at=NOW), first.version)], what="mail", at=NOW)
    assert [e.value.event_id for e in store.held_mail()] == ["evt_2"]


def test_notification_facts_read_only_what_is_asked_and_what_exists(store: Store):
    supplier = Supplier("acme", "Acme Mugs", ["orders@acme.example", "ops@acme.example"], True, NOW)
    campaign = Campaign("cmp_1", "Spring mugs", "buyer-1", "EUR", CampaignStatus.DRAFT)
    store.commit([Save(supplier, None), Save(CampaignRecord(campaign, NOW, "buyer@waybill.example"), None)], what="facts", at=NOW)
    assert store.notification_facts() == NotificationFacts()
    facts = store.notification_facts(supplier_id="acme", campaign_id="cmp_1", po_id="po_nope", delivery=("ord_nope", "acme"))
    assert (facts.supplier_name, facts.supplier_contacts) == ("Acme Mugs", ["orders@acme.example", "ops@acme.example"])
    assert (facts.campaign_name, facts.buyer_email, facts.po, facts.ship_to) == (
        "Spring mugs",
        "buyer@waybill.example",
        None,
        None,
    )
    assert store.notification_facts(supplier_id="bolt") == NotificationFacts()
    assert store.campaign_buyers(["cmp_1", "cmp_nope"]) == {"cmp_1": "buyer@waybill.example"}
    assert store.campaign_buyers([]) == {}


def test_notification_facts_read_the_purchase_order_and_a_deliverys_ship_to_once_it_is_set(store: Store):
    from tests.contract.test_store import HOME, order, purchase_order

    po = purchase_order("cmp_1", "acme")
    store.commit([Save(po, None), Save(order("ord_1", campaign_id="cmp_1", acme=D.ACCEPTED), None)], what="facts", at=NOW)
    facts = store.notification_facts(po_id=po.id, delivery=("ord_1", "acme"))
    assert (facts.po, facts.ship_to) == (po, HOME)
    assert store.notification_facts(delivery=("ord_1", "bolt")).ship_to is None  # bolt has not packed it yet
