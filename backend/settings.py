"""Deployment configuration: one pydantic-settings class read from `paht.toml` and `PAHT_*`.

The TOML file (path in `PAHT_CONFIG`, default `paht.toml`) describes the
deployment: the province it serves, the category taxonomy, the handling units,
public holidays and channel settings. Secrets come from the environment
(`PAHT_TELEGRAM__BOT_TOKEN=...`) as `SecretStr` without defaults; a channel
without its secrets is simply disabled. Environment variables override the file.
"""

from __future__ import annotations

import os
import re
from datetime import date, timedelta
from functools import cache
from operator import attrgetter
from pathlib import Path
from typing import Literal

from cryptography.fernet import Fernet
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from channels.sms_gateway import GatewayInbound, GatewayOutbound

ID_PATTERN = r"^[a-z][a-z0-9_]{1,63}$"
PLACEHOLDER_SECRETS = re.compile(
    r"^(changeme|change-me|secret|password|xxx+|test|demo|placeholder)$", re.I
)


KEYGEN = (
    "generate one with: python -c "
    '"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)


class ConfigError(RuntimeError):
    """The configuration is invalid; the message names the bad key."""


class Section(BaseModel):
    """A configuration table: unknown keys are errors, so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid")


class Province(Section):
    code: str = Field(pattern=r"^\d{2}$")
    name: str = Field(min_length=2)


class Category(Section):
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=2)
    deadline_days: int = Field(ge=1, le=90, description="handling deadline in working days")
    unit: str = Field(pattern=ID_PATTERN, description="default responsible unit id")


class Unit(Section):
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=2)
    kind: Literal["department", "commune"] = "department"
    commune: str | None = None


class Route(Section):
    """Routing override: reports of `category` in `commune` go to `unit`."""

    category: str
    commune: str | None = None  # commune name as the gazetteer gives it; None = everywhere
    unit: str = Field(pattern=ID_PATTERN)


class AnswerTemplate(Section):
    """A câu trả lời mẫu offered to specialists drafting an answer."""

    title: str = Field(min_length=2)
    text: str = Field(min_length=2)
    category: str | None = None  # offered for this category only; None = for all


class ConsoleSettings(Section):
    """The staff console: sessions, login limits, paging and the map."""

    session_hours: int = Field(default=12, ge=1, le=24 * 30)
    login_max_failures: int = Field(default=5, ge=1, le=100)
    login_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    page_size: int = Field(default=25, ge=5, le=200)
    soon_due_hours: int = Field(default=24, ge=1, le=24 * 14)
    # Map tiles (Leaflet); empty = the pin is shown without a background map (offline).
    tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    tile_attribution: str = "© OpenStreetMap"
    secure_cookies: bool = False  # set true behind HTTPS


class NluSettings(Section):
    model_dir: Path = Path("var/nlu-model")
    extra_data_dirs: list[Path] = Field(default_factory=list)
    confidence_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    # `paht nlu export-corrections` writes staff corrections here; training reads them.
    corrections_dir: Path = Path("var/nlu-corrections")


class ZaloSettings(Section):
    """Zalo Official Account. Register https://<public host>/channels/zalo/webhook."""

    app_id: str | None = None
    oa_secret_key: SecretStr | None = None
    app_secret_key: SecretStr | None = None
    # The first token pair only: the refresh token rotates, the live pair lives in the
    # database (token_store = "database", the default) or in token_file ("file").
    access_token: SecretStr | None = None
    refresh_token: SecretStr | None = None
    token_store: Literal["database", "file"] = "database"
    token_file: Path = Path("var/zalo-tokens.json")  # "database": imported once, then unused
    # Encrypts the pair in the database (required in production); a Fernet key from
    # `python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`.
    # Rotating it: the new key here, the previous one in token_old_keys (re-encrypted at start).
    token_key: SecretStr | None = None
    token_old_keys: list[SecretStr] = Field(default_factory=list)
    api_base: str = "https://openapi.zalo.me"
    oauth_base: str = "https://oauth.zaloapp.com"
    contact_image_url: str = "https://stc-oa.zdn.vn/resource/avatar.png"
    # ZNS, the outbox's fallback after "giao dịch" (to the citizen's phone): only with a
    # template id approved by Zalo; its text parameter carries the update.
    zns_base: str = "https://business.openapi.zalo.me"
    zns_template_id: str | None = None
    zns_template_param: str = "content"

    @property
    def enabled(self) -> bool:
        return bool(self.app_id and self.oa_secret_key and self.app_secret_key)

    @field_validator("token_key", "token_old_keys")
    @classmethod
    def _fernet_keys(cls, value: SecretStr | list[SecretStr] | None) -> object:
        keys = value if isinstance(value, list) else [value] if value else []
        for i, key in enumerate(keys):
            try:
                Fernet(key.get_secret_value())
            except ValueError:
                which = f"entry {i} is " if isinstance(value, list) else ""
                raise ValueError(
                    f"{which}not a Fernet key (32 url-safe base64 bytes); {KEYGEN}"
                ) from None
        return value


class TelegramSettings(Section):
    """Telegram bot. `paht telegram-set-webhook` registers /channels/telegram/webhook."""

    bot_token: SecretStr | None = None
    secret_token: SecretStr | None = None
    api_base: str = "https://api.telegram.org"

    @property
    def enabled(self) -> bool:
        return bool(self.bot_token and self.secret_token)


class TwilioSettings(Section):
    """Twilio SMS (/channels/sms/twilio) and Voice (/channels/voice/twilio)."""

    account_sid: str | None = None
    auth_token: SecretStr | None = None
    public_url: str | None = None  # the public origin Twilio calls (signatures cover it)
    from_number: str | None = None
    messaging_service_sid: str | None = None
    api_base: str = "https://api.twilio.com"
    operator_number: str | None = None  # hotline: transfers to this E.164 number
    # Told to callers in the SMS after the call, so they can send photos for their report.
    zalo_oa_name: str | None = None
    zalo_link: str | None = None
    telegram_link: str | None = None
    voice_name: str = "Google.vi-VN-Standard-A"
    speech_confidence: float = Field(default=0.5, ge=0.0, le=1.0)

    @property
    def enabled(self) -> bool:
        return bool(self.account_sid and self.auth_token and self.public_url)


class SmsSettings(Section):
    """How replies go out as SMS, and which provider sends them."""

    sender: Literal["gateway", "twilio"] = "gateway"
    diacritics: bool = False
    segment_budget: int = Field(default=3, ge=1, le=10)


class SmsGatewaySettings(Section):
    """A Vietnamese SMS aggregator (/channels/sms/gateway); see README for an example."""

    shared_secret: SecretStr | None = None
    api_key: SecretStr | None = None
    inbound: GatewayInbound = Field(default_factory=GatewayInbound)
    outbound: GatewayOutbound | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.shared_secret and self.outbound)


