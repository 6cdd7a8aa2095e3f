"""Which channel adapters this deployment runs, built from the settings.

A channel whose secrets are not configured is simply not mounted (its webhook
answers 404). Tests pass their own adapters pointed at fake providers.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from backend.channels.zalo_token_store import token_store_for
from backend.settings import Settings
from channels.base import ChannelAdapter
from channels.sms import SmsStyle, TwilioSmsAdapter
from channels.sms_gateway import GatewaySmsAdapter
from channels.telegram import TelegramAdapter
from channels.voice import TwilioVoiceAdapter
from channels.zalo import ZaloAdapter


@dataclass(frozen=True)
class Channels:
    webhook: dict[str, ChannelAdapter] = field(default_factory=dict)  # route key → adapter
    senders: dict[str, ChannelAdapter] = field(default_factory=dict)  # channel name → adapter
    voice: TwilioVoiceAdapter | None = None
    twilio_auth: tuple[str, str] | None = None  # basic auth for Twilio media (MMS, recordings)

    async def aclose(self) -> None:
        for adapter in {
            id(a): a for a in [*self.webhook.values(), *self.senders.values()]
        }.values():
            close = getattr(adapter, "aclose", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value else ""


async def _zalo(settings: Settings, sessions: sessionmaker[Session] | None) -> ZaloAdapter:
    zalo = settings.zalo
    store = await token_store_for(zalo, sessions)
    return ZaloAdapter(
        app_id=zalo.app_id or "",
        oa_secret_key=_secret(zalo.oa_secret_key),
        app_secret_key=_secret(zalo.app_secret_key),
        token_store=store,
        contact_image_url=zalo.contact_image_url,
        api_base=zalo.api_base,
        oauth_base=zalo.oauth_base,
        zns_base=zalo.zns_base,
        zns_template_id=zalo.zns_template_id,
        zns_template_param=zalo.zns_template_param,
    )


def _telegram(settings: Settings) -> TelegramAdapter:
    telegram = settings.telegram
    return TelegramAdapter(
        _secret(telegram.bot_token),
        _secret(telegram.secret_token),
        base_url=f"{telegram.api_base}/bot",
        base_file_url=f"{telegram.api_base}/file/bot",
    )


def _sms_style(settings: Settings) -> SmsStyle:
    return SmsStyle(diacritics=settings.sms.diacritics, segment_budget=settings.sms.segment_budget)


def _twilio_sms(settings: Settings) -> TwilioSmsAdapter:
    twilio = settings.twilio
    return TwilioSmsAdapter(
        account_sid=twilio.account_sid or "",
        auth_token=_secret(twilio.auth_token),
        from_number=twilio.from_number,
        messaging_service_sid=twilio.messaging_service_sid,
        public_base_url=twilio.public_url,
        api_base_url=twilio.api_base,
        style=_sms_style(settings),
    )


def _gateway(settings: Settings) -> GatewaySmsAdapter:
    gateway = settings.sms_gateway
    assert gateway.outbound is not None
    secrets = {"api_key": _secret(gateway.api_key)} if gateway.api_key else {}
    return GatewaySmsAdapter(
        shared_secret=_secret(gateway.shared_secret),
        inbound=gateway.inbound,
        outbound=gateway.outbound,
        secret_values=secrets,
        style=_sms_style(settings),
    )


async def build_channels(
    settings: Settings, *, sessions: sessionmaker[Session] | None = None
) -> Channels:
    """The adapters whose credentials are configured; `sessions`: the database (Zalo tokens)."""
    webhook: dict[str, ChannelAdapter] = {}
    senders: dict[str, ChannelAdapter] = {}
    if settings.zalo.enabled:
        webhook["zalo"] = senders["zalo"] = await _zalo(settings, sessions)
    if settings.telegram.enabled:
        webhook["telegram"] = senders["telegram"] = _telegram(settings)
    if settings.sms_gateway.enabled:
        webhook["sms_gateway"] = _gateway(settings)
    voice = None
    if settings.twilio.enabled:
        webhook["sms_twilio"] = _twilio_sms(settings)
        voice = TwilioVoiceAdapter(
            auth_token=_secret(settings.twilio.auth_token),
            public_url=settings.twilio.public_url or "",
            voice=settings.twilio.voice_name,
        )
    sms_key = "sms_twilio" if settings.sms.sender == "twilio" else "sms_gateway"
    if sms_key in webhook:
        senders["sms"] = webhook[sms_key]
    twilio_auth = None
    if settings.twilio.enabled:
        twilio_auth = (settings.twilio.account_sid or "", _secret(settings.twilio.auth_token))
    return Channels(webhook=webhook, senders=senders, voice=voice, twilio_auth=twilio_auth)
