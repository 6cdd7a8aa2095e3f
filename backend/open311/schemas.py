"""Open311 GeoReport v2 response shapes (JSON arrays at the top level; XML in `formats`).

Field names follow the specification exactly (`long`, not `lon`). Our extensions are
marked: `detailed_status` (the workflow status id) and nothing else is added to the
spec's request object. Reporter contact details have no field here on purpose: they
are never part of a response.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, RootModel


class Service(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool = False
    type: Literal["realtime", "batch", "blackbox"] = "realtime"
    keywords: str = ""
    group: str


class Attribute(BaseModel):
    """Kept for the definition's shape: this deployment's services have no attributes."""

    variable: bool
    code: str
    datatype: str
    required: bool
    datatype_description: str | None = None
    order: int
    description: str


class ServiceDefinition(BaseModel):
    service_code: str
    attributes: list[Attribute] = []


class ServiceRequest(BaseModel):
    service_request_id: str
    status: Literal["open", "closed"]
    status_notes: str | None = None
    detailed_status: str  # extension: the workflow status id (received, in_progress, ...)
    service_name: str | None = None
    service_code: str | None = None
    description: str | None = None
    agency_responsible: str | None = None
    service_notice: str | None = None
    requested_datetime: datetime
    updated_datetime: datetime
    expected_datetime: datetime | None = None
    address: str | None = None
    address_id: str | None = None
    zipcode: str | None = None
    lat: float | None = None
    long: float | None = None
    media_url: str | None = None


class RequestCreated(BaseModel):
    service_request_id: str | None
    token: str
    service_notice: str | None = None
    account_id: str | None = None


class TokenFound(BaseModel):
    service_request_id: str
    token: str


class Error(BaseModel):
    code: int
    description: str


class Services(RootModel[list[Service]]):
    pass


class ServiceRequests(RootModel[list[ServiceRequest]]):
    pass


class Created(RootModel[list[RequestCreated]]):
    pass


class Tokens(RootModel[list[TokenFound]]):
    pass


class Errors(RootModel[list[Error]]):
    pass
