"""The HTTP views (chalicelib/api/views) against the service results they are built from: where a view
repeats a result's fields (picked by name, or splatted from a dataclass), the two field lists must agree,
so a field added on one side and not the other fails here rather than as a 500 or a silently missing
field. Also: every model a route names exists in exactly one audience module."""

from __future__ import annotations

import dataclasses

import pytest
from pydantic import BaseModel

import app  # noqa: F401  (registers every route)
from chalicelib.adapters.files import Upload
from chalicelib.api.http import REGISTRY, model
from chalicelib.api.views import common, complaints, customer, search, settings, staff, storefront, supplier, webhooks, work
from chalicelib.domain.campaigns import Product
from chalicelib.domain.exceptions import ExceptionRecord
from chalicelib.domain.metrics import CampaignSummary
from chalicelib.domain.orders import OrderLine
from chalicelib.services.complaints import SupplierChargeBacks
from chalicelib.services.dashboard import SupplierOnTime
from chalicelib.services.orders import OrderSummary
from chalicelib.services.packing import PackingFile
from chalicelib.services.supplier_portal import CampaignFile, Invoice, POSummary, Proposal, Shipment, SupplierCampaign

VIEW_MODULES = (common, customer, supplier, staff, complaints, webhooks, storefront, settings, work, search)


def fields_of(view: type[BaseModel]) -> set[str]:
    return set(view.model_fields)


def attributes_of(source: type) -> set[str]:
    """A dataclass's fields and properties: what `View.pick` can read from it."""
    props = {name for klass in source.__mro__ for name, value in vars(klass).items() if isinstance(value, property)}
    return {f.name for f in dataclasses.fields(source)} | props


# (view, the result it repeats, fields only the view has): the view shows exactly the result's fields.
SAME_FIELDS = [
    (common.InvoiceView, Invoice, set()),
    (staff.StaffInvoiceView, Invoice, {"download_url"}),
    (common.PaymentProposalView, Proposal, set()),
    (common.POShipmentView, Shipment, set()),
    (common.PresignedUploadView, Upload, set()),
    (common.PackingListFileView, PackingFile, set()),
    (supplier.SupplierCampaignView, SupplierCampaign, set()),
    (supplier.CampaignFileView, CampaignFile, set()),
    (staff.OrderSummaryView, OrderSummary, {"reference"}),
    (complaints.SupplierChargeBackView, SupplierChargeBacks, set()),
]


@pytest.mark.parametrize(("view", "source", "own"), SAME_FIELDS, ids=lambda x: getattr(x, "__name__", ""))
def test_a_view_built_from_a_service_result_has_exactly_its_fields(view, source, own):
    assert fields_of(view) - own == {f.name for f in dataclasses.fields(source)}


# (view, the result it picks from, fields the view fills itself): every other field is read from the result.
PICKED_FIELDS = [
    (staff.ExceptionView, ExceptionRecord, staff.EXCEPTION_VIEW_OWN),
    (staff.CampaignSummaryView, CampaignSummary, set()),
    (staff.SupplierOnTimeView, SupplierOnTime, set()),
    (staff.StaffPOSummaryView, POSummary, set()),
    (staff.ProductView, Product, set()),
    (common.OrderLineView, OrderLine, set()),
]


@pytest.mark.parametrize(("view", "source", "own"), PICKED_FIELDS, ids=lambda x: getattr(x, "__name__", ""))
def test_every_field_a_view_picks_from_a_result_exists_on_it(view, source, own):
    assert fields_of(view) - own <= attributes_of(source)
    assert own <= fields_of(view)  # the fields the view fills itself are still its fields


def test_the_supplier_po_summary_is_the_service_summary_less_the_suppliers_own_id():
    assert fields_of(supplier.SupplierPOSummaryView) == {f.name for f in dataclasses.fields(POSummary)} - {"supplier_id"}


def test_the_supplier_po_detail_shows_the_summary_and_its_parts():
    detail = fields_of(supplier.SupplierPODetailView)
    assert fields_of(supplier.SupplierPOSummaryView) < detail
    assert {
        "lines",
        "invoices",
        "proposals",
        "shipments",
        "shipments_cursor",
        "charge_backs",
        "charge_back_cents",
    } == detail - fields_of(supplier.SupplierPOSummaryView)


def test_a_view_picked_from_a_result_carries_the_results_values():
    summary = CampaignSummary(orders_placed=3, orders_cancelled=1, revenue_placed_cents=900, cancelled_cents=300)
    view = staff.CampaignSummaryView.of(summary)
    assert (view.orders, view.ordered_cents, view.margin_provisional) == (
        summary.orders,
        summary.ordered_cents,
        summary.margin_provisional,
    )


def test_every_model_a_route_names_is_defined_in_exactly_one_view_module():
    named = {n for spec in REGISTRY for n in (spec.body, spec.query, spec.response) if n}
    for name in named:
        defined_in = [m.__name__ for m in VIEW_MODULES if getattr(vars(m).get(name), "__module__", None) == m.__name__]
        assert defined_in == [model(name).__module__], name


def test_an_unknown_model_name_is_an_error_not_a_silent_none():
    with pytest.raises(LookupError):
        model("NoSuchView")
