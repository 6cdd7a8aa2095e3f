"""Zalo's answers to a send, mapped to the channel error family.

Owns: the OA API error-code table (token, outside-the-window, blocked, other
unreachable, rate-limit and needs-an-admin codes), reading Zalo's JSON answer,
telling a refused access token apart, and turning an error code into a
`SendError`. Pure: no I/O.
`channels.zalo` decides when to refresh the token and raises what this returns.
"""

from __future__ import annotations

import math
from typing import Any

import httpx

from channels.base import (
    BadRequest,
    Blocked,
    OutsideWindow,
    RateLimited,
    SendError,
    Transient,
    Unreachable,
)

TOKEN_ERRORS = frozenset({-216, -220, -124})
# -230: no interaction in 7 days ("tư vấn"); -232: no interaction / last one expired
# (a year, for "giao dịch"): another message type or ZNS may still reach the citizen.
OUTSIDE_WINDOW = frozenset({-230, -232})
BLOCKED = frozenset({-217, -227})  # blocked the OA's invitations; banned or inactive > 45 days
UNREACHABLE = OUTSIDE_WINDOW | BLOCKED | {-213, -218, -244}
RATE_LIMITS = {-32: 60.0, -211: 3600.0}  # default retry-after, seconds
NEEDS_ADMIN = frozenset({-209, -212, -221, -223, -224, -234, -320, -321})  # retry once fixed
# every other non-zero code (-100, -201, -210, -233, -240, -248, unknown) → BadRequest


def json_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def token_refused(response: httpx.Response) -> bool:
    status = response.status_code
    return status == 401 or (status == 200 and json_body(response).get("error") in TOKEN_ERRORS)


def error_for(code: int, text: str, response: httpx.Response) -> SendError:
    detail = f"Zalo error {code}: {text}"
    if code in TOKEN_ERRORS:
        return Transient(f"{detail} (after a token refresh)")
    if code in OUTSIDE_WINDOW:
        return OutsideWindow(detail)
    if code in BLOCKED:
        return Blocked(detail)
    if code in UNREACHABLE:
        return Unreachable(detail)
    if code in RATE_LIMITS:
        return RateLimited(detail, retry_after(response, RATE_LIMITS[code]))
    if code in NEEDS_ADMIN:
        return Transient(f"{detail} (OA configuration or balance)")
    return BadRequest(detail)


def retry_after(response: httpx.Response, default: float) -> float:
    try:
        seconds = float(response.headers.get("retry-after", ""))
    except ValueError:
        return default
    return min(max(seconds, 0.0), 86400.0) if math.isfinite(seconds) else default