class S3Settings(Section):
    """An S3-compatible bucket for media (AWS, MinIO, R2, Viettel/VNPT object storage)."""

    endpoint: str | None = None  # https://s3.ap-southeast-1.amazonaws.com, http://minio:9000
    bucket: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    region: str | None = None
    # lower-case path segments ending in "/", e.g. "paht/media/"
    prefix: str = Field(default="", pattern=r"^([a-z0-9][a-z0-9._-]*/)*$")
    access_key: SecretStr | None = None
    secret_key: SecretStr | None = None
    presign_seconds: int = Field(default=3600, ge=60, le=7 * 24 * 3600)  # S3's maximum: 7 days
    public_base_url: str | None = None  # a CDN in front of the bucket: URLs are not presigned
    path_style: bool = True  # False: the endpoint is the bucket's own host (virtual-hosted)

    def missing(self) -> list[str]:
        names = ("endpoint", "bucket", "region", "access_key", "secret_key")
        return [name for name in names if not getattr(self, name)]


class SendLimitSettings(Section):
    """One channel's send rate: overall and, if set, per recipient (chat)."""

    per_second: float = Field(gt=0, le=10_000)
    burst: float | None = Field(default=None, ge=1)  # default: one second's worth
    per_recipient_per_second: float | None = Field(default=None, gt=0)


