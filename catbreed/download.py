"""Downloading a photo from a user-given URL without letting the URL reach inside.

The host is resolved once per hop and every address it resolves to must be public; the
connection then goes to that checked address (SNI and Host keep the name), so a DNS answer
cannot change between check and use. Redirects are followed by hand, each hop checked again.
Connect and total time limits apply, and reading stops past the byte limit whatever
Content-Length says.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import urllib3
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError, ReadTimeoutError

from catbreed import __version__
from catbreed.errors import DownloadFailed, DownloadTimeout, ImageTooLarge, InvalidRequest
from catbreed.limits import PHOTO_MAX_BYTES

USER_AGENT = f"catbreed/{__version__} (+https://github.com/catbreed/catbreed; photo fetcher)"
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"})
HOST_NAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?")
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class DownloadLimits:
    """How far a download may go. `allowed_networks` opens private ranges (tests only)."""

    max_bytes: int = PHOTO_MAX_BYTES
    connect_timeout: float = 3.0
    total_timeout: float = 10.0
    max_redirects: int = 3
    allowed_networks: tuple[Network, ...] = field(default_factory=tuple)


DEFAULT_LIMITS = DownloadLimits()


def forbidden_url(message: str) -> InvalidRequest:
    return InvalidRequest(message, code="forbidden_url")


def invalid_url(message: str) -> InvalidRequest:
    return InvalidRequest(message, code="invalid_url")


def embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...] | None:
    """The IPv4 addresses an IPv6 address carries, or None when it carries none.

    IPv4-mapped (::ffff:a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d), IPv4-compatible
    (::a.b.c.d), 6to4 (2002::/16), Teredo (2001::/32: server and client) and NAT64
    (64:ff9b::/96). Local-use NAT64 (64:ff9b:1::/48) places the address where its operator
    chooses, so it yields the unspecified address: never public.
    """
    value = int(address)
    if value >> 32 in (0, 0xFFFF, 0xFFFF0000) or address in NAT64:
        return (ipaddress.IPv4Address(value & 0xFFFFFFFF),)
    if address.sixtofour:
        return (address.sixtofour,)
    if address.teredo:
        return address.teredo
    if address in NAT64_LOCAL:
        return (ipaddress.IPv4Address(0),)
    return None


def is_public(address: Address) -> bool:
    """True for globally routable unicast addresses; an IPv6 address that carries IPv4
    addresses is public only when every one of them is."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = embedded_ipv4(address)
        if embedded is not None:
            return all(is_public(inner) for inner in embedded)
    return address.is_global and not (
        address.is_multicast
        or address.is_reserved
        or address.is_loopback
        or address.is_link_local
        or address.is_private
        or address.is_unspecified
    )


def resolve(host: str, port: int, limits: DownloadLimits) -> str:
    """Resolve `host` and return an address to connect to, refusing non-public ones."""
    if host.lower().rstrip(".") in METADATA_HOSTS:
        raise forbidden_url("That address points at a cloud metadata service; use a public photo URL.")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise DownloadFailed(f"The photo's host name {host!r} could not be resolved.") from exc
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not addresses:
        raise DownloadFailed(f"The photo's host name {host!r} could not be resolved.")
    for address in addresses:
        allowed = any(address in network for network in limits.allowed_networks)
        if not allowed and not is_public(address):
            raise forbidden_url("That URL points at a private, local or reserved address; use a public photo URL.")
    return str(addresses[0])


