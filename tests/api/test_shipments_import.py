"""Parcels recorded from a CSV file: every row is checked before anything is recorded, problems come
back per row, and the same file imported again records nothing twice."""

from __future__ import annotations

import pytest

from chalicelib.domain.addresses import order_reference
from chalicelib.domain.purchase_orders import Stage
from tests.api import po_support
from tests.api.po_support import ACME, BOLT, accept_deliveries, make_po
from tests.api.support import assert_error, place
from tests.aws import BOB, live_campaign

aws, sfn_calls = po_support.aws, po_support.sfn_calls  # fixtures

PO = "/supplier/purchase-orders"


@pytest.fixture
def shipping(api):
    """A PO in its shipment stage with three accepted orders to ship."""
    campaign = live_campaign(api)
    orders = [
        place(api, campaign["id"], ("MUG-1", 1))["id"],
        place(api, campaign["id"], ("MUG-2", 1), who=BOB)["id"],
        place(api, campaign["id"], ("MUG-1", 2))["id"],
    ]
    po = make_po(campaign["id"], stage=Stage.SHIPMENT, accepted=True, orders_to_ship=3)
    accept_deliveries("acme", *orders)
    return {"campaign": campaign, "po": po, "orders": orders}


def imported(api, po: str, text: str, who=ACME) -> tuple[int, dict]:
    return api.post(f"{PO}/{po}/shipments/import", who, {"csv": text})


def recorded_parcels(api, po: str) -> list[str]:
    return sorted(s["tracking_number"] for s in api.get(f"{PO}/{po}", ACME)[1]["shipments"])


def test_a_file_with_any_bad_row_records_nothing_and_says_what_is_wrong_per_row(api, shipping, sfn_calls):
    a, b, c = shipping["orders"]
    text = "\n".join(
        [
            "order_ref,carrier,tracking_number",
            f"{order_reference(a)},dhl,JD000100",  # 2: fine
            "WB-ZZZZ-ZZZZ,dhl,JD000100",  # 3: not an order of this PO
            f"{order_reference(b)},pigeon,JD000200",  # 4: unknown carrier
            f"{order_reference(c)},ups,no!",  # 5: tracking number form
            f"{order_reference(a)},dhl,JD000100",  # 6: repeats row 2
        ]
    )
    error = assert_error(*imported(api, shipping["po"], text), 422, "invalid_shipments_file")
    assert [(d["row"], d["field"]) for d in error["details"]] == [
        (3, "order_ref"),
        (4, "carrier"),
        (5, "tracking_number"),
        (6, "row"),
    ]
    assert "repeats row 2" in error["details"][-1]["message"]
    assert recorded_parcels(api, shipping["po"]) == [] and sfn_calls == []


def test_a_good_file_records_each_parcel_and_the_same_file_again_records_nothing(api, shipping, sfn_calls):
    a, b, c = shipping["orders"]
    text = (
        "order_ref,order_id,carrier,tracking_number\n"
        f"{order_reference(a).lower()},,DHL,JD000100\n"  # a reference as typed: any case
        f",{c},dhl,JD000100\n"  # the same parcel, by order id
        f",{b},ups,1Z999AA10123456784\n"
    )
    status, body = imported(api, shipping["po"], text)
    assert status == 200, body
    assert body["recorded"] == 2 and body["already_recorded"] == []
    assert sorted((s["tracking_number"], tuple(sorted(s["order_ids"]))) for s in body["shipments"]) == [
        ("1Z999AA10123456784", (b,)),
        ("JD000100", tuple(sorted([a, c]))),
    ]
    assert sfn_calls == [("tok", {"decision": "done", "stage": "shipment"})]  # every order left: the stage ends once

    status, again = imported(api, shipping["po"], text)
    assert status == 200, again
    assert again["recorded"] == 0 and again["shipments"] == []
    assert sorted(again["already_recorded"]) == ["dhl#JD000100", "ups#1Z999AA10123456784"]
    assert recorded_parcels(api, shipping["po"]) == ["1Z999AA10123456784", "JD000100"]
    assert len(sfn_calls) == 1


def test_the_file_needs_its_columns_and_some_rows(api, shipping):
    error = assert_error(*imported(api, shipping["po"], "order,carrier\nx,dhl\n"), 422, "invalid_shipments_file")
    assert {d["message"] for d in error["details"]} == {"missing column order_ref or order_id", "missing column tracking_number"}
    error = assert_error(*imported(api, shipping["po"], "order_id,carrier,tracking_number\n"), 422, "invalid_shipments_file")
    assert error["details"] == [{"row": 1, "field": "file", "message": "no rows after the header"}]
    assert_error(*api.post(f"{PO}/{shipping['po']}/shipments/import", ACME, {"csv": ""}), 422, "validation_error")


def test_too_many_rows_are_refused(api, shipping):
    a = shipping["orders"][0]
    rows = "".join(f"{a},dhl,JD{n:06d}\n" for n in range(501))
    error = assert_error(*imported(api, shipping["po"], "order_id,carrier,tracking_number\n" + rows), 422)
    assert error["details"][0]["message"] == "at most 500 rows per file"


def test_another_suppliers_po_is_not_found(api, shipping):
    text = f"order_id,carrier,tracking_number\n{shipping['orders'][0]},dhl,JD000100\n"
    assert_error(*imported(api, shipping["po"], text, who=BOLT), 404, "not_found")
