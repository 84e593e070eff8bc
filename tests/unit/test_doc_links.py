"""Every relative link of README.md and docs/*.md leads somewhere: the file exists, and an
anchor (`page.md#section`) names a heading of that page as GitHub spells it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ..helpers import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```.*?^```", flags=re.MULTILINE | re.DOTALL)
CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]\n]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", flags=re.MULTILINE)


def prose(text: str) -> str:
    """The text without code blocks and inline code (a link there is not a link)."""
    return CODE.sub("``", FENCE.sub("", text))


def links(text: str) -> list[str]:
    """The targets of the Markdown links and images in `text`, code left out."""
    found = LINK.findall(prose(text))
    return [target for target in found if not re.match(r"^[a-z][a-z0-9+.-]*:", target)]  # http:, mailto:, ...


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its text
    return re.sub(r"[^\w\- ]", "", text.replace("`", "").strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading anchor of a Markdown page (a repeated heading gets -1, -2, ...)."""
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(FENCE.sub("", page.read_text())):
        base = slug(heading)
        count = seen.get(base, 0)
        found.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return found


def all_links() -> list[tuple[str, str]]:
    return [(str(page.relative_to(ROOT)), target) for page in PAGES for target in links(page.read_text())]


def test_the_pages_link_to_each_other() -> None:
    """The check has something to check: the README links every page of docs/."""
    linked = {(ROOT / target.split("#")[0]).resolve() for page, target in all_links() if page == "README.md"}
    assert {page.resolve() for page in PAGES[1:]} <= linked


@pytest.mark.parametrize(("page", "target"), all_links())
def test_a_relative_link_leads_to_a_file_and_its_heading(page: str, target: str) -> None:
    path, _, anchor = target.partition("#")
    file = (ROOT / page).parent / path if path else ROOT / page
    assert file.resolve().is_relative_to(ROOT) and file.exists(), f"{page}: {target} leads nowhere"
    if anchor:
        assert file.suffix == ".md", f"{page}: {target} has an anchor into a file that is not Markdown"
        assert anchor in anchors(file), f"{page}: {target}: no such heading in {file.resolve().relative_to(ROOT)}"


def test_the_slugs_are_githubs() -> None:
    assert slug("Why float32 ships, not int8") == "why-float32-ships-not-int8"
    assert slug("`POST /feedback`: was the answer right?") == "post-feedback-was-the-answer-right"
    assert slug("What `make train` runs") == "what-make-train-runs"
