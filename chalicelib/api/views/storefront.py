"""What a shop's storefront sends and sees: an order it places for one of its customers."""

from __future__ import annotations

from pydantic import Field

from ...domain.orders import PaymentMode
from .common import AddressIn, Id, Request
from .customer import OrderLineIn
from .staff import Email


class StorefrontOrderRequest(Request):
    """An order for the customer the `X-On-Behalf-Of` header names; the storefront gives the address
    (a customer's address book stays theirs) and the customer's e-mail, where order mail goes."""

    campaign_id: Id
    lines: list[OrderLineIn] = Field(min_length=1, max_length=100)
    payment_mode: PaymentMode = PaymentMode.PREPAID
    shipping_address: AddressIn = Field(description="where the order ships")
    customer_email: Email = Field(description="the customer's e-mail address, as the storefront knows it")