def valid_host(host: str) -> bool:
    """A DNS name (internationalized names allowed) or an IP address."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    return bool(HOST_NAME.fullmatch(ascii_host))


def check_url(url: str) -> tuple[str, str, int, str]:
    """Split and validate a URL: (scheme, host, port, path with query)."""
    if not isinstance(url, str) or not url.strip():
        raise invalid_url("The url must be a non-empty string.")
    if len(url) > 4096:
        raise invalid_url("The url is too long.")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise invalid_url("The url is not a valid address.") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise invalid_url("Only http and https photo URLs are accepted.")
    if not parts.hostname:
        raise invalid_url("The url has no host name.")
    if not valid_host(parts.hostname):
        raise invalid_url("The url's host name is not valid.")
    scheme = parts.scheme.lower()
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80), path


def _pool_for(url: str, limits: DownloadLimits, deadline: float) -> tuple[urllib3.HTTPConnectionPool, str, dict]:
    """One hop: check the URL and resolve it; a pool bound to the checked address, the
    path and the headers (Host and SNI keep the name)."""
    scheme, host, port, path = check_url(url)
    address = resolve(host, port, limits)
    remaining = max(deadline - time.monotonic(), 0.01)
    timeout = urllib3.Timeout(connect=min(limits.connect_timeout, remaining), read=remaining)
    name = f"[{host}]" if ":" in host else host
    headers = {
        "Host": name if port in (80, 443) else f"{name}:{port}",
        "User-Agent": USER_AGENT,
        "Accept": "image/*,*/*;q=0.5",
    }
    if scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address, port, timeout=timeout, retries=False, maxsize=1, server_hostname=host, assert_hostname=host
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False, maxsize=1)
    return pool, path, headers


def _read_body(response: urllib3.BaseHTTPResponse, limits: DownloadLimits, deadline: float) -> bytes:
    """Read at most `max_bytes`, giving up at the deadline."""
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limits.max_bytes:
        raise ImageTooLarge.over(limits.max_bytes)
    chunks, size = [], 0
    while True:
        if time.monotonic() > deadline:
            raise DownloadTimeout.after(limits.total_timeout)
        chunk = response.read1(65536)  # returns what has arrived, so the deadline is checked often
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limits.max_bytes:
            raise ImageTooLarge.over(limits.max_bytes)
        chunks.append(chunk)


def download(url: str, limits: DownloadLimits = DEFAULT_LIMITS) -> bytes:
    """Fetch the photo at `url` under `limits`; raises the API's domain errors."""
    deadline = time.monotonic() + limits.total_timeout
    current = url
    for _hop in range(limits.max_redirects + 1):
        pool, path, headers = _pool_for(current, limits, deadline)
        try:
            with pool:
                response = pool.urlopen(
                    "GET", path, headers=headers, redirect=False, preload_content=False, assert_same_host=False
                )
                try:
                    if response.status in (301, 302, 303, 307, 308):
                        location = response.headers.get("Location")
                        if not location:
                            raise DownloadFailed("The photo's server sent a redirect without a location.")
                        current = urljoin(current, location)
                        continue
                    if not 200 <= response.status < 300:
                        raise DownloadFailed(f"The photo's server answered with HTTP {response.status}.")
                    return _read_body(response, limits, deadline)
                finally:
                    response.release_conn()
                    response.close()
        except NewConnectionError as exc:  # refused, unreachable (a subclass of ConnectTimeoutError)
            raise DownloadFailed("The photo's server could not be reached.") from exc
        except (ConnectTimeoutError, ReadTimeoutError, TimeoutError) as exc:
            raise DownloadTimeout.after(limits.total_timeout) from exc
        except (HTTPError, OSError) as exc:
            if _is_timeout(exc):
                raise DownloadTimeout.after(limits.total_timeout) from exc
            raise DownloadFailed("The photo could not be downloaded from that URL.") from exc
    raise DownloadFailed(f"The photo's URL redirected more than {limits.max_redirects} times.")


def _is_timeout(exc: BaseException) -> bool:
    """urllib3 wraps timeouts in several ways; look down the chain."""
    while exc is not None:
        if isinstance(exc, (TimeoutError, ConnectTimeoutError, ReadTimeoutError)) and not isinstance(exc, NewConnectionError):
            return True
        exc = exc.__cause__ or exc.__context__ or getattr(exc, "reason", None)
        if not isinstance(exc, BaseException):
            return False
    return False
