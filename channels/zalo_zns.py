"""ZNS (Zalo Notification Service): a template message to the citizen's phone number.

Owns: the ZNS request body for `POST {zns_base}/message/template` [Z-ZNS] and the
ZNS error table [Z-ZNS-ERR], mapped to the channel error family. Pure: the
`channels.zalo` adapter sends it with the OA access token (the same token as the
OA API; -124 is a refused token there too and is refreshed once).

ZNS is the third step of the outbox's Zalo fallback chain ("tư vấn" refused
outside the 7-day window → "giao dịch" → ZNS → SMS), so every refusal that is
not about the token, the night hours or the network is *unreachable* here: a
phone without a Zalo account, a citizen who refused ZNS, and also an OA whose
template, balance or daily quota will not do today. The citizen then gets the
update by SMS instead of not at all, and the reason stays in the outbox row (and
in the warning log, for the operator).

The approved template decides which parameters exist; this deployment's has one
text parameter (its name is configured, `zns_template_param`) that carries the
update's text.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx

from bot.messages import Reply
from channels.base import Blocked, RateLimited, SendError, Transient, Unreachable
from channels.zalo_errors import TOKEN_ERRORS, retry_after

VIA = "zalo_zns"  # the outbox route name
KIND = "zns"  # `Outgoing.kind` of a ZNS call
PATH = "/message/template"
PARAM_MAX = 400  # longest text put in the template parameter (the template may allow less)
NIGHT = frozenset({-133})  # template not allowed 22:00-06:00
BLOCKED = frozenset({-114, -118, -119, -139, -141})  # inactive, no account, refused
# -108 invalid phone, -109/-131 template, -115 balance, -135 OA not allowed,
# -144/-147 daily quota and unknown codes: also unreachable (the chain goes on to SMS)
_VN = timezone(timedelta(hours=7))
_TRACKING = re.compile(r"[^A-Za-z0-9_]")


def zns_body(
    reply: Reply, phone: str, *, template_id: str, param: str, tracking_id: str
) -> dict[str, Any]:
    """The ZNS request for one reply: the phone as 84…, the text in the template parameter."""
    text = reply.text.strip()
    if len(text) > PARAM_MAX:
        text = text[: PARAM_MAX - 1].rstrip() + "…"
    return {
        "phone": phone.lstrip("+"),
        "template_id": template_id,
        "template_data": {param: text},
        "tracking_id": _TRACKING.sub("", tracking_id)[:48],
    }


def zns_outcome(response: httpx.Response, now: datetime) -> str:
    """ZNS's message id (`data.msg_id`), or the error family."""
    status = response.status_code
    if status == 429:
        raise RateLimited("ZNS HTTP 429", retry_after(response, 60.0))
    if status >= 500 or status in (401, 408):
        raise Transient(f"ZNS HTTP {status}")
    try:
        body = response.json()
    except ValueError:
        body = None
    code = body.get("error") if isinstance(body, dict) else None
    if status >= 400 or type(code) is not int:
        raise Unreachable(f"ZNS HTTP {status}, unreadable answer")
    assert isinstance(body, dict)
    if code == 0:
        data = body.get("data")
        return str(data.get("msg_id", "")) if isinstance(data, dict) else ""
    raise zns_error_for(code, str(body.get("message", "")), now)


def zns_error_for(code: int, text: str, now: datetime) -> SendError:
    detail = f"ZNS error {code}: {text}"
    if code in TOKEN_ERRORS:
        return Transient(f"{detail} (after a token refresh)")
    if code in NIGHT:
        return RateLimited(detail, seconds_until_morning(now))
    if code in BLOCKED:
        return Blocked(detail)
    return Unreachable(detail)


def seconds_until_morning(now: datetime) -> float:
    """Seconds from `now` until the next 06:00 in Vietnam (UTC+7, no summer time)."""
    local = now.astimezone(_VN) if now.tzinfo else now.replace(tzinfo=UTC).astimezone(_VN)
    morning = local.replace(hour=6, minute=0, second=0, microsecond=0)
    if morning <= local:
        morning += timedelta(days=1)
    return (morning - local).total_seconds()
