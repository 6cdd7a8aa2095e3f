"""How each provider signs the webhooks it sends us, so tests can post what a provider would.

One function per scheme: Twilio's `X-Twilio-Signature` (with the auth token, or with a
SharedKey and HMAC-SHA256), an SMS aggregator's HMAC-SHA256 of the raw body, Zalo's
`X-ZEvent-Signature`, and Telegram's secret-token header. They return signatures or
headers; building the request stays with the test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Literal
from urllib.parse import parse_qsl

from twilio.request_validator import HMAC_SHA256, RequestValidator

from tests.fakes.zalo_api import APP_ID

TWILIO_SIGNATURE = "x-twilio-signature"
TWILIO_SIGNATURE_SETTINGS = "x-twilio-webhooks-signature-settings"
TELEGRAM_SECRET = "x-telegram-bot-api-secret-token"


class _FormFields(dict[str, list[str]]):
    """Form fields the way Twilio's validator reads a QueryDict: every value of a repeated name."""

    def getlist(self, name: str) -> list[str]:
        return self[name]


def twilio_signature(
    token: str, url: str, form: bytes | Mapping[str, str], *, algorithm: str | None = None
) -> str:
    """`X-Twilio-Signature` of a form post to `url`, the URL Twilio requested (query included).

    `form` is the urlencoded body as sent (repeated and blank fields count) or its fields.
    """
    fields: Mapping[str, str] | _FormFields
    if isinstance(form, bytes):
        fields = _FormFields()
        for name, value in parse_qsl(form.decode(), keep_blank_values=True):
            fields.setdefault(name, []).append(value)
    else:
        fields = form
    signature: str = RequestValidator(token).compute_signature(url, fields, algorithm=algorithm)
    return signature


def twilio_shared_key_headers(
    secret: str, url: str, form: bytes | Mapping[str, str]
) -> dict[str, str]:
    """The signature headers of a webhook Twilio signed with a SharedKey instead of the token."""
    return {
        TWILIO_SIGNATURE: twilio_signature(secret, url, form, algorithm=HMAC_SHA256),
        TWILIO_SIGNATURE_SETTINGS: "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256",
    }


def hmac_sha256(secret: str, body: bytes, encoding: Literal["hex", "base64"] = "hex") -> str:
    """An SMS aggregator's signature: HMAC-SHA256 of the raw body with the shared secret."""
    mac = hmac.new(secret.encode(), body, hashlib.sha256)
    return mac.hexdigest() if encoding == "hex" else base64.b64encode(mac.digest()).decode()


def zalo_signature(
    raw: bytes, oa_secret: str, *, app_id: str = APP_ID, prefix: str = "mac="
) -> str:
    """`X-ZEvent-Signature`: SHA-256 of app id, body, the body's `timestamp` and OA secret key."""
    timestamp = str(json.loads(raw)["timestamp"])
    digest = hashlib.sha256(app_id.encode() + raw + timestamp.encode() + oa_secret.encode())
    return prefix + digest.hexdigest()


def telegram_secret_header(secret: str) -> dict[str, str]:
    """Telegram's only proof of origin: the `secret_token` given to setWebhook, sent back as is."""
    return {TELEGRAM_SECRET: secret}