class OutboxSettings(Section):
    """The outbox dispatcher: retries, giving up, and per-channel send rates.

    The rates hold per dispatcher process: with N processes sending (`--workers N`,
    several `paht worker`s), set each to the provider's limit divided by N.
    """

    max_attempts: int = Field(default=8, ge=1, le=100)
    retry_base_delay: timedelta = timedelta(seconds=5)
    retry_max_delay: timedelta = timedelta(minutes=15)
    give_up_after: timedelta = timedelta(days=2)  # a message still failing then is dead
    # How long a dispatcher's claim on a message holds: after a crash, its messages are
    # sent again (by another dispatcher) once this has passed.
    lease_seconds: float = Field(default=120, gt=0, le=3600)
    # How often an idle worker looks for messages (a webhook wakes it at once).
    idle_seconds: float = Field(default=1.0, gt=0, le=60)
    telegram: SendLimitSettings = SendLimitSettings(per_second=30, per_recipient_per_second=1)
    zalo: SendLimitSettings = SendLimitSettings(per_second=1.5)  # OA tiers: 100 req/min and up
    sms: SendLimitSettings = SendLimitSettings(per_second=5)

    @field_validator("retry_base_delay", "retry_max_delay", "give_up_after", mode="before")
    @classmethod
    def _seconds(cls, value: object) -> object:
        """A plain number (also from the environment: "3600") means seconds."""
        if isinstance(value, str) and re.fullmatch(r"\d+(\.\d+)?", value.strip()):
            return float(value)
        return value


class MediaSettings(Section):
    """Photos, videos and recordings: where they are kept and how large they may be."""

    store: Literal["local", "s3"] = "local"  # "s3": in the bucket of [media.s3]
    root: Path = Path("var/media")
    max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)
    max_attempts: int = Field(default=5, ge=1, le=50)
    s3: S3Settings = Field(default_factory=S3Settings)

    @model_validator(mode="after")
    def _s3_complete(self) -> MediaSettings:
        if self.store == "s3" and (missing := self.s3.missing()):
            raise ValueError(f"store = 's3' needs media.s3.{', media.s3.'.join(missing)}")
        return self


class Open311Settings(Section):
    """Open311 GeoReport v2 (/open311/v2/): what third-party clients may submit."""

    jurisdiction_id: str | None = None  # when set, a different jurisdiction_id is refused
    max_description: int = Field(default=4000, ge=100, le=20000)
    # Refuse media_url hosts that resolve to private/loopback addresses unless this is on.
    allow_private_media_hosts: bool = False
    rate_limit_per_minute: int = Field(default=30, ge=1, le=10000)  # POSTs per key


class MetricsSettings(Section):
    """Prometheus /metrics: open by default; with a token, scrapers send `Authorization: Bearer`."""

    token: SecretStr | None = None


class DuplicateSettings(Section):
    """Clustering at creation (backend.clusters): which open reports a new one may repeat."""

    enabled: bool = True
    distance_m: float = Field(default=300.0, gt=0, le=50_000)  # or the same commune
    window_days: int = Field(default=7, ge=1, le=90)
    min_score: float = Field(default=0.65, ge=0.0, le=1.0)  # nlu.similar.find_similar score
    min_text: float = Field(default=0.4, ge=0.0, le=1.0)  # its text similarity alone
    max_candidates: int = Field(default=50, ge=1, le=1000)  # bounds the look-up and scoring


