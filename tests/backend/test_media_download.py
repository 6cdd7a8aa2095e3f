"""`download`: safe fetching of provider media against a fake on 127.0.0.1; DNS is a dictionary.

Sizes are capped while streaming, redirects are followed by hand and re-checked, addresses are
checked and pinned, and provider credentials never leave the origin they were meant for.
"""

from __future__ import annotations

import asyncio
import base64
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from backend.media import (
    DownloadFailed,
    DownloadLimits,
    RefusedUrl,
    TooLarge,
    UnsupportedMedia,
    download,
)
from backend.media.download import is_public, system_resolver
from tests.backend.media_helpers import JPEG, LOCAL, serve_provider


@pytest.fixture(scope="module")
def provider() -> Iterator[tuple[str, str, dict[str, Any]]]:
    with serve_provider() as served:
        yield served


async def resolve_table(host: str, port: int) -> list[str]:
    table = {
        "media.test": ["127.0.0.1"],
        "cdn.test": ["203.0.113.9", "93.184.216.34"],
        "public.test": ["93.184.216.34"],
        "rebind.test": ["93.184.216.34", "10.0.0.7"],
        "loopback.test": ["127.0.0.1"],
        "v6loop.test": ["::1"],
    }
    if host not in table:
        raise socket.gaierror(socket.EAI_NONAME, "unknown host")
    return table[host]


async def fetch(url: str, limits: DownloadLimits = LOCAL, **kwargs: Any) -> Any:
    # A client that would follow redirects by itself: `download` must not let it.
    async with httpx.AsyncClient(follow_redirects=True) as client:
        return await download(url, client=client, limits=limits, resolver=resolve_table, **kwargs)


async def test_download_a_photo_by_name_pins_the_checked_address(provider: Any) -> None:
    first, _, seen = provider
    port = httpx.URL(first).port
    got = await fetch(f"http://media.test:{port}/photo")
    assert got.data == JPEG and got.media.mime == "image/jpeg" and got.host == "media.test"
    assert seen["host"] == f"media.test:{port}"  # connected to 127.0.0.1, Host kept


async def test_download_trusts_bytes_not_the_content_type(provider: Any) -> None:
    first, _, _ = provider
    with pytest.raises(UnsupportedMedia, match="HTML"):
        await fetch(f"{first}/image-jpeg-200")
    assert (await fetch(f"{first}/text-plain-200")).media.mime == "image/png"


async def test_download_aborts_a_stream_past_the_cap(provider: Any) -> None:
    first, _, seen = provider
    limits = DownloadLimits(max_bytes=256 * 1024, allowed_networks=("127.0.0.1/32",))
    with pytest.raises(TooLarge):
        await fetch(f"{first}/endless", limits)  # no Content-Length at all
    await asyncio.sleep(0.2)
    assert seen["sent"] < 64 * 1024 * 1024  # the endless body was abandoned, not drained


async def test_download_refuses_a_declared_size_past_the_cap_before_reading(
    provider: Any,
) -> None:
    first, _, _ = provider
    with pytest.raises(TooLarge):
        await fetch(f"{first}/declared-huge")


async def test_download_redirects_are_followed_three_times_at_most(provider: Any) -> None:
    first, _, seen = provider
    assert (await fetch(f"{first}/hop/3")).data == JPEG
    with pytest.raises(DownloadFailed, match="too many redirects") as error:
        await fetch(f"{first}/hop/4")
    assert not error.value.transient
    seen["hits"] = 0
    with pytest.raises(DownloadFailed, match="too many redirects"):
        await fetch(f"{first}/loop")
    assert seen["hits"] == 4


@pytest.mark.parametrize(
    "target",
    [
        "http://10.0.0.5/photo",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/photo",
        "http://v6loop.test:8080/photo",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_FLUSHALL",
    ],
)
async def test_download_checks_every_redirect_target(provider: Any, target: str) -> None:
    first, _, _ = provider
    with pytest.raises(RefusedUrl):  # the fake itself is allowed, its redirect target is not
        await fetch(str(httpx.URL(f"{first}/redirect", params={"to": target})))


@pytest.mark.parametrize(
    ("path", "status", "transient"),
    [("/text-plain-500", 500, True), ("/text-html-429", 429, True), ("/text-html-404", 404, False)],
)
async def test_download_http_errors_say_whether_to_retry(
    provider: Any, path: str, status: int, transient: bool
) -> None:
    first, _, _ = provider
    with pytest.raises(DownloadFailed) as error:
        await fetch(first + path)
    assert (error.value.status, error.value.transient) == (status, transient)


async def test_download_connection_refused_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: nobody answers
        with pytest.raises(DownloadFailed) as error:
            await fetch(f"http://127.0.0.1:{port}/photo")
    assert error.value.transient and not isinstance(error.value, RefusedUrl)


