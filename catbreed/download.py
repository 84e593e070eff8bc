"""Downloading a photo from a user-given URL without letting the URL reach inside.

A URL on a port other than 80 or 443 is refused before its host is resolved. The host is
resolved once per hop and every address it resolves to must be public; the connection then
goes to that checked address (SNI and Host keep the name), so a DNS answer cannot change
between check and use. Redirects are followed by hand, each hop checked again. The total time
limit holds from the first lookup to the last byte: the lookup runs on a thread of its own and
is given up when the time left is up (the C resolver cannot be interrupted; the abandoned
lookup ends by the resolver's own timeouts, resolv.conf's 5 s x 2 attempts by default), and a
watchdog shuts the hop's connection down when the time left is up, whatever the server sends
(trickled headers, a stalled TLS handshake, a dripping body). Reading stops past the byte
limit whatever Content-Length says.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError, ReadTimeoutError

from catbreed import __version__
from catbreed.errors import CatbreedError, DownloadFailed, DownloadTimeout, ImageTooLarge, InvalidRequest
from catbreed.limits import PHOTO_MAX_BYTES

USER_AGENT = f"catbreed/{__version__} (+https://github.com/catbreed/catbreed; photo fetcher)"
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"})
HOST_NAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?")
PORTS = (80, 443)  # the web's ports: a photo URL is no way into other services
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class DownloadLimits:
    """How far a download may go. `allowed_networks` opens private ranges, on any port
    (tests and local demos only)."""

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
        or getattr(address, "is_site_local", False)  # fec0::/10: deprecated, yet not "private" to Python 3.11
    )


def lookup(host: str, port: int, seconds: float) -> list:
    """socket.getaddrinfo(host, port) within `seconds` (TimeoutError past them): on a daemon
    thread, left to end by itself when the deadline comes first."""
    found: dict = {}

    def run() -> None:
        try:
            found["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except Exception as exc:  # handed to the caller below
            found["error"] = exc

    thread = threading.Thread(target=run, name="catbreed-lookup", daemon=True)
    thread.start()
    thread.join(max(seconds, 0))
    if thread.is_alive():
        raise TimeoutError(f"looking up {host!r} outlived {seconds:g} s")
    if "error" in found:
        raise found["error"]
    return found["infos"]


def resolve(host: str, port: int, limits: DownloadLimits, seconds: float | None = None) -> str:
    """Resolve `host` (within `seconds`, default the total timeout) and return an address to
    connect to, refusing non-public ones, and other ports than 80 and 443 unless the address
    is in an allowed network."""
    if host.lower().rstrip(".") in METADATA_HOSTS:
        raise forbidden_url("That address points at a cloud metadata service; use a public photo URL.")
    if port not in PORTS and not limits.allowed_networks:  # nothing to resolve for: refused before DNS
        raise wrong_port(port)
    try:
        infos = lookup(host, port, limits.total_timeout if seconds is None else seconds)
    except TimeoutError as exc:
        raise DownloadTimeout.after(limits.total_timeout) from exc
    except (socket.gaierror, UnicodeError) as exc:
        raise DownloadFailed(f"The photo's host name {host!r} could not be resolved.") from exc
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not addresses:
        raise DownloadFailed(f"The photo's host name {host!r} could not be resolved.")
    for address in addresses:
        if any(address in network for network in limits.allowed_networks):
            continue
        if not is_public(address):
            raise forbidden_url("That URL points at a private, local or reserved address; use a public photo URL.")
        if port not in PORTS:
            raise wrong_port(port)
    return str(addresses[0])


def wrong_port(port: int) -> InvalidRequest:
    return invalid_url(f"Only ports 80 and 443 are accepted in photo URLs, not {port}.")


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


class Watchdog:
    """Shuts a hop's connection down when its time is up, so no server can hold a read open:
    the one time limit of a hop from connect to last byte (the connect timeout aside)."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()

    def watch(self, sock: socket.socket) -> None:
        """The hop's socket, as soon as it is connected (before TLS)."""
        with self._lock:
            self._sock = sock
            if self.expired:
                _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            if self._sock is not None:
                _shut(self._sock)


