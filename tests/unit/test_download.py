"""The safe downloader: what it fetches, and every way it refuses. Only 127.0.0.1 is ever
contacted; the network guard in conftest fails a test that tries anything else."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import socket
import threading

import pytest

from catbreed.download import DEFAULT_LIMITS, Watchdog, check_url, download, is_public, resolve
from catbreed.errors import DownloadFailed, DownloadTimeout, ImageTooLarge, InvalidRequest

from ..helpers import LOOPBACK_ONLY


def test_fetches_a_photo_from_an_allowed_address(photo_server: str, cat_jpeg: bytes) -> None:
    assert download(f"{photo_server}/cat.jpg", LOOPBACK_ONLY) == cat_jpeg


def test_follows_a_redirect_and_resolves_names(photo_server: str, cat_jpeg: bytes) -> None:
    port = photo_server.rsplit(":", 1)[1]
    assert download(f"{photo_server}/redirect?to=http://photos.test:{port}/cat.jpg", LOOPBACK_ONLY) == cat_jpeg


@pytest.mark.parametrize("url", ["http://127.0.0.1/cat.jpg", "http://localhost/cat.jpg", "https://[::1]/cat.jpg"])
def test_loopback_is_refused_by_default(url: str) -> None:
    with pytest.raises(InvalidRequest) as error:
        download(url)
    assert error.value.code == "forbidden_url"


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/cat.jpg",
        "http://172.16.5.4/cat.jpg",
        "http://192.168.1.1/cat.jpg",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://100.100.100.200/latest/meta-data/",
        "http://[::1]/cat.jpg",
        "http://[::ffff:127.0.0.1]/cat.jpg",
        "http://[fe80::1]/cat.jpg",
        "http://0.0.0.0/cat.jpg",
        "http://224.0.0.1/cat.jpg",
        "http://240.0.0.1/cat.jpg",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://intranet.test/cat.jpg",
        "http://metadata.test/latest/",
        "http://v6-local.test/cat.jpg",
        "http://2130706433/cat.jpg",
        "http://[fec0::1]/cat.jpg",  # site-local (deprecated): Python 3.11 calls it global
    ],
)
def test_private_local_reserved_and_metadata_addresses_are_refused(url: str) -> None:
    with pytest.raises(InvalidRequest) as error:
        download(url)
    assert error.value.code == "forbidden_url"


@pytest.mark.parametrize(
    "target", ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.2/", "http://[::1]/", "http://intranet.test/"]
)
def test_a_redirect_into_a_forbidden_address_is_refused(photo_server: str, target: str) -> None:
    with pytest.raises(InvalidRequest) as error:
        download(f"{photo_server}/redirect?to={target}", LOOPBACK_ONLY)
    assert error.value.code == "forbidden_url"


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/cat.jpg",
        "gopher://example.com/",
        "data:image/png;base64,iVBORw0KGgo=",
        "javascript:alert(1)",
        "not a url",
        "http://",
        "http://host:99999/",
    ],
)
def test_other_schemes_and_malformed_urls_are_invalid(url: str) -> None:
    with pytest.raises(InvalidRequest) as error:
        check_url(url)
    assert error.value.code == "invalid_url"


def test_public_addresses_are_public_and_nothing_is_contacted() -> None:
    assert is_public(ipaddress.ip_address("93.184.215.14"))
    assert is_public(ipaddress.ip_address("2606:4700::1111"))
    assert not is_public(ipaddress.ip_address("::ffff:10.0.0.1"))
    assert not is_public(ipaddress.ip_address("100.64.0.1"))


# IPv6 forms that carry an IPv4 address: (form, address carrying a private IPv4, the same form carrying 8.8.8.8)
EMBEDDING = [
    ("IPv4-mapped", "::ffff:127.0.0.1", "::ffff:8.8.8.8"),
    ("IPv4-translated", "::ffff:0:169.254.169.254", "::ffff:0:8.8.8.8"),
    ("IPv4-compatible", "::127.0.0.1", "::8.8.8.8"),
    ("6to4", "2002:7f00:1::1", "2002:808:808::1"),
    ("6to4 metadata", "2002:a9fe:a9fe::", "2002:808:808::"),
    ("Teredo", "2001:0:4136:e378:8000:63bf:80ff:fffe", "2001:0:4136:e378:8000:63bf:f7f7:f7f7"),  # client 127.0.0.1
    ("NAT64", "64:ff9b::a9fe:a9fe", "64:ff9b::808:808"),
]


@pytest.mark.parametrize(("form", "private", "public"), EMBEDDING, ids=[row[0] for row in EMBEDDING])
def test_ipv6_that_carries_a_private_ipv4_is_refused(form: str, private: str, public: str) -> None:
    with pytest.raises(InvalidRequest) as error:
        download(f"http://[{private}]/cat.jpg")
    assert error.value.code == "forbidden_url"
    assert not is_public(ipaddress.ip_address(private))
    assert is_public(ipaddress.ip_address(public))


def test_local_use_nat64_is_never_public() -> None:
    """64:ff9b:1::/48 puts the IPv4 address where its operator chooses: refused whatever it carries."""
    assert not is_public(ipaddress.ip_address("64:ff9b:1::808:808"))
    with pytest.raises(InvalidRequest):
        download("http://[64:ff9b:1::a9fe:a9fe]/latest/meta-data/")


def test_a_name_that_resolves_to_6to4_around_loopback_is_refused() -> None:
    with pytest.raises(InvalidRequest) as error:
        download("http://six-to-four.test/cat.jpg")
    assert error.value.code == "forbidden_url"


def test_every_resolved_address_is_checked_not_only_the_first() -> None:
    with pytest.raises(InvalidRequest) as error:
        download("http://public-then-private.test/cat.jpg")
    assert error.value.code == "forbidden_url"


def test_the_checked_address_is_the_one_connected_to(photo_server: str, cat_jpeg: bytes, monkeypatch) -> None:
    """DNS rebinding: the name answers 127.0.0.1 when checked and 10.9.9.9 after that; the
    download must connect to the address it checked (the network guard fails the test if
    anything reaches for 10.9.9.9)."""
    answers = iter(["127.0.0.1"])
    resolve_guarded = socket.getaddrinfo  # the network guard's resolver

    def rebinding(host: object, port: object, *args: object, **kwargs: object) -> list:
        if host == "rebinding.test":
            address = next(answers, "10.9.9.9")
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port or 0)))]
        return resolve_guarded(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    port = photo_server.rsplit(":", 1)[1]
    assert download(f"http://rebinding.test:{port}/cat.jpg", LOOPBACK_ONLY) == cat_jpeg


def test_over_size_body_with_content_length_stops_at_once(photo_server: str) -> None:
    with pytest.raises(ImageTooLarge):
        download(f"{photo_server}/huge-with-length", LOOPBACK_ONLY)


def test_over_size_body_without_content_length_stops_at_the_limit(photo_server: str) -> None:
    with pytest.raises(ImageTooLarge):
        download(f"{photo_server}/huge-no-length", LOOPBACK_ONLY)


@pytest.mark.parametrize("path", ["/cat.jpg", "/cat-no-length"])
def test_a_photo_of_exactly_the_limit_passes_one_byte_more_does_not(photo_server: str, cat_jpeg: bytes, path: str) -> None:
    exact = dataclasses.replace(LOOPBACK_ONLY, max_bytes=len(cat_jpeg))
    assert download(f"{photo_server}{path}", exact) == cat_jpeg
    with pytest.raises(ImageTooLarge):
        download(f"{photo_server}{path}", dataclasses.replace(exact, max_bytes=len(cat_jpeg) - 1))


def test_a_content_length_that_lies_does_not_lift_the_limit(photo_server: str) -> None:
    """The server says 1000 bytes and sends 12 MB chunked: the count of bytes read stops it."""
    with pytest.raises(ImageTooLarge):
        download(f"{photo_server}/lying-length", LOOPBACK_ONLY)


def test_a_server_that_never_answers_times_out(photo_server: str) -> None:
    with pytest.raises(DownloadTimeout):
        download(f"{photo_server}/hang", dataclasses.replace(LOOPBACK_ONLY, total_timeout=0.5))


def test_a_server_that_trickles_hits_the_total_limit(photo_server: str) -> None:
    """A byte every 50 ms never trips the read timeout; only the total limit stops it."""
    limits = dataclasses.replace(LOOPBACK_ONLY, total_timeout=0.5)
    with pytest.raises(DownloadTimeout, match=r"0\.5 s"):
        download(f"{photo_server}/slow", limits)


def test_a_body_without_a_length_cut_off_at_the_deadline_is_a_timeout_not_a_photo(photo_server: str) -> None:
    """The stream ends when the watchdog shuts it; with no Content-Length that end looks like
    the photo's, so only the deadline says the photo is not whole."""
    with pytest.raises(DownloadTimeout):
        download(f"{photo_server}/slow-no-length", dataclasses.replace(LOOPBACK_ONLY, total_timeout=0.5))


