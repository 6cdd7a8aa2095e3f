"""Fetch one provider media URL safely: size cap, timeouts, SSRF guard, sniffed result.

Owns the network half of media intake. Provider webhooks hand us URLs (Zalo CDN links,
Telegram file paths, Twilio MediaUrlN) that an attacker can also forge, so every hop is
treated as hostile:

* only http/https; at most `max_redirects` redirects, each target checked again;
* the host is resolved first (the resolver is injectable, so tests need no DNS) and every
  address must be public unless it falls in `allowed_networks`; the request is then sent
  to that very address (Host header and TLS SNI keep the name, the connection is not
  kept for reuse), so a second DNS answer cannot swap in 127.0.0.1 between the check and
  the connection (DNS rebinding);
* credentials (Twilio basic auth, extra headers) go to the original origin only, never
  to a redirect target such as a signed storage URL;
* the body is streamed raw (`Accept-Encoding: identity`, no decompression) and abandoned
  as soon as it passes `max_bytes`, whatever Content-Length claimed; the first bytes are
  sniffed as soon as they arrive, so an HTML page is refused without reading it all;
* one overall deadline on top of httpx's connect/read timeouts defeats slow drips.

Written on plain httpx rather than a fetch library because the pieces are small and each
is tested here; the client is injected (its own base URL, proxies and pool stay with the
caller). Give it a client without default credentials: its headers go to every host.
Error messages name the host only — Telegram file URLs carry the bot token in the path.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

import httpx

from backend.media.sniff import SNIFF_BYTES, MediaError, Sniffed, sniff

IPAddress = IPv4Address | IPv6Address
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""`(host, port) -> addresses`; the default asks the system resolver."""

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_TRANSIENT_STATUS = frozenset({408, 425, 429})
_NAT64 = ip_network("64:ff9b::/96")


