"""The wire format of an outgoing webhook: the raw JSON body and its signature headers.

`X-PAHT-Signature: sha256=<hex>` is the HMAC-SHA256 of the raw body with the
endpoint's secret; `X-PAHT-Timestamp` is when this attempt was sent (Unix
seconds); `X-PAHT-Event-Id` (also the body's `id`) stays the same across retries,
so a receiver drops what it has already seen.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

SIGNATURE_HEADER = "X-PAHT-Signature"
TIMESTAMP_HEADER = "X-PAHT-Timestamp"
EVENT_ID_HEADER = "X-PAHT-Event-Id"
EVENT_HEADER = "X-PAHT-Event"


def body(payload: dict[str, Any]) -> bytes:
    """The same bytes for the same event, on every attempt."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def signature(secret: str, raw: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def verify(secret: str, raw: bytes, header: str) -> bool:
    """What a receiver does: compare the header with the signature of the raw body."""
    return hmac.compare_digest(signature(secret, raw), header)


def headers(secret: str, raw: bytes, *, event: str, event_id: str, now: datetime) -> dict[str, str]:
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "PAHT-Gateway-Webhooks/1",
        SIGNATURE_HEADER: signature(secret, raw),
        TIMESTAMP_HEADER: str(int(now.timestamp())),
        EVENT_ID_HEADER: event_id,
        EVENT_HEADER: event,
    }