def test_a_lookup_that_never_answers_is_given_up_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """getaddrinfo cannot be interrupted: the download stops waiting for it when its time is up
    (the stuck lookup is released only after the download has answered)."""
    release, returned = threading.Event(), threading.Event()
    guarded = socket.getaddrinfo

    def stuck(host: object, *args: object, **kwargs: object) -> list:
        if host == "slow-dns.test":
            release.wait(30)
            returned.set()
        return guarded(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", stuck)
    try:
        with pytest.raises(DownloadTimeout, match=r"0\.3 s"):
            download("http://slow-dns.test/cat.jpg", dataclasses.replace(DEFAULT_LIMITS, total_timeout=0.3))
        assert not returned.is_set()
    finally:
        release.set()


def test_a_server_that_trickles_its_headers_hits_the_total_limit(photo_server: str) -> None:
    """A 404's header bytes every 50 ms for 4 s: no single read waits long, so only a
    deadline on the connection itself stops it at the 0.5 s limit (a downloader that waits
    for the whole header answers download_failed, 4 s later)."""
    with pytest.raises(DownloadTimeout) as error:
        download(f"{photo_server}/trickled-headers", dataclasses.replace(LOOPBACK_ONLY, total_timeout=0.5))
    assert error.value.code == "download_timeout"


def test_the_time_limit_spans_every_hop_of_a_redirect_chain(photo_server: str) -> None:
    """Two hops of 0.6 s each under a 1 s limit: each is within the limit, together they are
    not, so the second hop may only wait for what the first left."""
    with pytest.raises(DownloadTimeout) as error:
        download(f"{photo_server}/slow-hops/1", dataclasses.replace(LOOPBACK_ONLY, total_timeout=1.0))
    assert error.value.code == "download_timeout"


@pytest.mark.parametrize("url", ["http://public.test:6379/", "https://public.test:8443/cat.jpg", "http://public.test:22/"])
def test_public_hosts_are_fetched_on_web_ports_only(url: str) -> None:
    """Other ports are refused before any connection (the network guard fails the test otherwise)."""
    with pytest.raises(InvalidRequest) as error:
        download(url)
    assert error.value.code == "invalid_url"
    assert "80 and 443" in error.value.message


@pytest.mark.parametrize("url", ["https://example.com:8443/cat.jpg", "http://unknown.test:8080/cat.jpg"])
def test_other_ports_are_refused_before_the_name_is_looked_up(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Offline, a name that cannot be resolved on a wrong port is still the 400 of its port."""
    looked_up = []
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: looked_up.append(args) or [])
    with pytest.raises(InvalidRequest) as error:
        download(url)
    assert (error.value.code, looked_up) == ("invalid_url", [])


@pytest.mark.parametrize("port", [80, 443])
def test_the_web_ports_pass_the_check(port: int) -> None:
    assert resolve("public.test", port, DEFAULT_LIMITS) == "93.184.215.14"


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_every_redirect_status_is_followed_and_checked(photo_server: str, cat_jpeg: bytes, code: int) -> None:
    assert download(f"{photo_server}/redirect?code={code}&to=/cat.jpg", LOOPBACK_ONLY) == cat_jpeg
    with pytest.raises(InvalidRequest):
        download(f"{photo_server}/redirect?code={code}&to=http://10.0.0.1/", LOOPBACK_ONLY)


def test_three_redirects_are_followed_a_fourth_is_not(photo_server: str, cat_jpeg: bytes) -> None:
    assert download(f"{photo_server}/hops/3", LOOPBACK_ONLY) == cat_jpeg
    with pytest.raises(DownloadFailed, match="redirected more than 3"):
        download(f"{photo_server}/hops/4", LOOPBACK_ONLY)


@pytest.mark.parametrize("name", ["photos.test", "127.0.0.1"])
def test_the_request_names_the_host_and_asks_for_an_image(photo_server: str, name: str) -> None:
    host = f"{name}:{photo_server.rsplit(':', 1)[1]}"
    sent = json.loads(download(f"http://{host}/headers", LOOPBACK_ONLY))
    assert sent["host"] == host  # the name, though the connection goes to the checked address
    assert sent["user-agent"].startswith("catbreed/") and sent["accept"] == "image/*,*/*;q=0.5"


def test_redirect_loops_stop_after_three(photo_server: str) -> None:
    with pytest.raises(DownloadFailed, match="redirected more than 3"):
        download(f"{photo_server}/loop", LOOPBACK_ONLY)


def test_missing_pages_and_unknown_hosts_fail_to_download(photo_server: str) -> None:
    with pytest.raises(DownloadFailed, match="HTTP 404"):
        download(f"{photo_server}/missing.jpg", LOOPBACK_ONLY)
    with pytest.raises(DownloadFailed, match="could not be resolved"):
        download("http://no-such-host.invalid/cat.jpg", LOOPBACK_ONLY)


def test_a_refused_connection_fails_to_download() -> None:
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DownloadFailed):
        download(f"http://127.0.0.1:{port}/cat.jpg", LOOPBACK_ONLY)


def test_a_socket_connected_after_the_deadline_is_shut_at_once() -> None:
    """A hop whose connect outlasted its time hands the watchdog a socket after expiry: no
    read of it may wait."""
    with Watchdog(0.0) as watchdog:
        watchdog._timer.join()  # expired, before any socket was watched
        ours, theirs = socket.socketpair()
        with ours, theirs:
            watchdog.watch(ours)
            ours.settimeout(5)  # a bound for the test only: a shut socket reads its end at once
            assert watchdog.expired and ours.recv(1) == b""
