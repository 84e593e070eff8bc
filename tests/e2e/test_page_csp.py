"""The page works under the Content-Security-Policy CloudFront gives it (template.yaml's
SiteHeadersPolicy, resolved as for a stack in eu-west-1): loading, the breed list and a
photo's answer raise no CSP violation in real headless Chromium. The local server stands in
for the page's origin (its API is 'self' here), the header is added by a Playwright route."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ..helpers import FIXTURES
from ..infrastructure.stack import csp, translate
from .test_page import browser, pytestmark, site  # noqa: F401 - fixtures and the skip

RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
"""


def header(policy: dict[str, list[str]]) -> str:
    return "; ".join(" ".join([directive, *sources]) for directive, sources in policy.items())


def open_with_csp(browser, site: str, policy: str) -> object:  # noqa: F811
    """A fresh page whose document comes with this Content-Security-Policy header."""

    def with_header(route: object) -> None:
        response = route.fetch()
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": policy})

    page = browser.new_context().new_page()
    page.add_init_script(RECORD_VIOLATIONS)
    page.route(site, with_header)
    page.goto(site)
    return page


@pytest.fixture(scope="module")
def page_csp() -> str:
    """The page's Content-Security-Policy header as the deployed stack sends it."""
    return header(csp(translate(), "eu-west-1", per_ip=False))


def test_the_page_answers_a_photo_under_its_csp(browser, site: str, page_csp: str) -> None:  # noqa: F811
    page = open_with_csp(browser, site, page_csp)
    try:
        page.wait_for_selector("body[data-breeds]")
        page.set_input_files("#file-input", str(FIXTURES / "cat_chelsea.jpg"))
        page.wait_for_selector("#predictions li:nth-child(5)", timeout=30_000)  # wait_for_function would eval: refused
        assert page.locator("#predictions li").count() == 5
        assert page.evaluate("window.cspViolations") == []
    finally:
        page.context.close()


def test_a_violation_would_be_seen(browser, site: str, page_csp: str) -> None:  # noqa: F811
    """The check above can fail: the same page under a policy without its stylesheet."""
    stricter: Callable[[str], str] = lambda text: text.replace("style-src 'self'", "style-src 'none'")  # noqa: E731
    page = open_with_csp(browser, site, stricter(page_csp))
    try:
        page.wait_for_selector("body[data-breeds]")
        assert any(v.startswith("style-src") for v in page.evaluate("window.cspViolations"))
    finally:
        page.context.close()
