"""The page's feedback flow in headless Chromium against the local server, with the real
handler and model and feedback kept in a temporary folder (as `make run` keeps it in
feedback-local/): "No, it's a Korat" with consent keeps the photo and its record, the export
script puts it under Korat/, and the delete button (or the deletion link) removes both;
without consent nothing is written. Screenshots of each state go to artifacts/screenshots/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from catbreed.feedback import FeedbackDesk
from catbreed.feedback_store import FolderStore
from catbreed.gateway import Gateway
from catbreed.service import Service
from catbreed_local.feedback_export import export

from ..helpers import FIXTURES, LOOPBACK_ONLY, serving
from . import test_page
from .test_page import NO_AXE, NO_AXE_REASON, axe_violations, shoot, wait_for_answer

browser, open_page = test_page.browser, test_page.open_page  # the page tests' fixtures, over this module's site

CAT = str(FIXTURES / "cat_chelsea.jpg")


@pytest.fixture(scope="module")
def feedback_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("feedback") / "feedback-local"


@pytest.fixture(scope="module")
def site(classifier: Any, feedback_dir: Path) -> Iterator[str]:
    """The local server (page + API) with feedback kept in `feedback_dir`."""
    gateway = Gateway(Service(classifier, LOOPBACK_ONLY, feedback=FeedbackDesk(FolderStore(feedback_dir))))
    with serving(gateway.handle) as url:
        yield f"{url}/"


@pytest.fixture(autouse=True)
def empty_folder(feedback_dir: Path) -> Iterator[None]:
    yield
    for path in sorted(feedback_dir.rglob("*"), reverse=True) if feedback_dir.exists() else []:
        path.unlink() if path.is_file() else path.rmdir()


def kept(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def answered(page) -> str:
    page.set_input_files("#file-input", CAT)
    wait_for_answer(page)
    page.wait_for_selector("#feedback:not([hidden])")
    return page.inner_text("#predictions .prediction:first-child .breed")


def say_it_is(page, label: str, consent: bool) -> None:
    page.click("#feedback-no")
    page.select_option("#feedback-label", label)
    if consent:
        page.check("#feedback-consent")
    page.click("#feedback-send")
    page.wait_for_selector("#feedback-form[hidden]", state="attached")


def test_no_its_a_korat_with_consent_is_kept_exported_and_deleted(open_page, feedback_dir: Path, tmp_path: Path) -> None:
    page = open_page()
    assert answered(page) != "Korat"
    assert page.is_visible("#feedback-question") and not page.is_visible("#feedback-label")
    shoot(page, "feedback-asked")
    page.click("#feedback-no")
    assert page.evaluate("document.activeElement.id") == "feedback-label"
    assert page.is_checked("#feedback-consent") is False  # unticked by default
    page.select_option("#feedback-label", "Korat")
    page.check("#feedback-consent")
    shoot(page, "feedback-no-korat")
    page.click("#feedback-send")
    page.wait_for_selector("#feedback-kept:not([hidden])")
    assert "Thank you" in page.inner_text("#feedback-status")
    shoot(page, "feedback-thanks-kept")

    (record_dir,) = [p for p in feedback_dir.iterdir() if p.is_dir()]
    assert kept(feedback_dir) == ["photo.jpg", "record.json"]
    record = json.loads((record_dir / "record.json").read_text())
    assert (record["verdict"], record["label"]) == ("wrong", "Korat")
    out = tmp_path / "feedback"
    assert export(FolderStore(feedback_dir), out).photos == 1
    assert [p.name for p in (out / "Korat").iterdir()] == [f"{record_dir.name}.jpg"]

    page.click("#feedback-delete")
    page.wait_for_selector("#feedback-kept[hidden]", state="attached")
    assert "deleted" in page.inner_text("#feedback-status")
    assert kept(feedback_dir) == []
    shoot(page, "feedback-deleted")


def test_the_next_photo_asks_for_consent_afresh(open_page, feedback_dir: Path) -> None:
    """Consent is for one photo: after a kept one, the next photo's form starts unticked, and
    sending it as it is keeps nothing more."""
    page = open_page()
    answered(page)
    page.click("#feedback-yes")
    page.check("#feedback-consent")
    page.click("#feedback-send")
    page.wait_for_selector("#feedback-kept:not([hidden])")
    assert kept(feedback_dir) == ["photo.jpg", "record.json"]
    page.set_input_files("#file-input", str(FIXTURES / "coffee.jpg"))
    page.wait_for_selector("#feedback-form:not([hidden])")
    page.wait_for_selector("#feedback-kept[hidden]", state="attached")
    assert page.is_checked("#feedback-consent") is False
    page.click("#feedback-yes")
    page.click("#feedback-send")
    page.wait_for_selector("#feedback-form[hidden]", state="attached")
    assert "Thank you" in page.inner_text("#feedback-status")
    assert kept(feedback_dir) == ["photo.jpg", "record.json"]  # still only the first photo


def test_without_consent_nothing_is_written(open_page, feedback_dir: Path) -> None:
    page = open_page()
    answered(page)
    say_it_is(page, "mix", consent=False)
    assert "Thank you" in page.inner_text("#feedback-status") and page.is_hidden("#feedback-kept")
    assert kept(feedback_dir) == []
    shoot(page, "feedback-thanks")


def test_yes_is_sent_as_right(open_page, feedback_dir: Path) -> None:
    page = open_page()
    breed = answered(page)
    page.click("#feedback-yes")
    assert page.is_hidden("#feedback-label")
    page.check("#feedback-consent")
    page.click("#feedback-send")
    page.wait_for_selector("#feedback-kept:not([hidden])")
    (record,) = [json.loads(p.read_text()) for p in feedback_dir.rglob("record.json")]
    assert (record["verdict"], record["label"], record["answer"]["predictions"][0]["breed"]) == ("right", None, breed)


def test_another_breed_asks_its_name_and_the_deletion_link_works_later(open_page, feedback_dir: Path) -> None:
    page = open_page(phone=True)
    answered(page)
    page.click("#feedback-no")
    page.select_option("#feedback-label", "other")
    assert page.evaluate("document.activeElement.id") == "feedback-other"
    page.click("#feedback-send")  # no name yet: asked for it, nothing sent
    assert "Type the breed" in page.inner_text("#feedback-status") and kept(feedback_dir) == []
    page.fill("#feedback-other", "  Thai  ")
    page.check("#feedback-consent")
    shoot(page, "feedback-other-breed", widths=(390,))
    page.click("#feedback-send")
    page.wait_for_selector("#feedback-kept:not([hidden])")
    (record,) = [json.loads(p.read_text()) for p in feedback_dir.rglob("record.json")]
    assert (record["label"], record["label_text"]) == ("other", "Thai")
    link = page.get_attribute("#feedback-delete-link", "href")
    assert record["id"] in link and "#withdraw=" in link

    later = open_page(phone=True)
    later.goto(later.url.split("#")[0] + link.split("/")[-1])
    later.reload()
    later.wait_for_selector("#withdraw:not([hidden])")
    shoot(later, "feedback-withdraw-link", widths=(390,))
    later.click("#withdraw-button")
    later.wait_for_selector("#withdraw-button[hidden]", state="attached")
    assert "deleted" in later.inner_text("#withdraw-status")
    assert kept(feedback_dir) == []


def test_the_whole_flow_works_with_the_keyboard(open_page, feedback_dir: Path) -> None:
    page = open_page()
    answered(page)
    page.focus("#feedback-no")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "feedback-label"
    page.keyboard.type("Korat")  # a closed native select picks by typing
    assert page.input_value("#feedback-label") == "Korat"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "feedback-consent"
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "feedback-send"
    page.keyboard.press("Enter")
    page.wait_for_selector("#feedback-kept:not([hidden])")
    assert page.evaluate("document.activeElement.id") == "feedback-status"
    assert kept(feedback_dir) == ["photo.jpg", "record.json"]


def test_a_link_answer_cannot_keep_a_photo_and_a_failed_photo_gets_no_question(open_page, photo_server: str) -> None:
    page = open_page()
    page.fill("#url-input", f"{photo_server}/cat.jpg")
    page.press("#url-input", "Enter")
    wait_for_answer(page)
    page.click("#feedback-no")
    assert page.is_hidden("#feedback-consent")  # the photo is someone's web page, not sent by the owner
    page.fill("#url-input", "ftp://photos.test/cat.jpg")  # refused by the page itself, nothing in between
    page.press("#url-input", "Enter")
    assert page.is_visible("#message") and page.is_hidden("#feedback")
    page.set_input_files("#file-input", str(FIXTURES / "README.md"))
    wait_for_answer(page)
    assert page.inner_text("#message") and page.is_hidden("#feedback")


def test_breeds_offered_are_the_apis(open_page) -> None:
    page = open_page()
    answered(page)
    offered = page.eval_on_selector_all("#feedback-breeds option", "options => options.map(o => o.value)")
    from catbreed.model import DEFAULT_MODEL_DIR

    assert offered == json.loads((DEFAULT_MODEL_DIR / "model_card.json").read_text())["breeds"]


@pytest.mark.skipif(NO_AXE, reason=NO_AXE_REASON)
@pytest.mark.parametrize("phone", [False, True], ids=["1280", "390"])
def test_axe_finds_nothing_in_the_feedback_flow(open_page, phone: bool) -> None:
    page = open_page(phone=phone)
    answered(page)
    problems = {"asked": axe_violations(page)}
    page.click("#feedback-no")
    page.select_option("#feedback-label", "other")
    page.check("#feedback-consent")
    problems["correcting"] = axe_violations(page)
    page.click("#feedback-send")
    problems["a name is missing"] = axe_violations(page)
    page.fill("#feedback-other", "Thai")
    page.click("#feedback-send")
    page.wait_for_selector("#feedback-kept:not([hidden])")
    problems["thanks, kept"] = axe_violations(page)
    link = page.get_attribute("#feedback-delete-link", "href")
    page.click("#feedback-delete")
    page.wait_for_selector("#feedback-kept[hidden]", state="attached")
    problems["deleted"] = axe_violations(page)
    page.goto(page.url.split("#")[0] + link.split("/")[-1])
    page.reload()
    page.wait_for_selector("#withdraw:not([hidden])")
    problems["deletion link"] = axe_violations(page)
    assert all(not found for found in problems.values()), problems