def _shut(sock: socket.socket) -> None:
    """Wake any read blocked on `sock`: it sees the end of the stream."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class _Watched:
    """A urllib3 connection that hands its socket to the hop's watchdog."""

    def __init__(self, *args: object, watchdog: Watchdog, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.watchdog = watchdog

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        self.watchdog.watch(sock)
        return sock


class _WatchedHTTP(_Watched, HTTPConnection):
    pass


class _WatchedHTTPS(_Watched, HTTPSConnection):
    pass


def _pool_for(
    url: str, limits: DownloadLimits, watchdog: Watchdog, remaining: float
) -> tuple[urllib3.HTTPConnectionPool, str, dict]:
    """One hop: check the URL and resolve it; a pool bound to the checked address, the
    path and the headers (Host and SNI keep the name). Reads wait as long as the watchdog lets them."""
    scheme, host, port, path = check_url(url)
    address = resolve(host, port, limits, remaining)
    timeout = urllib3.Timeout(connect=min(limits.connect_timeout, remaining), read=None)
    name = f"[{host}]" if ":" in host else host
    headers = {
        "Host": name if port in PORTS else f"{name}:{port}",
        "User-Agent": USER_AGENT,
        "Accept": "image/*,*/*;q=0.5",
    }
    options = {"timeout": timeout, "retries": False, "maxsize": 1, "watchdog": watchdog}
    if scheme == "https":
        pool = urllib3.HTTPSConnectionPool(address, port, server_hostname=host, assert_hostname=host, **options)
        pool.ConnectionCls = _WatchedHTTPS
    else:
        pool = urllib3.HTTPConnectionPool(address, port, **options)
        pool.ConnectionCls = _WatchedHTTP
    return pool, path, headers


def _read_body(response: urllib3.BaseHTTPResponse, limits: DownloadLimits) -> bytes:
    """Read at most `max_bytes` (the watchdog ends the stream when time is up)."""
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limits.max_bytes:
        raise ImageTooLarge.over(limits.max_bytes)
    chunks, size = [], 0
    while chunk := response.read1(65536):
        size += len(chunk)
        if size > limits.max_bytes:
            raise ImageTooLarge.over(limits.max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


def download(url: str, limits: DownloadLimits = DEFAULT_LIMITS) -> bytes:
    """Fetch the photo at `url` under `limits`; raises the API's domain errors."""
    deadline = time.monotonic() + limits.total_timeout
    current = url
    for _hop in range(limits.max_redirects + 1):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DownloadTimeout.after(limits.total_timeout)
        with Watchdog(remaining) as watchdog:
            pool, path, headers = _pool_for(current, limits, watchdog, remaining)
            try:
                location, photo = _fetch(pool, path, headers, limits)
            except (CatbreedError, HTTPError, OSError) as exc:
                if watchdog.expired:  # whatever the cut-off stream looked like
                    raise DownloadTimeout.after(limits.total_timeout) from exc
                if isinstance(exc, CatbreedError):
                    raise
                raise _download_error(exc, limits) from exc
            if watchdog.expired:  # the stream ended because time was up, not because the photo did
                raise DownloadTimeout.after(limits.total_timeout)
        if location is None:
            return photo
        current = urljoin(current, location)
    raise DownloadFailed(f"The photo's URL redirected more than {limits.max_redirects} times.")


def _fetch(pool: urllib3.HTTPConnectionPool, path: str, headers: dict, limits: DownloadLimits) -> tuple[str | None, bytes]:
    """One hop's answer: (a redirect's location, b"") or (None, the photo)."""
    with pool:
        response = pool.urlopen("GET", path, headers=headers, redirect=False, preload_content=False, assert_same_host=False)
        try:
            if response.status in (301, 302, 303, 307, 308):
                location = response.headers.get("Location")
                if not location:
                    raise DownloadFailed("The photo's server sent a redirect without a location.")
                return location, b""
            if not 200 <= response.status < 300:
                raise DownloadFailed(f"The photo's server answered with HTTP {response.status}.")
            return None, _read_body(response, limits)
        finally:
            response.release_conn()
            response.close()


def _download_error(exc: BaseException, limits: DownloadLimits) -> CatbreedError:
    """The domain error for a failed connection: a timeout, or a failure."""
    if _is_timeout(exc):
        return DownloadTimeout.after(limits.total_timeout)
    if isinstance(exc, NewConnectionError):  # refused, unreachable (a subclass of ConnectTimeoutError)
        return DownloadFailed("The photo's server could not be reached.")
    return DownloadFailed("The photo could not be downloaded from that URL.")


def _is_timeout(exc: BaseException) -> bool:
    """urllib3 wraps timeouts in several ways; look down the chain."""
    while exc is not None:
        if isinstance(exc, (TimeoutError, ConnectTimeoutError, ReadTimeoutError)) and not isinstance(exc, NewConnectionError):
            return True
        exc = exc.__cause__ or exc.__context__ or getattr(exc, "reason", None)
        if not isinstance(exc, BaseException):
            return False
    return False
