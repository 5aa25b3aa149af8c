"""`GET /me` is the admin page's only source of what a role may do and of the words no request
schema enumerates: for every role its capabilities are exactly domain/permissions.py's, and staff
get the vocabularies the domain defines."""

from __future__ import annotations

import pytest

from chalicelib.domain.complaints import ComplaintStatus
from chalicelib.domain.permissions import CAPABILITIES, PEOPLE, STAFF_ROLES, Role
from chalicelib.domain.shipments import ShipmentStatus
from chalicelib.domain.webhooks import OFFERED_EVENT_TYPES
from tests.aws import headers


# every role a person holds (a group each); the storefront, a machine, has no /me (tests/api/test_storefront.py)
@pytest.mark.parametrize("role", sorted(PEOPLE), ids=lambda r: r.value)
def test_me_lists_exactly_the_capabilities_the_domain_grants_the_role(api, role: Role):
    claims = {"supplier_id": "acme"} if role is Role.SUPPLIER else {}
    status, me = api.get("/me", headers(f"user-{role.value}", role.value, **claims))
    assert status == 200
    assert me["capabilities"] == [name for name, allowed in CAPABILITIES.items() if role in allowed]


def test_no_capability_is_granted_to_the_storefront():
    assert not any(Role.STOREFRONT in allowed for allowed in CAPABILITIES.values())


def test_staff_get_the_vocabularies_of_the_domain_and_others_get_none(api):
    for role in STAFF_ROLES:
        _, me = api.get("/me", headers(f"user-{role.value}", role.value))
        assert me["vocabularies"] == {
            "webhook_event_types": list(OFFERED_EVENT_TYPES),
            "complaint_statuses": [s.value for s in ComplaintStatus],
            "shipment_statuses": [s.value for s in ShipmentStatus],
        }
    _, me = api.get("/me", headers("cust-1", "customer"))
    assert me["vocabularies"] == {}


def test_the_admin_page_keeps_no_copy_of_role_capabilities_or_of_the_api_vocabularies():
    from pathlib import Path

    admin = Path(__file__).resolve().parents[2] / "admin" / "js"
    assert not any("ROLE_CAPABILITIES" in p.read_text() for p in admin.rglob("*.js"))
    constants = (admin / "constants.js").read_text() + (admin / "screens" / "order.js").read_text()
    for word in ("partially_dispatched", "payment_proposal", "return_for_refund", "order.out_for_delivery", "adjustment"):
        assert f"'{word}'" not in constants, word  # filled from /openapi.json and /me at start
