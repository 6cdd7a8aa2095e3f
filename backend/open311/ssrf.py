"""Checking a client's `media_url` before anything is stored (the SSRF guard at the door).

The media intake (backend.media.download) checks every hop again when it fetches the
file later; this early check lets the API refuse an obviously bad URL with a 400
instead of storing an attachment that can only fail. Only http(s) URLs without
credentials are accepted, and every address the host name resolves to must be public
(`is_public`: no loopback, private, link-local, multicast, reserved or IPv4-in-IPv6
wrapped private address) unless the deployment allows private hosts. The resolver is
injectable so tests need no DNS.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from ipaddress import IPv4Address, IPv6Address, ip_address
from urllib.parse import urlsplit

from backend.errors import DomainError
from backend.media.download import is_ip_literal, is_public

Resolver = Callable[[str, int], Sequence[str]]
MAX_URL = 2000


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def check_media_url(url: str, *, allow_private: bool, resolver: Resolver) -> str:
    """The URL, trimmed, if the gateway may fetch it; DomainError (400) otherwise."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise DomainError("media_url không hợp lệ.") from None
    if len(url) > MAX_URL or parts.scheme not in ("http", "https") or not parts.hostname:
        raise DomainError("media_url phải là một địa chỉ http hoặc https.")
    if parts.username or parts.password:
        raise DomainError("media_url không được chứa tên đăng nhập hoặc mật khẩu.")
    if allow_private:
        return url
    for address in _addresses(parts.hostname, port, resolver):
        if not is_public(address):
            raise DomainError("media_url trỏ tới một địa chỉ nội bộ, không được chấp nhận.")
    return url


def _addresses(host: str, port: int, resolver: Resolver) -> list[IPv4Address | IPv6Address]:
    try:
        names = [host] if is_ip_literal(host) else list(resolver(host, port))
        found = [ip_address(name.split("%", 1)[0]) for name in names]
    except (OSError, UnicodeError, ValueError):
        raise DomainError("Không xác định được máy chủ của media_url.") from None
    if not found:
        raise DomainError("Không xác định được máy chủ của media_url.")
    return found
