"""Rendering Open311 answers as JSON (top-level arrays) or XML (the spec's element names).

XML: `<services><service>…`, `<service_requests><request>…`, `<service_definition>`,
`<errors><error><code>…`. Empty values are empty elements, booleans `true`/`false`,
datetimes ISO 8601 with their offset. Characters XML 1.0 cannot carry are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any
from xml.etree import ElementTree as ET

from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from backend.open311.schemas import Error

XML_TYPE = "application/xml; charset=utf-8"
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class Format(StrEnum):
    JSON = "json"
    XML = "xml"


def format_of(path: str) -> Format:
    """The answer format a path asks for (`….xml` → XML, anything else JSON)."""
    return Format.XML if path.endswith(".xml") else Format.JSON


def render(
    items: Sequence[BaseModel], *, fmt: Format, root: str, item: str, status: int = 200
) -> Response:
    if fmt == Format.JSON:
        return JSONResponse([i.model_dump(mode="json") for i in items], status_code=status)
    element = ET.Element(root)
    for entry in items:
        _fill(ET.SubElement(element, item), entry.model_dump(mode="json"))
    return _xml(element, status)


def render_one(obj: BaseModel, *, fmt: Format, root: str) -> Response:
    """A single object (the service definition is not wrapped in an array)."""
    if fmt == Format.JSON:
        return JSONResponse(obj.model_dump(mode="json"))
    element = ET.Element(root)
    _fill(element, obj.model_dump(mode="json"))
    return _xml(element, 200)


def error(fmt: Format, status: int, description: str) -> Response:
    return render(
        [Error(code=status, description=description)],
        fmt=fmt,
        root="errors",
        item="error",
        status=status,
    )


def _fill(element: ET.Element, data: dict[str, Any]) -> None:
    for key, value in data.items():
        child = ET.SubElement(element, key)
        if isinstance(value, list):
            singular = key[:-1] if key.endswith("s") else key
            for entry in value:
                _fill(ET.SubElement(child, singular), entry)
        else:
            child.text = _text(value)


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return _NOT_XML.sub("", str(value))


def _xml(element: ET.Element, status: int) -> Response:
    body = ET.tostring(element, encoding="utf-8", xml_declaration=True)
    return Response(body, status_code=status, media_type=XML_TYPE)
