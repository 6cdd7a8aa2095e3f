"""Configuration of the generic HTTP SMS gateway, and its safe template substitution.

Owns the pydantic models a settings file holds as they are (`GatewayInbound`:
how the aggregator calls us; `GatewayOutbound`: the HTTP request that sends one
SMS and how to read its answer) and the `{name}` placeholder template language
of the outbound request: parsing (`placeholders`), checking a template against
the values an adapter offers (`check_placeholders`) and filling it in with
escaped values, never evaluated (`substitute`, `walk`). Also the dotted paths
the configured field names are written in (`data.msisdn`, `data.items.0.id`):
`lookup` and `scalar_text`. The adapter that uses them, and the worked example,
live in `channels.sms_gateway`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

BUILTIN_PLACEHOLDERS = frozenset(
    {"to", "to_84", "to_national", "text", "unicode", "segments", "message_id"}
)
ErrorKind = Literal["rate_limited", "unreachable", "bad_request", "transient"]
_TOKEN = re.compile(r"\{\{|\}\}|\{([a-z_][a-z0-9_]*)\}|[{}]")


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GatewayInbound(Frozen):
    """How the aggregator calls us."""

    format: Literal["auto", "json", "form"] = "auto"
    provider: str = Field(default="gw", pattern=r"^[a-z][a-z0-9_]{0,15}$")
    sender_field: str = "from"
    text_field: str = "text"
    message_id_field: str | None = "id"  # None: a digest of sender, time and text
    time_field: str | None = "time"
    time_format: str | None = None  # strptime format; default: epoch s/ms or ISO 8601
    utc_offset_hours: float = Field(default=7.0, ge=-12, le=14)
    signature_header: str = "X-Signature"
    signature_prefix: str = ""
    signature_encoding: Literal["hex", "base64"] = "hex"
    max_age_seconds: int | None = Field(default=None, ge=1)


class GatewayOutbound(Frozen):
    """The HTTP request that sends one SMS, and how to read its answer."""

    url: str
    method: Literal["GET", "POST", "PUT"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict)
    body_format: Literal["json", "form", "none"] = "json"
    body: dict[str, Any] = Field(default_factory=dict)
    values: dict[str, str] = Field(default_factory=dict)
    success_status: list[int] = Field(default_factory=lambda: [200, 201, 202])
    success_field: str | None = None
    success_values: list[str] = Field(default_factory=list)
    message_id_path: str | None = None
    error_codes: dict[str, ErrorKind] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("url must be http(s)")
        return url

    @model_validator(mode="after")
    def _template_syntax(self) -> GatewayOutbound:
        self.placeholders()
        return self

    def placeholders(self) -> set[str]:
        """Every placeholder the template uses (raises ValueError on a stray brace)."""
        found: set[str] = set()

        def collect(template: str) -> str:
            found.update(placeholders(template))
            return template

        walk([self.url, self.headers, self.body], collect)
        return found


def placeholders(template: str) -> set[str]:
    names: set[str] = set()
    for match in _TOKEN.finditer(template):
        if match.group(0) in ("{", "}"):
            raise ValueError(f"stray brace in template {template!r} (write {{{{ or }}}})")
        if match.group(1):
            names.add(match.group(1))
    return names


def check_placeholders(outbound: GatewayOutbound, secret_values: Mapping[str, str]) -> None:
    """Refuse values that shadow each other or a builtin, and placeholders nobody fills."""
    clash = (set(outbound.values) | set(secret_values)) & BUILTIN_PLACEHOLDERS
    clash |= set(outbound.values) & set(secret_values)
    if clash:
        raise ValueError(f"template values shadow other placeholders: {sorted(clash)}")
    unknown = outbound.placeholders() - BUILTIN_PLACEHOLDERS - set(outbound.values)
    unknown -= set(secret_values)
    if unknown:
        raise ValueError(f"unknown placeholders in the gateway template: {sorted(unknown)}")


def substitute(template: str, values: Mapping[str, str], escape: Callable[[str], str]) -> str:
    """Fill `{name}` placeholders with escaped values; nothing is evaluated."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        if match.group(1) is None:
            raise ValueError("stray brace in template")
        return escape(values[match.group(1)])

    return _TOKEN.sub(replace, template)


def walk(node: Any, change: Callable[[str], str]) -> Any:
    """The JSON-like template with `change` applied to every string leaf (keys stay)."""
    if isinstance(node, str):
        return change(node)
    if isinstance(node, dict):
        return {key: walk(value, change) for key, value in node.items()}
    if isinstance(node, list):
        return [walk(value, change) for value in node]
    return node


def lookup(data: Any, path: str) -> Any:
    """`data.items.0.id`-style lookup; None when any step is missing."""
    node = data
    for step in path.split("."):
        if isinstance(node, dict):
            node = node.get(step)
        elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node = node[int(step)]
        else:
            return None
    return node


def scalar_text(value: Any) -> str | None:
    """A JSON scalar as text (true → "true"); None for objects, lists and null."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    return None