class WebhookSettings(Section):
    """One outgoing webhook (backend.webhooks_out): signed JSON events without personal data."""

    url: str = Field(pattern=r"^https?://\S+$")
    secret: SecretStr = Field(min_length=16)
    events: list[Literal["report.created", "report.status_changed"]] = Field(
        default_factory=lambda: ["report.created", "report.status_changed"]
    )
    timeout_seconds: float = Field(default=10.0, gt=0, le=60)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PAHT_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    env: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///var/paht.db"
    timezone: str = "Asia/Ho_Chi_Minh"
    public_base_url: str = "http://127.0.0.1:8000"
    session_secret: SecretStr | None = None
    province: Province
    nationwide: bool = False
    categories: list[Category] = Field(min_length=1)
    units: list[Unit] = Field(min_length=1)
    holidays: list[date] = Field(default_factory=list)
    urgent_deadline_hours: int = Field(default=24, ge=1, le=168)
    max_message_chars: int = Field(default=4000, ge=100, le=20000)
    rate_limit_per_minute: int = Field(default=20, ge=1, le=1000)
    # "in_app": `paht serve` also runs the bot, outbox and media (the embedded default);
    # "worker": they run in `paht worker` processes (production, see docs/deploy.md).
    pipeline: Literal["in_app", "worker"] = "in_app"
    nlu: NluSettings = Field(default_factory=NluSettings)
    media: MediaSettings = Field(default_factory=MediaSettings)
    outbox: OutboxSettings = Field(default_factory=OutboxSettings)
    zalo: ZaloSettings = Field(default_factory=ZaloSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    twilio: TwilioSettings = Field(default_factory=TwilioSettings)
    sms: SmsSettings = Field(default_factory=SmsSettings)
    sms_gateway: SmsGatewaySettings = Field(default_factory=SmsGatewaySettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    open311: Open311Settings = Field(default_factory=Open311Settings)
    routes: list[Route] = Field(default_factory=list)
    answer_templates: list[AnswerTemplate] = Field(default_factory=list)
    duplicates: DuplicateSettings = Field(default_factory=DuplicateSettings)
    webhooks: list[WebhookSettings] = Field(default_factory=list)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get("PAHT_CONFIG", "paht.toml"))
        toml = TomlConfigSettingsSource(settings_cls, toml_file=toml_file)
        return (init_settings, env_settings, toml, file_secret_settings)

    @model_validator(mode="after")
    def _check_references(self) -> Settings:
        unit_ids = [u.id for u in self.units]
        _no_duplicates("units", unit_ids)
        _no_duplicates("categories", [c.id for c in self.categories])
        for i, category in enumerate(self.categories):
            if category.unit not in unit_ids:
                raise ValueError(f"categories.{i}.unit: unknown unit '{category.unit}'")
        category_ids = {c.id for c in self.categories}
        for i, route in enumerate(self.routes):
            if route.unit not in unit_ids:
                raise ValueError(f"routes.{i}.unit: unknown unit '{route.unit}'")
            if route.category not in category_ids:
                raise ValueError(f"routes.{i}.category: unknown category '{route.category}'")
        if self.env == "production":
            self._refuse_placeholders()
        return self

    def _refuse_placeholders(self) -> None:
        for section in ("zalo", "telegram", "twilio", "sms_gateway", "media.s3"):
            for name, value in attrgetter(section)(self):
                if isinstance(value, SecretStr) and PLACEHOLDER_SECRETS.match(
                    value.get_secret_value()
                ):
                    raise ValueError(f"{section}.{name}: placeholder secret refused in production")
        zalo = self.zalo
        if zalo.enabled and zalo.token_store == "database" and zalo.token_key is None:
            raise ValueError(
                "zalo.token_key: set PAHT_ZALO__TOKEN_KEY (a Fernet key) in production, "
                "the Zalo tokens in the database are encrypted with it"
            )
        secret = self.session_secret.get_secret_value() if self.session_secret else ""
        if len(secret) < 32:
            raise ValueError(
                "session_secret: set PAHT_SESSION_SECRET (32+ characters) in production"
            )

    def category(self, category_id: str | None) -> Category | None:
        return next((c for c in self.categories if c.id == category_id), None)

    def category_names(self) -> dict[str, str]:
        return {c.id: c.name for c in self.categories}

    def unit(self, unit_id: str | None) -> Unit | None:
        return next((u for u in self.units if u.id == unit_id), None)

    def unit_names(self) -> dict[str, str]:
        return {u.id: u.name for u in self.units}


def _no_duplicates(key: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for i, item in enumerate(ids):
        if item in seen:
            raise ValueError(f"{key}.{i}.id: duplicate id '{item}'")
        seen.add(item)


def load_settings(**overrides: object) -> Settings:
    """Read the configuration, turning validation errors into one readable message."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = [
            f"  {'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
            for err in exc.errors()
        ]
        source = os.environ.get("PAHT_CONFIG", "paht.toml")
        raise ConfigError(
            f"Invalid configuration ({source} / PAHT_* environment):\n" + "\n".join(lines)
        ) from None


@cache
def get_settings() -> Settings:
    """The process-wide settings, read once; tests override the FastAPI dependency."""
    return load_settings()