async def test_download_total_deadline_stops_a_slow_drip(provider: Any) -> None:
    first, _, _ = provider
    limits = DownloadLimits(total_timeout=0.5, allowed_networks=("127.0.0.1/32",))
    with pytest.raises(DownloadFailed, match="timed out") as error:
        await fetch(f"{first}/slow", limits)
    assert error.value.transient


async def test_twilio_basic_auth_goes_to_the_original_origin_only(provider: Any) -> None:
    first, second, seen = provider
    with pytest.raises(DownloadFailed) as error:
        await fetch(f"{first}/twilio")
    assert error.value.status == 401
    assert (await fetch(f"{first}/twilio", auth=("ACsid", "token"))).data == JPEG

    seen["auth"].clear()
    away = str(httpx.URL(f"{first}/redirect", params={"to": f"{second}/photo"}))
    same = str(httpx.URL(f"{first}/redirect", params={"to": "/photo"}))
    await fetch(away, auth=("ACsid", "token"))  # e.g. Twilio → a signed storage URL
    await fetch(same, auth=("ACsid", "token"))
    assert seen["auth"][0] is None
    assert seen["auth"][1] == "Basic " + base64.b64encode(b"ACsid:token").decode()


class NoNetwork(httpx.AsyncBaseTransport):
    """Records what would have been sent; answers with a JPEG."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, stream=httpx.ByteStream(JPEG))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://127.1/x",  # shorthand, resolved by the system resolver
        "http://2130706433/x",  # 127.0.0.1 as one number
        "http://10.1.2.3/x",
        "http://172.16.0.1/x",
        "http://192.168.1.1/x",
        "http://100.64.0.1/x",  # carrier-grade NAT
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0/x",
        "http://[::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://[fe80::1]/x",
        "http://[fd00::1]/x",
        "http://[64:ff9b::a00:1]/x",  # NAT64 of 10.0.0.1
        "http://224.0.0.1/x",
        "http://loopback.test/x",
        "http://rebind.test/x",  # one public and one private answer
        "ftp://public.test/x",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "http:///nohost",
    ],
)
async def test_download_refuses_non_public_targets_without_connecting(url: str) -> None:
    async def resolver(host: str, port: int) -> list[str]:
        if host in ("127.1", "2130706433"):
            return await system_resolver(host, port)  # numeric forms: no DNS query
        return await resolve_table(host, port)

    transport = NoNetwork()
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(RefusedUrl):
            await download(url, client=client, resolver=resolver)
    assert transport.requests == []


async def test_download_of_a_public_name_connects_to_the_checked_address() -> None:
    transport = NoNetwork()
    async with httpx.AsyncClient(transport=transport) as client:
        url = "https://public.test/media/abc?sig=1"
        got = await download(url, client=client, resolver=resolve_table)
        with pytest.raises(DownloadFailed) as error:
            await download("https://nowhere.test/x", client=client, resolver=resolve_table)
    assert got.data == JPEG and not error.value.transient
    (request,) = transport.requests
    assert request.url.host == "93.184.216.34" and request.url.path == "/media/abc"
    assert request.headers["host"] == "public.test"
    assert request.extensions["sni_hostname"] == "public.test"  # TLS still checks the name
    assert request.headers["accept-encoding"] == "identity"
    assert request.headers["connection"] == "close"  # never reused for another name


async def test_download_without_pinning_still_checks_addresses() -> None:
    transport = NoNetwork()
    limits = DownloadLimits(pin_addresses=False)  # behind an HTTP egress proxy
    async with httpx.AsyncClient(transport=transport) as client:
        await download(
            "https://public.test/a", client=client, limits=limits, resolver=resolve_table
        )
        with pytest.raises(RefusedUrl):
            await download(
                "https://rebind.test/a", client=client, limits=limits, resolver=resolve_table
            )
    (request,) = transport.requests
    assert request.url.host == "public.test" and "sni_hostname" not in request.extensions


async def test_download_counts_bytes_not_the_declared_length() -> None:
    def lying(request: httpx.Request) -> httpx.Response:
        body = httpx.ByteStream(JPEG[:64] + bytes(300_000))
        return httpx.Response(200, headers={"content-length": "100"}, stream=body)

    limits = DownloadLimits(max_bytes=256 * 1024)
    async with httpx.AsyncClient(transport=httpx.MockTransport(lying)) as client:
        with pytest.raises(TooLarge):
            await download(
                "http://public.test/x", client=client, limits=limits, resolver=resolve_table
            )


def test_is_public() -> None:
    from ipaddress import ip_address

    assert is_public(ip_address("93.184.216.34"))
    assert is_public(ip_address("2001:4860:4860::8888"))
    assert not is_public(ip_address("2002:7f00:1::"))  # 6to4 wrapping 127.0.0.1
    assert not is_public(ip_address("198.18.0.1"))
