"""Roles and who may do what: the role half of the role x status matrix, kept as data.

The status half lives beside each aggregate's transition table (`orders.ORDER_ACTIONS`,
`campaigns.CAMPAIGN_ACTIONS`); `allowed` combines both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from .errors import Forbidden, InvalidTransition


class Role(StrEnum):
    CUSTOMER = "customer"
    SUPPLIER = "supplier"
    BUYER = "buyer"
    CUSTOMER_CARE = "customer_care"
    ACCOUNTING = "accounting"
    LOGISTICS = "logistics"
    ADMIN = "admin"
    # A shop's storefront, signed in with machine credentials (OAuth client credentials), never a
    # person: it places orders for the customers it names and reads back the orders it placed.
    STOREFRONT = "storefront"


STAFF_ROLES: frozenset[Role] = frozenset({Role.BUYER, Role.CUSTOMER_CARE, Role.ACCOUNTING, Role.LOGISTICS, Role.ADMIN})
# The OAuth scope (resource server `waybill`) a storefront's client-credentials token must carry.
STOREFRONT_SCOPE = "waybill/orders.place"
# Roles people hold (a user pool group each); the storefront's role comes only from its token's shape.
PEOPLE: frozenset[Role] = frozenset(Role) - {Role.STOREFRONT}


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's subject, its roles and tenant claims."""

    sub: str
    roles: frozenset[Role]
    email: str | None = None
    supplier_id: str | None = None
    name: str | None = None
    # A storefront's principal names the customer it acts for on this request (None for people).
    on_behalf_of: str | None = None

    @property
    def customer_id(self) -> str:
        """The customer an order placed by this caller belongs to: the caller, or the storefront's customer."""
        if Role.STOREFRONT in self.roles:
            if not self.on_behalf_of:
                raise ValueError("a storefront acts only on behalf of a named customer")
            return self.on_behalf_of
        return self.sub

    @property
    def is_staff(self) -> bool:
        return bool(self.roles & STAFF_ROLES)

    def has_any(self, roles: frozenset[Role]) -> bool:
        return bool(self.roles & roles)

    @property
    def primary_role(self) -> Role:
        """The role recorded on audit events: the most privileged one the caller holds."""
        for role in (
            Role.ADMIN,
            Role.BUYER,
            Role.CUSTOMER_CARE,
            Role.ACCOUNTING,
            Role.LOGISTICS,
            Role.SUPPLIER,
            Role.CUSTOMER,
            Role.STOREFRONT,
        ):
            if role in self.roles:
                return role
        raise ValueError("principal has no role")


SYSTEM = Principal(sub="system", roles=frozenset({Role.ADMIN}), name="Waybill")


@dataclass(frozen=True)
class ActionRule:
    """An action on an aggregate: the roles that may take it and the statuses it applies in."""

    roles: frozenset[Role]
    from_statuses: frozenset[str]
    description: str = field(default="", compare=False)


def check_rule(rule: ActionRule, *, action: str, noun: str, subject: str, status: str, actor: Principal) -> None:
    """Raise Forbidden if the actor's role may not take the action, InvalidTransition if the
    subject's status does not allow it."""
    if not actor.has_any(rule.roles):
        raise Forbidden(f"your role may not {action} {noun}")
    if status not in rule.from_statuses:
        allowed = ", ".join(sorted(rule.from_statuses))
        raise InvalidTransition(f"{subject} is {status}; {action} needs {allowed}")


def roles(*items: Role) -> frozenset[Role]:
    return frozenset(items)


# Who may do what, by audience: the API checks these before calling a service, and `CAPABILITIES`
# names them for clients (the admin page shows only what the signed-in role may do).
READ_STAFF = STAFF_ROLES
MANAGE_CATALOGUE = roles(Role.BUYER, Role.ADMIN)
MANAGE_CUSTOMERS = roles(Role.CUSTOMER_CARE, Role.ADMIN)
REVIEW_ORDERS = roles(Role.CUSTOMER_CARE, Role.ADMIN)
READ_PAYMENTS = roles(Role.ACCOUNTING, Role.ADMIN)
DECIDE_PAYMENTS = roles(Role.ACCOUNTING)
CANCEL_PURCHASE_ORDERS = roles(Role.BUYER, Role.ADMIN)
MANAGE_WEBHOOKS = roles(Role.ADMIN)
MANAGE_PREFERENCES = roles(Role.ADMIN)
MANAGE_SETTINGS = roles(Role.ADMIN)  # deadlines, thresholds, grace periods (services/tunables.py)
HANDLE_COMPLAINTS = roles(Role.CUSTOMER_CARE, Role.ADMIN)
APPROVE_COMPLAINT_PLANS = roles(Role.ADMIN)
# A parcel's delivery, failed attempt or return recorded by hand when its carrier sends nothing
# (suppliers do it on their own POs through the supplier routes).
RECORD_PARCEL_EVENTS = roles(Role.LOGISTICS, Role.CUSTOMER_CARE, Role.ADMIN)
# Correct an order's shipping address until its deliveries leave (issue 16 item 7).
CORRECT_ADDRESSES = roles(Role.CUSTOMER_CARE, Role.LOGISTICS, Role.ADMIN)
RECORD_PAYMENTS = roles(Role.ACCOUNTING, Role.ADMIN)  # money received offline or in cash, adjustments, retries
REFUND_ORDERS = roles(Role.CUSTOMER_CARE, Role.ACCOUNTING, Role.ADMIN)  # goodwill refunds outside complaints
APPROVE_REFUNDS = roles(Role.ADMIN)  # refunds above the approval threshold
# Placing an order: a customer for themselves, a storefront for the customer it names.
PLACE_ORDERS = roles(Role.CUSTOMER, Role.STOREFRONT)
GIVE_UP_DELIVERIES = roles(Role.LOGISTICS, Role.CUSTOMER_CARE, Role.ADMIN)  # a parcel that will never arrive

CAPABILITIES: dict[str, frozenset[Role]] = {
    "staff": READ_STAFF,  # the staff console at all: orders, campaigns, exceptions, exports, metrics
    "catalogue.manage": MANAGE_CATALOGUE,
    "customers.manage": MANAGE_CUSTOMERS,
    "orders.review": REVIEW_ORDERS,
    "payments.read": READ_PAYMENTS,
    "payments.decide": DECIDE_PAYMENTS,
    "purchase_orders.cancel": CANCEL_PURCHASE_ORDERS,
    "exceptions.handle": READ_STAFF,
    "exports.run": READ_STAFF,
    "webhooks.manage": MANAGE_WEBHOOKS,
    "preferences.manage": MANAGE_PREFERENCES,
    "settings.manage": MANAGE_SETTINGS,
    "complaints.read": READ_STAFF,
    "complaints.handle": HANDLE_COMPLAINTS,
    "complaints.approve": APPROVE_COMPLAINT_PLANS,
    "shipments.record_by_hand": RECORD_PARCEL_EVENTS,
    "orders.correct_address": CORRECT_ADDRESSES,
    "payments.record": RECORD_PAYMENTS,
    "refunds.create": REFUND_ORDERS,
    "refunds.approve": APPROVE_REFUNDS,
    "deliveries.give_up": GIVE_UP_DELIVERIES,
}


def capabilities(actor: Principal) -> list[str]:
    """The capability names the actor's roles grant, in table order."""
    return [name for name, allowed in CAPABILITIES.items() if actor.has_any(allowed)]
