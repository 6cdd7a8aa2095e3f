"""HTTP side of Open311 GeoReport v2 under /open311/v2/ (JSON or XML by the path's suffix).

Every refusal is answered in the spec's error format (`[{"code", "description"}]` or
`<errors>`), including FastAPI's own validation errors: `Open311Route` catches them
for this router only. Handlers are plain functions (run in the thread pool): the
NLU's work and the media URL's DNS lookup must not block the event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute

from backend.db import unit_of_work, utcnow
from backend.deps import Chat, SessionFactory
from backend.errors import DomainError
from backend.open311 import intake, service
from backend.open311.formats import Format, error, format_of, render, render_one
from backend.open311.schemas import (
    Created,
    Errors,
    ServiceDefinition,
    ServiceRequests,
    Services,
    Tokens,
)
from backend.open311.ssrf import Resolver, system_resolver
from backend.settings import Settings


class Open311Route(APIRoute):
    """Domain and validation errors become spec errors in the requested format."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            fmt = format_of(request.url.path)
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return error(fmt, 400, _describe(exc))
            except DomainError as exc:
                return error(fmt, exc.status_code, exc.message)

        return run


def _describe(exc: RequestValidationError) -> str:
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
    return f"{where}: {first.get('msg', 'invalid')}"


router = APIRouter(prefix="/open311/v2", tags=["open311"], route_class=Open311Route)

XML = {"application/xml": {"schema": {"type": "string"}}}


def _responses(model: type, *errors: int) -> dict[int | str, dict[str, Any]]:
    documented: dict[int | str, dict[str, Any]] = {200: {"model": model, "content": XML}}
    for code in (400, *errors):
        documented[code] = {"model": Errors, "content": XML}
    # Any refusal, validation included, is a spec error (this also keeps FastAPI from
    # documenting a 422 the Open311 routes never answer).
    documented["4XX"] = {"model": Errors, "content": XML, "description": "Open311 error"}
    return documented


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _resolver(request: Request) -> Resolver:
    resolver: Resolver = getattr(request.app.state, "open311_resolver", system_resolver)
    return resolver


SettingsDep = Annotated[Settings, Depends(_settings)]
Jurisdiction = Annotated[str | None, Query(max_length=64)]


@router.get("/services.{fmt}", responses=_responses(Services))
def list_services(
    fmt: Format, settings: SettingsDep, jurisdiction_id: Jurisdiction = None
) -> Response:
    """The deployment's categories as Open311 services."""
    service.check_jurisdiction(jurisdiction_id, settings)
    return render(service.services(settings), fmt=fmt, root="services", item="service")


@router.get("/services/{service_code}.{fmt}", responses=_responses(ServiceDefinition, 404))
def service_definition(
    service_code: str, fmt: Format, settings: SettingsDep, jurisdiction_id: Jurisdiction = None
) -> Response:
    """A service's definition (no extra attributes in this deployment); 404 if unknown."""
    service.check_jurisdiction(jurisdiction_id, settings)
    found = service.definition(settings, code=service_code)
    return render_one(found, fmt=fmt, root="service_definition")


@router.get("/requests.{fmt}", responses=_responses(ServiceRequests))
def list_requests(
    fmt: Format,
    settings: SettingsDep,
    sessions: SessionFactory,
    jurisdiction_id: Jurisdiction = None,
    service_request_id: Annotated[str | None, Query(description="comma-separated ids")] = None,
    service_code: str | None = None,
    status: Annotated[str | None, Query(pattern="^(open|closed)$")] = None,
    start_date: Annotated[str | None, Query(description="W3C datetime")] = None,
    end_date: Annotated[str | None, Query(description="W3C datetime")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=service.MAX_PAGE_SIZE)] = service.MAX_PAGE_SIZE,
) -> Response:
    """Requests of the last 90 days by default, newest first (`page`/`page_size`: extension)."""
    service.check_jurisdiction(jurisdiction_id, settings)
    tz = ZoneInfo(settings.timezone)
    query = service.RequestQuery(
        ids=service.parse_ids(service_request_id),
        service_code=service_code,
        status=status,
        start=service.parse_datetime(start_date, name="start_date", tz=tz),
        end=service.parse_datetime(end_date, name="end_date", tz=tz),
        page=page,
        page_size=page_size,
    )
    with sessions() as session:
        found = service.find_requests(session, query=query, settings=settings, now=utcnow())
    return render(found, fmt=fmt, root="service_requests", item="request")


@router.get("/requests/{service_request_id}.{fmt}", responses=_responses(ServiceRequests, 404))
def get_request(
    service_request_id: str,
    fmt: Format,
    settings: SettingsDep,
    sessions: SessionFactory,
    jurisdiction_id: Jurisdiction = None,
) -> Response:
    """One request, as a one-element list (as the spec has it)."""
    service.check_jurisdiction(jurisdiction_id, settings)
    with sessions() as session:
        found = service.get_request(session, code=service_request_id, settings=settings)
    return render([found], fmt=fmt, root="service_requests", item="request")


@router.get("/tokens/{token}.{fmt}", responses=_responses(Tokens, 404))
def get_token(
    token: str,
    fmt: Format,
    settings: SettingsDep,
    sessions: SessionFactory,
    jurisdiction_id: Jurisdiction = None,
) -> Response:
    """The request id a token from POST became."""
    service.check_jurisdiction(jurisdiction_id, settings)
    with sessions() as session:
        found = service.find_token(session, token=token)
    return render([found], fmt=fmt, root="service_requests", item="request")


Field = Annotated[str | None, Form()]


@router.post("/requests.{fmt}", responses=_responses(Created, 403, 429))
def create_request(
    fmt: Format,
    settings: SettingsDep,
    sessions: SessionFactory,
    chat: Chat,
    resolver: Annotated[Resolver, Depends(_resolver)],
    description: Annotated[str, Form(description="the report (required)")],
    api_key: Field = None,
    jurisdiction_id: Field = None,
    service_code: Field = None,
    lat: Annotated[str | None, Form(description="latitude, decimal degrees (WGS84)")] = None,
    long: Annotated[str | None, Form(description="longitude, decimal degrees (WGS84)")] = None,
    address_string: Field = None,
    address_id: Field = None,
    media_url: Field = None,
    email: Field = None,
    device_id: Field = None,
    account_id: Field = None,
    first_name: Field = None,
    last_name: Field = None,
    phone: Field = None,
    public_consent: Annotated[
        str | None,
        Form(
            description="extension: true if the citizen agrees that the description and "
            "photo may be published once answered (never their name or contact)"
        ),
    ] = None,
) -> Response:
    """Submit a report (form-encoded, `api_key` required). Nothing is stored when refused."""
    form = intake.Submission(**{k: v for k, v in locals().items() if k in _FORM_FIELDS})
    with unit_of_work(sessions) as session:
        created = intake.submit(
            session, form=form, nlu=chat.nlu, settings=settings, resolver=resolver, now=utcnow()
        )
    return render([created], fmt=fmt, root="service_requests", item="request")


_FORM_FIELDS = frozenset(intake.Submission.__dataclass_fields__)