class TooLarge(MediaError):
    """The media is larger than the configured cap."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"media larger than {limit} bytes")
        self.limit = limit


class DownloadFailed(MediaError):
    """The media could not be fetched; `transient` failures are worth retrying later."""

    def __init__(self, message: str, *, transient: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.transient = transient
        self.status = status


class RefusedUrl(DownloadFailed):
    """The URL (or a redirect) points somewhere the gateway must not go."""

    def __init__(self, message: str) -> None:
        super().__init__(message, transient=False)


@dataclass(frozen=True)
class DownloadLimits:
    max_bytes: int = 10 * 1024 * 1024
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    total_timeout: float = 30.0
    max_redirects: int = 3
    allowed_networks: tuple[str, ...] = ()
    """CIDRs exempt from the private-address refusal (a fake on 127.0.0.1, an internal CDN)."""
    pin_addresses: bool = True
    """Connect to the checked address. Turn off only behind an HTTP egress proxy (httpx's
    CONNECT tunnel would check the certificate against the IP): the addresses are still
    checked, but a rebinding DNS answer is then the proxy's to refuse."""

    _networks: tuple[IPv4Network | IPv6Network, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_bytes < 1 or self.max_redirects < 0:
            raise ValueError("max_bytes must be positive and max_redirects not negative")
        networks = tuple(ip_network(n, strict=False) for n in self.allowed_networks)
        object.__setattr__(self, "_networks", networks)

    def allows(self, address: IPAddress) -> bool:
        """True if the gateway may connect to `address`."""
        return is_public(address) or any(
            net.version == address.version and address in net for net in self._networks
        )


@dataclass(frozen=True)
class Downloaded:
    data: bytes
    media: Sniffed
    host: str


def is_public(address: IPAddress) -> bool:
    """A globally routable unicast address, looking through IPv6 wrappers of IPv4."""
    if isinstance(address, IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address.teredo is not None:
            embedded = address.teredo[1]
        if embedded is None and address in _NAT64:
            embedded = IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and not is_public(embedded):
            return False
    return address.is_global and not address.is_multicast


async def system_resolver(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def download(
    url: str,
    *,
    client: httpx.AsyncClient,
    limits: DownloadLimits | None = None,
    auth: tuple[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    resolver: Resolver = system_resolver,
) -> Downloaded:
    """Fetch `url` and sniff it; raise TooLarge, UnsupportedMedia or DownloadFailed."""
    limits = limits or DownloadLimits()
    fetch = _Fetch(client, limits, auth, dict(headers or {}), resolver)
    try:
        async with asyncio.timeout(limits.total_timeout):
            return await fetch.run(_parse(url))
    except TimeoutError as exc:
        raise DownloadFailed("media download timed out", transient=True) from exc


def _parse(url: str | httpx.URL) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise RefusedUrl("malformed media URL") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise RefusedUrl(f"media URL scheme {parsed.scheme or 'none'!r} refused")
    return parsed


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


@dataclass
class _Fetch:
    client: httpx.AsyncClient
    limits: DownloadLimits
    auth: tuple[str, str] | None
    headers: dict[str, str]
    resolver: Resolver

    async def run(self, url: httpx.URL) -> Downloaded:
        origin = _origin(url)
        for _ in range(self.limits.max_redirects + 1):
            request = await self._request(url, trusted=_origin(url) == origin)
            auth = httpx.BasicAuth(*self.auth) if self.auth and _origin(url) == origin else None
            try:
                response = await self.client.send(
                    request, auth=auth, stream=True, follow_redirects=False
                )
                try:
                    location = _redirect(response)
                    if location is None:
                        return await self._body(response, url.host)
                finally:
                    await response.aclose()
            except httpx.TransportError as exc:
                raise DownloadFailed(
                    f"media download from {url.host} failed: {type(exc).__name__}", transient=True
                ) from exc
            url = _parse(url.join(location))
        raise DownloadFailed("too many redirects", transient=False)

    async def _request(self, url: httpx.URL, *, trusted: bool) -> httpx.Request:
        address = await self._address(url)
        headers = {**(self.headers if trusted else {}), "Accept-Encoding": "identity"}
        extensions: dict[str, str] = {}
        if self.limits.pin_addresses:
            headers["Host"] = url.netloc.decode("ascii")
            # The pool knows this connection by its IP only; closing it after the response
            # keeps a TLS session checked for one name from serving another name later.
            headers["Connection"] = "close"
            if url.scheme == "https":
                extensions["sni_hostname"] = url.host
            url = url.copy_with(host=str(address))
        timeout = httpx.Timeout(self.limits.read_timeout, connect=self.limits.connect_timeout)
        return self.client.build_request(
            "GET", url, headers=headers, extensions=extensions, timeout=timeout
        )

    async def _address(self, url: httpx.URL) -> IPAddress:
        """The one address to connect to; every address the name has must be allowed."""
        host = url.host
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            names = [host] if is_ip_literal(host) else list(await self.resolver(host, port))
        except OSError as exc:
            transient = getattr(exc, "errno", None) != socket.EAI_NONAME
            raise DownloadFailed(f"cannot resolve {host}", transient=transient) from exc
        try:
            addresses = [_normalise(ip_address(name.split("%", 1)[0])) for name in names]
        except ValueError as exc:
            raise DownloadFailed(f"bad address for {host}", transient=False) from exc
        if not addresses:
            raise DownloadFailed(f"cannot resolve {host}", transient=True)
        for address in addresses:
            if not self.limits.allows(address):
                raise RefusedUrl(f"media host {host} resolves to a non-public address")
        return addresses[0]

    async def _body(self, response: httpx.Response, host: str) -> Downloaded:
        _check_status(response, host)
        declared = response.headers.get("content-length", "")
        if declared.strip().isdigit() and int(declared) > self.limits.max_bytes:
            raise TooLarge(self.limits.max_bytes)
        data = bytearray()
        media: Sniffed | None = None
        async for chunk in response.aiter_raw():
            data += chunk
            if len(data) > self.limits.max_bytes:
                raise TooLarge(self.limits.max_bytes)
            if media is None and len(data) >= SNIFF_BYTES:
                media = sniff(data)
        return Downloaded(bytes(data), media or sniff(data), host)


def is_ip_literal(host: str) -> bool:
    try:
        ip_address(host)
    except ValueError:
        return False
    return True


def _normalise(address: IPAddress) -> IPAddress:
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _redirect(response: httpx.Response) -> str | None:
    if response.status_code not in _REDIRECTS:
        return None
    location = str(response.headers.get("location", ""))
    if not location:
        raise DownloadFailed("redirect without a location", transient=False)
    return location


def _check_status(response: httpx.Response, host: str) -> None:
    status = response.status_code
    if status == 200:
        return
    transient = status in _TRANSIENT_STATUS or status >= 500
    raise DownloadFailed(f"{host} answered {status}", transient=transient, status=status)
