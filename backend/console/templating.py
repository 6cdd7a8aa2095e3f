"""Jinja2 environment of the staff console: templates folder, Vietnamese filters, autoescape.

Every console page extends `base.html`; filters here format what staff read
(local times, status and role labels, masked phone numbers).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from backend.logs import mask_pii
from backend.reports.workflow import ACTION_LABELS, ROLE_LABELS, Action, Role, label

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

templates = Jinja2Templates(directory=TEMPLATES_DIR)


@pass_context
def local_time(context: Context, value: datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """A UTC timestamp in the deployment's time zone (dd/mm/yyyy hh:mm)."""
    if value is None:
        return ""
    tz = ZoneInfo(context["request"].app.state.settings.timezone)  # ZoneInfo caches zones
    return value.astimezone(tz).strftime(fmt)


def mask_phone(value: str | None) -> str:
    """+84912345678 → +84 91•••••78: enough to recognise, not enough to call."""
    if not value:
        return ""
    return value[:5] + "•" * max(len(value) - 7, 0) + value[-2:] if len(value) > 7 else "•••"


def role_label(value: str) -> str:
    try:
        return ROLE_LABELS[Role(value)]
    except ValueError:
        return value


def action_label(value: str) -> str:
    try:
        return ACTION_LABELS[Action(value)]
    except ValueError:
        return value


templates.env.filters.update(
    local_time=local_time,
    status_label=label,
    role_label=role_label,
    action_label=action_label,
    mask_phone=mask_phone,
    mask_pii=mask_pii,
)
