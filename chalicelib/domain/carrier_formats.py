"""Carrier webhook payload formats: one webhook body in, normalised `CarrierEvent`s out.

Every event keeps the carrier's own code (`carrier_code`) and, when it is a code we map, the
normalised `TrackingStatus`; an unmapped code gives `status=None` and the event is still kept.
Timestamps become timezone-aware UTC datetimes; a timestamp without a UTC offset is refused
(the ordering rule in `shipments.apply_event` cannot work with local times of unknown zone).

A malformed body raises `RuleViolation("invalid_carrier_payload", ...)` listing every problem
found in `details` (`{"field": "<json path>", "message": ...}`; `$` is the body itself). A body
carries 1 to `MAX_EVENTS` events. An unknown format name is a programming error (`ValueError`).

Formats (`Carrier.format` in `domain.shipments`):

generic
    ``{"tracking_number": "ABC123", "events": [{"status": "in_transit", "code": "ARR",
    "occurred_at": "2026-11-23T14:25:00+02:00", "description": "...", "location": "..."}]}``.
    `status` is a `TrackingStatus` value (anything else is unmapped); `code` (optional, the
    carrier code) defaults to `status`; `description` and `location` are optional.

dhl
    *Modelled on* DHL's unified shipment-tracking push payload (not a certified copy):
    ``{"shipments": [{"id": "<tracking number>", "events": [{"timestamp": "<ISO 8601>",
    "statusCode": "transit", "statusDetailCode": "<optional>", "status": "<short text>",
    "description": "<text>", "location": {"address": {"addressLocality": "Berlin",
    "countryCode": "DE"}}}]}]}``; several shipments per body. `statusCode` maps by `DHL_STATUS`,
    a (statusCode, statusDetailCode) pair in `DHL_DETAIL` overrides it; the carrier code is
    ``statusCode`` or ``statusCode/statusDetailCode``. The description is `description`, else
    `status`; the location is "locality, country".

ups
    *Modelled on* UPS Track Alert (not a certified copy); ONE event per body:
    ``{"trackingNumber": "1Z...", "gmtActivityDate": "20261123", "gmtActivityTime": "142500",
    "activityLocation": {"city": "...", "stateProvince": "...", "country": "..."},
    "activityStatus": {"type": "I", "code": "OF", "description": "..."}}``. The time is the GMT
    date and time. `type` maps by `UPS_TYPE`, a (type, code) pair in `UPS_CODE` overrides it;
    the carrier code is ``type/code`` (``type`` when the code is absent or empty).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .errors import RuleViolation
from .shipments import CarrierEvent, TrackingStatus

T = TrackingStatus

FORMATS: tuple[str, ...] = ("generic", "dhl", "ups")
MAX_EVENTS = 100  # per body (all DHL shipments together)

GENERIC_STATUS: dict[str, TrackingStatus] = {s.value: s for s in TrackingStatus}

DHL_STATUS: dict[str, TrackingStatus] = {
    "pre-transit": T.LABEL_CREATED,
    "transit": T.IN_TRANSIT,
    "out-for-delivery": T.OUT_FOR_DELIVERY,
    "delivered": T.DELIVERED,
    "failure": T.EXCEPTION,
    "returned": T.RETURNED_TO_SENDER,
}
DHL_DETAIL: dict[tuple[str, str], TrackingStatus] = {
    ("failure", "delivery-attempted"): T.ATTEMPTED,
    ("transit", "delivery-attempted"): T.ATTEMPTED,
}

UPS_TYPE: dict[str, TrackingStatus] = {
    "M": T.LABEL_CREATED,
    "P": T.IN_TRANSIT,
    "I": T.IN_TRANSIT,
    "O": T.OUT_FOR_DELIVERY,
    "D": T.DELIVERED,
    "X": T.EXCEPTION,
    "RS": T.RETURNED_TO_SENDER,
}
UPS_CODE: dict[tuple[str, str], TrackingStatus] = {
    ("I", "OT"): T.OUT_FOR_DELIVERY,
    ("I", "OF"): T.OUT_FOR_DELIVERY,
    ("X", "48"): T.ATTEMPTED,
    ("X", "49"): T.ATTEMPTED,
}


def _at(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path and path != "$" else key


def _joined(*parts: str | None) -> str | None:
    return ", ".join(p for p in parts if p) or None


class _Check:
    """Reads a JSON body, collecting every problem instead of stopping at the first."""

    def __init__(self) -> None:
        self.details: list[dict[str, str]] = []
        self.events = 0  # counted across the body's event lists

    def problem(self, field: str, message: str) -> None:
        self.details.append({"field": field, "message": message})

    def obj(self, value: Any, path: str, *, required: bool = True) -> dict[str, Any] | None:
        if value is None:
            if required:
                self.problem(path, "is required")
            return None
        if not isinstance(value, dict):
            self.problem(path, "must be an object")
            return None
        return value

    def text(self, parent: dict[str, Any], key: str, path: str, *, required: bool = True) -> str | None:
        value, field = parent.get(key), _at(path, key)
        if value is None:
            if required:
                self.problem(field, "is required")
            return None
        if not isinstance(value, str):
            self.problem(field, "must be a string")
            return None
        if required and not value.strip():
            self.problem(field, "must not be empty")
            return None
        return value.strip()

    def items(self, parent: dict[str, Any], key: str, path: str, *, of: str = "event") -> list[Any]:
        """A non-empty list; event lists count towards MAX_EVENTS, past which they read as [] (said once)."""
        value, field = parent.get(key), _at(path, key)
        if value is None:
            self.problem(field, "is required")
        elif not isinstance(value, list):
            self.problem(field, "must be a list")
        elif not value:
            self.problem(field, f"must hold at least one {of}")
        elif of != "event":
            return value
        else:
            before, self.events = self.events, self.events + len(value)
            if self.events <= MAX_EVENTS:
                return value
            if before <= MAX_EVENTS:
                self.problem(field, f"more than {MAX_EVENTS} events in one body")
        return []

    def iso(self, parent: dict[str, Any], key: str, path: str) -> datetime | None:
        text = self.text(parent, key, path)
        if text is None:
            return None
        try:
            at = datetime.fromisoformat(text)
        except ValueError:
            self.problem(_at(path, key), f"{text!r} is not an ISO 8601 timestamp")
            return None
        if at.tzinfo is None:
            self.problem(_at(path, key), f"{text!r} has no UTC offset (add Z or +hh:mm)")
            return None
        return at.astimezone(UTC)


def _generic(body: dict[str, Any], check: _Check) -> list[CarrierEvent]:
    number = check.text(body, "tracking_number", "$")
    events = []
    for i, raw in enumerate(check.items(body, "events", "$")):
        path = _at("events", i)
        if (event := check.obj(raw, path)) is None:
            continue
        status = check.text(event, "status", path)
        code = check.text(event, "code", path, required=False)
        at = check.iso(event, "occurred_at", path)
        description = check.text(event, "description", path, required=False)
        location = check.text(event, "location", path, required=False)
        if number and status and at:
            events.append(
                CarrierEvent(number, code or status, GENERIC_STATUS.get(status), at, description or "", location or None)
            )
    return events


def _dhl_location(event: dict[str, Any], path: str, check: _Check) -> str | None:
    path = _at(path, "location")
    if (location := check.obj(event.get("location"), path, required=False)) is None:
        return None
    path = _at(path, "address")
    if (address := check.obj(location.get("address"), path, required=False)) is None:
        return None
    return _joined(
        check.text(address, "addressLocality", path, required=False), check.text(address, "countryCode", path, required=False)
    )


def _dhl(body: dict[str, Any], check: _Check) -> list[CarrierEvent]:
    events = []
    for s, raw_shipment in enumerate(check.items(body, "shipments", "$", of="shipment")):
        spath = _at("shipments", s)
        if (shipment := check.obj(raw_shipment, spath)) is None:
            continue
        number = check.text(shipment, "id", spath)
        for i, raw in enumerate(check.items(shipment, "events", spath)):
            path = _at(_at(spath, "events"), i)
            if (event := check.obj(raw, path)) is None:
                continue
            at = check.iso(event, "timestamp", path)
            code = check.text(event, "statusCode", path)
            detail = check.text(event, "statusDetailCode", path, required=False)
            short = check.text(event, "status", path, required=False)
            description = check.text(event, "description", path, required=False)
            location = _dhl_location(event, path, check)
            if number and at and code:
                status = DHL_DETAIL.get((code, detail or "")) or DHL_STATUS.get(code)
                events.append(
                    CarrierEvent(number, f"{code}/{detail}" if detail else code, status, at, description or short or "", location)
                )
    return events


def _ups_time(body: dict[str, Any], check: _Check) -> datetime | None:
    date, time = check.text(body, "gmtActivityDate", "$"), check.text(body, "gmtActivityTime", "$")
    if date is not None and not (len(date) == 8 and date.isdigit()):
        check.problem("gmtActivityDate", f"{date!r} is not a date as YYYYMMDD")
        date = None
    if time is not None and not (len(time) == 6 and time.isdigit()):
        check.problem("gmtActivityTime", f"{time!r} is not a time as HHMMSS")
        time = None
    if date is None or time is None:
        return None
    try:
        return datetime.strptime(date + time, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        check.problem("gmtActivityDate", f"{date} {time} is not a valid date and time")
        return None


def _ups(body: dict[str, Any], check: _Check) -> list[CarrierEvent]:
    number = check.text(body, "trackingNumber", "$")
    at = _ups_time(body, check)
    location = None
    if (place := check.obj(body.get("activityLocation"), "activityLocation", required=False)) is not None:
        location = _joined(
            *(check.text(place, key, "activityLocation", required=False) for key in ("city", "stateProvince", "country"))
        )
    kind = code = description = None
    if (activity := check.obj(body.get("activityStatus"), "activityStatus")) is not None:
        kind = check.text(activity, "type", "activityStatus")
        code = check.text(activity, "code", "activityStatus", required=False)
        description = check.text(activity, "description", "activityStatus", required=False)
    if not (number and at and kind):
        return []
    status = UPS_CODE.get((kind, code or "")) or UPS_TYPE.get(kind)
    return [CarrierEvent(number, f"{kind}/{code}" if code else kind, status, at, description or "", location)]


_PARSERS: dict[str, Callable[[dict[str, Any], _Check], list[CarrierEvent]]] = {
    "generic": _generic,
    "dhl": _dhl,
    "ups": _ups,
}


def parse(format: str, body: dict[str, Any]) -> list[CarrierEvent]:
    """The events in one webhook body of the given format (see the module docstring)."""
    try:
        parser = _PARSERS[format]
    except KeyError:
        raise ValueError(f"unknown carrier format {format!r}; known: {', '.join(FORMATS)}") from None
    check = _Check()
    events = parser(body, check) if check.obj(body, "$") is not None else []
    if check.details:
        shown = "; ".join(f"{d['field']}: {d['message']}" for d in check.details[:3])
        more = f" (and {len(check.details) - 3} more)" if len(check.details) > 3 else ""
        raise RuleViolation(
            "invalid_carrier_payload", f"malformed {format} carrier payload: {shown}{more}", details=check.details
        )
    return events
