"""The page in real headless Chromium (Debian's, driven by Playwright) against the local
server with the real handler: upload, paste a URL, a non-image, a non-cat, the keyboard,
a network failure, phone and desktop screenshots (kept in artifacts/screenshots/)."""

from __future__ import annotations

import base64
import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import FIXTURES

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--metrics-recording-only",
]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


@pytest.fixture(scope="module")
def site(local_api: str) -> str:
    return f"{local_api}/"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser, site: str) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(site)
    yield page
    context.close()


def wait_for_answer(page) -> None:
    page.wait_for_selector("#busy", state="hidden", timeout=30_000)
    page.wait_for_function("document.querySelector('#message').textContent.length > 0", timeout=30_000)


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def bars(page) -> list[tuple[str, str]]:
    return [
        (li.query_selector(".breed").inner_text(), li.query_selector(".percent").inner_text())
        for li in page.query_selector_all("#predictions .prediction")
    ]


def test_uploading_a_cat_photo_shows_five_labelled_bars(page) -> None:
    page.set_input_files("#file-input", str(FIXTURES / "cat_chelsea.jpg"))
    wait_for_answer(page)
    shown = bars(page)
    assert len(shown) == 5
    assert all(name and percent.endswith("%") for name, percent in shown)
    assert "most likely breeds" in page.inner_text("#message")
    assert page.get_attribute("#preview", "src").startswith("data:image/jpeg")
    assert "Sphynx" in page.inner_text("footer")  # the breed list came from GET /breeds
    shoot(page, "desktop-upload")


def test_pasting_a_url_shows_five_bars(page, photo_server: str) -> None:
    page.fill("#url-input", f"{photo_server}/cat.jpg")
    page.click("#url-form button[type=submit]")
    wait_for_answer(page)
    assert len(bars(page)) == 5


def test_a_file_that_is_not_an_image_gets_a_readable_error(page) -> None:
    page.set_input_files(
        "#file-input", files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"shopping list: milk, tuna"}]
    )
    wait_for_answer(page)
    message = page.inner_text("#message")
    assert "isn't a photo we can read" in message
    assert "unsupported_image" not in message
    assert bars(page) == []
    shoot(page, "desktop-not-an-image")


def test_a_photo_without_a_cat_says_so(page) -> None:
    page.set_input_files("#file-input", str(FIXTURES / "coffee.jpg"))
    wait_for_answer(page)
    assert "doesn't look like a cat" in page.inner_text("#message")
    shoot(page, "desktop-not-a-cat")


def test_a_bad_link_and_a_network_failure_are_explained(page) -> None:
    page.fill("#url-input", "ftp://example.com/cat.jpg")
    page.press("#url-input", "Enter")
    assert "full http:// or https:// link" in page.inner_text("#message")
    page.route("**/predict", lambda route: route.abort())
    page.set_input_files("#file-input", str(FIXTURES / "cat_chelsea.jpg"))
    wait_for_answer(page)
    assert "couldn't reach" in page.inner_text("#message")


def test_the_page_works_with_the_keyboard_alone(page, photo_server: str) -> None:
    focused = []
    for _ in range(6):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.id"))
        if focused[-1] == "url-input":
            break
    assert focused[:2] == ["file-input", "camera-input"]
    assert focused[-1] == "url-input"
    page.keyboard.type(f"{photo_server}/cat.jpg")
    page.keyboard.press("Enter")
    wait_for_answer(page)
    assert len(bars(page)) == 5


def test_phone_sized_screen(browser, site: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(site)
    page.set_input_files("#file-input", str(FIXTURES / "cat_chelsea.jpg"))
    wait_for_answer(page)
    assert len(bars(page)) == 5
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the page scrolls sideways on a phone"
    shoot(page, "phone-upload")
    context.close()


def test_big_photos_are_shrunk_before_upload(page, tmp_path: Path) -> None:
    from PIL import Image

    big = tmp_path / "big.png"
    Image.open(FIXTURES / "cat_chelsea.jpg").resize((3000, 2000)).save(big)
    sent = []
    page.on("request", lambda request: sent.append(request.post_data) if request.url.endswith("/predict") else None)
    page.set_input_files("#file-input", str(big))
    wait_for_answer(page)
    assert len(bars(page)) == 5
    photo = base64.b64decode(json.loads(sent[-1])["image"])
    assert Image.open(io.BytesIO(photo)).size == (1024, 683)  # longest side 1024, aspect kept
    assert len(photo) < big.stat().st_size / 10
