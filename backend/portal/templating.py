"""Jinja2 environment of the public portal: its templates folder, autoescape, date filters.

Every portal page extends `base.html` (mobile-first, no inline scripts: portal.js finds
its elements by id). Times are shown in the deployment's time zone.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from backend.reports.workflow import label

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
STATIC_URL = "/cong-dong/static"
LEAFLET_URL = "/console/static/vendor/leaflet"  # the console's vendored Leaflet 1.9.4

templates = Jinja2Templates(directory=TEMPLATES_DIR)


@pass_context
def local_time(context: Context, value: datetime | None, fmt: str = "%d/%m/%Y") -> str:
    """A UTC timestamp as a local date (dd/mm/yyyy) or with `fmt`."""
    if value is None:
        return ""
    tz = ZoneInfo(context["request"].app.state.settings.timezone)
    return value.astimezone(tz).strftime(fmt)


templates.env.filters.update(local_time=local_time, status_label=label)
templates.env.globals.update(static_url=STATIC_URL, leaflet_url=LEAFLET_URL)
