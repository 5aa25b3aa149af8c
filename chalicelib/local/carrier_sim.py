"""Carrier webhooks as each carrier would send them, for the local demo, the benchmark and tests.

`payload` builds one body in a carrier format (`domain.carrier_formats`) that `parse` reads back
as the given status; `signed_request` signs a body per the Standard Webhooks spec."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.domain.carrier_formats import FORMATS
from chalicelib.domain.shipments import TrackingStatus, utc

from .signing import new_secret, signed_request

__all__ = ["FORMATS", "new_secret", "payload", "signed_request"]

T = TrackingStatus

# What each carrier sends for each status: the inverse of the mappings in carrier_formats.
DHL_SENDS: dict[TrackingStatus, tuple[str, str | None]] = {  # statusCode, statusDetailCode
    T.LABEL_CREATED: ("pre-transit", None),
    T.IN_TRANSIT: ("transit", None),
    T.OUT_FOR_DELIVERY: ("out-for-delivery", None),
    T.ATTEMPTED: ("failure", "delivery-attempted"),
    T.DELIVERED: ("delivered", None),
    T.EXCEPTION: ("failure", None),
    T.RETURNED_TO_SENDER: ("returned", None),
}
UPS_SENDS: dict[TrackingStatus, tuple[str, str]] = {  # activityStatus type, code
    T.LABEL_CREATED: ("M", "MP"),
    T.IN_TRANSIT: ("I", "AR"),
    T.OUT_FOR_DELIVERY: ("I", "OF"),
    T.ATTEMPTED: ("X", "48"),
    T.DELIVERED: ("D", "FS"),
    T.EXCEPTION: ("X", "7E"),
    T.RETURNED_TO_SENDER: ("RS", "RS"),
}


def _codes(status: TrackingStatus | str, sends: dict[TrackingStatus, Any]) -> tuple[str, str | None]:
    """A TrackingStatus -> the carrier's codes for it; a plain str is the carrier code itself ("a/b" or "a")."""
    if isinstance(status, TrackingStatus):
        code, detail = sends[status]
        return code, detail
    code, _, detail = status.partition("/")
    return code, detail or None


def payload(
    format: str,
    tracking_number: str,
    status: TrackingStatus | str,
    occurred_at: datetime,
    *,
    description: str = "",
    location: str | None = None,
) -> dict[str, Any]:
    """One webhook body reporting one event. A TrackingStatus is sent as the carrier's code for it;
    a plain str is sent verbatim as the carrier's own code (parse reports it as `carrier_code`; pick
    one the format does not map to simulate an unmapped event). A naive `occurred_at` is UTC; UPS
    carries whole seconds only."""
    at = utc(occurred_at)
    if format == "generic":
        event: dict[str, Any] = {"status": str(status), "occurred_at": at.isoformat().replace("+00:00", "Z")}
        if description:
            event["description"] = description
        if location:
            event["location"] = location
        return {"tracking_number": tracking_number, "events": [event]}
    if format == "dhl":
        code, detail = _codes(status, DHL_SENDS)
        event = {
            "timestamp": at.isoformat().replace("+00:00", "Z"),
            "statusCode": code,
            "status": description,
            "description": description,
        }
        if detail:
            event["statusDetailCode"] = detail
        if location:
            locality, _, country = location.rpartition(", ") if ", " in location else (location, "", "")
            address = {"addressLocality": locality, **({"countryCode": country} if country else {})}
            event["location"] = {"address": address}
        return {"shipments": [{"id": tracking_number, "events": [event]}]}
    if format == "ups":
        kind, ups_code = _codes(status, UPS_SENDS)
        body: dict[str, Any] = {
            "trackingNumber": tracking_number,
            "gmtActivityDate": at.strftime("%Y%m%d"),
            "gmtActivityTime": at.strftime("%H%M%S"),
            "activityStatus": {"type": kind, "code": ups_code or "", "description": description},
        }
        if location:
            parts = location.rsplit(", ", 2)
            keys = {1: ("city",), 2: ("city", "country"), 3: ("city", "stateProvince", "country")}[len(parts)]
            body["activityLocation"] = dict(zip(keys, parts, strict=True))
        return body
    raise ValueError(f"unknown carrier format {format!r}; known: {', '.join(FORMATS)}")
