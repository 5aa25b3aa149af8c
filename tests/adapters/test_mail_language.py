"""The customer's language travels with their address: an order placed in Vietnamese makes the
customer's mail Vietnamese from then on (the order's mail and the ones after it), the choice survives
a change of notification preferences; without one the default speaks. Events come
from the real write path (services -> table stream -> publisher -> bus -> notifications queue); SES is
moto's."""

from __future__ import annotations

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from chalicelib.domain.notifications import AlertMode
from chalicelib.domain.orders import PaymentMode
from chalicelib.domain.permissions import Principal, Role
from chalicelib.handlers import notifications
from chalicelib.services import notify, orders
from chalicelib.services.orders import RequestedLine
from chalicelib.topology import NOTIFICATIONS
from tests.adapters import shop
from tests.adapters.events import published
from tests.adapters.shop import ALICE, HOME

CARE = Principal("care-1", frozenset({Role.CUSTOMER_CARE}), email="care@waybill.example")


def mail_to(address: str) -> list:
    return [m for m in ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages if m.destinations["ToAddresses"] == [address]]


def deliver(aws, seen: set[str]) -> None:
    for event in published(aws, NOTIFICATIONS.name, seen):
        notifications.handle(event)


def test_an_order_placed_in_vietnamese_makes_the_customer_s_mail_vietnamese_from_then_on(aws, campaign_id):
    seen: set[str] = set()
    record, _ = orders.place_order(
        ALICE,
        campaign_id=campaign_id,
        lines=[RequestedLine("MUG-1", 1)],
        payment_mode=PaymentMode.PREPAID,
        shipping_address=HOME,
        locale="vi",
    )
    deliver(aws, seen)
    [placed] = mail_to("alice@example.com")
    assert placed.subject == f"Chúng tôi đã nhận được đơn hàng của bạn ({record.order.id})"
    assert "Tổng cộng:" in placed.body and " €" in placed.body
    assert notify.get_preferences("alice@example.com").locale == "vi"  # kept with the address

    # Preferences changed afterwards keep the language; the next event names no locale of its own.
    notify.set_preferences(ALICE, "alice@example.com", opt_out=True, alerts=AlertMode.DAILY_DIGEST)
    orders.add_note(CARE, record.order.id, internal_note=None, customer_note="Cảm ơn bạn.")
    deliver(aws, seen)
    [_, news] = mail_to("alice@example.com")
    assert news.subject == f"Tin mới về đơn hàng của bạn ({record.order.id})"  # transactional: sent, opted out or not
    assert "Lời nhắn của chúng tôi: Cảm ơn bạn." in news.body
    assert notify.get_preferences("alice@example.com").locale == "vi"


def test_an_order_placed_without_a_locale_speaks_the_default(aws, campaign_id):
    seen: set[str] = set()
    record = shop.place(ALICE, campaign_id, ("MUG-1", 1))
    deliver(aws, seen)
    [placed] = mail_to("alice@example.com")
    assert placed.subject == f"We have received your order ({record.order.id})"
    assert notify.get_preferences("alice@example.com").locale is None
