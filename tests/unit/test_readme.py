"""What README.md (and the docs/ pages it links) says a newcomer will meet is what they meet:
the template's memory default, the tests the light setup skips, and the check command
deploy.sh prints. (The commands it shows are run in tests/integration/test_readme_commands.py.)"""

from __future__ import annotations

import re
import subprocess

import yaml

from ..helpers import ROOT

WORDS = {1: "one test that needs", 2: "two tests that need", 3: "three tests that need", 4: "four tests that need"}


def docs_text() -> str:
    """README.md and every page under docs/, as one text (a section may move between them)."""
    return "\n".join(path.read_text() for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])


def template_parameters() -> dict:
    yaml.SafeLoader.add_multi_constructor("!", lambda loader, suffix, node: None)  # CloudFormation's short forms
    return yaml.safe_load((ROOT / "template.yaml").read_text())["Parameters"]


def test_the_memory_default_the_docs_state_is_the_templates() -> None:
    stated = re.findall(r"`MemorySize`\**\s+\(default ([\d,]+)\)", docs_text())
    assert stated, "the docs no longer state MemorySize's default"
    assert {int(value.replace(",", "")) for value in stated} == {template_parameters()["MemorySize"]["Default"]}


def fast_folders() -> list[str]:
    """The test folders `make test-fast` runs (its pytest line in the Makefile)."""
    recipe = (ROOT / "Makefile").read_text().split("\ntest-fast:", 1)[1].split("\n\n", 1)[0]
    (pytest_line,) = [line for line in recipe.splitlines() if "pytest" in line]
    return [word for word in pytest_line.split() if word.startswith("tests/")]


def test_the_docs_count_the_tests_the_light_setup_skips() -> None:
    """`make test-fast` installs no training stack nor cfn-lint: each test it runs that needs
    them skips itself."""
    calls = re.compile(r"^\s*pytest\.importorskip\(", flags=re.MULTILINE)  # a statement, not this line's words
    folders = fast_folders()
    assert "tests/unit" in folders
    skipping = sum(len(calls.findall(path.read_text())) for folder in folders for path in (ROOT / folder).glob("test_*.py"))
    text = " ".join(docs_text().split())
    assert WORDS[skipping] in text
    assert not any(phrase in text for count, phrase in WORDS.items() if count != skipping)


def test_the_check_command_deploy_prints_uses_the_projects_python() -> None:
    out = subprocess.run([str(ROOT / "scripts" / "deploy.sh"), "--dry-run"], capture_output=True, text=True, check=True).stdout
    (check,) = [line for line in out.splitlines() if line.startswith("Check it: ")]
    assert check.startswith("Check it: .venv/bin/python test_cloud.py --stack ")


def test_the_docs_say_what_make_bench_needs_and_how_long_it_takes() -> None:
    text = " ".join(docs_text().split())
    assert "`make bench` needs" in text, "the docs no longer say what make bench needs"
    said = text[text.index("`make bench` needs") :][:900]
    assert "dev setup" in said and "root" in said and "idle" in said
    assert re.search(r"takes (several|about|\d+) minutes", said) and re.search(r"\d+ s\b", said)


def test_the_readmes_front_door_lists_every_route_of_the_api() -> None:
    """The one table of routes (catbreed.gateway.ROUTES) is what the README names, no more, no less."""
    from catbreed.gateway import ROUTES

    text = " ".join((ROOT / "README.md").read_text().split())
    front_door = text[text.index("**Front door**") :].split("- **", 1)[0]
    named = set(re.findall(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`]*)`", front_door))
    assert named == {(route.method, route.path) for route in ROUTES}
